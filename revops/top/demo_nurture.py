"""The demo's nurture program and its weeks of history.

``demo_nurture_program`` (with the rest of the configuration): one active program of three e-mails for the leads the
rule "Below MQL to nurture" parks in the nurture queue; the pipeline enrolls them as they are routed, through the
same receiver and job as in production. ``demo_nurture_history`` (after the pipeline): each active enrollment is
moved back to a plausible date of the last three weeks (never before its lead arrived), then the sender runs day by
day up to today, as its job would have: some leads got one e-mail, some two, some finished the program, and the
ones closed, re-engaged or given an owner on the way had stopped. The e-mails of those weeks are history: the outbox
shows them sent (a demo would otherwise print some two thousand e-mails in ``make run``'s terminal at start); the
steps due from now on are sent by the workers (the development e-mail backend prints them in the worker's log).
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import Count, F

from revops.base.choices import NotificationStatus
from revops.base.models import Notification
from routing.choices import NurtureStatus
from routing.models import NurtureEnrollment, NurtureProgram, NurtureStep
from routing.services import nurture_steps_send

HISTORY_DAYS = 21
DEMO_NURTURE_STEPS = [
    (1, "{first_name}, the routing checklist you asked about",
     "Hi {first_name},\n\nthanks for your interest in Leadflow. Here is the one-page checklist teams like {company} "
     "use to answer every new lead within five minutes.\n\nThe Leadflow team"),
    (4, "How teams like {company} stopped losing inbound leads",
     "Hi {first_name},\n\na short story: a 40-person sales team in {country} went from two days to eleven minutes "
     "between a form and the first call. What changed is in the case study.\n\nThe Leadflow team"),
    (7, "Should we keep writing, {first_name}?",
     "Hi {first_name},\n\nthis is the last e-mail of the series. If the timing is better later, reply 'later' and "
     "we will be in touch next quarter.\n\nThe Leadflow team"),
]


@transaction.atomic
def demo_nurture_program() -> NurtureProgram:
    """One active program with three steps for every lead in the nurture queue (new or engaged)."""
    program = NurtureProgram.objects.create(name="Not ready yet: three e-mails", order=10, stages="new, engaged")
    for position, (delay, subject, body) in enumerate(DEMO_NURTURE_STEPS, start=1):
        NurtureStep.objects.create(program=program, position=position, delay_days=delay, email_subject=subject,
                                   email_body=body)
    return program


def demo_nurture_history(rng: random.Random, now: datetime) -> dict[str, int]:
    """Backdate the active enrollments over the last three weeks and run the sender day by day up to ``now``.
    Returns the enrollments per status."""
    with transaction.atomic():
        for enrollment in NurtureEnrollment.objects.filter(status=NurtureStatus.ACTIVE).select_related("lead"):
            arrived_days = max(0.0, (now - enrollment.lead.created_at).total_seconds() / 86400)
            enrolled_at = now - timedelta(days=min(rng.uniform(0, HISTORY_DAYS), arrived_days))
            first_delay = enrollment.next_at - enrollment.enrolled_at
            NurtureEnrollment.objects.filter(pk=enrollment.pk).update(enrolled_at=enrolled_at,
                                                                      next_at=enrolled_at + first_delay)
    for days_ago in range(HISTORY_DAYS, -1, -1):
        nurture_steps_send(now=now - timedelta(days=days_ago), limit=100_000)
    Notification.objects.filter(dedup_key__startswith="nurture:", status=NotificationStatus.PENDING).update(
        status=NotificationStatus.SENT, sent_at=F("created_at"), attempts=1)
    counts = NurtureEnrollment.objects.values("status").annotate(n=Count("pk")).values_list("status", "n")
    return {f"nurture {status}": n for status, n in counts}
