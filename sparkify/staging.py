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

1. Event files take the fast path: one pass of DuckDB's own newline-delimited
   JSON reader over all of them, checking the rules as it inserts. The first
   file DuckDB cannot parse, or with a record that breaks a rule, stops the
   pass (DuckDB names the file); the load starts again with that file moved
   to step 2. Clean input, the usual case, is read once.
2. The other files are *framed* in Python: each record becomes a line of a
   temporary NDJSON file ``{"f": file, "n": line, "e": error, "t": text}``
   (``e``: what Python already found wrong, invalid UTF-8 or a record too large),
   which DuckDB then parses and checks with the same rules, so every rejected
   record is named by file and line. Song files always go this way: there are
   tens of thousands of tiny ones and Python opens them faster than DuckDB's
   per-file readers do.

The reader fills staging tables in a DuckDB connection: the warehouse itself
for engine duckdb, an in-memory database that is then copied to the server for
engine postgres.
"""

from __future__ import annotations

import codecs
import json
import logging
import os
import re
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import sql_queries as sql
from sparkify.config import Inputs, is_s3
from sparkify.errors import ConfigError, InputError
from sparkify.progress import Progress

log = logging.getLogger(__name__)

# What a line of the jsonpaths file may look like: $['key'], $["key"] or $.key
_JSONPATH = re.compile(r"""^\$(?:\['([^']+)'\]|\["([^"]+)"\]|\.([A-Za-z_][A-Za-z0-9_]*))$""")
# DuckDB names the file it cannot parse: ... in file "PATH", ...
_DUCKDB_BAD_FILE = re.compile(r'file "(.+?)"(?:,| at| in|\)|$)')
_FAST_PATH_RETRIES = 8
_GLOB = re.compile(r"[*?\[{]")
_TS_MIN, _TS_MAX = -62135596800000, 253402300799999  # 0001-01-01 .. 9999-12-31, in ms
# load_errors.raw_line is VARCHAR(65535) bytes: 16,000 characters always fit
_RAW_LINE_CHARS = 16000
# DuckDB's JSON reader takes objects up to this size; a larger record is rejected.
MAX_RECORD_BYTES = 16 * 1024 * 1024
# A framed line holds a record as an escaped JSON string: up to 6 bytes a byte (\\u0001).
_FRAMED_LINE_BYTES = 6 * MAX_RECORD_BYTES + 65536
_TOO_LARGE = f"record larger than {MAX_RECORD_BYTES // (1024 * 1024)} MB"
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
    seconds: dict[str, float] = field(default_factory=dict)  # per staging table

    def check(self, max_errors: int) -> None:
        """Raise InputError when more records were rejected than allowed."""
        if self.rejected <= max_errors:
            return
        where = "; ".join(
            f"{_shown(path) if path else table}{f':{line}' if line else ''}: {reason}"
            for table, path, line, reason in self.first_errors
        )
        raise InputError(
            f"{self.rejected:,} bad input record{'s' if self.rejected != 1 else ''} (MAX_ERRORS is {max_errors}): "
            f"{where} - fix the input, or allow them with --max-errors N (details in table load_errors); "
            "the star schema was not changed"
        )


def _shown(path: str) -> str:
    """A file name as short as it can be said: relative to the current folder when inside it."""
    try:
        return str(Path(path).relative_to(Path.cwd()))
    except ValueError:
        return path


# ---------------------------------------------------------------- inputs


def json_files(location: str, what: str) -> list[str]:
    """The *.json files under a local folder (or the file itself), sorted.

    Paths stay strings: with tens of thousands of song files, Path objects
    alone would cost more than reading the files.
    """
    root = Path(location)
    if root.is_file():
        return [str(root)]
    if not root.is_dir():
        raise InputError(f"{what} folder {root} not found - check [S3] {what} in the config")
    found: list[str] = []
    _scan(str(root), found)
    found.sort()
    if not found:
        raise InputError(f"{what} folder {root} has no .json files - check [S3] {what} in the config")
    return found


