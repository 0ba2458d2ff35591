"""A Redshift double: the Redshift engine's own statements, run on the throwaway PostgreSQL server.

``RedshiftDouble.connect`` stands in for ``psycopg2.connect`` where the engine
calls it: it opens a real PostgreSQL connection and wraps it. Every statement
goes through the Redshift gate (``redshift_gate.check``) first; then

- CREATE TABLE loses only the clauses PostgreSQL lacks (DISTSTYLE, DISTKEY,
  SORTKEY, ENCODE);
- COPY ... FROM 's3://...' runs as Redshift documents it, reading moto's S3
  (``_Copy``; each behaviour cites its page);
- everything else runs as sent.

What Redshift keeps outside transactions - SYS_LOAD_ERROR_DETAIL and each
session's PG_LAST_COPY_ID - lives in the schema ``redshift_sys`` (on every
session's search_path), written by a connection of its own so that a rolled-back
COPY keeps its rejected rows there, as on Redshift.
"""

from __future__ import annotations

import datetime as dt
import gzip
import json
import re
import threading
import time
import types
from pathlib import Path

import psycopg2
from aws_helpers import BUCKET, REGION, ROLE_ARN
from data_api_double import PostgresDataApi
from helpers import PG_PASSWORD, REPO, new_database, write_config
from psycopg2.extras import execute_values
from redshift_gate import check as gate  # every statement passes the Redshift gate first

from sparkify.engines import data_api
from sparkify.engines import postgres as postgres_module

_connect = psycopg2.connect  # the real one, whatever a test patches

SYSTEM_SCHEMA = "redshift_sys"
# SYS_LOAD_ERROR_DETAIL's documented columns and types (CHAR columns come back blank-padded)
# https://docs.aws.amazon.com/redshift/latest/dg/SYS_LOAD_ERROR_DETAIL.html
_SYSTEM_DDL = f"""
CREATE SCHEMA IF NOT EXISTS {SYSTEM_SCHEMA};
CREATE SEQUENCE IF NOT EXISTS {SYSTEM_SCHEMA}.query_ids START 5000;
CREATE TABLE IF NOT EXISTS {SYSTEM_SCHEMA}.sys_load_error_detail (
    user_id integer, query_id bigint, transaction_id bigint, session_id integer,
    database_name character(64), table_id integer, start_time timestamp,
    file_name character(256), line_number bigint, column_name character(127),
    column_type character(10), column_length character(10), position integer,
    error_code integer, error_message character(512)
);
CREATE TABLE IF NOT EXISTS {SYSTEM_SCHEMA}.last_copy (session_id integer PRIMARY KEY, query_id bigint);
-- "If no COPY commands have been run in the current session, PG_LAST_COPY_ID returns -1"
-- (https://docs.aws.amazon.com/redshift/latest/dg/PG_LAST_COPY_ID.html)
CREATE OR REPLACE FUNCTION {SYSTEM_SCHEMA}.pg_last_copy_id() RETURNS integer LANGUAGE sql AS
    'SELECT COALESCE((SELECT CAST(query_id AS integer) FROM {SYSTEM_SCHEMA}.last_copy
                      WHERE session_id = pg_backend_pid()), -1)';
-- SVV_TABLES: "table_catalog, table_schema, table_name, table_type, remarks" of the tables
-- the user can see (https://docs.aws.amazon.com/redshift/latest/dg/r_SVV_TABLES.html)
CREATE OR REPLACE VIEW {SYSTEM_SCHEMA}.svv_tables AS
    SELECT table_catalog, table_schema, table_name, table_type, CAST(NULL AS text) AS remarks
    FROM information_schema.tables;
-- SVV_COLUMNS: the columns of the tables the user can see, with table_schema, table_name and
-- column_name among them (https://docs.aws.amazon.com/redshift/latest/dg/r_SVV_COLUMNS.html)
CREATE OR REPLACE VIEW {SYSTEM_SCHEMA}.svv_columns AS
    SELECT table_catalog, table_schema, table_name, column_name, ordinal_position, data_type,
           character_maximum_length
    FROM information_schema.columns;
-- STV_SLICES: one row per slice, visible to all users (a provisioned cluster of two nodes of
-- two slices here; https://docs.aws.amazon.com/redshift/latest/dg/r_STV_SLICES.html)
CREATE OR REPLACE VIEW {SYSTEM_SCHEMA}.stv_slices AS
    SELECT node, node * 2 + localslice AS slice, localslice, CAST('D' AS character(1)) AS type
    FROM generate_series(0, 1) AS node, generate_series(0, 1) AS localslice;
-- "SYS_LOAD_ERROR_DETAIL is visible to all users"
GRANT USAGE ON SCHEMA {SYSTEM_SCHEMA} TO PUBLIC;
GRANT SELECT ON ALL TABLES IN SCHEMA {SYSTEM_SCHEMA} TO PUBLIC;
"""

