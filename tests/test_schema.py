"""The schema as data (sparkify/schema.py): the DDL each engine runs, pinned byte for byte.

tests/ddl/<engine>.sql holds every statement create_tables.py runs on each engine,
as they were when the schema was still written as CREATE TABLE text. A change of
the schema changes them on purpose: write them anew with
``python tests/test_schema.py`` and review the difference like code.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from sparkify.engines.duckdb import DuckDBEngine
from sparkify.engines.postgres import PostgresEngine
from sparkify.engines.redshift import RedshiftEngine

PINNED = Path(__file__).parent / "ddl"
ENGINES = {"duckdb": DuckDBEngine, "postgres": PostgresEngine, "redshift": RedshiftEngine}


def executed_ddl(engine_class) -> str:
    """What engine_class.create_tables() sends to an empty warehouse, one statement after another."""
    sent: list[str] = []

    class Recording(engine_class):
        def execute(self, statement, params=None):
            sent.append(statement)

        def query(self, statement, params=None):
            return []  # an empty warehouse: no table exists yet

    Recording(None, None).create_tables()
    return "".join(f"{statement};\n-- end of statement\n" for statement in sent)


@pytest.mark.parametrize("engine", ENGINES)
def test_every_engine_runs_the_pinned_ddl(engine):
    assert executed_ddl(ENGINES[engine]) == (PINNED / f"{engine}.sql").read_text(encoding="utf-8")


if __name__ == "__main__":
    PINNED.mkdir(exist_ok=True)
    for name, engine_class in ENGINES.items():
        (PINNED / f"{name}.sql").write_text(executed_ddl(engine_class), encoding="utf-8")
        print(f"wrote {PINNED / name}.sql", file=sys.stderr)
