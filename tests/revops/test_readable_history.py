"""The audit trail for people: the "Leadflow automation" user on every automated row, and history diffs with names,
reason lists and JSON tables instead of keys and Python reprs."""

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse

from leads.models import IndustryTerm, Lead
from leads.services import lead_ingest
from revops.base.automation import AUTOMATION_USERNAME, automation_user_ensure, automation_user_id
from revops.base.presentation import history_changes, json_html, person_name, reason_lines

pytestmark = pytest.mark.django_db(transaction=True)


def test_the_automation_user_exists_after_migrate_once_and_cannot_sign_in():
    first, second = automation_user_ensure(), automation_user_ensure()
    users = get_user_model().objects.filter(username=AUTOMATION_USERNAME)
    assert first == second == automation_user_id() and users.count() == 1
    user = users.get()
    assert person_name(user) == "Leadflow automation"
    assert not user.is_active and not user.has_usable_password() and not user.user_permissions.exists()


def test_every_history_row_of_the_pipeline_names_the_automation_user(configured, inline_jobs):
    lead = lead_ingest(data={"email": "auto@x.example", "country": "US", "first_name": "Otto",
                             "title": "VP Sales", "employees": "500"}).lead
    rows = list(Lead.history.filter(id=lead.pk))
    assert len(rows) >= 3  # created, scored, routed: ORM saves and SQL-written rows alike
    assert {row.history_user_id for row in rows} == {automation_user_id()}


def test_a_person_editing_in_the_admin_is_named_not_the_automation(client, revops_admin):
    client.force_login(revops_admin)
    response = client.post(reverse("admin:leads_industryterm_add"),
                           {"synonym": "fintech startups", "canonical": "Financial Services"})
    assert response.status_code == 302
    term = IndustryTerm.objects.get(synonym="fintech startups")
    assert term.history.get().history_user_id == revops_admin.pk


def test_the_lead_history_page_shows_names_reasons_and_tables(client, revops_admin, configured, inline_jobs):
    lead = lead_ingest(data={"email": "hist@x.example", "country": "US", "first_name": "Hilda", "title": "CEO",
                             "utm_source": "newsletter", "employees": "800"}).lead
    lead.refresh_from_db()
    owner = lead.owner
    assert owner is not None
    client.force_login(revops_admin)
    page = client.get(reverse("admin:leads_lead_history", args=[lead.pk])).content.decode()
    assert "Leadflow automation" in page
    assert person_name(owner) in page  # the owner by name, not by key
    assert "Deleted user" not in page and "pk=None" not in page and "[{&#x27;code" not in page
    assert 'class="reasons"' in page  # score reasons as a list


def test_history_changes_render_foreign_keys_choices_and_json_for_people(configured, inline_jobs):
    lead = lead_ingest(data={"email": "diff@x.example", "country": "US", "first_name": "Dora"}).lead
    rows = list(Lead.history.filter(id=lead.pk))
    changes = {c.field: c for c in history_changes(rows[0], rows[-1])}
    owner_change = changes["Owner"]
    assert str(owner_change.old) == "—" and str(owner_change.new) == person_name(Lead.objects.get(pk=lead.pk).owner)
    band = Lead.objects.get(pk=lead.pk).band
    assert str(changes["Band"].old) == "—" and str(changes["Band"].new) == band
    assert 'class="reasons"' in str(changes["Score reasons"].new)


def test_json_values_render_as_tables_and_reasons_as_lines():
    table = str(json_html({"utm_source": "newsletter", "url": "https://x.example/p"}))
    assert "<table" in table and "<th>Utm source</th><td>newsletter</td>" in table
    assert str(json_html({})) == "—"
    reasons = [{"code": "demo_request", "label": "Requested a demo", "points": 24, "full": 35, "kind": "engagement"},
               {"code": "cap_title", "label": "title capped at 30", "points": -5, "kind": "fit"}]
    lines = reason_lines(reasons)
    assert [(line.label, line.points_text, line.note, line.code) for line in lines] == [
        ("Requested a demo", "+24", "decayed from 35", "demo_request"), ("title capped at 30", "-5", "", "cap_title")]
    html = str(json_html(reasons))
    assert html.index("Requested a demo") < html.index("demo_request")  # label first, code second
