#!/usr/bin/env python3
"""A/B of full loads: two versions of the project (each its own folder and Python) on the same data, alternating."""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import benchmark

DESCRIPTION = """\
Run create_tables.py and a full etl.py load of the same generated data with
two versions of the project, A then B, --runs times, alternating (the
machine's speed drifts: alternating spreads the drift over both), and print
each run and the medians. A version is FOLDER[:PYTHON]: a checkout (say
`git worktree add /tmp/pre 0395181`) and the Python to run it with (default:
this one). Row counts are checked against the input as benchmark.py does."""


def version(text: str) -> tuple[Path, str]:
    folder, _, python = text.partition(":")
    if not (Path(folder) / "etl.py").is_file():
        raise argparse.ArgumentTypeError(f"{folder} has no etl.py: give a checkout of the project")
    return Path(folder).resolve(), python or sys.executable


def full_load(folder: Path, python: str, data: Path, work: Path) -> tuple[float, float]:
    """One create_tables.py + etl.py run of a version; (wall seconds, peak RSS MB) of etl.py."""
    config = benchmark.write_config(work / f"ab-{folder.name}.cfg", data, data / "log_data")
    subprocess.run([python, "create_tables.py", "--config", str(config), "--yes", "-q"], cwd=folder, check=True,
                   stdout=subprocess.DEVNULL)
    started = time.perf_counter()
    with tempfile.TemporaryFile() as out:
        process = subprocess.Popen([python, "etl.py", "--config", str(config), "--json", "-q"], cwd=folder, stdout=out,
                                   stderr=subprocess.PIPE)
        _, status, usage = os.wait4(process.pid, 0)
        wall = time.perf_counter() - started
        stderr = process.stderr.read().decode()
        process.stderr.close()
        out.seek(0)
        summary = json.loads(out.read() or b"null")
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"error: etl.py of {folder} failed:\n{stderr.strip()}")
    benchmark.check_rows(summary, data)
    return wall, usage.ru_maxrss / 1024


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        description=DESCRIPTION, formatter_class=argparse.RawDescriptionHelpFormatter, allow_abbrev=False
    )
    p.add_argument("a", type=version, metavar="A", help="FOLDER[:PYTHON] of version A")
    p.add_argument("b", type=version, metavar="B", help="FOLDER[:PYTHON] of version B")
    p.add_argument("--data", type=Path, required=True, help="a data folder benchmark.py generated (with its COMPLETE marker)")
    p.add_argument("--runs", type=int, default=5, help="runs of each version (default 5)")
    args = p.parse_args(argv)
    walls: dict[str, list[float]] = {"A": [], "B": []}
    with tempfile.TemporaryDirectory(prefix="sparkify-ab-") as work:
        for number in range(1, args.runs + 1):
            for name, (folder, python) in (("A", args.a), ("B", args.b)):
                wall, rss = full_load(folder, python, args.data.resolve(), Path(work))
                walls[name].append(wall)
                print(f"run {number} {name} ({folder.name}): {wall:.2f} s wall, {rss:,.0f} MB peak RSS", flush=True)
    a, b = statistics.median(walls["A"]), statistics.median(walls["B"])
    print(f"medians of {args.runs}: A {a:.2f} s, B {b:.2f} s; B/A {b / a:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
