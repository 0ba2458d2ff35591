#!/usr/bin/env python3
"""Benchmark packing (sparkify/aws/packing.py): small S3 files into gzip parts, at several pool sizes."""

from __future__ import annotations

import argparse
import json
import os
import resource
import socket
import statistics
import subprocess
import sys
import time

DESCRIPTION = """\
Starts moto's S3 server (ThreadedMotoServer) in this process, fills a bucket
with N one-record song files (~300 bytes each, as the public catalogue's), and
then, for each pool size in --workers, packs all of them (or --files-at-one
for one worker: 20 ms a file does not fit a benchmark) in a separate process:
files per second and that process's peak memory (max RSS). A fixed delay is
added to every S3 request the packing client sends (a botocore before-send
handler) to stand in for S3's latency, which moto on localhost does not have.

Also prints how many objects COPY reads for the public song catalogue
(song_data, song-data) before and after packing, from its file count and
typical size, for a cluster of --slices slices.

Figures are medians over --runs runs; timing is not asserted anywhere."""

BUCKET = "sparkify-bench"
REGION = "us-west-2"
# The public catalogue: files and bytes per file (udacity-dend's song_data and song-data prefixes;
# the sample at /work/shared/data/udacity-sample averages ~270 bytes a file).
CATALOGUES = {"song_data": 14896, "song-data": 385252}
TYPICAL_SONG_BYTES = 300


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def fill(endpoint: str, files: int) -> None:
    """The bucket and its files, put straight into the server's in-process backend (HTTP would take as
    long as the measurement itself); packing then reads them over HTTP like any S3."""
    import boto3
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.s3.models import s3_backends

    boto3.client("s3", region_name=REGION, endpoint_url=endpoint).create_bucket(
        Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": REGION}
    )
    backend = s3_backends[DEFAULT_ACCOUNT_ID]["aws"]
    for number in range(files):
        record = {"num_songs": 1, "artist_id": f"AR{number:08d}", "artist_latitude": None, "artist_longitude": None,
                  "artist_location": "", "artist_name": f"Artist {number}", "song_id": f"SO{number:08d}",
                  "title": f"Song number {number}", "duration": 200.5, "year": 0}
        backend.put_object(BUCKET, f"song_data/{number % 26:02d}/TR{number:08d}.json", json.dumps(record).encode())


class LatencyOnly:
    """An S3 client that only waits: each GetObject takes the delay and returns a ~300-byte record,
    each upload is read and dropped. What is left is packing's own cost and the pool's scaling."""

    def __init__(self, delay: float):
        self.delay = delay
        self.body = json.dumps({"num_songs": 1, "artist_id": "AR00000001", "artist_latitude": None,
                                "artist_longitude": None, "artist_location": "", "artist_name": "Artist 1",
                                "song_id": "SO00000001", "title": "Song number 1", "duration": 200.5, "year": 0}).encode()

    def get_object(self, **_):
        time.sleep(self.delay)
        return {"Body": __import__("io").BytesIO(self.body)}

    def upload_fileobj(self, fileobj, *_, **__):
        fileobj.read()


def child(args: argparse.Namespace) -> None:
    """One measured packing, in its own process: prints {files_per_s, peak_mb, parts, seconds}."""
    from sparkify.aws import packing
    from sparkify.aws.s3 import list_prefix
    from sparkify.incremental import SourceFile

    if args.latency_only:
        files = [SourceFile("SONG_DATA", f"{n:08d}.json", 260, "etag", f"s3://{BUCKET}/song_data/{n:08d}.json")
                 for n in range(args.limit or args.latency_only)]
        s3 = LatencyOnly(args.delay_ms / 1000)
    else:
        objects = list_prefix(f"s3://{BUCKET}/song_data")[: args.limit or None]
        files = [SourceFile("SONG_DATA", obj.name, obj.size, obj.etag, obj.uri) for obj in objects]
        s3 = packing.client(REGION, args.child)
        s3.meta.events.register("before-send.s3", lambda **_: time.sleep(args.delay_ms / 1000))
    plan = packing.group(files, packing.Settings(workers=args.child), args.slices)
    started = time.perf_counter()
    packed = packing.pack({"staging_songs": plan}, f"s3://{BUCKET}/manifests", f"bench-{args.child}-{os.getpid()}",
                          region=REGION, workers=args.child, s3=s3)
    seconds = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"files": packed.files, "parts": packed.part_count, "seconds": seconds,
                      "files_per_s": packed.files / seconds, "peak_mb": peak}))


