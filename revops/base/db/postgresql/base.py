"""Django's PostgreSQL backend, with a health check that asks the connection's socket before it asks the server.

With ``CONN_HEALTH_CHECKS`` Django checks a persistent connection before each request reuses it: ``SELECT 1``, a
round trip a request — two a website form, about 8 % of the web processes' CPU in a profile at 60 forms a second,
part of which a later profile found on the request's first statement instead (``docs/benchmarks.md``,
twenty-seventh stop). An idle connection has nothing to
read: a server that ended the session (a restart, ``pg_terminate_backend``, an idle timeout) has sent its notice
and closed the socket, which makes it readable. So the check is: the connection open and idle, the socket with
nothing to read — usable, no round trip; anything else — Django's ``SELECT 1``, which settles it (a notification
that arrived on the socket passes, a closed session fails and the connection is opened anew).

``revops/settings.py`` selects this backend for a PostgreSQL ``DATABASE_URL``; everything else is Django's.
"""

from __future__ import annotations

import select

from django.db.backends.postgresql import base

if base.is_psycopg3:
    from psycopg import pq


class DatabaseWrapper(base.DatabaseWrapper):
    def is_usable(self) -> bool:
        connection = self.connection
        if connection is None or not base.is_psycopg3:
            return super().is_usable()
        pgconn = connection.pgconn
        if connection.closed or pgconn.status != pq.ConnStatus.OK:
            return False
        if pgconn.transaction_status == pq.TransactionStatus.IDLE:
            try:
                readable, _, _ = select.select([pgconn.socket], [], [], 0)
            except (OSError, ValueError):  # the socket is gone
                return False
            if not readable:
                return True
        return super().is_usable()
