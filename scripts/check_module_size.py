#!/usr/bin/env python3
"""Fail when a Python module outside migrations is over the size limit (600 lines): split it by concern.

Usage: check_module_size.py [--max N]. Reads the files git tracks plus untracked ones it does not ignore.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def python_files() -> list[Path]:
    """The project's Python files as git sees them (tracked, and new ones not ignored)."""
    out = subprocess.run(["git", "ls-files", "--cached", "--others", "--exclude-standard", "*.py"], cwd=ROOT,
                         check=True, capture_output=True, text=True).stdout
    return [ROOT / line for line in out.splitlines() if line and "/migrations/" not in f"/{line}"]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--max", type=int, default=600)
    limit = parser.parse_args().max
    too_big = []
    for path in python_files():
        if path.exists():
            lines = sum(1 for _ in path.open(encoding="utf-8"))
            if lines > limit:
                too_big.append((lines, path.relative_to(ROOT)))
    for lines, path in sorted(too_big, reverse=True):
        print(f"{path}: {lines} lines (limit {limit}): split it by concern")
    if not too_big:
        print(f"module size: every module is within {limit} lines")
    return 1 if too_big else 0


if __name__ == "__main__":
    sys.exit(main())
