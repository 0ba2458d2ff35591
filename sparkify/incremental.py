"""Incremental loading: which input files are new since the last run, and the record of loaded files.

The record is the table ``loaded_files``: one row per input file loaded, written
in the same transaction as the star schema, so a failed or refused run leaves
no trace in it. A file is known by its input (``LOG_DATA``, ``SONG_DATA``) and
its name relative to the input's folder or ``s3://`` prefix; its *version* is
its size plus, on this machine, its modification time in nanoseconds (a stat,
no read: a daily run does not re-read the history to hash it) or, on S3, its
ETag. Its *content* is known by a fingerprint (``content_hash``): on this
machine the SHA-256 of the bytes the reader loaded, computed as it reads them;
on S3 ``md5:`` plus the ETag where that is the MD5 of the content (a
single-part upload), else the SHA-256 of the downloaded copy (Redshift, which
reads S3 itself, then has none). Against the record, each listed file is:

- **new**: not in the record: loaded by this run, unless its content is that
  of a file already loaded (or of another new file, first by name): then it
  is **the same content**, recorded under its new name with no rows, and the
  run says so naming both (a rename, a copy or a link never loads a file twice);
- **already loaded**: the same size and version: skipped;
- **changed**: another size or version: the run stops before changing
  anything, naming the file (``--full-refresh`` rebuilds from all the input);
- **removed**: in the record, no longer listed: its rows stay until
  ``--full-refresh``.

The record also keeps the input's root (``input_root``: the configured folder,
file or prefix its names are relative to): a run whose root differs stops
before changing anything, since every name would be new.

``--full-refresh`` loads every listed file (each content once) and replaces the record.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import os
import uuid
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import NamedTuple

import sql_queries as sql
from sparkify import schema
from sparkify.errors import InputError, WarehouseError
from sparkify.progress import warn_each

log = logging.getLogger(__name__)

SOURCES = schema.INPUTS  # LOG_DATA, SONG_DATA: each fills its staging table
RECORD_COLUMNS = ("source", "file_name", "size_bytes", "version", "row_count", "reject_count", "run_id", "loaded_at",
                  "content_hash", "input_root")
# The columns content identity added: a warehouse created before them is told to run create_tables.py.
IDENTITY_COLUMNS = ("content_hash", "input_root")

READ_RECORD = "SELECT file_name, size_bytes, version, content_hash, input_root FROM loaded_files WHERE source = {p}"


def content_hash():
    """The hash of a local file's content: SHA-256, from the standard library.

    Not MD5, though S3's single-part ETags are MD5s: with the SHA extensions of
    current x86 and ARM processors OpenSSL's SHA-256 runs 2-3 times faster
    (measured in docs/daily-runs.md), and a name is never compared across
    kinds (``sha256:`` / ``md5:``), so no two contents can meet by accident.
    """
    return hashlib.sha256()


def fingerprint(digest) -> str:
    return f"{digest.name}:{digest.hexdigest()}"


def etag_fingerprint(etag: str) -> str | None:
    """An S3 ETag as a content fingerprint: a single-part upload's is the MD5 of the content; a multipart
    upload's (``...-N``) is not (https://docs.aws.amazon.com/AmazonS3/latest/API/API_Object.html)."""
    return None if "-" in etag or len(etag) != 32 else f"md5:{etag.lower()}"


def input_root(location: str) -> str:
    """The configured folder, file or prefix the record's names are relative to, as it is compared."""
    return location.rstrip("/") if location.startswith("s3://") else os.path.abspath(location)


class SourceFile(NamedTuple):
    """One input file as listed: where it is and which version it is (a tuple: tens of thousands a run)."""

    source: str  # LOG_DATA or SONG_DATA
    name: str  # relative to the input's folder or s3:// prefix, with /
    size: int
    version: str  # local: modification time in ns; S3: the ETag
    location: str  # the local path, or the s3:// URI
    fingerprint: str | None = None  # its content's (content_hash): from the listing on S3, else once read


@dataclass(frozen=True)
class Listing:
    """One input's files as listed, keyed by name: what a run compares with its record.

    Dicts, not a SourceFile per file: a daily run compares tens of thousands
    of song files it will not load with the record, and builds a SourceFile
    only for those it loads.
    """

    source: str
    versions: dict[str, tuple[int, str]]  # name -> (size, version)
    locations: dict[str, str]  # name -> the local path or the s3:// URI
    root: str = ""  # input_root() of the configured location
    fingerprints: dict[str, str] = field(default_factory=dict)  # name -> content fingerprint, where listed (S3)

    def files(self, names: Iterable[str] | None = None) -> list[SourceFile]:
        """These files (all of them by default), in name order."""
        chosen = sorted(self.versions if names is None else names)
        fingerprints = self.fingerprints
        return [
            SourceFile(self.source, name, *self.versions[name], self.locations[name], fingerprints.get(name))
            for name in chosen
        ]


