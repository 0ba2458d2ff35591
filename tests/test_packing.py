"""Packing small input files into gzip parts before Redshift's COPY, against moto's S3.

The cluster is FakeRedshift (tests/test_redshift.py): COPY is scripted, the
parts, manifests and deletions are real S3 calls to moto.
"""

from __future__ import annotations

import fnmatch
import gzip
import io
import json

import pytest
from aws_helpers import BUCKET
from helpers import song, write_config
from test_redshift import ARN, Copy, FakeRedshift

from sparkify import incremental, report, staging
from sparkify.aws import packing
from sparkify.config import load_config
from sparkify.engines.redshift import RedshiftEngine
from sparkify.errors import InputError, WarehouseError
from sparkify.incremental import Batch, Listing
from sparkify.provision import iam
from sparkify.provision.settings import S3Location
from sparkify.staging import StagingResult

RAW = f"s3://{BUCKET}/raw"
MANIFESTS = f"s3://{BUCKET}/manifests"


@pytest.fixture
def bucket(aws):
    aws.s3.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": "us-west-2"})
    return aws.s3


@pytest.fixture
def config(tmp_path, bucket):
    return load_config(write_config(tmp_path / "dwh.cfg", {
        "DWH": {"ENGINE": "redshift"},
        "CLUSTER": {"HOST": "dwh.abc123.us-west-2.redshift.amazonaws.com", "DB_PORT": "5439",
                    "DB_NAME": "sparkify", "DB_USER": "sparkify_admin"},
        "IAM_ROLE": {"ARN": ARN},
        "S3": {"LOG_DATA": f"{RAW}/log_data", "SONG_DATA": f"{RAW}/song_data", "LOG_JSONPATH": f"{RAW}/paths.json",
               "REGION": "us-west-2", "MANIFEST_PREFIX": MANIFESTS,
               "PACK_THRESHOLD": "1KB", "PACK_PART_SIZE": "2KB", "PACK_WORKERS": "4"},
    }))


def put_songs(client, count: int, start: int = 0, size_over: int = 0) -> dict[str, bytes]:
    """Song files raw/song_data/A/TR<n>.json (one record, no newline, as the catalogue's); name -> bytes."""
    written = {}
    for number in range(start, start + count):
        record = song(f"SO{number:05d}", f"Song {number}", f"AR{number:05d}", "Artist", 200.0)
        if size_over:
            record["title"] = "x" * size_over
        body = json.dumps(record).encode()
        name = f"A/TR{number:05d}.json"
        client.put_object(Bucket=BUCKET, Key=f"raw/song_data/{name}", Body=body)
        written[name] = body
    return written


def listing(client, source: str = "SONG_DATA") -> Listing:
    folder = "song_data" if source == "SONG_DATA" else "log_data"
    objects = client.list_objects_v2(Bucket=BUCKET, Prefix=f"raw/{folder}/")["Contents"]
    names = {obj["Key"].split(f"raw/{folder}/", 1)[1]: obj for obj in objects}
    return Listing(
        source,
        {name: (obj["Size"], obj["ETag"].strip('"')) for name, obj in names.items()},
        {name: f"{RAW}/{folder}/{name}" for name in names},
    )


def manifest(client, key: str) -> list[tuple[str, int]]:
    document = json.loads(client.get_object(Bucket=BUCKET, Key=f"manifests/{key}")["Body"].read())
    assert all(entry["mandatory"] for entry in document["entries"])
    return [(entry["url"], entry["meta"]["content_length"]) for entry in document["entries"]]


def keys(client, prefix: str = "manifests/") -> list[str]:
    return sorted(obj["Key"] for obj in client.list_objects_v2(Bucket=BUCKET, Prefix=prefix).get("Contents", []))


def unzipped(client, uri: str) -> bytes:
    return gzip.decompress(client.get_object(Bucket=BUCKET, Key=uri.split(f"{BUCKET}/", 1)[1])["Body"].read())


def copies(fake: FakeRedshift) -> list[str]:
    return [statement for statement in fake.executed() if statement.startswith("COPY")]


# ------------------------------------------------------------------ parts and manifests


