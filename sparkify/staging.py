"""Staging: raw JSON into staging_events / staging_songs, bad records into load_errors.

The rules (the same for every engine; Redshift applies its own COPY rules):

- An *event* is a JSON object whose ``ts`` is a number (epoch milliseconds) and
  whose ``userId`` is empty, absent or an integer. A *song* is a JSON object
  with a non-empty ``song_id``.
- Each non-blank line of a file is one record, except that a file whose whole
  content is one JSON document (a pretty-printed song file) is one record.
  Blank lines are not records; an empty file is a warning, not an error.
- Text fields that are empty or blank become NULL (Redshift's EMPTYASNULL
  BLANKSASNULL); numeric fields that are not numbers become NULL.
- A record that breaks a rule is not loaded: it goes to load_errors with its
  file, line, the reason and its raw text.

How local files are read (``LocalJsonReader``), built for speed on DuckDB:

1. Clean event files take the fast path: DuckDB's own newline-delimited JSON
   reader. A cheap first scan of ``ts`` and ``userId`` finds the files that
   have a bad record (DuckDB names a file whose JSON it cannot parse).
2. Every other file is *framed* in Python: each record becomes a line of a
   temporary NDJSON file ``{"f": file, "n": line, "u": utf8_ok, "t": text}``,
   which DuckDB then parses and checks with the same rules, so every rejected
   record is named by file and line. Song files always go this way: there are
   tens of thousands of tiny ones and Python opens them faster than DuckDB's
   per-file readers do.

The reader fills staging tables in a DuckDB connection: the warehouse itself
for engine duckdb, an in-memory database that is then copied to the server for
engine postgres.
"""

from __future__ import annotations

import json
import logging
import os
import re
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import sql_queries as sql
from sparkify.config import Inputs, is_s3
from sparkify.errors import ConfigError, InputError

log = logging.getLogger(__name__)

# What a line of the jsonpaths file may look like: $['key'], $["key"] or $.key
_JSONPATH = re.compile(r"""^\$(?:\['([^']+)'\]|\["([^"]+)"\]|\.([A-Za-z_][A-Za-z0-9_]*))$""")
# DuckDB names the file it cannot parse: ... in file "PATH", ...
_DUCKDB_BAD_FILE = re.compile(r'in file "(.+?)"(?:,| at| in)')
_FAST_PATH_RETRIES = 8
SAMPLE_ERRORS = 3


@dataclass
class StagingResult:
    """What a staging load did: rows loaded, records rejected, files seen."""

    rows: dict[str, int] = field(default_factory=dict)
    files: dict[str, int] = field(default_factory=dict)
    rejected: int = 0
    # (table, file, line, reason) of the first rejected records, in file order
    first_errors: list[tuple[str, str, int | None, str]] = field(default_factory=list)
    empty_files: list[str] = field(default_factory=list)

    def check(self, max_errors: int) -> None:
        """Raise InputError when more records were rejected than allowed."""
        if self.rejected <= max_errors:
            return
        where = "; ".join(
            f"{path}{f':{line}' if line else ''}: {reason}" for _, path, line, reason in self.first_errors
        )
        raise InputError(
            f"{self.rejected:,} bad input record{'s' if self.rejected != 1 else ''} (MAX_ERRORS is {max_errors}): "
            f"{where} - fix the input, or allow them with --max-errors N (details in table load_errors); "
            "the star schema was not changed"
        )


# ---------------------------------------------------------------- inputs


def json_files(location: str, what: str) -> list[Path]:
    """The *.json files under a local folder (or the file itself), sorted."""
    root = Path(location)
    if root.is_file():
        return [root]
    if not root.is_dir():
        raise InputError(f"{what} folder {root} not found - check [S3] {what} in the config")
    found = sorted(Path(dirpath) / name for dirpath, _, names in os.walk(root) for name in names if name.endswith(".json"))
    if not found:
        raise InputError(f"{what} folder {root} has no .json files - check [S3] {what} in the config")
    return found


