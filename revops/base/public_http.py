"""An HTTP session that only talks to public addresses, checked on the connected socket itself.

The webhook URL check (``revops.base.webhook_models.webhook_url_problem``) resolves the host before a delivery; the
HTTP client then resolves it again to connect. A DNS answer that changes between the two (DNS rebinding: public for
the check, ``169.254.169.254`` for the connection) would get the signed delivery into the install's own network. So
the session's connections check the address they are connected to, after the TCP connect and before a byte is sent
(the TLS handshake included), and refuse a loopback, private, link-local, reserved or multicast one.

A proxy from the environment (``HTTPS_PROXY``) is left alone: the connection then goes to the proxy, which is the
operator's choice; the URL check before the delivery still applies.
"""

from __future__ import annotations

import ipaddress

import requests
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.exceptions import NewConnectionError


def address_problem(address: str) -> str:
    """Why a connected peer address is not a public one, or an empty string."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if not ip.is_global or ip.is_multicast:
        return (f"connected to {ip}, a private, loopback or reserved address: webhooks go to public receivers only "
                "(the host's address changed after the check)")
    return ""


class _PublicOnly:
    """Mixed into urllib3's connections: the new socket's peer must be a public address."""

    def _new_conn(self):
        sock = super()._new_conn()
        problem = address_problem(sock.getpeername()[0])
        if problem:
            sock.close()
            raise NewConnectionError(self, problem)
        return sock


class _HTTPConnection(_PublicOnly, HTTPConnection):
    pass


class _HTTPSConnection(_PublicOnly, HTTPSConnection):
    pass


class _HTTPConnectionPool(HTTPConnectionPool):
    ConnectionCls = _HTTPConnection


class _HTTPSConnectionPool(HTTPSConnectionPool):
    ConnectionCls = _HTTPSConnection


class PublicOnlyAdapter(HTTPAdapter):
    """A requests adapter whose direct connections go to public addresses only."""

    def init_poolmanager(self, *args, **kwargs) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = {"http": _HTTPConnectionPool, "https": _HTTPSConnectionPool}


def public_session() -> requests.Session:
    """A new session whose http and https connections are checked (see the module docstring)."""
    session = requests.Session()
    adapter = PublicOnlyAdapter()
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session
