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

Memory stays bounded whatever a file's size: a file up to the largest record
(16 MB) is read whole, a larger one streamed in chunks of 1 MB, a line over
16 MB kept only as far as load_errors shows it. Every file is read no further
than the size it was listed with, and its content hashed (SHA-256) as it is
read: the fingerprint that knows a file whatever its name (sparkify.incremental);
the files DuckDB reads itself are hashed in a thread beside it.
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
from sparkify.incremental import content_hash, fingerprint
from sparkify.inputs import LocalFiles, cannot_read, open_regular, read_input, shown
from sparkify.progress import Progress, warn_each
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
# How much of a large file is read at a time (hashing, streaming its records).
_CHUNK_BYTES = 1024 * 1024

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
    fingerprints: dict[str, str] = field(default_factory=dict)  # file location -> content fingerprint


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
                expr = f"CAST(CAST(TRIM(json_extract_string({key}, '$')) AS DOUBLE) AS BIGINT)"  # or a quoted one
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


def frame_files(
    paths: Sequence[str], out, display: dict[str, str] | None = None, sizes: dict[str, int] | None = None,
    fingerprints: dict[str, str] | None = None, longest: list[int] | None = None,
) -> list[str]:
    """Write each record of each file as one framed NDJSON line to ``out``.

    Reads each file no further than its size in ``sizes`` (when given), puts
    its content's fingerprint in ``fingerprints`` and the length of the
    longest line written in ``longest[0]``. Returns the files that hold no
    record at all (empty or blank).
    """
    empty = []
    dumps = json.dumps
    widest = 0
    with Progress("reading files", len(paths)) as progress:
        for path in paths:
            progress.advance()
            name = display.get(path, path) if display else path
            digest = content_hash()
            records = 0
            for number, text, error in _file_records(path, name, sizes.get(path) if sizes else None, digest):
                line = dumps({"f": name, "n": number, "e": error, "t": text}, ensure_ascii=False)
                out.write(line)
                out.write("\n")
                widest = max(widest, len(line))
                records += 1
            if fingerprints is not None:
                fingerprints[path] = fingerprint(digest)
            if not records:
                empty.append(name)
    if longest is not None:
        longest[:] = [widest]
    return empty


def _file_records(path: str, name: str, limit: int | None, digest):
    """The records of one file (see _records), read no further than limit, each byte read added to digest.

    Up to the largest record a file is read whole (a pretty-printed document
    is one record only then); a larger one is streamed in chunks.
    """
    try:
        with open_regular(path) as fh:
            size = os.fstat(fh.fileno()).st_size if limit is None else limit
            if size <= MAX_RECORD_BYTES:
                data = fh.read(size)
                digest.update(data)
                yield from _records(data)
                return
            yield from _streamed_records(_chunks(fh, size, digest))
    except OSError as exc:
        raise cannot_read(exc, name) from None


def _chunks(fh, limit: int, digest):
    """A file's bytes in chunks, up to limit, each added to digest."""
    left = limit
    while left > 0:
        chunk = fh.read(min(_CHUNK_BYTES, left))
        if not chunk:
            return
        digest.update(chunk)
        left -= len(chunk)
        yield chunk


def _streamed_records(chunks):
    """(line number, text, error or None) for each line of a large file, as _records gives them line by line,
    holding at most one record (16 MB) and one chunk: a longer line keeps only what load_errors shows."""
    number = 0
    pending: list[bytes] = []  # the current line's pieces, while it fits in a record
    length = 0  # the current line's length so far
    head = b""  # a line too large: its first bytes
    nonblank = False  # whether the current line has more than white space
    for chunk in _without_bom(chunks):
        start = 0
        while True:
            end = chunk.find(b"\n", start)
            piece = chunk[start:] if end < 0 else chunk[start:end]
            length += len(piece)
            if length > MAX_RECORD_BYTES:
                if not head:  # the line is too large from here: keep its first bytes, drop the rest
                    head = (b"".join(pending) + piece[:RAW_LINE_CHARS * 4])[:RAW_LINE_CHARS * 4]
                    nonblank = any(part.strip() for part in pending)
                    pending = []
                nonblank = nonblank or bool(piece.strip())
            else:
                pending.append(piece)
            if end < 0:
                break
            number += 1
            yield from _line_record(number, head, b"".join(pending), nonblank)
            pending, length, head, nonblank = [], 0, b"", False
            start = end + 1
    if length:
        yield from _line_record(number + 1, head, b"".join(pending), nonblank)


def _without_bom(chunks):
    """The chunks without a byte order mark at the start (editors on Windows write one)."""
    start = b""
    for chunk in chunks:
        if start is None:
            yield chunk
            continue
        start += chunk
        if len(start) >= len(codecs.BOM_UTF8):
            yield start.removeprefix(codecs.BOM_UTF8)
            start = None
    if start:
        yield start.removeprefix(codecs.BOM_UTF8)