# https://docs.aws.amazon.com/redshift/latest/dg/r_CREATE_TABLE_NEW.html: table and column attributes
_DDL_CLAUSES = re.compile(
    r"\s*(DISTSTYLE\s+\w+|DISTKEY\s*\(\s*\w+\s*\)|DISTKEY|SORTKEY\s*\([^)]*\)|ENCODE\s+\w+)", re.I
)


class RedshiftDouble:
    """One PostgreSQL database behind Redshift's face; ``connect`` is what the engine calls."""

    def __init__(self, database: dict[str, str], password: str, s3, *, cluster_region: str = "us-west-2"):
        self.database = database  # helpers.new_database's [CLUSTER] settings
        self.password = password
        self.s3 = s3  # a boto3 S3 client on moto
        self.cluster_region = cluster_region
        self.statements: list[str] = []  # every statement sent, as sent
        self.user: str | None = None  # sessions log in as this database user instead (not the tables' owner)
        self._lock = threading.Lock()
        self._regions: dict[str, str] = {}
        self._system = self._raw()
        self._system.autocommit = True
        with self._system.cursor() as cursor:
            cursor.execute(_SYSTEM_DDL)

    def _raw(self, user: str | None = None):
        d = self.database
        return _connect(host=d["HOST"], port=d["DB_PORT"], dbname=d["DB_NAME"], user=user or d["DB_USER"],
                        password=self.password, options=f"-c search_path=public,{SYSTEM_SCHEMA}")

    def connect(self, *args, **kwargs) -> DoubleConnection:
        """psycopg2.connect's signature; SSL and the host come from the double (no SSL on the test server)."""
        connection = self._raw(self.user)
        # PostgreSQL's default READ COMMITTED, not Redshift's snapshot isolation: Redshift's system
        # views are outside any transaction's snapshot (a COPY's rejected rows show in the same
        # transaction), which the double's redshift_sys tables, written by another connection, match
        # only so. Writers are one at a time behind the run lock either way.
        return DoubleConnection(self, connection)

    def close(self) -> None:
        self._system.close()

    def record_errors(self, rows: list[tuple]) -> None:
        with self._lock, self._system.cursor() as cursor:
            for row in rows:
                cursor.execute(f"INSERT INTO {SYSTEM_SCHEMA}.sys_load_error_detail VALUES ({', '.join(['%s'] * 15)})", row)

    def set_last_copy(self, session_id: int, query_id: int) -> None:
        with self._lock, self._system.cursor() as cursor:
            cursor.execute(f"INSERT INTO {SYSTEM_SCHEMA}.last_copy VALUES (%s, %s) ON CONFLICT (session_id) "
                           "DO UPDATE SET query_id = EXCLUDED.query_id", (session_id, query_id))

    def bucket_region(self, bucket: str) -> str:
        """A bucket's region (asked once a bucket: a COPY of 20,000 files reads 20,000 objects)."""
        if bucket not in self._regions:
            self._regions[bucket] = self.s3.get_bucket_location(Bucket=bucket).get("LocationConstraint") or "us-east-1"
        return self._regions[bucket]

    def next_query_id(self) -> int:
        with self._lock, self._system.cursor() as cursor:
            cursor.execute(f"SELECT nextval('{SYSTEM_SCHEMA}.query_ids')")
            return cursor.fetchone()[0]


class DoubleConnection:
    """What the engine uses of a psycopg2 connection, every statement through the double."""

    def __init__(self, double: RedshiftDouble, connection):
        self.double = double
        self.connection = connection

    @property
    def autocommit(self):
        return self.connection.autocommit

    @autocommit.setter
    def autocommit(self, value):
        self.connection.autocommit = value

    def set_session(self, **kwargs):
        self.connection.set_session(**kwargs)

    def cursor(self) -> DoubleCursor:
        return DoubleCursor(self)

    def commit(self):
        self.connection.commit()

    def rollback(self):
        self.connection.rollback()

    def close(self):
        self.connection.close()

    @property
    def closed(self):
        return self.connection.closed


