"""Slack's interactivity endpoint: the Accept / Snooze 1 h / Reject buttons of a task message and the reject modal.

``POST /slack/interactivity/`` with Slack's form-encoded ``payload``. The signature is the authentication (no CSRF
token, no session): slack-sdk's ``SignatureVerifier`` checks ``X-Slack-Signature`` over the timestamp and body with
``SLACK_SIGNING_SECRET`` and refuses a timestamp older than five minutes → 401, nothing changes.

Steps of a signed request: record its key (``SlackInteraction``: the click's trigger id and time, or the modal's
view id; a replay, even signed anew, finds it and changes nothing); map the Slack user to the rep
(``Rep.slack_user_id``); act as that rep through the same task services as the workspace
(``routing.services.task_actions``: a rep cannot act on another rep's task → an ephemeral refusal); after commit,
update the original message (``chat.update``) to show the outcome. Reject opens a modal (``views.open``) whose
submission carries the reason to ``task_reject``.

Slack waits three seconds for the answer to a click. Only ``views.open`` is called in the request (its trigger id
expires with it); the message update and the private refusals are recorded on the interaction, in the transaction of
the change, and posted by a hot-queue job after the answer (``slack_interaction_answer_job``: kill switch
"Notifications", retried while Slack is unreachable, done once).
"""

from __future__ import annotations

import hashlib
import json
import logging

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST
from slack_sdk.errors import SlackClientError
from slack_sdk.signature import SignatureVerifier

from revops.base.boundary import BoundaryError, text_clean
from revops.base.channels.slack import (
    ACTION_ACCEPT,
    ACTION_REJECT,
    ACTION_SNOOZE,
    REJECT_MODAL,
    blocks_with_outcome,
    reject_modal,
    slack_client,
)
from revops.base.choices import Workflow
from revops.base.jobs import TransientError, enqueue_after_commit, pipeline_job
from revops.base.models import Notification, SlackInteraction
from revops.base.notifications import slack_failure
from routing.models import Rep, Task
from routing.services.slack_cards import due_for_rep
from routing.services.task_actions import (
    TaskActionRefused,
    task_accept,
    task_actor_may_act,
    task_reject,
    task_snooze,
)

logger = logging.getLogger(__name__)
NOT_LINKED = "Your Slack account is not linked to a Leadflow rep; ask your RevOps admin to add your Slack user id."


def _signed(request: HttpRequest) -> bool:
    secret = settings.SLACK_SIGNING_SECRET
    if not secret:
        return False
    headers = {"x-slack-signature": request.headers.get("X-Slack-Signature", ""),
               "x-slack-request-timestamp": request.headers.get("X-Slack-Request-Timestamp", "")}
    return SignatureVerifier(secret).is_valid_request(request.body, headers)


@csrf_exempt
@require_POST
def slack_interactivity(request: HttpRequest) -> HttpResponse:
    if not _signed(request):
        return HttpResponse("invalid or stale Slack signature", status=401, content_type="text/plain")
    try:
        payload = json.loads(request.POST.get("payload", ""))
    except ValueError:
        return HttpResponse("payload: not JSON", status=400, content_type="text/plain")
    if not isinstance(payload, dict):
        return HttpResponse("payload: not an object", status=400, content_type="text/plain")
    key = _replay_key(payload, request.headers["X-Slack-Signature"])
    kind = payload.get("type")
    if kind == "block_actions":
        return _block_action(payload, key)
    if kind == "view_submission" and payload.get("view", {}).get("callback_id") == REJECT_MODAL:
        return _reject_submitted(payload, key)
    return HttpResponse(status=200)


def _replay_key(payload: dict, signature: str) -> str:
    """One key per click: Slack's trigger id and action time (the same click re-sent, even signed anew, has the
    same); else one per submitted modal (its view id and hash); else the signature."""
    actions = payload.get("actions") or [{}]
    view = payload.get("view") or {}
    if payload.get("trigger_id") and payload.get("type") == "block_actions":
        source = f"click:{payload['trigger_id']}:{actions[0].get('action_ts', '')}"
    elif view.get("id"):
        source = f"view:{view['id']}:{view.get('hash', '')}"
    else:
        source = f"signature:{signature}"
    return hashlib.sha256(source.encode()).hexdigest()


