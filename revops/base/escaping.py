"""Escaping of text that came from outside (a lead's name, company, title) before it goes into a message: one
function per format, so no text reaches Slack, Teams or an e-mail without passing one of them.

- ``slack_escape``: Slack mrkdwn gives ``<`` ``>`` ``&`` control meaning (``<!channel>`` pings everyone,
  ``<https://x|label>`` is a link with any label), so exactly those three become ``&lt;`` ``&gt;`` ``&amp;``, as
  Slack's "Escaping text" documentation asks; everything else stays as typed.
- ``teams_escape``: Teams message text is Markdown over HTML: HTML specials become entities and Markdown's link and
  emphasis characters are backslash-escaped, so ``[label](url)`` cannot become a link.
- ``adaptive_card_escape``: the Teams webhook's Adaptive Card renders a Markdown subset and no HTML: the Markdown
  characters only.
- ``email_html_escape``: an HTML e-mail body: Django's ``escape`` (``& < > " '``).
"""

from __future__ import annotations

import re

from django.utils.html import escape

_TEAMS_MARKDOWN_RE = re.compile(r"([\\`*_{}\[\]()#+!|~])")


def slack_escape(text: object) -> str:
    """``text`` safe inside Slack mrkdwn: ``&``, ``<`` and ``>`` as entities (``&`` first)."""
    return str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def teams_escape(text: object) -> str:
    """``text`` safe inside a Teams message: HTML specials as entities, Markdown link/emphasis marks escaped."""
    return _TEAMS_MARKDOWN_RE.sub(r"\\\1", escape(str(text)))


def adaptive_card_escape(text: object) -> str:
    """``text`` safe inside an Adaptive Card ``TextBlock`` (the Teams webhook card): a card renders a Markdown subset
    and never HTML, so only Markdown's link and emphasis characters are escaped (an entity would show as typed)."""
    return _TEAMS_MARKDOWN_RE.sub(r"\\\1", str(text))


def email_html_escape(text: object) -> str:
    """``text`` safe inside an HTML e-mail body."""
    return str(escape(str(text)))
