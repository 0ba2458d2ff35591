"""Staging, a step of the pipeline: raw JSON into staging_events / staging_songs, bad records into load_errors.

This step owns the load's one rule: it replaces the staging tables and
load_errors in one transaction (``replacing``). Each engine contributes only
how the records get in:

- DuckDB: the local reader (``sparkify.reader``) reads the input files
  (found by ``sparkify.inputs``) into the warehouse itself
  (``Engine.local_staging``), checking every record against
  ``sparkify.rules`` and naming each rejected one by file and line.
- PostgreSQL: the same reader, into a local DuckDB; then the engine sends its
  rows with COPY ... FROM STDIN (``PostgresEngine.stage_local``).
- Redshift: the engine packs the small files and writes the manifests
  (``RedshiftEngine.prepare_copy``), COPYs from S3 and reads the rejected rows
  back from SYS_LOAD_ERROR_DETAIL (``RedshiftEngine.copy_in``); the input
  rules COPY cannot apply then run here, as SQL (``rules.staged_rejects``).

Then one decision holds for every engine, in one wording: more rejected
records than MAX_ERRORS fails the run before the star schema is touched
(``StagingResult.check``).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import sql_queries as sql
from sparkify import incremental, rules, schema
from sparkify.engines.base import CopyFailed
from sparkify.errors import InputError
from sparkify.incremental import Batch, Record
from sparkify.inputs import LocalFiles, changed_while_read, shown
from sparkify.reader import LocalJsonReader, ReadReport

log = logging.getLogger(__name__)

# The columns of load_errors, in the order the engines give rejected rows.
LOAD_ERROR_COLUMNS = schema.table("load_errors").column_names

# How many event files' first records are looked at for a key written in the wrong case.
_KEY_SAMPLE_FILES = 20


@dataclass
class StagingResult:
    """What a staging load did: rows loaded, records rejected, files seen."""

    rows: dict[str, int] = field(default_factory=dict)
    files: dict[str, int] = field(default_factory=dict)
    rejected: int = 0
    # (table, file, line, reason) of the first rejected records, in file order
    first_errors: list[tuple[str, str | None, int | None, str]] = field(default_factory=list)
    empty_files: list[str] = field(default_factory=list)
    seconds: dict[str, float] = field(default_factory=dict)  # per staging table
    record: list[tuple] = field(default_factory=list)  # the batch's loaded_files rows
    packed: dict | None = None  # Redshift: small files packed before COPY (files, parts, bytes, seconds)

    def check(self, max_errors: int) -> None:
        """Raise InputError when more records were rejected than allowed."""
        if self.rejected <= max_errors:
            return
        where = "; ".join(
            f"{shown(path) if path else table}{f':{line}' if line else ''}: {reason}"
            for table, path, line, reason in self.first_errors
        )
        raise InputError(
            f"{self.rejected:,} bad input record{'s' if self.rejected != 1 else ''} (MAX_ERRORS is {max_errors}): "
            f"{where} - fix the input, or allow them with --max-errors N (details: python etl.py --rejects); "
            "the star schema was not changed"
        )


def load(engine, files: LocalFiles | None, workdir: Path, max_errors: int, batch: Batch,
         record: Record | None = None) -> StagingResult:
    """Replace the staging tables and load_errors with the batch: from ``files`` (local engines) or by COPY (Redshift).

    Local engines: a file that changed while it was read stops the load; a file
    whose content, hashed as it was read, is one already loaded (``record``) or
    read under an earlier name leaves staging again and joins batch.same_content.
    """
    packed = None
    if files is not None:
        report = _read_local(engine, files, workdir, batch, record)
        for warning in wrong_case_keys(engine, files):
            log.warning("warning: %s", warning)
        staged, rejects = incremental.per_file_counts(engine, files.display)
    else:
        packed = copy_staging(engine, batch, max_errors)
        report = ReadReport()
        staged, rejects = None, incremental.per_file_counts(engine, {})[1]  # COPY does not count per file
    return StagingResult(
        rows={table: engine.count(table) for table in sql.STAGING_TABLES},
        files={table: len(batch.files.get(source, [])) for source, table in schema.STAGING_INPUTS.items()},
        rejected=engine.count("load_errors"),
        first_errors=[tuple(row) for row in engine.query(sql.FIRST_LOAD_ERRORS)],
        empty_files=report.empty_files,
        seconds=report.seconds,
        record=incremental.record_rows(batch, staged, rejects),
        packed=packed,
    )


@contextmanager
def replacing(engine) -> Iterator[None]:
    """The one transaction of a staging load: staging and load_errors emptied, then filled by the block.

    On any error the engine rolls it back and they keep what they held.
    """
    with engine.transaction(writes=sql.LOADED_TABLES):
        for table in sql.LOADED_TABLES:
            engine.execute(sql.delete_rows(table))
        yield


def _read_local(engine, files: LocalFiles, workdir: Path, batch: Batch, record: Record | None) -> ReadReport:
    """The local reader into the engine's local DuckDB; then, when that is not the warehouse itself, its rows
    into the warehouse."""
    with engine.local_staging(workdir) as local:
        report = LocalJsonReader(local, workdir, replace=replacing).load(files)
        changed_while_read(batch)
        by_location = {files.name(path): value for path, value in report.fingerprints.items()}
        _unstage(local, incremental.same_content_read(batch, record or Record(), by_location))
        if local is not engine:  # PostgreSQL: read into a local DuckDB, sent in staging's transaction
            with replacing(engine):
                engine.stage_local(local, workdir)
    return report


def copy_staging(engine, batch: Batch, max_errors: int) -> dict | None:
    """The warehouse loads staging itself (Redshift's COPY from S3), then the input rules COPY cannot apply run.

    A COPY that fails on bad records leaves staging as it was and keeps those
    records in load_errors, for the MAX_ERRORS decision. Returns what packing
    did (files, parts, bytes, seconds), or None.
    """
    packed = engine.prepare_copy(batch)
    try:
        with replacing(engine):
            engine.insert_rows("load_errors", LOAD_ERROR_COLUMNS, engine.copy_in(batch, max_errors, packed))
            # COPY cannot apply every input rule: move the rows that break the others now
            for statement in rules.staged_rejects(quote=engine.literal):
                engine.execute(statement)
        if engine.count("load_errors") > max_errors:
            engine.keep_staging()  # the run will be refused: its staging and load_errors stay, as on every engine
    except CopyFailed as failed:
        _keep_rejects(engine, failed, max_errors, batch)
    return packed.counts() if packed else None


def _keep_rejects(engine, failed: CopyFailed, max_errors: int, batch: Batch) -> None:
    """After a failed COPY (rolled back): the records it rejected replace load_errors, then its error,
    unless they are more than MAX_ERRORS (the run is refused in the usual words)."""
    rows = engine.rejects_of_failed_copy(failed, batch)
    if not rows:
        raise failed.error(0) from None
    with engine.transaction(writes=["load_errors"]):
        engine.execute(sql.delete_rows("load_errors"))
        engine.insert_rows("load_errors", LOAD_ERROR_COLUMNS, rows)
    if len(rows) > max_errors:
        return
    raise failed.error(len(rows)) from None


def _unstage(local, moved) -> None:
    """Take the records of files not to be loaded (same content as a loaded file) out of staging and load_errors."""
    if not moved:
        return
    with local.transaction():
        for file in moved:
            for table in sql.LOADED_TABLES:
                local.execute(f"DELETE FROM {table} WHERE source_file = {local.placeholder}", [file.location])


def wrong_case_keys(engine, files: LocalFiles) -> list[str]:
    """A jsonpaths key that matches no input key but one in another case leaves its column NULL in every row.

    JSON keys are case-sensitive (as in Redshift's COPY with a jsonpaths file):
    ``$['userid']`` finds nothing in ``{"userId": 7}`` and the load succeeds with
    no users. Looked at only for columns NULL in every row of a non-empty load.
    """
    columns = sql.STAGING_EVENTS_COLUMNS
    counts = engine.query(
        f"SELECT COUNT(*), {', '.join(f'COUNT({column})' for column in columns)} FROM staging_events"
    )[0]
    if not counts[0]:
        return []
    empty = [(column, key) for column, key, count in zip(columns, files.keys, counts[1:]) if count == 0]
    if not empty:
        return []
    seen = _sample_keys(files.events[:_KEY_SAMPLE_FILES])
    warnings = []
    for column, key in empty:
        others = sorted(k for k in seen if k != key and k.lower() == key.lower())
        if others and key not in seen:
            warnings.append(
                f"staging_events.{column} is NULL in every row: the jsonpaths path $['{key}'] matches no key, "
                f"but the input has {others[0]!r} (keys are case-sensitive) - fix LOG_JSONPATH"
            )
    return warnings


def _sample_keys(paths: list[str]) -> set[str]:
    """The keys of the first record of each file (files that cannot be read or parsed add none)."""
    keys: set[str] = set()
    for path in paths:
        try:
            with open(path, "rb") as fh:
                for raw in fh:
                    if raw.strip():
                        record = json.loads(raw)
                        if isinstance(record, dict):
                            keys.update(record)
                        break
        except (OSError, ValueError, RecursionError):
            continue
    return keys
