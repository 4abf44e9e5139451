"""slack-sdk's WebClient over a kept-alive connection: one HTTP(S) connection per process, thread and Slack host.

slack-sdk's synchronous client opens every call with ``urllib.request.urlopen``: a new TCP connection, and against
slack.com a new TLS handshake, for each message. A drain posts its messages one after the other, so this client
keeps the connection open between calls (Slack's API speaks HTTP/1.1 keep-alive) and sends each request on it.

Everything else stays slack-sdk's: the request it builds (headers, JSON or form body), its retry handlers (429's
``Retry-After``, 5xx, connection errors) and its response handling. An HTTP error status is raised as the
``HTTPError`` ``urlopen`` raises, so the handlers see what they always saw. A connection the server closed while it
sat idle is found when the next request goes out on it: that request is sent once more on a new connection (the
server never read it); any other failure closes the connection and goes to the retry handlers.
"""

from __future__ import annotations

import http.client
import io
import os
import ssl
import threading
from typing import Any
from urllib.error import HTTPError, URLError
from urllib.parse import urlsplit
from urllib.request import Request

from slack_sdk import WebClient

_local = threading.local()
# The failures of a request sent on a reused connection that mean the server had closed it while idle.
_STALE = (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError, ConnectionAbortedError)


def _connection(scheme: str, netloc: str, timeout: float, context: ssl.SSLContext | None
                ) -> http.client.HTTPConnection:
    """This process's and thread's connection to ``scheme://netloc`` (a forked child never shares its parent's)."""
    pool = getattr(_local, "pool", None)
    if pool is None or getattr(_local, "pid", None) != os.getpid():
        pool = _local.pool = {}
        _local.pid = os.getpid()
    connection = pool.get((scheme, netloc))
    if connection is None:
        if scheme == "https":
            connection = http.client.HTTPSConnection(netloc, timeout=timeout,
                                                     context=context or ssl.create_default_context())
        else:
            connection = http.client.HTTPConnection(netloc, timeout=timeout)
        pool[(scheme, netloc)] = connection
    connection.timeout = timeout
    return connection


def _forget(scheme: str, netloc: str) -> None:
    connection = getattr(_local, "pool", {}).pop((scheme, netloc), None)
    if connection is not None:
        connection.close()


class KeptAliveWebClient(WebClient):
    """A WebClient whose calls share one kept-alive connection (with a proxy: slack-sdk's own way, unchanged)."""

    def _perform_urllib_http_request_internal(self, url: str, req: Request) -> dict[str, Any]:
        parts = urlsplit(url)
        if self.proxy is not None or parts.scheme not in ("http", "https"):
            return super()._perform_urllib_http_request_internal(url, req)
        path = parts.path + (f"?{parts.query}" if parts.query else "")
        headers = dict(req.header_items())
        resent = False
        while True:
            connection = _connection(parts.scheme, parts.netloc, self.timeout, self.ssl)
            reused = connection.sock is not None
            try:
                connection.request("POST", path, body=req.data, headers=headers)
                response = connection.getresponse()
                body = response.read()
                break
            except (OSError, http.client.HTTPException) as exc:  # as urlopen: a URLError
                _forget(parts.scheme, parts.netloc)
                if reused and not resent and isinstance(exc, _STALE):
                    resent = True  # closed by the server while idle: the request was never read
                    continue
                raise URLError(exc) from exc
        if response.will_close:
            _forget(parts.scheme, parts.netloc)
        if response.status >= 400:
            raise HTTPError(url, response.status, response.reason, response.headers, io.BytesIO(body))
        charset = response.headers.get_content_charset() or "utf-8"
        return {"status": response.status, "headers": response.headers, "body": body.decode(charset)}