def _line_record(number: int, head: bytes, raw: bytes, nonblank: bool):
    if head:
        if nonblank:
            yield number, head[:RAW_LINE_CHARS].decode("utf-8", errors="replace"), _TOO_LARGE
        return
    if not raw.strip():
        return
    try:
        yield number, raw.decode("utf-8").rstrip("\r"), None
    except UnicodeDecodeError:
        yield number, raw.decode("utf-8", errors="replace").rstrip("\r"), "invalid UTF-8"


def hash_files(paths: Sequence[str], sizes: dict[str, int], display: dict[str, str]) -> dict[str, str]:
    """The content fingerprint of each file, reading no further than its listed size (the files DuckDB reads)."""
    found = {}
    for path in paths:
        digest = content_hash()
        try:
            with open_regular(path) as fh:
                size = sizes.get(path)
                for _ in _chunks(fh, os.fstat(fh.fileno()).st_size if size is None else size, digest):
                    pass
        except OSError as exc:
            raise cannot_read(exc, display.get(path, path)) from None
        found[path] = fingerprint(digest)
    return found


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

    def __init__(self, db, workdir: Path, replace):
        self.db = db  # a DuckDBEngine: its transactions, and its connection for the reader's own errors
        self.con = db.con
        self.workdir = workdir
        # replace(db): the staging step's transaction that empties staging and load_errors (sparkify.staging.replacing)
        self.replace = replace

    def load(self, files: LocalFiles) -> ReadReport:
        """Replace staging_events, staging_songs and load_errors with these files' records, in one transaction
        (``replace``; an attempt that stops on a bad file is rolled back and the load starts again)."""
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
        with self.replace(self.db):
            started = time.perf_counter()
            with ThreadPoolExecutor(max_workers=1) as pool:
                # DuckDB loads the events (releasing the GIL) while Python reads the song files
                events_job = pool.submit(self._load_events, events, files, by_line, report)
                spliced, framed_songs = (None, files.songs) if songs_by_line else self._splice_songs(files, report)
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
        warn_each(log, [shown(name) for name in report.empty_files], lambda name: f"warning: {name} is empty: no records",
                  lambda count, names: f"warning: {count:,} files are empty: no records ({names})")
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
        slow = [
            path for path in files.events
            if path in by_line or _needs_line_by_line(path, files.name(path)) or _GLOB.search(path)
        ]
        slow_set = set(slow)
        fast = [path for path in files.events if path not in slow_set]
        with ThreadPoolExecutor(max_workers=1) as pool:
            # the files DuckDB reads are hashed beside it (hashlib releases the GIL too), from the page cache
            hashed = pool.submit(hash_files, fast, files.sizes, files.display)
            self._insert_fast(spec, fast)
            report.fingerprints.update(hashed.result())
        self._insert_framed(spec, slow, files, report)
        report.seconds["staging_events"] = time.perf_counter() - started
        log.info(
            "  staging_events: %s files (%s read line by line) in %.1f s",
            f"{len(files.events):,}", f"{len(slow):,}", report.seconds["staging_events"],
        )

    def _splice_songs(self, files: LocalFiles, report: ReadReport) -> tuple[Path | None, list[str]]:
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
            sizes = files.sizes
            for path in files.songs:
                progress.advance()
                size = sizes.get(path)
                if size is not None and size > MAX_RECORD_BYTES:
                    framed.append(path)  # streamed by the framed path, which names a record too large
                    continue
                data = read_input(path, files.name(path), size)
                # a record too large to read is named by the framed path; DuckDB might take it
                text = _one_line_object(data) if len(data) <= MAX_RECORD_BYTES else None
                if text is None:
                    framed.append(path)
                    continue
                digest = content_hash()
                digest.update(data)
                report.fingerprints[path] = fingerprint(digest)
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
        longest = [_FRAMED_LINE_BYTES]
        with open(framed, "w", encoding="utf-8") as out:
            report.empty_files.extend(
                frame_files(paths, out, files.display, files.sizes, report.fingerprints, longest)
            )
        if framed.stat().st_size == 0:
            return
        # DuckDB's JSON reader holds buffers of its maximum object size: sized to the longest line
        # written (characters: up to 4 bytes each), not the largest a record may be (96 MB), they
        # stay within DUCKDB_MEMORY_LIMIT on a 2 GB file of ordinary records
        object_size = min(_FRAMED_LINE_BYTES, max(4 * longest[0] + 1024, 1024 * 1024))
        con = self.con
        con.execute(
            f"""
CREATE OR REPLACE TEMP TABLE framed AS
WITH lines AS (
    SELECT f AS _source_file, n AS _line_number, e AS _error, t AS _raw_line
    FROM read_ndjson(?, columns={{'f': 'VARCHAR', 'n': 'BIGINT', 'e': 'VARCHAR', 't': 'VARCHAR'}},
                     format='newline_delimited', maximum_object_size={object_size})
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
