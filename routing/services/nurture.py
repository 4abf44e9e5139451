"""Nurture programs: enroll the leads that land in the nurture queue, send each program's e-mails when they are
due, stop an enrollment when its lead leaves nurture.

1. **Enrollment** (``lead_nurture_enroll``; a job scheduled when a routing decision puts a lead in the nurture queue,
   ``receivers.nurture_after_routing``): a live, open, unowned lead in the nurture queue that outreach may go to
   (``leads.consent.outreach_allowed``) and that has an e-mail address is enrolled in the first active program whose
   conditions hold and that it has not been through (``selectors.nurture_program_for``); its first step is due the
   step's delay after now. No program → the lead stays in the queue and its automation log says so. Idempotent: a
   lead with an active enrollment keeps it (one active enrollment per lead, a partial unique constraint).
2. **Sending** (``nurture_steps_send``, every 10 minutes, kill switch "Nurture programs"): each due enrollment in its
   own transaction, locked; the lead is checked first (``nurture_exit_reason``: merged, consent through
   ``outreach_allowed``, closed, an owner, out of the queue, no e-mail) and the enrollment stops with the reason
   instead of sending; otherwise the step's e-mail goes to the outbox (one row per enrollment and step:
   ``nurture:<enrollment>:step:<step>``, so a second run sends nothing), the enrollment moves to the next step (due
   its delay after now) or completes after the last one. The caller schedules the outbox rows' sending.
   A program with a send window (hours, working days; ``NurtureProgram.send_*``) sends in the lead's own time
   zone (``leads.timezones.lead_time_zone``, from its country and state; the company's zone when unknown): a step
   due outside the window waits for its next opening (``routing.clock.working_open_at``; weekends and the public
   holidays of the lead's country skipped when the program does not send on weekends), said in the history.
3. **Exits** as they happen: routing gives the lead an owner or another queue (``nurture_follow_routing``, in the
   decision's transaction), it re-engages (``reengagement.lead_reengage``), it is closed or merged away (receivers of
   ``lead_closed`` / ``lead_merged``), or a person stops it (admin action). Consent withdrawn later is caught at
   send time, so an opted-out lead is never sent a step whatever path opted it out.

Every change is in the enrollment's history (``automation:nurture …`` or the person) and the lead's automation log.
"""

from __future__ import annotations

import zoneinfo
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta

from django.db import transaction
from django.utils import timezone
from django.utils.html import format_html, linebreaks

from leads.choices import Outcome, Queue, Stage, Transition
from leads.consent import outreach_allowed, outreach_skipped
from leads.models import Lead
from leads.services.lifecycle import lead_is_closed
from leads.services.unsubscribe import unsubscribe_link
from leads.timezones import lead_time_zone
from revops.base.automation import automation_log
from revops.base.choices import AutomationOutcome, Channel, Workflow
from revops.base.notifications import notification_queue

from ..choices import NurtureStatus, NurtureStopReason
from ..clock import END_OF_DAY, WorkingTime, working_open_at
from ..models import NurtureEnrollment, NurtureProgram, NurtureStep
from ..selectors import decisions_nurture_moves, nurture_enrollments_due_ids, nurture_program_for
from .task_templates import template_fill, template_values

SEND_BATCH = 500  # enrollments one run sends at most (the next run, 10 minutes later, takes the rest)


def _log(lead_id: int, action: str, detail: str, outcome: str = AutomationOutcome.DONE) -> None:
    automation_log(workflow=Workflow.NURTURE, action=action, outcome=outcome, object_type="lead", object_id=lead_id,
                   detail=detail[:500])


# --- Enrollment ---------------------------------------------------------------------------------------------------