def test_small_files_are_packed_into_gzip_parts_and_large_ones_copied_as_they_are(config, bucket):
    small = put_songs(bucket, 30)
    large = put_songs(bucket, 1, start=100, size_over=2000)  # above PACK_THRESHOLD = 1KB
    batch = incremental.plan({"SONG_DATA": listing(bucket)}, {})
    fake = FakeRedshift(staging_songs=Copy(loaded=31))

    counts = staging.copy_staging(RedshiftEngine(config, fake), batch, 0)

    total = sum(len(body) for body in small.values())
    assert counts["files"] == 30 and counts["bytes"] == total
    parts = manifest(bucket, f"{batch.run_id}/staging_songs.packed.manifest")
    assert counts["parts"] == len(parts) == -(-total // 2048)  # enough that none passes PACK_PART_SIZE
    for url, size in parts:
        assert url.startswith(f"{MANIFESTS}/{batch.run_id}/packed/staging_songs-") and url.endswith(".json.gz")
        assert bucket.head_object(Bucket=BUCKET, Key=url.split(f"{BUCKET}/", 1)[1])["ContentLength"] == size
    # every small file, in name order, byte for byte, one line each
    assert b"".join(unzipped(bucket, url) for url, _ in parts) == b"".join(small[name] + b"\n" for name in sorted(small))
    assert manifest(bucket, f"{batch.run_id}/staging_songs.manifest") == [
        (f"{RAW}/song_data/{name}", len(body)) for name, body in large.items()
    ]
    plain, packed = copies(fake)
    assert plain.splitlines()[1] == f"FROM '{MANIFESTS}/{batch.run_id}/staging_songs.manifest'"
    assert packed.splitlines()[1] == f"FROM '{MANIFESTS}/{batch.run_id}/staging_songs.packed.manifest'"
    assert plain.splitlines()[-1] == "MANIFEST" and packed.splitlines()[-2:] == ["MANIFEST", "GZIP"]
    # both COPYs in the one staging transaction
    executed = fake.executed()
    assert executed.index("BEGIN") < executed.index(plain) < executed.index(packed) < executed.index("COMMIT")


def test_the_record_of_loaded_files_still_lists_every_original_file(config, bucket):
    put_songs(bucket, 12)
    batch = incremental.plan({"SONG_DATA": listing(bucket)}, {})
    staging.copy_staging(RedshiftEngine(config, FakeRedshift(staging_songs=Copy(loaded=12))), batch, 0)

    rows = incremental.record_rows(batch, None, {})
    assert [(row[1], row[2], row[3]) for row in rows] == [
        (name, *listing(bucket).versions[name]) for name in sorted(listing(bucket).versions)
    ]


def test_parts_are_at_least_as_many_as_the_clusters_slices(config, bucket):
    put_songs(bucket, 10)  # ~2.5 KB: 2 parts by size
    batch = incremental.plan({"SONG_DATA": listing(bucket)}, {})
    fake = FakeRedshift(stv_slices=Copy(loaded=4))  # SELECT COUNT(*) FROM stv_slices -> 4

    assert staging.copy_staging(RedshiftEngine(config, fake), batch, 0)["parts"] == 4
    assert len(manifest(bucket, f"{batch.run_id}/staging_songs.packed.manifest")) == 4


def test_a_run_with_nothing_small_to_pack_copies_every_file_as_it_is(config, bucket):
    put_songs(bucket, 3, size_over=2000)
    batch = incremental.plan({"SONG_DATA": listing(bucket)}, {})
    fake = FakeRedshift()

    assert staging.copy_staging(RedshiftEngine(config, fake), batch, 0) is None

    assert keys(bucket) == [f"manifests/{batch.run_id}/staging_songs.manifest"]
    assert len(manifest(bucket, f"{batch.run_id}/staging_songs.manifest")) == 3
    assert [copy.splitlines()[-1] for copy in copies(fake)] == ["MANIFEST"]
    assert not any("stv_slices" in statement for statement in fake.executed())  # the cluster is not even asked


def test_one_small_file_is_not_worth_a_part(config, bucket):
    put_songs(bucket, 1)
    batch = incremental.plan({"SONG_DATA": listing(bucket)}, {})
    assert staging.copy_staging(RedshiftEngine(config, FakeRedshift()), batch, 0) is None
    assert keys(bucket) == [f"manifests/{batch.run_id}/staging_songs.manifest"]


def test_a_daily_run_packs_only_its_new_files(config, bucket):
    put_songs(bucket, 10)
    first = incremental.plan({"SONG_DATA": listing(bucket)}, {})
    staging.copy_staging(RedshiftEngine(config, FakeRedshift()), first, 0)
    record = incremental.Record(
        versions={"SONG_DATA": {row[1]: (row[2], row[3]) for row in incremental.record_rows(first, None, {})}},
        roots={"SONG_DATA": {first.roots["SONG_DATA"]}},
    )
    new = put_songs(bucket, 5, start=10)

    second = incremental.plan({"SONG_DATA": listing(bucket)}, record)
    counts = staging.copy_staging(RedshiftEngine(config, FakeRedshift()), second, 0)

    assert counts["files"] == 5
    parts = manifest(bucket, f"{second.run_id}/staging_songs.packed.manifest")
    assert b"".join(unzipped(bucket, url) for url, _ in parts) == b"".join(new[name] + b"\n" for name in sorted(new))


def test_packing_turned_off_copies_every_file_as_it_is(config, bucket, tmp_path):
    put_songs(bucket, 10)
    text = (tmp_path / "dwh.cfg").read_text().replace("PACK_THRESHOLD = 1KB", "PACK_THRESHOLD = 0")
    (tmp_path / "dwh.cfg").write_text(text)
    batch = incremental.plan({"SONG_DATA": listing(bucket)}, {})
    assert staging.copy_staging(RedshiftEngine(load_config(tmp_path / "dwh.cfg"), FakeRedshift()), batch, 0) is None
    assert len(manifest(bucket, f"{batch.run_id}/staging_songs.manifest")) == 10


# ------------------------------------------------------------------ what load_errors needs


def put_events(client, files: dict[str, list[bytes]]) -> None:
    for name, records in files.items():
        client.put_object(Bucket=BUCKET, Key=f"raw/log_data/{name}", Body=b"".join(line + b"\n" for line in records))


def test_a_record_copy_rejects_from_a_part_is_named_by_its_original_file_and_line(config, bucket):
    put_events(bucket, {
        "2018-11-01-events.json": [b'{"ts": 1}', b'{"ts": 2}', b'{"ts": 3}'],
        "2018-11-02-events.json": [b'{"ts": 4}', b'{"ts": "a"}'],
    })
    batch = incremental.plan({"LOG_DATA": listing(bucket, "LOG_DATA")}, {})
    part = packing.part_uri(MANIFESTS, batch.run_id, "staging_events", 1)
    fake = FakeRedshift(staging_events=Copy(loaded=4, rejected=[(part, 5, "ts", "Invalid digit, Value 'a'", "int8", 0)]))

    staging.copy_staging(RedshiftEngine(config, fake), batch, 1)

    assert unzipped(bucket, part).splitlines()[4] == b'{"ts": "a"}'  # the part holds the line COPY names...
    assert fake.load_error_rows() == [(  # ...and load_errors names where it came from
        "staging_events", f"{RAW}/log_data/2018-11-02-events.json", 2, "ts", "Invalid digit, Value 'a'", "ts (int8), position 0",
    )]


def test_a_failed_copy_of_a_part_keeps_its_rejects_named_by_the_original_file(config, bucket):
    put_events(bucket, {"a.json": [b'{"ts": 1}'], "b.json": [b"{}", b'{"ts": "x"}']})
    batch = incremental.plan({"LOG_DATA": listing(bucket, "LOG_DATA")}, {})
    part = packing.part_uri(MANIFESTS, batch.run_id, "staging_events", 1)
    fake = FakeRedshift(staging_events=Copy(rejected=[(part, 3, "ts", "Invalid digit", "int8", 0)], error="Load failed"))

    with pytest.raises(WarehouseError):
        staging.copy_staging(RedshiftEngine(config, fake), batch, 5)
    assert [row[1:3] for row in fake.load_error_rows()] == [(f"{RAW}/log_data/b.json", 2)]


def test_a_file_that_is_not_clean_json_is_copied_as_it_is_so_copy_names_it_itself(config, bucket):
    put_songs(bucket, 4)
    bucket.put_object(Bucket=BUCKET, Key="raw/song_data/A/TRBROKEN.json", Body=b'{"song_id": "SO1", "title": ')
    batch = incremental.plan({"SONG_DATA": listing(bucket)}, {})

    counts = staging.copy_staging(RedshiftEngine(config, FakeRedshift()), batch, 0)

    assert counts["files"] == 4
    assert manifest(bucket, f"{batch.run_id}/staging_songs.manifest") == [(f"{RAW}/song_data/A/TRBROKEN.json", 28)]
    parts = manifest(bucket, f"{batch.run_id}/staging_songs.packed.manifest")
    assert b"TRBROKEN" not in b"".join(unzipped(bucket, url) for url, _ in parts)
    assert b'"title": \n' not in b"".join(unzipped(bucket, url) for url, _ in parts)


def test_an_object_overwritten_after_the_listing_stops_the_run_naming_it(config, bucket):
    put_songs(bucket, 5)
    batch = incremental.plan({"SONG_DATA": listing(bucket)}, {})
    bucket.put_object(Bucket=BUCKET, Key="raw/song_data/A/TR00002.json", Body=b'{"song_id": "other"}')
    fake = FakeRedshift()

    with pytest.raises(InputError) as caught:
        staging.copy_staging(RedshiftEngine(config, fake), batch, 0)
    assert str(caught.value) == f"{RAW}/song_data/A/TR00002.json changed while this run read it - run etl.py again"
    assert copies(fake) == []


# ------------------------------------------------------------------ parts are temporary


def test_parts_are_deleted_after_success_kept_after_a_failure_and_removed_by_the_next_success(config, bucket):
    put_songs(bucket, 10)
    failed = incremental.plan({"SONG_DATA": listing(bucket)}, {})
    with pytest.raises(WarehouseError):
        staging.copy_staging(RedshiftEngine(config, FakeRedshift(staging_songs=Copy(
            error="S3ServiceException: Access Denied", starts_load=False))), failed, 0)
    kept = [key for key in keys(bucket) if "/packed/" in key]
    assert kept and all(key.startswith(f"manifests/{failed.run_id}/packed/") for key in kept)

    succeeded = incremental.plan({"SONG_DATA": listing(bucket)}, {})
    engine = RedshiftEngine(config, FakeRedshift())
    staging.copy_staging(engine, succeeded, 0)
    assert any(key.startswith(f"manifests/{succeeded.run_id}/packed/") for key in keys(bucket))
    engine.loaded(succeeded)  # the pipeline calls it once the star schema is committed

    assert [key for key in keys(bucket) if "/packed/" in key] == []
    assert keys(bucket) == sorted([  # the manifests stay: the audit trail
        f"manifests/{failed.run_id}/staging_songs.packed.manifest",
        f"manifests/{succeeded.run_id}/staging_songs.packed.manifest",
    ])


def test_only_packed_parts_are_ever_deleted(bucket):
    for key in ("manifests/r1/packed/staging_songs-0001.json.gz", "manifests/r1/staging_songs.manifest",
                "manifests/r1/packed/notes.txt", "manifests/packed/x.json.gz", "raw/r1/packed/staging_songs-0001.json.gz"):
        bucket.put_object(Bucket=BUCKET, Key=key, Body=b"x")
    assert packing.delete_parts(bucket, MANIFESTS) == 1
    assert keys(bucket, "") == sorted(["manifests/r1/staging_songs.manifest", "manifests/r1/packed/notes.txt",
                                      "manifests/packed/x.json.gz", "raw/r1/packed/staging_songs-0001.json.gz"])


def test_the_role_that_copy_uses_can_read_the_parts_and_is_given_nothing_new():
    inputs = [S3Location("LOG_DATA", f"{RAW}/log_data", BUCKET, "raw/log_data"),
              S3Location("SONG_DATA", f"{RAW}/song_data", BUCKET, "raw/song_data")]
    manifests = S3Location("MANIFEST_PREFIX", MANIFESTS, BUCKET, "manifests")
    policy = iam.read_policy(inputs, manifests)
    part = packing.part_uri(MANIFESTS, "run-1", "staging_songs", 1)
    arn = "arn:aws:s3:::" + part.split("s3://", 1)[1]

    readable = [s["Sid"] for s in policy["Statement"] if s["Action"] == "s3:GetObject"
                and any(fnmatch.fnmatchcase(arn, r) for r in ([s["Resource"]] if isinstance(s["Resource"], str) else s["Resource"]))]
    assert readable == ["ReadCopyManifests"]  # the statement that reads the manifests already covers the parts
    assert {s["Action"] for s in policy["Statement"]} == {"s3:ListBucket", "s3:GetObject"}


# ------------------------------------------------------------------ what the user sees


def test_the_summary_and_json_say_how_many_files_went_into_how_many_parts():
    summary = report.RunSummary(
        target="Redshift", staging=StagingResult(rows={"staging_events": 0, "staging_songs": 14896}),
        rows={"staging_songs": 14896}, packed={"files": 14896, "parts": 8, "bytes": 4_400_000, "seconds": 12.5},
    )
    assert "  packed 14,896 files into 8 parts (4.4 MB before compression)" in report.format_summary(summary).splitlines()
    assert report.summary_dict(summary)["packed"] == {"files": 14896, "parts": 8, "bytes": 4_400_000, "seconds": 12.5}


def test_a_dry_run_says_what_it_would_pack_and_reads_nothing(config, bucket, monkeypatch):
    put_songs(bucket, 10)
    batch = incremental.plan({"SONG_DATA": listing(bucket)}, {})
    monkeypatch.setattr(packing, "pack", lambda *a, **k: pytest.fail("a dry run packed"))
    engine = RedshiftEngine(config, FakeRedshift())

    summary = report.planned(engine, batch, 0)

    assert summary.packed == {"files": 10, "parts": 2, "bytes": batch_bytes(batch)}
    text = report.format_summary(summary)
    assert f"  would pack 10 files into 2 parts ({batch_bytes(batch) / 1e6:,.1f} MB before compression)" in text
    assert (f"  -- pack 10 files ({batch_bytes(batch) / 1e6:,.1f} MB) smaller than 1,024 bytes into 2 gzip parts "
            f"for staging_songs, under {MANIFESTS}/{batch.run_id}/packed/;") in text
    assert keys(bucket) == []


def batch_bytes(batch: Batch) -> int:
    return sum(file.size for file in batch.files["SONG_DATA"])


class Terminal(io.StringIO):
    def isatty(self):
        return True


def test_the_progress_line_shows_files_megabytes_rate_and_time_left():
    stream = Terminal()
    shown = packing.PackingProgress(4000, stream=stream, interval=0)
    shown.read(300_000)
    shown.close()
    line = [shown for shown in stream.getvalue().split("\r") if shown.strip()][-1].rstrip()
    assert line.startswith("  packing 1/4,000 files, 0.3 MB, ") and " files/s, " in line and line.endswith(" s left")


@pytest.mark.parametrize("value, size", [("1MB", 1024 * 1024), ("512", 512), ("64 mb", 64 * 1024 * 1024), ("0", 0)])
def test_pack_sizes_are_read_as_bytes_or_with_a_unit(tmp_path, value, size):
    path = write_config(tmp_path / "dwh.cfg", {"S3": {"LOG_DATA": "data", "SONG_DATA": "data", "PACK_THRESHOLD": value}})
    assert load_config(path).inputs.pack_threshold == size


def test_a_pack_size_that_is_not_a_size_is_one_line(tmp_path, capsys):
    from sparkify.errors import ConfigError

    path = write_config(tmp_path / "dwh.cfg", {"S3": {"LOG_DATA": "data", "SONG_DATA": "data", "PACK_PART_SIZE": "0"}})
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert str(caught.value) == "dwh.cfg: [S3] PACK_PART_SIZE = 0 is not a size like 1MB or 64MB (more than 0)"


def test_the_pipeline_removes_packed_parts_only_after_a_successful_run(tmp_path, monkeypatch):
    from helpers import build, play, run

    import etl
    from sparkify.engines.duckdb import DuckDBEngine

    removed: list[str] = []
    monkeypatch.setattr(DuckDBEngine, "loaded", lambda self, batch: removed.append(batch.run_id))
    events, songs = tmp_path / "log_data", tmp_path / "song_data"
    events.mkdir(), songs.mkdir()
    (events / "2018-11-01-events.json").write_text(json.dumps(play("Song A", "Artist A", 200.0, ts=1541030400000)) + "\n")
    (songs / "TRA.json").write_text(json.dumps(song("SOA", "Song A", "ARA", "Artist A", 200.0)))
    config = write_config(tmp_path / "dwh.cfg", {
        "DWH": {"DUCKDB_PATH": "w.duckdb"}, "S3": {"LOG_DATA": "log_data", "SONG_DATA": "song_data"},
    })
    assert build(config) == 0
    assert len(removed) == 1

    (events / "2018-11-02-events.json").write_text(json.dumps(play("Song A", "Artist A", 200.0, ts="soon")) + "\n")
    assert run(etl, "--config", config, "-q") == 1  # refused: MAX_ERRORS is 0
    assert len(removed) == 1  # its parts are kept to inspect


def test_lines_of_a_part_map_back_across_empty_and_multi_line_files():
    from array import array

    from sparkify.incremental import SourceFile

    files = [SourceFile("LOG_DATA", name, 1, "e", f"s3://b/{name}") for name in ("a", "empty", "b")]
    writer = packing._PartWriter("s3://b/p.json.gz")
    for file, data in zip(files, (b'{"x": 1}\n{"x": 2}', b"", b'{"x": 3}\n\n{"x": 4}\n')):
        writer.add(file, data)
    part = packing.Part("s3://b/p.json.gz", 0, writer.files, writer.starts)
    writer.gzip.close()

    assert writer.starts == array("q", [1, 3, 3])
    assert [part.original(line) for line in (1, 2, 3, 5)] == [("s3://b/a", 1), ("s3://b/a", 2), ("s3://b/b", 1), ("s3://b/b", 3)]
