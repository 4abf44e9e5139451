"""Where a rep's task message goes: their channel preference (``Rep.notify_via``: Slack DM, the team's Slack
channel, e-mail, Teams, or several), one outbox row per channel with the same facts (``slack_cards.task_card``).
Every message about a task goes this way — a new follow-up, a trigger's task, a task moved with its lead, and an
overdue task's escalation (to the manager's own channels) — through ``card_deliver``.

A channel works when it has an address: the rep's Slack id, the team's Slack channel, the team's Teams webhook,
the user's e-mail. A rep with no working channel gets e-mail; with no e-mail address either, the message goes to
the default Slack channel (``SLACK_DEFAULT_CHANNEL``): never to nobody.
"""

from __future__ import annotations

import dataclasses

from django.template.loader import render_to_string

from leads.models import Lead
from revops.base.channels.slack import TaskCard, task_blocks
from revops.base.channels.teams import teams_card
from revops.base.choices import Channel
from revops.base.notifications import notifications_queue_many

from ..choices import NotifyChannel
from ..models import Rep, Task, split_csv
from .slack_cards import task_card


def rep_destinations(rep: Rep | None, *, fallback: list[tuple[str, str]] | None = None) -> list[tuple[str, str]]:
    """(channel, recipient) for each working channel the rep chose, else ``fallback`` when given, else the rep's
    e-mail, else Slack (their id, their team's channel, the default channel)."""
    if rep is None:
        return [(Channel.SLACK, "")]  # the default channel (notification_queue fills it in)
    wanted = split_csv(rep.notify_via) or [NotifyChannel.SLACK_DM]
    found: list[tuple[str, str]] = []
    if NotifyChannel.SLACK_DM in wanted and rep.slack_user_id:
        found.append((Channel.SLACK, rep.slack_user_id))
    if NotifyChannel.TEAM_CHANNEL in wanted and rep.team.slack_channel:
        found.append((Channel.SLACK, rep.team.slack_channel))
    if NotifyChannel.TEAMS in wanted and rep.team.teams_webhook_url:
        found.append((Channel.TEAMS, rep.team.teams_webhook_url))
    if NotifyChannel.EMAIL in wanted and rep.user.email:
        found.append((Channel.EMAIL, rep.user.email))
    if found:
        return found
    if fallback is not None:
        return fallback
    if rep.user.email:
        return [(Channel.EMAIL, rep.user.email)]
    # The message the rep always got before preferences: their Slack id, else the team's channel, else the default.
    return [(Channel.SLACK, rep.slack_user_id or rep.team.slack_channel)]


def email_parts(card: TaskCard) -> tuple[str, str]:
    """The text and HTML e-mail of a task message (the same facts and link)."""
    return (render_to_string("email/task_new.txt", {"card": card}),
            render_to_string("email/task_new.html", {"card": card}))


def task_deliver(task: Task, lead: Lead, rep: Rep | None, *, text: str, send: bool = True,
                 headline: str = "") -> int | None:
    """Queue the task message on each of the rep's channels. Returns the first channel's new outbox row id (the
    caller may send it with a batch: ``send=False``); the other channels' rows are sent by their own jobs.
    ``headline`` replaces the card's "New lead for you" (a re-engaged lead is not new)."""
    return _first_created(notifications_queue_many(task_messages(task, lead, rep, text=text, send=send,
                                                                 headline=headline)))


def task_messages(task: Task, lead: Lead, rep: Rep | None, *, text: str, send: bool = True,
                  headline: str = "", rule: str | None = None) -> list[dict]:
    """The outbox messages :func:`task_deliver` queues (a batch queues many tasks' at once:
    ``notifications_queue_many``, with their rules' labels read together: ``rule``)."""
    card = task_card(task, lead, rep, rule=rule)
    if headline:
        card = dataclasses.replace(card, headline=headline)
    return card_messages(card, rep_destinations(rep), key=f"task:{task.pk}:assigned", text=text, object_id=task.pk,
                         send=send)


def card_deliver(card: TaskCard, destinations: list[tuple[str, str]], *, key: str, text: str,
                 object_id: int | None, send: bool = True, buttons: bool = True) -> int | None:
    """Queue one message about a task on each destination (:func:`card_messages`). Returns the first row's id when
    it was created now (``send=False`` leaves it to the caller's batch; the others are always sent)."""
    return _first_created(notifications_queue_many(card_messages(card, destinations, key=key, text=text,
                                                                 object_id=object_id, send=send, buttons=buttons)))


def _first_created(queued: list[tuple[int, bool]]) -> int | None:
    return queued[0][0] if queued and queued[0][1] else None


def card_messages(card: TaskCard, destinations: list[tuple[str, str]], *, key: str, text: str,
                  object_id: int | None, send: bool = True, buttons: bool = True) -> list[dict]:
    """One outbox message about a task for each destination, in each channel's form: Slack text with Block Kit
    (the Accept / Snooze / Reject buttons when ``buttons``), a Teams card, an e-mail (text and HTML) — the same
    facts. The first destination's message has ``key`` (the dedup key), the others ``key:channel:n``; only the
    first follows ``send`` (the others are always sent)."""
    messages = []
    for n, (channel, recipient) in enumerate(destinations):
        extra: dict = {}
        body = text
        if channel == Channel.SLACK:
            extra = {"blocks": task_blocks(card, buttons=buttons)}
        elif channel == Channel.TEAMS:
            extra = {"blocks": teams_card(card), "subject": card.headline}
        else:
            body, html = email_parts(card)
            extra = {"subject": card.headline, "html": html}
        messages.append(dict(dedup_key=key if n == 0 else f"{key}:{channel}:{n}", recipient=recipient, text=body,
                             object_type="task", object_id=object_id, send=send or n > 0, channel=channel, **extra))
    return messages
