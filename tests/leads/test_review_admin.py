"""The review queue and merge log in the admin: side by side, decisions, undo of many merges in one action."""

import pytest
from django.urls import reverse

from leads.choices import ReviewStatus
from leads.models import DuplicateReview, Lead, MergeLog
from leads.services import lead_ingest, lead_merge

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client, revops_admin):
    revops_admin.is_superuser = True
    revops_admin.save()
    client.force_login(revops_admin)
    return client


def make_pair():
    lead_ingest(data={"phone": "+14155550100", "first_name": "Front", "last_name": "Desk"})
    lead_ingest(data={"phone": "+14155550100", "first_name": "Zed", "last_name": "Quinn"})
    return DuplicateReview.objects.get()


def test_compare_shows_both_leads_side_by_side(admin_client):
    review = make_pair()
    page = admin_client.get(reverse("admin:leads_duplicatereview_compare", args=[review.pk])).content.decode()
    assert "Front" in page and "Zed" in page and "Not a duplicate" in page


def test_keep_right_merges_into_the_right_lead(admin_client, revops_admin):
    review = make_pair()
    admin_client.post(reverse("admin:leads_duplicatereview_compare", args=[review.pk]), {"decision": "keep_right"})
    review.refresh_from_db()
    assert review.status == ReviewStatus.MERGED
    assert Lead.objects.get(pk=review.lead_id).merged_into_id == review.other_lead_id
    assert MergeLog.objects.get().user == revops_admin


def test_not_a_duplicate_is_remembered(admin_client):
    review = make_pair()
    admin_client.post(reverse("admin:leads_duplicatereview_compare", args=[review.pk]), {"decision": "not_duplicate"})
    review.refresh_from_db()
    assert review.status == ReviewStatus.NOT_DUPLICATE


def test_undo_action_undoes_fifty_merges_at_once(admin_client):
    keep = Lead.objects.create(email="keep@x.example")
    for i in range(50):
        lead_merge(survivor_id=keep.pk, merged_id=Lead.objects.create(email=f"m{i}@x.example").pk, rule="manual")
    ids = list(MergeLog.objects.values_list("pk", flat=True))
    admin_client.post(reverse("admin:leads_mergelog_changelist"),
                      {"action": "undo", "_selected_action": [str(i) for i in ids]})
    assert MergeLog.objects.filter(undone_at__isnull=True).count() == 0
    assert Lead.objects.live().count() == 51


def test_editing_a_scoring_input_in_the_admin_rescores_the_lead(admin_client, configured, inline_jobs,
                                                                django_capture_on_commit_callbacks):
    lead = lead_ingest(data={"email": "edit@x.example", "country": "US"}).lead
    url = reverse("admin:leads_lead_change", args=[lead.pk])
    form = admin_client.get(url).context["adminform"].form
    data = {k: ("" if v is None else v) for k, v in form.initial.items() if k in form.fields}
    data.update({"title": "VP Sales", "seniority": "vp", "custom": "{}", "first_touch": "{}", "last_touch": "{}"})
    for prefix in ("source_records", "events", "score_changes", "routing_decisions", "tasks", "nurture_enrollments"):
        data.update({f"{prefix}-TOTAL_FORMS": "0", f"{prefix}-INITIAL_FORMS": "0"})
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(url, data)
    assert response.status_code == 302, response.context["adminform"].form.errors if response.context else ""
    lead.refresh_from_db()
    assert lead.seniority == "vp"
    assert any(r["code"] == "vp_or_above" for r in lead.score_reasons)
