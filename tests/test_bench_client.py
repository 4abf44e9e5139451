"""The latency benchmark's client (bench/bench_latency.py): it writes its requests as bytes and reads the answers
itself, so it must read what a server answers: a body to the close, a chunked body, an error status."""

import json
import threading
import urllib.error
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bench.bench_latency import answer_parsed, post


@given(body=st.binary(max_size=3000), cuts=st.lists(st.integers(min_value=1, max_value=700), max_size=8))
def test_a_chunked_body_is_put_together_as_sent(body, cuts):
    chunks, rest = [], body
    for cut in cuts:
        if rest:
            chunks.append(rest[:cut])
            rest = rest[cut:]
    if rest:
        chunks.append(rest)
    wire = b"".join(b"%x\r\n%s\r\n" % (len(chunk), chunk) for chunk in chunks) + b"0\r\n\r\n"
    answer = b"HTTP/1.1 201 Created\r\nTransfer-Encoding: chunked\r\n\r\n" + wire
    assert answer_parsed(answer) == (201, b"http/1.1 201 created\r\ntransfer-encoding: chunked", body)


def test_a_body_read_to_the_close_and_what_is_not_http_refused():
    assert answer_parsed(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 2\r\n\r\n{}")[::2] == (400, b"{}")
    with pytest.raises(OSError, match="not an HTTP answer"):
        answer_parsed(b"garbage")


class _Api(BaseHTTPRequestHandler):
    def log_message(self, *args) -> None:
        pass

    def do_POST(self) -> None:  # noqa: N802 - the http.server hook name
        sent = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        status = 400 if sent.get("bad") else 201
        payload = json.dumps({"got": sent, "token": self.headers["Authorization"], "path": self.path}).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(payload)


def test_post_sends_the_json_with_the_token_and_raises_on_an_error_status():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Api)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        answer = post(f"{base}/api/leads/", "t0k", {"email": "a@b.example", "name": "Zoë"})
        assert answer == {"got": {"email": "a@b.example", "name": "Zoë"}, "token": "Token t0k", "path": "/api/leads/"}
        with pytest.raises(urllib.error.HTTPError) as refused:
            post(f"{base}/api/leads/", "t0k", {"bad": True})
        assert refused.value.code == 400
    finally:
        server.shutdown()
        server.server_close()
