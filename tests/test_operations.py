"""docs/operations.md, as far as it runs here: the cron line's command in cron's bare
environment, the systemd units checked by `systemd-analyze verify`, and the
table of what a run prints and returns.

The cron and systemd examples name /srv/sparkify; here that folder is a
temporary install: a copy of dwh.cfg.example (which builds the bundled
sample), the scripts, and this interpreter's virtual environment.
"""

from __future__ import annotations

import getpass
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from helpers import REPO, build, play, run, song, write_config

import etl
from sparkify.engines import base

SONG = song("SOAAA", "Song A", "ARA", "Artist A", 200.0)
DOC = REPO / "docs" / "operations.md"
INSTALLED = "/srv/sparkify"


def code_blocks(language: str) -> list[str]:
    return re.findall(rf"^```{language}\n(.*?)^```", DOC.read_text(encoding="utf-8"), re.MULTILINE | re.DOTALL)


@pytest.fixture
def install(tmp_path) -> Path:
    """A project folder as docs/operations.md assumes one: scripts, .venv/bin/python, dwh.cfg copied from the example."""
    folder = tmp_path / "srv" / "sparkify"
    folder.mkdir(parents=True)
    for name in ("etl.py", "create_tables.py", "data"):
        (folder / name).symlink_to(REPO / name)
    if sys.prefix != sys.base_prefix:  # a virtual environment: the same one, under .venv
        (folder / ".venv").symlink_to(sys.prefix)
        assert (folder / ".venv" / "bin" / "python").exists()
    else:
        (folder / ".venv" / "bin").mkdir(parents=True)
        (folder / ".venv" / "bin" / "python").symlink_to(sys.executable)
    shutil.copy(REPO / "dwh.cfg.example", folder / "dwh.cfg")
    return folder


def cron_environment(home: Path) -> dict[str, str]:
    """What cron gives a job: a bare PATH, HOME, SHELL and LOGNAME (no $DWH_CONFIG, no venv)."""
    return {"PATH": "/usr/bin:/bin", "HOME": str(home), "SHELL": "/bin/sh", "LOGNAME": getpass.getuser()}


def test_the_cron_line_runs_every_day_and_logs(install, tmp_path):
    [crontab] = code_blocks("crontab")
    [line] = [line for line in crontab.splitlines() if line.strip() and not line.startswith("#")]
    minute, hour, day, month, weekday, command = line.split(None, 5)
    assert (minute, hour, day, month, weekday) == ("30", "2", "*", "*", "*")  # every day at 02:30
    command = command.replace(INSTALLED, str(install))
    env = cron_environment(tmp_path)
    created = subprocess.run(command.replace("etl.py -q", "create_tables.py -q"), shell=True, env=env,
                             capture_output=True, text=True, timeout=120)
    assert created.returncode == 0, (install / "etl.log").read_text()

    first = subprocess.run(command, shell=True, env=env, capture_output=True, text=True, timeout=300)
    second = subprocess.run(command, shell=True, env=env, capture_output=True, text=True, timeout=300)

    assert (first.returncode, first.stdout, first.stderr) == (0, "", "")  # everything went to the log
    assert second.returncode == 0
    log = (install / "etl.log").read_text()
    summaries = [line for line in log.splitlines() if line.startswith("Summary: ")]
    assert summaries == [f"Summary: engine duckdb, database {install / 'sparkify.duckdb'} ({install / 'dwh.cfg'})"] * 2
    assert re.search(r"^  staging_events\s+8,000 rows from 30 new files$", log, re.MULTILINE)
    assert log.rstrip().count("nothing new to load: the warehouse is unchanged") == 1
    assert "Traceback" not in log and "error:" not in log


@pytest.fixture
def units(install, tmp_path) -> list[Path]:
    """The documented unit files, written with the temporary install's path."""
    folder = tmp_path / "units"
    folder.mkdir()
    written = []
    for text in code_blocks("ini"):
        if "[Service]" in text:
            name = "sparkify-etl.service"
        elif "[Timer]" in text:
            name = "sparkify-etl.timer"
        else:
            continue
        path = folder / name
        path.write_text(text.replace(INSTALLED, str(install)), encoding="utf-8")
        written.append(path)
    return written


def test_the_systemd_units_are_a_daily_oneshot_service_and_its_timer(units):
    assert sorted(path.name for path in units) == ["sparkify-etl.service", "sparkify-etl.timer"]
    service, timer = (path.read_text() for path in sorted(units))
    assert "Type=oneshot" in service and re.search(r"^ExecStart=\S+/\.venv/bin/python etl\.py -q$", service, re.M)
    assert "OnCalendar=*-*-* 02:30:00" in timer and "WantedBy=timers.target" in timer


