"""The project bucket: setup_cluster.py --upload-data fills it, clean_redshift.py --delete-bucket empties and deletes it."""

from __future__ import annotations

import hashlib
import logging
from pathlib import Path

from botocore.exceptions import ClientError

from sparkify.aws.faults import AwsError, aws_call, error_code
from sparkify.aws.s3 import LIST_PAGE_SIZE, upload_files
from sparkify.provision.iam import TAG_KEY

log = logging.getLogger(__name__)

_NOT_FOUND = {"404", "NoSuchKey", "NotFound"}



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
    """Upload (local file, key) pairs, several at a time (sparkify.aws.s3.upload_files), a log line per 100 files."""

    def report(done: int, total: int) -> None:
        if done % 100 == 0 or done == total:
            log.info("  uploaded %s/%s files to s3://%s", f"{done:,}", f"{total:,}", bucket)

    upload_files(s3, files, bucket, progress=report)


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
