"""Routing configuration (territories, teams, reps, ordered rules), decisions, follow-up tasks and SLAs.

Also the two row locks a routing decision takes on routing's own tables, as named manager methods:
``Rep.objects.pool_locked`` (the reps of a pool) and ``RoutingPointer.objects.locked`` (a round-robin pointer).
"""

from __future__ import annotations

import zoneinfo
from collections.abc import Sequence
from datetime import time
from functools import cache

import pycountry
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import connection, models
from django.db.models import Q
from django.db.transaction import TransactionManagementError

from leads.choices import Queue, Stage
from leads.models import Lead
from revops.base.db.sql import rows_compiled_once
from revops.base.history_records import HistoricalRecords
from scoring.choices import Band, ModelStatus
from scoring.models import ScoringModel

from .choices import Disposition, NotifyChannel, RepRole, RuleAction, Strategy, TaskKind, TaskStatus
from .vocabulary import (
    SENIORITIES,
    TEMPLATE_FIELDS,
    band_score_conflict,
    choices_hint,
    industry_problems,
    industry_vocabulary_read,
    split_csv,
    unknown_bands,
    unknown_countries,
    unknown_languages,
    unknown_placeholders,
    unknown_seniorities,
    unknown_stages,
)


class Territory(models.Model):
    """A sales territory: countries, optionally narrowed to states or postal-code prefixes."""

    name = models.CharField(max_length=100, unique=True)
    countries = models.CharField(max_length=1000, help_text="ISO alpha-2 codes, comma-separated: US, CA")
    states = models.CharField(max_length=1000, blank=True, help_text="Optional: state codes, comma-separated.")
    postal_prefixes = models.CharField(max_length=1000, blank=True, help_text="Optional: postal-code prefixes.")
    active = models.BooleanField(default=True)
    updated_at = models.DateTimeField(auto_now=True)
    history = HistoricalRecords(excluded_fields=["updated_at"])

    class Meta:
        ordering = ["name"]
        verbose_name_plural = "territories"

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        unknown = [c for c in split_csv(self.countries, upper=True) if pycountry.countries.get(alpha_2=c) is None]
        if unknown:
            raise ValidationError({"countries": f"not ISO 3166 alpha-2 codes: {', '.join(unknown)}"})
        if not split_csv(self.countries):
            raise ValidationError({"countries": "at least one country"})

    def covers(self, *, country: str, state: str, postal_code: str) -> bool | None:
        """True/False when the lead's location says; None when a needed part of it is missing."""
        if not country:
            return None
        if country.upper() not in split_csv(self.countries, upper=True):
            return False
        states = split_csv(self.states, upper=True)
        if states:
            if not state:
                return None
            if state.upper() not in states:
                return False
        prefixes = split_csv(self.postal_prefixes, upper=True)
        if prefixes:
            if not postal_code:
                return None
            if not any(postal_code.upper().startswith(p) for p in prefixes):
                return False
        return True


def _touch_updated_at(kwargs: dict) -> None:
    """A partial save is still a change the warehouse feed must see: ``updated_at`` goes with every
    ``update_fields`` (an empty list still saves nothing)."""
    fields = kwargs.get("update_fields")
    if fields:
        kwargs["update_fields"] = {*fields, "updated_at"}


class Team(models.Model):
    """A pool of reps (SMB, Mid-Market, Enterprise, SDR...). A team with nobody available overflows to another."""

    name = models.CharField(max_length=100, unique=True)
    description = models.CharField(max_length=255, blank=True)
    overflow_team = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL,
                                      help_text="Where leads go when nobody in this team is available.")
    slack_channel = models.CharField(max_length=100, blank=True, help_text="Channel for team-wide alerts.")
    teams_webhook_url = models.URLField(max_length=500, blank=True,
                                        help_text="Microsoft Teams incoming-webhook URL of the team's channel.")
    manager = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                related_name="managed_teams",
                                help_text="The manager who gets the team's escalations and digests "
                                          "(one of its managers).")
    managers = models.ManyToManyField(settings.AUTH_USER_MODEL, blank=True, related_name="teams_managed",
                                      help_text="Everyone who manages the team: they see and act on its leads, tasks "
                                                "and reps (routing/scoping.py).")
    updated_at = models.DateTimeField(auto_now=True)
    history = HistoricalRecords(excluded_fields=["updated_at"])

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


