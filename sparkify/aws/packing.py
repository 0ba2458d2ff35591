"""Packing: a batch's many small input files into a few gzip parts before Redshift's COPY.

COPY's cost is per file, not per byte: AWS recommends files "between 1 MB and
1 GB after compression", their number "a multiple of the number of slices in
your cluster", and never splits a JSON file
(https://docs.aws.amazon.com/redshift/latest/dg/c_best-practices-use-multiple-files.html,
https://docs.aws.amazon.com/redshift/latest/dg/t_splitting-data-files.html). The
song catalogue is hundreds of thousands of 300-byte files, so each new file
below [S3] PACK_THRESHOLD is read here (a bounded pool of workers), and its
bytes written unchanged, one after the other, into gzip parts of about
PACK_PART_SIZE (before compression) under MANIFEST_PREFIX/<run id>/packed/.

Nothing about the result changes:

- bytes are copied as they are (a newline added where a file ends without
  one), so COPY parses each record as it would have in its own file;
- a file that is not clean JSON (each non-blank line one JSON value, or the
  whole file one document) is not packed: COPY reads it as it is, so a broken
  record cannot run into the next file's, and COPY names it itself;
- every part keeps the line at which each of its files starts, so a record
  COPY rejects from a part is named by its original file and line
  (``Packed.original``);
- each object is read with the ETag it was listed with (``IfMatch``): what is
  packed is the version the record of loaded files names.
"""

from __future__ import annotations

import gzip
import json
import logging
import math
import tempfile
import time
from array import array
from bisect import bisect_right
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from botocore.config import Config as BotoConfig
from botocore.exceptions import ClientError

from sparkify.aws.clients import CONFIG, new_session
from sparkify.aws.faults import aws_call, error_code
from sparkify.aws.s3 import split_s3_uri
from sparkify.errors import InputError
from sparkify.incremental import SourceFile
from sparkify.progress import Progress

log = logging.getLogger(__name__)

DEFAULT_THRESHOLD = 1024 * 1024  # AWS's lower bound for a file COPY reads efficiently
DEFAULT_PART_SIZE = 64 * 1024 * 1024  # before compression; JSON compresses ~5-10x: parts of ~10 MB
DEFAULT_WORKERS = 32
FOLDER = "packed"  # MANIFEST_PREFIX/<run id>/packed/<table>-NNNN.json.gz
LIST_PAGE_SIZE = 1000


@dataclass(frozen=True)
class Settings:
    threshold: int = DEFAULT_THRESHOLD  # 0: never pack
    part_size: int = DEFAULT_PART_SIZE
    workers: int = DEFAULT_WORKERS


@dataclass
class TablePlan:
    """One staging table's new files: the groups to pack (one part each) and the files COPY'd as they are."""

    groups: list[list[SourceFile]] = field(default_factory=list)
    as_they_are: list[SourceFile] = field(default_factory=list)

    @property
    def packed_files(self) -> int:
        return sum(len(group) for group in self.groups)

    @property
    def packed_bytes(self) -> int:
        return sum(file.size for group in self.groups for file in group)


def group(files: Sequence[SourceFile], settings: Settings, slices: int | None) -> TablePlan:
    """Which of these files to pack, into how many parts: the small ones, if that makes fewer objects.

    Parts: enough that none exceeds the part size, at least the cluster's
    slices where known, never more than files (one file a part gains nothing:
    then nothing is packed). Files keep their order; parts are of about equal bytes.
    """
    if settings.threshold <= 0:
        return TablePlan(as_they_are=list(files))
    small = [file for file in files if file.size < settings.threshold]
    large = [file for file in files if file.size >= settings.threshold]
    total = sum(file.size for file in small)
    parts = min(len(small), max(math.ceil(total / settings.part_size), slices or 1, 1))
    if parts >= len(small):
        return TablePlan(as_they_are=list(files))
    groups: list[list[SourceFile]] = []
    current: list[SourceFile] = []
    current_bytes, remaining = 0, total
    for index, file in enumerate(small):
        parts_left = parts - len(groups)  # counting the current one
        files_left = len(small) - index
        if current and parts_left > 1 and (files_left <= parts_left - 1 or current_bytes >= remaining / parts_left):
            groups.append(current)
            remaining -= current_bytes
            current, current_bytes = [], 0
        current.append(file)
        current_bytes += file.size
    groups.append(current)
    return TablePlan(groups=groups, as_they_are=large)


@dataclass
class Part:
    """One written part: where it is, its size in S3 (the manifest's content_length), and whose lines it holds."""

    uri: str
    size: int
    files: list[SourceFile]
    starts: array  # the part's line (1-based) at which each file's first line is

    def original(self, line: int) -> tuple[str, int]:
        """The original file (its s3:// URI) and line of a line of this part."""
        at = max(bisect_right(self.starts, line) - 1, 0)
        return self.files[at].location, line - self.starts[at] + 1