class DoubleCursor:
    def __init__(self, connection: DoubleConnection):
        self.connection = connection
        self.cursor = connection.connection.cursor()

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.cursor.close()
        return False

    @property
    def description(self):
        return self.cursor.description

    def execute(self, statement: str, params=None) -> None:
        double = self.connection.double
        double.statements.append(statement)
        gate(statement)
        text = statement.strip()
        if re.match(r"COPY\s+\w+(\s*\([^)]*\))?\s+FROM\s+'s3://", text, re.I):
            _Copy(double, self.cursor, text).run()
            return
        if re.match(r"CREATE\s+TABLE", text, re.I):
            statement = _DDL_CLAUSES.sub("", statement)
        self.cursor.execute(statement, params)

    def fetchall(self):
        return self.cursor.fetchall()

    def fetchone(self):
        return self.cursor.fetchone()

    def close(self):
        self.cursor.close()


# ------------------------------------------------------------------ warehouses on the double

JSONPATHS = REPO / "data" / "sample" / "log_json_path.json"


class Warehouses:
    """Make a Redshift warehouse on the double reading s3://BUCKET/<name>/, or a DuckDB one reading a folder."""

    def __init__(self, pg_server, s3, monkeypatch, tmp_path):
        self.pg_server, self.s3, self.monkeypatch, self.tmp_path = pg_server, s3, monkeypatch, tmp_path
        self.doubles: dict[str, RedshiftDouble] = {}
        self.by_database: dict[str, RedshiftDouble] = {}
        self.clients: dict[str, PostgresDataApi] = {}  # the Data API double of each via_api warehouse
        self.clock = time.monotonic  # what the Data API doubles read to end an idle session (a test may move it)
        s3.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": REGION})
        s3.put_object(Bucket=BUCKET, Key="log_json_path.json", Body=JSONPATHS.read_bytes())
        monkeypatch.setattr(postgres_module, "psycopg2", types.SimpleNamespace(connect=self._connect, Error=psycopg2.Error))
        monkeypatch.setattr(data_api, "FIRST_POLL_SECONDS", 0.0001)
        monkeypatch.setattr(data_api, "MAX_POLL_SECONDS", 0.001)

    def _connect(self, **kwargs):
        return self.by_database[kwargs["dbname"]].connect(**kwargs)

    def redshift(self, name: str, *, via_api: bool = False, reads: str | None = None, **s3: str) -> Path:
        """A warehouse on a double of its own, reading s3://BUCKET/<reads, else name>/; ``s3``: more [S3] settings."""
        reads = reads or name
        database = new_database(self.pg_server)
        double = RedshiftDouble(database, PG_PASSWORD, self.s3, cluster_region=REGION)
        self.doubles[name] = self.by_database[database["DB_NAME"]] = double
        cluster = {"HOST": database["HOST"], "DB_PORT": database["DB_PORT"], "DB_NAME": database["DB_NAME"],
                   "DB_USER": database["DB_USER"], "AUTH": "password", "IDENTIFIER": "sparkify-test", "REGION": REGION}
        dwh = {"ENGINE": "redshift"}
        if via_api:
            dwh["CONNECTION"] = "data-api"
            cluster = {key: cluster[key] for key in ("DB_NAME", "DB_USER", "IDENTIFIER", "REGION")}
            client = PostgresDataApi(database, page_size=1000, running=(), connect=double.connect,
                                     clock=lambda: self.clock())
            self.clients[name] = client
            self.monkeypatch.setattr(data_api, "new_client", lambda region: client)
        return write_config(self.tmp_path / f"{name}.cfg", {
            "DWH": dwh,
            "CLUSTER": cluster,
            "IAM_ROLE": {"ARN": ROLE_ARN},
            "S3": {"LOG_DATA": f"s3://{BUCKET}/{reads}/log_data", "SONG_DATA": f"s3://{BUCKET}/{reads}/song_data",
                   "LOG_JSONPATH": f"s3://{BUCKET}/log_json_path.json", "REGION": REGION,
                   "MANIFEST_PREFIX": f"s3://{BUCKET}/manifests/{name}", **s3},
        })

    def upload(self, name: str, root: Path, relative: list[str] | None = None) -> None:
        """Put root's files (or these, relative to root) under s3://BUCKET/<name>/."""
        paths = [root / r for r in relative] if relative is not None else sorted(root.rglob("*.json"))
        for path in paths:
            key = f"{name}/{path.relative_to(root).as_posix()}"
            self.s3.put_object(Bucket=BUCKET, Key=key, Body=path.read_bytes())

    def duckdb(self, name: str, root: Path) -> Path:
        return write_config(self.tmp_path / f"{name}.cfg", {
            "DWH": {"DUCKDB_PATH": str(self.tmp_path / f"{name}.duckdb")},
            "S3": {"LOG_DATA": str(root / "log_data"), "SONG_DATA": str(root / "song_data"),
                   "LOG_JSONPATH": str(JSONPATHS)},
        })


