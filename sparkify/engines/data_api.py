"""The Redshift Data API as a connection: [DWH] CONNECTION = data-api.

Statements go over HTTPS with IAM credentials from boto3's standard chain
(execute_statement, describe_statement, get_statement_result), so the warehouse
needs no open port. ``DataApiConnection`` offers what the engines use of a
psycopg2 connection - ``cursor().execute(sql, params)``, ``fetchall()``,
``close()``, ``autocommit`` - so the dialect (``RedshiftEngine``) is the same
whichever way its statements travel.

- One Data API session per connection: the first statement opens it
  (SessionKeepAliveSeconds), every later one passes its SessionId, so BEGIN ...
  COMMIT (Engine.transaction), LOCK and pg_backend_pid() mean what they mean on
  one psycopg2 connection.
- Parameters: psycopg2's %s become :p1, :p2 ... with text values (Redshift
  converts them). The API takes neither a NULL nor an empty value, so None and
  '' are written into the statement by sparkify.quoting instead.
- A statement is polled with a bounded backoff (0.1 s doubling to 5 s, at most
  STATEMENT_TIMEOUT_SECONDS); a long one shows a waiting line on a terminal.
- Results come a page at a time (NextToken), typed from each Field and the
  column's type name.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
import time
from collections.abc import Callable, Sequence
from decimal import Decimal

from sparkify import quoting
from sparkify.config import DataApi
from sparkify.progress import Waiting

log = logging.getLogger(__name__)

# A session lives this long after its last statement ends: a crashed run's session, with its
# open transaction and the run lock, is gone two minutes after its last statement
# (SessionKeepAliveSeconds: https://docs.aws.amazon.com/redshift-data/latest/APIReference/API_ExecuteStatement.html).
# A run's statements follow each other closely; only the listing of the input runs between two
# of them for long (about 100 s per million S3 keys).
SESSION_KEEPALIVE_SECONDS = 120
# The longest one statement may run before it is cancelled (a COPY of a large prefix is the longest).
STATEMENT_TIMEOUT_SECONDS = 6 * 3600.0
FIRST_POLL_SECONDS = 0.1
MAX_POLL_SECONDS = 5.0
# A statement still running after this long gets a waiting line (terminal only).
SHOW_WAITING_AFTER_SECONDS = 2.0

RUNNING = ("SUBMITTED", "PICKED", "STARTED")

_PLACEHOLDER = re.compile(r"%[s%]")


class DataApiError(Exception):
    """A statement failed or the Data API refused a call; the message is one line."""


def named_parameters(
    statement: str, params: Sequence | None, *, backslash_escapes: bool = False
) -> tuple[str, list[dict[str, str]]]:
    """psycopg2's statement and parameters as the Data API's: %s -> :p1 ... and their text values.

    Without params the statement goes as is (psycopg2 reads no % then either);
    with them %% is a %. None and '' cannot be Data API values (a value must be
    at least one character): they are written into the statement as NULL and ''.
    """
    if params is None:
        return statement, []
    values = iter(params)
    parameters: list[dict[str, str]] = []

    def replace(match: re.Match) -> str:
        if match.group() == "%%":
            return "%"
        try:
            value = next(values)
        except StopIteration:
            raise DataApiError("the statement has more %s placeholders than parameters") from None
        text = _text(value)
        if text is None or text == "":
            return quoting.parameter_literal(text, backslash_escapes=backslash_escapes)
        name = f"p{len(parameters) + 1}"
        parameters.append({"name": name, "value": text})
        return f":{name}"

    sql = _PLACEHOLDER.sub(replace, statement)
    if next(values, _END) is not _END:
        raise DataApiError("the statement has fewer %s placeholders than parameters")
    return sql, parameters


_END = object()


def _text(value) -> str | None:
    """A parameter's value as the text Redshift converts to the column's type."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dt.datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, (dt.date, dt.time)):
        return value.isoformat()
    if isinstance(value, float):
        return repr(value)
    return str(value)


