"""The two things the scripts do: create the tables, and run the ETL."""

from __future__ import annotations

import logging
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

log = logging.getLogger(__name__)


def tables_with_rows(engine: Engine) -> dict[str, int]:
    """The project's tables that exist and hold rows (what create_tables would destroy)."""
    existing = engine.existing_tables()
    counts = {table: engine.count(table) for table in sql.ALL_TABLES if table in existing}
    return {table: count for table, count in counts.items() if count}


def create_tables(engine: Engine) -> None:
    started = time.perf_counter()
    with engine.exclusive():
        engine.create_tables()
    log.info("created %d tables (%s) in %.1f s", len(sql.ALL_TABLES), ", ".join(sql.ALL_TABLES), time.perf_counter() - started)


@contextmanager
def _run_folder() -> Iterator[Path]:
    """The run's temporary folder, removed however the run ends.

    A SIGTERM is held while the folder is made (and while tempfile first probes
    TMPDIR): arriving in between, it would leave it behind with nothing yet to
    remove it. It takes effect as soon as the folder is ours (the
    TemporaryDirectory object removes it even then, when it is collected).
    """
    with stops.held():
        folder = tempfile.TemporaryDirectory(prefix="sparkify-")
    with folder as path:
        yield Path(path)


def run_etl(
    config: Config, max_errors: int | None = None, *, full_refresh: bool = False, dry_run: bool = False
) -> report.RunSummary:
    """Load the files new since the last run (all of them with full_refresh), upsert the star schema, report.

    Raises SparkifyError on any failure, with the warehouse and its record of
    loaded files as they were. dry_run: list what would be loaded and the SQL
    that would run, change nothing.
    """
    allowed = config.max_errors if max_errors is None else max_errors
    run_started = time.perf_counter()
    seconds: dict[str, float] = {}
    with connect(config) as engine, engine.exclusive():
        log.info("%s", config.describe())
        engine.require_tables()

        log.info("[1/4] listing the input files ...")
        started = time.perf_counter()
        listing = inputs.list_inputs(config.inputs)
        record = {} if full_refresh else incremental.read_record(engine)
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
            log.info("nothing new to load")
            summary = report.collect(engine, None, batch)
            summary.seconds = {**seconds, "total": time.perf_counter() - run_started}
            return summary

        log.info("[2/4] loading staging tables ...")
        started = time.perf_counter()
        with _run_folder() as workdir:
            # local engines read the batch's files here (s3:// ones downloaded); Redshift's COPY reads S3 itself
            files = inputs.resolve(config.inputs, workdir, batch) if engine.reads_local_files else None
            staged = staging.load(engine, files, workdir, allowed, batch)
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
        engine.loaded(batch)  # only now: a refused or failed run keeps its packed parts to inspect

        log.info("[4/4] counting ...")
        summary = report.collect(engine, staged, batch)
    seconds["total"] = time.perf_counter() - run_started
    summary.seconds = seconds
    summary.step_seconds = {**staged.seconds, **steps}
    return summary
