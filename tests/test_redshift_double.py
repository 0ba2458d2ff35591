"""The Redshift engine end to end on the Redshift double (tests/redshift_double.py): create_tables.py
and etl.py on engine redshift give exactly the star schema DuckDB gives for the same files
(everything but songplay_id), directly and over the Data API; one run at a time; readers not blocked.

The input is in moto's S3; the warehouse is a database on the throwaway PostgreSQL server behind
the double, which runs the engine's own DDL, COPY, LOCK, record, upserts and reject handling.
"""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

import psycopg2
import pytest
from aws_helpers import BUCKET, ROLE_ARN
from helpers import PG_PASSWORD, build, event, fetch, play, run, song
from redshift_double import DoubleCursor
from test_incremental import differences, etl_run, orders, source, star, ts  # noqa: F401  (fixture)

import create_tables
import etl
import sql_queries as sql


def first_day(root: Path) -> Path:
    """A day of events with rejects of every kind and the songs they play."""
    log = root / "log_data" / "2018" / "11" / "2018-11-01-events.json"
    log.parent.mkdir(parents=True, exist_ok=True)
    records = [
        play("Song A", "Artist A", 200.0, ts=ts(1, 1)),
        "{not json\n",  # the reader and COPY: a line that is not JSON
        play("Song B", "Artist B", 99.0, ts=ts(1, 2), userId="11", level="paid"),
        json.dumps(event(ts="noon")) + "\n",  # not a number in a BIGINT column
        json.dumps(event(ts=ts(1, 3), userId="ada")) + "\n",  # a rule COPY cannot apply (applied after it)
        play("Song A", "Artist A", 200.0, ts=ts(1, 4), userId="", auth="Logged Out"),  # a blank id: no user
        json.dumps(event(ts=ts(1, 5), userId="12", firstName="x" * 300)) + "\n",  # wider than VARCHAR(256)
        play("Nobody's Song", "Nobody", 1.0, ts=ts(1, 6), userId="12"),
        play("Song B", "Artist B", 99.0, ts=str(ts(1, 7)), userId="12"),  # a quoted number: COPY converts it
    ]
    log.write_text("".join(r if isinstance(r, str) else json.dumps(r) + "\n" for r in records), encoding="utf-8")
    songs = root / "song_data" / "A" / "B" / "C"
    songs.mkdir(parents=True, exist_ok=True)
    (songs / "TRABC0.json").write_text(json.dumps(song("SOA", "Song A", "ARA", "Artist A", 200.0)))
    (songs / "TRABC1.json").write_text(json.dumps(song("SOB", "Song B", "ARB", "Artist B", 99.0)))
    (songs / "TRABC2.json").write_text(json.dumps(song(None, "No Id", "ARX", "Artist X", 1.0)))
    # an object where the id belongs: COPY loads its JSON text, which no engine takes for an id
    (songs / "TRABC3.json").write_text(json.dumps(song({"id": 1}, "Odd", "ARX", "Artist X", 1.0)))
    return log


def rejects_per_file(config: Path) -> list[tuple]:
    return sorted(fetch(config, "SELECT source, file_name, reject_count FROM loaded_files"))


# ----------------------------------------------------------------- equal to DuckDB


def test_a_first_load_with_rejects_gives_what_duckdb_gives(warehouses, tmp_path):
    root = tmp_path / "input"
    first_day(root)
    warehouses.upload("first", root)
    redshift, duck = warehouses.redshift("first"), warehouses.duckdb("first-duck", root)

    assert build(duck, "--max-errors", "6") == 0
    assert build(redshift, "--max-errors", "6") == 0

    assert differences(star(redshift), star(duck)) == []
    assert star(redshift)["songplays"]  # not two empty schemas
    # per file, COPY's rejects; the rules applied after COPY (userId "ada", a song without an id)
    # reject staged rows, which COPY keeps without their file: those count in no file
    assert rejects_per_file(duck) == [("LOG_DATA", "2018/11/2018-11-01-events.json", 4),
                                      ("SONG_DATA", "A/B/C/TRABC0.json", 0), ("SONG_DATA", "A/B/C/TRABC1.json", 0),
                                      ("SONG_DATA", "A/B/C/TRABC2.json", 1), ("SONG_DATA", "A/B/C/TRABC3.json", 1)]
    assert rejects_per_file(redshift) == [("LOG_DATA", "2018/11/2018-11-01-events.json", 3),
                                          ("SONG_DATA", "A/B/C/TRABC0.json", 0), ("SONG_DATA", "A/B/C/TRABC1.json", 0),
                                          ("SONG_DATA", "A/B/C/TRABC2.json", 0), ("SONG_DATA", "A/B/C/TRABC3.json", 0)]
    assert fetch(redshift, "SELECT COUNT(*) FROM load_errors") == fetch(duck, "SELECT COUNT(*) FROM load_errors") == [(6,)]
    # every statement went through the double, COPY included, and none were advisory locks
    statements = warehouses.doubles["first"].statements
    assert sum(s.startswith("COPY staging_") for s in statements) == 2