# The user fields a routing decision reads of a pool's reps: availability (is_active) and labels (names).
POOL_USER_FIELDS = ("id", "is_active", "username", "first_name", "last_name")


@cache
def _pool_columns(rep_model: type[models.Model]) -> tuple[models.Field, list[str], list[str]]:
    """The pool lock's columns, in the order the statement selects them: every concrete field of the rep, then the
    user's ``POOL_USER_FIELDS`` (as ``Model.from_db`` takes them: attribute names in field order)."""
    user_field = rep_model._meta.get_field("user")
    user_names = [f.attname for f in user_field.related_model._meta.concrete_fields if f.name in POOL_USER_FIELDS]
    return user_field, [f.attname for f in rep_model._meta.concrete_fields], user_names


class RepManager(models.Manager):
    """Rep's manager, with the pool lock every routing decision takes."""

    def pool_locked(self, *, team_ids: Sequence[int], rep_ids: Sequence[int] = ()) -> list[Rep]:
        """Lock every rep of the given teams (and the given reps) in one statement, in id order: the pool lock.

        Each rep comes with its user (the fields of ``POOL_USER_FIELDS``) already attached. Raw rows, not a
        queryset, because this runs on every decision for every rep of the pool and compiling the query each time
        cost more than the rest of the decision: the statement (``select_related("user")``, ordered by id,
        ``FOR UPDATE OF`` the rep table on PostgreSQL so the users are not locked) is compiled once per number of
        teams and reps, its values go through Django's converters, and ``Model.from_db`` makes them real ``Rep``
        and ``User`` instances. The rows lock in id order, so two decisions never deadlock; SQLite serializes
        writing transactions instead.
        """
        if not team_ids and not rep_ids:
            return []
        if not connection.in_atomic_block:
            raise TransactionManagementError("the pool lock is only taken inside a transaction")
        teams, reps = len(team_ids), len(rep_ids)
        rows = rows_compiled_once(("rep pool locked", teams, reps), lambda: self._pool_query(teams, reps),
                                  [*team_ids, *rep_ids])
        user_field, rep_names, user_names = _pool_columns(self.model)
        user_model, width, alias = user_field.related_model, len(rep_names), connection.alias
        pool = []
        for row in rows:
            rep = self.model.from_db(alias, rep_names, row[:width])
            user = user_model.from_db(alias, user_names, row[width:])
            user_field.set_cached_value(rep, user)  # rep.user without a query, as select_related does
            user_field.remote_field.set_cached_value(user, rep)
            pool.append(rep)
        return pool

    def _pool_query(self, teams: int, reps: int) -> models.QuerySet:
        """The pool lock's statement, for ``teams`` team ids and ``reps`` rep ids (given as distinct placeholders:
        an IN list drops repeated values, and the compiled statement must keep one parameter per id)."""
        where = Q()
        if teams:
            where |= Q(team_id__in=range(1, teams + 1))
        if reps:
            where |= Q(pk__in=range(teams + 1, teams + reps + 1))
        fields = [f.name for f in self.model._meta.concrete_fields] + [f"user__{n}" for n in POOL_USER_FIELDS]
        return (self.model._base_manager.select_related("user").only(*fields).filter(where).order_by("pk")
                .select_for_update(of=("self",)))


