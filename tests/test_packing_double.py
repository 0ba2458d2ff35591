"""End to end on the Redshift double: a catalogue of small song files loaded packed equals the same load
unpacked and DuckDB's full load, and load_errors names the original file and line in all three.

Runs once tests/redshift_double.py exists (issue "Redshift, proven without a cluster"); skipped until then.
What it expects of the double, all in ``redshift_cfg`` below:

- ``redshift_double.dwh_cfg(folder, pg_database, s3_settings) -> Path``: a dwh.cfg for ENGINE = redshift
  whose connection (through ``sparkify.engines.connect``) reaches the double on the throwaway PostgreSQL
  server, with ``s3_settings`` as its [S3] section; its COPY reads objects from moto's S3 (in-process,
  the ``aws`` fixture's ``mock_aws``);
- COPY ... MANIFEST with and without GZIP, FORMAT AS JSON 'auto ignorecase' and a jsonpaths file, MAXERROR;
- each record COPY rejects in sys_load_error_detail, with file_name the manifest entry's url and
  line_number the 1-based line in that (uncompressed) file, as Redshift documents;
- ``SELECT COUNT(*) FROM stv_slices`` answers a count or fails (then parts are by size alone).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from aws_helpers import BUCKET
from helpers import event, play, run, song, write_config

import create_tables
import etl
from sparkify import sample_data
from sparkify.config import load_config
from sparkify.engines import connect

double = pytest.importorskip("redshift_double", reason="needs tests/redshift_double.py (the Redshift double)")

SONGS = 20_000
RAW = f"s3://{BUCKET}/raw"
STAR = {
    "songs": "SELECT song_id, title, artist_id, year, duration FROM songs ORDER BY 1",
    "artists": "SELECT artist_id, name, location, latitude, longitude FROM artists ORDER BY 1",
    "songplays": "SELECT start_time, user_id, level, song_id, artist_id, session_id FROM songplays ORDER BY 1, 2",
    "users": "SELECT user_id, first_name, last_name, gender, level FROM users ORDER BY 1",
}


def catalogue() -> tuple[dict[str, bytes], dict[str, bytes]]:
    """(song files, event files): relative name -> bytes. Some records are bad, each in its own way, all
    ways COPY itself rejects (and names by file and line): the rules Redshift applies after COPY name
    no file on any Redshift load, packed or not (sparkify/rules.py)."""
    songs = {}
    for number in range(SONGS):
        record = song(f"SO{number:06d}", f"Song {number}", f"AR{number % 3000:05d}", f"Artist {number % 3000}", 180.0 + number % 60)
        songs[f"{chr(65 + number % 26)}/{chr(65 + number // 26 % 26)}/TR{number:06d}.json"] = json.dumps(record).encode()
    songs["Z/Z/TRBAD000001.json"] = b'{"song_id": "SOBAD1", "title": '  # not JSON: COPY'd as it is, never packed
    songs["Z/Z/TRBAD000002.json"] = json.dumps(song({"an": "object"}, "Bad id", "ARBAD", "Bad", 100.0)).encode()
    songs["Z/Z/TRBAD000003.json"] = json.dumps(song("SOBAD3", "x" * 2000, "ARBAD", "Bad", 100.0)).encode()  # too wide
    songs["Z/Z/TRBAD000004.json"] = (  # two records, the second bad: named by line 2
        json.dumps(song("SOBAD4", "Fine", "ARBAD", "Bad", 100.0)) + "\n"
        + json.dumps(song("SOBAD5", "y" * 2000, "ARBAD", "Bad", 100.0))
    ).encode()
    events = {
        "2018/11/2018-11-01-events.json": b"".join(
            json.dumps(record).encode() + b"\n"
            for record in [play(f"Song {n}", f"Artist {n % 3000}", 180.0 + n % 60, userId=str(n % 50 + 1),
                                ts=1541030400000 + n * 1000) for n in range(0, 400, 7)]
            + [event(userId="7", ts="yesterday")]  # bad ts
        ),
    }
    return songs, events


@pytest.fixture
def inputs(aws, tmp_path):
    """The catalogue in moto (for Redshift) and in a folder (for DuckDB)."""
    aws.s3.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": "us-west-2"})
    songs, events = catalogue()
    for folder, files in (("song_data", songs), ("log_data", events)):
        for name, body in files.items():
            aws.s3.put_object(Bucket=BUCKET, Key=f"raw/{folder}/{name}", Body=body)
            path = tmp_path / "local" / folder / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(body)
    jsonpaths = sample_data.jsonpaths_text()
    aws.s3.put_object(Bucket=BUCKET, Key="raw/log_json_path.json", Body=jsonpaths.encode())
    (tmp_path / "local" / "log_json_path.json").write_text(jsonpaths)
    return tmp_path / "local"


def redshift_cfg(folder: Path, pg_database: dict, **pack: str) -> Path:
    folder.mkdir()
    return double.dwh_cfg(folder, pg_database, {
        "LOG_DATA": f"{RAW}/log_data", "SONG_DATA": f"{RAW}/song_data", "LOG_JSONPATH": f"{RAW}/log_json_path.json",
        "REGION": "us-west-2", "MANIFEST_PREFIX": f"s3://{BUCKET}/manifests", **pack,
    })


def outcome(config: Path, prefix: str) -> dict:
    """The star schema and load_errors (file named relative to its input, line, table) of a warehouse."""
    with connect(load_config(config)) as engine:
        result = {table: engine.query(statement) for table, statement in STAR.items()}
        errors = engine.query("SELECT table_name, source_file, line_number FROM load_errors")
    result["load_errors"] = sorted(
        (table, None if file is None else file.replace("\\", "/").split(prefix, 1)[-1], line)
        for table, file, line in errors
    )
    return result


def test_packed_equals_unpacked_equals_duckdb_and_rejects_are_named_by_the_original_file(
    inputs, tmp_path, pg_database, capsys
):
    duck = write_config(tmp_path / "duck.cfg", {
        "DWH": {"ENGINE": "duckdb", "DUCKDB_PATH": str(tmp_path / "duck.duckdb")},
        "S3": {"LOG_DATA": str(inputs / "log_data"), "SONG_DATA": str(inputs / "song_data"),
               "LOG_JSONPATH": str(inputs / "log_json_path.json")},
    })
    unpacked = redshift_cfg(tmp_path / "unpacked", pg_database, PACK_THRESHOLD="0")
    packed = redshift_cfg(tmp_path / "packed", pg_database)
    results = {}
    for name, config, prefix in (("duckdb", duck, "/local/"), ("unpacked", unpacked, "/raw/"), ("packed", packed, "/raw/")):
        assert run(create_tables, "--config", config, "--yes", "-q") == 0
        capsys.readouterr()
        assert run(etl, "--config", config, "--max-errors", "10", "--json") == 0, capsys.readouterr().err
        results[name] = (outcome(config, prefix), json.loads(capsys.readouterr().out))

    (duck_result, _), (unpacked_result, unpacked_json), (packed_result, packed_json) = results.values()
    assert unpacked_json["packed"] is None
    assert packed_json["packed"]["files"] == SONGS + 3  # all but the file that is not JSON
    assert packed_json["packed"]["parts"] < 100
    assert packed_result == unpacked_result == duck_result
    assert len(duck_result["songs"]) == SONGS + 1  # SOBAD4 is fine
    # every rejected record named by its original file and line, in all three
    assert ("staging_songs", "song_data/Z/Z/TRBAD000004.json", 2) in packed_result["load_errors"]
    assert all(file is not None and line is not None for _, file, line in packed_result["load_errors"])
    assert len(packed_result["load_errors"]) == 5