def _scan(folder: str, found: list[str]) -> None:
    with os.scandir(folder) as entries:
        for entry in entries:
            if entry.is_dir():
                _scan(entry.path, found)
            elif entry.name.endswith(".json"):
                found.append(entry.path)


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

    events: list[str]
    songs: list[str]
    keys: tuple[str, ...]  # the JSON key of each staging_events column
    display: dict[str, str] = field(default_factory=dict)  # local copy -> s3:// URI


def local_inputs(inputs: Inputs, workdir: Path) -> LocalFiles:
    """Find the input files; s3:// locations are first downloaded into workdir with boto3."""
    display: dict[str, str] = {}

    def fetch(location: str, what: str) -> list[str]:
        if not is_s3(location):
            return json_files(location, what)
        from sparkify import aws  # boto3 is only needed for s3:// inputs

        dest = workdir / "s3" / what.lower()
        log.info("  downloading %s ...", location)
        progress: Progress | None = None

        def show(done: int, total: int) -> None:
            nonlocal progress
            progress = progress or Progress(f"downloading {what}", total)
            progress.advance()

        paths = aws.download_prefix(location, dest, progress=show)
        if progress:
            progress.close()
        log.info("  downloaded %s files from %s", f"{len(paths):,}", location)
        display.update({str(path): location.rstrip("/") + "/" + path.relative_to(dest).as_posix() for path in paths})
        return [str(path) for path in paths]

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


def frame_files(paths: Sequence[str], out, display: dict[str, str] | None = None) -> list[str]:
    """Write each record of each file as one framed NDJSON line to ``out``.

    Returns the files that hold no record at all (empty or blank).
    """
    empty = []
    dumps = json.dumps
    with Progress("reading files", len(paths)) as progress:
        for path in paths:
            progress.advance()
            name = display.get(path, path) if display else path
            data = _read(path)
            if not data.strip():
                empty.append(name)
                continue
            for number, text, error in _records(data):
                out.write(dumps({"f": name, "n": number, "e": error, "t": text}, ensure_ascii=False))
                out.write("\n")
    return empty


_SOURCE_KEY = "__sparkify_source_file"


def _one_line_object(data: bytes) -> str | None:
    """The text of a file that is one line holding one non-empty {...}, else None."""
    try:
        text = data.decode("utf-8-sig").strip()
    except UnicodeDecodeError:
        return None
    if len(text) < 3 or text[0] != "{" or text[-1] != "}" or "\n" in text or text[1:].lstrip().startswith("}"):
        return None
    return text


def _blank(path: str) -> bool:
    """An empty file, or one of blank lines only (looked at only when small)."""
    size = os.path.getsize(path)
    return size == 0 or (size < 65536 and not _read(path).strip())


def _read(path: str) -> bytes:
    with open(path, "rb") as fh:
        return fh.read()


def _records(data: bytes):
    """(line number, text, error or None) for each record of one file's bytes.

    The errors found here, before any JSON parsing: invalid UTF-8 (the text
    keeps U+FFFD for the bad bytes) and a record larger than DuckDB reads
    (the text is cut short).
    """
    data = data.removeprefix(codecs.BOM_UTF8)  # editors on Windows write one
    try:
        whole = data.decode("utf-8")
    except UnicodeDecodeError:
        whole = None
    if whole is not None and "\n" in whole.strip() and len(data) <= MAX_RECORD_BYTES:
        # A pretty-printed document spanning lines is one record.
        try:
            json.loads(whole)
        except ValueError:
            pass
        else:
            yield 1, " ".join(whole.split("\n")).strip(), None
            return
    for number, raw in enumerate(data.split(b"\n"), 1):
        if not raw.strip():
            continue
        if len(raw) > MAX_RECORD_BYTES:
            yield number, raw[:_RAW_LINE_CHARS].decode("utf-8", errors="replace"), _TOO_LARGE
            continue
        try:
            yield number, raw.decode("utf-8").rstrip("\r"), None
        except UnicodeDecodeError:
            yield number, raw.decode("utf-8", errors="replace").rstrip("\r"), "invalid UTF-8"


