"""Governance: preview what a rule set (with the draft rules, if asked) would do to recent leads, and make drafts
live."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from django.db import transaction

from leads.models import Lead

from ..models import RoutingRule
from ..rules import routing_rule_set
from ..selectors import leads_open
from .assignment import lead_route

PREVIEW_MAX_LEADS = 5000


@dataclass
class PreviewRow:
    """One lead of a preview: where it is now, where the rules would put it, and by which rule."""

    lead_id: int
    lead: str
    current: str
    proposed: str
    rule: str
    summary: str

    @property
    def changed(self) -> bool:
        return self.current != self.proposed


@dataclass
class RoutingPreview:
    """What routing the last N leads under a rule set would do, compared with where they are now."""

    include_drafts: bool
    drafts: list[str] = field(default_factory=list)
    rows: list[PreviewRow] = field(default_factory=list)

    @property
    def changed(self) -> list[PreviewRow]:
        return [row for row in self.rows if row.changed]

    def transitions(self) -> list[tuple[str, str, int]]:
        """(from, to, leads) for every change, most frequent first."""
        counter = Counter((row.current, row.proposed) for row in self.changed)
        return sorted(((a, b, n) for (a, b), n in counter.items()), key=lambda t: (-t[2], t[0], t[1]))

    def as_text(self) -> str:
        """The report printed by ``route_leads --dry-run``."""
        rule_set = "live rules" + (f" + drafts ({', '.join(self.drafts)})" if self.drafts else "")
        lines = [f"Preview of routing the last {len(self.rows)} leads under the {rule_set}; nothing was written.",
                 f"{len(self.changed)} of {len(self.rows)} leads would be assigned differently."]
        if self.changed:
            width_a = max(len("from"), *(len(a) for a, _, _ in self.transitions()))
            width_b = max(len("to"), *(len(b) for _, b, _ in self.transitions()))
            lines += ["", f"{'from':<{width_a}}  {'to':<{width_b}}  leads",
                      f"{'-' * width_a}  {'-' * width_b}  -----"]
            lines += [f"{a:<{width_a}}  {b:<{width_b}}  {n:>5}" for a, b, n in self.transitions()]
        return "\n".join(lines)


def _place(owner_label: str, queue: str) -> str:
    if owner_label:
        return owner_label
    return f"({queue} queue)" if queue else "(unrouted)"


def routing_preview(*, last: int = 200, include_drafts: bool = False) -> RoutingPreview:
    """Route the last N open leads again under the live rules (or with the drafts) and report the differences.

    The leads are routed oldest first, exactly as ``lead_route`` would (strategies, round-robin turns,
    capacity and caps advance from one lead to the next), inside one transaction that is rolled back: nothing is
    written, no task or message is created. An owner who would still be eligible in the chosen pool keeps the
    lead, so only changes the rules cause are reported, not round-robin turns. The preview holds the routing
    locks of the pools it touches for its duration (a few milliseconds per lead).
    """
    last = max(1, min(int(last), PREVIEW_MAX_LEADS))
    ids = sorted(leads_open().order_by("-created_at", "-id").values_list("pk", flat=True)[:last])
    preview = RoutingPreview(include_drafts=include_drafts)
    owners = dict(Lead.objects.filter(pk__in=ids).values_list("pk", "owner__username"))
    with transaction.atomic():
        for lead_id in ids:
            lead = Lead.objects.only("id", "first_name", "last_name", "email", "phone", "queue", "owner_id").get(
                pk=lead_id)
            current = _place(owners.get(lead_id) or "", lead.queue)
            try:
                outcome = lead_route(lead_id=lead_id, cause="preview", force=True, include_drafts=include_drafts,
                                     keep_current_owner=True)
            except Exception as exc:  # noqa: BLE001 - a preview reports a lead it cannot route
                preview.rows.append(PreviewRow(lead_id, str(lead), current, "(error)", "", str(exc)[:200]))
                continue
            decision = outcome.decision
            if decision is None:
                preview.rows.append(PreviewRow(lead_id, str(lead), current, current, "", "unchanged"))
                continue
            proposed = _place(decision.rep.user.get_username() if decision.rep else "", decision.queue)
            preview.rows.append(PreviewRow(lead_id, str(lead), current, proposed,
                                           decision.rule.name if decision.rule else "", decision.summary))
        preview.drafts = list(routing_rule_set(include_drafts=include_drafts).drafts)
        transaction.set_rollback(True)
    return preview


def routing_rules_activate(*, rule_ids: list[int], user=None) -> list[str]:
    """Make draft rules live: each becomes active and the live rule it replaces is deactivated (with history)."""
    activated = []
    with transaction.atomic():
        for draft in RoutingRule.objects.select_for_update().filter(pk__in=rule_ids, draft=True).order_by("pk"):
            if draft.replaces_id:
                old = RoutingRule.objects.select_for_update().get(pk=draft.replaces_id)
                if old.active:
                    old.active = False
                    old._history_user = user
                    old._change_reason = f"replaced by draft '{draft.name}'"
                    old.full_clean()
                    old.save()
            draft.draft, draft.active, draft.replaces = False, True, None
            draft._history_user = user
            draft._change_reason = "draft activated"
            draft.full_clean()
            draft.save()
            activated.append(draft.name)
    return activated
