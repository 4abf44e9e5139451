"""A local stand-in of the Slack Web API over real HTTP: records chat.postMessage calls, answers like Slack.

slack-sdk's WebClient talks to it through ``SLACK_API_URL``; tests read ``messages`` to see what was sent and can
make it answer with an error (``fail_with``) to test retries and failures.
"""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs


class SlackStandIn:
    def __init__(self) -> None:
        self.messages: list[dict] = []
        self.fail_with: str | None = None
        self.fail_times = 0
        self._lock = threading.Lock()
        standin = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:
                pass

            def do_POST(self) -> None:  # noqa: N802 - the http.server hook name
                length = int(self.headers.get("Content-Length", 0))
                raw = self.rfile.read(length).decode()
                if self.headers.get("Content-Type", "").startswith("application/json"):
                    body = json.loads(raw or "{}")
                else:
                    body = {k: v[0] for k, v in parse_qs(raw).items()}
                auth = self.headers.get("Authorization", "")
                with standin._lock:
                    if not auth.startswith("Bearer "):
                        answer = {"ok": False, "error": "not_authed"}
                    elif standin.fail_with and standin.fail_times > 0:
                        standin.fail_times -= 1
                        answer = {"ok": False, "error": standin.fail_with}
                    elif self.path.endswith("/chat.postMessage"):
                        standin.messages.append({"channel": body.get("channel"), "text": body.get("text"),
                                                 "token": auth.removeprefix("Bearer ")})
                        answer = {"ok": True, "channel": body.get("channel"), "ts": f"{time.time():.6f}"}
                    else:
                        answer = {"ok": False, "error": "unknown_method"}
                payload = json.dumps(answer).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json; charset=utf-8")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/api/"

    def start(self) -> SlackStandIn:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