# ------------------------------------------------------------------ COPY

_TOKEN = re.compile(r"'((?:[^'\\]|''|\\.)*)'|(\()([^)]*)\)|([^\s']+)")


def _unquote(text: str) -> str:
    return re.sub(r"\\(.)", r"\1", text.replace("''", "'"))


class CopyError(Exception):
    """A rejected record: (column, type, length, position, code, message)."""

    def __init__(self, column: str, column_type: str, length: str, code: int, message: str):
        super().__init__(message)
        self.detail = (column, column_type, length, 0, code, message)


class _Missing(Exception):
    """A manifest entry that is not mandatory and not found: COPY goes on without it."""


class _Copy:
    """COPY table [(columns)] FROM 's3://...' with the parameters the toolkit sends, as documented
    (https://docs.aws.amazon.com/redshift/latest/dg/r_COPY.html)."""

    def __init__(self, double: RedshiftDouble, cursor, text: str):
        self.double = double
        self.cursor = cursor
        head = re.match(r"COPY\s+(\w+)\s*(?:\(([^)]*)\))?\s+FROM\s+'((?:[^']|'')*)'\s*(.*)$", text, re.I | re.S)
        self.table, columns, self.source, rest = head.groups()
        self.source = _unquote(self.source)
        self.options: dict[str, str | None] = {}
        words = [m.group(1) if m.group(1) is not None else m.group(4) for m in _TOKEN.finditer(rest)]
        i = 0
        while i < len(words):
            name = words[i].upper()
            value = None
            if name == "FORMAT":
                i += 1 + (words[i + 1].upper() == "AS")
                name = words[i].upper()  # JSON
            if name in ("IAM_ROLE", "REGION", "JSON", "TIMEFORMAT", "MAXERROR", "COMPUPDATE", "STATUPDATE"):
                value = words[i + 1]
                i += 1
            self.options[name] = _unquote(value) if value is not None else None
            i += 1
        self.columns = self._columns([c.strip() for c in columns.split(",")] if columns else None)

    def _columns(self, named):
        self.cursor.execute(
            "SELECT column_name, data_type, character_maximum_length FROM information_schema.columns "
            "WHERE table_schema = current_schema() AND table_name = %s ORDER BY ordinal_position", [self.table])
        found = {name: (kind, width) for name, kind, width in self.cursor.fetchall()}
        if not found:
            raise self.fail(f'relation "{self.table}" does not exist')
        return [(name, *found[name]) for name in (named or found)]

    def fail(self, message: str):
        """Fail the COPY with Redshift's message, as a real PostgreSQL error (so the transaction aborts)."""
        try:
            self.cursor.execute("DO $$ BEGIN RAISE EXCEPTION '%%', %s; END $$", [message])
        except psycopg2.Error as exc:
            return exc
        raise AssertionError("unreachable")

    # -------------------------------------------------------------- S3

    def _read(self, uri: str, what: str) -> bytes:
        bucket, _, key = uri[len("s3://"):].partition("/")
        region = self.double.bucket_region(bucket)
        # "If the REGION parameter is specified, all resources, including a manifest file or multiple
        # Amazon S3 buckets, must be located in the specified Region"; without it COPY "assumes that
        # the Amazon S3 bucket is in the same AWS Region as the Amazon Redshift cluster"
        # (https://docs.aws.amazon.com/redshift/latest/dg/copy-parameters-data-source-s3.html#copy-region)
        expected = self.options.get("REGION") or self.double.cluster_region
        if region != expected:
            raise self.fail(f"S3ServiceException:The bucket you are attempting to access must be addressed "
                            f"using the specified endpoint ({what} {uri} is in {region}, not {expected})")
        try:
            return self.double.s3.get_object(Bucket=bucket, Key=key)["Body"].read()
        except self.double.s3.exceptions.NoSuchKey:
            if what is None:  # a manifest entry that is not mandatory
                raise _Missing() from None
            raise self.fail(f"S3ServiceException:The specified key does not exist. ({what} {uri})") from None

    def files(self) -> list[tuple[str, bool]]:
        """The manifest's (url, mandatory) entries: each is read in turn, and a missing one fails the COPY
        only if mandatory."""
        if "MANIFEST" not in self.options:
            raise AssertionError("the double runs COPY with MANIFEST only, the toolkit's one form")
        # https://docs.aws.amazon.com/redshift/latest/dg/loading-data-files-using-manifest.html:
        # "mandatory ... If true, COPY terminates if it doesn't find the file"
        manifest = json.loads(self._read(self.source, "manifest"))
        return [(entry["url"], bool(entry.get("mandatory"))) for entry in manifest["entries"]]

    # -------------------------------------------------------------- JSON

    def paths(self) -> list | None:
        """The jsonpaths file's paths, or None for 'auto' / 'auto ignorecase'."""
        fmt = self.options.get("JSON") or "auto"
        if fmt.lower() in ("auto", "auto ignorecase"):
            return None
        return [_parse_path(path) for path in json.loads(self._read(fmt, "jsonpaths file"))["jsonpaths"]]

    def run(self) -> None:
        role = self.options.get("IAM_ROLE")
        if not role or not re.match(r"^arn:aws[a-z-]*:iam::\d{12}:role/", role):
            raise self.fail("Invalid credentials. Must be of the format: credentials 'aws_iam_role=...'")
        files = self.files()
        paths = self.paths()
        ignorecase = (self.options.get("JSON") or "").lower() == "auto ignorecase"
        maxerror = int(self.options.get("MAXERROR") or 0)
        query_id = self.double.next_query_id()
        self.cursor.execute("SELECT pg_backend_pid(), current_database(), CAST(%s AS regclass)::oid", [self.table])
        session_id, database, table_id = self.cursor.fetchone()
        # "The value for PG_LAST_COPY_ID is updated when the COPY command begins the load process"
        self.double.set_last_copy(session_id, query_id)
        started = dt.datetime.now(dt.UTC).replace(tzinfo=None)
        rows, errors = [], []
        for uri, mandatory in files:
            data = self._input(uri, mandatory)
            if data is None:
                continue
            for line, record in _records(data):
                try:
                    rows.append(self._row(record, paths, ignorecase))
                except CopyError as error:
                    errors.append((uri, line, error.detail))
                    # "If the load returns the error_count number of errors or greater, the load fails"
                    # (https://docs.aws.amazon.com/redshift/latest/dg/copy-parameters-data-load.html#copy-maxerror)
                    if len(errors) >= max(maxerror, 1):
                        break
            if errors and len(errors) >= max(maxerror, 1):
                break
        self.double.record_errors([
            (None, query_id, None, session_id, database, table_id, started, _char(uri, 256), line, _char(c, 127),
             _char(t, 10), _char(n, 10), pos, code, _char(message, 512))
            for uri, line, (c, t, n, pos, code, message) in errors
        ])
        if errors and len(errors) >= max(maxerror, 1):
            raise self.fail(f"Load into table '{self.table}' failed.  Check 'sys_load_error_detail' system table for details.")
        if rows:
            names = ", ".join(name for name, _, _ in self.columns)
            execute_values(self.cursor, f"INSERT INTO {self.table} ({names}) VALUES %s", rows, page_size=1000)

    def _input(self, uri: str, mandatory: bool) -> bytes | None:
        """An input file's bytes (None: missing and not mandatory); with GZIP, uncompressed: "The COPY
        operation reads each compressed file and uncompresses the data as it loads", so a rejected row's
        line_number is its line in the uncompressed file
        (https://docs.aws.amazon.com/redshift/latest/dg/copy-parameters-file-compression.html)."""
        try:
            data = self._read(uri, "input file" if mandatory else None)
        except _Missing:
            return None
        if "GZIP" not in self.options:
            return data
        try:
            return gzip.decompress(data)
        except (OSError, EOFError) as exc:
            raise self.fail(f"gzip: {uri}: {exc}") from None

    def _row(self, record, paths, ignorecase: bool) -> tuple:
        if isinstance(record, _Malformed):
            raise CopyError("", "", "", 1224, "Invalid JSON object")
        if paths is not None:
            values = [_follow(record, path) for path in paths]
            if len(values) != len(self.columns):
                raise CopyError("", "", "", 8001, "Number of jsonpaths and the number of columns should match")
        else:
            if not isinstance(record, dict):
                raise CopyError("", "", "", 1224, "Invalid JSONPath format: Member is not an object.")
            keys = {(k.lower() if ignorecase else k): v for k, v in record.items()}
            values = [keys.get(name) for name, _, _ in self.columns]
        return tuple(self._value(value, column) for value, column in zip(values, self.columns))

    def _value(self, value, column):
        """One JSON value into one column, as COPY from JSON converts it
        (https://docs.aws.amazon.com/redshift/latest/dg/copy-usage_notes-copy-from-json.html)."""
        name, kind, width = column
        short = {"character varying": "varchar", "integer": "int4", "bigint": "int8",
                 "double precision": "float8"}.get(kind, kind)
        if value is None:
            return None
        if kind == "character varying":
            # a number, an object or an array loads as its JSON text; a string as itself
            text = value if isinstance(value, str) else json.dumps(value, separators=(",", ":"))
            # BLANKSASNULL / EMPTYASNULL (https://docs.aws.amazon.com/redshift/latest/dg/copy-parameters-data-conversion.html)
            if "EMPTYASNULL" in self.options and text == "":
                return None
            if "BLANKSASNULL" in self.options and text != "" and not text.strip():
                return None
            if width is not None and len(text.encode("utf-8")) > width:
                # VARCHAR widths are bytes (https://docs.aws.amazon.com/redshift/latest/dg/r_Character_types.html)
                raise CopyError(name, short, str(width), 1204, "String length exceeds DDL length")
            return text
        if isinstance(value, bool) or isinstance(value, (dict, list)):
            raise CopyError(name, short, "", 1207, "Invalid digit, Value '" + str(value)[:1] + "', Pos 0, Type: " + short)
        # a quoted number converts implicitly; anything else is an error
        text = value.strip() if isinstance(value, str) else json.dumps(value)
        if kind in ("integer", "bigint"):
            if not re.fullmatch(r"[+-]?[0-9]+", text):
                raise CopyError(name, short, "", 1207, f"Invalid digit, Value '{text[:1]}', Pos 0, Type: {short}")
            number = int(text)
            limit = 2**31 if kind == "integer" else 2**63
            if not -limit <= number < limit:
                raise CopyError(name, short, "", 1216, f"Overflow, Value '{text}', Pos 0, Type: {short}")
            return number
        try:
            return float(text)
        except ValueError:
            raise CopyError(name, short, "", 1207, f"Invalid digit, Value '{text[:1]}', Pos 0, Type: {short}") from None


