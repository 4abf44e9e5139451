"""The routing report: decisions of the period per rule and per rep, the holding and review queues with their ages,
re-routes and reassignments and why, and round-robin fairness per pool (assigned against expected share).

Decisions are dated by when they were made (the period filters ``RoutingDecision.created_at``); the queues are today's.
An undone decision does not count. The period's decisions are counted once, grouped (``decision_counts``), and each
table is summed from those rows."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

from django.contrib.auth import get_user_model
from django.db.models import Count, DateTimeField, DurationField, ExpressionWrapper, F, Min, Q, Sum, Value
from django.utils import timezone

from leads.choices import Queue
from routing.choices import Strategy
from routing.models import Rep, RoutingDecision, RoutingRule

from .dashboards_stats import as_hours, grouped_percentiles, pct

QUEUE_AGES = [("< 1 h", timedelta(hours=1)), ("1–24 h", timedelta(days=1)), ("1–7 days", timedelta(days=7)),
              ("> 7 days", None)]
FAIR_STRATEGIES = (Strategy.ROUND_ROBIN, Strategy.WEIGHTED)
NO_RULE = "(no rule matched)"


def decisions_in(filters, leads):
    """The decisions of the period about ``leads`` (every filter but the period, merged leads included), undone ones
    left out. When no filter narrows the leads they are every lead, and the decisions are not looked up in them."""
    return filters.in_window(filters.about(RoutingDecision.objects.filter(undone_at__isnull=True), leads),
                             "created_at")


def first_in_period(column: str, since) -> Q:
    """The decisions that are their lead's first of their kind in a period starting ``since`` (None: all time): no
    earlier standing decision of the same kind (``column``: routing/models.py), or only before the period. Counting
    them counts distinct leads without sorting the period's decisions (see routing/services/decision_repeats.py)."""
    first = Q(**{f"{column}__isnull": True})
    return first if since is None else first | Q(**{f"{column}__lt": since})


def decision_counts(decisions, *, since) -> list[dict]:
    """The decisions of a period starting ``since`` (None: all time), counted in one grouped statement by rule,
    owner, rep, strategy and cause: of each group, how many, how many were the first of their lead by that rule or to
    that owner in the period, sent to a queue, moves (from an owner or out of a queue), reassignments, owner kept,
    out of a queue, moves by a person. A few dozen rows from which every decisions table of the report is summed,
    instead of reading the period once per table."""
    had_owner, from_queue = Q(previous_owner__isnull=False), ~Q(previous_queue="")
    return list(decisions.order_by().values("rule_id", "owner_id", "rep_id", "strategy", "cause").annotate(
        n=Count("id"),
        first_by_rule=Count("id", filter=first_in_period("previous_same_rule_at", since)),
        first_to_owner=Count("id", filter=first_in_period("previous_same_owner_at", since)),
        queued=Count("id", filter=~Q(queue="")),
        had_owner=Count("id", filter=had_owner),
        moved=Count("id", filter=had_owner | from_queue),
        reassigned=Count("id", filter=had_owner & ~Q(owner=F("previous_owner"))),
        kept=Count("id", filter=had_owner & Q(owner=F("previous_owner"))),
        from_queue=Count("id", filter=from_queue),
        moved_by_person=Count("id", filter=(had_owner | from_queue) & Q(user__isnull=False)),
    ))


def _total(rows: list[dict], by: str, **sums: str) -> dict:
    """Per value of ``by``: per name in ``sums``, the named count of ``rows`` summed."""
    totals: dict = {}
    for row in rows:
        entry = totals.setdefault(row[by], dict.fromkeys(sums, 0))
        for name, count in sums.items():
            entry[name] += row[count]
    return totals


def per_rule(counts: list[dict]) -> list[dict]:
    """Per rule (or "no rule matched"): decisions, distinct leads, given to a rep, sent to a queue. ``counts``:
    ``decision_counts``; a lead counts once per rule by its first decision by that rule in the period."""
    totals = _total([{**row, "to_rep": row["n"] if row["owner_id"] is not None else 0} for row in counts], "rule_id",
                    decisions="n", leads="first_by_rule", to_rep="to_rep", to_queue="queued")
    names = dict(RoutingRule.objects.filter(pk__in=[key for key in totals if key]).values_list("pk", "name"))
    result = [{"rule": names.get(key) or NO_RULE, **entry} for key, entry in totals.items()]
    return sorted(result, key=lambda row: (-row["decisions"], row["rule"] == NO_RULE, row["rule"]))


def per_rep(counts: list[dict]) -> list[dict]:
    """Per rep: leads given to them in the period, of which by reassignment (they had another owner). ``counts``:
    ``decision_counts``; a lead given to the same rep twice in the period counts once."""
    totals = _total([row for row in counts if row["owner_id"] is not None], "owner_id", decisions="n",
                    leads="first_to_owner", reassigned_in="had_owner")
    people = {user.pk: user for user in get_user_model().objects.filter(pk__in=list(totals))
              .select_related("rep__team")}
    result = []
    for owner_id, entry in totals.items():
        user = people.get(owner_id)
        rep = getattr(user, "rep", None) if user is not None else None
        result.append({"decisions": entry["decisions"], "leads": entry["leads"],
                       "reassigned_in": entry["reassigned_in"], "rep": user.username if user else "",
                       "team": rep.team.name if rep and rep.team_id else "—"})
    return sorted(result, key=lambda row: (-row["decisions"], row["rep"]))