class Rep(models.Model):
    """A sales rep: who they are in the app and in Slack, where and what they sell, and how much they can take."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="rep")
    team = models.ForeignKey(Team, on_delete=models.PROTECT, related_name="reps")
    role = models.CharField(max_length=12, choices=RepRole.choices, default=RepRole.AE)
    territories = models.ManyToManyField(Territory, blank=True, related_name="reps")
    is_active = models.BooleanField(default=True, help_text="Inactive reps get no leads; their open leads re-route.")
    out_of_office_from = models.DateTimeField(null=True, blank=True)
    out_of_office_until = models.DateTimeField(null=True, blank=True)
    time_zone = models.CharField(max_length=64, default="UTC")
    working_hours_start = models.TimeField(default=time(0, 0))
    working_hours_end = models.TimeField(default=time(23, 59, 59))
    working_days = models.CharField(max_length=20, default="0, 1, 2, 3, 4",
                                    help_text="Weekdays worked, Monday = 0, comma-separated (SLA clock).")
    country = models.CharField(max_length=2, blank=True,
                               help_text="ISO alpha-2: whose public holidays the SLA clock skips (empty: none).")
    capacity = models.PositiveIntegerField(default=200, help_text="Most open leads at once.")
    daily_cap = models.PositiveIntegerField(null=True, blank=True, help_text="Most new leads a day (empty: none).")
    weekly_cap = models.PositiveIntegerField(null=True, blank=True, help_text="Most new leads a week (empty: none).")
    weight = models.PositiveIntegerField(default=1, help_text="Share under weighted round robin.")
    skills = models.CharField(max_length=500, blank=True, help_text="Industries, comma-separated.")
    languages = models.CharField(max_length=200, blank=True, help_text="Language codes, comma-separated: en, de")
    slack_user_id = models.CharField(max_length=50, blank=True)
    notify_via = models.CharField(
        max_length=60, default=NotifyChannel.SLACK_DM,
        help_text="Where new tasks reach the rep, comma-separated: slack_dm, team_channel, email, teams. With no "
                  "working channel (no Slack id, no team channel or webhook) the rep gets e-mail.")
    history = HistoricalRecords()

    objects = RepManager()

    class Meta:
        ordering = ["user__username"]

    def __str__(self) -> str:
        return self.user.get_full_name() or self.user.username

    def clean(self) -> None:
        try:
            zoneinfo.ZoneInfo(self.time_zone)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError) as exc:
            raise ValidationError({"time_zone": f"{self.time_zone!r} is not an IANA time zone"}) from exc
        days = split_csv(self.working_days)
        if any(day not in {"0", "1", "2", "3", "4", "5", "6"} for day in days):
            raise ValidationError({"working_days": "use weekday numbers 0 (Monday) to 6 (Sunday), comma-separated"})
        if self.country:
            self.country = self.country.upper()
            if pycountry.countries.get(alpha_2=self.country) is None:
                raise ValidationError({"country": f"{self.country!r} is not an ISO alpha-2 country code"})
        if any(channel not in NotifyChannel.values for channel in split_csv(self.notify_via)):
            raise ValidationError({"notify_via": f"use {', '.join(NotifyChannel.values)}, comma-separated"})
        if self.out_of_office_from and self.out_of_office_until and self.out_of_office_until < self.out_of_office_from:
            raise ValidationError({"out_of_office_until": "ends before it starts"})
        if bad := unknown_languages(split_csv(self.languages)):
            raise ValidationError({"languages": f"not ISO 639-1 language codes: {', '.join(bad)}"})


class RoutingRule(models.Model):
    """One ordered routing rule: conditions over a lead (all must hold) and an action.

    Rules are tried by ``order``; the first that matches decides. A condition left empty does not test anything.
    A *draft* rule is inactive: live routing never uses it, the routing preview (``route_leads --dry-run
    --include-drafts``, the admin's "Preview" page) tries it in its place, and "Activate drafts" makes it live,
    deactivating the rule it ``replaces``. The name is the rule's natural key (configuration as code).
    """

    name = models.CharField(max_length=100, unique=True)
    order = models.PositiveIntegerField(default=100, db_index=True)
    active = models.BooleanField(default=True)
    draft = models.BooleanField(default=False, help_text="A proposed rule: only the preview uses it until activated.")
    replaces = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL, related_name="drafts",
                                 help_text="Draft only: the live rule this draft takes the place of when activated.")
    territory = models.ForeignKey(Territory, null=True, blank=True, on_delete=models.PROTECT)
    countries = models.CharField(max_length=500, blank=True, help_text="ISO codes, comma-separated.")
    min_employees = models.PositiveIntegerField(null=True, blank=True)
    max_employees = models.PositiveIntegerField(null=True, blank=True)
    industries = models.CharField(max_length=500, blank=True, help_text="Canonical industries, comma-separated.")
    seniorities = models.CharField(max_length=200, blank=True, help_text="e.g. c_level, vp")
    min_score = models.IntegerField(null=True, blank=True)
    max_score = models.IntegerField(null=True, blank=True)
    bands = models.CharField(max_length=20, blank=True, help_text="e.g. A, B")
    stages = models.CharField(max_length=200, blank=True, help_text="e.g. sql, mql")
    sources = models.CharField(max_length=500, blank=True, help_text="Lead sources, comma-separated.")
    languages = models.CharField(max_length=200, blank=True,
                                 help_text="Lead languages (ISO 639-1, e.g. de, fr): the lead's custom attribute "
                                           "'language', else its country's language.")
    action = models.CharField(max_length=10, choices=RuleAction.choices, default=RuleAction.ASSIGN_TEAM)
    rep = models.ForeignKey(Rep, null=True, blank=True, on_delete=models.PROTECT, related_name="direct_rules")
    team = models.ForeignKey(Team, null=True, blank=True, on_delete=models.PROTECT, related_name="rules")
    strategy = models.CharField(max_length=15, choices=Strategy.choices, default=Strategy.ROUND_ROBIN)
    match_rep_territory = models.BooleanField(
        default=False, help_text="Only reps whose territories cover the lead's location."
    )
    rep_roles = models.CharField(max_length=100, blank=True,
                                 help_text="Only reps with these roles, comma-separated: sdr, ae, senior_ae "
                                           "(empty: any role).")
    queue = models.CharField(max_length=10, choices=Queue.choices, blank=True)
    updated_at = models.DateTimeField(auto_now=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["order", "id"]

    def __str__(self) -> str:
        return f"{self.order}. {self.name}"

    def clean(self) -> None:
        if self.action == RuleAction.ASSIGN_REP and not self.rep_id:
            raise ValidationError({"rep": "Choose the rep this rule assigns to."})
        if self.action == RuleAction.ASSIGN_TEAM and not self.team_id:
            raise ValidationError({"team": "Choose the team this rule assigns to."})
        if self.action == RuleAction.QUEUE and not self.queue:
            raise ValidationError({"queue": "Choose the queue."})
        self._clean_vocabulary()
        both = self.min_employees is not None and self.max_employees is not None
        if both and self.min_employees > self.max_employees:
            raise ValidationError({"max_employees": "below the minimum"})
        both = self.min_score is not None and self.max_score is not None
        if both and self.min_score > self.max_score:
            raise ValidationError({"max_score": "below the minimum"})
        unknown_roles = [r for r in split_csv(self.rep_roles) if r not in RepRole.values]
        if unknown_roles:
            raise ValidationError({"rep_roles": f"unknown roles: {', '.join(unknown_roles)}; "
                                                f"use {', '.join(RepRole.values)}"})
        self._clean_never_matches()
        if self.draft and self.active:
            raise ValidationError({"active": "A draft rule stays inactive until it is activated."})
        if self.replaces_id and not self.draft:
            raise ValidationError({"replaces": "Only a draft replaces a live rule."})
        if self.replaces_id and (self.replaces_id == self.pk or self.replaces.draft):
            raise ValidationError({"replaces": "A draft replaces a live rule, not itself or another draft."})


    def _clean_vocabulary(self) -> None:
        """Every condition value is one a lead can have: all problems at once, each under its field."""
        errors: dict[str, str] = {}
        if bad := unknown_countries(split_csv(self.countries, upper=True)):
            errors["countries"] = f"not ISO 3166 alpha-2 country codes: {', '.join(bad)}"
        if bad := unknown_bands(split_csv(self.bands, upper=True)):
            errors["bands"] = f"unknown bands: {', '.join(bad)}; use {choices_hint(Band.values)}"
        if bad := unknown_stages(split_csv(self.stages)):
            errors["stages"] = f"unknown stages: {', '.join(bad)}; use {choices_hint(Stage.values)}"
        if bad := unknown_seniorities(split_csv(self.seniorities)):
            errors["seniorities"] = f"unknown seniorities: {', '.join(bad)}; use {choices_hint(SENIORITIES)}"
        if bad := unknown_languages(split_csv(self.languages)):
            errors["languages"] = f"not ISO 639-1 language codes: {', '.join(bad)}"
        if self.industries and (bad := industry_problems(split_csv(self.industries), industry_vocabulary_read())):
            errors["industries"] = "; ".join(bad)
        if errors:
            raise ValidationError(errors)

    def _clean_never_matches(self) -> None:
        """Refuse a rule whose conditions contradict each other: it could never route a lead."""
        countries = set(split_csv(self.countries, upper=True))
        if self.territory_id and countries:
            covered = set(split_csv(self.territory.countries, upper=True))
            if not countries & covered:
                raise ValidationError({"countries": (
                    f"this rule can never match: its territory {self.territory.name} covers "
                    f"{', '.join(sorted(covered))}, none of {', '.join(sorted(countries))}")})
        thresholds = ScoringModel.objects.filter(status=ModelStatus.ACTIVE).values_list(
            "band_a_min", "band_b_min", "band_c_min")
        if conflict := band_score_conflict(split_csv(self.bands, upper=True), self.min_score, self.max_score,
                                           thresholds if self.bands else ()):
            raise ValidationError({"bands": f"this rule can never match: {conflict}"})


class RoutingPointerManager(models.Manager):
    """RoutingPointer's manager, with the row lock a round-robin turn takes."""

    def locked(self, pool_key: str) -> RoutingPointer:
        """The pool's round-robin pointer, locked (created on the pool's first turn).

        Read through a statement compiled once (``rows_compiled_once``): it runs on every decision that takes a
        turn, and the pointer is locked only after the pool's reps (the lock order of ``Rep.objects.pool_locked``).
        """
        rows = rows_compiled_once("routing pointer locked",
                                  lambda: self.model._base_manager.select_for_update().filter(pool_key=""),
                                  [pool_key])
        if not rows:
            pointer, _ = self.select_for_update().get_or_create(pool_key=pool_key)
            return pointer
        names = [f.attname for f in self.model._meta.concrete_fields]
        return self.model.from_db(connection.alias, names, rows[0])


class RoutingPointer(models.Model):
    """The persisted position of a round-robin pool, locked while a lead is assigned so turns are never skipped."""

    pool_key = models.CharField(max_length=100, unique=True)
    last_rep = models.ForeignKey(Rep, null=True, blank=True, on_delete=models.SET_NULL)
    turns = models.PositiveBigIntegerField(default=0)
    credits = models.JSONField(default=dict, blank=True, help_text="Weighted round robin: current credit per rep.")

    objects = RoutingPointerManager()

    def __str__(self) -> str:
        return f"{self.pool_key}: {self.turns} turns"


class RoutingDecision(models.Model):
    """One routing decision and why: rules tried, the rule that matched, candidates and why each was skipped."""

    # Every index is written by every decision: only the ones queries use exist. (rep, created_at) serves the
    # caps; the user columns are read through the lead or the decision, never searched by.
    lead = models.ForeignKey(Lead, on_delete=models.CASCADE, related_name="routing_decisions")
    rule = models.ForeignKey(RoutingRule, null=True, blank=True, on_delete=models.SET_NULL)
    rep = models.ForeignKey(Rep, null=True, blank=True, on_delete=models.SET_NULL, related_name="decisions",
                            db_index=False)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                              related_name="+", db_index=False)
    previous_owner = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                       related_name="+", db_index=False)
    previous_queue = models.CharField(max_length=10, blank=True)
    queue = models.CharField(max_length=10, choices=Queue.choices, blank=True)
    strategy = models.CharField(max_length=15, blank=True)
    summary = models.CharField(max_length=500)
    explanation = models.JSONField(default=dict)
    cause = models.CharField(max_length=100, default="new lead")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                             related_name="+", db_index=False,
                             help_text="Who made a manual decision (empty: automation).")
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    undone_at = models.DateTimeField(null=True, blank=True)
    undone_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                  related_name="+", db_index=False)
    updated_at = models.DateTimeField(auto_now=True, help_text="Set on creation and on undo (the warehouse feed).")
    # Set on save: the routing report counts a lead once per rule and per rep without sorting (decision_repeats.py).
    previous_same_rule_at = models.DateTimeField(null=True, blank=True, editable=False, help_text=(
        "When this lead's previous standing decision by the same rule (or by none) was made."))
    previous_same_owner_at = models.DateTimeField(
        null=True, blank=True, editable=False,
        help_text="When this lead was last given to the same owner by a standing decision (empty: never, or no owner).")

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["rep", "created_at"]),
                   models.Index(fields=["updated_at", "id"], name="decision_feed"),
                   # The routing report's period read from the index alone on PostgreSQL (a row is wide).
                   models.Index(fields=["created_at"], name="decision_report",
                                include=["id", "rule", "lead", "owner", "queue", "previous_owner", "previous_queue",
                                         "cause", "user", "rep", "strategy", "previous_same_rule_at",
                                         "previous_same_owner_at"],
                                condition=models.Q(undone_at__isnull=True))]

    def __str__(self) -> str:
        return self.summary

    def save(self, *args, **kwargs) -> None:
        _touch_updated_at(kwargs)
        if self._state.adding and self.lead_id:
            self._previous_same_set()
        super().save(*args, **kwargs)

    def _previous_same_set(self) -> None:
        """The lead's latest standing decisions by the same rule and to the same owner. Only a lead's latest decision
        can be undone (services/reassign.py): no later decision ever points at an undone one."""
        same_rule = Q(rule_id=self.rule_id) if self.rule_id else Q(rule_id__isnull=True)
        latest = {"rule": models.Max("created_at", filter=same_rule)}
        if self.owner_id:
            latest["owner"] = models.Max("created_at", filter=Q(owner_id=self.owner_id))
        found = RoutingDecision.objects.filter(lead_id=self.lead_id, undone_at__isnull=True).aggregate(**latest)
        self.previous_same_rule_at, self.previous_same_owner_at = found["rule"], found.get("owner")