def event_keys(jsonpaths_file: str | None) -> tuple[str, ...]:
    """The JSON key for each staging_events column, from the jsonpaths file (as Redshift COPY does)."""
    if jsonpaths_file is None:
        return sql.EVENT_JSON_KEYS
    path = Path(jsonpaths_file)
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
        paths = document["jsonpaths"]
    except FileNotFoundError:
        raise ConfigError(f"LOG_JSONPATH file {path} not found - check [S3] LOG_JSONPATH in the config") from None
    except (ValueError, KeyError, TypeError):
        raise ConfigError(f'LOG_JSONPATH file {path} is not a jsonpaths file ({{"jsonpaths": [...]}})') from None
    if not isinstance(paths, list) or len(paths) != len(sql.STAGING_EVENTS_COLUMNS):
        count = len(paths) if isinstance(paths, list) else 0
        raise ConfigError(
            f"LOG_JSONPATH file {path} lists {count} paths; staging_events has "
            f"{len(sql.STAGING_EVENTS_COLUMNS)} columns ({', '.join(sql.STAGING_EVENTS_COLUMNS)})"
        )
    keys = []
    for position, text in enumerate(paths, 1):
        match = _JSONPATH.match(text) if isinstance(text, str) else None
        if not match:
            raise ConfigError(f"LOG_JSONPATH file {path}: path {position} ({text!r}) is not a top-level key like $['ts']")
        keys.append(next(group for group in match.groups() if group is not None))
    return tuple(keys)


@dataclass(frozen=True)
class LocalFiles:
    """The input files on this machine, and how to name them in messages."""

    events: list[Path]
    songs: list[Path]
    keys: tuple[str, ...]  # the JSON key of each staging_events column
    display: dict[Path, str] = field(default_factory=dict)  # local copy -> s3:// URI


def local_inputs(inputs: Inputs, workdir: Path) -> LocalFiles:
    """Find the input files; s3:// locations are first downloaded into workdir with boto3."""
    display: dict[Path, str] = {}

    def fetch(location: str, what: str) -> list[Path]:
        if not is_s3(location):
            return json_files(location, what)
        from sparkify import aws  # boto3 is only needed for s3:// inputs

        dest = workdir / "s3" / what.lower()
        log.info("  downloading %s ...", location)
        paths = aws.download_prefix(location, dest)
        display.update({path: location.rstrip("/") + "/" + path.relative_to(dest).as_posix() for path in paths})
        return paths

    jsonpath = inputs.log_jsonpath
    if jsonpath and is_s3(jsonpath):
        from sparkify import aws

        jsonpath = str(aws.download_file(jsonpath, workdir / "s3" / "log_json_path.json"))
    return LocalFiles(
        events=fetch(inputs.log_data, "LOG_DATA"),
        songs=fetch(inputs.song_data, "SONG_DATA"),
        keys=event_keys(jsonpath),
        display=display,
    )


# ---------------------------------------------------------------- framing


def frame_files(paths: Sequence[Path], out, display: dict[Path, str] | None = None) -> list[str]:
    """Write each record of each file as one framed NDJSON line to ``out``.

    Returns the files that hold no record at all (empty or blank).
    """
    empty = []
    dumps = json.dumps
    for path in paths:
        name = display.get(path, str(path)) if display else str(path)
        data = path.read_bytes()
        if not data.strip():
            empty.append(name)
            continue
        for number, text, utf8_ok in _records(data):
            out.write(dumps({"f": name, "n": number, "u": utf8_ok, "t": text}, ensure_ascii=False))
            out.write("\n")
    return empty


