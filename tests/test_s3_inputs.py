"""The local engines read s3:// inputs: objects fetched with boto3 (moto here), then the same rules."""

from __future__ import annotations

import json

from aws_helpers import BUCKET
from helpers import build, event, fetch, play, song, write_config

import etl
from sparkify import sample_data


def upload(client, key: str, body: bytes) -> None:
    client.put_object(Bucket=BUCKET, Key=key, Body=body)


def test_duckdb_engine_loads_s3_inputs_and_names_s3_files(aws, tmp_path, capsys):
    aws.s3.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": "us-west-2"})
    events = [play("Song A", "Artist A", 200.0, userId="3"), event(userId="4", ts=1541105830797)]
    upload(aws.s3, "raw/log_data/2018/11/2018-11-01-events.json", b"".join(json.dumps(e).encode() + b"\n" for e in events))
    upload(aws.s3, "raw/song_data/A/B/C/TRABC1.json", json.dumps(song("SOA", "Song A", "ARA", "Artist A", 200.0)).encode())
    upload(aws.s3, "raw/log_json_path.json", sample_data.jsonpaths_text().encode())
    config = write_config(
        tmp_path / "dwh.cfg",
        {
            "DWH": {"ENGINE": "duckdb", "DUCKDB_PATH": "s3.duckdb"},
            "S3": {
                "LOG_DATA": f"s3://{BUCKET}/raw/log_data",
                "SONG_DATA": f"s3://{BUCKET}/raw/song_data",
                "LOG_JSONPATH": f"s3://{BUCKET}/raw/log_json_path.json",
            },
        },
    )
    assert build(config) == 0
    assert fetch(config, "SELECT user_id, song_id FROM songplays") == [(3, "SOA")]
    assert fetch(config, "SELECT user_id FROM users ORDER BY 1") == [(3,), (4,)]

    # A bad record is named by its s3:// location, not the local copy.
    upload(aws.s3, "raw/log_data/2018/11/2018-11-02-events.json", b'{"ts": "soon"}\n')
    capsys.readouterr()
    assert etl.main(["--config", str(config), "-q"]) == 1
    key = f"s3://{BUCKET}/raw/log_data/2018/11/2018-11-02-events.json"
    assert f"{key}:1: ts is not a number (epoch milliseconds)" in capsys.readouterr().err
    assert fetch(config, "SELECT source_file, line_number FROM load_errors") == [(key, 1)]


def test_missing_s3_prefix_is_one_clear_line(aws, tmp_path, capsys):
    aws.s3.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": "us-west-2"})
    config = write_config(
        tmp_path / "dwh.cfg",
        {"S3": {"LOG_DATA": f"s3://{BUCKET}/nothing/here", "SONG_DATA": f"s3://{BUCKET}/nothing/either"}},
    )
    assert build(config) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: ") and f"s3://{BUCKET}/nothing/here" in err[0], err
