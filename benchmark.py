#!/usr/bin/env python3
"""Benchmark etl.py on the embedded engine with generated data of any size."""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

from sparkify import sample_data
from sparkify.engines.duckdb import PROFILE_ENV

PROJECT_DIR = Path(__file__).resolve().parent

DESCRIPTION = """\
Generate N events (in daily log files) and M song files with the project's
generator (kept under bench-data/ and reused), then run create_tables.py and
etl.py on the embedded DuckDB engine as separate processes, and report wall
time per step, records per second and peak memory (max RSS of the etl.py
process). Also measures the floor: reading the input once inside one process,
after imports (Python reads each song file once; DuckDB's NDJSON reader, and
orjson where installed, scan ts, page and userId of the events), each part
the least of --runs runs; the floor is the song files plus the fastest scan.
--floor-python adds the readers of another Python (say, DuckDB 1.5.6).

Then the daily run (unless --no-daily): a full load of every day but the last,
then a plain etl.py once the last day's file arrives (it loads that file only),
then one more with nothing new; each as its own process, medians over --runs.

With --sizes (e.g. 100000:5000,1000000:50000,4000000:100000,10000000:200000,
events:song files), it measures the full load at each size instead and prints
the scaling table: wall, floor, their ratio, events/s, peak RSS and seconds per
step. Linear cost means the ratio stays flat. Every run's row counts are
checked against what the generator wrote (events, song files, plays).
--profile DIR keeps DuckDB's profile (EXPLAIN ANALYZE, JSON) of each statement
that writes rows, per size, in DIR/<events>/ (profiling slows DuckDB down:
take the timings from a run without it).

Figures are medians over --runs runs. Timing is not asserted anywhere: shared
machines are noisy, so run it on a quiet one and report what it prints."""

# The floor: reading the input once, the simple way, inside one process and
# after its imports: Python reads every song file once, then each reader scans
# the event files for ts, page and userId (DuckDB's NDJSON reader; orjson line
# by line, where installed). Each part is timed --runs times in the same
# process and the least is kept: the first run pays for cold caches and lazy
# loading, which a full load pays once too, but not once per run. records=true:
# DuckDB's guess of `records` is slow with few declared columns (one column:
# 17 s instead of 0.5 s on DuckDB 2.0.0, see docs/performance.md).
FLOOR = """
import glob, json, os, sys, time
events, songs, runs = sys.argv[1], sys.argv[2], int(sys.argv[3])
files = sorted(glob.glob(os.path.join(events, '**', '*.json'), recursive=True))


def least(scan):
    seconds = []
    for _ in range(runs):
        started = time.perf_counter()
        scan()
        seconds.append(time.perf_counter() - started)
    return min(seconds)


def read_songs():
    for folder, _, names in os.walk(songs):
        for name in names:
            with open(os.path.join(folder, name), 'rb') as fh:
                fh.read()


found = {'songs': least(read_songs)}
try:
    import duckdb
except ImportError:
    pass
else:
    con = duckdb.connect()
    con.execute('SET enable_progress_bar = false')  # no bar on stderr
    query = ("SELECT COUNT(*), COUNT(userId), COUNT(*) FILTER (WHERE page = 'NextSong'), MAX(ts) "
             "FROM read_ndjson(?, columns={'ts': 'BIGINT', 'page': 'VARCHAR', 'userId': 'VARCHAR'}, records=true)")
    found['duckdb ' + duckdb.__version__] = least(lambda: con.execute(query, [files]).fetchall())
try:
    import orjson
except ImportError:
    pass
else:
    def scan_orjson():
        loads, plays, users, latest = orjson.loads, 0, 0, 0
        for path in files:
            with open(path, 'rb') as fh:
                for line in fh.read().splitlines():
                    if not line.strip():
                        continue
                    record = loads(line)
                    plays += record.get('page') == 'NextSong'
                    users += record.get('userId') is not None
                    latest = max(latest, record['ts'])
    found['orjson ' + orjson.__version__] = least(scan_orjson)
print(json.dumps(found))
"""


