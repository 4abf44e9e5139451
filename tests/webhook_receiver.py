"""A webhook receiver over real HTTP for the tests: records every delivery (headers and raw body) and answers with
the status codes it is told to, per event id (``fail_first``: that many 500s for each event before a 200)."""

from __future__ import annotations

import json
import threading
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class WebhookReceiver:
    def __init__(self, *, fail_first: int = 0, always: int | None = None) -> None:
        self.fail_first = fail_first
        self.always = always
        self.received: list[dict] = []
        self.tries: Counter = Counter()
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:
                pass

            def do_POST(self) -> None:  # noqa: N802 - the http.server hook name
                raw = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                event_id = json.loads(raw or b"{}").get("id", "")
                with receiver._lock:
                    receiver.tries[event_id] += 1
                    if receiver.always is not None:
                        status = receiver.always
                    else:
                        status = 500 if receiver.tries[event_id] <= receiver.fail_first else 200
                    receiver.received.append({"headers": dict(self.headers), "body": raw, "status": status,
                                              "event_id": event_id})
                self.send_response(status)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks/leadflow"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def start(self) -> WebhookReceiver:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def events(self) -> list[dict]:
        return [json.loads(item["body"]) for item in self.received]