def test_the_systemd_units_verify(units):
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        pytest.skip("systemd-analyze is not installed (Debian's systemd package)")
    result = subprocess.run([analyze, "verify", "--man=no", *map(str, units)], capture_output=True, text=True,
                            timeout=60)
    # it exits 0 on unknown keys and bad values too, only saying so: both must be empty
    assert (result.returncode, result.stdout, result.stderr) == (0, "", "")


# ----------------------------------------------------------------- the table


def table_rows() -> dict[str, tuple[int, str]]:
    """What happened -> (exit code, what it prints), from the page's table."""
    rows = re.findall(r"^\| (.+?) \| (\d+) \| (.+?) \|$", DOC.read_text(encoding="utf-8"), re.MULTILINE)
    return {what: (int(code), printed) for what, code, printed in rows}


def quoted(printed: str) -> list[str]:
    """The `...` quotes of a table cell, split at its ... elisions."""
    return [part.strip() for quote in re.findall(r"`([^`]+)`", printed) for part in quote.split("...") if part.strip()]


def etl_run(capsys, config, *argv) -> tuple[int, str, str]:
    capsys.readouterr()
    code = run(etl, "--config", config, "-q", *argv)
    out, err = capsys.readouterr()
    return code, out, err


def test_the_table_says_what_a_run_prints_and_returns(inputs, tmp_path, capsys, monkeypatch):
    rows = table_rows()
    config = write_config(tmp_path / "dwh.cfg", {
        "DWH": {"DUCKDB_PATH": "warehouse.duckdb"},
        "S3": {"LOG_DATA": "input/log_data", "SONG_DATA": "input/song_data"},
    })
    inputs.events([play("Song A", "Artist A", 200.0)])
    inputs.songs([SONG])
    assert build(config, "--max-errors", "0") == 0

    def agrees(what: str, code: int, printed: str) -> None:
        documented_code, cell = rows[what]
        assert code == documented_code, what
        for part in quoted(cell):
            if part != "python etl.py --rejects":  # what to run next, not what it prints
                assert part in printed, (what, part, printed)

    # files loaded (a second day), then nothing new
    inputs.events([play("Song B", "Artist B", 100.0)], name="2018-11-02-events.json")
    agrees("files loaded", *etl_run(capsys, config)[:2])
    code, out, err = etl_run(capsys, config)
    agrees("nothing new since the last run", code, out)

    # refused: a bad record
    inputs.events(["{not json\n", "[\n", "{\n"], name="2018-11-03-events.json")
    code, out, err = etl_run(capsys, config)
    assert out == ""
    agrees("refused: more bad records than `MAX_ERRORS`", code, err)
    (inputs.log_data / "2018" / "11" / "2018-11-03-events.json").unlink()

    # refused: a loaded file changed
    day_one = inputs.log_data / "2018" / "11" / "2018-11-01-events.json"
    day_one.write_text(day_one.read_text() + day_one.read_text())
    code, out, err = etl_run(capsys, config)
    agrees("refused: a loaded file changed", code, err)

    # another program holds the warehouse (DuckDB's lock is per process), with the wait cut short
    monkeypatch.setattr(base, "LOCK_WAIT_SECONDS", 0.0)
    holder = subprocess.Popen(
        [sys.executable, "-c", "import duckdb, sys, time; c = duckdb.connect(sys.argv[1]); print('open', flush=True); "
         "time.sleep(120)", str(tmp_path / "warehouse.duckdb")],
        stdout=subprocess.PIPE, text=True,
    )
    try:
        assert holder.stdout.readline() == "open\n"
        code, out, err = etl_run(capsys, config)
    finally:
        holder.kill()
        holder.wait()
    documented = rows["another run holds the warehouse"][1]
    assert code == rows["another run holds the warehouse"][0]
    assert err.startswith("error: another program (etl.py, create_tables.py, a notebook or the dashboard) holds the "
                          "duckdb (warehouse.duckdb) warehouse; waited 0 s - try again when it has finished")
    assert "another program (etl.py, create_tables.py, a notebook or the dashboard) holds the duckdb" in documented

    # a wrong option
    result = subprocess.run([sys.executable, str(REPO / "etl.py"), "--full"], capture_output=True, text=True,
                            timeout=60, stdin=subprocess.DEVNULL)
    assert result.returncode == rows["a wrong option"][0]
    assert rows["Ctrl-C"][0] == 130 and rows["SIGTERM (`systemctl stop`, a scheduler's time limit)"][0] == 143


def test_stopping_messages_are_the_documented_ones():
    """The Ctrl-C and SIGTERM lines (test_one_run_at_a_time sends the signals for real)."""
    from sparkify import cli

    rows = table_rows()
    assert quoted(rows["Ctrl-C"][1]) == [f"error: interrupted - {cli.STOPPED}"]
    assert quoted(rows["SIGTERM (`systemctl stop`, a scheduler's time limit)"][1]) == [
        f"error: terminated (SIGTERM) - {cli.STOPPED}"
    ]
