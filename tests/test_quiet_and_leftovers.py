"""What a run leaves and says: many warnings of one kind are one line under -q; a killed run's temporary
folder is removed by the next run."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile

from helpers import build, play, run, song, write_config

import etl
from sparkify import pipeline


def _config(tmp_path):
    return write_config(tmp_path / "dwh.cfg", {
        "DWH": {"DUCKDB_PATH": "warehouse.duckdb"},
        "S3": {"LOG_DATA": "input/log_data", "SONG_DATA": "input/song_data"},
    })


def test_many_empty_files_are_one_warning_under_quiet(inputs, tmp_path, capsys):
    inputs.events([play("S", "A", 1.0)])
    inputs.songs([song("SO1", "S", "AR1", "A", 1.0)])
    for number in range(40):
        (inputs.log_data / f"empty-{number:02d}.json").write_bytes(b"")
    config = _config(tmp_path)
    capsys.readouterr()

    assert build(config) == 0

    shown = [str((inputs.log_data / f"empty-{number:02d}.json").resolve()) for number in range(5)]
    assert capsys.readouterr().err.splitlines() == [
        f"warning: 40 files are empty: no records ({', '.join(shown)} and 35 more)"]
    assert run(etl, "--config", config, "--full-refresh") == 0  # not quiet: one line each
    assert sum("is empty: no records" in line for line in capsys.readouterr().err.splitlines()) == 40


def test_a_few_empty_files_are_named_one_by_one_under_quiet(inputs, tmp_path, capsys):
    inputs.events([play("S", "A", 1.0)])
    inputs.songs([song("SO1", "S", "AR1", "A", 1.0)])
    for number in range(2):
        (inputs.log_data / f"empty-{number}.json").write_bytes(b"")
    capsys.readouterr()

    assert build(_config(tmp_path)) == 0

    assert capsys.readouterr().err.splitlines() == [
        f"warning: {(inputs.log_data / f'empty-{number}.json').resolve()} is empty: no records" for number in range(2)]


def _dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def test_a_killed_runs_temporary_folder_is_removed_at_the_next_run(inputs, tmp_path, monkeypatch):
    tmpdir = tmp_path / "tmp"
    tmpdir.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(tmpdir))
    dead, alive, other = tmpdir / "sparkify-dead", tmpdir / "sparkify-alive", tmpdir / "sparkify-pg-server"
    for folder, owner in ((dead, _dead_pid()), (alive, os.getppid())):
        folder.mkdir()
        (folder / "staging_events.framed.ndjson").write_text("{}\n")
        (folder / pipeline._OWNER_FILE).write_text(str(owner))
    other.mkdir()  # another tool's sparkify-* folder: no owner file, never ours to remove
    inputs.events([play("S", "A", 1.0)])
    inputs.songs([song("SO1", "S", "AR1", "A", 1.0)])

    assert build(_config(tmp_path)) == 0

    assert sorted(path.name for path in tmpdir.iterdir()) == ["sparkify-alive", "sparkify-pg-server"]


def test_a_run_killed_with_sigkill_leaves_a_folder_the_next_run_removes(inputs, tmp_path):
    tmpdir = tmp_path / "tmp"
    tmpdir.mkdir()
    script = (
        "import os, signal, sys; sys.path.insert(0, sys.argv[1]); from sparkify import pipeline\n"
        "with pipeline._run_folder() as folder: os.kill(os.getpid(), signal.SIGKILL)\n"
    )
    killed = subprocess.run([sys.executable, "-c", script, str(pipeline.Path(pipeline.__file__).parents[1])],
                            env={**os.environ, "TMPDIR": str(tmpdir)})
    assert killed.returncode == -9
    left = list(tmpdir.glob("sparkify-*"))
    assert len(left) == 1 and (left[0] / pipeline._OWNER_FILE).exists()

    assert pipeline.remove_orphans(tmpdir) == left
    assert list(tmpdir.iterdir()) == []
