"""The input rules, declared once as data, rendered for each way a record is checked.

A record that breaks a rule is not loaded: it goes to load_errors with the
rule's reason. Each ``Rule`` says which staging column it looks at, what makes
the value invalid (``test``) and the reason; the first rule a record breaks
gives its reason. Two renderers turn the same declarations into SQL:

- ``json_predicate``: for the local reader (DuckDB reading the JSON), which
  sees each value with its JSON type, so every rule applies, with file and line.
- ``staged_rejects``: for Redshift, whose COPY loads typed columns and keeps
  no line of a row that passes it: statements that move the staged rows
  breaking a rule to load_errors. Rules that COPY itself applies (a value that
  is not a number in a numeric column, an object where text belongs, text
  wider than its column: COPY rejects the row, naming file and line, in its
  own words) have no staged form.

Both renderings of a test read the same way where the value looks the same
(an id as text, a NULL), so a record gets the same verdict on every engine;
``tests/test_rule_parity.py`` feeds the same edge cases through both.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import sql_queries as sql
from sparkify.quoting import identifier, literal

# 0001-01-01 .. 9999-12-31 in epoch milliseconds: what every engine's TIMESTAMP holds
TS_MIN, TS_MAX = -62135596800000, 253402300799999
# An integer as text: digits with an optional sign ("07" and "+7" are 7; "1e3", "0x10", "10.5" are not)
INTEGER_PATTERN = "^[+-]?[0-9]+$"
_DIGITS = "[+-]?[0-9]+"  # the same, for DuckDB's regexp_full_match

# The tests a rule can make. Each is TRUE for an invalid value.
MISSING = "missing"  # absent, null, or (for a text column) blank
NOT_A_NUMBER = "not a number"  # a JSON value that is not a number
OUTSIDE_TIMESTAMPS = "outside timestamps"  # epoch milliseconds outside year 1 .. 9999
NOT_AN_INTEGER = "not an integer"  # text that is not an integer
OUTSIDE_INTEGER = "outside INTEGER"  # an integer that INTEGER (32 bits) cannot hold
NOT_TEXT = "not text"  # a JSON object, array or boolean where text or a number belongs
TOO_LONG = "too long"  # more bytes than the column's VARCHAR(n)

# The tests that need the JSON type of the value: the local reader reads these columns as JSON.
_JSON_TESTS = (NOT_A_NUMBER, NOT_TEXT)


@dataclass(frozen=True)
class Rule:
    table: str
    column: str  # the staging column
    test: str
    reason: str  # "{key}" is the JSON key the column comes from
    width: int | None = None  # for TOO_LONG

    def reason_for(self, key: str) -> str:
        return self.reason.format(key=key)


def _width_rules(table: str) -> tuple[Rule, ...]:
    """Text longer than its column is rejected, as Redshift's COPY does (widths in bytes)."""
    return tuple(
        Rule(table, column, TOO_LONG, f"{{key}} is longer than {width} bytes", width)
        for column, width in sql.text_widths(table).items()
        if column in sql.STAGING_COLUMNS[table]  # not source_file: the reader's, not the input's
    )


RULES: tuple[Rule, ...] = (
    Rule("staging_events", "ts", MISSING, "missing {key}"),
    Rule("staging_events", "ts", NOT_A_NUMBER, "{key} is not a number (epoch milliseconds)"),
    Rule("staging_events", "ts", OUTSIDE_TIMESTAMPS, "{key} is out of range"),
    # users.user_id and songplays.user_id are INTEGER: every engine's CAST must take the id
    Rule("staging_events", "user_id", NOT_AN_INTEGER, "{key} is not an integer"),
    Rule("staging_events", "user_id", OUTSIDE_INTEGER, "{key} is outside the INTEGER range"),
    *_width_rules("staging_events"),
    Rule("staging_songs", "song_id", MISSING, "missing {key}"),
    Rule("staging_songs", "song_id", NOT_TEXT, "{key} is not a string"),
    *_width_rules("staging_songs"),
)


def rules_for(table: str) -> tuple[Rule, ...]:
    return tuple(rule for rule in RULES if rule.table == table)


def json_columns(table: str) -> frozenset[str]:
    """The columns whose rules need the value's JSON type: the local reader reads them as JSON."""
    return frozenset(rule.column for rule in rules_for(table) if rule.test in _JSON_TESTS)


def _is_text_column(table: str, column: str) -> bool:
    return column in sql.text_widths(table)


# ------------------------------------------------------------- shared SQL pieces


def _not_an_integer(text: str) -> str:
    return f"({text} IS NOT NULL AND TRIM({text}) <> '' AND NOT ({text} ~ '{INTEGER_PATTERN}'))"


def _outside_integer(text: str) -> str:
    """An integer-shaped text beyond -2147483648 .. 2147483647, compared as digits (no cast can overflow)."""
    # SUBSTRING(... FROM ...): Redshift documents SUBSTRING(text, start) only for VARBYTE
    # (https://docs.aws.amazon.com/redshift/latest/dg/r_SUBSTRING.html)
    digits = f"LTRIM(CASE WHEN LEFT({text}, 1) IN ('+', '-') THEN SUBSTRING({text} FROM 2) ELSE {text} END, '0')"
    limit = f"CASE WHEN LEFT({text}, 1) = '-' THEN '2147483648' ELSE '2147483647' END"
    return (
        f"({text} ~ '{INTEGER_PATTERN}' AND (LENGTH({digits}) > 10 "
        f"OR (LENGTH({digits}) = 10 AND {digits} > {limit})))"
    )