def _records(data: bytes):
    """(line number, text, valid UTF-8) for each record of one file's bytes."""
    try:
        whole = data.decode("utf-8")
    except UnicodeDecodeError:
        whole = None
    if whole is not None and "\n" in whole.strip():
        # A pretty-printed document spanning lines is one record.
        try:
            json.loads(whole)
        except ValueError:
            pass
        else:
            yield 1, " ".join(whole.split("\n")).strip(), True
            return
    for number, raw in enumerate(data.split(b"\n"), 1):
        if not raw.strip():
            continue
        try:
            yield number, raw.decode("utf-8").rstrip("\r"), True
        except UnicodeDecodeError:
            yield number, raw.decode("utf-8", errors="replace").rstrip("\r"), False


# ---------------------------------------------------------------- SQL


def _struct(keys: dict[str, str]) -> str:
    """A DuckDB struct type literal for read_ndjson(columns=...) and json_transform."""
    return "{" + ", ".join(f"'{key}': '{kind}'" for key, kind in keys.items()) + "}"


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


class _Spec:
    """How one staging table is read from JSON: keys, types, checks, select list."""

    def __init__(self, table: str, columns: Sequence[str], keys: Sequence[str], checks: Sequence[tuple[str, str, str]]):
        self.table = table
        self.columns = tuple(columns)
        self.keys = tuple(keys)
        self.key_of = dict(zip(columns, keys))
        self.checks = checks  # (column key, SQL condition that is TRUE when bad, reason)

    def types(self, json_typed: Sequence[str]) -> dict[str, str]:
        """Every key read as text, except those a check needs as JSON values."""
        return {key: "JSON" if key in json_typed else "VARCHAR" for key in self.keys}

    def struct(self, json_typed: Sequence[str]) -> str:
        """The struct literal read_ndjson(columns=...) takes."""
        return _struct(self.types(json_typed))

    def structure(self, json_typed: Sequence[str]) -> str:
        """The same as a quoted JSON structure, for json_transform()."""
        return "'" + json.dumps(self.types(json_typed)).replace("'", "''") + "'"

    def select_list(self, types: dict[str, str]) -> str:
        """Cast each JSON value to its staging column; empty text becomes NULL."""
        items = []
        for column in self.columns:
            key = _q(self.key_of[column])
            kind = types.get(column, "VARCHAR")
            if kind == "JSON_INT":  # a validated JSON number or integer text
                expr = f"CAST(CAST(json_extract_string({key}, '$') AS DOUBLE) AS BIGINT)"
            elif kind == "JSON_TEXT":
                expr = f"NULLIF(TRIM(json_extract_string({key}, '$')), '')"
            elif kind == "VARCHAR":
                expr = f"CASE WHEN TRIM({key}) = '' THEN NULL ELSE {key} END"
            else:
                expr = f"TRY_CAST({key} AS {kind})"
            items.append(f"{expr} AS {column}")
        return ",\n    ".join(items)

    def reason(self) -> str:
        """SQL CASE giving the reason a parsed record is rejected, NULL when valid."""
        whens = "\n        ".join(f"WHEN {condition} THEN '{reason}'" for _, condition, reason in self.checks)
        return f"CASE\n        {whens}\n        ELSE NULL END"

    def failed_column(self) -> str:
        whens = " ".join(f"WHEN {condition} THEN '{key}'" for key, condition, _ in self.checks)
        return f"CASE {whens} ELSE NULL END"


def _number(key: str) -> str:
    return f"json_type({_q(key)}) NOT IN ('BIGINT', 'UBIGINT', 'DOUBLE')"