CONNECTIONS = pytest.mark.parametrize("via_api", [False, True], ids=["direct", "data-api"])


@CONNECTIONS
def test_daily_runs_in_any_order_give_one_duckdb_load(warehouses, source, tmp_path, capsys, via_api):  # noqa: F811
    root, groups = source
    duck = warehouses.duckdb("full", root)
    assert build(duck) == 0
    want = star(duck)
    for order, batches in orders(groups).items():
        name = order.replace(" ", "-")
        config = warehouses.redshift(name, via_api=via_api)
        assert run(create_tables, "--config", config, "--yes", "-q") == 0
        for number, batch in enumerate(batches, 1):
            warehouses.upload(name, root, batch)
            code, _, err = etl_run(config, capsys)
            assert code == 0, f"{order}, batch {number}: {err}"
        assert differences(star(config), want) == [], f"{order}: not what one DuckDB load gives"


@CONNECTIONS
def test_nothing_new_full_refresh_refused_and_failed_runs_keep_the_duckdb_schema(warehouses, tmp_path, capsys, monkeypatch,
                                                                                  via_api):
    root = tmp_path / "input"
    first_day(root)
    warehouses.upload("runs", root)
    redshift, duck = warehouses.redshift("runs", via_api=via_api), warehouses.duckdb("runs-duck", root)
    for config in (duck, redshift):
        assert build(config, "--max-errors", "6") == 0
    before = star(redshift)

    code, out, _ = etl_run(redshift, capsys)  # nothing new
    assert code == 0 and "nothing new to load" in out
    assert star(redshift) == before

    day2 = root / "log_data" / "2018" / "11" / "2018-11-02-events.json"
    day2.write_text(json.dumps(play("Song B", "Artist B", 99.0, ts=ts(2, 1))) + "\n{bad\n", encoding="utf-8")
    warehouses.upload("runs", root, [str(day2.relative_to(root))])
    code, _, err = etl_run(redshift, capsys)  # refused: one bad record, MAX_ERRORS 0
    assert code == 1 and err.startswith("error: 1 bad input record (MAX_ERRORS is 0)"), err
    assert star(redshift) == before
    assert fetch(redshift, "SELECT COUNT(*) FROM load_errors") == [(1,)]  # the refused run's reject is kept

    monkeypatch.setitem(sql.CHECKS, "a check that fails", "SELECT 'songplays' AS what, 1 AS found, 0 AS expected")
    code, _, err = etl_run(redshift, capsys, "--max-errors", "1")
    assert code == 1 and err.startswith("error: check failed: a check that fails"), err
    assert star(redshift) == before
    monkeypatch.delitem(sql.CHECKS, "a check that fails")

    assert etl_run(redshift, capsys, "--max-errors", "1")[0] == 0
    assert etl_run(duck, capsys, "--max-errors", "1")[0] == 0
    assert differences(star(redshift), star(duck)) == []
    assert etl_run(redshift, capsys, "--full-refresh", "--max-errors", "7")[0] == 0
    assert differences(star(redshift), star(duck)) == []


def test_over_the_data_api_the_same_schema(warehouses, tmp_path, capsys):
    root = tmp_path / "input"
    first_day(root)
    warehouses.upload("api", root)
    redshift, duck = warehouses.redshift("api", via_api=True), warehouses.duckdb("api-duck", root)
    assert build(duck, "--max-errors", "6") == 0
    assert build(redshift, "--max-errors", "6") == 0
    assert differences(star(redshift), star(duck)) == []
    assert sum(s.startswith("COPY staging_") for s in warehouses.doubles["api"].statements) == 2
    day2 = root / "log_data" / "2018" / "11" / "2018-11-02-events.json"
    day2.write_text(json.dumps(play("Song B", "Artist B", 99.0, ts=ts(2, 1))) + "\n", encoding="utf-8")
    warehouses.upload("api", root, [str(day2.relative_to(root))])
    assert etl_run(redshift, capsys)[0] == 0 and etl_run(duck, capsys)[0] == 0
    assert differences(star(redshift), star(duck)) == []


