"""A bulk import with enrichment switched off records the skip in each lead's automation log, as the one-by-one
path does."""

import pytest

from leads.choices import EnrichmentStatus
from leads.models import Lead
from leads.services import lead_ingest, leads_import_bulk
from revops.base.choices import AutomationOutcome, Workflow
from revops.base.jobs import jobs_inline
from revops.base.models import AutomationLog
from revops.base.switches import workflow_switch_set

pytestmark = pytest.mark.django_db(transaction=True)


def _skips(lead_id: int) -> list[tuple[str, str, str]]:
    return list(AutomationLog.objects.filter(object_type="lead", object_id=lead_id, workflow=Workflow.ENRICHMENT)
                .values_list("workflow", "action", "outcome"))


def test_a_bulk_import_logs_the_enrichment_skip_for_every_lead_like_one_by_one(configured, revops_admin):
    workflow_switch_set(workflow=Workflow.ENRICHMENT, enabled=False, user=revops_admin)
    rows = [(n + 2, {"email": f"bulk{n}@acme.example", "first_name": f"Bulk{n}", "country": "US"}) for n in range(6)]
    with jobs_inline():
        report = leads_import_bulk(rows, source="csv", batch_size=4)
        alone = lead_ingest(data={"email": "alone@other.example", "first_name": "Alone", "country": "US"}).lead
    assert report.counts["created"] == 6
    expected = [("enrichment", "lead_enrich", AutomationOutcome.SKIPPED)]
    assert _skips(alone.pk) == expected  # the one-by-one path
    bulk = Lead.objects.filter(email__startswith="bulk")
    assert bulk.count() == 6
    for lead in bulk:
        assert lead.enrichment_status == EnrichmentStatus.SKIPPED
        assert _skips(lead.pk) == expected, lead.pk
    detail = AutomationLog.objects.filter(object_id=bulk.first().pk, workflow=Workflow.ENRICHMENT).get().detail
    assert "kill switch is off" in detail