def _seen(key: str, *, action: str, slack_user_id: str) -> SlackInteraction | None:
    """Record the request inside the caller's transaction; None when it was handled before (a replay)."""
    try:
        with transaction.atomic():
            return SlackInteraction.objects.create(key=key, action=action, slack_user_id=slack_user_id)
    except IntegrityError:
        return None


def _block_action(payload: dict, key: str) -> HttpResponse:
    actions = payload.get("actions") or [{}]
    action_id, value = actions[0].get("action_id", ""), actions[0].get("value", "")
    if action_id not in (ACTION_ACCEPT, ACTION_SNOOZE, ACTION_REJECT):
        return HttpResponse(status=200)
    if not str(value).isdigit():
        return HttpResponse("value: a task id", status=400, content_type="text/plain")
    task_id = int(value)
    user_id = payload.get("user", {}).get("id", "")
    channel = payload.get("channel", {}).get("id") or payload.get("container", {}).get("channel_id", "")
    ts = payload.get("message", {}).get("ts") or payload.get("container", {}).get("message_ts", "")
    rep = Rep.objects.select_related("user").filter(slack_user_id=user_id).first() if user_id else None
    outcome = ""
    with transaction.atomic():
        interaction = _seen(key, action=action_id, slack_user_id=user_id)
        if interaction is None:
            return HttpResponse(status=200)
        if rep is None:
            refusal = NOT_LINKED
        else:
            refusal, outcome = _act(action_id, task_id, rep)
        interaction.outcome = (refusal or outcome or "reject modal opened")[:200]
        interaction.save(update_fields=["outcome"])
        blocks = payload.get("message", {}).get("blocks")
        _answer_later(interaction, channel=channel, ts="" if refusal else ts, text=refusal or outcome,
                      private=bool(refusal), blocks=blocks if isinstance(blocks, list) else [])
    if not refusal and action_id == ACTION_REJECT:
        client = slack_client()
        if client is not None:  # the modal must open within the request: its trigger id expires with it
            title = Task.objects.filter(pk=task_id).values_list("title", flat=True).first() or ""
            try:
                client.views_open(trigger_id=payload.get("trigger_id", ""),
                                  view=reject_modal(task_id=task_id, channel=channel, ts=ts, title=title))
            except SlackClientError as exc:
                logger.warning("Slack interactivity: the reject modal could not be opened: %s", exc)
    return HttpResponse(status=200)


def _answer_later(interaction: SlackInteraction, *, channel: str, ts: str, text: str, private: bool,
                  blocks: list) -> None:
    """Record what to show in Slack and schedule the job that shows it (in the caller's transaction): a private
    refusal to the user in the channel, or the clicked message's update; nothing without a place to show it."""
    if not text or not channel or not (private or ts):
        return
    interaction.channel, interaction.message_ts, interaction.answer = channel[:50], ts[:40], text[:600]
    interaction.private, interaction.message_blocks = private, blocks
    interaction.save(update_fields=["channel", "message_ts", "answer", "private", "message_blocks"])
    enqueue_after_commit(slack_interaction_answer_job, interaction.pk, queue="hot")


@pipeline_job(workflow=Workflow.NOTIFICATIONS, object_type="slack interaction")
def slack_interaction_answer_job(interaction_id: int) -> str:
    """Show a click's answer in Slack once: the private refusal, or the message with its buttons replaced by the
    outcome. Slack unreachable or busy: retried."""
    interaction = SlackInteraction.objects.filter(pk=interaction_id, answered_at__isnull=True).first()
    if interaction is None or not interaction.answer:
        return "noop"
    client = slack_client()
    if client is None:
        return "not_configured"
    try:
        if interaction.private:
            client.chat_postEphemeral(channel=interaction.channel, user=interaction.slack_user_id,
                                      text=interaction.answer)
        else:
            _message_update(client, interaction.channel, interaction.message_ts, interaction.answer,
                            interaction.message_blocks)
    except (SlackClientError, OSError) as exc:
        transient, message = slack_failure(exc)
        if transient:
            raise TransientError(message) from exc
        raise
    SlackInteraction.objects.filter(pk=interaction_id).update(answered_at=timezone.now())
    return "answered"


