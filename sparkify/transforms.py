"""The star schema from the run's batch: one transaction of upserts, checks and the record of loaded files.

Staging holds only the batch (the files new since the last run; every file on
a first run or with --full-refresh). The statements (sql_queries.STAR_UPSERTS)
choose each touched key again from everything loaded for it, so after any
sequence of runs the star schema equals one full load of the same files. The
transaction ends by emptying staging (sql_queries.STAGING_EMPTIED). A failure
anywhere rolls it back: the tables, the state kept between runs and the
record are exactly as they were, and staging still holds the batch.
"""

from __future__ import annotations

import logging
import time

import sql_queries as sql
from sparkify import checks, incremental
from sparkify.engines.base import Engine
from sparkify.errors import WarehouseError

log = logging.getLogger(__name__)

# Everything the star-schema transaction writes (staging is only read, but locked
# too: no load may replace it half-way through).
WRITES = sql.STAR_TABLES + sql.STATE_TABLES + ("staging_users", sql.RECORD_TABLE) + sql.STAGING_TABLES


def build_star_schema(engine: Engine, record: list[tuple] | None = None, full_refresh: bool = False) -> dict[str, float]:
    """Upsert songplays, users, songs, artists and time from staging; return seconds per table.

    ``record``: the loaded_files rows of the batch, written in the same transaction.
    ``full_refresh``: start from empty tables and an empty record.
    """
    seconds: dict[str, float] = {}
    with engine.transaction(writes=WRITES):
        if full_refresh:
            for table in sql.STAR_TABLES + sql.STATE_TABLES:
                engine.execute(sql.delete_rows(table))
        before = engine.query(sql.LAST_SONGPLAY_ID)[0][0]
        for table, statement in sql.STAR_UPSERTS:
            started = time.perf_counter()
            try:
                engine.execute(engine.render(statement), sql.before_parameters(statement, before))
            except WarehouseError as exc:
                raise WarehouseError(f"building {table} failed, the star schema is unchanged: {exc}") from None
            seconds[table] = seconds.get(table, 0.0) + time.perf_counter() - started
        for table in dict.fromkeys(name for name, _ in sql.STAR_UPSERTS):
            log.info("  %s in %.1f s", table, seconds[table])
        checks.run(engine, before)
        if record is not None:
            incremental.write_record(engine, record, replace=full_refresh)
        for statement in sql.STAGING_EMPTIED:
            engine.execute(statement)
    return seconds
