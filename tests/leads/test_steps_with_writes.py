"""The step that follows a web request's write: a new lead's enrichment, an API event's rescoring. On PostgreSQL its
pending row is written in the write's own statement (``revops.base.step_rows.step_row``), on
SQLite by an insert of its own; the same row, the same pipeline either way."""

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from leads.jobs import lead_enrich_job
from leads.models import Lead
from leads.services import lead_ingest
from leads.writes import lead_insert_with_history
from revops.base.models import PendingJob
from revops.base.pending import function_path
from revops.base.step_rows import step_row, steps_written
from tests.queues import queued, work

ENRICH = function_path(lead_enrich_job)
VALUES = {"email": "ada@analytical.example", "first_name": "Ada", "last_name": "Lovelace", "company": "Analytical",
          "country": "GB"}


def _pending_inserts(queries) -> list[str]:
    return [q["sql"] for q in queries if q["sql"].startswith('INSERT INTO "revops_pendingjob"')]


@pytest.mark.django_db
def test_a_new_leads_enrichment_row_is_written_once_with_its_id(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(), CaptureQueriesContext(connection) as queries:
        with transaction.atomic():
            lead = lead_ingest(data=VALUES, source="webform").lead
    rows = list(PendingJob.objects.values_list("function", "args", "queue", "claimed_by", "attempts"))
    assert rows == [(ENRICH, [lead.pk], "default", "", 0)]
    row = PendingJob.objects.get()
    assert row.due_at > row.created_at
    if connection.vendor == "postgresql":  # in the lead's own statement: no insert of its own
        assert _pending_inserts(queries.captured_queries) == []
        assert any('"revops_pendingjob"' in q["sql"] and '"leads_lead"' in q["sql"]
                   for q in queries.captured_queries)
    else:
        assert len(_pending_inserts(queries.captured_queries)) == 1


@pytest.mark.django_db(transaction=True)
def test_the_lead_posted_is_enriched_through_the_row_written_with_it(api_client, configured):
    response = api_client.post("/api/leads/", VALUES | {"employees": "250", "industry": "SaaS"}, format="json")
    assert response.status_code == 201, response.content
    lead_id = response.json()["id"]
    assert queued() and queued()[0] == (ENRICH, (lead_id,))  # the drain knows the step: the row was handed on
    work()
    lead = Lead.objects.get(pk=lead_id)
    assert lead.enriched_at is not None and lead.score is not None
    assert not PendingJob.objects.filter(function=ENRICH).exists()  # done: its row deleted, no second row left


@pytest.mark.django_db
def test_a_step_row_is_taken_by_its_own_step_only(django_capture_on_commit_callbacks):
    """The row written with the lead goes to the enrichment of that lead; a step of another lead, or of another
    function, writes its own row; a row nobody took stays for the sweeper."""
    if connection.vendor != "postgresql":
        assert step_row(lead_enrich_job) is None  # SQLite: written as usual
        return
    with django_capture_on_commit_callbacks(), transaction.atomic():
        step = step_row(lead_enrich_job)
        lead = lead_insert_with_history(Lead(email="b@b.example"), reason="test", step=step)
        assert step.pk and step.args == [lead.pk]
        other = lead_insert_with_history(Lead(email="c@c.example"), reason="test")
        with steps_written([step]):
            from leads.jobs import lead_enrich_schedule

            lead_enrich_schedule(other.pk)  # another lead: its own row
    assert sorted(PendingJob.objects.values_list("args", flat=True)) == sorted([[lead.pk], [other.pk]])
    with django_capture_on_commit_callbacks(), transaction.atomic():
        with steps_written([step]):
            lead_enrich_schedule(lead.pk)  # taken: no second row of the same step
    assert PendingJob.objects.filter(args=[lead.pk]).count() == 1


@pytest.mark.django_db
def test_a_set_based_batch_writes_its_steps_rows_together_not_with_each_lead():
    from revops.base.pending import ScheduledSteps
    from revops.base.step_rows import _scheduled

    token = _scheduled.set(ScheduledSteps())
    try:
        assert step_row(lead_enrich_job) is None
    finally:
        _scheduled.reset(token)


@pytest.mark.django_db
def test_a_follower_row_needs_postgresql_and_a_field_to_carry_the_id():
    from revops.base.db.sql import row_insert_with_history

    step = PendingJob(function=ENRICH, queue="default", due_at=Lead().created_at)
    if connection.vendor != "postgresql":
        with pytest.raises(ValueError, match="PostgreSQL only"):
            row_insert_with_history(Lead(email="d@d.example"), reason="t", follower=step, follower_field="args")
        return
    with pytest.raises(ValueError, match="no field"):
        row_insert_with_history(Lead(email="d@d.example"), reason="t", follower=step, follower_field="nothing")


@pytest.mark.django_db
@pytest.mark.parametrize(("event_type", "queue"), [("demo_request", "hot"), ("page_view", "bulk")])
def test_an_events_rescoring_row_is_written_once_on_its_queue(django_capture_on_commit_callbacks, event_type, queue):
    """The request's one event, its lead's update and the rescoring step's pending row: one statement on
    PostgreSQL; the same row (the lead and the cause as its arguments, hot or bulk) on either database."""
    from leads.services import event_record
    from scoring.jobs import lead_score_job

    lead = Lead.objects.create(email="e@e.example")
    with django_capture_on_commit_callbacks(), CaptureQueriesContext(connection) as queries:
        event_record(lead_id=lead.pk, type=event_type)
    score = function_path(lead_score_job)
    assert list(PendingJob.objects.filter(function=score).values_list("args", "queue")) == [([lead.pk, "events"],
                                                                                             queue)]
    if connection.vendor == "postgresql":
        assert _pending_inserts(queries.captured_queries) == []
        [write] = [q["sql"] for q in queries.captured_queries if '"leads_leadevent"' in q["sql"]
                   and q["sql"].startswith("WITH")]
        assert '"revops_pendingjob"' in write and '"leads_lead"' in write
    else:
        assert len(_pending_inserts(queries.captured_queries)) == 1
