"""Running out of something ends in one line, with the warehouse as it was: disk, memory, SIGTERM."""

from __future__ import annotations

import errno
import os
import signal
import subprocess
import sys

from helpers import REPO, build, fetch, play, run, song, write_config

import etl
from sparkify import reader
from sparkify.sample_data import generate


def _config(tmp_path, **dwh):
    return write_config(tmp_path / "dwh.cfg", {
        "DWH": {"DUCKDB_PATH": "warehouse.duckdb", **dwh},
        "S3": {"LOG_DATA": "input/log_data", "SONG_DATA": "input/song_data"},
    })


def _star(config):
    return {table: fetch(config, f"SELECT * FROM {table} ORDER BY 1") for table in ("songplays", "users", "time")}


def test_a_full_disk_is_one_line_and_changes_nothing(inputs, tmp_path, monkeypatch, capsys):
    inputs.events([play("S", "A", 1.0)])
    inputs.songs([song("SO1", "S", "AR1", "A", 1.0)])
    config = _config(tmp_path)
    assert build(config) == 0
    before = _star(config)
    inputs.events([play("S", "A", 1.0), "not json\n"], name="2018-11-02-events.json")  # takes the framed path
    capsys.readouterr()

    def full_disk(paths, out, display=None):
        raise OSError(errno.ENOSPC, "No space left on device", out.name)

    monkeypatch.setattr(reader, "frame_files", full_disk)
    assert run(etl, "--config", config, "-q", "--max-errors", "5") == 1

    err = capsys.readouterr().err
    assert err.startswith("error: No space left on device (")
    assert err.endswith(" - free space there, or point TMPDIR at a disk with room; an unfinished load was rolled back\n")
    assert err.count("\n") == 1
    assert _star(config) == before


def test_duckdb_out_of_memory_names_the_memory_limit(tmp_path, capsys):
    generate(tmp_path / "input", events=20000, songs=200, seed=3)
    config = _config(tmp_path)
    assert build(config) == 0
    before = _star(config)
    original = config.read_text(encoding="utf-8")
    config.write_text(original.replace("[DWH]\n", "[DWH]\nDUCKDB_MEMORY_LIMIT = 2MB\n"), encoding="utf-8")
    capsys.readouterr()

    assert run(etl, "--config", config, "-q", "--full-refresh") == 1
    config.write_text(original, encoding="utf-8")

    err = capsys.readouterr().err
    assert "Out of Memory" in err
    assert "[DWH] DUCKDB_MEMORY_LIMIT = 2MB: raise it, or free memory; the warehouse is unchanged" in err
    assert err.count("\n") == 1
    assert _star(config) == before


def test_sigterm_stops_like_ctrl_c_and_removes_the_temporary_folder(tmp_path):
    generate(tmp_path / "input", events=300000, songs=2000, seed=5)
    config = _config(tmp_path)
    assert build(config) == 0
    before = _star(config)
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    process = subprocess.Popen(
        [sys.executable, str(REPO / "etl.py"), "--config", str(config), "--full-refresh"],
        env={**os.environ, "TMPDIR": str(scratch)}, stderr=subprocess.PIPE, text=True,
    )
    for line in process.stderr:  # wait until the load is under way
        if "loading staging tables" in line:
            break
    process.send_signal(signal.SIGTERM)
    rest = process.stderr.read()
    code = process.wait(timeout=120)

    assert code == 128 + signal.SIGTERM, rest
    assert rest.splitlines()[-1] == "error: terminated (SIGTERM) - an unfinished load was rolled back"
    assert "Traceback" not in rest
    assert list(scratch.iterdir()) == []  # the run's temporary folder is gone
    assert _star(config) == before
