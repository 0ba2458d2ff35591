"""Incremental loading on S3, against moto: the listing, the COPY manifests, and daily runs that fetch only new files."""

from __future__ import annotations

import hashlib
import json
import threading

import pytest
from aws_helpers import BUCKET
from botocore.client import BaseClient
from helpers import build, event, fetch, play, song, write_config
from test_redshift import ARN, Copy, FakeRedshift

import etl
from sparkify import aws as sparkify_aws
from sparkify import inputs, sample_data, staging
from sparkify.aws import s3
from sparkify.config import Inputs, load_config
from sparkify.engines.redshift import RedshiftEngine
from sparkify.errors import InputError
from sparkify.incremental import Batch, SourceFile

LOG_DATA = f"s3://{BUCKET}/raw/log_data"
SONG_DATA = f"s3://{BUCKET}/raw/song_data"
JSONPATHS = f"s3://{BUCKET}/raw/log_json_path.json"
MANIFESTS = f"s3://{BUCKET}/manifests"


@pytest.fixture
def bucket(aws):
    """The moto bucket the inputs live in; returns the s3 client."""
    aws.s3.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": "us-west-2"})
    return aws.s3


def put(client, key: str, body: bytes) -> str:
    """Upload an object; return its ETag as S3 lists it, without quotes."""
    return client.put_object(Bucket=BUCKET, Key=key, Body=body)["ETag"].strip('"')


def lines(*records: dict) -> bytes:
    return b"".join(json.dumps(record).encode() + b"\n" for record in records)


@pytest.fixture
def list_calls(monkeypatch) -> list[dict]:
    """The parameters of every ListObjectsV2 request boto3 sends (one per page)."""
    calls: list[dict] = []
    original = BaseClient._make_api_call

    def counting(self, operation, params):
        if operation == "ListObjectsV2":
            calls.append(dict(params))
        return original(self, operation, params)

    monkeypatch.setattr(BaseClient, "_make_api_call", counting)
    return calls


# ------------------------------------------------------------------ listing a prefix


def test_list_prefix_pages_through_every_page(bucket, monkeypatch, list_calls):
    monkeypatch.setattr(s3, "LIST_PAGE_SIZE", 2)
    bodies = {f"raw/log_data/2018/11/2018-11-0{day}-events.json": lines(event(ts=day)) * day for day in range(5, 0, -1)}
    etags = {key: put(bucket, key, body) for key, body in bodies.items()}
    put(bucket, "raw/log_data/README.txt", b"not JSON: not an input\n")
    put(bucket, "raw/song_data/A/TRA.json", b"{}\n")  # another prefix: not listed

    listed = s3.list_prefix(LOG_DATA)

    assert len(list_calls) == 3  # 6 keys under the prefix, 2 a page
    assert {call["MaxKeys"] for call in list_calls} == {2}
    assert [obj.name for obj in listed] == [f"2018/11/2018-11-0{day}-events.json" for day in range(1, 6)]
    for obj in listed:
        key = f"raw/log_data/{obj.name}"
        assert obj == s3.S3Object(obj.name, len(bodies[key]), etags[key], f"s3://{BUCKET}/{key}")
        assert obj.etag == hashlib.md5(bodies[key]).hexdigest()  # a single-part upload's ETag, no quotes


def test_listing_a_missing_bucket_is_one_line_naming_the_uri(aws):
    with pytest.raises(InputError) as caught:
        s3.list_prefix("s3://no-such-sparkify-bucket/log_data")
    assert str(caught.value) == (
        "bucket no-such-sparkify-bucket not found (s3://no-such-sparkify-bucket/log_data) - "
        "check the s3:// path in [S3] of dwh.cfg"
    )


@pytest.mark.parametrize("present", [[], ["raw/log_data/notes.txt"]], ids=["nothing", "no-json"])
def test_a_prefix_without_json_files_is_one_line_naming_the_uri(bucket, present):
    for key in present:
        put(bucket, key, b"not JSON\n")
    with pytest.raises(InputError) as caught:
        s3.list_prefix(LOG_DATA)
    assert str(caught.value) == f"no .json files under {LOG_DATA} - check the s3:// path in [S3] of dwh.cfg"


