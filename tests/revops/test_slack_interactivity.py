"""Slack's buttons over real HTTP: a signed Accept / Snooze / Reject acts as the rep through the task services and
updates the message (by a job after the answer: ``work()`` runs it); unsigned, wrongly signed, stale, replayed or
another rep's requests change nothing."""

import time
from datetime import timedelta

import pytest
import requests
from django.utils import timezone
from slack_sdk.signature import SignatureVerifier

from leads.choices import Stage
from revops.base.models import SlackInteraction
from routing.models import Task
from tests.queues import work
from tests.routing.factories import make_lead
from tests.slack_standin import slack_signed_post

pytestmark = pytest.mark.django_db(transaction=True)
SECRET = "signing-secret"


@pytest.fixture
def endpoint(live_server, settings, slack):
    settings.SLACK_SIGNING_SECRET = SECRET
    return f"{live_server.url}/slack/interactivity/"


@pytest.fixture
def rita_task(reps):
    rita = reps[0]
    rita.time_zone = "Europe/Berlin"
    rita.save()
    lead = make_lead(owner=rita.user, stage=Stage.MQL, first_name="Ann", company="Acme")
    return Task.objects.create(lead=lead, assignee=rita.user, title="Follow up Ann", dedup_key=f"fu:{lead.pk}",
                               due_at=timezone.now() + timedelta(hours=2))


def button(task, action_id, user="U0RITA"):
    return {"type": "block_actions", "user": {"id": user}, "trigger_id": "trig-1",
            "channel": {"id": "D0RITA"}, "container": {"channel_id": "D0RITA", "message_ts": "111.222"},
            "message": {"ts": "111.222", "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": "Ann"}},
                                                   {"type": "actions", "elements": []}]},
            "actions": [{"action_id": action_id, "value": str(task.pk), "action_ts": "1764800000.1"}]}


def test_a_signed_accept_accepts_the_task_as_the_rep_and_updates_the_message(endpoint, rita_task, reps, slack):
    answer = slack_signed_post(endpoint, button(rita_task, "task_accept"), secret=SECRET)
    assert answer.status_code == 200
    rita_task.refresh_from_db()
    assert rita_task.accepted_at is not None
    record = rita_task.history.first()
    assert record.history_user == reps[0].user and record.history_change_reason == "accepted"
    assert slack.calls_of("chat.update") == []  # not in the request: Slack waits 3 s at most for its answer
    work()
    [update] = slack.calls_of("chat.update")
    assert update["channel"] == "D0RITA" and update["ts"] == "111.222"
    assert update["text"] == "Accepted by Rita."
    assert all(block["type"] != "actions" for block in update["blocks"])  # the buttons are gone


def test_a_signed_snooze_moves_the_due_time_an_hour_like_the_workspace(endpoint, rita_task, slack):
    before = timezone.now()
    assert slack_signed_post(endpoint, button(rita_task, "task_snooze"), secret=SECRET).status_code == 200
    rita_task.refresh_from_db()
    assert rita_task.snooze_count == 1
    assert before + timedelta(minutes=59) < rita_task.due_at < timezone.now() + timedelta(minutes=61)
    work()
    [update] = slack.calls_of("chat.update")
    assert update["text"].startswith("Snoozed by Rita until ")
    assert "CET" in update["text"] or "CEST" in update["text"]  # the due time in Rita's zone (Berlin)


def test_reject_opens_a_modal_and_its_submission_rejects_with_the_reason(endpoint, rita_task, slack):
    assert slack_signed_post(endpoint, button(rita_task, "task_reject"), secret=SECRET).status_code == 200
    rita_task.refresh_from_db()
    assert rita_task.reassign_requested_at is None  # nothing yet: the modal asks why
    [opened] = slack.calls_of("views.open")
    assert opened["trigger_id"] == "trig-1"
    view = opened["view"]
    submission = {"type": "view_submission", "user": {"id": "U0RITA"},
                  "view": {"callback_id": view["callback_id"], "private_metadata": view["private_metadata"],
                           "state": {"values": {"reason": {"reason": {"value": "Not my territory"}}}}}}
    assert slack_signed_post(endpoint, submission, secret=SECRET).status_code == 200
    rita_task.refresh_from_db()
    assert rita_task.reassign_reason == "Not my territory" and rita_task.reassign_requested_at is not None
    assert rita_task.history.first().history_change_reason == "rejected: Not my territory"
    work()
    [update] = slack.calls_of("chat.update")
    assert update["ts"] == "111.222" and update["text"] == "Rejected by Rita: Not my territory"


def test_a_reject_without_a_reason_is_answered_in_the_modal(endpoint, rita_task):
    submission = {"type": "view_submission", "user": {"id": "U0RITA"},
                  "view": {"callback_id": "task_reject_reason", "private_metadata": f"{rita_task.pk}|D0RITA|1.2",
                           "state": {"values": {"reason": {"reason": {"value": "  "}}}}}}
    answer = slack_signed_post(endpoint, submission, secret=SECRET)
    assert answer.json()["errors"] == {"reason": "Say why you reject the task."}
    rita_task.refresh_from_db()
    assert rita_task.reassign_requested_at is None


