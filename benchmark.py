#!/usr/bin/env python3
"""Benchmark etl.py on the embedded engine with generated data of any size."""

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

from sparkify import sample_data

PROJECT_DIR = Path(__file__).resolve().parent

DESCRIPTION = """\
Generate N events (in daily log files) and M song files with the project's
generator (kept under bench-data/ and reused), then run create_tables.py and
etl.py on the embedded DuckDB engine as separate processes, and report wall
time per step, records per second and peak memory (max RSS of the etl.py
process). Also measures the floor the same way: a process in which DuckDB only
scans the event files and Python reads each song file once.

Then the daily run (unless --no-daily): a full load of every day but the last,
then a plain etl.py once the last day's file arrives (it loads that file only),
then one more with nothing new; each as its own process, medians over --runs.

Figures are medians over --runs runs. Timing is not asserted anywhere: shared
machines are noisy, so run it on a quiet one and report what it prints."""

FLOOR = """
import duckdb, glob, os, sys
events, songs = sys.argv[1], sys.argv[2]
duckdb.connect().execute("SELECT COUNT(*) FROM read_ndjson(?, columns={'ts': 'BIGINT'})",
                         [sorted(glob.glob(os.path.join(events, '**', '*.json'), recursive=True))]).fetchall()
for folder, _, names in os.walk(songs):
    for name in names:
        with open(os.path.join(folder, name), 'rb') as fh:
            fh.read()
"""


def run_measured(argv: list[str]) -> tuple[float, float, str]:
    """Run a process; return (wall seconds, peak RSS in MB, stdout)."""
    started = time.perf_counter()
    with tempfile.TemporaryFile() as out:
        process = subprocess.Popen(argv, stdout=out, stderr=subprocess.PIPE, cwd=PROJECT_DIR)
        _, status, usage = os.wait4(process.pid, 0)
        wall = time.perf_counter() - started
        stderr = process.stderr.read().decode()
        process.stderr.close()
        out.seek(0)
        stdout = out.read().decode()
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"error: {' '.join(argv[1:3])} failed:\n{stderr.strip()}")
    return wall, usage.ru_maxrss / 1024, stdout


