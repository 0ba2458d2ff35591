"""benchmark.py: the scaling table, its check of row counts against the input, and the kept profiles.

Timing is never asserted; these runs use a few hundred generated events.
"""

from __future__ import annotations

import json
import re

import pytest

import benchmark


def test_the_scaling_table_has_a_row_per_size_and_profiles_per_statement(tmp_path, capsys):
    assert benchmark.main(["--sizes", "300:20,600:40", "--runs", "1", "--data-dir", str(tmp_path / "data"),
                           "--profile", str(tmp_path / "profiles")]) == 0
    out = capsys.readouterr().out
    table = out[out.index("full load by size"):].splitlines()
    assert table[1].split()[:7] == ["events", "song", "files", "wall", "s", "floor", "s"]
    assert [line.split()[:2] for line in table[2:]] == [["300", "20"], ["600", "40"]]
    assert all(re.fullmatch(r"\d+\.\dx", line.split()[4]) for line in table[2:])
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