def test_list_inputs_gives_name_size_etag_and_uri_of_each_s3_file(bucket):
    events_etag = put(bucket, "raw/log_data/2018/11/2018-11-01-events.json", lines(event()))
    song_body = json.dumps(song("SOA", "Song A", "ARA", "Artist A", 200.0)).encode()
    song_etag = put(bucket, "raw/song_data/A/B/C/TRABC1.json", song_body)

    listing = inputs.list_inputs(Inputs(log_data=LOG_DATA, song_data=SONG_DATA, log_jsonpath=None, region="us-west-2"))

    assert {source: listed.files() for source, listed in listing.items()} == {
        "LOG_DATA": [SourceFile("LOG_DATA", "2018/11/2018-11-01-events.json", len(lines(event())), events_etag,
                                f"{LOG_DATA}/2018/11/2018-11-01-events.json", f"md5:{events_etag}")],
        "SONG_DATA": [SourceFile("SONG_DATA", "A/B/C/TRABC1.json", len(song_body), song_etag,
                                 f"{SONG_DATA}/A/B/C/TRABC1.json", f"md5:{song_etag}")],
    }  # a single-part upload's ETag is the MD5 of its content: its fingerprint


def test_two_s3_keys_with_one_name_stop_the_listing_naming_them(bucket):
    # "raw/log_data//x.json" and "raw/log_data/x.json" are both x.json under the prefix:
    # the record could not tell them apart, so neither may be loaded in its place
    put(bucket, "raw/log_data/2018/x.json", lines(event()))
    put(bucket, "raw/log_data//2018/x.json", lines(event(ts=2)))
    put(bucket, "raw/song_data/A/TRA.json", b"{}\n")

    with pytest.raises(InputError) as caught:
        inputs.list_inputs(Inputs(log_data=LOG_DATA, song_data=SONG_DATA, log_jsonpath=None, region="us-west-2"))

    assert str(caught.value).endswith(f"and another object under {LOG_DATA} both have the name 2018/x.json "
                                      "(a key with // in it) - rename one")
    assert str(caught.value).startswith(f"s3://{BUCKET}/raw/log_data/")


# ------------------------------------------------------------------ COPY manifests


def test_write_manifest_writes_what_redshift_copy_reads(bucket):
    files = [(f"{LOG_DATA}/2018/11/2018-11-01-events.json", 4096), (f"{LOG_DATA}/2018/11/2018-11-02-events.json", 17)]
    s3.write_manifest(f"{MANIFESTS}/run-1/staging_events.manifest", files)

    stored = bucket.get_object(Bucket=BUCKET, Key="manifests/run-1/staging_events.manifest")
    assert json.loads(stored["Body"].read()) == {
        "entries": [
            {"url": f"{LOG_DATA}/2018/11/2018-11-01-events.json", "mandatory": True, "meta": {"content_length": 4096}},
            {"url": f"{LOG_DATA}/2018/11/2018-11-02-events.json", "mandatory": True, "meta": {"content_length": 17}},
        ]
    }


def test_a_manifest_for_a_missing_bucket_is_one_line_naming_manifest_prefix(aws):
    with pytest.raises(InputError) as caught:
        s3.write_manifest("s3://no-such-sparkify-bucket/manifests/run-1/staging_events.manifest", [("s3://b/x.json", 1)])
    assert str(caught.value) == (
        "bucket no-such-sparkify-bucket not found (s3://no-such-sparkify-bucket/manifests/run-1/staging_events.manifest)"
        " - check [S3] MANIFEST_PREFIX in dwh.cfg"
    )


def manifest_entries(client, prefix: str = "manifests/") -> dict[str, list[tuple[str, int]]]:
    """Every manifest under the prefix in moto: key -> (url, content_length) of each entry (all mandatory)."""
    found = {}
    for obj in client.list_objects_v2(Bucket=BUCKET, Prefix=prefix).get("Contents", []):
        document = json.loads(client.get_object(Bucket=BUCKET, Key=obj["Key"])["Body"].read())
        assert all(entry["mandatory"] is True for entry in document["entries"])
        found[obj["Key"]] = [(entry["url"], entry["meta"]["content_length"]) for entry in document["entries"]]
    return found


