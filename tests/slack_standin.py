"""A local stand-in of the Slack Web API over real HTTP: records calls, answers like Slack.

slack-sdk's WebClient talks to it through ``SLACK_API_URL``. Tests read ``messages`` (chat.postMessage) and
``calls`` (every method: chat.update, chat.postEphemeral, views.open, …) to see what was sent, and can make it:
- answer Slack-style errors (HTTP 200, ``{"ok": false}``) with ``fail_with`` / ``fail_times``;
- answer at the HTTP level with ``http_failures``, a list consumed one per request: ``("429", seconds)`` is a
  real 429 with ``Retry-After``, ``("500",)`` a 500, ``("timeout", seconds)`` an answer that comes too late;
- close a kept-alive connection after its answer without saying so (``hang_up_after_answer``), as a server does
  with a connection left idle;
- answer each call ``latency`` seconds after it arrived (Slack's round trip over the internet; 0 by default).
It speaks HTTP/1.1 and counts the connections it was given (``connections``).
"""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlencode

import requests
from slack_sdk.signature import SignatureVerifier


class SlackStandIn:
    def __init__(self) -> None:
        self.messages: list[dict] = []
        self.calls: list[dict] = []
        self.requests_seen = 0
        self.connections = 0  # TCP connections the clients opened
        self.hang_up_after_answer = False
        self.latency = 0.0  # close each connection after answering, without saying so (idle close)
        self.fail_with: str | None = None
        self.fail_times = 0
        self.http_failures: list[tuple] = []
        self._lock = threading.Lock()
        standin = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive, as Slack's API
            # Its answer's headers and body are two writes: without this, on a kept-alive connection the body would
            # wait for the client's delayed ACK of the headers (Nagle's algorithm), 40 ms an answer.
            disable_nagle_algorithm = True

            def setup(self) -> None:
                super().setup()
                with standin._lock:
                    standin.connections += 1

            def log_message(self, *args) -> None:
                pass

            def _send(self, status: int, answer: dict, headers: dict | None = None) -> None:
                payload = json.dumps(answer).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json; charset=utf-8")
                self.send_header("Content-Length", str(len(payload)))
                for name, value in (headers or {}).items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(payload)
                if standin.hang_up_after_answer:
                    self.close_connection = True

            def do_POST(self) -> None:  # noqa: N802 - the http.server hook name
                length = int(self.headers.get("Content-Length", 0))
                raw = self.rfile.read(length).decode()
                if self.headers.get("Content-Type", "").startswith("application/json"):
                    body = json.loads(raw or "{}")
                else:
                    body = {k: v[0] for k, v in parse_qs(raw).items()}
                if standin.latency:
                    time.sleep(standin.latency)
                auth = self.headers.get("Authorization", "")
                method = self.path.rsplit("/", 1)[-1]
                with standin._lock:
                    standin.requests_seen += 1
                    failure = standin.http_failures.pop(0) if standin.http_failures else None
                if failure and failure[0] == "timeout":
                    time.sleep(failure[1])  # the client has given up by now; nothing is recorded
                    return
                if failure and failure[0] == "429":
                    self._send(429, {"ok": False, "error": "ratelimited"}, {"Retry-After": str(failure[1])})
                    return
                if failure and failure[0] == "500":
                    self._send(500, {"ok": False, "error": "internal_error"})
                    return
                with standin._lock:
                    if not auth.startswith("Bearer "):
                        answer = {"ok": False, "error": "not_authed"}
                    elif standin.fail_with and standin.fail_times > 0:
                        standin.fail_times -= 1
                        answer = {"ok": False, "error": standin.fail_with}
                    elif method in ("chat.postMessage", "chat.update", "chat.postEphemeral", "views.open"):
                        standin.calls.append({"method": method, "at": time.monotonic(), **body})
                        answer = {"ok": True, "channel": body.get("channel"), "ts": f"{time.time():.6f}"}
                        if method == "chat.postMessage":
                            standin.messages.append({"channel": body.get("channel"), "text": body.get("text"),
                                                     "blocks": body.get("blocks"), "at": time.monotonic(),
                                                     "token": auth.removeprefix("Bearer ")})
                    else:
                        answer = {"ok": False, "error": "unknown_method"}
                self._send(200, answer)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/api/"

    def calls_of(self, method: str) -> list[dict]:
        return [call for call in self.calls if call["method"] == method]

    def start(self) -> SlackStandIn:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def slack_signed_post(url: str, payload: dict, *, secret: str, timestamp: int | None = None,
                      signature: str | None = None):
    """Post an interactivity payload as Slack does (form-encoded ``payload``, signed with the signing secret) over
    real HTTP; ``timestamp`` / ``signature`` override the genuine ones to test refusals."""
    body = urlencode({"payload": json.dumps(payload)})
    stamp = str(int(time.time()) if timestamp is None else timestamp)
    genuine = SignatureVerifier(secret).generate_signature(timestamp=stamp, body=body)
    headers = {"Content-Type": "application/x-www-form-urlencoded", "X-Slack-Request-Timestamp": stamp,
               "X-Slack-Signature": genuine if signature is None else signature}
    return requests.post(url, data=body, headers=headers, timeout=10)
