"""The embedded default: one DuckDB file, no server, no network."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import duckdb

from sparkify.config import Config
from sparkify.engines.base import Engine
from sparkify.errors import WarehouseError
from sparkify.staging import LocalJsonReader, StagingResult, local_inputs


def _first_line(exc: Exception) -> str:
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__


class DuckDBEngine(Engine):
    name = "duckdb"
    placeholder = "?"
    start_time_sql = "epoch_ms(ts)"

    def __init__(self, config: Config, con: duckdb.DuckDBPyConnection):
        super().__init__(config)
        self.con = con

    @classmethod
    def open(cls, config: Config, read_only: bool = False) -> DuckDBEngine:
        path = config.duckdb_path
        if read_only and not path.exists():
            raise WarehouseError(f"DuckDB database {path.name} does not exist yet - run create_tables.py and etl.py")
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            con = duckdb.connect(str(path), read_only=read_only)
        except (duckdb.Error, OSError) as exc:
            hint = " - is another program (a notebook, the dashboard) using it?" if "lock" in str(exc).lower() else ""
            raise WarehouseError(f"cannot open DuckDB database {path}: {_first_line(exc)}{hint}") from None
        # Bounded memory: DuckDB spills to disk rather than grow past it.
        con.execute(f"SET memory_limit = '{config.duckdb_memory_limit}'")
        if not read_only:
            # Bulk loads need no row order; this lets DuckDB stream them in less memory.
            con.execute("SET preserve_insertion_order = false")
        return cls(config, con)

    def execute(self, statement: str, params: Sequence | None = None) -> None:
        try:
            self.con.execute(statement, params)
        except duckdb.Error as exc:
            raise WarehouseError(f"duckdb: {_first_line(exc)}") from None

    def query(self, statement: str, params: Sequence | None = None) -> list[tuple]:
        try:
            return self.con.execute(statement, params).fetchall()
        except duckdb.Error as exc:
            raise WarehouseError(f"duckdb: {_first_line(exc)}") from None

    def close(self) -> None:
        self.con.close()

    def load_staging(self, workdir: Path, max_errors: int) -> StagingResult:
        files = local_inputs(self.config.inputs, workdir)
        try:
            return LocalJsonReader(self.con, workdir).load(files)
        except duckdb.Error as exc:
            raise WarehouseError(f"duckdb: staging failed: {_first_line(exc)}") from None
