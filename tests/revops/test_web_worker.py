"""serve's gunicorn worker (revops/web_worker.py): a connection wakes one idle web process, not every one; requests
answered and a quiet stop on SIGTERM as with gunicorn's own sync worker."""

import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from django.conf import settings

from revops import web_worker

ROOT = Path(settings.BASE_DIR)
pytestmark = pytest.mark.skipif(web_worker.EXCLUSIVE is None, reason="EPOLLEXCLUSIVE is Linux's (4.5 and later)")


def _post(port: int, body: bytes) -> bytes:
    request = urllib.request.Request(f"http://127.0.0.1:{port}/", data=body, method="POST")
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 - loopback only
        return response.read()


def _waits(pid: int) -> int:
    """How many times the process has given up its core to wait (the kernel's count of voluntary switches)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("voluntary_ctxt_switches:"):
            return int(line.split()[1])
    raise AssertionError(f"no switch count for {pid}")


def _switches_a_connection(worker_class: str, port: int, connections: int) -> float:
    """gunicorn with three workers: the workers' waits, summed, per connection over ``connections`` requests made
    one after another with every worker idle between two; each answer and a quiet stop on SIGTERM checked."""
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "tests.revops.wsgi_echo:application", "--bind", f"127.0.0.1:{port}",
         "--workers", "3", "--worker-class", worker_class, "--chdir", str(ROOT), "--log-level", "warning"],
        env={**os.environ, "PYTHONPATH": str(ROOT)}, cwd=ROOT, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT, text=True, start_new_session=True)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                _post(port, b"up")
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
        time.sleep(1.5)  # every worker booted and waiting
        workers = [int(pid) for pid in Path(f"/proc/{server.pid}/task/{server.pid}/children").read_text().split()]
        assert len(workers) == 3
        before = sum(_waits(pid) for pid in workers)
        for n in range(connections):
            assert _post(port, f"form {n}".encode()) == f"form {n}".encode()
            time.sleep(0.05)  # the worker that answered back in its wait
        switches = sum(_waits(pid) for pid in workers) - before
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        output, _ = server.communicate(timeout=60)
    assert server.returncode == 0, output
    assert "Traceback" not in output, output
    return switches / connections


def test_a_connection_wakes_one_idle_worker_where_gunicorn_s_own_wakes_them_all():
    port = 18990 + os.getpid() % 40
    ours = _switches_a_connection("revops.web_worker.OneWokenSyncWorker", port, 40)
    theirs = _switches_a_connection("sync", port + 50, 40)
    # Ours: the worker that takes the connection waits for it (and, at times, for the client's close in gunicorn's
    # graceful close); gunicorn's select also wakes the two other idle workers, which find the connection taken.
    # Measured: 1.2 against 3.2–4.2 on an idle machine, 3.0 against 5.2 with the test suite running beside it
    # (a busy machine adds waits to both); the difference is the two other workers' wake-ups.
    assert ours <= 4, (ours, theirs)
    assert theirs >= ours + 1.2, (ours, theirs)


def test_serve_runs_gunicorn_with_this_worker():
    from revops.top.management.commands.serve import web_command

    command = web_command("gunicorn", "127.0.0.1:8000", True, 3, {})
    assert command[command.index("--worker-class") + 1] == "revops.web_worker.OneWokenSyncWorker"
