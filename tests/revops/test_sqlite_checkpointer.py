"""serve's SQLite checkpointer copies the write-ahead log back into the database outside every commit."""

import sqlite3

from revops.base.db.sqlite import SqliteCheckpointer, sqlite_checkpoint


def _database_with_log(path) -> sqlite3.Connection:
    connection = sqlite3.connect(path)
    connection.execute("PRAGMA journal_mode=WAL")
    connection.execute("PRAGMA wal_autocheckpoint=0")  # only our checkpointer may checkpoint
    connection.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, body TEXT)")
    connection.executemany("INSERT INTO t (body) VALUES (?)", [("x" * 500,)] * 200)
    connection.commit()
    return connection


def test_a_checkpoint_copies_every_logged_page(tmp_path):
    path = str(tmp_path / "db.sqlite3")
    connection = _database_with_log(path)
    busy, logged, copied = sqlite_checkpoint(path)
    assert busy == 0 and logged > 20 and copied == logged
    # Nothing new since: the next one has nothing left to copy.
    connection.execute("INSERT INTO t (body) VALUES ('y')")
    connection.commit()
    assert sqlite_checkpoint(path)[2] == sqlite_checkpoint(path)[1]
    connection.close()


def test_the_checkpointer_thread_checkpoints_until_stopped(tmp_path):
    path = str(tmp_path / "db.sqlite3")
    connection = _database_with_log(path)
    checkpointer = SqliteCheckpointer(path, interval=0.05)
    checkpointer.start()
    try:
        for _ in range(100):
            if checkpointer.checkpoints >= 2:
                break
            import time

            time.sleep(0.05)
    finally:
        checkpointer.stop()
    assert checkpointer.checkpoints >= 2 and not checkpointer.is_alive()
    # Everything logged before was copied: a new checkpoint has only what came after (nothing).
    busy, logged, copied = sqlite_checkpoint(path)
    assert copied == logged
    assert connection.execute("SELECT COUNT(*) FROM t").fetchone()[0] == 200
    connection.close()


def test_a_missing_database_is_logged_and_the_checkpointer_keeps_going(tmp_path, caplog):
    checkpointer = SqliteCheckpointer(str(tmp_path / "missing" / "db.sqlite3"), interval=0.02)
    checkpointer.start()
    import time

    time.sleep(0.2)
    checkpointer.stop()
    assert checkpointer.checkpoints == 0
    assert "SQLite checkpoint" in caplog.text