def ensure_data(folder: Path, events: int, songs: int, seed: int) -> Path:
    marker = folder / "COMPLETE"
    if marker.exists():
        print(f"data: reusing {folder}")
        return folder
    print(f"data: generating {events:,} events and {songs:,} song files into {folder} ...", flush=True)
    started = time.perf_counter()
    summary = sample_data.generate(folder, events=events, songs=songs, seed=seed)
    marker.write_text(summary.line() + "\n")
    print(f"data: {summary.line()} in {time.perf_counter() - started:.0f} s")
    return folder


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=DESCRIPTION, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--events", type=int, default=1_000_000, help="events to generate (default 1,000,000)")
    p.add_argument("--songs", type=int, default=50_000, help="song files to generate (default 50,000)")
    p.add_argument("--seed", type=int, default=sample_data.DEFAULT_SEED, help="generator seed")
    p.add_argument("--runs", type=int, default=3, help="etl.py runs; medians are reported (default 3)")
    p.add_argument(
        "--data-dir", type=Path, default=PROJECT_DIR / "bench-data",
        help="where generated data is kept and reused (default bench-data/, git-ignored)",
    )
    p.add_argument("--no-daily", action="store_true", help="skip the daily-run measurement")
    p.add_argument("--json", action="store_true", help="print the results as JSON")
    args = p.parse_args(argv)
    if args.events < 1 or args.songs < 1 or args.runs < 1:
        p.error("--events, --songs and --runs must be 1 or more")

    data = ensure_data(args.data_dir / f"{args.events}-events-{args.songs}-songs-seed{args.seed}", args.events, args.songs, args.seed)
    python = sys.executable
    with tempfile.TemporaryDirectory(prefix="sparkify-bench-") as work:
        config = Path(work) / "bench.cfg"
        config.write_text(
            "[DWH]\nENGINE = duckdb\nDUCKDB_PATH = bench.duckdb\n"
            f"[S3]\nLOG_DATA = {data / 'log_data'}\nSONG_DATA = {data / 'song_data'}\n"
            f"LOG_JSONPATH = {data / 'log_json_path.json'}\n"
        )
        runs = []
        for number in range(1, args.runs + 1):
            run_measured([python, "create_tables.py", "--config", str(config), "--yes", "-q"])
            wall, rss, stdout = run_measured([python, "etl.py", "--config", str(config), "--json", "-q"])
            summary = json.loads(stdout)
            runs.append((wall, rss, summary))
            print(f"run {number}: {wall:.2f} s wall, {rss:,.0f} MB peak RSS", flush=True)
        floor = [run_measured([python, "-c", FLOOR, str(data / "log_data"), str(data / "song_data")]) for _ in range(args.runs)]
        daily = None if args.no_daily else measure_daily(python, data, Path(work), args.runs)

    summary = runs[-1][2]
    events = summary["rows"]["staging_events"]
    songs = summary["rows"]["staging_songs"]
    steps = {name: statistics.median(run[2]["step_seconds"][name] for run in runs) for name in summary["step_seconds"]}
    result = {
        "events": events,
        "song_files": songs,
        "runs": args.runs,
        "wall_seconds": round(statistics.median(run[0] for run in runs), 2),
        "peak_rss_mb": round(max(run[1] for run in runs)),
        "events_per_second": round(events / statistics.median(run[0] for run in runs)),
        "step_seconds": {name: round(secs, 2) for name, secs in steps.items()},
        "floor_wall_seconds": round(statistics.median(f[0] for f in floor), 2),
        "floor_peak_rss_mb": round(max(f[1] for f in floor)),
        "cpus": os.cpu_count(),
        "daily": daily,
    }
    if args.json:
        print(json.dumps(result, indent=2))
        return 0
    rates = {"staging_events": events, "staging_songs": songs, "songplays": summary["rows"]["songplays"]}
    print(f"\netl.py on {events:,} events and {songs:,} song files (median of {args.runs} runs, {os.cpu_count()} CPUs)")
    print(f"  {'step':<16} {'seconds':>8} {'records/s':>12}")
    notes = {"staging_songs": "  (from the start of staging: song files are read while the events load)"}
    for name, secs in steps.items():
        rate = f"{rates[name] / secs:,.0f}" if name in rates and secs else ""
        print(f"  {name:<16} {secs:>8.2f} {rate:>12}{notes.get(name, '')}")
    print(f"  {'whole run':<16} {result['wall_seconds']:>8.2f} {result['events_per_second']:>12,}  (wall, process start to exit)")
    print(f"  peak RSS: {result['peak_rss_mb']:,} MB")
    print(f"  floor (DuckDB scans the events, Python reads each song file once): "
          f"{result['floor_wall_seconds']:.2f} s, {result['floor_peak_rss_mb']:,} MB")
    if daily:
        print(f"\nincremental (median of {args.runs} runs):")
        print(f"  full load of all days but the last  {daily['full_seconds']:>7.2f} s")
        print(f"  daily run: the last day's file      {daily['daily_seconds']:>7.2f} s"
              f"  ({daily['daily_share']:.0%} of the full load; {daily['daily_events']:,} new events)")
        print(f"  run with nothing new                {daily['nothing_new_seconds']:>7.2f} s")
    return 0


def measure_daily(python: str, data: Path, work: Path, runs: int) -> dict:
    """A full load of every day but the last, then the last day as a daily run, then a run with nothing new."""
    days = sorted((data / "log_data").rglob("*.json"))
    log_data = work / "daily" / "log_data"
    config = work / "daily.cfg"
    config.write_text(
        "[DWH]\nENGINE = duckdb\nDUCKDB_PATH = daily.duckdb\n"
        f"[S3]\nLOG_DATA = {log_data}\nSONG_DATA = {data / 'song_data'}\n"
        f"LOG_JSONPATH = {data / 'log_json_path.json'}\n"
    )

    def link(day: Path) -> None:  # the input folder holds links to the generated files
        target = log_data / day.relative_to(data / "log_data")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.symlink_to(day)

    full, daily, idle = [], [], []
    new_events = 0
    for _ in range(runs):
        if log_data.exists():
            for path in sorted(log_data.rglob("*"), reverse=True):
                path.rmdir() if path.is_dir() and not path.is_symlink() else path.unlink()
        for day in days[:-1]:
            link(day)
        run_measured([python, "create_tables.py", "--config", str(config), "--yes", "-q"])
        full.append(run_measured([python, "etl.py", "--config", str(config), "--json", "-q"])[0])
        link(days[-1])
        wall, _, stdout = run_measured([python, "etl.py", "--config", str(config), "--json", "-q"])
        daily.append(wall)
        new_events = json.loads(stdout)["rows"]["staging_events"]
        idle.append(run_measured([python, "etl.py", "--config", str(config), "--json", "-q"])[0])
    full_s, daily_s = statistics.median(full), statistics.median(daily)
    return {
        "full_seconds": round(full_s, 2),
        "daily_seconds": round(daily_s, 2),
        "nothing_new_seconds": round(statistics.median(idle), 2),
        "daily_share": round(daily_s / full_s, 3),
        "daily_events": new_events,
    }


if __name__ == "__main__":
    sys.exit(main())