def queue_ages(leads, now=None) -> list[dict]:
    """Per queue (holding, review): leads waiting now, the oldest, the median and 90th percentile age in hours and
    how many in each age bucket; ages count from the lead's creation."""
    now = now or timezone.now()
    waiting = leads.filter(queue__in=[Queue.HOLDING, Queue.REVIEW])
    buckets, lower = {}, None
    for index, (_, upper) in enumerate(QUEUE_AGES):
        condition = Q()
        if lower is not None:
            condition &= Q(created_at__lte=now - lower)
        if upper is not None:
            condition &= Q(created_at__gt=now - upper)
        buckets[f"b{index}"] = Count("id", filter=condition)
        lower = upper
    counts = {row["queue"]: row for row in waiting.order_by().values("queue").annotate(
        waiting=Count("id"), oldest=Min("created_at"), **buckets)}
    age = ExpressionWrapper(Value(now, output_field=DateTimeField()) - F("created_at"), output_field=DurationField())
    ranked = grouped_percentiles(waiting.order_by().values(g=F("queue"), v=age))
    rows = []
    for queue in (Queue.HOLDING, Queue.REVIEW):
        row = counts.get(queue, {})
        rows.append({
            "queue": Queue(queue).label, "waiting": row.get("waiting", 0),
            "oldest_h": as_hours(now - row["oldest"]) if row.get("oldest") else None,
            "median_h": as_hours(ranked.get(queue, {}).get("p50")),
            "p90_h": as_hours(ranked.get(queue, {}).get("p90")),
            **{label: row.get(f"b{index}", 0) for index, (label, _) in enumerate(QUEUE_AGES)},
        })
    return rows


def queue_reasons(leads, limit: int = 10) -> list[dict]:
    """Why leads wait now: the most frequent queue reasons of the holding and review queues."""
    rows = leads.filter(queue__in=[Queue.HOLDING, Queue.REVIEW]).order_by().values("queue", "queue_reason")\
        .annotate(leads=Count("id")).order_by("-leads", "queue_reason")[:limit]
    return [{"queue": Queue(row["queue"]).label, "reason": row["queue_reason"] or "—", "leads": row["leads"]}
            for row in rows]


def reroutes(counts: list[dict]) -> list[dict]:
    """Re-routes (out of a queue) and reassignments (from one owner to another) of the period, per cause: why.
    ``counts``: ``decision_counts``."""
    totals = _total([row for row in counts if row["moved"]], "cause", decisions="moved", reassignments="reassigned",
                    kept="kept", from_queue="from_queue", manual="moved_by_person")
    rows = [{"cause": cause, **entry} for cause, entry in totals.items()]
    return sorted(rows, key=lambda row: (-row["decisions"], row["cause"]))


def fairness(counts: list[dict]) -> list[dict]:
    """Round-robin fairness per pool (a team and a round-robin or weighted strategy): each rep's share of the
    pool's assignments in the period against the expected share — equal among the team's active reps for round
    robin, by weight for weighted. Availability (out of office, caps) moves the real shares; a large gap is a
    question to ask, not proof of a fault. ``counts``: ``decision_counts``."""
    per_pool: Counter[tuple] = Counter()
    for row in counts:  # by id: the names are read after
        if row["rep_id"] is not None and row["strategy"] in FAIR_STRATEGIES:
            per_pool[row["strategy"], row["rep_id"]] += row["n"]
    counted = [{"strategy": strategy, "rep_id": rep_id, "n": n} for (strategy, rep_id), n in per_pool.items()]
    reps = Rep.objects.select_related("team", "user").in_bulk([row["rep_id"] for row in counted])
    pools: dict[tuple, list] = {}
    for row in counted:
        rep = reps.get(row["rep_id"])
        if rep is None:
            continue
        member = {"strategy": row["strategy"], "rep_pk": rep.pk, "username": rep.user.username, "n": row["n"]}
        pools.setdefault((rep.team_id, rep.team.name, row["strategy"]), []).append(member)
    if not pools:
        return []
    team_ids = {key[0] for key in pools}
    weights = {row["team_id"]: row for row in Rep.objects.filter(team_id__in=team_ids, is_active=True)
               .values("team_id").annotate(reps=Count("id"), weight=Sum("weight")).order_by()}
    rep_weights = dict(Rep.objects.filter(team_id__in=team_ids).values_list("pk", "weight"))
    active = set(Rep.objects.filter(team_id__in=team_ids, is_active=True).values_list("pk", flat=True))
    rows = []
    for (team_id, team, strategy), members in sorted(pools.items(), key=lambda item: (item[0][1], item[0][2])):
        total = sum(member["n"] for member in members)
        pool = weights.get(team_id, {"reps": 0, "weight": 0})
        for member in sorted(members, key=lambda m: m["username"]):
            if strategy == Strategy.WEIGHTED:
                expected = pct(rep_weights.get(member["rep_pk"], 0), pool["weight"]) if member["rep_pk"] in active \
                    else None
            else:
                expected = pct(1, pool["reps"]) if member["rep_pk"] in active else None
            share = pct(member["n"], total)
            rows.append({"pool": f"{team} · {Strategy(strategy).label}", "rep": member["username"],
                         "assigned": member["n"], "pool_total": total, "share": share, "expected": expected,
                         "gap": round(share - expected, 1) if expected is not None else None})
    return rows
