"""Escaping of text that came from outside (a lead's name, company, title) before it goes into a message: one
function per format, so no text reaches Slack, Teams or an e-mail without passing one of them.

- ``slack_escape``: Slack mrkdwn gives ``<`` ``>`` ``&`` control meaning (``<!channel>`` pings everyone,
  ``<https://x|label>`` is a link with any label), so exactly those three become ``&lt;`` ``&gt;`` ``&amp;``, as
  Slack's "Escaping text" documentation asks; everything else stays as typed.
- ``teams_escape``: Teams message text is Markdown over HTML: HTML specials become entities and Markdown's link and
  emphasis characters are backslash-escaped, so ``[label](url)`` cannot become a link.
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


def email_html_escape(text: object) -> str:
    """``text`` safe inside an HTML e-mail body."""
    return str(escape(str(text)))
