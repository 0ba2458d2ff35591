"""One run at a time per warehouse: overlapping runs never duplicate facts, and a waiting run says why it stops."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import psycopg2
import pytest
from helpers import PG_PASSWORD, REPO, build, fetch, loaded_rows, play, run, song, write_config

import create_tables
import etl
from sparkify.engines import base
from sparkify.engines.postgres import RUN_LOCK_KEY
from sparkify.sample_data import generate


def _script(name: str, config: Path, *args: str) -> subprocess.Popen:
    env = {**os.environ, "DWH_DB_PASSWORD": PG_PASSWORD}
    return subprocess.Popen([sys.executable, str(REPO / name), "--config", str(config), "-q", *args],
                            cwd=config.parent, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def test_overlapping_runs_on_postgres_load_exactly_once(tmp_path, pg_database, monkeypatch):
    generate(tmp_path / "input", events=30000, songs=300, seed=7)
    config = write_config(tmp_path / "dwh.cfg", {
        "DWH": {"ENGINE": "postgres"},
        "CLUSTER": pg_database,
        "S3": {"LOG_DATA": "input/log_data", "SONG_DATA": "input/song_data"},
    })
    monkeypatch.setenv("DWH_DB_PASSWORD", PG_PASSWORD)
    assert run(create_tables, "--config", config, "--yes", "-q") == 0

    runs = []
    for _ in range(3):  # two cron jobs and an engineer, started a moment apart
        runs.append(_script("etl.py", config))
        time.sleep(0.3)
    results = [(process.wait(timeout=300), process.stderr.read()) for process in runs]

    assert [code for code, _ in results] == [0, 0, 0], results
    events = [json.loads(line) for path in (tmp_path / "input" / "log_data").rglob("*.json")
              for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    plays = sum(1 for event in events if event["page"] == "NextSong")
    assert plays > 0
    assert fetch(config, "SELECT COUNT(*), COUNT(DISTINCT songplay_id) FROM songplays") == [(plays, plays)]
    assert loaded_rows(config, "LOG_DATA") == len(events)  # each file loaded by exactly one of the runs


@pytest.fixture
def short_wait(monkeypatch):
    monkeypatch.setattr(base, "LOCK_WAIT_SECONDS", 1.0)


def _hold_postgres_lock(pg_database):
    holder = psycopg2.connect(host=pg_database["HOST"], port=pg_database["DB_PORT"], user=pg_database["DB_USER"],
                              password=PG_PASSWORD, dbname=pg_database["DB_NAME"])
    holder.autocommit = True
    with holder.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_lock(%s)", [RUN_LOCK_KEY])
    return holder


@pytest.mark.parametrize("script, args", [(etl, []), (create_tables, ["--yes"])], ids=["etl", "create_tables"])
def test_a_run_that_cannot_get_the_warehouse_stops_in_one_line(script, args, one_play_on_postgres, pg_database,
                                                               capsys, short_wait):
    config = one_play_on_postgres
    assert build(config) == 0
    before = fetch(config, "SELECT * FROM songplays")
    capsys.readouterr()
    holder = _hold_postgres_lock(pg_database)
    try:
        assert run(script, "--config", config, "-q", *args) == 1
    finally:
        holder.close()

    assert capsys.readouterr().err == (
        "error: another run (etl.py or create_tables.py) holds the postgres warehouse; waited 1 s - "
        "try again when it has finished\n"
    )
    assert fetch(config, "SELECT * FROM songplays") == before


def test_a_duckdb_writer_waits_for_the_file_lock_then_says_who_may_hold_it(inputs, tmp_path, capsys, short_wait):
    inputs.events([play("S", "A", 1.0)])
    inputs.songs([song("SO1", "S", "AR1", "A", 1.0)])
    config = write_config(tmp_path / "dwh.cfg", {
        "DWH": {"DUCKDB_PATH": "warehouse.duckdb"},
        "S3": {"LOG_DATA": "input/log_data", "SONG_DATA": "input/song_data"},
    })
    assert build(config) == 0
    capsys.readouterr()
    holder = subprocess.Popen(
        [sys.executable, "-c", "import duckdb, sys, time; c = duckdb.connect(sys.argv[1]); print('ready', flush=True); "
         "time.sleep(60)", str(tmp_path / "warehouse.duckdb")],
        stdout=subprocess.PIPE, text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "ready"
        assert run(etl, "--config", config, "-q") == 1
    finally:
        holder.kill()
        holder.wait()

    err = capsys.readouterr().err
    assert err == (
        "error: another program (etl.py, create_tables.py, a notebook or the dashboard) holds the duckdb "
        "(warehouse.duckdb) warehouse; waited 1 s - try again when it has finished\n"
    )
    assert "read-only" not in err and "read_only" not in err


def test_redshift_writers_lock_only_the_run_lock_table():
    from sparkify.engines.redshift import RedshiftEngine

    statements = []

    class Recorder(RedshiftEngine):
        def __init__(self):
            pass

        def execute(self, statement, params=None):
            statements.append(statement)

    engine = Recorder()
    with engine.transaction(writes=["staging_songs", "load_errors", "staging_events", "load_errors"]):
        engine.execute("DELETE FROM load_errors")
    # LOCK right after BEGIN, on the table only writers touch: readers of the tables are never blocked
    # (the whole run, on the Redshift double: test_redshift_double.py)
    assert statements == ["BEGIN", "LOCK sparkify_run_lock", "DELETE FROM load_errors", "COMMIT"]


def test_create_tables_during_a_first_load_on_postgres_asks_and_drops_nothing(one_play_on_postgres, pg_database):
    """The load holds the run lock while its tables still look empty; create_tables.py, started then,
    looks only once it holds the lock itself: it sees the load's rows, asks, and without an answer drops nothing."""
    config = one_play_on_postgres
    assert run(create_tables, "--config", config, "--yes", "-q") == 0
    holder = _hold_postgres_lock(pg_database)  # a first load, not yet committed: every table empty
    asking = _script("create_tables.py", config)  # no terminal: nothing to answer
    try:
        time.sleep(2)  # create_tables.py is waiting for the lock
        assert asking.poll() is None
        with holder.cursor() as cursor:  # the load commits its rows, then releases the lock
            cursor.execute("INSERT INTO songplays (songplay_id, start_time) VALUES (1, TIMESTAMP '2018-11-01')")
            cursor.execute("SELECT pg_advisory_unlock(%s)", [RUN_LOCK_KEY])
        code = asking.wait(timeout=60)
    finally:
        holder.close()
        asking.kill()
    err = asking.stderr.read()

    assert code == 1, err
    assert "This drops songplays (1 rows)." in err
    assert err.splitlines()[-1].endswith("error: not confirmed - no table was dropped (answer yes, or pass --yes)")
    assert fetch(config, "SELECT songplay_id FROM songplays") == [(1,)]
