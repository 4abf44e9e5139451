"""Slack: the WebClient with slack-sdk's retry handlers, and the Block Kit of a rep's task message.

Retries happen inside one send: a 429 waits for ``Retry-After`` (``RateLimitErrorRetryHandler``), a 500 / 503 and
a connection error or timeout are retried with a back-off. Only when those are spent does the send fail over to the
job's own retries (the outbox row goes back to pending).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from http.client import RemoteDisconnected
from urllib.error import URLError

from django.conf import settings
from slack_sdk import WebClient
from slack_sdk.http_retry.builtin_handlers import (
    ConnectionErrorRetryHandler,
    RateLimitErrorRetryHandler,
    ServerErrorRetryHandler,
)

from ..escaping import slack_escape
from .slack_http import KeptAliveWebClient

# Action ids of the task message's buttons and the reject modal's callback id (the interactivity view reads them).
ACTION_ACCEPT, ACTION_SNOOZE, ACTION_REJECT = "task_accept", "task_snooze", "task_reject"
REJECT_MODAL = "task_reject_reason"


def slack_retries() -> int:
    return int(getattr(settings, "SLACK_MAX_RETRIES", 3))


def slack_client() -> WebClient | None:
    """A WebClient for the configured workspace with retry handlers, or None when no bot token is configured."""
    if not settings.SLACK_BOT_TOKEN:
        return None
    base_url = settings.SLACK_API_URL if settings.SLACK_API_URL.endswith("/") else settings.SLACK_API_URL + "/"
    client = KeptAliveWebClient(token=settings.SLACK_BOT_TOKEN, base_url=base_url,
                                timeout=float(getattr(settings, "SLACK_TIMEOUT", 10)))
    retries = slack_retries()
    client.retry_handlers = [
        RateLimitErrorRetryHandler(max_retry_count=retries),
        ServerErrorRetryHandler(max_retry_count=retries),
        ConnectionErrorRetryHandler(max_retry_count=retries,
                                    error_types=[URLError, ConnectionResetError, RemoteDisconnected, TimeoutError]),
    ]
    return client


@dataclass(frozen=True)
class TaskCard:
    """The facts of a rep's task message (the same facts the e-mail and Teams cards would show)."""

    task_id: int
    headline: str
    who: str
    score: str
    reasons: list[str] = field(default_factory=list)
    rule: str = ""
    due: str = ""
    priority: str = ""
    link: str = ""


def task_blocks(card: TaskCard, *, buttons: bool = True) -> list[dict]:
    """Block Kit of a task message: who, score and band, why, the routing rule, the due time, a link and the
    Accept / Snooze 1 h / Reject buttons (value: the task id)."""
    facts = [f"*Score:* {slack_escape(card.score)}", f"*Follow up by:* {slack_escape(card.due)}"]
    if card.priority:
        facts.append(f"*Priority:* {slack_escape(card.priority)}")
    if card.rule:
        facts.append(f"*Routed by:* {slack_escape(card.rule)}")
    blocks: list[dict] = [
        {"type": "section", "text": {"type": "mrkdwn",
                                     "text": f"*{slack_escape(card.headline)}*\n{slack_escape(card.who)}"}},
        {"type": "section", "fields": [{"type": "mrkdwn", "text": fact} for fact in facts]},
    ]
    if card.reasons:
        blocks.append({"type": "section", "text": {
            "type": "mrkdwn", "text": "*Why:* " + "; ".join(slack_escape(r) for r in card.reasons)}})
    if card.link:
        blocks.append({"type": "context", "elements": [
            {"type": "mrkdwn", "text": f"<{slack_escape(card.link)}|Open the lead>"}]})
    if buttons:
        value = str(card.task_id)
        blocks.append({"type": "actions", "block_id": f"task:{card.task_id}", "elements": [
            {"type": "button", "action_id": ACTION_ACCEPT, "value": value, "style": "primary",
             "text": {"type": "plain_text", "text": "Accept"}},
            {"type": "button", "action_id": ACTION_SNOOZE, "value": value,
             "text": {"type": "plain_text", "text": "Snooze 1 h"}},
            {"type": "button", "action_id": ACTION_REJECT, "value": value, "style": "danger",
             "text": {"type": "plain_text", "text": "Reject"}},
        ]})
    return blocks


def blocks_with_outcome(blocks: list[dict], outcome: str) -> list[dict]:
    """The message after a button: the same facts, the buttons replaced by what happened."""
    kept = [block for block in blocks if block.get("type") != "actions"]
    return kept + [{"type": "context", "elements": [{"type": "mrkdwn", "text": slack_escape(outcome)}]}]


def reject_modal(*, task_id: int, channel: str, ts: str, title: str) -> dict:
    """The modal asking why a task is rejected; ``private_metadata`` carries the task and the message to update."""
    return {
        "type": "modal",
        "callback_id": REJECT_MODAL,
        "private_metadata": f"{task_id}|{channel}|{ts}",
        "title": {"type": "plain_text", "text": "Reject the task"},
        "submit": {"type": "plain_text", "text": "Reject"},
        "close": {"type": "plain_text", "text": "Cancel"},
        "blocks": [
            {"type": "section", "text": {"type": "mrkdwn", "text": slack_escape(title)[:2900]}},
            {"type": "input", "block_id": "reason", "label": {"type": "plain_text", "text": "Why?"},
             "element": {"type": "plain_text_input", "action_id": "reason", "multiline": True, "max_length": 300}},
        ],
    }


def list_blocks(headline: str, items: list[tuple[str, str]], footer: str = "", footer_link: str = "") -> list[dict]:
    """Block Kit of a list message (a bulk import's new leads): a headline, one line per item with its link, and a
    footer with a link (the rest of the queue)."""
    lines = [f"• <{slack_escape(link)}|{slack_escape(text)}>" if link else f"• {slack_escape(text)}"
             for text, link in items]
    blocks: list[dict] = [{"type": "section", "text": {"type": "mrkdwn", "text": f"*{slack_escape(headline)}*"}}]
    for start in range(0, len(lines), 10):  # a section's text stays well under Slack's 3,000 characters
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": "\n".join(lines[start:start + 10])}})
    if footer:
        text = f"<{slack_escape(footer_link)}|{slack_escape(footer)}>" if footer_link else slack_escape(footer)
        blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": text}]})
    return blocks
