"""Where the cores went while a benchmark ran: CPU seconds by part of the system, read from Linux's /proc.

A sustained rate is kept up only while every part's CPU a form, times the rate, fits in the machine's cores; the
parts (the web's processes, the workers, Redis, PostgreSQL, the benchmark's own client and Slack stand-in) say
which one to make cheaper. Without /proc (not Linux) the readings are empty and the report says so.
"""

from __future__ import annotations

import os
from pathlib import Path

PROC = Path("/proc")
# The parts, in the order a report lists them.
PARTS = ("web", "workers", "serve's other processes", "Redis", "PostgreSQL", "client and Slack stand-in")


def _ticks() -> int:
    return os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def _process(pid: str) -> tuple[str, int, float] | None:
    """(command line, parent's pid, CPU seconds used so far) of one process; None when it is gone or unreadable."""
    try:
        stat = (PROC / pid / "stat").read_text()
        command = (PROC / pid / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return None
    fields = stat[stat.rfind(")") + 2:].split()  # after the command name, which may hold spaces
    return command, int(fields[1]), (int(fields[11]) + int(fields[12])) / _ticks()


def part_of(command: str, *, pid: int, under_serve: bool, redis_port: int | None) -> str | None:
    """Which part a process belongs to (None: not the benchmark's)."""
    if pid == os.getpid():
        return "client and Slack stand-in"
    if under_serve:
        if "gunicorn" in command:
            return "web"
        if "rqworker" in command:
            return "workers"
        return "serve's other processes"
    if redis_port is not None and ("valkey" in command or "redis-server" in command) and str(redis_port) in command:
        return "Redis"
    if Path(command.split(" ", 1)[0]).name.startswith("postgres"):  # the server and each connection's backend
        return "PostgreSQL"
    return None


def cpu_snapshot(*, serve_pid: int, redis_port: int | None) -> dict[int, tuple[str, float]]:
    """Every benchmark process's part and CPU seconds so far (empty without /proc): ``serve_pid`` and the processes
    it started (they run in sessions of their own, so found by parent), the Redis on ``redis_port``, PostgreSQL."""
    if not PROC.is_dir():
        return {}
    processes = _processes()
    serve = _with_descendants(processes, serve_pid)
    found: dict[int, tuple[str, float]] = {}
    for pid, (command, _, seconds) in processes.items():
        part = part_of(command, pid=pid, under_serve=pid in serve, redis_port=redis_port)
        if part is not None:
            found[pid] = (part, seconds)
    return found


def _processes() -> dict[int, tuple[str, int, float]]:
    processes = {int(entry.name): _process(entry.name) for entry in PROC.iterdir() if entry.name.isdigit()}
    return {pid: process for pid, process in processes.items() if process is not None}


def _with_descendants(processes: dict[int, tuple[str, int, float]], root: int) -> set[int]:
    """``root`` and every process started under it (found by parent: they may run in sessions of their own)."""
    tree = {root}
    grown = True
    while grown:
        more = {pid for pid, (_, parent, _) in processes.items() if parent in tree} - tree
        tree |= more
        grown = bool(more)
    return tree


def process_tree_cpu(root: int) -> float:
    """CPU seconds so far of ``root`` and the processes under it (0 without /proc)."""
    if not PROC.is_dir():
        return 0.0
    processes = _processes()
    return sum(processes[pid][2] for pid in _with_descendants(processes, root) if pid in processes)


def postgres_cluster_cpu(port: str) -> float:
    """CPU seconds so far of the PostgreSQL cluster listening on ``port`` alone (its postmaster, ``-p port``, and the
    postmaster's children): two benchmarks side by side, each with its own cluster, each count their own."""
    if not PROC.is_dir():
        return 0.0
    processes = _processes()
    masters = {pid for pid, (command, _, _) in processes.items()
               if Path(command.split(" ", 1)[0]).name == "postgres" and f" -p {port} " in f"{command} "}
    return sum(seconds for pid, (_, parent, seconds) in processes.items() if pid in masters or parent in masters)


def cpu_used(before: dict[int, tuple[str, float]], after: dict[int, tuple[str, float]]) -> dict[str, float]:
    """CPU seconds each part used between two snapshots; a process started in between counts from zero. A process
    gone by the second snapshot is not counted (the benchmark's processes live for the whole run)."""
    used = dict.fromkeys(PARTS, 0.0)
    for pid, (part, seconds) in after.items():
        used[part] += seconds - before.get(pid, (part, 0.0))[1]
    return used
