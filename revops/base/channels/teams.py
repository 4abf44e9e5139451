"""Microsoft Teams through a team's incoming-webhook URL: an Adaptive Card with the same facts and a link, posted as
plain JSON. urllib3's ``Retry`` honours a 429's ``Retry-After`` and retries 5xx answers and connection errors; what
is still failing after that goes back to the outbox."""

from __future__ import annotations

import requests
from django.conf import settings
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

from ..escaping import adaptive_card_escape
from .slack import TaskCard


class TeamsTransient(Exception):
    """Teams could not be reached or kept answering 429 / 5xx."""


class TeamsRefused(Exception):
    """Teams refused the card for good (a 4xx: a removed webhook, a malformed card)."""


def _session() -> requests.Session:
    retries = int(getattr(settings, "TEAMS_MAX_RETRIES", 3))
    retry = Retry(total=retries, connect=retries, read=retries, status=retries, backoff_factor=0.5,
                  status_forcelist=(429, 500, 502, 503, 504), allowed_methods=None, respect_retry_after_header=True,
                  raise_on_status=False)
    session = requests.Session()
    session.mount("http://", HTTPAdapter(max_retries=retry))
    session.mount("https://", HTTPAdapter(max_retries=retry))
    return session


def teams_post(*, url: str, card: dict) -> None:
    """Post one message (``card`` is the webhook's JSON body) to a Teams incoming webhook."""
    try:
        response = _session().post(url, json=card, timeout=float(getattr(settings, "TEAMS_TIMEOUT", 10)))
    except requests.RequestException as exc:
        raise TeamsTransient(f"Teams unreachable: {exc}") from exc
    if response.status_code == 429 or response.status_code >= 500:
        raise TeamsTransient(f"Teams answered {response.status_code}")
    if response.status_code >= 400:
        raise TeamsRefused(f"Teams answered {response.status_code}: {response.text[:300]}")


def teams_card(card: TaskCard) -> dict:
    """The webhook body: one Adaptive Card with the task message's facts and a button to the lead page."""
    facts = [{"title": "Score", "value": card.score}, {"title": "Follow up by", "value": card.due}]
    if card.priority:
        facts.append({"title": "Priority", "value": card.priority})
    if card.rule:
        facts.append({"title": "Routed by", "value": card.rule})
    body: list[dict] = [
        {"type": "TextBlock", "text": adaptive_card_escape(card.headline), "weight": "Bolder", "size": "Medium",
         "wrap": True},
        {"type": "TextBlock", "text": adaptive_card_escape(card.who), "wrap": True},
        {"type": "FactSet", "facts": facts},
    ]
    if card.reasons:
        why = "; ".join(adaptive_card_escape(reason) for reason in card.reasons)
        body.append({"type": "TextBlock", "text": "Why: " + why, "wrap": True})
    content = {"$schema": "http://adaptivecards.io/schemas/adaptive-card.json", "type": "AdaptiveCard",
               "version": "1.4", "body": body,
               "actions": [{"type": "Action.OpenUrl", "title": "Open the lead", "url": card.link}] if card.link else []}
    return {"type": "message",
            "attachments": [{"contentType": "application/vnd.microsoft.card.adaptive", "content": content}]}