def _events_spec(keys: Sequence[str]) -> _Spec:
    ts, user = keys[sql.STAGING_EVENTS_COLUMNS.index("ts")], keys[sql.STAGING_EVENTS_COLUMNS.index("user_id")]
    q_ts, q_user = _q(ts), _q(user)
    user_text = f"TRIM(json_extract_string({q_user}, '$'))"
    return _Spec(
        "staging_events",
        sql.STAGING_EVENTS_COLUMNS,
        keys,
        checks=(
            (ts, f"{q_ts} IS NULL OR json_type({q_ts}) = 'NULL'", f"missing {ts}"),
            (ts, _number(ts), f"{ts} is not a number (epoch milliseconds)"),
            (
                user,
                f"{q_user} IS NOT NULL AND json_type({q_user}) NOT IN ('NULL', 'BIGINT', 'UBIGINT') "
                f"AND NOT (json_type({q_user}) = 'VARCHAR' AND ({user_text} = '' OR regexp_full_match({user_text}, '-?[0-9]{{1,9}}')))",
                f"{user} is not an integer",
            ),
        ),
    )


def _songs_spec() -> _Spec:
    return _Spec(
        "staging_songs",
        sql.STAGING_SONGS_COLUMNS,
        sql.STAGING_SONGS_COLUMNS,
        checks=(("song_id", "song_id IS NULL OR json_type(song_id) = 'NULL' OR TRIM(json_extract_string(song_id, '$')) = ''", "missing song_id"),),
    )


_EVENT_TYPES = {
    "item_in_session": "INTEGER",
    "length": "DOUBLE",
    "registration": "DOUBLE",
    "session_id": "BIGINT",
    "status": "INTEGER",
    "ts": "JSON_INT",
    "user_id": "JSON_TEXT",
}
_SONG_TYPES = {
    "num_songs": "INTEGER",
    "artist_latitude": "DOUBLE",
    "artist_longitude": "DOUBLE",
    "duration": "DOUBLE",
    "year": "INTEGER",
    "song_id": "JSON_TEXT",
}


