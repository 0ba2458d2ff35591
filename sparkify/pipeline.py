"""The two things the scripts do: create the tables, and run the ETL."""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import sql_queries as sql
from sparkify import incremental, inputs, report, staging, stops, transforms
from sparkify.config import Config
from sparkify.engines import connect
from sparkify.engines.base import Engine
from sparkify.errors import WarehouseError

log = logging.getLogger(__name__)


def tables_with_rows(engine: Engine) -> dict[str, int]:
    """The project's tables that exist and hold rows (what create_tables would destroy)."""
    existing = engine.existing_tables()
    counts = {table: engine.count(table) for table in sql.ALL_TABLES if table in existing}
    return {table: count for table, count in counts.items() if count}


def last_rejects(config: Config) -> report.Rejects:
    """The rejected records of the last run that loaded files (load_errors), read-only."""
    with connect(config, read_only=True) as engine:
        engine.require_tables(["load_errors"])
        return report.rejects(engine)


def create_tables(engine: Engine, before_drop=None) -> None:
    """Drop and create every table, the caller holding the run lock (engine.exclusive()).

    ``before_drop()`` runs inside the lock and the transaction, before the drop
    (create_tables.py counts rows and asks there: a load it waited for is seen).
    """
    started = time.perf_counter()
    engine.create_tables(before_drop)
    log.info("created %d tables (%s) in %.1f s", len(sql.ALL_TABLES), ", ".join(sql.ALL_TABLES), time.perf_counter() - started)


# In a run's temporary folder, the id of the process that made it: a folder whose owner is
# gone (killed with SIGKILL, or the machine stopped) is removed by the next run.
_OWNER_FILE = "sparkify-run.pid"


@contextmanager
def _run_folder() -> Iterator[Path]:
    """The run's temporary folder, removed however the run ends; the folders of runs killed before are removed first.

    A SIGTERM is held while the folder is made (and while tempfile first probes
    TMPDIR): arriving in between, it would leave it behind with nothing yet to
    remove it. It takes effect as soon as the folder is ours (the
    TemporaryDirectory object removes it even then, when it is collected).
    """
    with stops.held():
        folder = tempfile.TemporaryDirectory(prefix="sparkify-")
        (Path(folder.name) / _OWNER_FILE).write_text(str(os.getpid()), encoding="ascii")
    remove_orphans(Path(folder.name).parent)
    with folder as path:
        yield Path(path)


def remove_orphans(tmpdir: Path) -> list[Path]:
    """Remove the sparkify-* run folders in tmpdir whose owner process is gone; return them.

    Only a folder holding our owner file is looked at (a folder another tool
    named sparkify-* is not ours); a live process with the owner's id keeps it.
    """
    removed = []
    for owner in tmpdir.glob(f"sparkify-*/{_OWNER_FILE}"):
        try:
            pid = int(owner.read_text(encoding="ascii"))
            os.kill(pid, 0)
        except ProcessLookupError:
            shutil.rmtree(owner.parent, ignore_errors=True)
            removed.append(owner.parent)
            log.info("  removed %s, left by a run that was killed (process %d)", owner.parent, pid)
        except (OSError, ValueError):  # not ours to judge (another user's process, a half-written file)
            continue
    return removed


def run_etl(
    config: Config, max_errors: int | None = None, *, full_refresh: bool = False, dry_run: bool = False
) -> report.RunSummary:
    """Load the files new since the last run (all of them with full_refresh), upsert the star schema, report.

    Raises SparkifyError on any failure, with the warehouse and its record of
    loaded files as they were. dry_run: list what would be loaded and the SQL
    that would run, change nothing.
    """
    allowed = config.max_errors if max_errors is None else max_errors
    if config.engine == "duckdb" and not config.duckdb_path.exists():
        # opening it would create an empty file (and its folder), left behind by the refusal
        raise WarehouseError(f"DuckDB database {config.duckdb_path} does not exist yet - run create_tables.py first")
    run_started = time.perf_counter()
    seconds: dict[str, float] = {}
    with connect(config) as engine:
        log.info("%s", config.describe(full=True))
        engine.require_tables()
        incremental.require_record_columns(engine)

        log.info("[1/4] listing the input files ...")
        started = time.perf_counter()
        # listed before the run lock: a long listing keeps no other run waiting (a file that
        # arrives after it is new to the next run)
        listing = inputs.list_inputs(config.inputs)
        with engine.exclusive():
            # read under the run lock: a run that waited for another finds that run's files recorded
            record = incremental.Record() if full_refresh else incremental.read_record(engine)
            batch = incremental.plan(listing, record, full_refresh=full_refresh)
            seconds["listing"] = time.perf_counter() - started
            for source, counts in batch.counts().items():
                log.info(
                    "[1/4] %s: %s new, %s already loaded%s", source, f"{counts['new']:,}", f"{counts['already_loaded']:,}",
                    f", {counts['removed']:,} removed (their rows stay until --full-refresh)" if counts["removed"] else "",
                )
            if dry_run:
                return report.planned(engine, batch, allowed)
            if batch.empty:
                if batch.same_content:  # new names of loaded contents only (S3 ETags): recorded, nothing loaded
                    incremental.say_same_content(batch)
                    with engine.transaction(writes=[sql.RECORD_TABLE]):
                        incremental.write_record(engine, incremental.record_rows(batch, {}, {}), replace=False)
                log.info("nothing new to load")
                summary = report.collect(engine, None, batch)
                summary.seconds = {**seconds, "total": time.perf_counter() - run_started}
                return summary

            log.info("[2/4] loading staging tables ...")
            started = time.perf_counter()
            with _run_folder() as workdir:
                # local engines read the batch's files here (s3:// ones downloaded); Redshift's COPY reads S3 itself
                files = inputs.resolve(config.inputs, workdir, batch) if engine.reads_local_files else None
                staged = staging.load(engine, files, workdir, allowed, batch, record)
            incremental.say_same_content(batch)
            seconds["staging"] = time.perf_counter() - started
            log.info(
                "[2/4] staging: %s events, %s songs, %s rejected in %.1f s",
                f"{staged.rows['staging_events']:,}", f"{staged.rows['staging_songs']:,}",
                f"{staged.rejected:,}", seconds["staging"],
            )
            staged.check(allowed)

            log.info("[3/4] upserting the star schema (one transaction) ...")
            started = time.perf_counter()
            steps = transforms.build_star_schema(engine, staged.record, full_refresh=full_refresh)
            seconds["star schema"] = time.perf_counter() - started
            log.info("[3/4] star schema upserted and checked in %.1f s", seconds["star schema"])

            log.info("[4/4] counting ...")
            summary = report.collect(engine, staged, batch)
        engine.loaded(batch)  # once committed: a refused or failed run keeps its packed parts to inspect
    seconds["total"] = time.perf_counter() - run_started
    summary.seconds = seconds
    summary.step_seconds = {**staged.seconds, **steps}
    return summary
