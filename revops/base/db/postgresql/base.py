"""Django's PostgreSQL backend, with a health check that asks the connection's socket before it asks the server.

With ``CONN_HEALTH_CHECKS`` Django checks a persistent connection before each request reuses it: ``SELECT 1``, a
round trip a request — two a website form, about 8 % of the web processes' CPU in a profile at 60 forms a second,
part of which a later profile found on the request's first statement instead (``docs/benchmarks.md``,
twenty-seventh stop). An idle connection has nothing to
read: a server that ended the session (a restart, ``pg_terminate_backend``, an idle timeout) has sent its notice
and closed the socket, which makes it readable. So the check is: the connection open and idle, the socket with
nothing to read — usable, no round trip; anything else — Django's ``SELECT 1``, which settles it (a notification
that arrived on the socket passes, a closed session fails and the connection is opened anew).

And psycopg keeps the conversion of a statement's text (its ``%s`` placeholders found and numbered, a regular
expression over the whole text) only for texts up to 4,096 characters with at most 50 parameters: the per-form
statements longer than that — the dedup look-up's union of the lead's columns, a new lead and its history row in
one statement (55 parameters), a drain's multi-row inserts — were parsed again on every run (about 0.3 ms for the
look-up's 6,700 characters). The limits are raised here (:data:`CACHED_STATEMENT_LENGTH`,
:data:`CACHED_STATEMENT_PARAMS`); psycopg's cache stays a least-recently-used one of 128 texts, so a one-off text
still costs nothing more than its parse. A bulk import's inserts of hundreds of rows stay above the limits.

``revops/settings.py`` selects this backend for a PostgreSQL ``DATABASE_URL``; everything else is Django's.
"""

from __future__ import annotations

import select

from django.db.backends.postgresql import base

if base.is_psycopg3:
    from psycopg import _queries, pq

# Statement texts whose placeholder conversion psycopg keeps (module docstring). psycopg is pinned
# (pyproject.toml); tests/revops/test_postgres_prepared.py fails if these names move.
CACHED_STATEMENT_LENGTH = 16_384
CACHED_STATEMENT_PARAMS = 256
if base.is_psycopg3:
    _queries.MAX_CACHED_STATEMENT_LENGTH = max(_queries.MAX_CACHED_STATEMENT_LENGTH, CACHED_STATEMENT_LENGTH)
    _queries.MAX_CACHED_STATEMENT_PARAMS = max(_queries.MAX_CACHED_STATEMENT_PARAMS, CACHED_STATEMENT_PARAMS)


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
