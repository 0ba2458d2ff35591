"""The star schema from staging: one transaction of INSERT ... SELECT, then checks.

A run is a full refresh: the five tables are emptied and rebuilt from what is
in staging, inside one transaction with the checks, so a failure anywhere
leaves them exactly as they were.
"""

from __future__ import annotations

import logging
import time

import sql_queries as sql
from sparkify import checks
from sparkify.engines.base import Engine
from sparkify.errors import WarehouseError

log = logging.getLogger(__name__)


def build_star_schema(engine: Engine) -> dict[str, float]:
    """Rebuild songplays, users, songs, artists and time; return seconds per table."""
    seconds: dict[str, float] = {}
    # staging is read, not written, but locked too: no load may replace it half-way through
    with engine.transaction(writes=sql.STAR_TABLES + sql.STAGING_TABLES):
        for table in sql.STAR_TABLES:
            engine.execute(f"DELETE FROM {table}")
        for table, statement in sql.STAR_INSERTS:
            started = time.perf_counter()
            try:
                engine.execute(engine.render(statement))
            except WarehouseError as exc:
                raise WarehouseError(f"building {table} failed, the star schema is unchanged: {exc}") from None
            seconds[table] = time.perf_counter() - started
            log.info("  %s in %.1f s", table, seconds[table])
        checks.run(engine)
    return seconds