# ---------------------------------------------------------------- SQL


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


# How each staging column is read from JSON by DuckDB. Numbers are read typed
# (a value that is not a number becomes NULL); the columns a rule checks are
# read as JSON values so that their JSON type can be tested.
_READ_TYPES = {
    "item_in_session": "INTEGER",
    "length": "DOUBLE",
    "registration": "DOUBLE",
    "session_id": "BIGINT",
    "status": "INTEGER",
    "ts": "JSON",
    "num_songs": "INTEGER",
    "artist_latitude": "DOUBLE",
    "artist_longitude": "DOUBLE",
    "duration": "DOUBLE",
    "year": "INTEGER",
    "song_id": "JSON",
}


def _struct(types: dict[str, str]) -> str:
    return "{" + ", ".join(f"'{key}': '{kind}'" for key, kind in types.items()) + "}"


def _number(key: str) -> str:
    return f"json_type({key}) NOT IN ('BIGINT', 'UBIGINT', 'DOUBLE')"


def _missing(key: str) -> str:
    return f"({key} IS NULL OR json_type({key}) = 'NULL')"


def _text(key: str) -> str:
    return f"TRIM(json_extract_string({key}, '$'))"


class _Spec:
    """How one staging table is read from JSON: keys, types, rules, select list."""

    def __init__(self, table: str, columns: Sequence[str], keys: Sequence[str]):
        self.table = table
        self.columns = tuple(columns)
        self.key_of = dict(zip(columns, keys))
        self.rules: list[tuple[str, str, str]] = []  # (JSON key, SQL that is TRUE when bad, reason)

    def rule(self, column: str, bad_when: str, reason: str) -> None:
        self.rules.append((self.key_of[column], bad_when, reason))

    def quoted(self, column: str) -> str:
        return _q(self.key_of[column])

    def types(self) -> dict[str, str]:
        return {self.key_of[column]: _READ_TYPES.get(column, "VARCHAR") for column in self.columns}

    def struct(self) -> str:
        """The struct literal read_ndjson(columns=...) takes."""
        return _struct(self.types())


    def structure(self) -> str:
        """The same, as a quoted JSON structure for json_transform()."""
        return "'" + json.dumps(self.types()).replace("'", "''") + "'"

    def select_list(self) -> str:
        """Each staging column from its JSON value; empty or blank text becomes NULL."""
        items = []
        for column in self.columns:
            key = self.quoted(column)
            kind = _READ_TYPES.get(column, "VARCHAR")
            if column == "ts":  # a checked JSON number: epoch milliseconds
                expr = f"CAST(CAST({key} AS DOUBLE) AS BIGINT)"
            elif kind == "JSON":  # a checked id, as text
                expr = f"NULLIF({_text(key)}, '')"
            elif kind == "VARCHAR":  # like Redshift's EMPTYASNULL BLANKSASNULL; x < '!' is a cheap
                # test for a first character that is white space
                expr = f"CASE WHEN {key} = '' OR ({key} < '!' AND TRIM({key}) = '') THEN NULL ELSE {key} END"
            else:
                expr = key
            items.append(f"{expr} AS {column}")
        return ",\n    ".join(items)

    def reason(self) -> str:
        """SQL giving the reason a parsed record is rejected; NULL when it is valid."""
        whens = "\n        ".join(f"WHEN {bad} THEN '{reason}'" for _, bad, reason in self.rules)
        return f"CASE\n        {whens}\n        ELSE NULL END"

    def failed_key(self) -> str:
        whens = " ".join(f"WHEN {bad} THEN '{key}'" for key, bad, _ in self.rules)
        return f"CASE {whens} ELSE NULL END"