def run_measured(argv: list[str], env: dict | None = None) -> tuple[float, float, str]:
    """Run a process; return (wall seconds, peak RSS in MB, stdout)."""
    started = time.perf_counter()
    with tempfile.TemporaryFile() as out:
        process = subprocess.Popen(argv, stdout=out, stderr=subprocess.PIPE, cwd=PROJECT_DIR, env=env)
        _, status, usage = os.wait4(process.pid, 0)
        wall = time.perf_counter() - started
        stderr = process.stderr.read().decode()
        process.stderr.close()
        out.seek(0)
        stdout = out.read().decode()
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"error: {' '.join(argv[1:3])} failed:\n{stderr.strip()}")
    return wall, usage.ru_maxrss / 1024, stdout


# what the generator wrote, as its summary line (kept in the COMPLETE marker) says
_WROTE = re.compile(r"wrote (\d+) song files .* and (\d+) events \((\d+) NextSong")


def expected_rows(data: Path) -> dict[str, int]:
    """The row counts one full load of the generated data must give."""
    songs, events, plays = map(int, _WROTE.search((data / "COMPLETE").read_text()).groups())
    return {"staging_events": events, "staging_songs": songs, "songplays": plays}


def check_rows(summary: dict, data: Path) -> None:
    """Stop when a run's row counts differ from the input's: a fast wrong answer is no result."""
    expected = expected_rows(data)
    wrong = {table: (summary["rows"][table], count) for table, count in expected.items() if summary["rows"][table] != count}
    if wrong or summary["rejected"]:
        raise SystemExit(f"error: wrong row counts on {data.name} (got, expected): {wrong}, {summary['rejected']} rejected")


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


