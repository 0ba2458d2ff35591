"""The embedded default: one DuckDB file, no server, no network."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import duckdb

import sql_queries as sql
from sparkify.config import Config
from sparkify.engines.base import Engine, wait_for
from sparkify.errors import WarehouseError, first_line

# benchmark.py --profile sets it: DuckDB's profile (EXPLAIN ANALYZE, as JSON) of each
# statement that writes rows is kept in this folder, numbered in the order they ran.
PROFILE_ENV = "SPARKIFY_DUCKDB_PROFILE"


def duckdb_error(exc: duckdb.Error, what: str, config: Config) -> WarehouseError:
    """A DuckDB failure as one line; running out of memory names the setting that bounds it, a full disk
    or a folder DuckDB may not write names the fix."""
    text = first_line(exc)
    if isinstance(exc, duckdb.OutOfMemoryException) or "Out of Memory" in text:
        text += (
            f" - DuckDB may use [DWH] DUCKDB_MEMORY_LIMIT = {config.duckdb_memory_limit}: raise it, "
            "or free memory; the warehouse is unchanged"
        )
    else:
        text += _file_fix(text, config)
    return WarehouseError(f"{what}: {text}")


def _file_fix(text: str, config: Config) -> str:
    """What to do when DuckDB could not write a file: the disk is full, or the folder is not writable."""
    # DuckDB's spill files and the run's own (framed input, CSV for COPY) are in TMPDIR; "Async
    # write failed" is how DuckDB reports a spill write the full disk refused
    if "No space left" in text or "Async write failed" in text:
        return " - the disk is full: free space in TMPDIR (the run's temporary files) or point TMPDIR at a disk with room"
    if "Cannot open file" in text and ("Permission denied" in text or "Read-only file system" in text):
        return (
            f" - DuckDB writes beside the database (its .wal and .tmp): make {config.duckdb_path.parent} writable "
            "by this user, or set [DWH] DUCKDB_PATH to a folder that is"
        )
    return ""


class DuckDBEngine(Engine):
    name = "duckdb"
    placeholder = "?"
    start_time_sql = "epoch_ms(ts)"

    def __init__(self, config: Config, con: duckdb.DuckDBPyConnection):
        super().__init__(config)
        self.con = con
        self.profile_dir: Path | None = None
        self._profiles = 0

    @classmethod
    def open(cls, config: Config, read_only: bool = False) -> DuckDBEngine:
        path = config.duckdb_path
        if read_only and not path.exists():
            raise WarehouseError(f"DuckDB database {path.name} does not exist yet - run create_tables.py and etl.py")

        def attempt() -> duckdb.DuckDBPyConnection | None:
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
                return duckdb.connect(str(path), read_only=read_only)
            except (duckdb.Error, OSError) as exc:
                if "lock" in str(exc).lower():
                    return None  # another process has the file open for writing: wait for it
                text = first_line(exc)
                raise WarehouseError(f"cannot open DuckDB database {path}: {text}{_file_fix(text, config)}") from None

        # DuckDB's file lock is the run lock: one writer at a time, readers only when no
        # writer. A writer waits (bounded); a reader (notebook, dashboard) is told at once.
        con = wait_for(
            attempt,
            f"duckdb ({path.name})",
            holder="another program (etl.py, create_tables.py, a notebook or the dashboard)",
            wait_seconds=0 if read_only else None,
        )
        engine = cls(config, con)
        # Bounded memory: DuckDB spills to disk rather than grow past it.
        engine.execute(f"SET memory_limit = {engine.literal(config.duckdb_memory_limit)}")
        if not read_only:
            # Bulk loads need no row order; this lets DuckDB stream them in less memory.
            engine.execute("SET preserve_insertion_order = false")
            if os.environ.get(PROFILE_ENV):
                engine.start_profiling(Path(os.environ[PROFILE_ENV]))
        return engine

    def start_profiling(self, folder: Path) -> None:
        """Keep the profile of each statement that writes rows in folder (see keep_profile)."""
        folder.mkdir(parents=True, exist_ok=True)
        self.profile_dir = folder
        self.execute("PRAGMA enable_profiling = 'json'")
        self.execute(f"PRAGMA profiling_output = {self.literal(str(folder / 'last.json'))}")

    def keep_profile(self, statement: str) -> None:
        """With profiling on, keep the profile of the statement just run, if it wrote rows,
        as NN-<its first words>.json (DuckDB rewrites profiling_output after each statement)."""
        last = self.profile_dir / "last.json" if self.profile_dir else None
        if last is None or not last.exists() or not statement.lstrip().upper().startswith(("INSERT", "UPDATE")):
            return
        self._profiles += 1
        words = re.sub(r"[^a-z0-9_]+", "-", " ".join(statement.split()[:3]).lower()).strip("-")
        last.replace(self.profile_dir / f"{self._profiles:02d}-{words}.json")

    @classmethod
    def scratch(cls, config: Config, workdir: Path) -> DuckDBEngine:
        """An in-memory database with the staging tables, spilling into the run's temporary folder."""
        con = duckdb.connect(
            ":memory:",
            config={"memory_limit": config.duckdb_memory_limit, "temp_directory": str(workdir / "spill")},
        )
        engine = cls(config, con)
        for table in sql.LOADED_TABLES:
            engine.execute(engine.render(sql.CREATE_TABLES[table], table))
        return engine

    def execute(self, statement: str, params: Sequence | None = None) -> None:
        try:
            self.con.execute(statement, params)
        except duckdb.Error as exc:
            raise duckdb_error(exc, "duckdb", self.config) from None
        if self.profile_dir:
            self.keep_profile(statement)

    def query(self, statement: str, params: Sequence | None = None) -> list[tuple]:
        try:
            return self.con.execute(statement, params).fetchall()
        except duckdb.Error as exc:
            raise duckdb_error(exc, "duckdb", self.config) from None

    def close(self) -> None:
        self.con.close()

    def insert_rows(self, table: str, columns: Sequence[str], rows: Sequence[tuple]) -> None:
        """One INSERT for all rows, a list parameter per column (50,000 rows: 0.5 s instead of 3 s of VALUES lists)."""
        if rows:
            unnested = ", ".join(["UNNEST(?)"] * len(columns))
            self.execute(
                f"INSERT INTO {table} ({', '.join(columns)}) SELECT {unnested}",
                [list(values) for values in zip(*rows)],
            )

    @contextmanager
    def local_staging(self, workdir: Path) -> Iterator[DuckDBEngine]:
        """The warehouse itself: the reader replaces its staging tables in the staging step's transaction."""
        try:
            yield self
        except duckdb.Error as exc:
            raise duckdb_error(exc, "duckdb: staging failed", self.config) from None