def lead_nurture_enroll(*, lead_id: int, now: datetime | None = None) -> NurtureEnrollment | None:
    """Enroll a lead that waits in the nurture queue in its program (the steps are at the top of the module).
    Returns the active enrollment (a new one, or the one it had), None when the lead is not enrolled."""
    now = now or timezone.now()
    with transaction.atomic():
        lead = Lead.objects.select_for_update().filter(pk=lead_id).first()
        if lead is None or lead.merged_into_id or lead.owner_id or lead.queue != Queue.NURTURE or lead_is_closed(lead):
            return None
        current = NurtureEnrollment.objects.filter(lead_id=lead.pk, status=NurtureStatus.ACTIVE).first()
        if current is not None:
            return current
        if not outreach_allowed(lead):
            outreach_skipped(lead_ids=[lead.pk], what="nurture program", workflow=Workflow.NURTURE)
            return None
        if not lead.email:
            _log(lead.pk, "nurture_enroll", "no e-mail address: not enrolled in a nurture program; stays in the "
                                            "nurture queue", AutomationOutcome.NOOP)
            return None
        program = nurture_program_for(lead=lead)
        if program is None:
            _log(lead.pk, "nurture_enroll", "no active nurture program matches this lead: stays in the nurture queue "
                                            "without e-mails", AutomationOutcome.NOOP)
            return None
        first = program.steps.order_by("position").first()
        enrollment = NurtureEnrollment(lead=lead, program=program, next_position=first.position,
                                       next_at=now + timedelta(days=first.delay_days), enrolled_at=now)
        enrollment._change_reason = f"automation:nurture enrolled in '{program.name}' ({program.conditions_text()})"
        enrollment.save()
        _log(lead.pk, "nurture_enroll", f"enrolled in nurture program '{program.name}': step {first.position} due "
                                        f"{enrollment.next_at:%Y-%m-%d %H:%M}")
    return enrollment


def leads_nurture_enroll(*, lead_ids: list[int], now: datetime | None = None) -> int:
    """``lead_nurture_enroll`` for each lead (each in its own transaction); returns how many are enrolled now."""
    return sum(lead_nurture_enroll(lead_id=lead_id, now=now) is not None for lead_id in sorted(set(lead_ids)))


# --- Exits --------------------------------------------------------------------------------------------------------


def _stop(enrollment: NurtureEnrollment, *, reason: str, detail: str, now: datetime, user=None) -> None:
    """Stop a locked active enrollment with its reason, in its history and the lead's automation log."""
    label = NurtureStopReason(reason).label
    enrollment.status, enrollment.stop_reason, enrollment.stop_detail = NurtureStatus.STOPPED, reason, detail[:300]
    enrollment.finished_at, enrollment.next_at, enrollment.next_position = now, None, None
    said = f"stopped: {label}" + (f" ({detail})" if detail else "")
    enrollment._history_user = user
    enrollment._change_reason = (said if user else f"automation:nurture {said}")[:1000]
    enrollment.save()
    _log(enrollment.lead_id, "nurture_stop", f"nurture program '{enrollment.program.name}' {said}"
         + (f" by {user}" if user else ""))


def lead_nurture_stop(*, lead_id: int, reason: str, detail: str = "", user=None,
                      now: datetime | None = None) -> NurtureEnrollment | None:
    """Stop the lead's active enrollment (None when it has none). Joins the caller's transaction: a close, a merge
    or a re-engagement stops the e-mails in the same commit."""
    with transaction.atomic():
        enrollment = (NurtureEnrollment.objects.select_for_update(of=("self",)).select_related("program")
                      .filter(lead_id=lead_id, status=NurtureStatus.ACTIVE).first())
        if enrollment is None:
            return None
        _stop(enrollment, reason=reason, detail=detail, now=now or timezone.now(), user=user)
    return enrollment


def nurture_enrollments_stop(*, enrollment_ids: list[int], user, note: str = "") -> int:
    """A person stops enrollments (the admin's "Stop" action); returns how many were active."""
    stopped = 0
    now = timezone.now()
    with transaction.atomic():
        for enrollment in (NurtureEnrollment.objects.select_for_update(of=("self",)).select_related("program")
                           .filter(pk__in=enrollment_ids, status=NurtureStatus.ACTIVE).order_by("pk")):
            _stop(enrollment, reason=NurtureStopReason.MANUAL, detail=note, now=now, user=user)
            stopped += 1
    return stopped


