"""``manage.py serve`` as an operator runs it: a real process tree, stopped with Ctrl-C (SIGINT to its process group,
as a terminal sends it). Workers, scheduler and cron stop before the embedded Redis; nothing prints a traceback;
the request log leaves out static files and says a refusal in one line; the debug page is never shown unless
DEBUG is set on purpose."""

import logging
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from django.conf import settings

from revops.base.logfilters import RefusalsOnOneLine, SkipStaticRequests

ROOT = Path(settings.BASE_DIR)


def _get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


def start_serve(tmp_path, port: int, *args: str) -> tuple[subprocess.Popen, str]:
    """A migrated fresh SQLite database and ``manage.py serve`` on it (its own process group, as a terminal runs
    it), once its login page answers; returns the process and the base URL."""
    env = {k: v for k, v in os.environ.items() if k not in {"DEBUG", "REDIS_URL", "SECRET_KEY", "ALLOWED_HOSTS"}}
    env.update(DATABASE_URL=f"sqlite:///{tmp_path}/db.sqlite3", LEADFLOW_RUN_DIR=str(tmp_path / "run"),
               PYTHONPATH=str(ROOT), MEDIA_ROOT=str(tmp_path / "media"))
    manage = [sys.executable, str(ROOT / "manage.py")]
    subprocess.run(manage + ["migrate", "--noinput", "-v", "0"], env=env, check=True, cwd=ROOT,
                   stdin=subprocess.DEVNULL, timeout=240)
    serve = subprocess.Popen(manage + ["serve", "--addr", f"127.0.0.1:{port}", *args], env=env, cwd=ROOT,
                             stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                             start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            if _get(f"{base}/admin/login/")[0] == 200:
                return serve, base
        except OSError:
            time.sleep(1)
    os.killpg(serve.pid, signal.SIGINT)
    output, _ = serve.communicate(timeout=120)
    pytest.fail(f"the web server did not come up:\n{output}")


@pytest.mark.own_sqlite_file
def test_ctrl_c_stops_everything_quietly_with_redis_last(tmp_path):
    serve, base = start_serve(tmp_path, 18700 + os.getpid() % 200, "--web", "runserver")
    try:
        assert _get(f"{base}/static/admin/css/base.css")[0] == 200
        status, body = _get(f"{base}/no-such-page/")
        assert status == 404 and "There is nothing here" in body and "URLconf" not in body  # never the debug page
        refused, _ = _get(f"{base}/api/leads/")
        assert refused in (401, 403)
        time.sleep(2)  # let the workers and the cron process register with Redis
    finally:
        os.killpg(serve.pid, signal.SIGINT)  # the terminal's Ctrl-C: to every process in the foreground group
        output, _ = serve.communicate(timeout=120)
    assert serve.returncode == 0, output
    assert "Traceback" not in output and "ConnectionError" not in output, output
    assert "Stopped web, workers and scheduler, cron, then Redis." in output
    assert "/static/" not in output  # request lines without static files
    assert sum("/api/leads/" in line for line in output.splitlines()) == 1, output


def _record(name: str, message: str, status: int, exc: bool = False) -> logging.LogRecord:
    exc_info = None
    if exc:
        try:
            raise PermissionError("refused")
        except PermissionError:
            exc_info = sys.exc_info()
    record = logging.LogRecord(name, logging.WARNING, __file__, 1, message, (), exc_info)
    record.status_code = status
    return record


def test_a_refusal_is_one_line_and_static_requests_are_left_out():
    refusal = _record("django.request", "Forbidden (Permission denied): /admin/revops/", 403, exc=True)
    assert RefusalsOnOneLine().filter(refusal) and refusal.exc_info is None
    assert not RefusalsOnOneLine().filter(_record("django.server", '"GET /admin/revops/ HTTP/1.1" 403 10', 403))
    failure = _record("django.request", "Internal Server Error: /x/", 500, exc=True)
    assert RefusalsOnOneLine().filter(failure) and failure.exc_info is not None
    assert not SkipStaticRequests().filter(_record("django.server", '"GET /static/admin/css/base.css HTTP/1.1" 200 1',
                                                   200))
    assert SkipStaticRequests().filter(_record("django.server", '"GET /admin/ HTTP/1.1" 200 1', 200))
