"""benchmark.py: the scaling table, its check of row counts against the input, and the kept profiles.

Timing is never asserted; these runs use a few hundred generated events.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys

import duckdb
import orjson
import pytest

import benchmark
import benchmark_ab


def test_the_scaling_table_has_a_row_per_size_and_profiles_per_statement(tmp_path, capsys):
    assert benchmark.main(["--sizes", "300:20,600:40", "--runs", "1", "--data-dir", str(tmp_path / "data"),
                           "--profile", str(tmp_path / "profiles")]) == 0
    out = capsys.readouterr().out
    table = out[out.index("full load by size"):].splitlines()
    assert table[1].split()[:7] == ["events", "song", "files", "wall", "s", "floor", "s"]
    assert [line.split()[:2] for line in table[2:]] == [["300", "20"], ["600", "40"]]
    assert all(re.fullmatch(r"\d+\.\dx", line.split()[4]) for line in table[2:])
    header = re.split(r"\s{2,}", table[1].strip())
    # the floor's parts side by side: the song files read once, then each reader's scan of the events
    assert header[7:10] == ["songs read", f"scan duckdb {duckdb.__version__}", f"scan orjson {orjson.__version__}"]
    for line in table[2:]:
        cells = re.split(r"\s{2,}", line.strip())
        songs, scans = float(cells[7]), [float(cell) for cell in cells[8:10]]
        assert float(cells[3]) == pytest.approx(songs + min(scans), abs=0.02)  # floor: songs + the fastest scan
    kept = sorted(path.name for path in (tmp_path / "profiles" / "600").glob("[0-9]*.json"))
    assert kept[0] == "01-insert-into-staging_events.json"
    assert any(name.endswith("-insert-into-songplays.json") for name in kept)
    for name in kept:
        assert json.loads((tmp_path / "profiles" / "600" / name).read_text())  # DuckDB's JSON profile


def test_row_counts_that_differ_from_the_input_stop_the_benchmark(tmp_path, capsys):
    data = tmp_path / "data"
    assert benchmark.main(["--sizes", "300:20", "--runs", "1", "--data-dir", str(data), "--json"]) == 0
    marker = data / "300-events-20-songs-seed42" / "COMPLETE"
    marker.write_text(marker.read_text().replace("and 300 events", "and 301 events"))  # the input says one more
    with pytest.raises(SystemExit, match=r"wrong row counts on 300-events-20-songs-seed42 .*'staging_events': \(300, 301\)"):
        benchmark.main(["--sizes", "300:20", "--runs", "1", "--data-dir", str(data)])


def test_the_floor_measures_the_readers_of_another_python_too(tmp_path):
    data = benchmark.ensure_data(tmp_path / "data", 300, 20, 42)
    floor = benchmark.measure_floor([sys.executable, sys.executable], data, 2)
    assert set(floor["scans"]) == {f"duckdb {duckdb.__version__}", f"orjson {orjson.__version__}"}
    assert floor["fastest"] in floor["scans"]
    assert floor["seconds"] == pytest.approx(floor["songs_seconds"] + floor["scans"][floor["fastest"]])


def test_a_floor_python_without_readers_is_named(tmp_path):
    data = benchmark.ensure_data(tmp_path / "data", 300, 20, 42)
    bare = tmp_path / "bare"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(bare)], check=True)
    python = str(bare / "bin" / "python")
    with pytest.raises(SystemExit, match=f"error: no reader for the floor in {re.escape(python)}: install duckdb or orjson there"):
        benchmark.measure_floor([python], data, 1)


def test_ab_alternates_two_versions_on_the_same_data(tmp_path, capsys):
    data = benchmark.ensure_data(tmp_path / "data", 300, 20, 42)
    here = str(benchmark.PROJECT_DIR)
    assert benchmark_ab.main([here, f"{here}:{sys.executable}", "--data", str(data), "--runs", "2"]) == 0
    lines = capsys.readouterr().out.splitlines()[-5:]  # after the generator's lines
    assert [line.split()[:3] for line in lines[:4]] == [["run", "1", "A"], ["run", "1", "B"], ["run", "2", "A"], ["run", "2", "B"]]
    assert re.fullmatch(r"medians of 2: A \d+\.\d\d s, B \d+\.\d\d s; B/A \d+\.\d\d", lines[4])


def test_ab_names_a_folder_that_is_not_the_project(tmp_path, capsys):
    with pytest.raises(SystemExit) as stopped:
        benchmark_ab.main([str(tmp_path), str(benchmark.PROJECT_DIR), "--data", str(tmp_path)])
    assert stopped.value.code == 2
    assert f"{tmp_path} has no etl.py: give a checkout of the project" in capsys.readouterr().err