def objects_copy_reads(slices: int) -> list[tuple[str, int, int]]:
    from sparkify.aws import packing
    from sparkify.incremental import SourceFile

    rows = []
    for name, count in CATALOGUES.items():
        files = [SourceFile("SONG_DATA", f"{n}", TYPICAL_SONG_BYTES, "", f"s3://b/{n}") for n in range(count)]
        plan = packing.group(files, packing.Settings(), slices)
        rows.append((name, count, len(plan.groups) + len(plan.as_they_are)))
    return rows


def measure(args: argparse.Namespace, workers: int, limit: int, env: dict) -> dict:
    out = subprocess.run(
        [sys.executable, __file__, "--child", str(workers), "--limit", str(limit), "--delay-ms", str(args.delay_ms),
         "--slices", str(args.slices), "--latency-only", str(args.latency_only)],
        env=env, capture_output=True, text=True, check=True,
    ).stdout
    return json.loads(out.strip().splitlines()[-1])


def report(workers: int, results: list[dict]) -> None:
    rate = statistics.median(r["files_per_s"] for r in results)
    peak = statistics.median(r["peak_mb"] for r in results)
    print(f"{workers:>7}  {results[0]['files']:>8,}  {rate:>8,.0f}  {peak:>8,.0f}  {results[0]['parts']:>5}", flush=True)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        description=DESCRIPTION, formatter_class=argparse.RawDescriptionHelpFormatter, allow_abbrev=False
    )
    p.add_argument("--files", type=int, default=100_000, help="one-record files in the bucket (default: %(default)s)")
    p.add_argument("--workers", default="1,8,32,64", help="pool sizes to measure, comma-separated (default: %(default)s)")
    p.add_argument("--files-at-one", type=int, default=2000,
                   help="files packed by the 1-worker run (default: %(default)s; 0: all)")
    p.add_argument("--delay-ms", type=float, default=20.0, help="delay added to every S3 request (default: %(default)s)")
    p.add_argument("--runs", type=int, default=1, help="runs per pool size, median reported (default: %(default)s)")
    p.add_argument("--slices", type=int, default=4, help="the cluster's slices (default: %(default)s, 2 x dc2.large)")
    p.add_argument("--latency-only", type=int, default=0, metavar="N",
                   help="instead of moto's server, a client that only waits --delay-ms a request, with N files "
                   "(packing's own cost and the pool's scaling, where moto's server is the bottleneck)")
    p.add_argument("--child", type=int, help=argparse.SUPPRESS)
    p.add_argument("--limit", type=int, default=0, help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.child:
        child(args)
        return 0

    import logging

    if args.latency_only:
        print(f"{args.latency_only:,} files from a client that only waits {args.delay_ms:g} ms a request")
        print(f"{'workers':>7}  {'files':>8}  {'files/s':>8}  {'peak MB':>8}  {'parts':>5}")
        for workers in (int(w) for w in args.workers.split(",")):
            limit = args.files_at_one if workers == 1 else 0
            results = [measure(args, workers, limit, os.environ) for _ in range(args.runs)]
            report(workers, results)
        print_catalogues(args.slices)
        return 0

    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # a line per request otherwise

    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port)
    server.start()
    endpoint = f"http://127.0.0.1:{port}"
    env = {**os.environ, "AWS_ENDPOINT_URL": endpoint, "AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench",
           "AWS_DEFAULT_REGION": REGION}
    try:
        os.environ.update({key: env[key] for key in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY")})
        started = time.perf_counter()
        fill(endpoint, args.files)
        print(f"{args.files:,} files in moto's S3 server in {time.perf_counter() - started:.0f} s; "
              f"{args.delay_ms:g} ms added to every request", flush=True)
        print(f"{'workers':>7}  {'files':>8}  {'files/s':>8}  {'peak MB':>8}  {'parts':>5}")
        for workers in (int(w) for w in args.workers.split(",")):
            limit = args.files_at_one if workers == 1 else 0
            report(workers, [measure(args, workers, limit, env) for _ in range(args.runs)])
    finally:
        server.stop()
    print_catalogues(args.slices)
    return 0


def print_catalogues(slices: int) -> None:
    print(f"\nobjects COPY reads for the public catalogue ({slices} slices, ~{TYPICAL_SONG_BYTES} bytes a file):")
    for name, before, after in objects_copy_reads(slices):
        print(f"  {name:<10} {before:>8,} before, {after:>3,} after")


if __name__ == "__main__":
    sys.exit(main())