@dataclass
class Record:
    """What loaded_files says, per input: each file's version, each content's first name, the roots."""

    versions: dict[str, dict[str, tuple[int, str]]] = field(default_factory=dict)  # name -> (size, version)
    contents: dict[str, dict[str, str]] = field(default_factory=dict)  # fingerprint -> a name loaded with it
    roots: dict[str, set[str]] = field(default_factory=dict)


@dataclass
class Batch:
    """What a run loads: the new files of each input, and what it skips."""

    files: dict[str, list[SourceFile]]
    already_loaded: dict[str, int] = field(default_factory=dict)
    removed: dict[str, int] = field(default_factory=dict)
    full_refresh: bool = False
    run_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    # new names whose content was loaded already (or is loaded by this run under another name):
    # each with that other name; recorded, not loaded
    same_content: list[tuple[SourceFile, str]] = field(default_factory=list)
    roots: dict[str, str] = field(default_factory=dict)  # per input, input_root() of this run

    @property
    def empty(self) -> bool:
        return not any(self.files.values())

    def counts(self) -> dict[str, dict[str, int]]:
        """Per input: new, changed (always 0: a changed file stops the run), already loaded, removed,
        and new names of a content already loaded (recorded, not loaded)."""
        same = Counter(file.source for file, _ in self.same_content)
        return {
            source: {
                "new": len(self.files.get(source, [])),
                "changed": 0,
                "already_loaded": self.already_loaded.get(source, 0),
                "removed": self.removed.get(source, 0),
                "same_content": same[source],
            }
            for source in SOURCES
        }


def require_record_columns(engine) -> None:
    """A loaded_files made before content identity lacks its columns: say how to upgrade, in one line."""
    have = engine.table_columns(sql.RECORD_TABLE)
    missing = [column for column in IDENTITY_COLUMNS if column not in have]
    if missing:
        raise WarehouseError(
            f"table {sql.RECORD_TABLE} has no column {missing[0]} in the {engine.name} warehouse "
            "(made by an older version) - run create_tables.py first"
        )


def read_record(engine) -> Record:
    """Every file loaded so far, per input: its version, its content's fingerprint, the root it was found under."""
    statement = engine.render(READ_RECORD)
    record = Record()
    for source in SOURCES:
        versions, contents, roots = {}, {}, set()
        for name, size, version, content, root in engine.query(statement, [source]):
            versions[name] = (size, version)
            if content is not None:
                contents.setdefault(content, name)
            roots.add(root)
        record.versions[source], record.contents[source], record.roots[source] = versions, contents, roots
    return record


def plan(listing: dict[str, Listing], record: Record | None = None, full_refresh: bool = False) -> Batch:
    """The batch of a run: every listed file on a full refresh, else those not in the record.

    Raises InputError, naming the first one, when a loaded file has changed, or
    when an input's root is not the one its files were recorded under. Files
    whose listed fingerprint (S3) is a content already loaded go to
    same_content; the others are looked at once read (same_content_read).
    """
    record = record or Record()
    roots = {source: listed.root for source, listed in listing.items()}
    if full_refresh:
        batch = Batch(files={source: listed.files() for source, listed in listing.items()}, full_refresh=True,
                      roots=roots)
        _listed_same_content(batch, Record())
        return batch
    batch = Batch(files={}, roots=roots)
    for source, listed in listing.items():
        before = record.roots.get(source, set()) - {listed.root}
        if before:
            raise InputError(
                f"{source} is {listed.root}, but the files loaded so far were found under {sorted(before)[0]} - "
                f"every file would look new and be loaded twice: set {source} back, or python etl.py "
                "--full-refresh rebuilds from the new one"
            )
        known = record.versions.get(source, {})
        if listed.versions.items() <= known.items():  # the usual case for the song catalogue: one pass, in C
            differ = []
        else:
            differ = [name for name, version in listed.versions.items() if known.get(name) != version]
        changed = sorted(name for name in differ if name in known)
        if changed:
            kind = "ETag" if listed.locations[changed[0]].startswith("s3://") else "modification time"
            raise InputError(
                f"{source} file {changed[0]} changed since it was loaded (size or {kind}) - its rows would "
                "be counted twice: python etl.py --full-refresh rebuilds from all the input"
            )
        batch.files[source] = listed.files(differ)
        batch.already_loaded[source] = len(listed.versions) - len(differ)
        # a listing names each file once: the loaded files not listed any more are the rest
        batch.removed[source] = len(known) - batch.already_loaded[source]
    _listed_same_content(batch, record)
    return batch


