"""Deduplication at ingest, merges with a full log, exact undo, and the human review queue."""

import pytest

from leads.choices import ReviewStatus
from leads.models import DuplicateReview, Lead, LeadEvent, MergeLog, SourceRecord
from leads.selectors import lead_contactable
from leads.services import (
    MergeError,
    event_record,
    lead_ingest,
    lead_merge,
    lead_merge_undo,
    merges_undo,
    review_dismiss,
    review_merge,
)
from routing.models import Task

pytestmark = pytest.mark.django_db


def ingest(**data):
    return lead_ingest(data=data, source=data.pop("source", "api"))


def test_same_email_merges_into_the_existing_lead_and_logs_it():
    first = ingest(email="ann@acme.example", first_name="Ann", external_id="1", source="crm")
    second = ingest(email=" ANN@acme.example", first_name="Ann", last_name="Lee", title="CFO", external_id="9",
                    source="web")
    assert second.action == "merged" and second.lead.pk == first.lead.pk
    survivor = Lead.objects.get(pk=first.lead.pk)
    assert survivor.last_name == "Lee" and survivor.title == "CFO"
    log = MergeLog.objects.get()
    assert log.rule == "same_email" and log.similarity == 100
    assert {d["field"] for d in log.decisions} >= {"last_name", "title"}
    assert sorted(f"{r.source}:{r.external_id}" for r in survivor.source_records.all()) == ["crm:1", "web:9"]
    assert Lead.objects.live().count() == 1


def test_same_phone_and_similar_name_merges():
    first = ingest(phone="+1 415 555 2671", first_name="Katherine", last_name="Johnson")
    second = ingest(phone="(415) 555-2671", country="US", first_name="Kathrine", last_name="Johnson",
                    email="kj@nasa.example")
    assert second.action == "merged" and second.lead.pk == first.lead.pk
    assert MergeLog.objects.get().rule == "same_phone_similar_name"


def test_same_phone_with_a_different_name_is_a_review_pair_not_a_merge():
    first = ingest(phone="+14155550100", first_name="Front", last_name="Desk", company="Acme")
    second = ingest(phone="+14155550100", first_name="Zed", last_name="Quinn", email="zed@acme.example")
    assert second.action == "review"
    assert Lead.objects.live().count() == 2
    review = DuplicateReview.objects.get()
    assert {review.lead_id, review.other_lead_id} == {first.lead.pk, second.lead.pk}
    assert review.reason == "same_phone_different_name" and review.status == ReviewStatus.OPEN


def test_similar_name_at_the_same_company_domain_is_a_review_pair():
    ingest(email="jon.smith@initech.example", first_name="Jon", last_name="Smith")
    second = ingest(email="j.smith@initech.example", first_name="John", last_name="Smith")
    assert second.action == "review"
    assert DuplicateReview.objects.get().reason == "similar_name_same_domain"


def test_similar_name_with_nothing_shared_is_left_alone():
    ingest(email="jon.smith@initech.example", first_name="Jon", last_name="Smith")
    assert ingest(email="jon.smith@globex.example", first_name="Jon", last_name="Smith").action == "created"
    assert not DuplicateReview.objects.exists()


def test_a_rejected_record_writes_nothing_and_leaves_the_match_unchanged():
    lead = ingest(email="ann@acme.example", title="CFO").lead
    result = ingest(email="ann@acme.example", employees="-5", title="x" * 300)
    assert result.action == "rejected" and result.errors
    lead.refresh_from_db()
    assert lead.title == "CFO" and Lead.objects.count() == 1 and not MergeLog.objects.exists()


def test_merge_strategy_most_complete_wins_last_touch_wins_and_opt_out_sticks():
    rich = Lead.objects.create(email="a@x.example", first_name="Ann", last_name="Lee", title="CFO", company="Acme",
                               country="US", data_quality=80, consent="opt_in",
                               last_touch={"source": "old", "at": "2026-01-01T00:00:00+00:00"},
                               first_touch={"source": "webinar", "at": "2025-06-01T00:00:00+00:00"})
    poor = Lead.objects.create(email="b@x.example", first_name="Annie", phone="+14155550123", data_quality=20,
                               consent="opt_out", custom={"plan": "pro"},
                               last_touch={"source": "ads", "at": "2026-05-01T00:00:00+00:00"},
                               first_touch={"source": "ads", "at": "2026-05-01T00:00:00+00:00"})
    lead_merge(survivor_id=rich.pk, merged_id=poor.pk, rule="manual")
    rich.refresh_from_db()
    assert rich.first_name == "Ann"  # both had one: the more complete record's is kept
    assert rich.phone == "+14155550123"  # a gap is filled
    assert rich.last_touch["source"] == "ads" and rich.first_touch["source"] == "webinar"
    assert rich.consent == "opt_out" and rich.custom == {"plan": "pro"}


