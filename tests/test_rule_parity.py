"""The input rules give the same verdict on every engine.

The same edge cases go through the local reader (DuckDB and PostgreSQL
engines: etl.py on a file of them) and through the SQL Redshift runs after
its COPY (rules.staged_rejects, on rows staged as COPY stages them, run here
on DuckDB and PostgreSQL): both must accept and reject the same records, with
the same reasons.
"""

from __future__ import annotations

import json

import pytest
from helpers import build, event, fetch, song

import sql_queries as sql
from sparkify import rules, schema
from sparkify.config import load_config
from sparkify.engines import connect

TS = 1541105830796

# name -> (the fields that differ from a valid event, the reason it is rejected or None)
EVENT_CASES = {
    "10-digit id": ({"userId": "1234567890"}, None),
    "largest INTEGER": ({"userId": "2147483647"}, None),
    "smallest INTEGER": ({"userId": -2147483648}, None),
    "leading zeros": ({"userId": "0002147483647"}, None),
    "plus sign": ({"userId": "+7"}, None),
    "zero first": ({"userId": "07"}, None),
    "number id": ({"userId": 42}, None),
    "blank id (logged out)": ({"userId": ""}, None),
    "one past INTEGER": ({"userId": "2147483648"}, "userId is outside the INTEGER range"),
    "one below INTEGER": ({"userId": "-2147483649"}, "userId is outside the INTEGER range"),
    "11-digit number id": ({"userId": 12345678901}, "userId is outside the INTEGER range"),
    "huge id": ({"userId": "9" * 30}, "userId is outside the INTEGER range"),
    "text id": ({"userId": "ada"}, "userId is not an integer"),
    "exponent id": ({"userId": "1e3"}, "userId is not an integer"),
    "fraction id": ({"userId": "10.5"}, "userId is not an integer"),
    "hex id": ({"userId": "0x10"}, "userId is not an integer"),
    "sign only": ({"userId": "-"}, "userId is not an integer"),
    "missing ts": ({"ts": None, "_drop": "ts"}, "missing ts"),
    "null ts": ({"ts": None}, "missing ts"),
    "ts after 9999": ({"ts": 10**17}, "ts is out of range"),
    "ts before year 1": ({"ts": -(10**17)}, "ts is out of range"),
    "quoted ts": ({"ts": str(TS)}, None),  # COPY from JSON converts a quoted number
}
SONG_CASES = {
    "song": ({}, None),
    "missing song_id": ({"song_id": None, "_drop": "song_id"}, "missing song_id"),
    "null song_id": ({"song_id": None}, "missing song_id"),
    "blank song_id": ({"song_id": "   "}, "missing song_id"),
    # COPY loads an object or array into VARCHAR as its JSON text: an id that is, or reads as, one is rejected
    "object song_id": ({"song_id": {"a": 1}}, "song_id is not a string"),
    "array song_id": ({"song_id": ["SO1"]}, "song_id is not a string"),
    "song_id text like an array": ({"song_id": "[SO1]"}, "song_id is not a string"),
}
# Rejected by Redshift's COPY itself (a string in the BIGINT column ts): locally by the rules,
# with the same verdict; COPY words the reason its own way, so only the local engines are compared.
COPY_ONLY_CASES = {
    "ts not a number": ({"ts": "abc"}, "ts is not a number (epoch milliseconds)"),
    "blank ts": ({"ts": ""}, "ts is not a number (epoch milliseconds)"),
}


def _record(base: dict, changes: dict) -> dict:
    record = {**base, **{key: value for key, value in changes.items() if key != "_drop"}}
    record.pop(changes.get("_drop", ""), None)
    return record


def _events(cases: dict) -> list[dict]:
    # each case is told apart by its song (a field no rule looks at)
    return [_record(event(page="Home", song=name, ts=TS), changes) for name, (changes, _) in cases.items()]


def _songs() -> list[dict]:
    return [_record(song(f"SO{n}", name, "AR1", "Artist", 100.0), changes)
            for n, (name, (changes, _)) in enumerate(SONG_CASES.items())]


