"""What every engine shares, and the default SQL fragments the others override."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path

import sql_queries as sql
from sparkify import quoting
from sparkify.config import Config
from sparkify.errors import SparkifyError, WarehouseBusy, WarehouseError

log = logging.getLogger(__name__)

_INSERT_BATCH = 500  # rows per INSERT ... VALUES statement

# How long a run waits for another run (etl.py, create_tables.py) to release the warehouse.
LOCK_WAIT_SECONDS = 600.0
_LOCK_POLL_SECONDS = 0.5


RUNS = "another run (etl.py or create_tables.py)"


def held_elsewhere(name: str, waited: float, holder: str = RUNS) -> WarehouseBusy:
    """The one wording for a warehouse another run holds, on every engine."""
    return WarehouseBusy(
        f"{holder} holds the {name} warehouse; waited {waited:.0f} s - try again when it has finished"
    )


def wait_for(try_once, name: str, holder: str = RUNS, wait_seconds: float | None = None):
    """Call try_once() until it returns something other than None, for at most the lock wait.

    Used by every engine's run lock: a second run waits for the first (a bounded
    wait suits cron), saying so once, then stops with held_elsewhere().
    """
    wait = LOCK_WAIT_SECONDS if wait_seconds is None else wait_seconds
    started = time.monotonic()
    said = False
    while True:
        result = try_once()
        if result is not None:
            return result
        waited = time.monotonic() - started
        if waited >= wait:
            raise held_elsewhere(name, waited, holder)
        if not said:
            log.info("%s holds the %s warehouse: waiting up to %.0f s ...", holder, name, wait)
            said = True
        time.sleep(_LOCK_POLL_SECONDS)


class CopyFailed(Exception):
    """A load the warehouse ran itself failed (Redshift's COPY); raised inside the staging transaction,
    which rolls back before the rows it rejected can be read (Engine.rejects_of_failed_copy)."""

    def error(self, rejected: int) -> SparkifyError:
        """What to raise once ``rejected`` records it rejected are kept in load_errors."""
        raise NotImplementedError


class Engine:
    """A warehouse connection plus the dialect it speaks.

    Subclasses override only what differs: how to connect, how to run a
    statement, how staging is loaded, and the SQL fragments below.
    """

    name = "base"
    # how a query marks a parameter (psycopg2: %s, DuckDB: ?)
    placeholder = "%s"
    # epoch milliseconds -> TIMESTAMP, milliseconds kept (PostgreSQL, Redshift)
    start_time_sql = "TIMESTAMP 'epoch' + ts / 1000.0 * INTERVAL '1 second'"
    # a backslash in a string literal is an escape (Redshift), not a character
    backslash_escapes = False
    # staging reads the input files on this machine (False: the warehouse reads S3 itself)
    reads_local_files = True

    def __init__(self, config: Config):
        self.config = config

    # ------------------------------------------------------------ dialect

    def table_attributes(self, table: str) -> str:
        """What follows the column list of CREATE TABLE (Redshift: distribution and sort keys)."""
        return ""

    @classmethod
    def literal(cls, value: str) -> str:
        """A string literal in this dialect (sparkify.quoting), for what cannot be a parameter."""
        return quoting.literal(value, backslash_escapes=cls.backslash_escapes)

    def render(self, statement: str, table: str | None = None) -> str:
        """Fill a shared statement's dialect placeholders."""
        attributes = self.table_attributes(table) if table else ""
        return statement.format(
            attributes=f"\n{attributes}" if attributes else "", start_time=self.start_time_sql, p=self.placeholder
        )

    # ------------------------------------------------------------ running SQL

    def execute(self, statement: str, params: Sequence | None = None) -> None:
        raise NotImplementedError

    def query(self, statement: str, params: Sequence | None = None) -> list[tuple]:
        raise NotImplementedError

    def close(self) -> None:
        raise NotImplementedError

    def __enter__(self) -> Engine:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    @contextmanager
    def exclusive(self) -> Iterator[None]:
        """One run at a time per warehouse: held for a whole etl.py or create_tables.py run.

        Engines override it: PostgreSQL takes an advisory lock; DuckDB's file
        lock is taken when the file is opened; Redshift, which has no lock that
        outlives a transaction, LOCKs the tables inside each (lock_tables).
        """
        yield

    def lock_tables(self, tables: Sequence[str]) -> None:
        """Called first in a transaction that writes these tables (Redshift: LOCK)."""

    @contextmanager
    def transaction(self, writes: Sequence[str] = ()) -> Iterator[None]:
        """All or nothing: on any error the tables keep their previous contents.

        ``writes``: the tables it changes, locked first where the engine needs it.
        """
        self.execute("BEGIN")
        try:
            if writes:
                self.lock_tables(writes)
            yield
        except BaseException:
            self.rollback()
            raise
        self.execute("COMMIT")

    def rollback(self) -> None:
        try:
            self.execute("ROLLBACK")
        except WarehouseError:  # the connection itself is gone: nothing was committed
            log.debug("rollback failed", exc_info=True)

    # ------------------------------------------------------------ tables

    def existing_tables(self) -> set[str]:
        rows = self.query(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema()"
        )
        return {name for (name,) in rows}

    def table_columns(self, table: str) -> set[str]:
        """The columns ``table`` has in the warehouse (none when it does not exist)."""
        rows = self.query(
            "SELECT column_name FROM information_schema.columns "
            f"WHERE table_schema = current_schema() AND table_name = {self.placeholder}",
            [table],
        )
        return {name for (name,) in rows}

    def require_tables(self, tables: Sequence[str] = sql.ALL_TABLES) -> None:
        missing = [table for table in tables if table not in self.existing_tables()]
        if missing:
            raise WarehouseError(
                f"table {missing[0]} does not exist in the {self.name} warehouse - run create_tables.py first"
            )

    def create_tables(self, before_drop=None) -> None:
        """Drop and create every table, in one transaction.

        ``before_drop()`` runs in it first, once the tables are locked where the
        engine locks tables (Redshift): what it sees no other run can change
        before the drop (create_tables.py counts rows and asks there).
        """
        existing = [table for table in sql.ALL_TABLES if table in self.existing_tables()]
        with self.transaction(writes=existing):
            if before_drop is not None:
                before_drop()
            for table in sql.ALL_TABLES:
                self.execute(sql.drop_table(table))
            for table, ddl in sql.CREATE_TABLES.items():
                self.execute(self.render(ddl, table))

    def insert_rows(self, table: str, columns: Sequence[str], rows: Sequence[tuple]) -> None:
        """INSERT many rows, values as parameters (batched VALUES lists; DuckDB overrides it with a columnar insert)."""
        marks = "(" + ", ".join([self.placeholder] * len(columns)) + ")"
        for start in range(0, len(rows), _INSERT_BATCH):
            chunk = rows[start : start + _INSERT_BATCH]
            self.execute(
                f"INSERT INTO {table} ({', '.join(columns)}) VALUES {', '.join([marks] * len(chunk))}",
                [value for row in chunk for value in row],
            )

    def count(self, table: str) -> int:
        return self.query(sql.count_rows(table))[0][0]

    # ------------------------------------------------------------ staging (sparkify.staging owns the
    # transaction that replaces staging and load_errors; an engine says only how records get in)

    def local_staging(self, workdir: Path) -> AbstractContextManager:
        """A DuckDB engine for the local reader to read the input files into (the warehouse itself
        for DuckDB; otherwise stage_local sends its rows to the warehouse)."""
        raise NotImplementedError(f"the {self.name} engine does not stage local files")

    def stage_local(self, local, workdir: Path) -> None:
        """Put what the local reader staged in ``local`` into this warehouse's staging tables and load_errors."""
        raise NotImplementedError(f"the {self.name} engine does not stage local files")

    def staging_sql(self, batch, max_errors: int) -> list[str]:
        """What loading staging would run, for etl.py --dry-run."""
        counts = {source: len(files) for source, files in batch.files.items()}
        return [
            f"-- read {counts.get('LOG_DATA', 0):,} event files and {counts.get('SONG_DATA', 0):,} song files "
            "with DuckDB's JSON reader into staging_events, staging_songs and load_errors (sparkify/reader.py)"
        ]

    def prepare_copy(self, batch):
        """Before a load the warehouse runs itself (Redshift): what it needs in place (packed parts, manifests),
        returned for copy_in; with ``counts()``, what packing did."""
        raise NotImplementedError(f"the {self.name} engine does not load staging by itself")

    def copy_in(self, batch, max_errors: int, prepared) -> list[tuple]:
        """The warehouse loads the batch into the emptied staging tables itself (Redshift's COPY), in the
        staging step's transaction; returns the records it rejected as load_errors rows. Raises CopyFailed."""
        raise NotImplementedError(f"the {self.name} engine does not load staging by itself")

    def rejects_of_failed_copy(self, failed: CopyFailed, batch) -> list[tuple]:
        """After a CopyFailed was rolled back: the records that load rejected, as load_errors rows."""
        raise NotImplementedError(f"the {self.name} engine does not load staging by itself")

    def keep_staging(self) -> None:
        """A run about to be refused (more rejected records than MAX_ERRORS) keeps its staging and
        load_errors: committed already, except where the run is one transaction (Redshift)."""

    def packing(self, batch) -> dict | None:
        """What packing small files would do for this batch (Redshift; etl.py --dry-run), or None."""
        return None

    def loaded(self, batch) -> None:
        """After a successful run: remove what only the load needed (Redshift: the packed parts)."""