# ----------------------------------------------------------------- one run at a time, readers not blocked


def test_three_overlapping_runs_load_once_and_a_reader_does_not_wait(warehouses, tmp_path, monkeypatch):
    from sparkify.sample_data import generate

    root = tmp_path / "input"
    generate(root, events=3000, songs=100, seed=7)
    warehouses.upload("overlap", root)
    config = warehouses.redshift("overlap")
    assert run(create_tables, "--config", config, "--yes", "-q") == 0

    copying = threading.Event()
    execute = DoubleCursor.execute

    def slow_copy(cursor, statement, params=None):  # each COPY takes a moment: the runs overlap on any machine
        if statement.startswith("COPY "):
            copying.set()
            time.sleep(1.0)
        return execute(cursor, statement, params)

    monkeypatch.setattr(DoubleCursor, "execute", slow_copy)
    codes: list[int] = []
    threads = []
    for _ in range(3):  # two cron jobs and an engineer, started a moment apart
        thread = threading.Thread(target=lambda: codes.append(etl.main(["--config", str(config), "-q"])))
        thread.start()
        threads.append(thread)
        time.sleep(0.3)
    assert copying.wait(30)
    # a reader during the load: answered at once (a lock would make it wait past its 500 ms limit)
    database = warehouses.doubles["overlap"].database
    reader = psycopg2.connect(host=database["HOST"], port=database["DB_PORT"], dbname=database["DB_NAME"],
                              user=database["DB_USER"], password=PG_PASSWORD, options="-c statement_timeout=500")
    try:
        with reader.cursor() as cursor:
            cursor.execute("SELECT COUNT(*) FROM songplays")
            assert cursor.fetchall() == [(0,)]  # as of the last commit
    finally:
        reader.close()
    for thread in threads:
        thread.join(120)
    assert codes == [0, 0, 0]

    events = [json.loads(line) for path in (root / "log_data").rglob("*.json")
              for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    plays = sum(1 for e in events if e["page"] == "NextSong")
    assert fetch(config, "SELECT COUNT(*), COUNT(DISTINCT songplay_id) FROM songplays") == [(plays, plays)]
    copies = [s for s in warehouses.doubles["overlap"].statements if s.startswith("COPY staging_events")]
    assert len(copies) == 1  # the two later runs found the files recorded


# ----------------------------------------------------------------- a database user who does not own the tables


def test_a_user_who_does_not_own_the_tables_loads_with_the_privileges_the_error_names(warehouses, tmp_path, capsys):
    root = tmp_path / "input"
    first_day(root)
    warehouses.upload("grants", root)
    owner = warehouses.redshift("grants")
    assert run(create_tables, "--config", owner, "--yes", "-q") == 0
    double = warehouses.doubles["grants"]
    loader = "loader_" + double.database["DB_NAME"]
    with double._system.cursor() as cursor:  # an IAM login is often another database user than the owner
        cursor.execute(f"CREATE USER {loader} PASSWORD %s", [PG_PASSWORD])
    double.user = loader
    try:
        code, _, err = etl_run(owner, capsys, "--max-errors", "6")
        assert code == 1
        assert err == (
            "error: redshift: sparkify may not use table staging_events - GRANT SELECT, INSERT, UPDATE, DELETE "
            "ON ALL TABLES IN SCHEMA public TO sparkify (as the tables' owner), or run as the user who ran create_tables.py\n"
        )
        with double._system.cursor() as cursor:  # what the error says to grant, and no more
            cursor.execute(f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {loader}")
        code, _, err = etl_run(owner, capsys, "--max-errors", "6")
        assert (code, err) == (0, ""), err
        assert fetch(owner, "SELECT COUNT(*) FROM songplays") == [(5,)]
    finally:
        double.user = None


# ----------------------------------------------------------------- REGION and the manifest


def eu_bucket() -> None:
    import boto3

    boto3.client("s3", region_name="eu-west-1").create_bucket(
        Bucket="sparkify-test-eu", CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})


def test_a_manifest_bucket_in_another_region_is_refused_in_one_line_before_anything_runs(warehouses, tmp_path, capsys):
    root = tmp_path / "input"
    first_day(root)
    warehouses.upload("region", root)
    config = warehouses.redshift("region")
    eu_bucket()
    config.write_text(config.read_text().replace(f"s3://{BUCKET}/manifests/region", "s3://sparkify-test-eu/manifests"))
    assert run(create_tables, "--config", config, "--yes", "-q") == 0

    code, _, err = etl_run(config, capsys)

    assert (code, err) == (1, (
        "error: [S3] MANIFEST_PREFIX s3://sparkify-test-eu/manifests is in eu-west-1, but COPY reads the input in "
        "us-west-2 ([S3] REGION) and needs its manifest in that region too - use a bucket in us-west-2 for "
        "MANIFEST_PREFIX\n"))
    assert fetch(config, "SELECT COUNT(*) FROM loaded_files") == [(0,)]


def test_the_double_applies_region_to_the_manifest_as_copy_does(warehouses, tmp_path):
    """What the check above prevents: on the double, as on Redshift, such a COPY fails."""
    warehouses.redshift("copy-region")
    double = warehouses.doubles["copy-region"]
    eu_bucket()
    warehouses.s3.put_object(Bucket=BUCKET, Key="copy-region/a.json", Body=b'{"a": "x"}\n')
    manifest = {"entries": [{"url": f"s3://{BUCKET}/copy-region/a.json", "mandatory": True}]}
    warehouses.s3.put_object(Bucket="sparkify-test-eu", Key="m.manifest", Body=json.dumps(manifest).encode())
    connection = double.connect()
    connection.autocommit = True
    try:
        with connection.cursor() as cursor:
            cursor.execute("CREATE TABLE t (a VARCHAR(8)) DISTSTYLE ALL")
            copy = (f"COPY t FROM 's3://sparkify-test-eu/m.manifest' IAM_ROLE '{ROLE_ARN}' REGION 'us-west-2' "
                    "FORMAT AS JSON 'auto ignorecase' MANIFEST")
            with pytest.raises(psycopg2.Error, match="manifest s3://sparkify-test-eu/m.manifest is in eu-west-1"):
                cursor.execute(copy)
            warehouses.s3.put_object(Bucket=BUCKET, Key="m.manifest", Body=json.dumps(manifest).encode())
            cursor.execute(copy.replace("sparkify-test-eu", BUCKET))
            cursor.execute("SELECT a FROM t")
            assert cursor.fetchall() == [("x",)]
    finally:
        connection.close()


# ----------------------------------------------------------------- the COPY's own rejected rows


def test_rejects_of_a_file_whose_uri_is_longer_than_char_256_count_against_it(warehouses, tmp_path):
    root = tmp_path / "input"
    first_day(root)
    deep = root / "log_data" / "2018" / ("d" * 120) / ("e" * 120) / "2018-11-02-events.json"
    deep.parent.mkdir(parents=True)
    deep.write_text(json.dumps(play("Song A", "Artist A", 200.0, ts=ts(2, 1))) + "\n{bad\n", encoding="utf-8")
    warehouses.upload("long", root)
    redshift, duck = warehouses.redshift("long"), warehouses.duckdb("long-duck", root)
    assert len(f"s3://{BUCKET}/long/log_data/{deep.relative_to(root / 'log_data').as_posix()}") > 256
    assert build(duck, "--max-errors", "7") == 0
    assert build(redshift, "--max-errors", "7") == 0

    name = deep.relative_to(root / "log_data").as_posix()
    reject_count = f"SELECT reject_count FROM loaded_files WHERE file_name = '{name}'"
    assert fetch(redshift, reject_count) == fetch(duck, reject_count) == [(1,)]
    # the view itself keeps the first 256 bytes of the name, blank-padded, as CHAR(256) does
    with warehouses.doubles["long"]._system.cursor() as cursor:
        cursor.execute("SELECT MAX(LENGTH(file_name)), MAX(OCTET_LENGTH(CAST(file_name AS TEXT))) "
                       "FROM redshift_sys.sys_load_error_detail")
        assert cursor.fetchone() == (256, 256)
    assert differences(star(redshift), star(duck)) == []