def _act(action_id: str, task_id: int, rep: Rep) -> tuple[str, str]:
    """Act as the rep; returns (refusal, outcome), one of them empty."""
    actor, name = rep.user, str(rep)
    try:
        if action_id == ACTION_ACCEPT:
            task_accept(task_id=task_id, actor=actor)
            return "", f"Accepted by {name}."
        if action_id == ACTION_SNOOZE:
            task = task_snooze(task_id=task_id, actor=actor, preset="1h")
            return "", f"Snoozed by {name} until {due_for_rep(task, rep)}."
        task = Task.objects.filter(pk=task_id).first()
        if task is None:
            return f"Task #{task_id} does not exist any more.", ""
        if not task_actor_may_act(task, actor):
            raise TaskActionRefused("this task belongs to another rep")
        return "", ""
    except TaskActionRefused:
        return "This task belongs to another rep: nothing was changed.", ""
    except Task.DoesNotExist:
        return f"Task #{task_id} does not exist any more.", ""
    except ValidationError as exc:
        return "Nothing was changed: " + "; ".join(exc.messages), ""


def _reject_submitted(payload: dict, key: str) -> HttpResponse:
    view = payload.get("view", {})
    task_part, _, rest = str(view.get("private_metadata", "")).partition("|")
    channel, _, ts = rest.partition("|")
    reason = (((view.get("state") or {}).get("values") or {}).get("reason") or {}).get("reason", {}).get("value")
    try:  # Slack's text passes the same input boundary as every other input (revops.base.boundary)
        reason = text_clean(str(reason or ""), field="reason", max_length=500).strip()
    except BoundaryError as exc:
        return JsonResponse({"response_action": "errors", "errors": {"reason": exc.reason}})
    if not task_part.isdigit():
        return HttpResponse("private_metadata: a task id", status=400, content_type="text/plain")
    if not reason:
        return JsonResponse({"response_action": "errors", "errors": {"reason": "Say why you reject the task."}})
    user_id = payload.get("user", {}).get("id", "")
    rep = Rep.objects.select_related("user").filter(slack_user_id=user_id).first() if user_id else None
    if rep is None:
        return JsonResponse({"response_action": "errors", "errors": {"reason": NOT_LINKED}})
    with transaction.atomic():
        interaction = _seen(key, action="task_reject_reason", slack_user_id=user_id)
        if interaction is None:
            return HttpResponse(status=200)
        try:
            task_reject(task_id=int(task_part), actor=rep.user, reason=reason)
        except TaskActionRefused:
            transaction.set_rollback(True)
            return JsonResponse({"response_action": "errors",
                                 "errors": {"reason": "This task belongs to another rep: nothing was changed."}})
        except (ValidationError, Task.DoesNotExist) as exc:
            transaction.set_rollback(True)
            message = "; ".join(exc.messages) if isinstance(exc, ValidationError) else "the task does not exist"
            return JsonResponse({"response_action": "errors", "errors": {"reason": message}})
        outcome = f"Rejected by {rep}: {reason}"
        interaction.outcome = outcome[:200]
        interaction.save(update_fields=["outcome"])
        _answer_later(interaction, channel=channel, ts=ts, text=outcome, private=False, blocks=[])
    return HttpResponse(status=200)


def _message_update(client, channel: str, ts: str, outcome: str, blocks: list | None) -> None:
    """The original message with its buttons replaced by the outcome (its blocks from the payload, else the
    outbox row that sent it)."""
    if not blocks:
        sent = Notification.objects.filter(slack_ts=ts).values_list("blocks", flat=True).first()
        blocks = sent or []
    client.chat_update(channel=channel, ts=ts, text=outcome, blocks=blocks_with_outcome(blocks, outcome))