def lead_nurture_stop_closed(*, lead_id: int, transition: str, reason: str = "") -> None:
    """A lead was closed (``lead_closed``): suppressed counts as consent, won / lost / disqualified as closed."""
    stop_reason = NurtureStopReason.CONSENT if transition == Transition.SUPPRESSED else NurtureStopReason.CLOSED
    lead_nurture_stop(lead_id=lead_id, reason=stop_reason, detail=f"{transition}: {reason}" if reason else transition)


def nurture_follow_routing(*, decision_ids: list[int]) -> list[int]:
    """Inside the routing decisions' transaction: stop the enrollments of leads routed out of the nurture queue
    (an owner, or another queue); returns the leads that landed in the nurture queue (to enroll after commit)."""
    landed, left = decisions_nurture_moves(decision_ids=decision_ids)
    for lead_id, got_owner in left:
        lead_nurture_stop(lead_id=lead_id, reason=NurtureStopReason.OWNER if got_owner
                          else NurtureStopReason.LEFT_QUEUE, detail="routing decision")
    return landed


def nurture_exit_reason(lead: Lead, program: NurtureProgram) -> tuple[str, str] | None:
    """Why no further step may go to this lead (reason, detail), or None. Consent is ``outreach_allowed``: the one
    rule every outreach path calls."""
    if lead.merged_into_id:
        return NurtureStopReason.MERGED, f"into lead #{lead.merged_into_id}"
    if not outreach_allowed(lead):
        return NurtureStopReason.CONSENT, "no outreach: consent"
    if lead_is_closed(lead):
        return NurtureStopReason.CLOSED, lead.outcome if lead.outcome != Outcome.OPEN else Stage(lead.stage).label
    if lead.owner_id:
        return NurtureStopReason.OWNER, "owner set"
    if lead.queue != Queue.NURTURE:
        return NurtureStopReason.LEFT_QUEUE, f"now in {lead.get_queue_display()}"
    if not lead.email:
        return NurtureStopReason.NO_EMAIL, ""
    if not program.active:
        return NurtureStopReason.PROGRAM_OFF, ""
    return None


# --- Sending ------------------------------------------------------------------------------------------------------


@dataclass
class NurtureSendResult:
    """What one run of the sender did, and the outbox rows it wrote (for the caller to send as one batch)."""

    sent: int = 0
    completed: int = 0
    stopped: int = 0
    waiting: int = 0  # due, but outside their program's send window in the lead's time zone: moved to its opening
    notification_ids: list[int] = field(default_factory=list)

    def __str__(self) -> str:
        text = f"{self.sent} steps sent, {self.completed} enrollments completed, {self.stopped} stopped"
        return text + (f", {self.waiting} waiting for their send window" if self.waiting else "")


def nurture_steps_send(*, now: datetime | None = None, limit: int = SEND_BATCH) -> NurtureSendResult:
    """Send every due step (oldest due first, at most ``limit``), each enrollment in its own transaction."""
    now = now or timezone.now()
    result = NurtureSendResult()
    for enrollment_id in nurture_enrollments_due_ids(now=now, limit=limit):
        nurture_step_send(enrollment_id=enrollment_id, now=now, result=result)
    return result