def _width_rules(spec: _Spec) -> None:
    """Text longer than its column is rejected, as Redshift's COPY does (widths in bytes)."""
    for column, width in sql.text_widths(spec.table).items():
        key = spec.quoted(column)
        value = _text(key) if _READ_TYPES.get(column) == "JSON" else key
        spec.rule(column, f"strlen({value}) > {width}", f"{spec.key_of[column]} is longer than {width} bytes")


def _events_spec(keys: Sequence[str]) -> _Spec:
    spec = _Spec("staging_events", sql.STAGING_EVENTS_COLUMNS, keys)
    ts, user = spec.quoted("ts"), spec.quoted("user_id")
    spec.rule("ts", _missing(ts), f"missing {spec.key_of['ts']}")
    spec.rule("ts", _number(ts), f"{spec.key_of['ts']} is not a number (epoch milliseconds)")
    # year 1 to 9999: what every engine's TIMESTAMP holds
    spec.rule("ts", f"CAST({ts} AS DOUBLE) NOT BETWEEN {_TS_MIN} AND {_TS_MAX}", f"{spec.key_of['ts']} is out of range")
    # Digits with an optional sign, within INTEGER (read as text, a JSON number
    # and a JSON string look alike): every engine's CAST(user_id AS INTEGER)
    # then accepts it. TRY_CAST alone would also take '1e3', '0x10' or '10.5'.
    spec.rule(
        "user_id",
        f"{user} IS NOT NULL "
        f"AND NOT (TRY_CAST({user} AS INTEGER) IS NOT NULL AND regexp_full_match({user}, '[+-]?[0-9]+')) "
        f"AND TRIM({user}) <> ''",
        f"{spec.key_of['user_id']} is not an integer",
    )
    _width_rules(spec)
    return spec


def _songs_spec() -> _Spec:
    spec = _Spec("staging_songs", sql.STAGING_SONGS_COLUMNS, sql.STAGING_SONGS_COLUMNS)
    song_id = spec.quoted("song_id")
    spec.rule("song_id", f"{_missing(song_id)} OR {_text(song_id)} = ''", "missing song_id")
    spec.rule("song_id", f"json_type({song_id}) IN ('OBJECT', 'ARRAY', 'BOOLEAN')", "song_id is not a string")
    _width_rules(spec)
    return spec


class _UnparsableFile(Exception):
    """DuckDB's fast reader could not parse this file: read it line by line instead."""

    def __init__(self, path: str):
        self.path = path


class _UnparsableSongs(Exception):
    """A song file broke the fast path: frame every song file instead."""


def _unparsable_file(exc: Exception, candidates) -> str | None:
    """The file a DuckDB JSON error names, if it is one of ours."""
    match = _DUCKDB_BAD_FILE.search(str(exc))
    return match.group(1) if match and match.group(1) in candidates else None


