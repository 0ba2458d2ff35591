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

import create_tables
import sql_queries as sql
from sparkify import schema
from sparkify.config import load_config
from sparkify.engines import connect
from sparkify.engines.duckdb import DuckDBEngine
from sparkify.engines.postgres import PostgresEngine
from sparkify.engines.redshift import RedshiftEngine

REPO = Path(__file__).resolve().parent.parent
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

        def existing_tables(self):
            return set()

    Recording(None, None).create_tables()
    return "".join(f"{statement};\n-- end of statement\n" for statement in sent)


@pytest.mark.parametrize("engine", ENGINES)
def test_every_engine_runs_the_pinned_ddl(engine):
    assert executed_ddl(ENGINES[engine]) == (PINNED / f"{engine}.sql").read_text(encoding="utf-8")



# How each engine's information_schema names the declared types.
REPORTED_TYPES = {
    "duckdb": {schema.INTEGER: "INTEGER", schema.BIGINT: "BIGINT", schema.DOUBLE: "DOUBLE",
               schema.TIMESTAMP: "TIMESTAMP", schema.VARCHAR: "VARCHAR"},
    "postgres": {schema.INTEGER: "integer", schema.BIGINT: "bigint", schema.DOUBLE: "double precision",
                 schema.TIMESTAMP: "timestamp without time zone", schema.VARCHAR: "character varying"},
}


def test_created_tables_are_the_declared_ones(warehouse, engine_name):
    """What the database says it holds after create_tables.py, asked of the database (not read from SQL)."""
    assert create_tables.main(["--config", str(warehouse), "--yes", "-q"]) == 0
    with connect(load_config(warehouse)) as engine:
        found = engine.query(
            "SELECT table_name, column_name, data_type, character_maximum_length, is_nullable "
            "FROM information_schema.columns WHERE table_schema = current_schema() "
            "ORDER BY table_name, ordinal_position"
        )
    types = REPORTED_TYPES[engine_name]
    expected = [
        (table.name, column.name, types[column.type], column.width if engine_name == "postgres" else None,
         "YES" if column.nullable else "NO")
        for table in sorted(schema.TABLES, key=lambda table: table.name)
        for column in table.columns
    ]
    assert found == expected


def test_the_inputs_fill_their_staging_tables():
    assert schema.STAGING_INPUTS == {"LOG_DATA": "staging_events", "SONG_DATA": "staging_songs"}
    assert schema.input_of("staging_songs") == "SONG_DATA"


def test_staging_columns_and_keys_come_from_the_declaration():
    assert sql.STAGING_EVENTS_COLUMNS[:3] == ("artist", "auth", "first_name")
    assert dict(zip(sql.STAGING_EVENTS_COLUMNS, sql.EVENT_JSON_KEYS))["user_id"] == "userId"
    assert "source_file" not in sql.STAGING_EVENTS_COLUMNS + sql.STAGING_SONGS_COLUMNS  # the reader's, not the input's
    assert sql.text_widths("staging_events")["page"] == 64
    assert "ts" not in sql.text_widths("staging_events")


WIDTH_ONLY_FOR_VARCHAR = "a width is given for VARCHAR and only for VARCHAR"


@pytest.mark.parametrize("declare, message", [
    (lambda: schema.Column("title", schema.VARCHAR), f"column title: {WIDTH_ONLY_FOR_VARCHAR}"),
    (lambda: schema.Column("year", schema.INTEGER, 4), f"column year: {WIDTH_ONLY_FOR_VARCHAR}"),
    (lambda: schema.Table("t", "", (schema.Column("a", schema.INTEGER),), "KEY", ""),
     "table t: DISTSTYLE is EVEN, ALL, or KEY with a distkey"),
    (lambda: schema.Table("t", "", (schema.Column("a", schema.INTEGER),), "ALL", "", sortkey=("b",)),
     "table t: key b is not one of its columns"),
])
def test_a_declaration_that_cannot_be_rendered_is_refused(declare, message):
    with pytest.raises(ValueError) as raised:
        declare()
    assert str(raised.value) == message


def test_docs_schema_page_is_generated_from_the_schema():
    page = (REPO / "docs" / "schema.md").read_text(encoding="utf-8")
    assert page == schema.markdown(), "docs/schema.md is stale - run: python -m sparkify.schema > docs/schema.md"


if __name__ == "__main__":
    PINNED.mkdir(exist_ok=True)
    for name, engine_class in ENGINES.items():
        (PINNED / f"{name}.sql").write_text(executed_ddl(engine_class), encoding="utf-8")
        print(f"wrote {PINNED / name}.sql", file=sys.stderr)