class SlaPolicy(models.Model):
    """How soon the first follow-up of a lead is due, by band, stage and source (each optional; the most specific
    policy wins), in the assigned rep's working minutes."""

    band = models.CharField(max_length=2, blank=True, help_text="Empty: any band.")
    stage = models.CharField(max_length=20, choices=Stage.choices, blank=True, help_text="Empty: any stage.")
    source = models.CharField(max_length=100, blank=True, help_text="A lead source (e.g. outbound). Empty: any.")
    minutes = models.PositiveIntegerField(help_text="Working minutes of the rep from assignment to due.")
    escalate_after_minutes = models.PositiveIntegerField(default=60, help_text="Overdue this long → manager alert.")
    history = HistoricalRecords()

    class Meta:
        ordering = ["band", "stage"]
        constraints = [models.UniqueConstraint(fields=["band", "stage", "source"],
                                               name="uniq_sla_policy_band_stage_source")]
        verbose_name = "SLA policy"
        verbose_name_plural = "SLA policies"

    def __str__(self) -> str:
        return (f"band {self.band or 'any'} / {self.stage or 'any stage'} / {self.source or 'any source'}: "
                f"{self.minutes} working min")

    def clean(self) -> None:
        if self.band and self.band not in Band.values:
            raise ValidationError({"band": f"unknown band {self.band}; use {choices_hint(Band.values)} or empty"})