def _expected(*case_sets: dict) -> dict[str, str | None]:
    return {name: reason for cases in case_sets for name, (_, reason) in cases.items()}


def test_local_engines_give_each_edge_case_its_verdict(inputs, warehouse):
    cases = {**EVENT_CASES, **COPY_ONLY_CASES}
    inputs.events(_events(cases))
    inputs.songs(_songs())
    assert build(warehouse, "--max-errors", "100") == 0

    names = list(cases)
    verdicts = {name: None for name in [*names, *SONG_CASES]}
    for table, line, reason, raw in fetch(warehouse, "SELECT table_name, line_number, reason, raw_line FROM load_errors"):
        if table == "staging_events":
            verdicts[names[line - 1]] = reason
        else:
            verdicts[json.loads(raw)["title"]] = reason
    assert verdicts == _expected(cases, SONG_CASES)


def _as_copy_stages(record: dict, columns: tuple[str, ...], keys: tuple[str, ...], numeric: set[str],
                    blanks_as_null: bool) -> tuple:
    """A staged row as Redshift's COPY ... FORMAT AS JSON loads it. BLANKSASNULL EMPTYASNULL are documented
    for delimited fields, not JSON: the rules must give the same verdict whether blank text is staged
    as NULL or as it was."""
    row = []
    for column, key in zip(columns, keys):
        value = record.get(key)
        if value is None or column in numeric:
            row.append(value)
        else:
            text = value if isinstance(value, str) else json.dumps(value)
            row.append(None if blanks_as_null and not text.strip() else text)
    return tuple(row)


@pytest.mark.parametrize("blanks_as_null", [True, False], ids=["blanks-staged-as-null", "blanks-staged-as-blanks"])
def test_rules_after_copy_give_the_same_verdicts(warehouse, blanks_as_null):
    from helpers import run

    import create_tables

    assert run(create_tables, "--config", warehouse, "--yes", "-q") == 0
    numeric = {column.name for table in sql.STAGING_TABLES for column in schema.table(table).columns
               if column.type != schema.VARCHAR}
    with connect(load_config(warehouse)) as engine:
        for table, records, keys in (
            ("staging_events", _events(EVENT_CASES), sql.EVENT_JSON_KEYS),
            ("staging_songs", _songs(), sql.STAGING_SONGS_COLUMNS),
        ):
            columns = sql.STAGING_COLUMNS[table]
            marks = ", ".join([engine.placeholder] * len(columns))
            for record in records:
                engine.execute(f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})",
                               _as_copy_stages(record, columns, keys, numeric, blanks_as_null))
        with engine.transaction():
            for statement in rules.staged_rejects(quote=engine.literal):
                engine.execute(statement)
        kept_events = {name for (name,) in engine.query("SELECT song FROM staging_events")}
        kept_songs = {name for (name,) in engine.query("SELECT title FROM staging_songs")}
        rejected = engine.query("SELECT table_name, reason, raw_line FROM load_errors")

    verdicts = {name: None for name in [*kept_events, *kept_songs]}
    for table, reason, raw in rejected:
        name = raw.split(" song=" if table == "staging_events" else " title=")[1].split(" artist_id=")[0]
        verdicts[name] = reason
    assert verdicts == _expected(EVENT_CASES, SONG_CASES)


@pytest.mark.parametrize("text, fits", [("2147483647", True), ("-2147483648", True), ("+0000000000002147483647", True),
                                        ("2147483648", False), ("-2147483649", False), ("10000000000", False)])
def test_integer_range_is_decided_without_a_cast(text, fits):
    import duckdb

    rule = next(rule for rule in rules.RULES if rule.test == rules.OUTSIDE_INTEGER)
    predicate = rules.staged_predicate(rule)
    outside = duckdb.connect().execute(f"SELECT {predicate} FROM (SELECT ? AS user_id)", [text]).fetchone()[0]
    assert outside is (not fits)
