"""The local reader: JSON files into the staging tables of a DuckDB database.

Used by the local engines: the warehouse itself for engine duckdb, an
in-memory database that is then copied to the server for engine postgres.
The rules it checks are ``sparkify.rules``; a record that breaks one, or that
is not a JSON object, goes to load_errors with its file, line and reason.

- Each non-blank line of a file is one record, except that a file whose whole
  content is one JSON document (a pretty-printed song file) is one record.
  Blank lines are not records; an empty file is a warning, not an error.
- Text fields that are empty or blank become NULL (Redshift's EMPTYASNULL
  BLANKSASNULL); numeric fields that are not numbers become NULL.

How the files are read, built for speed:

1. Event files take the fast path: one pass of DuckDB's own newline-delimited
   JSON reader over all of them, checking the rules as it inserts. The first
   file DuckDB cannot parse, or with a record that breaks a rule, stops the
   pass (DuckDB names the file); the load starts again with that file moved
   to step 2. Clean input, the usual case, is read once.
2. The other files are *framed* in Python: each record becomes a line of a
   temporary NDJSON file ``{"f": file, "n": line, "e": error, "t": text}``
   (``e``: what Python already found wrong, invalid UTF-8 or a record too large),
   which DuckDB then parses and checks with the same rules, so every rejected
   record is named by file and line. Song files always go this way, or
   *spliced* (one-line objects, the usual song file, joined into one NDJSON
   file): there are tens of thousands of tiny ones and Python opens them
   faster than DuckDB's per-file readers do.
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
from sparkify import rules, schema
from sparkify.inputs import LocalFiles, cannot_read, open_regular, read_input, shown
from sparkify.progress import Progress
from sparkify.quoting import identifier, literal

log = logging.getLogger(__name__)

# DuckDB names the file it cannot parse: ... in file "PATH", ... / ... reading file "PATH" (>N bytes)
_DUCKDB_BAD_FILE = re.compile(r'file "(.+?)"(?:,| at| in| \(|\)|$)')
_FAST_PATH_RETRIES = 8
_GLOB = re.compile(r"[*?\[{]")
# load_errors.raw_line is VARCHAR(65535) bytes: 16,000 characters always fit
RAW_LINE_CHARS = 16000
# DuckDB's JSON reader takes objects up to this size; a larger record is rejected.
MAX_RECORD_BYTES = 16 * 1024 * 1024
# A framed line holds a record as an escaped JSON string: up to 6 bytes a byte (\\u0001).
_FRAMED_LINE_BYTES = 6 * MAX_RECORD_BYTES + 65536
_TOO_LARGE = f"record larger than {MAX_RECORD_BYTES // (1024 * 1024)} MB"
_SOURCE_KEY = "__sparkify_source_file"

# How each staging column is read from JSON by DuckDB: numbers typed as their
# column (a value that is not a number becomes NULL), the columns whose rules
# test the JSON type as JSON (rules.json_columns), everything else as text.
_NUMBER_TYPES = {schema.INTEGER: "INTEGER", schema.BIGINT: "BIGINT", schema.DOUBLE: "DOUBLE"}


@dataclass
class ReadReport:
    """What the reader saw: files per staging table, empty files, seconds per table."""

    files: dict[str, int] = field(default_factory=dict)
    empty_files: list[str] = field(default_factory=list)
    seconds: dict[str, float] = field(default_factory=dict)


def _struct(types: dict[str, str]) -> str:
    """A DuckDB struct literal {'key': 'TYPE', ...}, as read_ndjson(columns=...) takes."""
    return "{" + ", ".join(f"{literal(key)}: {literal(kind)}" for key, kind in types.items()) + "}"


class _Spec:
    """How one staging table is read from JSON: keys, types, rules, select list."""

    def __init__(self, table: str, keys: Sequence[str]):
        self.table = table
        declared = schema.table(table).input_columns
        self.columns = tuple(column.name for column in declared)
        self.key_of = dict(zip(self.columns, keys))
        json_columns = rules.json_columns(table)
        self.read_as = {
            column.name: "JSON" if column.name in json_columns else _NUMBER_TYPES.get(column.type, "VARCHAR")
            for column in declared
        }
        # (JSON key, SQL that is TRUE when bad, reason), in rule order
        self.checks = [
            (self.key_of[rule.column], rules.json_predicate(rule, self.key_of[rule.column]),
             rule.reason_for(self.key_of[rule.column]))
            for rule in rules.rules_for(table)
        ]

    def types(self) -> dict[str, str]:
        return {self.key_of[column]: kind for column, kind in self.read_as.items()}

    def struct(self) -> str:
        return _struct(self.types())

    def structure(self) -> str:
        """The same, as a quoted JSON structure for json_transform()."""
        return literal(json.dumps(self.types()))

    def select_list(self) -> str:
        """Each staging column from its JSON value; empty or blank text becomes NULL."""
        items = []
        for column, kind in self.read_as.items():
            key = identifier(self.key_of[column])
            if column == "ts":  # a checked JSON number: epoch milliseconds
                expr = f"CAST(CAST({key} AS DOUBLE) AS BIGINT)"
            elif kind == "JSON":  # a checked id, as text
                expr = f"NULLIF(TRIM(json_extract_string({key}, '$')), '')"
            elif kind == "VARCHAR":  # like Redshift's EMPTYASNULL BLANKSASNULL; x < '!' is a cheap
                # test for a first character that is white space
                expr = f"CASE WHEN {key} = '' OR ({key} < '!' AND TRIM({key}) = '') THEN NULL ELSE {key} END"
            else:
                expr = key
            items.append(f"{expr} AS {column}")
        return ",\n    ".join(items)

    def insert(self, source_file: str) -> str:
        """INSERT INTO the staging table ... SELECT each column, and the record's file from ``source_file``."""
        return (
            f"INSERT INTO {self.table} ({', '.join(self.columns)}, source_file)\n"
            f"SELECT\n    {self.select_list()},\n    {source_file} AS source_file"
        )

    def reason(self) -> str:
        """SQL giving the reason a parsed record is rejected; NULL when it is valid."""
        whens = "\n        ".join(f"WHEN {bad} THEN {literal(reason)}" for _, bad, reason in self.checks)
        return f"CASE\n        {whens}\n        ELSE NULL END"

    def failed_key(self) -> str:
        whens = " ".join(f"WHEN {bad} THEN {literal(key)}" for key, bad, _ in self.checks)
        return f"CASE {whens} ELSE NULL END"


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
            data = read_input(path, name)
            if not data.strip():
                empty.append(name)
                continue
            for number, text, error in _records(data):
                out.write(dumps({"f": name, "n": number, "e": error, "t": text}, ensure_ascii=False))
                out.write("\n")
    return empty