class LocalJsonReader:
    """Loads local JSON files into the staging tables of a DuckDB connection."""

    def __init__(self, con, workdir: Path):
        self.con = con
        self.workdir = workdir

    def load(self, files: LocalFiles) -> StagingResult:
        """Replace staging_events, staging_songs and load_errors with these files' records."""
        event_files, song_files, display = files.events, files.songs, files.display
        events, songs = _events_spec(files.keys), _songs_spec()
        result = StagingResult(files={"staging_events": len(event_files), "staging_songs": len(song_files)})
        con = self.con
        con.execute("BEGIN TRANSACTION")
        try:
            for table in ("staging_events", "staging_songs", "load_errors"):
                con.execute(f"DELETE FROM {table}")
            started = time.perf_counter()
            fast, slow = self._split_event_files(events, event_files)
            if fast:
                self._insert_fast(events, fast)
            self._insert_framed(events, slow, display, result)
            log.info(
                "  staging_events: %s files (%s by line) in %.1f s",
                f"{len(event_files):,}", f"{len(slow):,}", time.perf_counter() - started,
            )
            started = time.perf_counter()
            self._insert_framed(songs, song_files, display, result)
            log.info("  staging_songs: %s files in %.1f s", f"{len(song_files):,}", time.perf_counter() - started)
            con.execute("COMMIT")
        except BaseException:
            con.execute("ROLLBACK")
            raise
        for table in sql.STAGING_TABLES:
            result.rows[table] = con.execute(sql.count_rows(table)).fetchone()[0]
        result.rejected = con.execute(sql.count_rows("load_errors")).fetchone()[0]
        result.first_errors = con.execute(
            "SELECT table_name, source_file, line_number, reason FROM load_errors "
            f"ORDER BY source_file, line_number LIMIT {SAMPLE_ERRORS}"
        ).fetchall()
        return result

    # -- fast path: DuckDB's NDJSON reader over whole files

    def _read_ndjson(self, spec: _Spec, json_typed: Sequence[str]) -> str:
        return (
            f"read_ndjson(?, columns={spec.struct(json_typed)}, format='newline_delimited', "
            "filename=true, maximum_object_size=16777216)"
        )

    def _split_event_files(self, spec: _Spec, files: Sequence[Path]) -> tuple[list[str], list[Path]]:
        """Which event files are clean (fast path) and which need line-by-line reading."""
        candidates = {str(path): path for path in files if path.stat().st_size > 0}
        slow = [path for path in files if str(path) not in candidates]
        check_keys = [key for key, _, _ in spec.checks]
        for _ in range(_FAST_PATH_RETRIES):
            if not candidates:
                break
            source = self._read_ndjson(spec, check_keys)
            try:
                bad = self.con.execute(
                    f"SELECT filename FROM {source} WHERE ({spec.reason()}) IS NOT NULL GROUP BY filename",
                    [list(candidates)],
                ).fetchall()
            except Exception as exc:  # duckdb.InvalidInputError: a file DuckDB cannot parse
                match = _DUCKDB_BAD_FILE.search(str(exc))
                if not match or match.group(1) not in candidates:
                    break
                slow.append(candidates.pop(match.group(1)))
                continue
            for (name,) in bad:
                slow.append(candidates.pop(name))
            return list(candidates), sorted(slow)
        # Too many unparsable files to find one by one: read them all by line.
        return [], sorted(slow + list(candidates.values()))

    def _insert_fast(self, spec: _Spec, files: Sequence[str]) -> None:
        check_keys = [key for key, _, _ in spec.checks]
        self.con.execute(
            f"INSERT INTO {spec.table} ({', '.join(spec.columns)})\n"
            f"SELECT\n    {spec.select_list(_EVENT_TYPES)}\nFROM {self._read_ndjson(spec, check_keys)}",
            [list(files)],
        )

    # -- precise path: framed lines, every record named by file and line

    def _insert_framed(self, spec: _Spec, files: Sequence[Path], display, result: StagingResult) -> None:
        if not files:
            return
        framed = self.workdir / f"{spec.table}.framed.ndjson"
        with open(framed, "w", encoding="utf-8") as out:
            result.empty_files.extend(frame_files(files, out, display))
        for name in result.empty_files:
            log.warning("warning: %s is empty: no records", name)
        if framed.stat().st_size == 0:
            return
        check_keys = [key for key, _, _ in spec.checks]
        types = _EVENT_TYPES if spec.table == "staging_events" else _SONG_TYPES
        con = self.con
        con.execute(
            f"""
CREATE OR REPLACE TEMP TABLE framed AS
WITH lines AS (
    SELECT f, n, u, t
    FROM read_ndjson(?, columns={{'f': 'VARCHAR', 'n': 'BIGINT', 'u': 'BOOLEAN', 't': 'VARCHAR'}},
                     format='newline_delimited', maximum_object_size=16777216)
),
shaped AS (
    SELECT
        f, n, t,
        CASE
            WHEN NOT u THEN 'invalid UTF-8'
            WHEN NOT json_valid(t) THEN 'malformed JSON'
            WHEN json_type(t) <> 'OBJECT' THEN 'not a JSON object'
        END AS shape_error
    FROM lines
),
parsed AS (
    SELECT f, n, t, shape_error,
        CASE WHEN shape_error IS NULL THEN json_transform(t, {spec.structure(check_keys)}) END AS record
    FROM shaped
)
SELECT f, n, t, shape_error, unnest(record)
FROM parsed
""",
            [str(framed)],
        )
        con.execute(
            f"INSERT INTO {spec.table} ({', '.join(spec.columns)})\n"
            f"SELECT\n    {spec.select_list(types)}\nFROM framed\n"
            f"WHERE shape_error IS NULL AND ({spec.reason()}) IS NULL"
        )
        con.execute(
            f"""
INSERT INTO load_errors (table_name, source_file, line_number, column_name, reason, raw_line)
SELECT '{spec.table}', f, n,
       CASE WHEN shape_error IS NULL THEN {spec.failed_column()} END,
       COALESCE(shape_error, {spec.reason()}),
       t
FROM framed
WHERE shape_error IS NOT NULL OR ({spec.reason()}) IS NOT NULL
"""
        )
        con.execute("DROP TABLE framed")