def _listed_same_content(batch: Batch, record: Record) -> None:
    """Move the new files whose listed fingerprint is a content already loaded, or of a new file
    before them by name, to same_content (on S3, before anything is downloaded or COPYed)."""
    for source, files in batch.files.items():
        if not any(file.fingerprint for file in files):
            continue
        first = dict(record.contents.get(source, {}))
        keep = []
        for file in files:
            if file.fingerprint is not None and file.fingerprint in first:
                batch.same_content.append((file, first[file.fingerprint]))
                continue
            if file.fingerprint is not None:
                first[file.fingerprint] = file.name
            keep.append(file)
        batch.files[source] = keep


def same_content_read(batch: Batch, record: Record, fingerprints: dict[str, str]) -> list[SourceFile]:
    """Once the batch is read: give each file its fingerprint (``fingerprints``: by location) and move the
    ones whose content is already loaded, or read under a name before them, to same_content.

    Returns those files: their records are to be taken out of staging. A file
    that held no record (empty) is not matched: there is nothing to count twice.
    """
    moved = []
    for source, files in batch.files.items():
        first = dict(record.contents.get(source, {}))
        keep = []
        for file in files:
            if file.fingerprint is None and file.location in fingerprints:
                file = file._replace(fingerprint=fingerprints[file.location])
            if file.fingerprint is not None and file.size and file.fingerprint in first:
                batch.same_content.append((file, first[file.fingerprint]))
                moved.append(file)
                continue
            if file.fingerprint is not None:
                first.setdefault(file.fingerprint, file.name)
            keep.append(file)
        batch.files[source] = keep
    return moved


def say_same_content(batch: Batch) -> None:
    """A warning per file not loaded because its content is loaded under another name (one line under -q)."""
    for source in SOURCES:
        other = {file.name: name for file, name in batch.same_content if file.source == source}
        warn_each(
            log, list(other),
            # each warning is written before the loop moves on; the defaults bind this input's values anyway
            lambda name, source=source, other=other: (
                f"warning: {source} file {name} has the same content as {other[name]}: recorded, "
                "not loaded again (python etl.py --full-refresh to load every name)"
            ),
            lambda count, names, source=source: (
                f"warning: {count:,} {source} files have the same content as a file loaded: "
                f"recorded, not loaded again ({names})"
            ),
        )


def record_rows(batch: Batch, staged: dict[str, int] | None, rejects: dict[str, int]) -> list[tuple]:
    """The loaded_files rows of a batch, from the staged and rejected records per file location.

    ``staged`` is None when the loader does not count per file (Redshift's COPY).
    """
    loaded_at = dt.datetime.now(dt.UTC).replace(tzinfo=None, microsecond=0)
    return [
        (
            file.source,
            file.name,
            file.size,
            file.version,
            None if staged is None else staged.get(file.location, 0),
            rejects.get(file.location, 0),
            batch.run_id,
            loaded_at,
            file.fingerprint,
            batch.roots.get(file.source),
        )
        for files in batch.files.values()
        for file in files
    ] + [
        (file.source, file.name, file.size, file.version, 0, 0, batch.run_id, loaded_at, file.fingerprint,
         batch.roots.get(file.source))
        for file, _ in batch.same_content
    ]


def write_record(engine, rows: list[tuple], replace: bool) -> None:
    """Add the batch's files to the record (replace: a full refresh starts it anew), inside the caller's transaction."""
    if replace:
        engine.execute(sql.delete_rows(sql.RECORD_TABLE))
    engine.insert_rows(sql.RECORD_TABLE, RECORD_COLUMNS, rows)


def per_file_counts(engine, names: dict[str, str]) -> tuple[dict[str, int], dict[str, int]]:
    """Records staged and rejected per file location (``names``: the name a reader gave a file -> its location)."""
    staged: Counter = Counter()
    for table in sql.STAGING_TABLES:
        for source_file, count in engine.query(
            f"SELECT source_file, COUNT(*) FROM {table} GROUP BY source_file"
        ):
            staged[names.get(source_file, source_file)] += count
    rejects: Counter = Counter()
    for source_file, count in engine.query("SELECT source_file, COUNT(*) FROM load_errors GROUP BY source_file"):
        rejects[names.get(source_file, source_file)] += count
    return dict(staged), dict(rejects)