class Task(models.Model):
    """A follow-up task for a rep, due by its SLA. ``dedup_key`` makes its creation idempotent."""

    lead = models.ForeignKey(Lead, on_delete=models.CASCADE, related_name="tasks")
    merged_from = models.ForeignKey(Lead, null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
                                    help_text="The lead this task belonged to before a merge (moved back on undo).")
    assignee = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="tasks")
    decision = models.ForeignKey(RoutingDecision, null=True, blank=True, on_delete=models.SET_NULL)
    kind = models.CharField(max_length=20, choices=TaskKind.choices, default=TaskKind.FOLLOW_UP)
    title = models.CharField(max_length=255)
    due_at = models.DateTimeField(db_index=True)
    status = models.CharField(max_length=10, choices=TaskStatus.choices, default=TaskStatus.OPEN, db_index=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    outcome_note = models.CharField(max_length=500, blank=True)
    escalated_at = models.DateTimeField(null=True, blank=True)
    disposition = models.CharField(max_length=20, choices=Disposition.choices, blank=True)
    disposition_reason = models.CharField(max_length=200, blank=True, help_text="Why disqualified (from the list).")
    attempt = models.PositiveSmallIntegerField(default=1, help_text="Call attempt (no-answer retries count up).")
    snooze_count = models.PositiveSmallIntegerField(default=0)
    snoozed_at = models.DateTimeField(null=True, blank=True)
    accepted_at = models.DateTimeField(null=True, blank=True)
    reassign_requested_at = models.DateTimeField(null=True, blank=True, db_index=True)
    reassign_reason = models.CharField(max_length=300, blank=True)
    dedup_key = models.CharField(max_length=200, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    history = HistoricalRecords(excluded_fields=["updated_at"], no_db_index=[  # history is read by id and date only
        "lead", "merged_from", "assignee", "decision", "due_at", "status", "reassign_requested_at", "dedup_key"])

    class Meta:
        ordering = ["due_at", "id"]
        indexes = [models.Index(fields=["assignee", "status", "due_at"]),
                   models.Index(fields=["updated_at", "id"], name="task_feed")]

    def __str__(self) -> str:
        return self.title

    def save(self, *args, **kwargs) -> None:
        _touch_updated_at(kwargs)
        super().save(*args, **kwargs)


class DisqualifyReason(models.Model):
    """A reason a rep may give when disqualifying a lead (the list is edited in the admin)."""

    name = models.CharField(max_length=100, unique=True)
    active = models.BooleanField(default=True)
    order = models.PositiveIntegerField(default=100)
    history = HistoricalRecords()

    class Meta:
        ordering = ["order", "name"]

    def __str__(self) -> str:
        return self.name


class TaskTemplate(models.Model):
    """What a rep is asked to do for a kind of lead (source × band × stage; empty = any, the most specific wins):
    the task's title, a call script and a first e-mail, with ``{first_name}``, ``{company}``… filled in."""

    name = models.CharField(max_length=100, unique=True)
    active = models.BooleanField(default=True)
    source = models.CharField(max_length=100, blank=True, help_text="A lead source. Empty: any.")
    band = models.CharField(max_length=2, blank=True, help_text="Empty: any band.")
    stage = models.CharField(max_length=20, choices=Stage.choices, blank=True, help_text="Empty: any stage.")
    title = models.CharField(max_length=200, help_text="e.g. Call {first_name} at {company} ({source})")
    call_script = models.TextField(blank=True)
    email_subject = models.CharField(max_length=200, blank=True)
    email_body = models.TextField(blank=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        unknown = unknown_placeholders(self.title, self.call_script, self.email_subject, self.email_body)
        if unknown:
            raise ValidationError(f"unknown placeholders: {', '.join(unknown)} (use {', '.join(TEMPLATE_FIELDS)})")
        if self.band and self.band not in ("A", "B", "C", "D"):
            raise ValidationError({"band": "A, B, C or D"})


class StageSla(models.Model):
    """How long a lead may stay in a stage without a new activity (time-in-stage SLA): an alert to its rep at 1×,
    to the team's manager at 2×, and at expiry (3×) optionally routed again through the normal rules."""

    stage = models.CharField(max_length=20, choices=Stage.choices, unique=True)
    days = models.PositiveIntegerField(help_text="Days in the stage without a new activity (1×).")
    reroute_at_expiry = models.BooleanField(default=False, help_text="At 3×, route the lead again.")
    active = models.BooleanField(default=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["stage"]
        verbose_name = "stage SLA"

    def __str__(self) -> str:
        return f"{self.get_stage_display()}: {self.days} days"


class StageSlaAlert(models.Model):
    """One level of a stage SLA fired for one lead: once per lead, stage, level and activity clock (``since``)."""

    lead = models.ForeignKey(Lead, on_delete=models.CASCADE, related_name="stage_sla_alerts")
    stage = models.CharField(max_length=20, choices=Stage.choices)
    level = models.PositiveSmallIntegerField(help_text="1: rep alerted, 2: manager alerted, 3: expired.")
    since = models.DateTimeField(help_text="The lead's last activity the SLA counted from.")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["lead", "stage", "level", "since"],
                                               name="uniq_stage_sla_alert")]

    def __str__(self) -> str:
        return f"lead #{self.lead_id} {self.stage} level {self.level}"


from .nurture_models import NurtureEnrollment, NurtureProgram, NurtureStep  # noqa: E402, F401 - registered
from .summary_models import FirstAssignment  # noqa: E402, F401 - registered with the app's models