def parse_sizes(text: str) -> list[tuple[int, int]]:
    """--sizes: events:songs pairs, comma-separated."""
    try:
        sizes = [tuple(int(n) for n in pair.split(":")) for pair in text.split(",")]
    except ValueError:
        sizes = []
    if not sizes or any(len(size) != 2 or min(size) < 1 for size in sizes):
        raise argparse.ArgumentTypeError(f"{text!r} is not a list like 100000:5000,1000000:50000 (events:song files)")
    return sizes


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=DESCRIPTION, formatter_class=argparse.RawDescriptionHelpFormatter,
                                allow_abbrev=False)
    p.add_argument("--events", type=int, default=1_000_000, help="events to generate (default 1,000,000)")
    p.add_argument("--songs", type=int, default=50_000, help="song files to generate (default 50,000)")
    p.add_argument("--sizes", type=parse_sizes, help="events:songs pairs to measure a full load at, e.g. "
                   "100000:5000,1000000:50000,4000000:100000,10000000:200000 (prints the scaling table)")
    p.add_argument("--seed", type=int, default=sample_data.DEFAULT_SEED, help="generator seed")
    p.add_argument("--runs", type=int, default=3, help="etl.py runs; medians are reported (default 3)")
    p.add_argument(
        "--data-dir", type=Path, default=PROJECT_DIR / "bench-data",
        help="where generated data is kept and reused (default bench-data/, git-ignored)",
    )
    p.add_argument("--no-daily", action="store_true", help="skip the daily-run measurement")
    p.add_argument("--floor-python", action="append", default=[], metavar="PYTHON",
                   help="another Python whose readers (duckdb, orjson) the floor also measures, e.g. a virtual "
                   "environment with another DuckDB version; repeatable")
    p.add_argument("--profile", type=Path, metavar="DIR", help="keep DuckDB's profile of each statement that writes rows in DIR")
    p.add_argument("--json", action="store_true", help="print the results as JSON")
    args = p.parse_args(argv)
    if args.events < 1 or args.songs < 1 or args.runs < 1:
        p.error("--events, --songs and --runs must be 1 or more")

    sizes = args.sizes or [(args.events, args.songs)]
    results = []
    for events, songs in sizes:
        data = ensure_data(args.data_dir / f"{events}-events-{songs}-songs-seed{args.seed}", events, songs, args.seed)
        profile = args.profile / str(events) if args.profile else None
        results.append(measure_full(sys.executable, data, args.runs, profile, args.floor_python))
    if args.sizes:
        if args.json:
            print(json.dumps(results, indent=2))
        else:
            print_scaling(results, args.runs)
        return 0

    result = results[0]
    result["daily"] = None if args.no_daily else measure_daily(sys.executable, data, args.runs)
    if args.json:
        print(json.dumps(result, indent=2))
        return 0
    events, songs = result["events"], result["song_files"]
    rates = {"staging_events": events, "staging_songs": songs, "songplays": result["songplays"]}
    print(f"\netl.py on {events:,} events and {songs:,} song files (median of {args.runs} runs, {os.cpu_count()} CPUs)")
    print(f"  {'step':<16} {'seconds':>8} {'records/s':>12}")
    notes = {"staging_songs": "  (from the start of staging: song files are read while the events load)"}
    for name, secs in result["step_seconds"].items():
        rate = f"{rates[name] / secs:,.0f}" if name in rates and secs else ""
        print(f"  {name:<16} {secs:>8.2f} {rate:>12}{notes.get(name, '')}")
    print(f"  {'whole run':<16} {result['wall_seconds']:>8.2f} {result['events_per_second']:>12,}  (wall, process start to exit)")
    print(f"  peak RSS: {result['peak_rss_mb']:,} MB")
    print(f"  floor: {result['floor_wall_seconds']:.2f} s ({result['floor_ratio']:.1f}x): Python reads each song file once "
          f"({result['floor_songs_seconds']:.2f} s), {result['floor_reader']} scans the events")
    print("  scans of ts, page, userId over the events (least of runs, in one process, after imports): "
          + ", ".join(f"{reader} {secs:.2f} s" for reader, secs in result["floor_scans"].items()))
    daily = result["daily"]
    if daily:
        print(f"\nincremental (median of {args.runs} runs):")
        print(f"  full load of all days but the last  {daily['full_seconds']:>7.2f} s")
        print(f"  daily run: the last day's file      {daily['daily_seconds']:>7.2f} s"
              f"  ({daily['daily_share']:.0%} of the full load; {daily['daily_events']:,} new events)")
        print(f"  run with nothing new                {daily['nothing_new_seconds']:>7.2f} s")
    return 0


def write_config(path: Path, data: Path, log_data: Path) -> Path:
    """A dwh.cfg for a DuckDB warehouse beside it, reading log_data and the generated songs."""
    path.write_text(
        f"[DWH]\nENGINE = duckdb\nDUCKDB_PATH = {path.stem}.duckdb\n"
        f"[S3]\nLOG_DATA = {log_data}\nSONG_DATA = {data / 'song_data'}\n"
        f"LOG_JSONPATH = {data / 'log_json_path.json'}\n"
    )
    return path


def measure_floor(pythons: list[str], data: Path, runs: int) -> dict:
    """The floor: the song files read once plus the fastest scan of the events, each the least of runs.

    Every Python in pythons runs FLOOR with the readers it can import (the
    first is this one; others, from --floor-python, may have another DuckDB).
    """
    songs, scans = [], {}
    for python in pythons:
        _, _, stdout = run_measured([python, "-c", FLOOR, str(data / "log_data"), str(data / "song_data"), str(runs)])
        found = json.loads(stdout)
        songs.append(found.pop("songs"))
        scans.update({reader: seconds for reader, seconds in found.items() if reader not in scans})
    if not scans:
        raise SystemExit(f"error: no reader for the floor in {', '.join(pythons)}: install duckdb or orjson there")
    fastest = min(scans, key=scans.get)
    return {"seconds": min(songs) + scans[fastest], "songs_seconds": min(songs), "scans": scans, "fastest": fastest}