def _timestamp(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00"))


# Column types whose values the Data API sends as text, and what they are in Python
# (what psycopg2 returns for them on a direct connection).
_CONVERT: dict[str, Callable[[str], object]] = {
    "numeric": Decimal,
    "decimal": Decimal,
    "timestamp": _timestamp,
    "timestamptz": _timestamp,
    "date": dt.date.fromisoformat,
}


def field_value(field: dict, type_name: str | None = None):
    """One value of a result record (the Field union), typed like psycopg2's."""
    if field.get("isNull"):
        return None
    for key in ("longValue", "doubleValue", "booleanValue", "blobValue"):
        if key in field:
            return field[key]
    text = field.get("stringValue")
    if text is None:
        return None
    convert = _CONVERT.get((type_name or "").lower())
    return convert(text) if convert else text


class DataApiConnection:
    """A psycopg2-like connection whose statements go through the Redshift Data API."""

    autocommit = True  # every statement commits unless inside BEGIN ... COMMIT, as psycopg2 with autocommit
    copies_from_stdin = False  # no COPY ... FROM STDIN over HTTPS
    Error = DataApiError  # what its statements raise (PEP 249's optional Connection.Error, as psycopg2's)

    def __init__(
        self,
        client,
        target: DataApi,
        *,
        backslash_escapes: bool = False,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        timeout: float = STATEMENT_TIMEOUT_SECONDS,
        keepalive: int = SESSION_KEEPALIVE_SECONDS,
    ):
        self.client = client
        self.target = target
        self.backslash_escapes = backslash_escapes
        self.sleep = sleep
        self.clock = clock
        self.timeout = timeout
        self.keepalive = keepalive
        self.session_id: str | None = None
        self.closed = False

    def cursor(self) -> DataApiCursor:
        return DataApiCursor(self)

    def close(self) -> None:
        # The Data API has no call that ends a session: it ends SESSION_KEEPALIVE_SECONDS after its last statement.
        self.closed = True

    def set_session(self, readonly: bool = False) -> None:
        """psycopg2's set_session(readonly=True), for the PostgreSQL dialect."""
        if readonly:
            self.run("SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY", None)

    # ------------------------------------------------------------ statements

    def run(self, statement: str, params: Sequence | None) -> list[tuple]:
        """Run one statement in this connection's session; its rows ([] when it has none)."""
        if self.closed:
            raise DataApiError("the connection is closed")
        sql, parameters = named_parameters(statement, params, backslash_escapes=self.backslash_escapes)
        request: dict = {"Sql": sql}
        if parameters:
            request["Parameters"] = parameters
        if self.session_id is None:
            request.update(self.target.target(), SessionKeepAliveSeconds=self.keepalive)
        else:
            request["SessionId"] = self.session_id
        started = self._call("execute_statement", **request)
        if self.session_id is None:
            self.session_id = started.get("SessionId")
        described = self._wait(started["Id"], sql)
        if not described.get("HasResultSet"):
            return []
        return self._rows(started["Id"])

    def _wait(self, statement_id: str, sql: str) -> dict:
        """Poll describe_statement until the statement ends; FINISHED's description, else DataApiError."""
        started = self.clock()
        delay = FIRST_POLL_SECONDS
        with Waiting(_label(sql), after=SHOW_WAITING_AFTER_SECONDS) as waiting:
            while True:
                described = self._call("describe_statement", Id=statement_id)
                status = described.get("Status")
                if status == "FINISHED":
                    return described
                if status == "FAILED":
                    raise DataApiError(described.get("Error") or "the statement failed (no error text)")
                if status == "ABORTED":
                    raise DataApiError("the statement was aborted (cancelled, or its session ended)")
                elapsed = self.clock() - started
                if elapsed >= self.timeout:
                    self._cancel(statement_id)
                    raise DataApiError(
                        f"the statement was still {status} after {elapsed:.0f} s and was cancelled"
                    )
                waiting.show(elapsed, status)
                self.sleep(min(delay, max(self.timeout - elapsed, 0.0)))
                delay = min(delay * 2, MAX_POLL_SECONDS)

    def _cancel(self, statement_id: str) -> None:
        try:
            self._call("cancel_statement", Id=statement_id)
        except DataApiError:  # not allowed, or it ended meanwhile: the timeout is the error to report
            log.debug("cancel_statement failed", exc_info=True)

    def _rows(self, statement_id: str) -> list[tuple]:
        rows: list[tuple] = []
        types: list[str | None] | None = None
        token = None
        while True:
            page = self._call("get_statement_result", Id=statement_id, **({"NextToken": token} if token else {}))
            if types is None:
                types = [column.get("typeName") for column in page.get("ColumnMetadata", [])]
            for record in page.get("Records", []):
                rows.append(tuple(field_value(field, types[i] if i < len(types) else None)
                                  for i, field in enumerate(record)))
            token = page.get("NextToken")
            if not token:
                return rows

    def _call(self, operation: str, **request) -> dict:
        """One Data API call; any botocore failure becomes a one-line DataApiError."""
        from sparkify.aws.faults import AwsError, aws_call  # boto3: only CONNECTION = data-api needs it

        try:
            with aws_call(f"call the Redshift Data API ({_OPERATIONS[operation]})"):
                return getattr(self.client, operation)(**request)
        except AwsError as exc:
            raise DataApiError(str(exc)) from None


_OPERATIONS = {
    "execute_statement": "ExecuteStatement",
    "describe_statement": "DescribeStatement",
    "get_statement_result": "GetStatementResult",
    "cancel_statement": "CancelStatement",
}


def _label(sql: str) -> str:
    """The start of a statement, for the waiting line: never its parameters' values."""
    words = " ".join(sql.split())
    return words if len(words) <= 48 else words[:47] + "..."


class DataApiCursor:
    """What the engines use of a psycopg2 cursor: execute, fetchall, and a with block."""

    def __init__(self, connection: DataApiConnection):
        self.connection = connection
        self.rows: list[tuple] = []

    def __enter__(self) -> DataApiCursor:
        return self

    def __exit__(self, *exc_info) -> bool:
        return False

    def execute(self, statement: str, params: Sequence | None = None) -> None:
        self.rows = self.connection.run(statement, params)

    def fetchall(self) -> list[tuple]:
        return self.rows


def new_client(region: str | None):
    """A redshift-data client: boto3's credential chain, [CLUSTER] REGION or boto3's region."""
    from sparkify.aws.clients import Clients
    from sparkify.aws.faults import AwsError

    try:
        return Clients(region).get("redshift-data")
    except AwsError as exc:
        raise DataApiError(str(exc)) from None


def connect(target: DataApi, *, backslash_escapes: bool = False) -> DataApiConnection:
    """A Data API connection to the configured cluster or workgroup (no call is made yet)."""
    return DataApiConnection(new_client(target.region), target, backslash_escapes=backslash_escapes)
