"""The SQLite connection's settings: write-ahead log, page cache and memory-mapped reads (revops/settings.py)."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

READ_PRAGMAS = """
import django
django.setup()
from django.db import connection
with connection.cursor() as cursor:
    values = []
    for name in ("journal_mode", "synchronous", "cache_size", "mmap_size"):
        cursor.execute(f"PRAGMA {name}")
        values.append(str(cursor.fetchone()[0]))
print(" ".join(values))
"""


def _pragmas(tmp_path, **env: str) -> list[str]:
    environment = {**os.environ, "DJANGO_SETTINGS_MODULE": "revops.settings",
                   "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}", **env}
    for name in ("SQLITE_MMAP_MB", "SQLITE_CACHE_MB"):
        if name not in env:
            environment.pop(name, None)
    done = subprocess.run([sys.executable, "-c", READ_PRAGMAS], cwd=ROOT, env=environment, capture_output=True,
                          text=True, timeout=120, check=True)
    return done.stdout.split()


@pytest.mark.own_sqlite_file
def test_a_sqlite_database_is_read_through_a_memory_map_by_default(tmp_path):
    journal, synchronous, cache, mmap = _pragmas(tmp_path)
    assert (journal, synchronous) == ("wal", "1")  # NORMAL
    assert cache == str(-64 * 1024)  # 64 MB per connection
    assert int(mmap) > 1024 * 1024 * 1024  # 2 GB asked; SQLite caps it just under


@pytest.mark.own_sqlite_file
def test_the_memory_map_and_the_cache_follow_their_settings(tmp_path):
    _, _, cache, mmap = _pragmas(tmp_path, SQLITE_MMAP_MB="0", SQLITE_CACHE_MB="16")
    assert (cache, mmap) == (str(-16 * 1024), "0")
