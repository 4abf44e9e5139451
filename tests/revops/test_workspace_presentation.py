"""The rep's lead page uses the admin's renderers: reasons that add up, history for people, JSON as tables."""

import pytest
from django.urls import reverse

from leads.models import Lead
from revops.base.jobs import jobs_inline

pytestmark = pytest.mark.django_db(transaction=True)  # the pipeline runs on commit

LEAD = {"first_name": "Jane", "last_name": "Doe", "email": "jane@acme.example", "company": "Acme",
        "title": "VP Sales", "country": "United States", "industry": "SaaS", "employees": "250", "source": "webform"}


def test_the_lead_page_shows_reasons_that_add_up_and_history_for_people(api_client, client, configured):
    with jobs_inline():
        lead_id = api_client.post("/api/leads/", LEAD, format="json").json()["id"]
        api_client.post("/api/events/", {"lead": lead_id, "type": "page_view",
                                         "properties": {"url": "/pricing"}}, format="json")
    lead = Lead.objects.select_related("owner").get(pk=lead_id)
    assert lead.owner is not None, (lead.queue, lead.queue_reason, lead.score, lead.stage)
    client.force_login(lead.owner)

    page = client.get(reverse("workspace-lead", args=[lead_id])).content.decode()

    assert 'class="reason-total"' in page and f"<b>{lead.score}</b>" in page  # the list ends with the score
    assert "VP or above" in page and "<code class=\"reason-code\">vp_or_above</code>" in page
    assert "Leadflow automation" in page  # automated history rows name the automation user
    assert f"{lead.owner.get_full_name() or lead.owner.username}" in page and "Deleted user" not in page
    assert "/pricing" in page and "{'url'" not in page  # event properties as a small table, not a Python dict
