"""Incremental loading: which input files are new since the last run, and the record of loaded files.

The record is the table ``loaded_files``: one row per input file loaded, written
in the same transaction as the star schema, so a failed or refused run leaves
no trace in it. A file is known by its input (``LOG_DATA``, ``SONG_DATA``) and
its name relative to the input's folder or ``s3://`` prefix; its *version* is
its size plus, on this machine, its modification time in nanoseconds (a stat,
no read: a daily run does not re-read the history to hash it) or, on S3, its
ETag. Against the record, each listed file is:

- **new**: not in the record: loaded by this run;
- **already loaded**: the same size and version: skipped;
- **changed**: another size or version: the run stops before changing
  anything, naming the file (``--full-refresh`` rebuilds from all the input);
- **removed**: in the record, no longer listed: its rows stay until
  ``--full-refresh``.

``--full-refresh`` loads every listed file and replaces the record.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import NamedTuple

import sql_queries as sql
from sparkify import schema
from sparkify.errors import InputError

SOURCES = schema.INPUTS  # LOG_DATA, SONG_DATA: each fills its staging table
RECORD_COLUMNS = ("source", "file_name", "size_bytes", "version", "row_count", "reject_count", "run_id", "loaded_at")

READ_RECORD = "SELECT file_name, size_bytes, version FROM loaded_files WHERE source = {p}"


class SourceFile(NamedTuple):
    """One input file as listed: where it is and which version it is (a tuple: tens of thousands a run)."""

    source: str  # LOG_DATA or SONG_DATA
    name: str  # relative to the input's folder or s3:// prefix, with /
    size: int
    version: str  # local: modification time in ns; S3: the ETag
    location: str  # the local path, or the s3:// URI


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

    def files(self, names: Iterable[str] | None = None) -> list[SourceFile]:
        """These files (all of them by default), in name order."""
        chosen = sorted(self.versions if names is None else names)
        return [SourceFile(self.source, name, *self.versions[name], self.locations[name]) for name in chosen]


@dataclass
class Batch:
    """What a run loads: the new files of each input, and what it skips."""

    files: dict[str, list[SourceFile]]
    already_loaded: dict[str, int] = field(default_factory=dict)
    removed: dict[str, int] = field(default_factory=dict)
    full_refresh: bool = False
    run_id: str = field(default_factory=lambda: str(uuid.uuid4()))

    @property
    def empty(self) -> bool:
        return not any(self.files.values())

    def counts(self) -> dict[str, dict[str, int]]:
        """Per input: new, changed (always 0: a changed file stops the run), already loaded, removed."""
        return {
            source: {
                "new": len(self.files.get(source, [])),
                "changed": 0,
                "already_loaded": self.already_loaded.get(source, 0),
                "removed": self.removed.get(source, 0),
            }
            for source in SOURCES
        }


def read_record(engine) -> dict[str, dict[str, tuple[int, str]]]:
    """Per input, file -> (size, version) of every file loaded so far."""
    statement = engine.render(READ_RECORD)
    return {
        source: {name: (size, version) for name, size, version in engine.query(statement, [source])}
        for source in SOURCES
    }


def plan(listing: dict[str, Listing], record: dict, full_refresh: bool = False) -> Batch:
    """The batch of a run: every listed file on a full refresh, else those not in the record.

    Raises InputError, naming the first one, when a loaded file has changed.
    """
    if full_refresh:
        return Batch(files={source: listed.files() for source, listed in listing.items()}, full_refresh=True)
    batch = Batch(files={})
    for source, listed in listing.items():
        known = record.get(source, {})
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
    return batch


def record_rows(batch: Batch, staged: dict[str, int] | None, rejects: dict[str, int]) -> list[tuple]:
    """The loaded_files rows of a batch, from the staged and rejected records per file location.

    ``staged`` is None when the loader does not count per file (Redshift's COPY).
    """
    loaded_at = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None, microsecond=0)
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
        )
        for files in batch.files.values()
        for file in files
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
