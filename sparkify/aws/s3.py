"""S3: read the raw JSON (DuckDB engine), and the project bucket (upload, empty, delete)."""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from botocore.exceptions import ClientError

from sparkify.aws.faults import AwsError, Clients, aws_call, error_code
from sparkify.aws.iam import TAG_KEY
from sparkify.aws.settings import split_s3_uri
from sparkify.errors import InputError

log = logging.getLogger(__name__)

LIST_PAGE_SIZE = 1000  # S3's maximum; tests lower it to exercise pagination
_NOT_FOUND = {"404", "NoSuchKey", "NotFound"}


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
    objects: list[S3Object], dest: Path, *, progress: Callable[[int, int], None] | None = None
) -> list[Path]:
    """Download these objects under dest, each at its name relative to its prefix; return the local paths.

    progress(done, total) is called after each file. An object whose name would
    land outside dest (``..`` in the key) raises InputError naming it.
    """
    s3 = Clients().get("s3")
    dest = Path(dest)
    root = dest.resolve()
    planned = []
    for obj in objects:
        target = dest / obj.name
        if not target.resolve().is_relative_to(root):
            raise InputError(f"{obj.uri} would be written outside {dest} - rename that object")
        planned.append((obj, target))
    for done, (obj, target) in enumerate(planned, 1):
        bucket, key = _parse(obj.uri)
        target.parent.mkdir(parents=True, exist_ok=True)
        with aws_call(f"download {obj.uri}"):
            s3.download_file(bucket, key, str(target))
        if progress:
            progress(done, len(planned))
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


# --- the project bucket (setup_cluster.py --upload-data, clean_redshift.py --delete-bucket)


def bucket_exists(s3, bucket: str) -> bool:
    """True if the bucket is ours, False if there is none; AwsError if someone else has it."""
    with aws_call(f"look up bucket {bucket}"):
        try:
            s3.head_bucket(Bucket=bucket)
            return True
        except ClientError as exc:
            code = error_code(exc)
            if code in _NOT_FOUND or code == "NoSuchBucket":
                return False
            if code in ("403", "AccessDenied"):
                raise AwsError(
                    f"bucket {bucket} exists but you may not use it (another account's, or access denied) - "
                    "choose your own bucket name in [S3] of dwh.cfg"
                ) from None
            raise


def create_bucket(s3, bucket: str, region: str, identifier: str) -> None:
    """Create a private bucket in region, tagged as the project's."""
    params: dict = {"Bucket": bucket}
    if region != "us-east-1":  # us-east-1 refuses an explicit location constraint
        params["CreateBucketConfiguration"] = {"LocationConstraint": region}
    with aws_call(f"create bucket {bucket}"):
        try:
            s3.create_bucket(**params)
        except s3.exceptions.BucketAlreadyOwnedByYou:
            return
        except s3.exceptions.BucketAlreadyExists:
            raise AwsError(
                f"cannot create bucket {bucket}: the name is taken by another account - "
                "choose another bucket name in [S3] of dwh.cfg"
            ) from None
        s3.put_public_access_block(
            Bucket=bucket,
            PublicAccessBlockConfiguration={
                "BlockPublicAcls": True,
                "IgnorePublicAcls": True,
                "BlockPublicPolicy": True,
                "RestrictPublicBuckets": True,
            },
        )
        s3.put_bucket_tagging(Bucket=bucket, Tagging={"TagSet": [{"Key": TAG_KEY, "Value": identifier}]})


def object_key(prefix: str, relative: str) -> str:
    if not prefix:
        return relative
    return prefix + relative if prefix.endswith("/") else f"{prefix}/{relative}"


def _existing(s3, bucket: str, prefix: str) -> dict[str, dict]:
    with aws_call(f"list s3://{bucket}/{prefix}"):
        try:
            pages = s3.get_paginator("list_objects_v2").paginate(
                Bucket=bucket, Prefix=prefix, PaginationConfig={"PageSize": LIST_PAGE_SIZE}
            )
            return {obj["Key"]: obj for page in pages for obj in page.get("Contents", [])}
        except s3.exceptions.NoSuchBucket:
            return {}


def _same(path: Path, obj: dict | None) -> bool:
    if obj is None or obj.get("Size") != path.stat().st_size:
        return False
    etag = str(obj.get("ETag", "")).strip('"')
    # A multipart upload's ETag is not an MD5; the size check has to do then.
    return "-" in etag or etag == hashlib.md5(path.read_bytes()).hexdigest()


def uploads_needed(s3, bucket: str, prefix: str, files: list[tuple[Path, str]]) -> list[tuple[Path, str]]:
    """The (local file, key) pairs under prefix that are not already in the bucket with the same content."""
    existing = _existing(s3, bucket, prefix)
    return [(path, key) for path, key in files if not _same(path, existing.get(key))]


def upload(s3, files: list[tuple[Path, str]], bucket: str) -> None:
    for done, (path, key) in enumerate(files, 1):
        with aws_call(f"upload {path} to s3://{bucket}/{key}"):
            s3.upload_file(str(path), bucket, key)
        if done % 100 == 0 or done == len(files):
            log.info("  uploaded %s/%s files to s3://%s", f"{done:,}", f"{len(files):,}", bucket)


def count_objects(s3, bucket: str) -> int | None:
    """How many objects (all versions) the bucket holds; None if it does not exist."""
    with aws_call(f"look at bucket {bucket}"):
        try:
            pages = s3.get_paginator("list_object_versions").paginate(Bucket=bucket)
            return sum(len(page.get("Versions", [])) + len(page.get("DeleteMarkers", [])) for page in pages)
        except s3.exceptions.NoSuchBucket:
            return None


def empty_and_delete(s3, bucket: str) -> int | None:
    """Delete every object version and then the bucket. Returns objects deleted, None if it was gone."""
    deleted = 0
    with aws_call(f"empty bucket {bucket}"):
        try:
            pages = s3.get_paginator("list_object_versions").paginate(Bucket=bucket)
            for page in pages:
                batch = [
                    {"Key": item["Key"], "VersionId": item["VersionId"]}
                    for item in page.get("Versions", []) + page.get("DeleteMarkers", [])
                ]
                for start in range(0, len(batch), 1000):
                    chunk = batch[start : start + 1000]
                    result = s3.delete_objects(Bucket=bucket, Delete={"Objects": chunk, "Quiet": True})
                    if result.get("Errors"):
                        first = result["Errors"][0]
                        raise AwsError(
                            f"cannot empty bucket {bucket}: {first.get('Code')} on {first.get('Key')} - "
                            "check your permissions (s3:DeleteObject, s3:DeleteObjectVersion) and re-run"
                        )
                    deleted += len(chunk)
        except s3.exceptions.NoSuchBucket:
            return None
    with aws_call(f"delete bucket {bucket}"):
        try:
            s3.delete_bucket(Bucket=bucket)
        except s3.exceptions.NoSuchBucket:
            return None
    return deleted