class LocalJsonReader:
    """Loads local JSON files into the staging tables of a DuckDB connection."""

    def __init__(self, con, workdir: Path):
        self.con = con
        self.workdir = workdir

    def load(self, files: LocalFiles) -> StagingResult:
        """Replace staging_events, staging_songs and load_errors with these files' records, in one transaction."""
        by_line: set[str] = set()
        songs_by_line = False
        for _ in range(_FAST_PATH_RETRIES):
            try:
                return self._load(files, by_line, songs_by_line)
            except _UnparsableFile as exc:
                by_line.add(exc.path)
                log.info("  %s has bad records: reading it line by line", files.display.get(exc.path, exc.path))
            except _UnparsableSongs:
                songs_by_line = True
                log.info("  song files have bad records: reading them line by line")
        # Too many bad files to find one by one: read them all line by line.
        return self._load(files, set(files.events), True)

    def _load(self, files: LocalFiles, by_line: set[str], songs_by_line: bool) -> StagingResult:
        events, songs = _events_spec(files.keys), _songs_spec()
        result = StagingResult(files={"staging_events": len(files.events), "staging_songs": len(files.songs)})
        con = self.con
        con.execute("BEGIN TRANSACTION")
        try:
            for table in ("staging_events", "staging_songs", "load_errors"):
                con.execute(f"DELETE FROM {table}")
            started = time.perf_counter()
            with ThreadPoolExecutor(max_workers=1) as pool:
                # DuckDB loads the events (releasing the GIL) while Python reads the song files
                events_job = pool.submit(self._load_events, events, files, by_line, result)
                spliced, framed_songs = (None, files.songs) if songs_by_line else self._splice_songs(files)
                events_job.result()
            if spliced is not None:
                self._insert_spliced(songs, spliced)
            self._insert_framed(songs, framed_songs, files.display, result)
            result.seconds["staging_songs"] = time.perf_counter() - started
            log.info(
                "  staging_songs: %s files in %.1f s (read while the events loaded)",
                f"{len(files.songs):,}", result.seconds["staging_songs"],
            )
            con.execute("COMMIT")
        except BaseException:
            con.execute("ROLLBACK")
            raise
        result.empty_files.sort()
        for name in result.empty_files:
            log.warning("warning: %s is empty: no records", _shown(name))
        for table in sql.STAGING_TABLES:
            result.rows[table] = con.execute(sql.count_rows(table)).fetchone()[0]
        result.rejected = con.execute(sql.count_rows("load_errors")).fetchone()[0]
        result.first_errors = con.execute(
            "SELECT table_name, source_file, line_number, reason FROM load_errors "
            f"ORDER BY source_file, line_number LIMIT {SAMPLE_ERRORS}"
        ).fetchall()
        return result

    # -- fast path: DuckDB's NDJSON reader over whole files

    @staticmethod
    def _read_ndjson(struct: str) -> str:
        return (
            f"read_ndjson(?, columns={struct}, format='newline_delimited', "
            f"filename=true, maximum_object_size={MAX_RECORD_BYTES})"
        )

    def _insert_fast(self, spec: _Spec, files: Sequence[str]) -> None:
        """One pass of DuckDB's reader over clean files; stops at the first file that is not.

        A file DuckDB cannot parse, or with a record that breaks a rule, raises
        _UnparsableFile: the load starts again with that file read line by line.
        """
        if not files:
            return
        try:
            self.con.execute(
                f"INSERT INTO {spec.table} ({', '.join(spec.columns)})\n"
                f"SELECT\n    {spec.select_list()}\nFROM {self._read_ndjson(spec.struct())}\n"
                f"WHERE CASE WHEN ({spec.reason()}) IS NULL THEN true\n"
                "ELSE error('bad record in file \"' || filename || '\", read it line by line') END",
                [list(files)],
            )
        except Exception as exc:  # duckdb.Error naming the file
            name = _unparsable_file(exc, files)
            if name is None:
                raise
            raise _UnparsableFile(name) from None

    def _load_events(self, spec: _Spec, files: LocalFiles, by_line: set[str], result: StagingResult) -> None:
        started = time.perf_counter()
        # DuckDB's reader takes each name as a glob pattern: names with * ? [ go by line
        slow = [path for path in files.events if path in by_line or _blank(path) or _GLOB.search(path)]
        self._insert_fast(spec, [path for path in files.events if path not in set(slow)])
        self._insert_framed(spec, slow, files.display, result)
        result.seconds["staging_events"] = time.perf_counter() - started
        log.info(
            "  staging_events: %s files (%s read line by line) in %.1f s",
            f"{len(files.events):,}", f"{len(slow):,}", result.seconds["staging_events"],
        )

    def _splice_songs(self, files: LocalFiles) -> tuple[Path | None, list[str]]:
        """Song files: one object per file, tens of thousands of files.

        Python reads them (faster than DuckDB's per-file readers) and *splices*
        each one-line object into one NDJSON file, its source file name added
        as the first key, for DuckDB to read in one pass (_insert_spliced).
        Returns that file (None if empty) and the files that are not one line
        of ``{...}``, to be framed instead.
        """
        spliced = self.workdir / "staging_songs.spliced.ndjson"
        framed = []
        dumps = json.dumps
        with open(spliced, "w", encoding="utf-8") as out, Progress("reading song files", len(files.songs)) as progress:
            for path in files.songs:
                progress.advance()
                text = _one_line_object(_read(path))
                if text is None:
                    framed.append(path)
                    continue
                name = files.display.get(path, path)
                out.write('{"' + _SOURCE_KEY + '":' + dumps(name) + "," + text[1:] + "\n")
        return (spliced if spliced.stat().st_size else None), framed

    def _insert_spliced(self, spec: _Spec, spliced: Path) -> None:
        """One pass over the spliced songs, checking the rules as it inserts.

        A bad record anywhere raises _UnparsableSongs: the load starts again
        with every song file framed, so each bad record is named by file.
        """
        struct = _struct({_SOURCE_KEY: "VARCHAR", **spec.types()})
        try:
            self.con.execute(
                f"INSERT INTO {spec.table} ({', '.join(spec.columns)})\n"
                f"SELECT\n    {spec.select_list()}\n"
                # a spliced line is the record plus its file name
                f"FROM read_ndjson(?, columns={struct}, format='newline_delimited', "
                f"maximum_object_size={MAX_RECORD_BYTES + 65536})\n"
                f"WHERE CASE WHEN ({spec.reason()}) IS NULL THEN true ELSE error('bad song record') END",
                [str(spliced)],
            )
        except Exception as exc:  # duckdb.Error: a record DuckDB cannot read, or one that breaks a rule
            raise _UnparsableSongs() from exc

    # -- precise path: framed lines, every record named by file and line

    def _insert_framed(self, spec: _Spec, files: Sequence[str], display, result: StagingResult) -> None:
        if not files:
            return
        framed = self.workdir / f"{spec.table}.framed.ndjson"
        with open(framed, "w", encoding="utf-8") as out:
            result.empty_files.extend(frame_files(files, out, display))
        if framed.stat().st_size == 0:
            return
        con = self.con
        con.execute(
            f"""
CREATE OR REPLACE TEMP TABLE framed AS
WITH lines AS (
    SELECT f AS _source_file, n AS _line_number, e AS _error, t AS _raw_line
    FROM read_ndjson(?, columns={{'f': 'VARCHAR', 'n': 'BIGINT', 'e': 'VARCHAR', 't': 'VARCHAR'}},
                     format='newline_delimited', maximum_object_size={_FRAMED_LINE_BYTES})
),
shaped AS (
    SELECT
        *,
        CASE
            WHEN _error IS NOT NULL THEN _error
            WHEN NOT json_valid(_raw_line) THEN 'malformed JSON'
            WHEN json_type(_raw_line) <> 'OBJECT' THEN 'not a JSON object'
        END AS _shape_error
    FROM lines
)
SELECT
    _source_file,
    _line_number,
    _raw_line,
    _shape_error,
    unnest(CASE WHEN _shape_error IS NULL THEN json_transform(_raw_line, {spec.structure()}) END)
FROM shaped
""",
            [str(framed)],
        )
        con.execute(
            f"INSERT INTO {spec.table} ({', '.join(spec.columns)})\n"
            f"SELECT\n    {spec.select_list()}\nFROM framed\n"
            f"WHERE _shape_error IS NULL AND ({spec.reason()}) IS NULL"
        )
        con.execute(
            f"""
INSERT INTO load_errors (table_name, source_file, line_number, column_name, reason, raw_line)
SELECT
    '{spec.table}',
    _source_file,
    _line_number,
    CASE WHEN _shape_error IS NULL THEN {spec.failed_key()} END,
    COALESCE(_shape_error, {spec.reason()}),
    left(_raw_line, {_RAW_LINE_CHARS})
FROM framed
WHERE _shape_error IS NOT NULL OR ({spec.reason()}) IS NOT NULL
"""
        )
        con.execute("DROP TABLE framed")
