"""The Redshift gate: a statement is sent to Redshift only if Redshift documents it.

Redshift cannot be reached from the tests, and DuckDB and PostgreSQL accept SQL
that Redshift refuses (an alias named ``old``, ``SUBSTRING(text, 2)``), so every
statement the tests see the Redshift engine send goes through ``check``, which
fails it (AssertionError naming its first line and every problem) when it

- does not parse with sqlfluff's ``redshift`` dialect;
- uses a Redshift reserved word as an unquoted identifier or alias
  (tests/redshift_reserved_words.txt, from the "Reserved words" page);
- uses a function or construct that is not in tests/redshift_documented.txt,
  the one table of what Redshift documents (construct -> documentation page).
  A construct missing from it fails until someone adds it, with its page.

Parameters: a psycopg2 ``%s`` or a Data API ``:name`` stands for one value. Both
are checked as values: a parameter where Redshift documents no value (LIMIT) fails.
Functions, types, clauses and names are read from sqlfluff's parse tree. Results
are cached by statement text (sqlfluff takes a tenth of a second per statement).
"""

from __future__ import annotations

import functools
import logging
import re
from pathlib import Path

from sqlfluff.core import FluffConfig, Linter

HERE = Path(__file__).parent
RESERVED_WORDS_FILE = HERE / "redshift_reserved_words.txt"
DOCUMENTED_FILE = HERE / "redshift_documented.txt"


def _lines(path: Path) -> list[str]:
    return [line.strip() for line in path.read_text(encoding="utf-8").splitlines()
            if line.strip() and not line.lstrip().startswith("#")]


RESERVED_WORDS = frozenset(word.upper() for word in _lines(RESERVED_WORDS_FILE))


def _documented() -> dict[str, str]:
    """construct -> page: each line is the construct, then its page's URL (the last word)."""
    table = {}
    for line in _lines(DOCUMENTED_FILE):
        construct, url = line.rsplit(None, 1)
        if not url.startswith("https://docs.aws.amazon.com/"):
            raise ValueError(f"{DOCUMENTED_FILE.name}: {line!r} does not end with a docs.aws.amazon.com page")
        table[" ".join(construct.split())] = url
    return table


DOCUMENTED = _documented()

# Relations of Redshift's own (system tables and views, catalogs): each must be in the table.
_SYSTEM_PREFIXES = ("sys_", "stl_", "stv_", "svl_", "svv_", "svcs_", "pg_", "information_schema.")

# psycopg2's %s and %(name)s (%% is a %) and the Data API's :name, outside string literals, quoted
# names and comments.
_TOKENS = re.compile(r"'(?:[^']|'')*'|\"(?:[^\"]|\"\")*\"|--[^\n]*|%%|%s|%\(\w+\)s|(?<![:\w]):[A-Za-z_]\w*")
# What a parameter is replaced with for parsing: a number no statement writes itself.
_SENTINEL = 917_000_000_000


# sqlfluff logs each parse tree at INFO: statements (with a COPY's role) stay out of the tests' logs
logging.getLogger("sqlfluff").setLevel(logging.WARNING)


@functools.lru_cache(maxsize=1)
def _linter() -> Linter:
    return Linter(config=FluffConfig(overrides={"dialect": "redshift"}))


def check(statement: str) -> None:
    """Raise AssertionError naming the statement's first line and every problem, unless Redshift documents it."""
    problems = problems_of(statement)
    if problems:
        first = next((line.strip() for line in statement.splitlines() if line.strip()), "")
        raise AssertionError(f"Redshift gate: {first}\n  - " + "\n  - ".join(problems))


@functools.cache
def problems_of(statement: str) -> tuple[str, ...]:
    """Every reason the statement fails the gate (empty when it passes)."""
    text, parameters = _with_sentinels(statement)
    parsed = _linter().parse_string(text)
    problems = [f"does not parse as Redshift SQL (sqlfluff): {_violation(v, parameters)}" for v in parsed.violations]
    tree = parsed.tree
    if tree is None:
        return tuple(problems)
    for word in _reserved_identifiers(tree):
        problems.append(f"reserved word {word} used as an identifier (quote it or rename it: "
                        "https://docs.aws.amazon.com/redshift/latest/dg/r_pg_keywords.html)")
    for construct in sorted(constructs(tree, parameters)):
        if construct not in DOCUMENTED:
            problems.append(f"not in {DOCUMENTED_FILE.name}: {construct}")
    return tuple(dict.fromkeys(problems))


def _with_sentinels(statement: str) -> tuple[str, frozenset[str]]:
    parameters: list[str] = []

    def replace(match: re.Match) -> str:
        token = match.group()
        if token == "%%":
            return "%"
        if token == "%s" or token.startswith((":", "%(")):
            parameters.append(str(_SENTINEL + len(parameters)))
            return parameters[-1]
        return token

    return _TOKENS.sub(replace, statement), frozenset(parameters)


def _violation(violation, parameters) -> str:
    text = violation.desc()
    for sentinel in parameters:
        text = text.replace(sentinel, "<parameter>")
    return f"line {violation.line_no}: {text[:160]}"


