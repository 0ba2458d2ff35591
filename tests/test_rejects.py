"""etl.py --rejects: the last run's rejected records, one command away, on every engine.

DuckDB and PostgreSQL run here for real (the engine_name fixture); the
Redshift engine's path is in test_redshift.py, on its fake cluster.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from helpers import REPO, build, play, run, song, write_config

import etl
from sparkify.config import load_config

GOOD = play("Song A", "Artist A", 200.0)
NOT_AN_INTEGER = play("Song A", "Artist A", 200.0, userId="abc")
SONG = song("SOAAA", "Song A", "ARA", "Artist A", 200.0)


@pytest.fixture
def rejected(warehouse, inputs):
    """A warehouse whose last run rejected three records of one file (and loaded the rest): (config, file)."""
    log = inputs.events([GOOD, "{not json\n", NOT_AN_INTEGER, "[1, 2\n", GOOD])
    inputs.songs([SONG])
    assert build(warehouse, "--max-errors", "5") == 0
    return warehouse, log


def rejects(capsys, config, *argv) -> tuple[int, str, str]:
    capsys.readouterr()
    code = run(etl, "--config", config, "--rejects", *argv)
    out, err = capsys.readouterr()
    return code, out, err


def test_rejects_are_grouped_by_reason_the_most_frequent_first(rejected, capsys):
    config, log = rejected
    code, out, err = rejects(capsys, config)
    assert (code, err) == (0, "")
    target = load_config(config).describe(full=True)
    assert out == (
        f"Rejected by the last run: 3 records - {target}\n"
        "       2  malformed JSON\n"
        f"          {log}:2: malformed JSON\n"
        f"          {log}:4: malformed JSON\n"
        "       1  userId is not an integer\n"
        f"          {log}:3: userId is not an integer\n"
    )


def test_rejects_as_json(rejected, capsys):
    config, log = rejected
    code, out, err = rejects(capsys, config, "--json")
    assert (code, err) == (0, "")
    assert json.loads(out) == {
        "target": load_config(config).describe(full=True),
        "rejected": 3,
        "reasons": [
            {"reason": "malformed JSON", "count": 2, "records": [
                {"table": "staging_events", "file": str(log), "line": 2, "column": None},
                {"table": "staging_events", "file": str(log), "line": 4, "column": None},
            ]},
            {"reason": "userId is not an integer", "count": 1, "records": [
                {"table": "staging_events", "file": str(log), "line": 3, "column": "userId"},
            ]},
        ],
    }


def test_a_refused_run_leaves_its_rejects_to_read(warehouse, inputs, capsys):
    log = inputs.events([GOOD, "{not json\n"])
    inputs.songs([SONG])
    assert build(warehouse) == 1  # MAX_ERRORS = 0: refused
    code, out, err = rejects(capsys, warehouse)
    assert code == 0
    assert out.splitlines()[1:] == ["       1  malformed JSON", f"          {log}:2: malformed JSON"]


def test_a_clean_run_has_no_rejects_and_nothing_new_keeps_the_last(warehouse, inputs, capsys):
    inputs.events([GOOD])
    inputs.songs([SONG])
    assert build(warehouse) == 0
    code, out, err = rejects(capsys, warehouse)
    assert (code, out) == (0, f"Rejected by the last run: 0 records - {load_config(warehouse).describe(full=True)}\n")


def test_rejects_change_nothing_and_take_no_load_options(rejected, capsys):
    config, _ = rejected
    for option in (["--full-refresh"], ["--dry-run"], ["--max-errors", "3"]):
        code, out, err = rejects(capsys, config, *option)
        assert code == 2
        assert err.splitlines()[-1].endswith(f": error: --rejects loads nothing: leave out {option[0]}")


def test_rejects_before_any_warehouse_says_what_to_run(tmp_path, capsys):
    config = write_config(tmp_path / "dwh.cfg", {
        "DWH": {"DUCKDB_PATH": "not-built.duckdb"},
        "S3": {"LOG_DATA": "input/log_data", "SONG_DATA": "input/song_data"},
    })
    code, out, err = rejects(capsys, config)
    assert (code, out) == (1, "")
    assert err == "error: DuckDB database not-built.duckdb does not exist yet - run create_tables.py and etl.py\n"
    assert not (tmp_path / "not-built.duckdb").exists()


def test_rejects_from_the_command_line(rejected, tmp_path):
    config, log = rejected
    result = subprocess.run(
        [sys.executable, str(REPO / "etl.py"), "--config", str(config), "--rejects"],
        cwd=log.parent, capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL,
    )
    assert result.returncode == 0, result.stderr
    # files inside the current folder are shown relative to it
    assert result.stdout.splitlines()[2] == f"          {log.name}:2: malformed JSON"
