"""S3 at run time: list and download the raw JSON (local engines), write COPY manifests (Redshift)."""

from __future__ import annotations

import json
import logging
import re
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

from boto3.s3.transfer import TransferConfig, create_transfer_manager
from botocore.exceptions import ClientError

from sparkify.aws.clients import Clients
from sparkify.aws.faults import aws_call, error_code
from sparkify.errors import InputError

log = logging.getLogger(__name__)

LIST_PAGE_SIZE = 1000  # S3's maximum; tests lower it to exercise pagination
# Objects fetched (or sent) at once: the input files are small, so the time goes in round trips, not bandwidth.
TRANSFER_WORKERS = 8
WINDOW_PER_WORKER = 4  # transfers queued per worker, so the queue (and memory) stays bounded
_NOT_FOUND = {"404", "NoSuchKey", "NotFound"}


def split_s3_uri(uri: str) -> tuple[str, str]:
    """s3://bucket/some/prefix -> ("bucket", "some/prefix"). ValueError says what is wrong."""
    parsed = urlparse(uri)
    if parsed.scheme != "s3":
        raise ValueError("is not an s3:// URI")
    bucket = parsed.netloc
    if not re.fullmatch(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]", bucket):
        raise ValueError(f"does not name a valid bucket ({bucket or 'none'})")
    return bucket, parsed.path.lstrip("/")


def _parse(uri: str) -> tuple[str, str]:
    try:
        return split_s3_uri(uri)
    except ValueError as exc:
        raise InputError(f"{uri} {exc} - use s3://bucket/prefix") from None


@dataclass(frozen=True)
class S3Object:
    """One object under an s3:// prefix: its name relative to the prefix, size and ETag."""

    name: str
    size: int
    etag: str
    uri: str


def list_prefix(uri: str, *, suffix: str = ".json") -> list[S3Object]:
    """Every object under s3://bucket/prefix whose key ends with suffix, sorted (a paginated listing).

    A missing bucket or no matching object raises InputError naming the URI.
    """
    bucket, prefix = _parse(uri)
    s3 = Clients().get("s3")
    with aws_call(f"list {uri}"):
        try:
            pages = s3.get_paginator("list_objects_v2").paginate(
                Bucket=bucket, Prefix=prefix, PaginationConfig={"PageSize": LIST_PAGE_SIZE}
            )
            found = [obj for page in pages for obj in page.get("Contents", []) if obj["Key"].endswith(suffix)]
        except s3.exceptions.NoSuchBucket:
            raise InputError(f"bucket {bucket} not found ({uri}) - check the s3:// path in [S3] of dwh.cfg") from None
    if not found:
        raise InputError(f"no {suffix} files under {uri} - check the s3:// path in [S3] of dwh.cfg")
    return sorted(
        (
            S3Object(
                name=obj["Key"][len(prefix) :].lstrip("/") or obj["Key"].rsplit("/", 1)[-1],
                size=obj["Size"],
                etag=obj["ETag"].strip('"'),
                uri=f"s3://{bucket}/{obj['Key']}",
            )
            for obj in found
        ),
        key=lambda obj: obj.name,
    )


def download_objects(
    objects: Sequence[S3Object],
    dest: Path,
    *,
    progress: Callable[[int, int], None] | None = None,
    workers: int = TRANSFER_WORKERS,
) -> list[Path]:
    """Download these objects under dest, each at its name relative to its prefix; return the local paths, in order.

    Concurrent, with bounded threads and memory, through boto3's transfer
    manager on one client: at most `workers` objects are fetched at once, each
    streamed to its file in chunks (never held whole in memory), and at most
    WINDOW_PER_WORKER x workers are queued, so 100,000 small objects cost no more
    memory than a hundred. progress(done, total) is called after each file, in
    order, from the calling thread. An object whose name would land outside
    dest (``..`` in the key) raises InputError naming it before anything is
    fetched; the first failed download raises AwsError naming its URI and
    cancels the rest.
    """
    dest = Path(dest)
    root = dest.resolve()
    planned = []
    for obj in objects:
        target = dest / obj.name
        if not target.resolve().is_relative_to(root):
            raise InputError(f"{obj.uri} would be written outside {dest} - rename that object")
        planned.append((obj, target))
    if not planned:
        return []
    s3 = Clients().get("s3")

    def start(manager, job: tuple[S3Object, Path]):
        obj, target = job
        target.parent.mkdir(parents=True, exist_ok=True)
        return manager.download(*_parse(obj.uri), str(target))

    _transfer(s3, planned, start, lambda job: f"download {job[0].uri}", progress, workers)
    return [target for _, target in planned]


