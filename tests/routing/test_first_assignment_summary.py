"""The first-assignment summary (routing/services/first_assignment.py): the first decision that gave a lead an owner,
kept from the decisions; a later reassignment or a queue decision does not move it (the dashboards' minute job that
keeps it: tests/revops/test_summaries_minute_job.py)."""

from datetime import timedelta

import pytest
from django.utils import timezone

from leads.models import Lead
from routing.models import FirstAssignment, RoutingDecision
from routing.services import first_assignments_rebuild, first_assignments_refresh

pytestmark = pytest.mark.django_db


def decide(lead, owner, minutes_ago):
    made = RoutingDecision.objects.create(lead=lead, owner=owner, summary="t", explanation={},
                                          queue="" if owner else "review")
    RoutingDecision.objects.filter(pk=made.pk).update(created_at=timezone.now() - timedelta(minutes=minutes_ago))


def test_the_first_decision_with_an_owner_is_kept_and_later_ones_do_not_move_it(reps):
    rita, ravi = reps[0].user, reps[1].user
    queued_then_assigned, never = Lead.objects.create(email="a@x.example"), Lead.objects.create(email="b@x.example")
    decide(queued_then_assigned, None, 90)
    decide(queued_then_assigned, ravi, 60)
    decide(never, None, 30)
    assert first_assignments_refresh().keys == 1
    first = FirstAssignment.objects.get(lead=queued_then_assigned).at
    assert abs((timezone.now() - first) - timedelta(minutes=60)) < timedelta(seconds=5)
    decide(queued_then_assigned, rita, 10)  # a reassignment: the clock stays at the first owner
    first_assignments_refresh()
    assert FirstAssignment.objects.get(lead=queued_then_assigned).at == first
    assert not FirstAssignment.objects.filter(lead=never).exists()
    FirstAssignment.objects.all().delete()
    assert first_assignments_rebuild().keys == 1 and FirstAssignment.objects.get(lead=queued_then_assigned).at == first
