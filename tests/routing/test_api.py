"""The routing API operations: reassign leads with a reason, undo routing changes."""

import pytest
from rest_framework.test import APIClient

from leads.models import Lead
from routing.models import RoutingDecision

from .factories import make_lead

pytestmark = pytest.mark.django_db


@pytest.fixture
def manager_client(sales_manager):
    client = APIClient()
    client.force_authenticate(sales_manager)
    return client


def test_a_manager_reassigns_leads_through_the_api_and_undoes_it(manager_client, reps):
    leads = [make_lead(owner=reps[0].user) for _ in range(2)]
    response = manager_client.post("/api/leads/reassign/", {"lead_ids": [lead.pk for lead in leads],
                                                             "rep": reps[1].pk, "reason": "territory swap"},
                                   format="json")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["reassigned"] == 2 and body["skipped"] == []
    assert set(Lead.objects.values_list("owner", flat=True)) == {reps[1].user_id}
    undo = manager_client.post("/api/routing/undo/", {"decision_ids": body["decisions"]}, format="json")
    assert undo.status_code == 200 and sorted(undo.json()["undone"]) == sorted(body["decisions"])
    assert set(Lead.objects.values_list("owner", flat=True)) == {reps[0].user_id}
    assert RoutingDecision.objects.filter(undone_by__isnull=False).count() == 2


def test_reassign_needs_a_reason_and_the_right_to_change_leads(manager_client, api_client, reps):
    lead = make_lead()
    missing = manager_client.post("/api/leads/reassign/", {"lead_ids": [lead.pk], "rep": reps[0].pk},
                                  format="json")
    assert missing.status_code == 400 and "reason" in missing.json()
    forbidden = api_client.post("/api/leads/reassign/", {"lead_ids": [lead.pk], "rep": reps[0].pk, "reason": "x"},
                                format="json")
    assert forbidden.status_code == 403
    assert Lead.objects.get(pk=lead.pk).owner is None
