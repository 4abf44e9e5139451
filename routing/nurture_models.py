"""Nurture programs: e-mail sequences for the leads no rep works yet (the nurture queue).

A ``NurtureProgram`` has conditions over a lead (comma lists as in ``RoutingRule``: bands, stages, sources, countries,
industries; empty tests nothing) and ordered ``NurtureStep`` rows, each an e-mail sent a number of days after the
previous one with the lead's fields filled in (``{first_name}``, ``{company}``… as task templates). A
``NurtureEnrollment`` is one lead going through one program: the next step, when it is due, and how it ended. The
rules that move enrollments are in ``routing/services/nurture.py``; this module holds data and field-local rules.
Imported by ``routing/models.py`` (registered with the app's models); it imports nothing of it (no import cycle).
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q

from leads.choices import Stage
from leads.models import Lead
from revops.base.history_records import HistoricalRecords
from scoring.choices import Band

from .choices import NurtureStatus, NurtureStopReason
from .vocabulary import (
    TEMPLATE_FIELDS,
    choices_hint,
    industry_problems,
    industry_vocabulary_read,
    split_csv,
    unknown_bands,
    unknown_countries,
    unknown_placeholders,
    unknown_stages,
)


class NurtureProgram(models.Model):
    """An e-mail sequence for unowned leads in the nurture queue. Active programs are tried by ``order``; a lead
    is enrolled in the first whose conditions all hold (and that it has not been through before)."""

    name = models.CharField(max_length=100, unique=True)
    active = models.BooleanField(default=True, help_text="Inactive: enrolls no lead; its active enrollments stop "
                                                         "at their next step.")
    order = models.PositiveIntegerField(default=100, help_text="Programs are tried lowest first.")
    bands = models.CharField(max_length=20, blank=True, help_text="e.g. C, D (empty: any band)")
    stages = models.CharField(max_length=200, blank=True, help_text="e.g. new, engaged (empty: any stage)")
    sources = models.CharField(max_length=500, blank=True, help_text="Lead sources, comma-separated (empty: any).")
    countries = models.CharField(max_length=500, blank=True, help_text="ISO codes, comma-separated (empty: any).")
    industries = models.CharField(max_length=500, blank=True,
                                  help_text="Canonical industries, comma-separated (empty: any).")
    send_from_hour = models.PositiveSmallIntegerField(
        null=True, blank=True, validators=[MaxValueValidator(23)],
        help_text="E-mails go out from this hour (0–23) in the lead's time zone (from its country and state; the "
                  "company's zone when unknown). Empty, with the hour below: at any time.")
    send_until_hour = models.PositiveSmallIntegerField(
        null=True, blank=True, validators=[MinValueValidator(1), MaxValueValidator(24)],
        help_text="…until this hour (1–24, not included), in the lead's time zone.")
    send_on_weekends = models.BooleanField(
        default=True, help_text="Off: a step due on a Saturday or Sunday (or a public holiday of the lead's "
                                "country) waits for the next working day, in the lead's time zone.")
    updated_at = models.DateTimeField(auto_now=True)
    history = HistoricalRecords(excluded_fields=["updated_at"])

    class Meta:
        ordering = ["order", "name"]
        constraints = [
            models.CheckConstraint(
                condition=(Q(send_from_hour__isnull=True, send_until_hour__isnull=True)
                           | Q(send_from_hour__lt=models.F("send_until_hour"))),
                name="nurture_program_send_window"),
        ]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        """Every condition value is one a lead can have: all problems at once, each under its field."""
        errors: dict[str, str] = {}
        if bad := unknown_bands(split_csv(self.bands, upper=True)):
            errors["bands"] = f"unknown bands: {', '.join(bad)}; use {choices_hint(Band.values)}"
        if bad := unknown_stages(split_csv(self.stages)):
            errors["stages"] = f"unknown stages: {', '.join(bad)}; use {choices_hint(Stage.values)}"
        if bad := unknown_countries(split_csv(self.countries, upper=True)):
            errors["countries"] = f"not ISO 3166 alpha-2 country codes: {', '.join(bad)}"
        if self.industries and (bad := industry_problems(split_csv(self.industries), industry_vocabulary_read())):
            errors["industries"] = "; ".join(bad)
        if (self.send_from_hour is None) != (self.send_until_hour is None):
            field = "send_until_hour" if self.send_until_hour is None else "send_from_hour"
            errors[field] = "give both hours of the send window, or neither (any time)"
        elif self.send_from_hour is not None and self.send_from_hour >= self.send_until_hour:
            errors["send_until_hour"] = (f"the window must end after it starts ({self.send_from_hour}:00); "
                                         "a window over midnight is not supported")
        if errors:
            raise ValidationError(errors)

    def matches(self, lead: Lead) -> bool:
        """Whether every condition holds for the lead (an empty condition holds for any lead)."""
        checks = ((split_csv(self.bands, upper=True), (lead.band or "").upper()),
                  (split_csv(self.stages), (lead.stage or "").lower()),
                  (split_csv(self.sources), (lead.source or "").lower()),
                  (split_csv(self.countries, upper=True), (lead.country or "").upper()),
                  (split_csv(self.industries), (lead.industry or "").lower()))
        return all(not wanted or value in wanted for wanted, value in checks)

    def conditions_text(self) -> str:
        """The conditions in one line ("band C, D · source webinar"), "any nurture lead" when there are none."""
        parts = [f"{label} {', '.join(split_csv(value, upper=upper))}"
                 for label, value, upper in (("band", self.bands, True), ("stage", self.stages, False),
                                             ("source", self.sources, False), ("country", self.countries, True),
                                             ("industry", self.industries, False)) if value]
        return " · ".join(parts) or "any nurture lead"

    def send_window_text(self) -> str:
        """When its e-mails go out ("09:00–17:00 Mon–Fri, lead's time"; "any time")."""
        if self.send_from_hour is None:
            return "any time" if self.send_on_weekends else "any time Mon–Fri, lead's time"
        days = "daily" if self.send_on_weekends else "Mon–Fri"
        return f"{self.send_from_hour:02d}:00–{self.send_until_hour:02d}:00 {days}, lead's time"


class NurtureStep(models.Model):
    """One e-mail of a program, sent ``delay_days`` after the previous step (after enrollment for the first)."""

    program = models.ForeignKey(NurtureProgram, on_delete=models.CASCADE, related_name="steps")
    position = models.PositiveSmallIntegerField(help_text="Steps are sent in this order (1, 2, 3…).")
    delay_days = models.PositiveIntegerField(default=3, help_text="Days after the previous step (the first step: "
                                                                  "after enrollment; 0 = at the next run).")
    email_subject = models.CharField("e-mail subject", max_length=200,
                                     help_text="e.g. {first_name}, a guide for {company}")
    email_body = models.TextField("e-mail body", help_text="Plain text; {first_name}, {company}… are filled in.")
    history = HistoricalRecords()

    class Meta:
        ordering = ["program", "position"]
        constraints = [models.UniqueConstraint(fields=["program", "position"], name="uniq_nurture_step_position")]

    def __str__(self) -> str:
        return f"{self.program.name if self.program_id else '?'}: step {self.position}"

    def clean(self) -> None:
        if unknown := unknown_placeholders(self.email_subject, self.email_body):
            raise ValidationError({"email_body" if unknown_placeholders(self.email_body) else "email_subject":
                                   f"unknown placeholders: {', '.join(unknown)} (use {', '.join(TEMPLATE_FIELDS)})"})


class NurtureEnrollment(models.Model):
    """One lead going through one program: the next step's position and due time, and how it ended. A lead has at
    most one active enrollment (a partial unique constraint)."""

    lead = models.ForeignKey(Lead, on_delete=models.CASCADE, related_name="nurture_enrollments")
    program = models.ForeignKey(NurtureProgram, on_delete=models.PROTECT, related_name="enrollments")
    status = models.CharField(max_length=10, choices=NurtureStatus.choices, default=NurtureStatus.ACTIVE)
    next_position = models.PositiveSmallIntegerField(
        null=True, blank=True, help_text="Position of the next step to send (empty once finished).")
    next_at = models.DateTimeField(null=True, blank=True, help_text="When the next step is due.")
    steps_sent = models.PositiveSmallIntegerField(default=0)
    stop_reason = models.CharField(max_length=12, choices=NurtureStopReason.choices, blank=True)
    stop_detail = models.CharField(max_length=300, blank=True)
    enrolled_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)
    history = HistoricalRecords(excluded_fields=["updated_at"])

    class Meta:
        ordering = ["-enrolled_at", "-id"]
        constraints = [models.UniqueConstraint(fields=["lead"], condition=Q(status=NurtureStatus.ACTIVE),
                                               name="uniq_nurture_active_enrollment")]
        indexes = [models.Index(fields=["status", "next_at"], name="nurture_due")]

    def __str__(self) -> str:
        return f"lead #{self.lead_id} in {self.program.name if self.program_id else '?'}"
