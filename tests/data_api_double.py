"""A `redshift-data` client whose statements run on the throwaway PostgreSQL server.

Real SQL on a real engine, behind the Data API's shapes: every request is
checked against botocore's service model (as a real client would check it),
a statement's status goes SUBMITTED -> STARTED -> FINISHED (or FAILED with
PostgreSQL's error text) over several describe_statement calls, results come
`page_size` records a page with a NextToken, and a session (SessionKeepAliveSeconds,
then SessionId) is one PostgreSQL connection, so BEGIN ... ROLLBACK means what it
means there; a session not used for its SessionKeepAliveSeconds after its last
statement ends, by ``clock`` (which a test may move), its open transaction rolled
back. batch_execute_statement runs its statements as one transaction.

The Data API serves only Redshift, so every statement sent to it goes through the
Redshift gate (tests/redshift_gate.py) first, unless a test puts the PostgreSQL
dialect behind the double (gate=False, and it says why).
"""

from __future__ import annotations

import datetime as dt
import re
import time
import uuid
from decimal import Decimal

import botocore.session
import psycopg2
from botocore.exceptions import ClientError, ParamValidationError
from botocore.validate import ParamValidator
from helpers import PG_PASSWORD
from redshift_gate import check

_MODEL = botocore.session.get_session().get_service_model("redshift-data")
_NAMED = re.compile(r"(?<![:\w]):(p\d+)\b")


def _check(operation: str, request: dict) -> None:
    report = ParamValidator().validate(request, _MODEL.operation_model(operation).input_shape)
    if report.has_errors():
        raise ParamValidationError(report=report.generate_report())


def _client_error(operation: str, code: str, message: str) -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": message}}, operation)


def _field(value) -> dict:
    if value is None:
        return {"isNull": True}
    if isinstance(value, bool):
        return {"booleanValue": value}
    if isinstance(value, int):
        return {"longValue": value}
    if isinstance(value, float):
        return {"doubleValue": value}
    if isinstance(value, dt.datetime):
        return {"stringValue": value.isoformat(sep=" ")}
    if isinstance(value, (dt.date, Decimal)):
        return {"stringValue": str(value)}
    if isinstance(value, (bytes, memoryview)):
        return {"blobValue": bytes(value)}
    return {"stringValue": str(value)}