def nurture_step_send(*, enrollment_id: int, now: datetime, result: NurtureSendResult) -> None:
    """Send one enrollment's due step, or stop or complete it (the steps are at the top of the module)."""
    with transaction.atomic():
        enrollment = (NurtureEnrollment.objects.select_for_update(of=("self",)).select_related("program")
                      .filter(pk=enrollment_id, status=NurtureStatus.ACTIVE, next_at__lte=now).first())
        if enrollment is None:
            return  # another run got there first, or it stopped meanwhile
        lead = Lead.objects.get(pk=enrollment.lead_id)
        if exit_reason := nurture_exit_reason(lead, enrollment.program):
            _stop(enrollment, reason=exit_reason[0], detail=exit_reason[1], now=now)
            result.stopped += 1
            return
        steps = list(enrollment.program.steps.filter(position__gte=enrollment.next_position or 0)
                     .order_by("position")[:2])
        if not steps:  # the remaining steps were deleted: nothing left to send
            _complete(enrollment, now, "no step left")
            result.completed += 1
            return
        step = steps[0]
        if opens_at := _send_window_wait(enrollment.program, lead, now):
            waits = (f"step {step.position} waits for the send window "
                     f"({opens_at:%a %d %b %H:%M %Z}, the lead's time)")
            enrollment.next_at = opens_at
            enrollment._change_reason = f"automation:nurture {waits}"
            enrollment.save()
            _log(lead.pk, "nurture_step_send", f"nurture program '{enrollment.program.name}': {waits}",
                 AutomationOutcome.NOOP)
            result.waiting += 1
            return
        notification, created = _queue_email(enrollment, step, lead)
        if created:
            enrollment.steps_sent += 1
            result.sent += 1
            result.notification_ids.append(notification.pk)
        if len(steps) > 1:
            following = steps[1]
            enrollment.next_position = following.position
            enrollment.next_at = now + timedelta(days=following.delay_days)
            enrollment._change_reason = (f"automation:nurture step {step.position} sent; step {following.position} "
                                         f"due in {following.delay_days} days")
            enrollment.save()
        else:
            _complete(enrollment, now, f"step {step.position} sent, the last")
            result.completed += 1
        what = "e-mailed" if created else "was already in the outbox"
        _log(lead.pk, "nurture_step_send", f"nurture program '{enrollment.program.name}': step {step.position} {what}",
             AutomationOutcome.DONE if created else AutomationOutcome.NOOP)


def _lead_zone(lead: Lead) -> zoneinfo.ZoneInfo:
    zone = lead_time_zone(lead.country, lead.state)
    return zoneinfo.ZoneInfo(zone) if zone else timezone.get_default_timezone()


def _send_window_wait(program: NurtureProgram, lead: Lead, now: datetime) -> datetime | None:
    """When the program's send window next opens for this lead, in the lead's zone, if it is closed at ``now``
    (None: send now)."""
    if program.send_from_hour is None and program.send_on_weekends:
        return None
    zone = _lead_zone(lead)
    until = END_OF_DAY if program.send_until_hour in (None, 24) else time(program.send_until_hour)
    working = WorkingTime(time_zone=zone.key, start=time(program.send_from_hour or 0), end=until,
                          weekdays=frozenset(range(7 if program.send_on_weekends else 5)),
                          country="" if program.send_on_weekends else (lead.country or ""))
    opens_at = working_open_at(now, working)
    return opens_at.astimezone(zone) if opens_at > now else None


def _complete(enrollment: NurtureEnrollment, now: datetime, why: str) -> None:
    enrollment.status, enrollment.finished_at = NurtureStatus.COMPLETED, now
    enrollment.next_at, enrollment.next_position = None, None
    enrollment._change_reason = f"automation:nurture completed: {why}"
    enrollment.save()


def _queue_email(enrollment: NurtureEnrollment, step: NurtureStep, lead: Lead):
    """The step's e-mail to the lead in the outbox (one row per enrollment and step), not sent yet."""
    values = template_values(lead)
    subject = template_fill(step.email_subject, values)
    body = template_fill(step.email_body, values)
    # Every e-mail to a lead carries its unsubscribe link (leads/services/unsubscribe.py): following it records an
    # unsubscribe event, which suppresses the lead and stops this enrollment.
    link = unsubscribe_link(lead.pk)
    text = f"{body}\n\n--\nTo get no more e-mails from us: {link}"
    html = (linebreaks(body, autoescape=True)
            + format_html('<p style="color:#627d98;font-size:small">To get no more e-mails from us, '
                          '<a href="{}">unsubscribe</a>.</p>', link))
    return notification_queue(dedup_key=f"nurture:{enrollment.pk}:step:{step.pk}", recipient=lead.email, text=text,
                              subject=subject, html=html, channel=Channel.EMAIL, unsubscribe_url=link,
                              object_type="lead", object_id=lead.pk, send=False)