# ------------------------------------------------------------------ reserved words


def _reserved_identifiers(tree) -> list[str]:
    """Reserved words written as unquoted names: in the parse tree, and in what did not parse
    (sqlfluff's redshift dialect refuses most of them there: a word before "." or after AS)."""
    found = [seg.raw.upper() for seg in tree.recursive_crawl("naked_identifier") if seg.raw.upper() in RESERVED_WORDS]
    for seg in tree.recursive_crawl("unparsable"):
        words = re.findall(r"\"(?:[^\"]|\"\")*\"|'(?:[^']|'')*'|[A-Za-z_]\w*|\.", seg.raw)
        for i, word in enumerate(words):
            after_as = i > 0 and words[i - 1].upper() == "AS"
            qualified = (i + 1 < len(words) and words[i + 1] == ".") or (i > 0 and words[i - 1] == ".")
            if word.upper() in RESERVED_WORDS and (after_as or qualified) and word[0] not in "\"'":
                found.append(word.upper())
    return list(dict.fromkeys(found))


# ------------------------------------------------------------------ constructs


def _keywords(segment) -> list[str]:
    return [seg.raw.upper() for seg in segment.segments if seg.is_type("keyword")]


def _args(function) -> list:
    """The argument expressions of a function call (its bracketed contents' direct expressions)."""
    for contents in function.recursive_crawl("function_contents", recurse_into=False):
        for bracketed in contents.recursive_crawl("bracketed", recurse_into=False):
            return [seg for seg in bracketed.segments if seg.is_type("expression", "star")]
    return []


def _contents_keywords(function) -> list[str]:
    for contents in function.recursive_crawl("function_contents", recurse_into=False):
        for bracketed in contents.recursive_crawl("bracketed", recurse_into=False):
            return _keywords(bracketed)
    return []


def _type(segment) -> str:
    return re.sub(r"\(\s*\d+(\s*,\s*\d+)?\s*\)", "(n)", " ".join(segment.raw.upper().split()))


def _function(function) -> set[str]:
    name_segment = next(function.recursive_crawl("function_name"))
    name = name_segment.raw.upper().strip('"')
    args = _args(function)
    keywords = _contents_keywords(function)
    found = set()
    if name == "CAST":
        types = list(function.recursive_crawl("data_type"))
        found.add(f"CAST(expression AS {_type(types[-1]) if types else '?'})")
    elif name == "SUBSTRING" and "FROM" in keywords:
        found.add("SUBSTRING(text FROM start FOR length)" if "FOR" in keywords else "SUBSTRING(text FROM start)")
    elif name == "TRIM" and keywords:
        found.add(f"TRIM({' '.join(keywords)} ...)")
    elif name == "EXTRACT":
        part = next((seg.raw.lower() for seg in function.recursive_crawl("date_part")), "?")
        found.add(f"EXTRACT({part} FROM timestamp)")
    elif name == "DATE_TRUNC" and args:
        found.add(f"DATE_TRUNC({args[0].raw.lower()}, timestamp)")
    elif name == "COUNT" and "DISTINCT" in keywords:
        found.add("COUNT(DISTINCT expression)")
    elif name == "COUNT" and [arg.raw for arg in args] == ["*"]:
        found.add("COUNT(*)")
    else:
        found.add(f"{name}/{len(args)}")
    for over in function.recursive_crawl("over_clause", recurse_into=False):
        found.add(f"{name}() OVER (window)")
        for frame in over.recursive_crawl("frame_clause"):
            found.add(f"window frame {' '.join(frame.raw.upper().split())}")
    return found


_STATEMENTS = {
    "select_statement": "SELECT",
    "with_compound_statement": "SELECT",
    "set_expression": "SELECT",
    "create_table_statement": "CREATE TABLE",
    "drop_table_statement": "DROP TABLE",
    "lock_table_statement": "LOCK",
    "copy_statement": "COPY",
    "update_statement": "UPDATE",
    "delete_statement": "DELETE",
    "insert_statement": "INSERT",
}


def _statement(segment) -> set[str]:
    kind = segment.get_type()
    if kind == "transaction_statement":
        return {" ".join(_keywords(segment)) or segment.raw.upper()}
    name = _STATEMENTS.get(kind, f"statement {kind}")
    found = {name}
    if kind == "insert_statement":
        found.add("INSERT ... VALUES" if any(segment.recursive_crawl("values_clause")) else "INSERT ... query")
        if any(seg.is_type("with_compound_statement") for seg in segment.segments):
            found.add("INSERT ... WITH (common table expressions)")
    elif kind == "update_statement" and any(seg.is_type("from_clause") for seg in segment.segments):
        found.add("UPDATE ... FROM")
    elif kind == "delete_statement" and "USING" in [seg.raw.upper() for seg in segment.recursive_crawl("keyword")]:
        found.add("DELETE ... USING")
    elif kind == "drop_table_statement" and "EXISTS" in _keywords(segment):
        found.add("DROP TABLE IF EXISTS")
    elif kind == "set_statement":
        words = segment.raw.split()
        found = {"SET LOCAL" if words[1].upper() == "LOCAL" else "SET"}
        found.add(f"configuration parameter {words[2 if words[1].upper() in ('LOCAL', 'SESSION') else 1].lower()}")
    elif kind == "copy_statement":
        found |= _copy(segment)
    elif kind == "create_table_statement":
        found |= _create_table(segment)
    return found