class PostgresDataApi:
    """The redshift-data operations the project calls, on one PostgreSQL database."""

    def __init__(self, database: dict[str, str], *, page_size: int = 3, running: tuple[str, ...] = ("SUBMITTED", "STARTED"),
                 gate: bool = True, connect=psycopg2.connect, clock=time.monotonic):
        self.database = database  # [CLUSTER] settings of a test database (helpers.new_database)
        self.gate = gate  # every statement must pass the Redshift gate
        self.connect = connect  # psycopg2.connect, or the Redshift double's (tests/redshift_double.py)
        self.page_size = page_size
        self.running = running  # the statuses describe_statement reports before the end
        self.sessions: dict[str, psycopg2.extensions.connection] = {}
        self.clock = clock
        self.keepalive: dict[str, int] = {}  # session -> its SessionKeepAliveSeconds
        self.idle_since: dict[str, float] = {}  # session -> when its last statement ended
        self.expired: list[str] = []  # sessions ended by their keep-alive
        self.statements: dict[str, dict] = {}
        self.requests: list[tuple[str, dict]] = []
        self.describes = 0

    # ------------------------------------------------------------ the client's operations

    def execute_statement(self, **request) -> dict:
        _check("ExecuteStatement", request)
        if self.gate:
            check(request["Sql"])
        self.requests.append(("ExecuteStatement", request))
        connection, session_id = self._connection("ExecuteStatement", request)
        statement = self._new(session_id)
        try:
            self._run(connection, statement, request["Sql"], request.get("Parameters"))
        finally:
            if session_id is None:
                connection.close()
            else:
                self.idle_since[session_id] = self.clock()
        return {"Id": statement["Id"], **({"SessionId": session_id} if session_id else {})}

    def batch_execute_statement(self, **request) -> dict:
        _check("BatchExecuteStatement", request)
        for sql in request["Sqls"] if self.gate else ():
            check(sql)
        self.requests.append(("BatchExecuteStatement", request))
        connection, session_id = self._connection("BatchExecuteStatement", request)
        statement = self._new(session_id)
        try:
            # "By default, the SQL statements are run as a single transaction. If any SQL statement fails, all work is rolled back."
            self._run(connection, statement, "BEGIN", None)
            for sql in request["Sqls"]:
                if statement["Status"] == "FAILED":
                    break
                self._run(connection, statement, sql, None)
            self._run(connection, statement, "ROLLBACK" if statement["Status"] == "FAILED" else "COMMIT", None,
                      keep_error=True)
        finally:
            if session_id is None:
                connection.close()
            else:
                self.idle_since[session_id] = self.clock()
        return {"Id": statement["Id"], **({"SessionId": session_id} if session_id else {})}

    def describe_statement(self, **request) -> dict:
        _check("DescribeStatement", request)
        self.describes += 1
        statement = self._statement("DescribeStatement", request["Id"])
        statement["describes"] += 1
        answer = {"Id": statement["Id"], "HasResultSet": False}
        if statement["describes"] <= len(self.running):
            return {**answer, "Status": self.running[statement["describes"] - 1]}
        answer.update(Status=statement["Status"], HasResultSet=statement["rows"] is not None)
        if statement["Error"]:
            answer["Error"] = statement["Error"]
        return answer

    def get_statement_result(self, **request) -> dict:
        _check("GetStatementResult", request)
        self.requests.append(("GetStatementResult", request))
        statement = self._statement("GetStatementResult", request["Id"])
        if statement["Status"] != "FINISHED" or statement["describes"] <= len(self.running) or statement["rows"] is None:
            raise _client_error("GetStatementResult", "ValidationException", "Query does not have result. Please check query status with DescribeStatement.")
        start = int(request.get("NextToken", "0"))
        page = statement["rows"][start : start + self.page_size]
        answer = {
            "Records": [[_field(value) for value in row] for row in page],
            "ColumnMetadata": [{"name": name, "typeName": type_name} for name, type_name in statement["columns"]],
            "TotalNumRows": len(statement["rows"]),
        }
        if start + self.page_size < len(statement["rows"]):
            answer["NextToken"] = str(start + self.page_size)
        return answer

    def cancel_statement(self, **request) -> dict:
        _check("CancelStatement", request)
        statement = self._statement("CancelStatement", request["Id"])
        statement["Status"] = "ABORTED"
        return {"Status": True}

    # ------------------------------------------------------------ inside

    def _connection(self, operation: str, request: dict):
        session_id = request.get("SessionId")
        if session_id is not None:
            if any(key in request for key in ("ClusterIdentifier", "WorkgroupName", "Database", "DbUser", "SecretArn")):
                raise _client_error(operation, "ValidationException", "SessionId cannot be used with a cluster, workgroup or database")
            # "SessionKeepAliveSeconds: The number of seconds to keep the session alive after the query finishes"
            # (https://docs.aws.amazon.com/redshift-data/latest/APIReference/API_ExecuteStatement.html)
            if session_id in self.sessions and self.clock() - self.idle_since[session_id] > self.keepalive[session_id]:
                self.sessions.pop(session_id).close()  # its open transaction rolled back, its locks released
                self.expired.append(session_id)
            if session_id not in self.sessions:
                raise _client_error(operation, "ValidationException", f"Session {session_id} is not available")
            return self.sessions[session_id], session_id
        if ("ClusterIdentifier" in request) == ("WorkgroupName" in request):
            raise _client_error(operation, "ValidationException", "Either ClusterIdentifier or WorkgroupName is required")
        if request.get("Database") != self.database["DB_NAME"]:
            raise _client_error(operation, "ValidationException", f"database {request.get('Database')} does not exist")
        connection = self.connect(
            host=self.database["HOST"], port=self.database["DB_PORT"], dbname=self.database["DB_NAME"],
            user=self.database["DB_USER"], password=PG_PASSWORD,
        )
        connection.autocommit = True  # each statement its own transaction, unless it sends BEGIN
        if "SessionKeepAliveSeconds" in request:
            session_id = str(uuid.uuid4())
            self.sessions[session_id] = connection
            self.keepalive[session_id] = request["SessionKeepAliveSeconds"]
        return connection, session_id

    def _new(self, session_id: str | None) -> dict:
        statement = {"Id": str(uuid.uuid4()), "Status": "FINISHED", "Error": None, "rows": None, "columns": [],
                     "describes": 0, "SessionId": session_id}
        self.statements[statement["Id"]] = statement
        return statement

    def _statement(self, operation: str, statement_id: str) -> dict:
        if statement_id not in self.statements:
            raise _client_error(operation, "ResourceNotFoundException", f"Query {statement_id} does not exist")
        return self.statements[statement_id]

    def _run(self, connection, statement: dict, sql: str, parameters, keep_error: bool = False) -> None:
        if parameters:
            sql = _NAMED.sub(r"%(\1)s", sql.replace("%", "%%"))
            values = {p["name"]: p["value"] for p in parameters}  # text, as the API sends it
        else:
            values = None
        try:
            with connection.cursor() as cursor:
                cursor.execute(sql, values)
                if cursor.description is not None:
                    statement["rows"] = cursor.fetchall()
                    statement["columns"] = [(column.name, self._type_name(connection, column.type_code))
                                            for column in cursor.description]
        except psycopg2.Error as exc:
            if not (keep_error and statement["Error"]):
                statement["Status"] = "FAILED"
                statement["Error"] = "ERROR: " + str(exc).strip().splitlines()[0]

    @staticmethod
    def _type_name(connection, oid: int) -> str:
        # the double's own lookup, not a statement the engine sent: on the Redshift double's
        # underlying connection, past the gate
        with getattr(connection, "connection", connection).cursor() as cursor:
            cursor.execute("SELECT typname FROM pg_type WHERE oid = %s", (oid,))
            return cursor.fetchone()[0]

    def close(self) -> None:
        for connection in self.sessions.values():
            connection.close()
        self.sessions.clear()