def test_redshift_copy_staging_writes_one_manifest_per_table_of_exactly_the_batchs_files(bucket, tmp_path):
    config = load_config(write_config(tmp_path / "dwh.cfg", {
        "DWH": {"ENGINE": "redshift"},
        "CLUSTER": {"HOST": "dwh.abc123.us-west-2.redshift.amazonaws.com", "DB_PORT": "5439",
                    "DB_NAME": "sparkify", "DB_USER": "sparkify_admin"},
        "IAM_ROLE": {"ARN": ARN},
        "S3": {"LOG_DATA": LOG_DATA, "SONG_DATA": SONG_DATA, "LOG_JSONPATH": JSONPATHS, "REGION": "us-west-2",
               "MANIFEST_PREFIX": f"{MANIFESTS}/",  # a trailing slash makes no empty folder name
               "PACK_THRESHOLD": "0"},  # every file as it is (packing: tests/test_packing.py)
    }))
    day = "2018/11/2018-11-0{}-events.json"
    batch = Batch(
        files={
            "LOG_DATA": [SourceFile("LOG_DATA", day.format(n), 1000 + n, f"etag-{n}", f"{LOG_DATA}/{day.format(n)}")
                         for n in (2, 3)],
            "SONG_DATA": [SourceFile("SONG_DATA", "A/B/C/TRABC1.json", 250, "etag-s", f"{SONG_DATA}/A/B/C/TRABC1.json")],
        },
        run_id="run-7",
    )
    fake = FakeRedshift(staging_events=Copy(loaded=5), staging_songs=Copy(loaded=1))

    staging.copy_staging(RedshiftEngine(config, fake), batch, 0)

    assert manifest_entries(bucket) == {
        "manifests/run-7/staging_events.manifest": [(f"{LOG_DATA}/{day.format(2)}", 1002),
                                                    (f"{LOG_DATA}/{day.format(3)}", 1003)],
        "manifests/run-7/staging_songs.manifest": [(f"{SONG_DATA}/A/B/C/TRABC1.json", 250)],
    }
    copies = [statement for statement in fake.executed() if statement.startswith("COPY")]
    assert [copy.splitlines()[1] for copy in copies] == [
        f"FROM '{MANIFESTS}/run-7/staging_events.manifest'",
        f"FROM '{MANIFESTS}/run-7/staging_songs.manifest'",
    ]
    assert all(copy.splitlines()[-1] == "MANIFEST" for copy in copies)


# ------------------------------------------------------------------ daily runs of a local engine on s3:// inputs


@pytest.fixture
def downloads(monkeypatch) -> list[list[str]]:
    """The s3:// URIs of each download_objects call (one per input with new files)."""
    calls: list[list[str]] = []
    original = sparkify_aws.download_objects

    def recording(objects, dest, **kwargs):
        calls.append([obj.uri for obj in objects])
        return original(objects, dest, **kwargs)

    monkeypatch.setattr(sparkify_aws, "download_objects", recording)
    return calls


def day_key(day: int) -> str:
    return f"raw/log_data/2018/11/2018-11-{day:02d}-events.json"


@pytest.fixture
def s3_warehouse(bucket, tmp_path):
    """A DuckDB warehouse whose inputs are in moto: one day of events, one song, the jsonpaths file."""
    put(bucket, day_key(1), lines(play("Song A", "Artist A", 200.0, userId="3", ts=1541030400000)))
    put(bucket, "raw/song_data/A/B/C/TRABC1.json", json.dumps(song("SOA", "Song A", "ARA", "Artist A", 200.0)).encode())
    put(bucket, "raw/log_json_path.json", sample_data.jsonpaths_text().encode())
    return write_config(tmp_path / "dwh.cfg", {
        "DWH": {"ENGINE": "duckdb", "DUCKDB_PATH": "s3.duckdb"},
        "S3": {"LOG_DATA": LOG_DATA, "SONG_DATA": SONG_DATA, "LOG_JSONPATH": JSONPATHS},
    })


def record(config) -> list[tuple]:
    return fetch(config, "SELECT source, file_name, size_bytes, version FROM loaded_files ORDER BY 1, 2")


def test_a_daily_run_downloads_only_the_new_days_object(bucket, s3_warehouse, downloads):
    config = s3_warehouse
    assert build(config) == 0
    assert downloads == [[f"s3://{BUCKET}/{day_key(1)}"], [f"{SONG_DATA}/A/B/C/TRABC1.json"]]
    assert fetch(config, "SELECT COUNT(*) FROM songplays") == [(1,)]

    body = lines(play("Song A", "Artist A", 200.0, userId="4", ts=1541116800000))
    etag = put(bucket, day_key(2), body)
    downloads.clear()
    assert etl.main(["--config", str(config), "-q"]) == 0

    assert downloads == [[f"s3://{BUCKET}/{day_key(2)}"]]  # not day 1, not the song file
    assert fetch(config, "SELECT user_id FROM songplays ORDER BY 1") == [(3,), (4,)]
    assert ("LOG_DATA", "2018/11/2018-11-02-events.json", len(body), etag) in record(config)
    assert len(record(config)) == 3

    downloads.clear()
    assert etl.main(["--config", str(config), "-q"]) == 0  # nothing new: nothing fetched, nothing changed
    assert downloads == []
    assert len(record(config)) == 3