def _copy(segment) -> set[str]:
    """COPY's options, each by its keyword (and the JSON and TIMEFORMAT argument where it decides the form)."""
    found = set()
    words = [seg for seg in segment.recursive_crawl("keyword", "quoted_literal", "numeric_literal")]
    for i, seg in enumerate(words):
        word = seg.raw.upper()
        following = words[i + 1].raw if i + 1 < len(words) else ""
        if seg.is_type("keyword") and word not in ("COPY", "FROM", "AS", "FORMAT", "ON", "OFF", "TRUE", "FALSE"):
            if word == "JSON":
                found.add("COPY FORMAT AS JSON 'auto ignorecase'" if following.lower() == "'auto ignorecase'"
                          else "COPY FORMAT AS JSON 's3://jsonpaths_file'")
            elif word == "TIMEFORMAT":
                found.add(f"COPY TIMEFORMAT {following.lower()}")
            elif following.upper() in ("ON", "OFF", "TRUE", "FALSE"):
                found.add(f"COPY {word} {following.upper()}")
            else:
                found.add(f"COPY {word}")
        elif seg.is_type("quoted_literal") and i > 0 and words[i - 1].raw.upper() == "FROM":
            found.add("COPY FROM 's3://...'" if seg.raw.startswith("'s3://") else "COPY FROM (not S3)")
    if any(seg.is_type("bracketed") for seg in segment.segments):
        found.add("COPY table (column list)")
    return found


def _create_table(segment) -> set[str]:
    found = set()
    keywords = [seg.raw.upper() for seg in segment.recursive_crawl("keyword")]
    for i, word in enumerate(keywords):
        if word == "DISTSTYLE":
            found.add(f"CREATE TABLE DISTSTYLE {keywords[i + 1]}")
        elif word in ("DISTKEY", "SORTKEY", "ENCODE", "INTERLEAVED", "COMPOUND", "BACKUP"):
            found.add(f"CREATE TABLE {word}")
        elif word == "NOT" and i + 1 < len(keywords) and keywords[i + 1] == "NULL":
            found.add("column NOT NULL")
    for column in segment.recursive_crawl("column_definition"):
        for data_type in column.recursive_crawl("data_type"):
            found.add(f"column type {_type(data_type)}")
    return found


def constructs(tree, parameters: frozenset[str] = frozenset()) -> set[str]:
    """The functions and constructs a parsed statement uses, named as in the documented table."""
    found: set[str] = set()
    for statement in tree.recursive_crawl("statement"):
        for segment in statement.segments:
            if not segment.is_type("whitespace", "newline", "indent", "dedent", "comment"):
                found |= _statement(segment)
    for segment in tree.recursive_crawl_all():
        kind = segment.get_type()
        if kind == "function":
            found |= _function(segment)
        elif kind == "with_compound_statement":
            found.add("WITH (common table expressions)")
        elif kind == "join_clause":
            found.add(" ".join(word for word in _keywords(segment) if word != "ON") or "JOIN")
        elif kind == "set_operator":
            found.add(" ".join(segment.raw.upper().split()))
        elif kind == "orderby_clause":
            found.add("ORDER BY")
            words = [seg.raw.upper() for seg in segment.recursive_crawl("keyword")]
            found |= {f"ORDER BY ... NULLS {words[i + 1]}" for i, word in enumerate(words[:-1]) if word == "NULLS"}
        elif kind == "groupby_clause":
            found.add("GROUP BY")
        elif kind == "limit_clause":
            values = [seg.raw for seg in segment.recursive_crawl("numeric_literal")]
            if any(value in parameters for value in values):
                found.add("LIMIT parameter")
            else:
                found.add("LIMIT integer" if values else f"LIMIT {' '.join(segment.raw.split()[1:])}")
        elif kind in ("comparison_operator", "binary_operator"):
            found.add(f"operator {' '.join(segment.raw.split()).upper()}")
        elif kind == "case_expression":
            found.add("CASE")
        elif kind == "keyword" and segment.raw.upper() in ("LIKE", "ILIKE", "SIMILAR", "BETWEEN"):
            found.add(segment.raw.upper())
        elif kind == "keyword" and segment.raw.upper() == "IN":
            found.add("IN (list or subquery)")
        elif kind == "keyword" and segment.raw.upper() == "IS":
            found.add("IS [NOT] NULL")
        elif kind == "select_clause_modifier":
            found.add(f"SELECT {' '.join(segment.raw.upper().split())}")
        elif kind in ("datetime_literal", "typed_literal"):
            found.add(f"literal {segment.raw.split()[0].upper()} '...'")
        elif kind == "interval_expression":
            found.add("literal INTERVAL '...'")
        elif kind == "table_reference":
            name = segment.raw.lower().strip('"')
            if name.startswith(_SYSTEM_PREFIXES):
                found.add(f"relation {name}")
    return found