@dataclass
class Packed:
    """What packing did, per staging table: its parts and the files COPY reads as they are."""

    tables: dict[str, TablePlan]
    parts: dict[str, list[Part]] = field(default_factory=dict)
    seconds: float = 0.0

    @property
    def files(self) -> int:
        return sum(plan.packed_files for plan in self.tables.values())

    @property
    def bytes(self) -> int:
        return sum(plan.packed_bytes for plan in self.tables.values())

    @property
    def part_count(self) -> int:
        return sum(len(plan.groups) for plan in self.tables.values())

    def counts(self) -> dict:
        """For the summary and --json."""
        return {"files": self.files, "parts": self.part_count, "bytes": self.bytes, "seconds": round(self.seconds, 3)}

    def original(self, file_name: str, line: int | None) -> tuple[str, int | None]:
        """A rejected record's file and line as COPY names them, or, from a part, as the original file names them."""
        for parts in self.parts.values():
            for part in parts:
                if part.uri == file_name and line is not None:
                    return part.original(line)
        return file_name, line


def part_uri(prefix: str, run_id: str, table: str, number: int) -> str:
    return f"{prefix.rstrip('/')}/{run_id}/{FOLDER}/{table}-{number:04d}.json.gz"


def client(region: str, workers: int):
    """An S3 client for the pool: the project's one client configuration (botocore's standard retry mode:
    throttling and 5xx retried with backoff, sparkify/aws/clients.py), with a connection for every worker.

    https://boto3.amazonaws.com/v1/documentation/api/latest/guide/retries.html
    """
    config = CONFIG.merge(BotoConfig(max_pool_connections=max(workers, CONFIG.max_pool_connections)))
    with aws_call("connect to AWS s3"):
        return new_session().client("s3", region_name=region, config=config)