def test_an_overwritten_object_stops_the_run_naming_it_and_full_refresh(bucket, s3_warehouse, downloads, capsys):
    config = s3_warehouse
    assert build(config) == 0
    before = record(config)
    # same size, other content: only the ETag tells
    old = bucket.get_object(Bucket=BUCKET, Key=day_key(1))["Body"].read()
    new = old.replace(b'"userId": "3"', b'"userId": "5"')
    assert len(new) == len(old) and new != old
    new_etag = put(bucket, day_key(1), new)
    downloads.clear()
    capsys.readouterr()

    assert etl.main(["--config", str(config), "-q"]) == 1

    assert capsys.readouterr().err.splitlines() == [
        "error: LOG_DATA file 2018/11/2018-11-01-events.json changed since it was loaded (size or ETag) - its rows "
        "would be counted twice: python etl.py --full-refresh rebuilds from all the input"
    ]
    assert downloads == []
    assert record(config) == before
    assert fetch(config, "SELECT user_id FROM songplays") == [(3,)]

    assert etl.main(["--config", str(config), "-q", "--full-refresh"]) == 0
    assert fetch(config, "SELECT user_id FROM songplays") == [(5,)]
    assert ("LOG_DATA", "2018/11/2018-11-01-events.json", len(new), new_etag) in record(config)


# ------------------------------------------------------------------ content identity on S3


def test_a_renamed_object_is_recorded_as_the_same_content_and_never_fetched(bucket, s3_warehouse, downloads, capsys):
    config = s3_warehouse
    assert build(config) == 0
    body = bucket.get_object(Bucket=BUCKET, Key=day_key(1))["Body"].read()
    put(bucket, "raw/log_data/2018/11/renamed.json", body)  # a rename: a copy under a new key ...
    bucket.delete_object(Bucket=BUCKET, Key=day_key(1))  # ... and the old one gone
    downloads.clear()
    capsys.readouterr()

    assert etl.main(["--config", str(config), "-q"]) == 0

    assert capsys.readouterr().err.splitlines() == [
        "warning: LOG_DATA file 2018/11/renamed.json has the same content as 2018/11/2018-11-01-events.json: "
        "recorded, not loaded again (python etl.py --full-refresh to load every name)"
    ]
    assert downloads == []  # known by its ETag: not even fetched
    assert fetch(config, "SELECT user_id FROM songplays") == [(3,)]
    assert fetch(config, "SELECT row_count, content_hash FROM loaded_files WHERE file_name = '2018/11/renamed.json'") == [
        (0, f"md5:{hashlib.md5(body).hexdigest()}")]
    assert etl.main(["--config", str(config), "-q"]) == 0  # the new name is known now
    assert fetch(config, "SELECT COUNT(*) FROM songplays") == [(1,)]


def test_another_s3_root_stops_the_run_naming_both_roots(bucket, s3_warehouse, downloads, capsys):
    config = s3_warehouse
    assert build(config) == 0
    before = record(config)
    moved = config.read_text().replace(f"LOG_DATA = {LOG_DATA}", f"LOG_DATA = {LOG_DATA}/2018")
    assert moved != config.read_text()
    config.write_text(moved)
    downloads.clear()
    capsys.readouterr()

    assert etl.main(["--config", str(config), "-q"]) == 1

    assert capsys.readouterr().err.splitlines() == [
        f"error: LOG_DATA is {LOG_DATA}/2018, but the files loaded so far were found under {LOG_DATA} - every file "
        "would look new and be loaded twice: set LOG_DATA back, or python etl.py --full-refresh rebuilds from the new one"
    ]
    assert downloads == [] and record(config) == before


def test_a_local_engine_fetches_every_new_object_once_through_the_bounded_transfer_pool(bucket, s3_warehouse, monkeypatch):
    """Every object a run loads comes through s3.download_objects (boto3's transfer manager): each fetched
    once, by the pool's threads, never more at once than its workers."""
    for number in range(40):
        put(bucket, f"raw/song_data/B/{number:02d}.json", json.dumps(song(f"SO{number}", "T", "AR", "A", 1.0)).encode())
    gets: list[tuple[str, bool]] = []  # (key, fetched by a pool thread)
    running, most = [0], [0]

    class Watched(s3.Clients):
        def get(self, service, region=None):
            client = super().get(service, region)

            def before(params, **_):
                gets.append((params["Key"], threading.current_thread() is not threading.main_thread()))
                running[0] += 1
                most[0] = max(most[0], running[0])

            def after(**_):
                running[0] -= 1

            client.meta.events.register("before-parameter-build.s3.GetObject", before)
            client.meta.events.register("after-call.s3.GetObject", after)
            return client

    monkeypatch.setattr(s3, "Clients", Watched)

    assert build(s3_warehouse) == 0

    listed = [obj["Key"] for obj in bucket.list_objects_v2(Bucket=BUCKET)["Contents"]]
    inputs_loaded = sorted(key for key in listed if key.startswith(("raw/log_data/", "raw/song_data/")))
    assert len(inputs_loaded) == 42
    assert sorted(key for key, _ in gets if key in inputs_loaded) == inputs_loaded  # each once
    assert all(by_pool for key, by_pool in gets if key in inputs_loaded)
    assert 1 <= most[0] <= s3.TRANSFER_WORKERS
    assert fetch(s3_warehouse, "SELECT COUNT(*) FROM songs") == [(41,)]
