"""The dashboard's filters, read from the query string so a view can be bookmarked: period (a preset number of days,
or created from / to dates), source, campaign, segment, team and rep. Bad input raises DashboardFilterError naming the
field. Lead-dated figures (cohorts) filter the leads' creation; event-dated figures (transitions, decisions, flags) take
``window()`` for the event date and ``apply_dimensions`` for the rest."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from urllib.parse import urlencode

from django.utils import timezone

from revops.base.roles import is_revops_admin
from routing.models import Rep, Team
from routing.scoping import leads_visible_to, reps_visible_to, sees_every_lead, tasks_visible_to, teams_managed_by

from .dashboard_facts import day_start, is_facts, lead_segment

PERIODS = {"30": 30, "90": 90, "365": 365, "all": None}
FIELDS = ("period", "created_from", "created_to", "source", "campaign", "team", "rep", "segment")


class DashboardFilterError(ValueError):
    def __init__(self, field_name: str, message: str):
        super().__init__(f"{field_name}: {message}")
        self.field = field_name
        self.message = message


@dataclass
class DashboardFilters:
    period: str = "90"
    created_from: date | None = None
    created_to: date | None = None
    source: str = ""
    campaign: str = ""
    team: Team | None = None
    rep: Rep | None = None
    given: dict = field(default_factory=dict)
    segment: str = ""
    # Whose numbers: a manager sees their teams' only (routing/scoping.py); None (a script, a test) sees all.
    user: object = None

    @property
    def days(self) -> int | None:
        """The SLA card's window: the preset, or the length of the chosen dates, or all time."""
        if self.created_from:
            return ((self.created_to or timezone.localdate()) - self.created_from).days + 1
        return PERIODS[self.period]

    def querystring(self, **extra) -> str:
        """The filters as given (the same bookmarkable URL), plus ``extra``, e.g. format=csv&table=bands."""
        return urlencode({**{k: v for k, v in self.given.items() if v}, **extra})

    def apply(self, leads):
        if self.created_from or self.created_to:
            if self.created_from:
                leads = leads.filter(created_at__gte=day_start(self.created_from))
            if self.created_to:
                leads = leads.filter(created_at__lt=day_start(self.created_to + timedelta(days=1)))
        elif PERIODS[self.period] is not None:
            leads = leads.filter(created_at__gte=timezone.now() - timedelta(days=PERIODS[self.period]))
        if self.source:
            leads = leads.filter(source=self.source)
        if self.campaign:
            leads = leads.filter(campaign=self.campaign)
        if self.team:
            leads = leads.filter(owner__rep__team=self.team)
        if self.rep:
            leads = leads.filter(owner=self.rep.user_id)
        if self.segment and is_facts(leads):
            leads = leads.filter(segment=self.segment)
        elif self.segment:
            leads = leads.annotate(scored_segment=lead_segment()).filter(scored_segment=self.segment)
        return leads if self.user is None else leads_visible_to(self.user, leads, triage=False)

    def narrows_leads(self) -> bool:
        """Whether a filter other than the period, or the user's scope, leaves some live leads out."""
        return bool(self.source or self.campaign or self.segment or self.team or self.rep
                    or (self.user is not None and not sees_every_lead(self.user)))

    def about(self, rows, leads):
        """``rows`` (tasks, decisions: anything with a ``lead``) about ``leads``, these filters' leads. When no
        filter narrows them they are every lead, and the rows are not looked up in them."""
        return rows.filter(lead__in=leads.order_by().values("pk")) if self.narrows_leads() else rows

    def scope_tasks(self, tasks):
        """Tasks narrowed to the user's (a manager: their teams')."""
        return tasks if self.user is None else tasks_visible_to(self.user, tasks)

    @property
    def team_choices(self):
        """The teams the team filter offers: a manager's own; a RevOps admin every team."""
        return _teams_for(self.user).order_by("name")

    @property
    def rep_choices(self):
        """The reps the rep filter offers: a manager's teams' reps; a RevOps admin every rep."""
        reps = Rep.objects.select_related("user").order_by("user__username")
        return reps if self.user is None else reps_visible_to(self.user, reps)

    def window(self) -> tuple[datetime | None, datetime | None]:
        """The period as [start, end) datetimes for event-dated figures (None: open-ended)."""
        if self.created_from or self.created_to:
            return (day_start(self.created_from) if self.created_from else None,
                    day_start(self.created_to + timedelta(days=1)) if self.created_to else None)
        days = PERIODS[self.period]
        return (timezone.now() - timedelta(days=days) if days is not None else None), None

    def apply_dimensions(self, leads):
        """Every filter but the period (source, campaign, segment, team, rep): the leads of event-dated figures."""
        return replace(self, period="all", created_from=None, created_to=None).apply(leads)

    def in_window(self, rows, date_field: str):
        """``rows`` (events, decisions, flags, tasks) whose ``date_field`` falls in the period."""
        start, end = self.window()
        if start is not None:
            rows = rows.filter(**{f"{date_field}__gte": start})
        if end is not None:
            rows = rows.filter(**{f"{date_field}__lt": end})
        return rows


def _date(params, name: str) -> date | None:
    raw = params.get(name, "").strip()
    if not raw:
        return None
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise DashboardFilterError(name, f"'{raw}' is not a date (YYYY-MM-DD).") from None


def _object(params, name: str, model, queryset=None):
    raw = params.get(name, "").strip()
    if not raw:
        return None
    if not raw.isdigit():
        raise DashboardFilterError(name, f"'{raw}' is not an id.")
    found = (model.objects if queryset is None else queryset).filter(pk=int(raw)).first()
    if found is None:  # another team's (for a manager) reads as unknown
        raise DashboardFilterError(name, f"no {model._meta.verbose_name} with id {raw}.")
    return found


def parse_filters(params, user=None) -> DashboardFilters:
    """The filters of the query string; with ``user``, the team and rep must be theirs to see and ``apply``
    narrows the leads to theirs (a manager: their teams')."""
    period = params.get("period", "90") or "90"
    if period not in PERIODS:
        raise DashboardFilterError("period", f"'{period}' is not one of {', '.join(PERIODS)}.")
    created_from, created_to = _date(params, "created_from"), _date(params, "created_to")
    if created_from and created_to and created_from > created_to:
        raise DashboardFilterError("created_to", "is before created_from.")
    return DashboardFilters(
        period=period, created_from=created_from, created_to=created_to,
        source=params.get("source", "").strip()[:100], campaign=params.get("campaign", "").strip()[:255],
        team=_object(params, "team", Team, _teams_for(user)),
        rep=_object(params, "rep", Rep, None if user is None else reps_visible_to(user, Rep.objects.all())),
        given={name: params.get(name, "") for name in FIELDS}, user=user,
        segment=params.get("segment", "").strip()[:50],
    )


def _teams_for(user):
    if user is None or is_revops_admin(user):
        return Team.objects.all()
    return teams_managed_by(user)
