"""Slack calls share one kept-alive connection; one the server closed while idle is replaced without losing or
doubling a message."""

import ssl
import time

from revops.base.channels import slack_http
from revops.base.channels.slack import slack_client


def _fresh(slack) -> None:
    """Forget a kept connection to the stand-in's address (a port the system gave an earlier stand-in)."""
    slack_http._forget("http", slack.url.split("/")[2])


def _post(n: int) -> str:
    return slack_client().chat_postMessage(channel="U1", text=f"message {n}")["ts"]


def test_messages_one_after_the_other_share_one_connection(slack):
    _fresh(slack)
    for n in range(5):
        assert _post(n)
    assert [m["text"] for m in slack.messages] == [f"message {n}" for n in range(5)]
    assert slack.connections == 1


def test_a_connection_the_server_closed_while_idle_is_replaced_and_the_message_sent_once(slack):
    _fresh(slack)
    slack.hang_up_after_answer = True  # each answer's connection is closed behind the client's back
    client = slack_client()
    client.retry_handlers = []  # no handler's retry: the client itself sends again on a new connection
    for n in range(3):
        client.chat_postMessage(channel="U1", text=f"message {n}")
        time.sleep(0.05)  # the server's close arrives before the next request goes out
    assert [m["text"] for m in slack.messages] == ["message 0", "message 1", "message 2"]
    assert slack.connections == 3 and slack.requests_seen == 3  # a new connection each time, nothing sent twice


def test_a_forked_process_opens_its_own_connection(slack, monkeypatch):
    _fresh(slack)
    _post(0)
    monkeypatch.setattr(slack_http.os, "getpid", lambda: -1)  # as a child forked from this process sees it
    _post(1)
    assert slack.connections == 2


def test_slack_errors_and_rate_limits_still_go_through_the_retry_handlers(slack):
    slack.http_failures = [("429", 0), ("500",)]
    assert _post(0)
    assert slack.requests_seen == 3 and [m["text"] for m in slack.messages] == ["message 0"]


def test_slack_itself_is_reached_over_tls_with_the_clients_context():
    context = ssl.create_default_context()
    connection = slack_http._connection("https", "slack.com", 7, context)
    try:
        assert connection.__class__.__name__ == "HTTPSConnection" and connection._context is context
        assert (connection.host, connection.port, connection.timeout) == ("slack.com", 443, 7)
        assert slack_http._connection("https", "slack.com", 7, context) is connection  # kept for the next call
    finally:
        slack_http._forget("https", "slack.com")
