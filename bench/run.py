#!/usr/bin/env python3
"""Run every benchmark (bench/bench_*.py) and write docs/benchmarks.md with the machine and the date.

`python bench/run.py [--quick] [NAME ...]`: each module's `run(quick)` returns a Markdown section (a `## ` heading
and its tables). The file keeps what was written in it by hand: a section no benchmark wrote this time stays as it
is, and a rewritten section keeps its `### ` subsections that the new text does not have (the measured history of
earlier runs), after the new text.
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import re
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory = ""
    try:
        kb = int(next(x for x in Path("/proc/meminfo").read_text().splitlines() if x.startswith("MemTotal")).split()[1])
        memory = f", {kb / 1024 / 1024:.0f} GiB RAM"
    except (OSError, StopIteration, ValueError):
        pass
    return f"{cpu}, {os.cpu_count()} cores{memory}; Python {platform.python_version()} on {platform.system()}"


def _sections(text: str) -> tuple[str, list[tuple[str, str]]]:
    """The text before the first ``## `` heading, and each ``## `` section as (heading line, whole text)."""
    parts = re.split(r"(?m)^(?=## )", text)
    head, sections = parts[0], []
    for part in parts[1:]:
        sections.append((part.split("\n", 1)[0].strip(), part))
    return head, sections


def _subsections(section: str) -> list[tuple[str, str]]:
    """Each ``### `` subsection of a section as (heading line, whole text)."""
    parts = re.split(r"(?m)^(?=### )", section)
    return [(part.split("\n", 1)[0].strip(), part) for part in parts[1:]]


def merged(old: str, header: str, new_sections: list[str]) -> str:
    """The new file: ``header``, then the old file's sections in their order with each one a benchmark wrote this
    time replaced by the new text plus the old ``### `` subsections the new text lacks; then new sections the old file
    did not have."""
    _old_head, old_sections = _sections(old)
    fresh = {}
    for text in new_sections:
        for heading, section in _sections(text)[1] or [(text.split("\n", 1)[0].strip(), text)]:
            fresh[heading] = section
    out = []
    for heading, section in old_sections:
        if heading not in fresh:
            out.append(section.rstrip("\n") + "\n")
            continue
        new = fresh.pop(heading)
        kept = [sub for title, sub in _subsections(section) if title not in new]
        out.append("\n".join([new.rstrip("\n") + "\n", *(sub.rstrip("\n") + "\n" for sub in kept)]))
    out.extend(section.rstrip("\n") + "\n" for section in fresh.values())
    return header + "\n".join(out)


def run_one(path: Path, quick: bool) -> str:
    """Run one benchmark in its own process so each starts clean (own Django settings, own memory)."""
    code = (
        f"import importlib.util, sys; sys.path.insert(0, {str(ROOT)!r});"
        f"spec = importlib.util.spec_from_file_location('b', {str(path)!r}); m = importlib.util.module_from_spec(spec);"
        f"spec.loader.exec_module(m); print(m.run(quick={quick!r}))"
    )
    started = time.monotonic()
    # Each benchmark builds its own configuration: migrate's fresh-install defaults would only be in the way.
    env = {**os.environ, "LEADFLOW_DEFAULTS_ON_MIGRATE": "false"}
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, env=env)
    if result.returncode != 0:
        elapsed = time.monotonic() - started
        return f"## {path.stem}\n\nFAILED after {elapsed:.0f} s:\n\n```\n{result.stderr[-3000:]}\n```\n"
    return result.stdout.strip() + "\n"


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="smaller sizes (a smoke run, not the targets)")
    parser.add_argument("names", nargs="*", help="only these benchmarks, e.g. normalize routing")
    args = parser.parse_args()
    paths = sorted((ROOT / "bench").glob("bench_*.py"))
    if args.names:
        paths = [p for p in paths if p.stem.removeprefix("bench_") in args.names]
    sections = []
    for path in paths:
        print(f"running {path.stem}...", flush=True)
        sections.append(run_one(path, args.quick))
        print(sections[-1], flush=True)
    header = (
        "# Benchmarks\n\n"
        f"Written by `make bench` on {datetime.date.today().isoformat()}.\n\n"
        f"Machine: {machine()}.\n\n"
        + ("**Quick run: reduced sizes, not the targets.**\n\n" if args.quick else "")
        + "Each benchmark runs in its own process; sizes and targets are in each table.\n\n"
    )
    target = ROOT / "docs" / "benchmarks.md"
    old = target.read_text() if target.exists() else ""
    target.write_text(merged(old, header, sections))
    print("wrote docs/benchmarks.md")
    return 1 if any("FAILED" in s for s in sections) else 0


if __name__ == "__main__":
    sys.exit(main())