def is_clean_json(data: bytes) -> bool:
    """Each non-blank line one JSON value, or the whole file one document: safe to put beside another file."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    try:
        for line in text.splitlines():
            if line.strip():
                json.loads(line)
        return True
    except (ValueError, RecursionError):
        pass
    try:
        json.loads(text)
        return True
    except (ValueError, RecursionError):
        return False


def _read(s3, file: SourceFile) -> bytes:
    bucket, key = split_s3_uri(file.location)
    with aws_call(f"read {file.location}"):
        try:
            # IfMatch: the version listed (and recorded in loaded_files), or a clear stop
            return s3.get_object(Bucket=bucket, Key=key, IfMatch=f'"{file.version}"')["Body"].read()
        except ClientError as exc:
            code = error_code(exc)
            if code in ("PreconditionFailed", "412"):
                raise InputError(f"{file.location} changed while this run read it - run etl.py again") from None
            if code in ("NoSuchKey", "404"):
                raise InputError(f"{file.location} was deleted while this run read it - run etl.py again") from None
            raise


def fetched(s3, files: Sequence[SourceFile], workers: int) -> Iterator[tuple[SourceFile, bytes]]:
    """Each file with its content, in order, read by a pool of workers.

    At most 2 x workers reads are in flight or waiting to be written, so
    memory stays bounded by that many files (each below the threshold) however
    many there are.
    """
    pending: deque = deque()
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="pack") as pool:
        queue = iter(files)
        try:
            for file in queue:
                pending.append((file, pool.submit(_read, s3, file)))
                if len(pending) >= 2 * workers:
                    done, future = pending.popleft()
                    yield done, future.result()
            while pending:
                done, future = pending.popleft()
                yield done, future.result()
        finally:
            for _, future in pending:
                future.cancel()


class PackingProgress(Progress):
    """``packing 3,200/14,896 files, 0.9 MB, 850 files/s, 14 s left`` on a terminal (drawn by tqdm, as every
    progress line; nothing when piped)."""

    def __init__(self, total: int, **kwargs):
        super().__init__("packing", total, **kwargs)
        self.bytes = 0
        self.done = 0
        self.started = time.monotonic()
        self._bar.bar_format = "  {desc}"

    def read(self, size: int) -> None:
        self.bytes += size
        self.done += 1
        elapsed = max(time.monotonic() - self.started, 1e-6)
        rate = self.done / elapsed
        left = (self._bar.total - self.done) / rate
        self._bar.set_description_str(
            f"packing {self.done:,}/{self._bar.total:,} files, {self.bytes / 1e6:,.1f} MB, "
            f"{rate:,.0f} files/s, {left:,.0f} s left",
            refresh=False,
        )
        self._bar.update(1)


def pack(
    tables: dict[str, TablePlan],
    prefix: str,
    run_id: str,
    *,
    region: str,
    workers: int = DEFAULT_WORKERS,
    s3=None,
    progress: Callable[[int], PackingProgress] = PackingProgress,
    keepalive: Callable[[], None] | None = None,
) -> Packed:
    """Read the grouped files and write one gzip part per group under prefix/<run id>/packed/.

    A file found not clean JSON moves to its table's files COPY'd as they are
    (its group's part is written without it). Returns the parts, per table.
    ``keepalive`` is called after each file (in this thread): the engine keeps
    its session in use while packing takes minutes.
    """
    started = time.perf_counter()
    s3 = s3 or client(region, workers)
    packed = Packed(tables=tables)
    total = sum(plan.packed_files for plan in tables.values())
    with progress(total) as shown:
        for table, plan in tables.items():
            flat = [(number, file) for number, files in enumerate(plan.groups) for file in files]
            parts: list[Part] = []
            writer: _PartWriter | None = None
            writing = -1  # the group being written: groups come in order
            contents = fetched(s3, [file for _, file in flat], workers)
            for (number, _), (file, data) in zip(flat, contents):
                shown.read(len(data))
                if keepalive:
                    keepalive()
                if not is_clean_json(data):
                    log.info("  not packed (not clean JSON, COPY reads it as it is): %s", file.location)
                    plan.as_they_are.append(file)
                    continue
                if number != writing:
                    if writer:
                        parts.append(writer.close(s3))
                    writer, writing = _PartWriter(part_uri(prefix, run_id, table, len(parts) + 1)), number
                writer.add(file, data)
            if writer:
                parts.append(writer.close(s3))
            plan.groups = [part.files for part in parts]
            plan.as_they_are.sort(key=lambda file: file.name)
            packed.parts[table] = parts
    packed.seconds = time.perf_counter() - started
    return packed


class _PartWriter:
    """One part, gzip-compressed into a temporary file as its files arrive, then uploaded."""

    def __init__(self, uri: str):
        self.uri = uri
        self.raw = tempfile.TemporaryFile(prefix="sparkify-part-")
        self.gzip = gzip.GzipFile(fileobj=self.raw, mode="wb", compresslevel=6, mtime=0)
        self.files: list[SourceFile] = []
        self.starts = array("q")
        self.lines = 0

    def add(self, file: SourceFile, data: bytes) -> None:
        if data and not data.endswith(b"\n"):  # an empty file adds no line (and no record, as on its own)
            data += b"\n"
        self.files.append(file)
        self.starts.append(self.lines + 1)
        self.lines += data.count(b"\n")
        self.gzip.write(data)

    def close(self, s3) -> Part:
        self.gzip.close()
        size = self.raw.tell()
        self.raw.seek(0)
        bucket, key = split_s3_uri(self.uri)
        with aws_call(f"write the packed part {self.uri}"):
            try:
                s3.upload_fileobj(self.raw, bucket, key, ExtraArgs={"ContentType": "application/gzip"})
            except s3.exceptions.NoSuchBucket:
                raise InputError(f"bucket {bucket} not found ({self.uri}) - check [S3] MANIFEST_PREFIX in dwh.cfg") from None
        self.raw.close()
        return Part(self.uri, size, self.files, self.starts)


def leftover_parts(s3, prefix: str) -> list[str]:
    """The keys of packed parts under MANIFEST_PREFIX (left by a failed or refused run), oldest run first."""
    bucket, key_prefix = split_s3_uri(prefix.rstrip("/") + "/")
    key_prefix = key_prefix.lstrip("/")
    with aws_call(f"list {prefix}"):
        try:
            pages = s3.get_paginator("list_objects_v2").paginate(
                Bucket=bucket, Prefix=key_prefix, PaginationConfig={"PageSize": LIST_PAGE_SIZE}
            )
            keys = [obj["Key"] for page in pages for obj in page.get("Contents", [])]
        except s3.exceptions.NoSuchBucket:
            return []
    return [key for key in keys if _is_part(key[len(key_prefix) :])]


def _is_part(relative: str) -> bool:
    """<run id>/packed/<table>-NNNN.json.gz: nothing else under MANIFEST_PREFIX is ever deleted."""
    pieces = relative.split("/")
    return len(pieces) == 3 and bool(pieces[0]) and pieces[1] == FOLDER and pieces[2].endswith(".json.gz")


def delete_parts(s3, prefix: str) -> int:
    """Delete every packed part under MANIFEST_PREFIX (the manifests stay: the audit trail); returns how many."""
    bucket, _ = split_s3_uri(prefix)
    keys = leftover_parts(s3, prefix)
    for start in range(0, len(keys), 1000):  # DeleteObjects takes up to 1,000 keys
        chunk = keys[start : start + 1000]
        with aws_call(f"delete packed parts under {prefix}"):
            result = s3.delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": key} for key in chunk], "Quiet": True})
        if result.get("Errors"):
            first = result["Errors"][0]
            raise InputError(
                f"cannot delete packed part s3://{bucket}/{first.get('Key')}: {first.get('Code')} - "
                "give etl.py's credentials s3:DeleteObject on [S3] MANIFEST_PREFIX"
            )
    return len(keys)