def _one_line_object(data: bytes) -> str | None:
    """The text of a file that is one line holding one non-empty {...}, else None."""
    try:
        text = data.decode("utf-8-sig").strip()
    except UnicodeDecodeError:
        return None
    if len(text) < 3 or text[0] != "{" or text[-1] != "}" or "\n" in text or text[1:].lstrip().startswith("}"):
        return None
    return text


def _needs_line_by_line(path: str, name: str) -> bool:
    """Whether an event file goes line by line without trying DuckDB's reader first.

    Yes when it is empty or blank (looked at only when small), or holds a line
    larger than a record may be (looked for only in files larger than that:
    DuckDB's reader would sometimes take such a record, sometimes fail the file).
    Opens the file: one that cannot be read is named here, before DuckDB reads it.
    """
    try:
        with open_regular(path) as fh:
            size = os.fstat(fh.fileno()).st_size
            if size < 65536:
                return not fh.read().strip()
            return size > MAX_RECORD_BYTES and _has_line_longer_than(fh, MAX_RECORD_BYTES)
    except OSError as exc:
        raise cannot_read(exc, name) from None


def _has_line_longer_than(fh, limit: int) -> bool:
    """Whether a file has a line of more than ``limit`` bytes (as _records counts them), read in chunks of ``limit``.

    A line inside one chunk is shorter than a chunk, so only the lines that
    cross a chunk boundary are measured: two searches per chunk, none per line.
    """
    last = -1  # offset of the last newline seen
    offset = 0
    while chunk := fh.read(limit):
        if offset == 0 and chunk.startswith(codecs.BOM_UTF8):
            last = len(codecs.BOM_UTF8) - 1  # _records does not count a byte order mark
        newline = chunk.find(b"\n")
        if offset + (len(chunk) if newline < 0 else newline) - last - 1 > limit:
            return True
        if newline >= 0:
            last = offset + chunk.rfind(b"\n")
        offset += len(chunk)
    return offset - last - 1 > limit


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
        except (ValueError, RecursionError):  # not one document, or nested too deep for Python to tell
            pass
        else:
            yield 1, " ".join(whole.split("\n")).strip(), None
            return
    for number, raw in enumerate(data.split(b"\n"), 1):
        if not raw.strip():
            continue
        if len(raw) > MAX_RECORD_BYTES:
            yield number, raw[:RAW_LINE_CHARS].decode("utf-8", errors="replace"), _TOO_LARGE
            continue
        try:
            yield number, raw.decode("utf-8").rstrip("\r"), None
        except UnicodeDecodeError:
            yield number, raw.decode("utf-8", errors="replace").rstrip("\r"), "invalid UTF-8"



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
    """Loads local JSON files into the staging tables of a DuckDB engine (sparkify.engines.duckdb)."""

    def __init__(self, db, workdir: Path):
        self.db = db  # a DuckDBEngine: its transactions, and its connection for the reader's own errors
        self.con = db.con
        self.workdir = workdir

    def load(self, files: LocalFiles) -> ReadReport:
        """Replace staging_events, staging_songs and load_errors with these files' records, in one transaction."""
        by_line: set[str] = set()
        songs_by_line = False
        for _ in range(_FAST_PATH_RETRIES):
            try:
                return self._load(files, by_line, songs_by_line)
            except _UnparsableFile as exc:
                by_line.add(exc.path)
                log.info("  %s has bad records: reading it line by line", files.name(exc.path))
            except _UnparsableSongs:
                songs_by_line = True
                log.info("  song files have bad records: reading them line by line")
        # Too many bad files to find one by one: read them all line by line.
        return self._load(files, set(files.events), True)

    def _load(self, files: LocalFiles, by_line: set[str], songs_by_line: bool) -> ReadReport:
        events, songs = _Spec("staging_events", files.keys), _Spec("staging_songs", sql.STAGING_SONGS_COLUMNS)
        report = ReadReport(files={"staging_events": len(files.events), "staging_songs": len(files.songs)})
        with self.db.transaction():
            for table in sql.LOADED_TABLES:
                self.con.execute(sql.delete_rows(table))
            started = time.perf_counter()
            with ThreadPoolExecutor(max_workers=1) as pool:
                # DuckDB loads the events (releasing the GIL) while Python reads the song files
                events_job = pool.submit(self._load_events, events, files, by_line, report)
                spliced, framed_songs = (None, files.songs) if songs_by_line else self._splice_songs(files)
                events_job.result()
            if spliced is not None:
                self._insert_spliced(songs, spliced)
            self._insert_framed(songs, framed_songs, files, report)
            report.seconds["staging_songs"] = time.perf_counter() - started
            log.info(
                "  staging_songs: %s files in %.1f s (read while the events loaded)",
                f"{len(files.songs):,}", report.seconds["staging_songs"],
            )
        report.empty_files.sort()
        for name in report.empty_files:
            log.warning("warning: %s is empty: no records", shown(name))
        return report

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
                f"{spec.insert('filename')}\nFROM {self._read_ndjson(spec.struct())}\n"
                f"WHERE CASE WHEN ({spec.reason()}) IS NULL THEN true\n"
                "ELSE error('bad record in file \"' || filename || '\", read it line by line') END",
                [list(files)],
            )
            self.db.keep_profile(f"INSERT INTO {spec.table}")
        except Exception as exc:  # duckdb.Error naming the file
            name = _unparsable_file(exc, files)
            if name is None:
                raise
            raise _UnparsableFile(name) from None

    def _load_events(self, spec: _Spec, files: LocalFiles, by_line: set[str], report: ReadReport) -> None:
        started = time.perf_counter()
        # DuckDB's reader takes each name as a glob pattern: names with * ? [ go by line
        slow = [path for path in files.events if path in by_line or _needs_line_by_line(path, files.name(path)) or _GLOB.search(path)]
        slow_set = set(slow)
        self._insert_fast(spec, [path for path in files.events if path not in slow_set])
        self._insert_framed(spec, slow, files, report)
        report.seconds["staging_events"] = time.perf_counter() - started
        log.info(
            "  staging_events: %s files (%s read line by line) in %.1f s",
            f"{len(files.events):,}", f"{len(slow):,}", report.seconds["staging_events"],
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
                data = read_input(path, files.name(path))
                # a record too large to read is named by the framed path; DuckDB might take it
                text = _one_line_object(data) if len(data) <= MAX_RECORD_BYTES else None
                if text is None:
                    framed.append(path)
                    continue
                out.write('{"' + _SOURCE_KEY + '":' + dumps(files.name(path)) + "," + text[1:] + "\n")
        return (spliced if spliced.stat().st_size else None), framed

    def _insert_spliced(self, spec: _Spec, spliced: Path) -> None:
        """One pass over the spliced songs, checking the rules as it inserts.

        A bad record anywhere raises _UnparsableSongs: the load starts again
        with every song file framed, so each bad record is named by file.
        """
        struct = _struct({_SOURCE_KEY: "VARCHAR", **spec.types()})
        try:
            self.con.execute(
                # a spliced line is the record plus its file name
                f"{spec.insert(identifier(_SOURCE_KEY))}\n"
                f"FROM read_ndjson(?, columns={struct}, format='newline_delimited', "
                f"maximum_object_size={MAX_RECORD_BYTES + 65536})\n"
                f"WHERE CASE WHEN ({spec.reason()}) IS NULL THEN true ELSE error('bad song record') END",
                [str(spliced)],
            )
            self.db.keep_profile(f"INSERT INTO {spec.table}")
        except Exception as exc:  # duckdb.Error: a record DuckDB cannot read, or one that breaks a rule
            raise _UnparsableSongs() from exc

    # -- precise path: framed lines, every record named by file and line

    def _insert_framed(self, spec: _Spec, paths: Sequence[str], files: LocalFiles, report: ReadReport) -> None:
        if not paths:
            return
        framed = self.workdir / f"{spec.table}.framed.ndjson"
        with open(framed, "w", encoding="utf-8") as out:
            report.empty_files.extend(frame_files(paths, out, files.display))
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
            f"{spec.insert('_source_file')}\nFROM framed\n"
            f"WHERE _shape_error IS NULL AND ({spec.reason()}) IS NULL"
        )
        con.execute(
            f"""
INSERT INTO load_errors (table_name, source_file, line_number, column_name, reason, raw_line)
SELECT
    {literal(spec.table)},
    _source_file,
    _line_number,
    CASE WHEN _shape_error IS NULL THEN {spec.failed_key()} END,
    COALESCE(_shape_error, {spec.reason()}),
    left(_raw_line, {RAW_LINE_CHARS})
FROM framed
WHERE _shape_error IS NOT NULL OR ({spec.reason()}) IS NOT NULL
"""
        )
        con.execute("DROP TABLE framed")
