"""SQLite: a web request's writes go before the workers' next transaction (revops/base/db/webfirst.py)."""

import fcntl
import threading
import time

import pytest
from django.db import connection, transaction

from leads.models import Lead
from revops.base.db import webfirst
from revops.base.db.webfirst import web_writers_wait, web_writes, worker_yields

pytestmark = pytest.mark.skipif(connection.vendor != "sqlite", reason="SQLite's write lock")


def waited_by_a_worker(path: str, max_seconds: float) -> float:
    """What a worker's next transaction waits, looked at from its own thread (its own open lock file)."""
    result = []
    thread = threading.Thread(target=lambda: result.append(web_writers_wait(path, max_seconds=max_seconds)))
    thread.start()
    thread.join()
    return result[0]


def test_a_worker_waits_while_a_web_request_writes_and_goes_on_once_it_ends(tmp_path):
    path = str(tmp_path / "db.sqlite3.writers")
    assert waited_by_a_worker(path, 1.0) < 0.05  # nobody writes: no wait

    holding, release = threading.Event(), threading.Event()

    def web_request():
        fd = webfirst._lock_file(path)
        fcntl.flock(fd, fcntl.LOCK_SH)
        holding.set()
        release.wait()
        fcntl.flock(fd, fcntl.LOCK_UN)

    web = threading.Thread(target=web_request)
    web.start()
    holding.wait()
    assert waited_by_a_worker(path, 0.1) >= 0.1  # at most the bound: a stream of requests never stalls the pipeline
    threading.Timer(0.05, release.set).start()
    started = time.monotonic()
    waited = waited_by_a_worker(path, 5.0)
    web.join()
    assert 0.03 < waited < 1.0 and time.monotonic() - started < 1.0  # it went on once the request ended


@pytest.mark.django_db(transaction=True)
def test_a_request_holds_the_lock_from_each_write_transactions_begin_to_its_commit(tmp_path, monkeypatch):
    path = str(tmp_path / "db.sqlite3.writers")
    monkeypatch.setattr(webfirst, "_lock_path", lambda settings_dict: path)
    seen_inside = []

    with web_writes():
        Lead.objects.filter(email="nobody@example.com").exists()  # a read takes nothing
        assert waited_by_a_worker(path, 0.1) < 0.05
        with transaction.atomic():
            Lead.objects.create(email="first@example.com", country="US")
            seen_inside.append(waited_by_a_worker(path, 0.1))
            transaction.on_commit(lambda: seen_inside.append(waited_by_a_worker(path, 0.1)))
        assert seen_inside[0] >= 0.1  # held while the transaction writes
        assert seen_inside[1] < 0.05  # released at its commit, before the callbacks it registered
        assert waited_by_a_worker(path, 0.1) < 0.05  # the answer's serialisation holds nothing
        with transaction.atomic():  # the request's next write transaction takes it again
            Lead.objects.create(email="second@example.com", country="US")
            assert waited_by_a_worker(path, 0.1) >= 0.1
        assert waited_by_a_worker(path, 0.1) < 0.05
    assert waited_by_a_worker(path, 0.1) < 0.05


@pytest.mark.django_db(transaction=True)
def test_a_rolled_back_transaction_keeps_the_lock_until_the_requests_next_commit_or_its_end(tmp_path, monkeypatch):
    path = str(tmp_path / "db.sqlite3.writers")
    monkeypatch.setattr(webfirst, "_lock_path", lambda settings_dict: path)

    with web_writes():
        with pytest.raises(RuntimeError), transaction.atomic():
            Lead.objects.create(email="gone@example.com", country="US")
            raise RuntimeError("the request fails")
        assert waited_by_a_worker(path, 0.1) >= 0.1  # no commit released it
        with transaction.atomic():
            Lead.objects.create(email="kept@example.com", country="US")
        assert waited_by_a_worker(path, 0.1) < 0.05  # the next commit did
        with pytest.raises(RuntimeError), transaction.atomic():
            Lead.objects.create(email="gone-too@example.com", country="US")
            raise RuntimeError("the request fails again")
        assert waited_by_a_worker(path, 0.1) >= 0.1
    assert waited_by_a_worker(path, 0.1) < 0.05  # the request's end did
    assert list(Lead.objects.values_list("email", flat=True)) == ["kept@example.com"]


@pytest.mark.django_db(transaction=True)
def test_a_workers_transaction_begins_after_the_web_requests_writes(tmp_path, monkeypatch, settings):
    """A worker process's connections wait at ``BEGIN`` while a web request holds the lock file."""
    settings.LEADFLOW_SQLITE_WORKER_YIELD_MS = 150
    path = str(tmp_path / "db.sqlite3.writers")
    monkeypatch.setattr(webfirst, "_lock_path", lambda settings_dict: path)
    worker_yields()
    try:
        fd_result = []

        def hold():
            fd = webfirst._lock_file(path)
            fcntl.flock(fd, fcntl.LOCK_SH)
            fd_result.append(fd)

        thread = threading.Thread(target=hold)
        thread.start()
        thread.join()
        started = time.monotonic()
        with transaction.atomic():
            Lead.objects.create(email="worker@example.com", country="US")
        assert time.monotonic() - started >= 0.15  # the BEGIN waited for the web request (up to the bound)
        fcntl.flock(fd_result[0], fcntl.LOCK_UN)
        started = time.monotonic()
        with transaction.atomic():
            Lead.objects.create(email="worker2@example.com", country="US")
        assert time.monotonic() - started < 0.1
    finally:
        from django.db.backends.signals import connection_created
        connection_created.disconnect(dispatch_uid="leadflow-worker-yields")
        if webfirst._worker_begin in connection.execute_wrappers:
            connection.execute_wrappers.remove(webfirst._worker_begin)


