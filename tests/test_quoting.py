"""One quoting path: every literal and identifier built into SQL, and the jsonpaths keys that carry SQL."""

from __future__ import annotations

import json

import duckdb
import pytest
from helpers import build, event, fetch, play, song

import sql_queries as sql
from sparkify.config import load_config
from sparkify.engines import connect
from sparkify.engines.redshift import RedshiftEngine
from sparkify.quoting import QuotingError, identifier, integer, literal

AWKWARD = [
    "plain",
    "it's",
    "''",
    "back\\slash",
    "trailing\\",
    "new\nline",
    "carriage\r\nreturn",
    'double "quotes"',
    "'; DROP TABLE songs; --",
    "ünïcødé ♫",
    "",
]


@pytest.mark.parametrize("value", AWKWARD)
def test_literal_reads_back_as_the_same_value(value, warehouse):
    with connect(load_config(warehouse)) as engine:
        assert engine.query(f"SELECT {engine.literal(value)}") == [(value,)]


@pytest.mark.parametrize("value", [value for value in AWKWARD if value])  # an empty name is no identifier
def test_identifier_names_a_column_exactly(value):
    con = duckdb.connect()
    cursor = con.execute(f"SELECT 1 AS {identifier(value)}")
    assert [column[0] for column in cursor.description] == [value]


def test_redshift_doubles_backslashes_as_its_quote_literal_does():
    assert RedshiftEngine.literal("a\\b'c") == "'a\\\\b''c'"
    assert literal("a\\b'c") == "'a\\b''c'"


@pytest.mark.parametrize("make", [literal, identifier])
def test_nul_is_refused_not_cut_short(make):
    with pytest.raises(QuotingError, match="NUL"):
        make("before\x00after")


# ----------------------------------------------------------------- jsonpaths keys that carry SQL


INJECTED = "level' || (SELECT 'pwned') || '"


def _jsonpaths(tmp_path, level_path: str):
    paths = [f"$['{key}']" for key in sql.EVENT_JSON_KEYS]
    paths[sql.STAGING_EVENTS_COLUMNS.index("level")] = level_path
    path = tmp_path / "paths.json"
    path.write_text(json.dumps({"jsonpaths": paths}), encoding="utf-8")
    return path


def _use_jsonpaths(warehouse, jsonpaths) -> None:
    text = warehouse.read_text(encoding="utf-8")
    warehouse.write_text(text.replace("[S3]\n", f"[S3]\nLOG_JSONPATH = {jsonpaths}\n"), encoding="utf-8")


def test_a_jsonpaths_key_carrying_sql_is_a_plain_key(inputs, warehouse, tmp_path):
    # Before one quoting path, this key made DuckDB run the embedded SELECT.
    _use_jsonpaths(warehouse, _jsonpaths(tmp_path, f'$["{INJECTED}"]'))
    record = play("S", "A", 1.0, userId="5")
    record.pop("level")
    record[INJECTED] = "paid"
    inputs.events([record, {**event(userId="6", ts=1541105830800), INJECTED: ["not", "text"]}])
    inputs.songs([song("SO1", "S", "AR1", "A", 1.0)])

    assert build(warehouse, "--max-errors", "0") == 0

    assert fetch(warehouse, "SELECT user_id, level FROM users ORDER BY user_id") == [(5, "paid"), (6, '["not","text"]')]
    assert fetch(warehouse, "SELECT COUNT(*) FROM load_errors") == [(0,)]


def test_a_jsonpaths_key_with_a_single_quote_names_it_in_reasons(inputs, warehouse, tmp_path):
    _use_jsonpaths(warehouse, _jsonpaths(tmp_path, '$["lev\'el"]'))
    record = play("S", "A", 1.0, userId="5")
    record["lev'el"] = "x" * 17  # longer than level's VARCHAR(16)
    inputs.events([record])
    inputs.songs([song("SO1", "S", "AR1", "A", 1.0)])

    assert build(warehouse, "--max-errors", "1") == 0

    assert fetch(warehouse, "SELECT column_name, reason FROM load_errors") == [("lev'el", "lev'el is longer than 16 bytes")]


def test_an_integer_literal_is_a_checked_whole_number():
    assert integer(10, minimum=1) == "10"
    for bad in (0, -3, 2.5, "10", True, None, "1; DROP TABLE songs"):
        with pytest.raises(QuotingError, match="is not a whole number >= 1"):
            integer(bad, minimum=1)
