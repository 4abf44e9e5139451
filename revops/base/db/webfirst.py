"""SQLite: the web's writes go first, so the API's answer does not wait behind the workers' steady stream of writes.

SQLite has one writer at a time, and a writer waiting for the lock polls with growing sleeps (up to 100 ms): under
load the workers, which start their next transaction the moment the last one ends, win the lock again and again while
a web request sleeps. So the two take turns through a lock file beside the database (``<database>.writers``,
``flock``):

- a web request holds it *shared* from the start of a write transaction (``BEGIN``) to its commit (``web_writes``,
  run by ``revops.base.db.busy.SqliteWebBusyMiddleware``); many requests hold it at once;
- a worker, before it begins a write transaction (or writes outside one: a drain's claim), waits while any web
  request holds it — polling every millisecond, at most ``LEADFLOW_SQLITE_WORKER_YIELD_MS`` (then it goes on
  anyway, so a stream of requests never stalls the pipeline) — and takes nothing: it only looks (``worker_yields``,
  installed by ``revops.base.worker``).

The worker's transaction that already runs is never interrupted: a web request waits at most for that one.

Both wait for SQLite's write lock at ``BEGIN`` (a worker also at a write outside a transaction) by trying again
every millisecond (``begin_waiting``), within the same bounds as before (``LEADFLOW_SQLITE_WEB_BUSY_TIMEOUT`` for
the web, ``LEADFLOW_SQLITE_BUSY_TIMEOUT`` for workers):
SQLite's own busy wait sleeps longer and longer between tries (up to 100 ms a try), so a lock freed just after a
try was taken up to 100 ms later while the one writer stood idle. Nothing changes on PostgreSQL, in tests (an
in-memory database) or with ``LEADFLOW_SQLITE_WORKER_YIELD_MS=0``.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import threading
import time
from collections.abc import Iterator

from django.conf import settings
from django.db import OperationalError, connection
from django.db.backends.signals import connection_created

POLL_SECONDS = 0.001  # how often a BEGIN waiting for SQLite's write lock tries again

# A worker's lock file, opened once per thread (flock locks belong to the open file): a worker runs one thread.
_local = threading.local()


def _lock_path(settings_dict: dict) -> str | None:
    """The lock file of a SQLite database on disk; None for PostgreSQL or an in-memory database."""
    if "sqlite" not in settings_dict.get("ENGINE", ""):
        return None
    name = str(settings_dict.get("NAME") or "")
    if not name or name.startswith("file:") or ":memory:" in name:
        return None
    return f"{name}.writers"


def _lock_file(path: str) -> int:
    files = getattr(_local, "files", None)
    if files is None:
        files = _local.files = {}
    fd = files.get(path)
    if fd is None:
        fd = files[path] = _open(path)
    return fd


def _open(path: str) -> int:
    return os.open(path, os.O_RDWR | os.O_CREAT, 0o600)


@contextlib.contextmanager
def web_writes() -> Iterator[None]:
    """Hold the lock file shared while this request writes: from a write transaction's ``BEGIN`` to its commit.

    Taken again at the request's next ``BEGIN``; a transaction that rolls back keeps it until the request's next
    commit, or its end.
    What a request does after its commit (the answer's serialisation, the jobs it queues) does not hold the workers
    back. The file is opened per transaction and closed after it (closing releases the lock): a server with a
    thread per request (runserver) keeps no descriptor behind."""
    path = _lock_path(connection.settings_dict) if settings.LEADFLOW_SQLITE_WORKER_YIELD_MS > 0 else None
    if path is None:
        yield
        return
    held: list[int] = []  # the open lock file, while one is held
    armed: list[bool] = []  # the release is registered with this transaction's commit

    def release() -> None:
        while held:
            os.close(held.pop())
        armed.clear()

    def begin_first(execute, sql, params, many, context):
        if sql.startswith("BEGIN"):
            if not held:
                fd = _open(path)
                held.append(fd)
                fcntl.flock(fd, fcntl.LOCK_SH)
            armed.clear()  # a rolled-back transaction's release went with it: this one's commit releases
            return begin_waiting(execute, sql, params, many, context,
                                 seconds=settings.LEADFLOW_SQLITE_WEB_BUSY_TIMEOUT)
        if held and not armed and context["connection"].in_atomic_block:
            armed.append(True)
            context["connection"].on_commit(release)  # before the callbacks the transaction registers later
        return execute(sql, params, many, context)

    try:
        with connection.execute_wrapper(begin_first):
            yield
    finally:
        release()


def begin_waiting(execute, sql, params, many, context, *, seconds: float):
    """Run a ``BEGIN`` (``IMMEDIATE``: it takes SQLite's write lock) or a write outside a transaction, trying again
    every ``POLL_SECONDS`` while another connection writes, for at most ``seconds`` (then SQLite's "database is
    locked", as its own wait gives).

    SQLite's busy wait is switched off for the tries and set back to ``seconds`` after them. A ``BEGIN`` that fails
    leaves no transaction open, and a statement that fails on the lock has written nothing, so trying again is
    safe."""
    raw = context["connection"].connection
    deadline = time.monotonic() + seconds
    raw.execute("PRAGMA busy_timeout = 0")
    try:
        while True:
            try:
                return execute(sql, params, many, context)
            except OperationalError as exc:
                if "locked" not in str(exc) or time.monotonic() >= deadline:
                    raise
                time.sleep(POLL_SECONDS)
    finally:
        raw.execute(f"PRAGMA busy_timeout = {int(seconds * 1000)}")


def web_writers_wait(path: str, *, max_seconds: float) -> float:
    """Wait while a web request holds the lock file (at most ``max_seconds``); returns the seconds waited."""
    fd = _lock_file(path)
    started = time.monotonic()
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            waited = time.monotonic() - started
            if waited >= max_seconds:
                return waited
            time.sleep(0.001)
            continue
        fcntl.flock(fd, fcntl.LOCK_UN)
        return time.monotonic() - started


WRITE_STATEMENTS = ("INSERT", "UPDATE", "DELETE", "REPLACE")


def autocommit_write(sql: str, connection) -> bool:
    """A statement that writes outside a transaction: SQLite takes its write lock for that statement alone (a
    drain's claim of its rows, a counter's upsert)."""
    return not connection.in_atomic_block and sql.lstrip()[:7].upper().startswith(WRITE_STATEMENTS)


def _worker_begin(execute, sql, params, many, context):
    if sql.startswith("BEGIN") or autocommit_write(sql, context["connection"]):
        # A statement that writes outside a transaction waits for the write lock as a BEGIN does: after the web's
        # writers, trying every millisecond (SQLite's own busy wait sleeps up to 100 ms a try while the lock is
        # free); one that failed on the lock wrote nothing, so trying again is safe.
        path = _lock_path(context["connection"].settings_dict)
        if path is not None:
            web_writers_wait(path, max_seconds=settings.LEADFLOW_SQLITE_WORKER_YIELD_MS / 1000)
            return begin_waiting(execute, sql, params, many, context, seconds=settings.LEADFLOW_SQLITE_BUSY_TIMEOUT)
    return execute(sql, params, many, context)


def _install(sender, connection, **kwargs) -> None:
    if _lock_path(connection.settings_dict) is not None and _worker_begin not in connection.execute_wrappers:
        connection.execute_wrappers.append(_worker_begin)


def worker_yields() -> None:
    """In a worker process: every write transaction on SQLite lets waiting web requests go first (module docstring).

    Installed on each database connection of the process, now and when one is opened later."""
    if settings.LEADFLOW_SQLITE_WORKER_YIELD_MS <= 0:
        return
    connection_created.connect(_install, dispatch_uid="leadflow-worker-yields")
    _install(None, connection)
