"""What every engine shares, and the default SQL fragments the others override."""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path

import sql_queries as sql
from sparkify import quoting
from sparkify.config import Config
from sparkify.errors import WarehouseError

log = logging.getLogger(__name__)


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
        return statement.format(attributes=f"\n{attributes}" if attributes else "", start_time=self.start_time_sql)

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
    def transaction(self) -> Iterator[None]:
        """All or nothing: on any error the tables keep their previous contents."""
        self.execute("BEGIN")
        try:
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

    def require_tables(self, tables: Sequence[str] = sql.ALL_TABLES) -> None:
        missing = [table for table in tables if table not in self.existing_tables()]
        if missing:
            raise WarehouseError(
                f"table {missing[0]} does not exist in the {self.name} warehouse - run create_tables.py first"
            )

    def create_tables(self) -> None:
        """Drop and create every table, in one transaction."""
        with self.transaction():
            for table in sql.ALL_TABLES:
                self.execute(sql.drop_table(table))
            for table, ddl in sql.CREATE_TABLES.items():
                self.execute(self.render(ddl, table))

    def count(self, table: str) -> int:
        return self.query(sql.count_rows(table))[0][0]

    # ------------------------------------------------------------ staging

    def local_staging(self, workdir: Path) -> AbstractContextManager:
        """A DuckDB engine to read the input files into (sparkify.staging).

        Whatever its staging tables and load_errors hold when the block ends
        without an error replaces this warehouse's, in one transaction.
        """
        raise NotImplementedError(f"the {self.name} engine does not stage local files")

    def copy_staging(self, max_errors: int) -> None:
        """Replace the staging tables and load_errors with what the warehouse reads itself (Redshift)."""
        raise NotImplementedError(f"the {self.name} engine does not load staging by itself")
