"""A local stand-in of a Microsoft Teams incoming webhook over real HTTP: records the posted cards and can answer
``failures`` first, one per request: ``("429", seconds)`` with ``Retry-After``, ``("500",)``, ``("400",)``."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class TeamsStandIn:
    def __init__(self) -> None:
        self.cards: list[dict] = []
        self.failures: list[tuple] = []
        self.requests_seen = 0
        self._lock = threading.Lock()
        standin = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:
                pass

            def do_POST(self) -> None:  # noqa: N802 - the http.server hook name
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                with standin._lock:
                    standin.requests_seen += 1
                    failure = standin.failures.pop(0) if standin.failures else None
                    if failure is None:
                        standin.cards.append({"path": self.path, "at": time.monotonic(), **json.loads(body)})
                status = int(failure[0]) if failure else 200
                self.send_response(status)
                if failure and failure[0] == "429":
                    self.send_header("Retry-After", str(failure[1]))
                answer = b"1" if status == 200 else b"error"
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def url(self, team: str = "sales") -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/webhook/{team}"

    def start(self) -> TeamsStandIn:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
