"""The one way a value or a name is written into SQL text.

Values go in as query parameters wherever the driver allows; what cannot be a
parameter (a COPY option, a DuckDB table function's struct of columns, a
reason string in generated rule SQL, a JSON key used as a column name, a row
count in LIMIT) goes through ``literal``, ``identifier`` or ``integer`` here,
and nowhere else.
"""

from __future__ import annotations


class QuotingError(ValueError):
    """A value that no SQL literal can carry (NUL), with the reason."""


def _checked(text: str) -> str:
    if not isinstance(text, str):
        raise QuotingError(f"{text!r} is not text")
    if "\x00" in text:
        raise QuotingError(f"{text!r} contains a NUL character, which no SQL string can hold")
    return text


def literal(value: str, *, backslash_escapes: bool = False) -> str:
    """A SQL string literal: single quotes doubled.

    ``backslash_escapes``: the dialect reads a backslash in a literal as an
    escape, as Redshift does (its QUOTE_LITERAL doubles backslashes:
    https://docs.aws.amazon.com/redshift/latest/dg/r_QUOTE_LITERAL.html);
    DuckDB and PostgreSQL (standard_conforming_strings) take it as is.
    """
    text = _checked(value).replace("'", "''")
    if backslash_escapes:
        text = text.replace("\\", "\\\\")
    return f"'{text}'"


def identifier(name: str) -> str:
    """A double-quoted SQL identifier (a column named after a JSON key): double quotes doubled."""
    return '"' + _checked(name).replace('"', '""') + '"'


def parameter_literal(value: str | None, *, backslash_escapes: bool = False) -> str:
    """A parameter value written into the statement, for a transport that cannot carry it as a
    parameter (the Redshift Data API takes no NULL and no empty value): NULL for None, else ``literal``."""
    return "NULL" if value is None else literal(value, backslash_escapes=backslash_escapes)


def integer(value: int, *, minimum: int = 0) -> str:
    """A whole number written into SQL where no parameter may go: Redshift documents LIMIT with a number
    (https://docs.aws.amazon.com/redshift/latest/dg/r_ORDER_BY_clause.html), not a bound value."""
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise QuotingError(f"{value!r} is not a whole number >= {minimum}")
    return str(value)
