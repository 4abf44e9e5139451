#!/usr/bin/env python3
"""Run a command against a throwaway PostgreSQL cluster: `with_postgres.py -- CMD ...`.

The cluster lives in a temporary directory, listens on a free loopback port with fsync off, and is stopped by PID
and deleted when the command ends (whatever its exit code). As root, the server runs as the `postgres` user.
Installs PostgreSQL with apt when no server binaries are found.
"""

from __future__ import annotations

import glob
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time


def find_bin_dir() -> str:
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), reverse=True)
    if not candidates and shutil.which("initdb"):
        return os.path.dirname(os.path.realpath(shutil.which("initdb")))
    if not candidates:
        if os.geteuid() != 0:
            sys.exit("PostgreSQL server binaries not found; install the 'postgresql' package.")
        print("Installing PostgreSQL (apt)...", flush=True)
        subprocess.run(["apt-get", "update", "-qq"], check=True)
        subprocess.run(["apt-get", "install", "-y", "-qq", "postgresql"], check=True,
                       env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"})
        candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), reverse=True)
    return os.path.dirname(candidates[0])


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main() -> int:
    args = sys.argv[1:]
    if args and args[0] == "--":
        args = args[1:]
    if not args:
        sys.exit("usage: with_postgres.py -- COMMAND [ARGS...]")
    bin_dir = find_bin_dir()
    as_root = os.geteuid() == 0
    run_as = ["runuser", "-u", "postgres", "--"] if as_root else []
    workdir = tempfile.mkdtemp(prefix="leadflow-pg-")
    data = os.path.join(workdir, "data")
    if as_root:
        shutil.chown(workdir, "postgres", "postgres")
        os.chmod(workdir, 0o700)
    port = free_port()
    subprocess.run(run_as + [f"{bin_dir}/initdb", "-D", data, "-U", "postgres", "--auth=trust", "-E", "UTF8",
                             "--no-sync"], check=True, stdout=subprocess.DEVNULL)
    log = open(os.path.join(workdir, "server.log"), "wb")  # noqa: SIM115 - closed in finally
    server = subprocess.Popen(
        run_as + [f"{bin_dir}/postgres", "-D", data, "-p", str(port), "-h", "127.0.0.1", "-k", workdir,
                  "-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off",
                  "-c", "max_connections=100"],
        stdout=log, stderr=subprocess.STDOUT,
    )
    try:
        for _ in range(100):
            ready = subprocess.run([f"{bin_dir}/pg_isready", "-h", "127.0.0.1", "-p", str(port)],
                                   stdout=subprocess.DEVNULL).returncode == 0
            if ready:
                break
            if server.poll() is not None:
                sys.exit(f"PostgreSQL did not start; see {workdir}/server.log")
            time.sleep(0.1)
        subprocess.run(["psql", "-h", "127.0.0.1", "-p", str(port), "-U", "postgres", "-qc",
                        "CREATE DATABASE leadflow"], check=True)
        env = {**os.environ, "DATABASE_URL": f"postgres://postgres@127.0.0.1:{port}/leadflow"}
        print(f"PostgreSQL {os.path.basename(os.path.dirname(bin_dir))} on port {port}", flush=True)
        return subprocess.run(args, env=env).returncode
    finally:
        # Stop by the postmaster's own PID (runuser does not pass SIGINT on): SIGINT is PostgreSQL's fast shutdown.
        pid_file = os.path.join(data, "postmaster.pid")
        try:
            with open(pid_file) as handle:
                os.kill(int(handle.readline().strip()), signal.SIGINT)
        except (OSError, ValueError):
            server.send_signal(signal.SIGINT)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        log.close()
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
