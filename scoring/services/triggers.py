"""Score triggers: threshold crossings, hot and cold leads, high intent; each at most once per lead and period.

A trigger is a ``ScoreTrigger`` row (unique on lead, kind, period key) and a ``lead_triggered`` signal sent with it,
which the routing layer turns into tasks. Scoring never imports routing.

Periods: crossings and hot fire at most once per lead, kind and day; high intent once per intent rule and day of
the streak; cold once per cold spell (the key is the day of the lead's last interaction, so a lead that comes back
and cools down again is announced again).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.db import transaction
from django.db.models import Sum
from django.utils import timezone

from leads.choices import Stage
from leads.consent import outreach_allowed, outreach_allowed_q
from leads.models import Lead
from revops.base.db.instances import instance_new

from ..choices import TriggerKind
from ..engine import ScoreResult
from ..loaders import load_lead_columns
from ..models import ScoreChange, ScoreTrigger, ScoringModel
from ..selectors import config_for, scoring_config
from ..signals import lead_triggered
from ..writes import score_triggers_insert

# Stages on the scoring ladder: a lead moves between them by score alone.
STAGE_LEVEL = {Stage.NEW: 0, Stage.ENGAGED: 0, Stage.NURTURE: 0, Stage.MQL: 1, Stage.RE_ENGAGED: 1, Stage.SQL: 2}
# Hot, cold and high intent are about leads marketing and sales may still work: not opted out, not sales-owned.
TRIGGER_STAGES = frozenset(STAGE_LEVEL)
# Score changes that count as points gained by the lead's own activity (hot and cold); a model change does not.
ACTIVITY_CAUSES = ("events", "ingest", "merge")
HOT_CAUSES = ("events",)


def crossings(old_stage: str, new_stage: str) -> list[str]:
    """The threshold crossings of a stage change on the scoring ladder (none into or out of other stages).

    engaged → SQL crosses MQL and SQL upwards; SQL → new crosses both downwards.
    """
    if old_stage not in STAGE_LEVEL or new_stage not in STAGE_LEVEL:
        return []
    old, new = STAGE_LEVEL[old_stage], STAGE_LEVEL[new_stage]
    kinds = []
    if old < 1 <= new:
        kinds.append(TriggerKind.MQL_UP)
    if old < 2 <= new:
        kinds.append(TriggerKind.SQL_UP)
    if new < 2 <= old:
        kinds.append(TriggerKind.SQL_DOWN)
    if new < 1 <= old:
        kinds.append(TriggerKind.MQL_DOWN)
    return kinds


def day_key(moment: datetime) -> str:
    """The period key of a once-a-day trigger: the day in the configured time zone."""
    return timezone.localdate(moment).isoformat()


def _announce(created: list[ScoreTrigger]) -> None:
    items = [(t.lead_id, t.kind, t.pk, t.period_key, t.detail) for t in created]
    if not items:
        return

    def send() -> None:
        for lead_id, kind, trigger_id, period_key, detail in items:
            lead_triggered.send(sender=ScoreTrigger, lead_id=lead_id, kind=kind, trigger_id=trigger_id,
                                period_key=period_key, detail=detail)

    send()


def trigger_fire(*, lead_id: int, kind: str, period_key: str, now: datetime, model_id: int | None = None,
                 cause: str = "", detail: dict[str, Any] | None = None) -> ScoreTrigger | None:
    """Record a trigger unless it already fired in this period; announce it. None when it had."""
    fired = triggers_fire_many([ScoreTrigger(lead_id=lead_id, kind=kind, period_key=period_key[:80], fired_at=now,
                                             model_id=model_id, cause=cause[:60], detail=detail or {})])
    return fired[0] if fired else None


def triggers_fire_many(triggers: list[ScoreTrigger]) -> list[ScoreTrigger]:
    """Record unsaved triggers unless they already fired in their period; announce the new ones and
    return them, in the given order (a second trigger of the same lead, kind and period is not new).

    The insert (``scoring.writes.score_triggers_insert``) lets the unique constraint decide, also between workers.
    """
    created = score_triggers_insert(triggers)
    _announce(created)
    return created


def _eligible(lead: Lead, stage: str) -> bool:
    """Hot and high-intent triggers ask the owner to call: only for a lead outreach may go to (at its new stage)."""
    return stage in TRIGGER_STAGES and outreach_allowed({"consent": lead.consent, "stage": stage})


def lead_triggers_earned(*, lead: Lead, model: ScoringModel, old_stage: str, result: ScoreResult, delta: int,
                         cause: str, now: datetime, first_score: bool = False) -> list[ScoreTrigger]:
    """The triggers one scoring earns, unsaved (``triggers_fire_many`` fires them: one lead's, or a batch's leads'
    together):
    crossings of the stage change, hot, high intent.

    Hot: the net points the lead's own events added (ScoreChange deltas of cause "events") within the model's hot
    window reach ``hot_points`` (0 switches hot off); a lead's first score does not count. High intent: an intent
    frequency rule fired within its own hours (a streak seen again later is not new).
    """
    pending: list[ScoreTrigger] = []

    def add(kind: str, period_key: str, detail: dict[str, Any]) -> None:
        pending.append(instance_new(ScoreTrigger, dict(lead_id=lead.pk, kind=kind, period_key=period_key[:80],
                                                       fired_at=now, model_id=model.pk, cause=cause[:60],
                                                       detail=detail)))

    detail = {"score": result.score, "band": result.band, "old_stage": old_stage, "new_stage": result.stage}
    for kind in crossings(old_stage, result.stage):
        add(kind, day_key(now), detail)
    if not _eligible(lead, result.stage):
        return pending
    if delta > 0 and not first_score and cause in HOT_CAUSES and model.hot_points > 0:
        since = now - timedelta(hours=model.hot_window_hours)
        # Net, not only the rises: points that came and went again (an event undone) are no burst of interest.
        # A lead's first score (old score empty) is its fit arriving, not points its behaviour gained.
        gained = ScoreChange.objects.filter(lead_id=lead.pk, at__gte=since, at__lte=now, cause__in=HOT_CAUSES,
                                            old_score__isnull=False).aggregate(total=Sum("delta"))["total"] or 0
        if gained >= model.hot_points:
            add(TriggerKind.HOT, day_key(now), {**detail, "gained": gained, "window_hours": model.hot_window_hours})
    for hit in result.intent_hits:
        if hit["at"] >= now - timedelta(hours=hit["hours"]):
            add(TriggerKind.HIGH_INTENT, f"{hit['code']}:{day_key(hit['at'])}",
                {**detail, "rule": hit["code"], "label": hit["label"], "at": hit["at"].isoformat()})
    return pending


def leads_cold_check(*, now: datetime | None = None, chunk_size: int = 50_000) -> str:
    """Fire *cold* for every lead that gained fewer than ``cold_points`` from its own activity in the model's cold
    window (daily job). Set-based, chunk by chunk of lead ids.

    Steps per chunk: 1) load the candidate leads (live, on the scoring ladder, not opted out, older than the window)
    with the fields their segments test; 2) assign each its segment; 3) per segment, sum the positive activity
    deltas in the window (one grouped query); 4) record the cold triggers of the spell not yet announced.
    """
    now = now or timezone.now()
    configs = [c for c in scoring_config(fresh=True) if c.model.cold_points > 0]
    if not configs:
        return "no active model checks cold leads"
    oldest_window = max(c.model.cold_window_days for c in configs)
    segment_fields = sorted({c.model.segment_field for c in configs if c.model.segment_field})
    base = (Lead.objects.live().filter(stage__in=TRIGGER_STAGES, score__isnull=False)
            .filter(outreach_allowed_q()).filter(created_at__lte=now - timedelta(days=min(
                c.model.cold_window_days for c in configs))))
    bounds = base.order_by("id").values_list("id", flat=True)
    first, last = bounds.first(), base.order_by("-id").values_list("id", flat=True).first()
    checked = fired = 0
    if first is None:
        return "0 leads checked, 0 cold"
    for start in range(first, last + 1, chunk_size):
        chunk = base.filter(id__gte=start, id__lt=start + chunk_size)
        ids, values = load_lead_columns(chunk, [*segment_fields, "created_at", "last_interaction_at"])
        if ids.size == 0:
            continue
        checked += int(ids.size)
        gains_since = now - timedelta(days=oldest_window)
        rows = (ScoreChange.objects.filter(lead_id__gte=start, lead_id__lt=start + chunk_size, at__gte=gains_since,
                                           at__lte=now, delta__gt=0, cause__in=ACTIVITY_CAUSES,
                                           old_score__isnull=False)
                .values_list("lead_id", "at", "delta"))
        per_lead: dict[int, list[tuple[datetime, int]]] = {}
        for lead_id, at, delta in rows:
            per_lead.setdefault(lead_id, []).append((at, delta))
        triggers = []
        for i, lead_id in enumerate(ids.tolist()):
            lead_values = {name: values[name][i] for name in segment_fields}
            try:
                config = config_for(lead_values, configs)
            except Exception:  # nosec B112  # noqa: BLE001 - a lead no model takes is not cold, it is unscored
                continue
            model = config.model
            window_start = now - timedelta(days=model.cold_window_days)
            if values["created_at"][i] > window_start:
                continue
            gained = sum(d for at, d in per_lead.get(lead_id, ()) if at >= window_start)
            if gained >= model.cold_points:
                continue
            spell = values["last_interaction_at"][i] or values["created_at"][i]
            triggers.append(ScoreTrigger(
                lead_id=lead_id, kind=TriggerKind.COLD, period_key=f"since:{day_key(spell)}", fired_at=now,
                model_id=model.pk, cause="cold check",
                detail={"gained": gained, "window_days": model.cold_window_days, "cold_points": model.cold_points,
                        "last_interaction_at": values["last_interaction_at"][i] and spell.isoformat()},
            ))
        with transaction.atomic():
            fired += len(triggers_fire_many(triggers))
    return f"{checked} leads checked, {fired} newly cold"

