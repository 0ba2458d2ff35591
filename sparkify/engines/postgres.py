"""PostgreSQL over psycopg2: the server path of the shared SQL, tested on a real server.

Staging (sparkify.staging) is parsed on this machine with the same reader as
the DuckDB engine, into a local DuckDB (so the input rules are the same); this
engine only sends its rows with COPY ... FROM STDIN.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import duckdb
import psycopg2

import sql_queries as sql
from sparkify.config import Config, Connection
from sparkify.engines.base import Engine, wait_for
from sparkify.engines.duckdb import DuckDBEngine, duckdb_error
from sparkify.errors import ConfigError, WarehouseError, first_line
from sparkify.secret_files import PASSWORD_ENV_VAR

CONNECT_TIMEOUT_SECONDS = 10
APPLICATION_NAME = "sparkify-etl"
# The advisory lock every run of this project takes on its database (any 64-bit number of our own).
RUN_LOCK_KEY = 0x5350_4B46_5957_4831  # "SPKFYWH1"
# Rows per INSERT when staging goes over a connection without COPY FROM STDIN (the Data API).
_INSERT_ROWS = 200


class PostgresEngine(Engine):
    name = "postgres"
    sslmode = "prefer"  # unless [CLUSTER] SSLMODE says otherwise
    # read_only connections (notebook, dashboard) make the session refuse writes
    read_only_session = True

    def __init__(self, config: Config, connection):
        super().__init__(config)
        self.connection = connection

    @classmethod
    def open(cls, config: Config, read_only: bool = False) -> PostgresEngine:
        c = config.connection
        ssl_options = cls.ssl_options(c)
        user, password = cls.login(c)
        try:
            connection = psycopg2.connect(
                host=c.host,
                port=c.port,
                dbname=c.db_name,
                user=user,
                password=password,
                connect_timeout=CONNECT_TIMEOUT_SECONDS,
                application_name=APPLICATION_NAME,
                **ssl_options,
                **cls.keepalive_options(),
            )
        except psycopg2.Error as exc:
            settings = "DB_USER and DWH_DB_PASSWORD" if c.iam is None else "and DB_USER (AUTH = iam)"
            raise WarehouseError(
                f"cannot connect to {cls.name} at {c.host}:{c.port}/{c.db_name} as {user}: {first_line(exc)} "
                f"- check [CLUSTER] HOST, DB_PORT, DB_NAME, {settings}"
            ) from None
        try:
            # Transactions are explicit (BEGIN ... COMMIT in Engine.transaction).
            connection.autocommit = True
            if read_only and cls.read_only_session:
                connection.set_session(readonly=True)
        except psycopg2.Error as exc:
            connection.close()
            raise WarehouseError(f"{cls.name}: cannot open a read-only session: {first_line(exc)}") from None
        return cls(config, connection)

    @classmethod
    def login(cls, c: Connection) -> tuple[str, str]:
        """The database user and password to connect with: [CLUSTER] DB_USER and DWH_DB_PASSWORD."""
        if not c.password:
            raise ConfigError(
                f"{PASSWORD_ENV_VAR} is not set - export it or put it in a .env file beside the config file"
            )
        return c.user, c.password

    @classmethod
    def keepalive_options(cls) -> dict[str, int]:
        """libpq's TCP keepalive keywords (none: the operating system's defaults)."""
        return {}

    @classmethod
    def ssl_options(cls, c: Connection) -> dict[str, str]:
        """libpq's SSL keywords: [CLUSTER] SSLMODE, else the engine's default. A verify- mode
        on PostgreSQL uses libpq's own root certificate (~/.postgresql/root.crt or $PGSSLROOTCERT)."""
        return {"sslmode": c.sslmode or cls.sslmode}

    def execute(self, statement: str, params: Sequence | None = None) -> None:
        try:
            with self.connection.cursor() as cursor:
                cursor.execute(statement, params)
        except self.driver_errors() as exc:
            raise WarehouseError(f"{self.name}: {first_line(exc)}") from None

    def query(self, statement: str, params: Sequence | None = None) -> list[tuple]:
        try:
            with self.connection.cursor() as cursor:
                cursor.execute(statement, params)
                return cursor.fetchall()
        except self.driver_errors() as exc:
            raise WarehouseError(f"{self.name}: {first_line(exc)}") from None

    def driver_errors(self) -> type[Exception]:
        """What a statement's failure is on this connection: the DB-API's optional ``Connection.Error``
        (https://peps.python.org/pep-0249/#optional-db-api-extensions; the Redshift engine's Data API
        connection has its own), else psycopg2's."""
        return getattr(self.connection, "Error", psycopg2.Error)

    def close(self) -> None:
        self.connection.close()

    @contextmanager
    def exclusive(self) -> Iterator[None]:
        """A session advisory lock on this database for the whole run
        (https://www.postgresql.org/docs/current/explicit-locking.html#ADVISORY-LOCKS):
        it outlives the run's transactions and goes with the connection if the process dies."""
        wait_for(lambda: True if self.query("SELECT pg_try_advisory_lock(%s)", [RUN_LOCK_KEY])[0][0] else None,
                 self.name)
        try:
            yield
        finally:
            try:
                self.query("SELECT pg_advisory_unlock(%s)", [RUN_LOCK_KEY])
            except WarehouseError:  # the connection is gone, and its lock with it
                pass

    @contextmanager
    def local_staging(self, workdir: Path) -> Iterator[DuckDBEngine]:
        """A local in-memory DuckDB for the reader to parse and check the input in (stage_local sends its rows)."""
        local = DuckDBEngine.scratch(self.config, workdir)
        try:
            yield local
        except duckdb.Error as exc:
            raise duckdb_error(exc, "staging failed", self.config) from None
        finally:
            local.close()

    def stage_local(self, local: DuckDBEngine, workdir: Path) -> None:
        """The local DuckDB's staging tables and load_errors into this warehouse's, with COPY ... FROM STDIN
        (in the staging step's transaction, sparkify.staging.replacing)."""
        for table in sql.LOADED_TABLES:
            self._copy_from(local, table, workdir / f"{table}.csv")
            # Statistics now: autovacuum has not seen the rows yet, and a planner that
            # takes staging_events for 54 rows joins it with itself in a nested loop (the
            # songplay numbering: 360 s instead of seconds at 240,000 events; see
            # docs/performance.md). ANALYZE may run in a transaction
            # (https://www.postgresql.org/docs/current/sql-analyze.html).
            self.execute(f"ANALYZE {table}")

    def _copy_from(self, local: DuckDBEngine, table: str, csv_path: Path) -> None:
        if not getattr(self.connection, "copies_from_stdin", True):
            self._insert_from(local, table)
            return
        local.execute(f"COPY {table} TO {local.literal(str(csv_path))} (FORMAT csv, HEADER false)")
        try:
            with self.connection.cursor() as cursor, open(csv_path, encoding="utf-8") as data:
                cursor.copy_expert(f"COPY {table} FROM STDIN WITH (FORMAT csv)", _WithoutNul(data))
        except psycopg2.Error as exc:
            raise WarehouseError(f"{self.name}: COPY {table} failed: {first_line(exc)}") from None

    def _insert_from(self, local: DuckDBEngine, table: str) -> None:
        """A local staging table's rows as INSERTs with parameters, a batch at a time: for a connection
        without COPY FROM STDIN (the Data API). NUL characters are removed, as _WithoutNul does for COPY."""
        rows = local.query(f"SELECT * FROM {table}")
        for start in range(0, len(rows), _INSERT_ROWS):
            batch = rows[start : start + _INSERT_ROWS]
            row_marks = f"({', '.join([self.placeholder] * len(batch[0]))})"
            self.execute(
                f"INSERT INTO {table} VALUES {', '.join([row_marks] * len(batch))}",
                [value.replace("\x00", "") if isinstance(value, str) else value for row in batch for value in row],
            )


class _WithoutNul:
    """The rows for COPY FROM STDIN with every NUL character removed, a chunk at a time.

    PostgreSQL text cannot hold NUL (COPY fails the whole load: invalid byte
    sequence for encoding "UTF8": 0x00); DuckDB's can, and the reader accepts
    a \\u0000 in a value. Removing it (rather than replacing it) never makes a
    value longer than its column. Removal from the CSV text as a whole costs
    one scan per chunk, nothing per row.
    """

    def __init__(self, data):
        self.data = data

    def read(self, size: int = -1) -> str:
        return self.data.read(size).replace("\x00", "")

    def readline(self, size: int = -1) -> str:
        return self.data.readline(size).replace("\x00", "")