def _outside_timestamps(number: str) -> str:
    return f"({number} NOT BETWEEN {TS_MIN} AND {TS_MAX})"


# ------------------------------------------------------------- the local reader (DuckDB on JSON)


def json_predicate(rule: Rule, key: str) -> str:
    """DuckDB SQL, TRUE when the value read from JSON key ``key`` breaks the rule.

    The reader reads the columns of ``json_columns`` as JSON values, text
    columns as VARCHAR and numeric columns typed (a non-number is NULL).
    """
    value = identifier(key)
    as_json = rule.column in json_columns(rule.table)
    text = f"TRIM(json_extract_string({value}, '$'))" if as_json else value
    test = rule.test
    if test == MISSING:
        if not as_json:
            return f"({value} IS NULL OR TRIM({value}) = '')"
        blank = f" OR {text} = ''" if _is_text_column(rule.table, rule.column) else ""
        return f"({value} IS NULL OR json_type({value}) = 'NULL'{blank})"
    if test == NOT_A_NUMBER:
        return f"(json_type({value}) NOT IN ('BIGINT', 'UBIGINT', 'DOUBLE'))"
    if test == OUTSIDE_TIMESTAMPS:
        return _outside_timestamps(f"CAST({value} AS DOUBLE)")
    # The id tests in DuckDB's own, cheaper terms (0.2 s of 1.5 s on a million events), with the same
    # verdicts as the portable form (test_rule_parity.py): for text of digits with an optional sign,
    # TRY_CAST to INTEGER fails exactly when the number is outside INTEGER.
    if test == NOT_AN_INTEGER:
        return f"({text} IS NOT NULL AND NOT regexp_full_match({text}, '{_DIGITS}') AND TRIM({text}) <> '')"
    if test == OUTSIDE_INTEGER:
        return f"(TRY_CAST({text} AS INTEGER) IS NULL AND regexp_full_match({text}, '{_DIGITS}'))"
    if test == NOT_TEXT:
        return f"(json_type({value}) IN ('OBJECT', 'ARRAY', 'BOOLEAN'))"
    if test == TOO_LONG:
        return f"(strlen({text}) > {rule.width})"
    raise ValueError(f"unknown rule test {test!r}")


# ------------------------------------------------------------- after COPY (Redshift; runs anywhere)


def staged_predicate(rule: Rule) -> str | None:
    """Portable SQL, TRUE when a staged row breaks the rule; None where COPY applies it itself."""
    column = rule.column
    test = rule.test
    if test == MISSING:
        if _is_text_column(rule.table, column):
            # blank text is missing too; COPY's BLANKSASNULL EMPTYASNULL are documented for delimited
            # fields, not JSON, so a blank is not assumed staged as NULL (sql_queries.USER_ID)
            return f"(NULLIF(TRIM({column}), '') IS NULL)"
        return f"({column} IS NULL)"
    if test == OUTSIDE_TIMESTAMPS:
        return _outside_timestamps(column)
    if test == NOT_AN_INTEGER:
        return _not_an_integer(column)
    if test == OUTSIDE_INTEGER:
        return _outside_integer(column)
    return None  # NOT_A_NUMBER, NOT_TEXT, TOO_LONG: COPY rejects the row itself


# What load_errors.raw_line shows of a staged row (its original line is gone).
STAGED_ROW_TEXT = {
    "staging_events": "'userId=' || COALESCE(user_id, '') || ' ts=' || COALESCE(CAST(ts AS VARCHAR(20)), '')"
    " || ' page=' || COALESCE(page, '') || ' song=' || COALESCE(song, '')",
    "staging_songs": "'song_id=' || COALESCE(song_id, '') || ' title=' || COALESCE(title, '')"
    " || ' artist_id=' || COALESCE(artist_id, '')",
}


def staged_rejects(
    keys: dict[str, Sequence[str]] | None = None, quote: Callable[[str], str] = literal
) -> list[str]:
    """INSERT into load_errors then DELETE from staging, per rule with a staged form, in rule order.

    ``keys``: the JSON key of each staging column, per table (default: the
    keys of the standard jsonpaths file and the song files). ``quote``: the
    engine's string literal.
    """
    keys = keys or {"staging_events": sql.EVENT_JSON_KEYS, "staging_songs": sql.STAGING_SONGS_COLUMNS}
    statements = []
    for rule in RULES:
        bad = staged_predicate(rule)
        if bad is None:
            continue
        columns = sql.STAGING_EVENTS_COLUMNS if rule.table == "staging_events" else sql.STAGING_SONGS_COLUMNS
        key = dict(zip(columns, keys[rule.table]))[rule.column]
        statements.append(
            "INSERT INTO load_errors (table_name, source_file, line_number, column_name, reason, raw_line)\n"
            f"SELECT {quote(rule.table)}, NULL, NULL, {quote(key)}, {quote(rule.reason_for(key))}, "
            f"{STAGED_ROW_TEXT[rule.table]}\nFROM {rule.table}\nWHERE {bad}"
        )
        statements.append(f"DELETE FROM {rule.table} WHERE {bad}")
    return statements
