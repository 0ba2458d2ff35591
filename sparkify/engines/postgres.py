"""PostgreSQL over psycopg2: the server path of the shared SQL, tested on a real server.

Staging is parsed on this machine with the same reader as the DuckDB engine
(so the input rules are the same), then sent with COPY ... FROM STDIN.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import duckdb
import psycopg2

import sql_queries as sql
from sparkify.config import PASSWORD_ENV_VAR, Config
from sparkify.engines.base import Engine
from sparkify.errors import ConfigError, WarehouseError
from sparkify.staging import LocalJsonReader, StagingResult, local_inputs

CONNECT_TIMEOUT_SECONDS = 10
APPLICATION_NAME = "sparkify-etl"


def _first_line(exc: Exception) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


class PostgresEngine(Engine):
    name = "postgres"
    sslmode = "prefer"

    def __init__(self, config: Config, connection):
        super().__init__(config)
        self.connection = connection

    @classmethod
    def open(cls, config: Config, read_only: bool = False) -> PostgresEngine:
        c = config.connection
        if not c.password:
            raise ConfigError(
                f"{PASSWORD_ENV_VAR} is not set - export it or put it in a .env file beside the config file"
            )
        try:
            connection = psycopg2.connect(
                host=c.host,
                port=c.port,
                dbname=c.db_name,
                user=c.user,
                password=c.password,
                connect_timeout=CONNECT_TIMEOUT_SECONDS,
                application_name=APPLICATION_NAME,
                sslmode=cls.sslmode,
            )
        except psycopg2.Error as exc:
            raise WarehouseError(
                f"cannot connect to {cls.name} at {c.host}:{c.port}/{c.db_name} as {c.user}: {_first_line(exc)} "
                "- check [CLUSTER] HOST, DB_PORT, DB_NAME, DB_USER and DWH_DB_PASSWORD"
            ) from None
        # Transactions are explicit (BEGIN ... COMMIT in Engine.transaction).
        connection.autocommit = True
        if read_only:
            connection.set_session(readonly=True)
        return cls(config, connection)

    def execute(self, statement: str, params: Sequence | None = None) -> None:
        try:
            with self.connection.cursor() as cursor:
                cursor.execute(statement, params)
        except psycopg2.Error as exc:
            raise WarehouseError(f"{self.name}: {_first_line(exc)}") from None

    def query(self, statement: str, params: Sequence | None = None) -> list[tuple]:
        try:
            with self.connection.cursor() as cursor:
                cursor.execute(statement, params)
                return cursor.fetchall()
        except psycopg2.Error as exc:
            raise WarehouseError(f"{self.name}: {_first_line(exc)}") from None

    def close(self) -> None:
        self.connection.close()

    def load_staging(self, workdir: Path, max_errors: int) -> StagingResult:
        """Parse and check the input locally in DuckDB, then COPY the rows in."""
        files = local_inputs(self.config.inputs, workdir)
        # spills (past the memory limit) go to the run's own temporary folder
        local = duckdb.connect(
            ":memory:",
            config={"memory_limit": self.config.duckdb_memory_limit, "temp_directory": str(workdir / "spill")},
        )
        try:
            for table in sql.STAGING_TABLES + ("load_errors",):
                local.execute(sql.CREATE_TABLES[table].format(attributes=""))
            result = LocalJsonReader(local, workdir).load(files)
            with self.transaction():
                for table in sql.STAGING_TABLES + ("load_errors",):
                    self.execute(f"DELETE FROM {table}")
                    self._copy_from(local, table, workdir / f"{table}.csv")
        except duckdb.Error as exc:
            raise WarehouseError(f"staging failed: {_first_line(exc)}") from None
        finally:
            local.close()
        return result

    def _copy_from(self, local, table: str, csv_path: Path) -> None:
        local.execute(f"COPY {table} TO '{str(csv_path).replace(chr(39), chr(39) * 2)}' (FORMAT csv, HEADER false)")
        try:
            with self.connection.cursor() as cursor, open(csv_path, encoding="utf-8") as data:
                cursor.copy_expert(f"COPY {table} FROM STDIN WITH (FORMAT csv)", data)
        except psycopg2.Error as exc:
            raise WarehouseError(f"{self.name}: COPY {table} failed: {_first_line(exc)}") from None