def writer_and_waiter(path: str):
    """Two connections to a WAL database holding table ``t``, and Django's ``execute`` over the waiter's (SQLite's
    errors raised as Django's, as the wrappers see them)."""
    import sqlite3

    from django.db import OperationalError

    writer = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    writer.execute("PRAGMA journal_mode=WAL")
    writer.execute("CREATE TABLE t (x)")
    waiter = sqlite3.connect(path, isolation_level=None, timeout=20)

    def execute(sql, params, many, context):
        try:
            return waiter.execute(sql)
        except sqlite3.OperationalError as exc:
            raise OperationalError(str(exc)) from exc

    return writer, waiter, execute


def test_a_begin_waiting_for_the_write_lock_takes_it_within_milliseconds_of_its_release(tmp_path):
    """SQLite's own busy wait sleeps up to 100 ms between tries (a lock freed after 130 ms is taken at 178 ms);
    ``begin_waiting`` tries every millisecond, and still gives up at its bound."""
    from types import SimpleNamespace

    from django.db import OperationalError

    from revops.base.db.webfirst import begin_waiting

    writer, waiter, execute = writer_and_waiter(str(tmp_path / "lock.sqlite3"))
    context = {"connection": SimpleNamespace(connection=waiter)}
    writer.execute("BEGIN IMMEDIATE")
    released = []

    def release():
        time.sleep(0.13)
        writer.execute("COMMIT")
        released.append(time.monotonic())

    thread = threading.Thread(target=release)
    thread.start()
    begin_waiting(execute, "BEGIN IMMEDIATE", None, False, context, seconds=5)
    taken = time.monotonic()
    thread.join()
    assert taken - released[0] < 0.035  # SQLite's own wait takes it about 48 ms late
    waiter.execute("COMMIT")
    assert waiter.execute("PRAGMA busy_timeout").fetchone()[0] == 5000  # its own wait set back after the tries

    writer.execute("BEGIN IMMEDIATE")  # held past the bound: "database is locked", as SQLite's own wait ends
    started = time.monotonic()
    with pytest.raises(OperationalError, match="locked"):
        begin_waiting(execute, "BEGIN IMMEDIATE", None, False, context, seconds=0.1)
    assert 0.1 <= time.monotonic() - started < 1.0
    writer.execute("COMMIT")


def test_only_a_write_outside_a_transaction_counts_as_an_autocommit_write():
    from types import SimpleNamespace

    from revops.base.db.webfirst import autocommit_write

    outside, inside = SimpleNamespace(in_atomic_block=False), SimpleNamespace(in_atomic_block=True)
    for sql in ("UPDATE t SET x = 1", "  insert into t values (1)", "DELETE FROM t", "REPLACE INTO t VALUES (1)"):
        assert autocommit_write(sql, outside)
        assert not autocommit_write(sql, inside)  # its transaction's BEGIN already waited
    for sql in ("SELECT 1", "PRAGMA busy_timeout = 0", "BEGIN IMMEDIATE", "SAVEPOINT s1"):
        assert not autocommit_write(sql, outside)


def test_a_workers_write_outside_a_transaction_waits_like_a_begin(tmp_path, monkeypatch, settings):
    """A drain's claim (one UPDATE, no transaction of its own) waits for the web requests writing, then for SQLite's
    write lock by trying every millisecond: SQLite's own busy wait would take a lock freed after 130 ms at 178 ms."""
    from types import SimpleNamespace

    settings.LEADFLOW_SQLITE_WORKER_YIELD_MS = 150
    settings.LEADFLOW_SQLITE_BUSY_TIMEOUT = 5
    path = str(tmp_path / "lock.sqlite3")
    writer, waiter, execute = writer_and_waiter(path)
    writer.execute("INSERT INTO t VALUES (0)")
    context = {"connection": SimpleNamespace(connection=waiter, in_atomic_block=False,
                                             settings_dict={"ENGINE": "django.db.backends.sqlite3", "NAME": path})}

    def hold_web_lock():
        fd = webfirst._lock_file(path + ".writers")
        fcntl.flock(fd, fcntl.LOCK_SH)
        return fd

    holder = []
    thread = threading.Thread(target=lambda: holder.append(hold_web_lock()))
    thread.start()
    thread.join()
    started = time.monotonic()
    webfirst._worker_begin(execute, "UPDATE t SET x = 1", None, False, context)
    assert time.monotonic() - started >= 0.15  # after the web request (up to the bound)
    fcntl.flock(holder[0], fcntl.LOCK_UN)

    writer.execute("BEGIN IMMEDIATE")
    released = []

    def release():
        time.sleep(0.13)
        writer.execute("UPDATE t SET x = 3")
        writer.execute("COMMIT")
        released.append(time.monotonic())

    thread = threading.Thread(target=release)
    thread.start()
    webfirst._worker_begin(execute, "UPDATE t SET x = x + 1", None, False, context)
    taken = time.monotonic()
    thread.join()
    assert taken - released[0] < 0.035
    assert waiter.execute("SELECT x FROM t").fetchone()[0] == 4  # written once, after the other writer's commit
    assert waiter.execute("PRAGMA busy_timeout").fetchone()[0] == 5000
