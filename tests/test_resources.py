"""Running out of something ends in one line, with the warehouse as it was: disk, memory, SIGTERM."""

from __future__ import annotations

import errno
import os
import signal
import subprocess
import sys

from helpers import REPO, build, fetch, play, run, song, write_config

import create_tables
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

    def full_disk(paths, out, *rest):
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


def test_python_running_out_of_memory_is_one_line_and_changes_nothing(inputs, tmp_path, monkeypatch, capsys):
    inputs.events([play("S", "A", 1.0)])
    inputs.songs([song("SO1", "S", "AR1", "A", 1.0)])
    config = _config(tmp_path)
    assert build(config) == 0
    before = _star(config)
    inputs.events([play("S", "A", 1.0), "not json\n"], name="2018-11-02-events.json")  # takes the framed path
    capsys.readouterr()

    def no_memory(paths, out, *rest):
        raise MemoryError()

    monkeypatch.setattr(reader, "frame_files", no_memory)
    assert run(etl, "--config", config, "-q", "--max-errors", "5") == 1

    assert capsys.readouterr().err == (
        "error: out of memory - free memory, or lower [DWH] DUCKDB_MEMORY_LIMIT to leave Python room; "
        "an unfinished load was rolled back\n"
    )
    assert _star(config) == before


def test_a_full_tmpdir_on_postgres_names_the_fix(one_play_on_postgres, tmp_path, monkeypatch, capsys):
    import duckdb

    config = one_play_on_postgres
    assert run(create_tables, "--config", config, "--yes", "-q") == 0
    capsys.readouterr()

    def spill_refused(self, files):  # what DuckDB raises when TMPDIR's disk refuses a spill write
        raise duckdb.IOException("IO Error: Async write failed")

    monkeypatch.setattr(reader.LocalJsonReader, "load", spill_refused)
    assert run(etl, "--config", config, "-q") == 1

    assert capsys.readouterr().err == (
        "error: staging failed: IO Error: Async write failed - the disk is full: free space in TMPDIR (the run's "
        "temporary files) or point TMPDIR at a disk with room\n"
    )
    assert fetch(config, "SELECT COUNT(*) FROM loaded_files") == [(0,)]


def test_a_warehouse_folder_duckdb_may_not_write_names_the_fix(inputs, tmp_path):
    import shutil

    if os.geteuid() == 0 and shutil.which("setpriv") is None:
        import pytest

        pytest.skip("running as root, and setpriv (util-linux) is missing: a read-only folder would not stop writes")
    inputs.events([play("S", "A", 1.0)])
    inputs.songs([song("SO1", "S", "AR1", "A", 1.0)])
    (tmp_path / "wh").mkdir()
    config = _config(tmp_path, DUCKDB_PATH="wh/warehouse.duckdb")
    assert build(config) == 0
    inputs.events([play("S", "A", 2.0)], name="2018-11-02-events.json")  # something to write
    (tmp_path / "wh").chmod(0o555)
    caps = "-dac_override,-dac_read_search"  # root without the power to write anywhere (see test_hostile_inputs)
    prefix = ["setpriv", f"--bounding-set={caps}", f"--inh-caps={caps}"] if os.geteuid() == 0 else []
    try:
        result = subprocess.run([*prefix, sys.executable, str(REPO / "etl.py"), "--config", str(config), "-q"],
                                cwd=REPO, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=120)
    finally:
        (tmp_path / "wh").chmod(0o755)

    assert result.returncode == 1
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
    assert result.stderr.startswith("error: ") and "Permission denied" in result.stderr
    assert result.stderr.endswith(
        f" - DuckDB writes beside the database (its .wal and .tmp): make {tmp_path / 'wh'} writable by this user, "
        "or set [DWH] DUCKDB_PATH to a folder that is\n")
    assert fetch(config, "SELECT COUNT(*) FROM songplays") == [(1,)]