def measure_full(python: str, data: Path, runs: int, profile: Path | None = None,
                 floor_pythons: Sequence[str] = ()) -> dict:
    """create_tables.py + a full etl.py load of the data, then the floor; medians over runs."""
    env = {**os.environ, PROFILE_ENV: str(profile)} if profile else None
    with tempfile.TemporaryDirectory(prefix="sparkify-bench-") as work:
        config = write_config(Path(work) / "bench.cfg", data, data / "log_data")
        measured = []
        for number in range(1, runs + 1):
            run_measured([python, "create_tables.py", "--config", str(config), "--yes", "-q"])
            wall, rss, stdout = run_measured([python, "etl.py", "--config", str(config), "--json", "-q"], env)
            summary = json.loads(stdout)
            check_rows(summary, data)
            measured.append((wall, rss, summary))
            print(f"{data.name}, run {number}: {wall:.2f} s wall, {rss:,.0f} MB peak RSS", flush=True)
    floor = measure_floor([python, *floor_pythons], data, runs)
    summary = measured[-1][2]
    wall = statistics.median(run[0] for run in measured)
    floor_wall = floor["seconds"]
    steps = {name: statistics.median(run[2]["step_seconds"][name] for run in measured) for name in summary["step_seconds"]}
    return {
        "events": summary["rows"]["staging_events"],
        "song_files": summary["rows"]["staging_songs"],
        "songplays": summary["rows"]["songplays"],
        "runs": runs,
        "wall_seconds": round(wall, 2),
        "peak_rss_mb": round(max(run[1] for run in measured)),
        "events_per_second": round(summary["rows"]["staging_events"] / wall),
        "step_seconds": {name: round(secs, 2) for name, secs in steps.items()},
        "floor_wall_seconds": round(floor_wall, 2),
        "floor_songs_seconds": round(floor["songs_seconds"], 2),
        "floor_scans": {reader: round(secs, 2) for reader, secs in floor["scans"].items()},
        "floor_reader": floor["fastest"],
        "floor_ratio": round(wall / floor_wall, 2),
        "cpus": os.cpu_count(),
    }


def print_scaling(results: list[dict], runs: int) -> None:
    """The scaling table: linear cost means a flat ratio to the floor."""
    steps = list(results[0]["step_seconds"])
    scans = list(dict.fromkeys(reader for r in results for reader in r["floor_scans"]))
    print(f"\nfull load by size (median of {runs} runs, {os.cpu_count()} CPUs; floor: the song files read once "
          f"plus the fastest scan of the events, each the least of {runs} in one process; seconds)")
    header = ["events", "song files", "wall s", "floor s", "ratio", "events/s", "peak RSS MB", "songs read",
              *(f"scan {reader}" for reader in scans), *steps]
    rows = [
        [f"{r['events']:,}", f"{r['song_files']:,}", f"{r['wall_seconds']:.2f}", f"{r['floor_wall_seconds']:.2f}",
         f"{r['floor_ratio']:.1f}x", f"{r['events_per_second']:,}", f"{r['peak_rss_mb']:,}",
         f"{r['floor_songs_seconds']:.2f}", *(f"{r['floor_scans'].get(reader, 0):.2f}" for reader in scans),
         *(f"{r['step_seconds'][step]:.2f}" for step in steps)]
        for r in results
    ]
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
    for row in [header, *rows]:
        print("  " + "  ".join(cell.rjust(width) for cell, width in zip(row, widths)))


def measure_daily(python: str, data: Path, runs: int) -> dict:
    """A full load of every day but the last, then the last day as a daily run, then a run with nothing new."""
    with tempfile.TemporaryDirectory(prefix="sparkify-bench-") as work:
        return _measure_daily(python, data, Path(work), runs)


def _measure_daily(python: str, data: Path, work: Path, runs: int) -> dict:
    days = sorted((data / "log_data").rglob("*.json"))
    log_data = work / "daily" / "log_data"
    config = write_config(work / "daily.cfg", data, log_data)

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
