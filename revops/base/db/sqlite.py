"""SQLite's write-ahead-log checkpoints, taken off the commits of requests and jobs.

In WAL mode SQLite copies the log back into the database file (a *checkpoint*, with an fsync) inside whichever
commit pushes the log past ``wal_autocheckpoint`` pages. That commit, a routing decision or a score write, then
takes several times its usual time: most of the p99 of both on SQLite. ``manage.py serve`` therefore runs a
checkpointer beside the web server and the workers: every second it takes a PASSIVE checkpoint (never blocks a
reader or a writer), so the log stays small and no commit has to do it. Processes running without ``serve``
(management commands, tests) keep SQLite's own automatic checkpoint, at ``SQLITE_WAL_AUTOCHECKPOINT`` pages, as
the safety net.
"""

from __future__ import annotations

import logging
import sqlite3
import threading

logger = logging.getLogger(__name__)

CHECKPOINT_INTERVAL_SECONDS = 1.0


def sqlite_checkpoint(path: str) -> tuple[int, int, int]:
    """One PASSIVE checkpoint of the database at ``path``: (busy, log pages, pages checkpointed)."""
    connection = sqlite3.connect(path, timeout=5)
    try:
        return connection.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
    finally:
        connection.close()


class SqliteCheckpointer(threading.Thread):
    """A daemon thread that checkpoints ``path`` every ``interval`` seconds until ``stop()``."""

    def __init__(self, path: str, interval: float = CHECKPOINT_INTERVAL_SECONDS) -> None:
        super().__init__(name="sqlite-checkpointer", daemon=True)
        self.path, self.interval = path, interval
        self._stopped = threading.Event()
        self.checkpoints = 0

    def run(self) -> None:
        while not self._stopped.wait(self.interval):
            try:
                sqlite_checkpoint(self.path)
                self.checkpoints += 1
            except sqlite3.Error as exc:  # a locked or missing file: try again next time, never stop serving
                logger.warning("SQLite checkpoint of %s failed: %s", self.path, exc)

    def stop(self) -> None:
        self._stopped.set()
        self.join(timeout=5)


def checkpoint_forever(path: str, interval: float = CHECKPOINT_INTERVAL_SECONDS) -> None:
    """Run the checkpointer in this process until it is killed (the benchmarks run it as its own process)."""
    checkpointer = SqliteCheckpointer(path, interval)
    checkpointer.start()
    checkpointer.join()