def test_a_reject_reason_with_a_lone_surrogate_is_refused_at_the_boundary(endpoint, rita_task):
    submission = {"type": "view_submission", "user": {"id": "U0RITA"},
                  "view": {"callback_id": "task_reject_reason", "private_metadata": f"{rita_task.pk}|D0RITA|1.2",
                           "state": {"values": {"reason": {"reason": {"value": "wrong \udfff person"}}}}}}
    answer = slack_signed_post(endpoint, submission, secret=SECRET)
    assert "reason" in answer.json()["errors"]
    rita_task.refresh_from_db()
    assert rita_task.status == "open" and rita_task.reassign_requested_at is None


@pytest.mark.parametrize("tamper", ["unsigned", "wrong", "stale"])
def test_a_bad_signature_is_refused_and_changes_nothing(endpoint, rita_task, slack, tamper):
    kwargs = {"unsigned": {"signature": ""}, "wrong": {"signature": "v0=" + "0" * 64},
              "stale": {"timestamp": int(time.time()) - 6 * 60}}[tamper]
    answer = slack_signed_post(endpoint, button(rita_task, "task_accept"), secret=SECRET, **kwargs)
    assert answer.status_code == 401
    rita_task.refresh_from_db()
    assert rita_task.accepted_at is None and slack.calls == []


def test_without_a_signing_secret_every_request_is_refused(endpoint, rita_task, settings):
    settings.SLACK_SIGNING_SECRET = ""
    assert slack_signed_post(endpoint, button(rita_task, "task_accept"), secret="x").status_code == 401


def test_a_replayed_request_changes_nothing_the_second_time(endpoint, rita_task, slack):
    stamp = int(time.time())
    payload = button(rita_task, "task_snooze")
    assert slack_signed_post(endpoint, payload, secret=SECRET, timestamp=stamp).status_code == 200
    rita_task.refresh_from_db()
    due = rita_task.due_at
    assert slack_signed_post(endpoint, payload, secret=SECRET, timestamp=stamp).status_code == 200
    rita_task.refresh_from_db()
    assert rita_task.snooze_count == 1 and rita_task.due_at == due
    work()
    assert len(slack.calls_of("chat.update")) == 1


def test_the_same_click_signed_anew_later_is_still_a_replay(endpoint, rita_task, slack):
    payload = button(rita_task, "task_snooze")
    slack_signed_post(endpoint, payload, secret=SECRET, timestamp=int(time.time()) - 60)
    slack_signed_post(endpoint, payload, secret=SECRET)  # a new timestamp, a new signature, the same click
    work()
    rita_task.refresh_from_db()
    assert rita_task.snooze_count == 1 and len(slack.calls_of("chat.update")) == 1


def test_a_rep_cannot_act_on_another_reps_task_and_is_told_so_privately(endpoint, rita_task, slack):
    answer = slack_signed_post(endpoint, button(rita_task, "task_accept", user="U0RAVI"), secret=SECRET)
    assert answer.status_code == 200
    rita_task.refresh_from_db()
    assert rita_task.accepted_at is None
    work()
    [ephemeral] = slack.calls_of("chat.postEphemeral")
    assert ephemeral["user"] == "U0RAVI" and "another rep" in ephemeral["text"]
    assert slack.calls_of("chat.update") == []


def test_a_slack_user_who_is_no_rep_is_told_so_and_nothing_changes(endpoint, rita_task, slack):
    slack_signed_post(endpoint, button(rita_task, "task_accept", user="U0NOBODY"), secret=SECRET)
    work()
    rita_task.refresh_from_db()
    assert rita_task.accepted_at is None
    assert "not linked" in slack.calls_of("chat.postEphemeral")[0]["text"]


def test_a_payload_that_is_not_json_is_a_400(endpoint, settings):
    body, stamp = "payload=nope", str(int(time.time()))
    sig = SignatureVerifier(SECRET).generate_signature(timestamp=stamp, body=body)
    answer = requests.post(endpoint, data=body, timeout=10, headers={
        "Content-Type": "application/x-www-form-urlencoded", "X-Slack-Request-Timestamp": stamp,
        "X-Slack-Signature": sig})
    assert answer.status_code == 400 and "payload" in answer.text


def test_the_answer_is_posted_once_and_waits_for_slack_when_it_is_down(endpoint, rita_task, slack):
    """Slack down when the job runs: the click's change stands, the answer waits (retried), then goes out once."""
    from revops.top.slack_interactivity import slack_interaction_answer_job

    slack.fail_with, slack.fail_times = "service_unavailable", 1000
    assert slack_signed_post(endpoint, button(rita_task, "task_accept"), secret=SECRET).status_code == 200
    rita_task.refresh_from_db()
    assert rita_task.accepted_at is not None
    work()
    [interaction] = SlackInteraction.objects.all()
    assert interaction.answered_at is None and interaction.answer == "Accepted by Rita."
    slack.fail_times = 0
    slack_interaction_answer_job(interaction.pk)
    slack_interaction_answer_job(interaction.pk)  # a second run finds it answered
    assert len(slack.calls_of("chat.update")) == 1
    interaction.refresh_from_db()
    assert interaction.answered_at is not None
