"""Lead text in Slack, Teams and e-mail messages is escaped by one function per format: a lead cannot ping a
channel or post a link in the bot's name."""

import pytest

from leads.models import Lead
from leads.services import lead_ingest
from revops.base.channels.slack import TaskCard
from revops.base.channels.teams import teams_card
from revops.base.escaping import email_html_escape, slack_escape, teams_escape
from revops.base.models import Notification

PING = "<!channel>"
PHISH = "<https://evil.example|Reset your password>"


def test_slack_escape_disarms_mentions_and_links():
    assert slack_escape(PING) == "&lt;!channel&gt;"
    assert slack_escape(PHISH) == "&lt;https://evil.example|Reset your password&gt;"
    assert slack_escape("R&D <b>") == "R&amp;D &lt;b&gt;"


def test_teams_escape_disarms_html_and_markdown_links():
    assert "<" not in teams_escape(PHISH) and "&lt;" in teams_escape(PHISH)
    assert teams_escape("[Reset](https://evil.example)") == r"\[Reset\]\(https://evil.example\)"


def test_email_html_escape_disarms_markup():
    assert email_html_escape('<a href="https://evil.example">x</a>') == (
        "&lt;a href=&quot;https://evil.example&quot;&gt;x&lt;/a&gt;")


@pytest.mark.django_db(transaction=True)
def test_a_lead_named_channel_with_a_phishing_company_reaches_slack_escaped(configured, inline_jobs):
    result = lead_ingest(data={"email": "hostile@acme.example", "first_name": PING, "company": PHISH,
                               "country": "US"})
    assert result.lead is not None
    texts = list(Notification.objects.values_list("text", flat=True))
    assert texts, "the routed lead's task message is in the outbox"
    text = texts[0]
    assert "<!channel>" not in text and "&lt;!channel&gt;" in text
    assert "<https://evil.example" not in text and "&lt;https://evil.example|Reset your password&gt;" in text
    assert Lead.objects.filter(first_name=PING).exists()  # stored as typed; escaped only in the message


def test_the_teams_card_shows_a_phishing_link_as_text():
    card = teams_card(TaskCard(task_id=1, headline="[Reset your password](https://evil.example)", who="<b>Jo</b> & Co",
                               score="55", reasons=["*bold*"]))
    texts = [block["text"] for block in card["attachments"][0]["content"]["body"] if block.get("text")]
    assert texts[0] == r"\[Reset your password\]\(https://evil.example\)"
    assert texts[1] == "<b>Jo</b> & Co"  # an Adaptive Card renders no HTML: shown as typed, no entities
    assert texts[2] == r"Why: \*bold\*"