def bucket_region(uri: str) -> str | None:
    """The region of the bucket of an s3:// URI; None when the caller may not ask (s3:GetBucketLocation).

    No LocationConstraint is us-east-1, and the legacy "EU" is eu-west-1
    (https://docs.aws.amazon.com/AmazonS3/latest/API/API_GetBucketLocation.html).
    """
    bucket, _ = _parse(uri)
    s3 = Clients().get("s3")
    with aws_call(f"find the region of bucket {bucket}"):
        try:
            constraint = s3.get_bucket_location(Bucket=bucket).get("LocationConstraint")
        except ClientError as exc:
            if error_code(exc) in ("AccessDenied", "NoSuchBucket"):
                return None  # not ours to know: the write (or COPY) that follows says what is wrong
            raise
    return {None: "us-east-1", "": "us-east-1", "EU": "eu-west-1"}.get(constraint, constraint)


def upload_files(
    s3,
    files: Sequence[tuple[Path, str]],
    bucket: str,
    *,
    progress: Callable[[int, int], None] | None = None,
    workers: int = TRANSFER_WORKERS,
) -> None:
    """Upload each (local file, object key) into bucket: concurrent and bounded as download_objects is."""
    _transfer(
        s3, list(files), lambda manager, job: manager.upload(str(job[0]), bucket, job[1]),
        lambda job: f"upload {job[0]} to s3://{bucket}/{job[1]}", progress, workers,
    )


def _transfer(s3, jobs: list, start, what, progress, workers: int) -> None:
    """Run start(manager, job) for each job on one transfer manager; wait for them in order, a window at a time."""
    config = TransferConfig(max_concurrency=workers, use_threads=True)
    window: deque = deque()
    with create_transfer_manager(s3, config) as manager:  # leaving it on an error cancels what is still queued
        for done, job in enumerate(jobs, 1):
            window.append((job, start(manager, job)))
            if len(window) >= workers * WINDOW_PER_WORKER:
                _finish(*window.popleft(), what, progress, done - len(window), len(jobs))
        while window:
            _finish(*window.popleft(), what, progress, len(jobs) - len(window), len(jobs))


def _finish(job, future, what, progress, done: int, total: int) -> None:
    with aws_call(what(job)):
        future.result()
    if progress:
        progress(done, total)


def write_manifest(uri: str, files: list[tuple[str, int]]) -> None:
    """Write a Redshift COPY manifest listing these (s3:// URI, size) files, every one mandatory.

    Format: https://docs.aws.amazon.com/redshift/latest/dg/loading-data-files-using-manifest.html
    """
    bucket, key = _parse(uri)
    body = json.dumps(
        {"entries": [{"url": url, "mandatory": True, "meta": {"content_length": size}} for url, size in files]},
        indent=1,
    )
    s3 = Clients().get("s3")
    with aws_call(f"write the COPY manifest {uri}"):
        try:
            s3.put_object(Bucket=bucket, Key=key, Body=body.encode("utf-8"), ContentType="application/json")
        except s3.exceptions.NoSuchBucket:
            raise InputError(f"bucket {bucket} not found ({uri}) - check [S3] MANIFEST_PREFIX in dwh.cfg") from None


def download_file(uri: str, dest: Path) -> Path:
    """Download one object to dest (a file path, or an existing folder to put it in)."""
    bucket, key = _parse(uri)
    if not key or key.endswith("/"):
        raise InputError(f"{uri} names no object - give the full s3:// path of the file")
    dest = Path(dest)
    target = dest / key.rsplit("/", 1)[-1] if dest.is_dir() else dest
    target.parent.mkdir(parents=True, exist_ok=True)
    s3 = Clients().get("s3")
    with aws_call(f"download {uri}"):
        try:
            s3.download_file(bucket, key, str(target))
        except ClientError as exc:
            code = error_code(exc)
            if code == "NoSuchBucket":
                raise InputError(f"bucket {bucket} not found ({uri}) - check the s3:// path in [S3] of dwh.cfg") from None
            if code in _NOT_FOUND:
                raise InputError(f"{uri} not found - check the s3:// path in [S3] of dwh.cfg") from None
            raise
    return target