def _char(text, width: int):
    """A value as a CHAR(width) column keeps it: at most width bytes, blank-padded."""
    if text is None:
        return None
    data = str(text).encode("utf-8")[:width].decode("utf-8", "ignore")
    return data


def _parse_path(path: str) -> list:
    """A JSONPath of names and indexes: $.a, $['a'], $["a"], $[0]
    (https://docs.aws.amazon.com/redshift/latest/dg/copy-usage_notes-copy-from-json.html#copy-usage-json-options)."""
    steps = re.findall(r"\.(\w+)|\[\s*'([^']*)'\s*\]|\[\s*\"([^\"]*)\"\s*\]|\[\s*(\d+)\s*\]", path[1:])
    return [int(index) if index else (dot or single or double) for dot, single, double, index in steps]


def _follow(record, steps):
    value = record
    for step in steps:
        if isinstance(step, int) and isinstance(value, list) and step < len(value):
            value = value[step]
        elif isinstance(step, str) and isinstance(value, dict):
            value = value.get(step)  # names are case-sensitive with a jsonpaths file
        else:
            return None
    return value


def _records(data: bytes):
    """(line number of its last line, value) of each JSON object or array in a file, one after another;
    text that is not JSON is one error at its line (COPY goes on at the next line)."""
    text = data.decode("utf-8", "replace")
    decoder = json.JSONDecoder()
    position, size = 0, len(text)
    while True:
        while position < size and text[position] in " \t\r\n":
            position += 1
        if position >= size:
            return
        try:
            value, end = decoder.raw_decode(text, position)
        except json.JSONDecodeError:
            line = text.count("\n", 0, position) + 1
            yield line, _Malformed()
            newline = text.find("\n", position)
            position = size if newline < 0 else newline + 1
            continue
        yield text.count("\n", 0, end - 1) + 1, value
        position = end


class _Malformed:
    """A record COPY cannot parse."""
