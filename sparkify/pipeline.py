"""The two things the scripts do: create the tables, and run the ETL."""

from __future__ import annotations

import logging
import tempfile
import time
from pathlib import Path

import sql_queries as sql
from sparkify import inputs, report, staging, transforms
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


def run_etl(config: Config, max_errors: int | None = None) -> report.RunSummary:
    """Load staging, then rebuild the star schema; raise SparkifyError on any failure."""
    allowed = config.max_errors if max_errors is None else max_errors
    run_started = time.perf_counter()
    seconds: dict[str, float] = {}
    with connect(config) as engine, engine.exclusive():
        log.info("%s", config.describe())
        engine.require_tables()

        log.info("[1/3] loading staging tables ...")
        started = time.perf_counter()
        with tempfile.TemporaryDirectory(prefix="sparkify-") as tmp:
            workdir = Path(tmp)
            # local engines read files found (or downloaded) here; Redshift's COPY reads S3 itself
            files = inputs.resolve(config.inputs, workdir) if engine.reads_local_files else None
            staged = staging.load(engine, files, workdir, allowed)
        seconds["staging"] = time.perf_counter() - started
        log.info(
            "[1/3] staging: %s events, %s songs, %s rejected in %.1f s",
            f"{staged.rows['staging_events']:,}", f"{staged.rows['staging_songs']:,}",
            f"{staged.rejected:,}", seconds["staging"],
        )
        staged.check(allowed)

        log.info("[2/3] building the star schema (one transaction) ...")
        started = time.perf_counter()
        steps = transforms.build_star_schema(engine)
        seconds["star schema"] = time.perf_counter() - started
        log.info("[2/3] star schema built and checked in %.1f s", seconds["star schema"])

        log.info("[3/3] counting ...")
        summary = report.collect(engine, staged)
    seconds["total"] = time.perf_counter() - run_started
    summary.seconds = seconds
    summary.step_seconds = {**staged.seconds, **steps}
    return summary