def test_undo_restores_both_leads_exactly_with_their_events():
    survivor = ingest(email="ann@acme.example", first_name="Ann", source="crm", external_id="1").lead
    other = ingest(email="ann.lee@gmail.example", first_name="Ann", last_name="Lee", title="CFO", phone="+14155550199",
                   source="web", external_id="2").lead
    event_record(lead_id=other.pk, type="page_view", idempotency_key="e1")
    before_survivor = Lead.objects.values().get(pk=survivor.pk)
    before_other = Lead.objects.values().get(pk=other.pk)
    log = lead_merge(survivor_id=survivor.pk, merged_id=other.pk, rule="manual")
    assert LeadEvent.objects.get().lead_id == survivor.pk
    lead_merge_undo(merge_id=log.pk)
    after_survivor = Lead.objects.values().get(pk=survivor.pk)
    after_other = Lead.objects.values().get(pk=other.pk)
    ignore = {"updated_at"}
    assert {k: v for k, v in after_other.items() if k not in ignore} == {
        k: v for k, v in before_other.items() if k not in ignore}
    assert {k: v for k, v in after_survivor.items() if k not in ignore} == {
        k: v for k, v in before_survivor.items() if k not in ignore}
    assert LeadEvent.objects.get().lead_id == other.pk
    assert SourceRecord.objects.get(external_id="2").lead_id == other.pk
    assert DuplicateReview.objects.get().status == ReviewStatus.NOT_DUPLICATE  # the pair never comes back
    assert lead_merge_undo(merge_id=log.pk).undone_at is not None  # a second undo does nothing


def test_undo_keeps_an_edit_made_on_the_survivor_after_the_merge():
    survivor = Lead.objects.create(email="a@x.example")
    other = Lead.objects.create(email="b@x.example", title="CFO")
    log = lead_merge(survivor_id=survivor.pk, merged_id=other.pk, rule="manual")
    Lead.objects.filter(pk=survivor.pk).update(title="CEO")
    lead_merge_undo(merge_id=log.pk)
    assert Lead.objects.get(pk=survivor.pk).title == "CEO"


def test_fifty_merges_are_undone_in_one_call():
    survivor = Lead.objects.create(email="keep@x.example")
    ids = [lead_merge(survivor_id=survivor.pk, merged_id=Lead.objects.create(email=f"m{i}@x.example").pk,
                      rule="manual").pk for i in range(50)]
    undone, errors = merges_undo(merge_ids=ids)
    assert undone == 50 and errors == []
    assert Lead.objects.live().count() == 51


def test_a_merged_lead_cannot_be_merged_again_and_merge_into_itself_is_refused():
    a, b, c = (Lead.objects.create(email=f"{n}@x.example") for n in "abc")
    lead_merge(survivor_id=a.pk, merged_id=b.pk, rule="manual")
    with pytest.raises(MergeError, match="already merged"):
        lead_merge(survivor_id=c.pk, merged_id=b.pk, rule="manual")
    with pytest.raises(MergeError, match="into itself"):
        lead_merge(survivor_id=a.pk, merged_id=a.pk, rule="manual")


def test_review_merge_and_dismiss(revops_admin):
    ingest(phone="+14155550100", first_name="Front", last_name="Desk")
    ingest(phone="+14155550100", first_name="Zed", last_name="Quinn")
    review = DuplicateReview.objects.get()
    review_dismiss(review_id=review.pk, user=revops_admin)
    review.refresh_from_db()
    assert review.status == ReviewStatus.NOT_DUPLICATE and review.decided_by == revops_admin
    # A later record of the same person is merged (same phone, same name); the dismissed pair stays dismissed.
    assert ingest(phone="+14155550100", first_name="Zed", last_name="Quinn", email="zq@x.example").action == "merged"
    assert not DuplicateReview.objects.filter(status=ReviewStatus.OPEN).exists()
    ingest(email="jon.smith@initech.example", first_name="Jon", last_name="Smith")
    ingest(email="j.smith@initech.example", first_name="John", last_name="Smith")
    pair = DuplicateReview.objects.get(status=ReviewStatus.OPEN)
    log = review_merge(review_id=pair.pk, survivor_id=pair.lead_id, user=revops_admin)
    pair.refresh_from_db()
    assert pair.status == ReviewStatus.MERGED and log.user == revops_admin
    assert Lead.objects.get(pk=pair.other_lead_id).merged_into_id == pair.lead_id


def test_unsubscribe_suppresses_the_lead_at_once():
    lead = ingest(email="u@x.example", consent="yes")
    event_record(lead_id=lead.lead.pk, type="unsubscribe")
    stored = Lead.objects.get(pk=lead.lead.pk)
    assert stored.consent == "opt_out" and stored.stage == "suppressed"
    assert lead_contactable(stored) is False


@pytest.mark.django_db(transaction=True)
def test_tasks_follow_a_merge_and_come_back_on_undo(configured, inline_jobs):
    a = ingest(email="a@acme.example", first_name="Ann", country="US").lead
    b = ingest(email="other@acme.example", first_name="Bo", country="US").lead
    task_b = Task.objects.get(lead=b)
    log = lead_merge(survivor_id=a.pk, merged_id=b.pk, rule="manual")
    task_b.refresh_from_db()
    assert task_b.lead_id == a.pk and task_b.merged_from_id == b.pk
    lead_merge_undo(merge_id=log.pk)
    task_b.refresh_from_db()
    assert task_b.lead_id == b.pk and task_b.merged_from_id is None
