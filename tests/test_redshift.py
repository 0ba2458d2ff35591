"""Redshift without a cluster: the rendered SQL, the COPY statement, and the load-error path.

The load path runs RedshiftEngine against FakeRedshift, a psycopg2-like
connection that passes every statement through the Redshift gate
(tests/redshift_gate.py): COPY is scripted (rows loaded, rows rejected, or a failure), and
what Redshift keeps outside transactions - sys_load_error_detail and the session's
last-COPY state - lives in a small DuckDB database where the engine's own
queries about them are evaluated as written.
"""

from __future__ import annotations

import logging
import os
import re
import ssl
import sys
from dataclasses import dataclass, field

import duckdb
import psycopg2
import pytest
from helpers import write_config
from redshift_gate import check

import sql_queries as sql
from sparkify import aws, rules, staging
from sparkify.config import load_config
from sparkify.engines.duckdb import DuckDBEngine
from sparkify.engines.postgres import PostgresEngine
from sparkify.engines.redshift import RedshiftEngine, copy_statement
from sparkify.errors import ConfigError, InputError, WarehouseError
from sparkify.incremental import Batch, SourceFile
from sparkify.staging import StagingResult

ARN = "arn:aws:iam::123456789012:role/sparkify-dwh-s3-read"
LOG_DATA = "s3://udacity-dend/log_data"
SONG_DATA = "s3://udacity-dend/song_data"
JSONPATHS = "s3://udacity-dend/log_json_path.json"
MANIFESTS = "s3://my-sparkify/manifests"
EVENTS_FILE = "s3://udacity-dend/log_data/2018/11/2018-11-03-events.json"
SONG_FILE = "s3://udacity-dend/song_data/A/B/C/TRABCEL128F932E5AA.json"
LOAD_FAILED = "Load into table 'staging_events' failed.  Check 'stl_load_errors' system table for details."
SESSION = 1073815552


@pytest.fixture
def config(tmp_path):
    return load_config(write_config(tmp_path / "dwh.cfg", {
        "DWH": {"ENGINE": "redshift"},
        "CLUSTER": {"HOST": "dwh.abc123.us-west-2.redshift.amazonaws.com", "DB_PORT": "5439",
                    "DB_NAME": "sparkify", "DB_USER": "sparkify_admin", "IDENTIFIER": "dwh", "REGION": "us-west-2"},
        "IAM_ROLE": {"ARN": ARN},
        "S3": {"LOG_DATA": LOG_DATA, "SONG_DATA": SONG_DATA, "LOG_JSONPATH": JSONPATHS, "REGION": "us-west-2",
               "MANIFEST_PREFIX": MANIFESTS},
    }))


# ----------------------------------------------------------------- the fake connection


@dataclass
class Copy:
    """What one COPY does on the fake cluster."""

    loaded: int = 0
    rejected: list[tuple] = field(default_factory=list)  # (file_name, line_number, column_name, error_message, column_type, position)
    error: str | None = None  # the COPY fails with this message
    starts_load: bool = True  # False: fails before loading (access denied, bad role), so no load errors


class FakeCursor:
    def __init__(self, connection: FakeRedshift):
        self.connection = connection
        self.rows: list[tuple] = []

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        return False

    def execute(self, statement, params=None):
        self.rows = self.connection.run(statement, params)

    def fetchall(self):
        return self.rows


class FakeRedshift:
    """A psycopg2-like connection to a pretend cluster; records every statement."""

    autocommit = True

    def __init__(self, **copies: Copy):
        self.copies = copies  # by table
        self.statements: list[tuple[str, object]] = []
        self.aborted = False
        self.system = duckdb.connect(":memory:")
        self.system.execute(
            "CREATE TABLE sys_load_error_detail (session_id INTEGER, query_id BIGINT, file_name VARCHAR, "
            "line_number BIGINT, column_name VARCHAR, error_message VARCHAR, column_type VARCHAR, position INTEGER)"
        )
        self.system.execute("CREATE TABLE copy_state (last_copy_id INTEGER, last_copy_count BIGINT)")
        self.system.execute("INSERT INTO copy_state VALUES (-1, 0)")
        self.system.execute(f"CREATE MACRO pg_backend_pid() AS {SESSION}")
        self.system.execute("CREATE MACRO pg_last_copy_id() AS (SELECT last_copy_id FROM copy_state)")
        self.system.execute("CREATE MACRO pg_last_copy_count() AS (SELECT last_copy_count FROM copy_state)")
        self.next_query = 5000
        self.load_errors: list[tuple] = []  # what was written to load_errors (committed or not)

    def cursor(self):
        return FakeCursor(self)

    def close(self):
        pass

    def run(self, statement: str, params):
        check(statement)  # what Redshift would refuse fails here (tests/redshift_gate.py)
        self.statements.append((statement, params))
        text = statement.strip()
        if text.upper() == "ROLLBACK":
            self.aborted = False
            return []
        if self.aborted:
            raise psycopg2.InternalError("current transaction is aborted, commands ignored until end of transaction block")
        if text.upper().startswith("COPY "):
            return self._copy(text)
        if "sys_load_error_detail" in text or "pg_last_copy" in text:
            return self.system.execute(text.replace("%s", "?"), params).fetchall()
        if text.startswith("INSERT INTO load_errors") and params:
            self.load_errors.extend(params[i : i + 6] for i in range(0, len(params), 6))
        if text.startswith("SELECT COUNT(*) FROM load_errors"):
            return [(len(self.load_errors),)]
        if text.startswith("SELECT COUNT(*) FROM"):
            return [(self.copies.get(text.split()[-1], Copy()).loaded,)]
        if text.startswith("SELECT table_name, source_file, line_number, column_name, reason"):  # etl.py --rejects
            rows = sorted(self.load_errors, key=lambda row: (row[1], row[2]))
            return [(table, file, line, column, reason) for table, file, line, column, reason, _ in rows]
        if text.startswith("SELECT table_name, source_file, line_number, reason"):
            rows = sorted(self.load_errors, key=lambda row: (row[1], row[2]))
            return [(table, file, line, reason) for table, file, line, _, reason, _ in rows[:3]]
        if text.upper() == "BEGIN" or text.startswith("DELETE FROM load_errors"):
            self.load_errors = [] if text.startswith("DELETE") else self.load_errors
        return []

    def _copy(self, text: str):
        table = text.split()[1]
        copy = self.copies.get(table, Copy())
        self.next_query += 1
        query = self.next_query
        if copy.starts_load:
            for filename, line_number, colname, reason, column_type, position in copy.rejected:
                # system tables are CHAR columns: values come back padded
                self.system.execute(
                    "INSERT INTO sys_load_error_detail VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    [SESSION, query, filename.ljust(256), line_number, colname.ljust(127), reason.ljust(512),
                     column_type.ljust(10), position],
                )
            self.system.execute("UPDATE copy_state SET last_copy_id = ?, last_copy_count = ?",
                                [query, 0 if copy.error else copy.loaded])
        if copy.error:
            self.aborted = True
            raise psycopg2.InternalError(copy.error)
        return []

    # what the tests look at
    def executed(self) -> list[str]:
        return [statement.strip() for statement, _ in self.statements]

    def load_error_rows(self) -> list[tuple]:
        rows = []
        for statement, params in self.statements:
            if statement.startswith("INSERT INTO load_errors") and params:  # not the rule statements
                rows.extend(tuple(params[i : i + 6]) for i in range(0, len(params), 6))
        return rows


# A batch of one new event file and one new song file.
BATCH = Batch(
    files={
        "LOG_DATA": [SourceFile("LOG_DATA", "2018/11/2018-11-03-events.json", 4096, "etag-events", EVENTS_FILE)],
        "SONG_DATA": [SourceFile("SONG_DATA", "A/B/C/TRABCEL128F932E5AA.json", 250, "etag-song", SONG_FILE)],
    },
    run_id="run-1",
)


@pytest.fixture(autouse=True)
def manifests(monkeypatch) -> dict[str, list]:
    """The manifests the engine writes to S3 (written for real with moto in test_incremental_s3)."""
    written: dict[str, list] = {}
    monkeypatch.setattr(aws, "write_manifest", lambda uri, files: written.__setitem__(uri, files))
    monkeypatch.setattr(aws, "bucket_region", lambda uri: "us-west-2")
    return written


def load(config, fake: FakeRedshift, max_errors: int) -> StagingResult:
    """The pipeline's staging step on the fake cluster, with its MAX_ERRORS decision."""
    result = staging.load(RedshiftEngine(config, fake), None, None, max_errors, BATCH)
    result.check(max_errors)
    return result


def kept(table: str, reject: tuple) -> tuple:
    """The load_errors row of a rejected row read from SYS_LOAD_ERROR_DETAIL (which keeps no raw line)."""
    file, line, column, reason, column_type, position = reject
    return (table, file, line, column, reason, f"{column} ({column_type}), position {position}")


def event_reject(line: int, column: str = "ts", reason: str = "Invalid digit, Value 'a', Pos 0, Type: Long") -> tuple:
    return (EVENTS_FILE, line, column, reason, "int8", 0)


# ----------------------------------------------------------------- DDL


@pytest.mark.parametrize("name", sql.ALL_TABLES)
def test_redshift_ddl_has_the_distribution_and_sort_keys(name, config):
    ddl = RedshiftEngine(config, FakeRedshift()).render(sql.CREATE_TABLES[name], name)
    assert ddl.rstrip().endswith(")\n" + sql.REDSHIFT_ATTRIBUTES[name])
    assert ddl.strip().startswith(f"CREATE TABLE {name} (")
    assert "{" not in ddl


def test_every_table_has_redshift_attributes():
    assert set(sql.REDSHIFT_ATTRIBUTES) == set(sql.CREATE_TABLES)
    assert sql.REDSHIFT_ATTRIBUTES["songplays"] == "DISTKEY (start_time) SORTKEY (start_time)"
    assert sql.REDSHIFT_ATTRIBUTES["users"].startswith("DISTSTYLE ALL")


@pytest.mark.parametrize("engine_class", [DuckDBEngine, PostgresEngine], ids=["duckdb", "postgres"])
def test_local_engines_render_no_redshift_attributes(engine_class, config):
    engine = engine_class(config, None)
    for name, ddl in sql.CREATE_TABLES.items():
        rendered = engine.render(ddl, name)
        for word in ("DISTSTYLE", "DISTKEY", "SORTKEY"):
            assert word not in rendered, name
        assert rendered.rstrip().endswith(")")


def test_local_ddl_runs_on_duckdb(config):
    con = duckdb.connect(":memory:")
    engine = DuckDBEngine(config, con)
    for name, ddl in sql.CREATE_TABLES.items():
        con.execute(engine.render(ddl, name))
    assert {row[0] for row in con.execute("SELECT table_name FROM information_schema.tables").fetchall()} == set(sql.ALL_TABLES)


# ----------------------------------------------------------------- the COPY statement


def events_copy(**changes) -> str:
    arguments = dict(iam_role=ARN, region="us-west-2", json_format=JSONPATHS, max_errors=5,
                     columns=sql.STAGING_EVENTS_COLUMNS)
    arguments.update(changes)
    source = arguments.pop("source", LOG_DATA)
    return copy_statement("staging_events", source, **arguments)


def test_events_copy_statement():
    statement = events_copy()
    assert statement.startswith(f"COPY staging_events ({', '.join(sql.STAGING_EVENTS_COLUMNS)})")
    for part in (
        f"FROM '{LOG_DATA}'",
        f"IAM_ROLE '{ARN}'",
        f"FORMAT AS JSON '{JSONPATHS}'",
        "TIMEFORMAT 'epochmillisecs'",
        "BLANKSASNULL EMPTYASNULL",
        "COMPUPDATE OFF STATUPDATE OFF",
        "MAXERROR 6",  # one more than MAX_ERRORS: Redshift fails *at* MAXERROR
        "REGION 'us-west-2'",
    ):
        assert part in statement


@pytest.mark.parametrize("max_errors, sent", [(0, 1), (5, 6), (99999, 100000), (100000, 100000), (10**9, 100000)])
def test_maxerror_is_one_more_than_max_errors_up_to_redshifts_limit(max_errors, sent):
    # "If the load returns the error_count number of errors or greater, the load fails" (COPY's MAXERROR);
    # the local engines fail only past MAX_ERRORS, and Redshift takes at most 100000.
    assert f"MAXERROR {sent}\n" in events_copy(max_errors=max_errors) + "\n"


def test_songs_copy_statement_uses_auto_ignorecase(config):
    statements = dict((table, statement) for table, _, statement in RedshiftEngine(config, FakeRedshift()).copies(BATCH, 0))
    songs = statements["staging_songs"]
    assert songs.startswith("COPY staging_songs\n")
    # a daily run COPYs one manifest of the new files, never the whole prefix
    assert f"FROM '{MANIFESTS}/run-1/staging_songs.manifest'" in songs
    assert songs.endswith("\nMANIFEST")
    assert "FORMAT AS JSON 'auto ignorecase'" in songs
    assert "MAXERROR 1" in songs
    assert f"FORMAT AS JSON '{JSONPATHS}'" in statements["staging_events"]
    assert f"IAM_ROLE '{ARN}'" in statements["staging_events"]


@pytest.mark.parametrize("max_errors", [0, 5])
def test_copy_statements_carry_no_keys(config, max_errors):
    for _, _, statement in RedshiftEngine(config, FakeRedshift()).copies(BATCH, max_errors):
        upper = statement.upper()
        for secret in ("ACCESS_KEY_ID", "SECRET", "CREDENTIALS", "SESSION_TOKEN", "AKIA"):
            assert secret not in upper
        assert f"MAXERROR {max_errors + 1}" in statement


# AWS's documented example key id, built so no scanner takes it for a real one
ACCESS_KEY_LOOKALIKE = "AKIA" + "IOSFODNN7EXAMPLE"


@pytest.mark.parametrize(
    "changes, message",
    [
        ({"iam_role": "arn:aws:iam::12345:role/short-account"},
         "[IAM_ROLE] ARN 'arn:aws:iam::12345:role/short-account' is not an IAM role ARN - run setup_cluster.py or fix it"),
        ({"iam_role": ACCESS_KEY_LOOKALIKE},  # an access key pasted where the role goes
         f"[IAM_ROLE] ARN '{ACCESS_KEY_LOOKALIKE}' is not an IAM role ARN - run setup_cluster.py or fix it"),
        ({"iam_role": ARN + "' CREDENTIALS 'aws_access_key_id=x"}, "is not an IAM role ARN"),
        ({"region": "us-west"}, "[S3] REGION 'us-west' is not an AWS region like us-west-2"),
        ({"region": "us-west-2' IAM_ROLE 'x"}, "is not an AWS region like us-west-2"),
        ({"source": "/home/me/data/log_data"}, "COPY staging_events: /home/me/data/log_data is not an s3:// URI"),
        ({"source": "data/log_data"}, "COPY staging_events: data/log_data is not an s3:// URI"),
    ],
    ids=["short account", "access key", "injection", "region", "region injection", "local folder", "relative folder"],
)
def test_bad_copy_inputs_are_refused(changes, message):
    with pytest.raises(WarehouseError) as caught:
        events_copy(**changes)
    assert message in str(caught.value)


def test_quote_in_a_source_stays_inside_the_literal():
    statement = events_copy(source="s3://bucket/it's/log_data")
    assert "FROM 's3://bucket/it''s/log_data'" in statement


# ----------------------------------------------------------------- the load path


def test_rejected_copy_names_file_line_column_and_reason(config):
    rejects = [event_reject(7), event_reject(9, "userid", "Invalid digit, Value 'x', Pos 0, Type: Integer")]
    fake = FakeRedshift(staging_events=Copy(rejected=rejects, error=LOAD_FAILED))

    with pytest.raises(InputError) as caught:
        load(config, fake, 0)

    # the same wording as on the local engines
    assert str(caught.value) == (
        "2 bad input records (MAX_ERRORS is 0): "
        f"{EVENTS_FILE}:7: Invalid digit, Value 'a', Pos 0, Type: Long; "
        f"{EVENTS_FILE}:9: Invalid digit, Value 'x', Pos 0, Type: Integer"
        " - fix the input, or allow them with --max-errors N (details: python etl.py --rejects); "
        "the star schema was not changed"
    )
    assert fake.load_error_rows() == [kept("staging_events", row) for row in rejects]
    executed = fake.executed()
    failed_copy = next(i for i, s in enumerate(executed) if s.startswith("COPY staging_events"))
    assert "ROLLBACK" in executed[failed_copy + 1 :]
    assert not any(s.startswith("COPY staging_songs") for s in executed)  # stops at the first failure
    # the rejections are kept: written after the rollback and committed
    insert = next(i for i, s in enumerate(executed) if s.startswith("INSERT INTO load_errors"))
    assert executed.index("ROLLBACK", failed_copy) < insert
    assert "COMMIT" in executed[insert:]


def test_rows_rejected_under_maxerror_are_counted(config):
    event_rejects = [event_reject(7), event_reject(9)]
    song_rejects = [(SONG_FILE, 1, "year", "Invalid digit, Value '.', Pos 4, Type: Integer", "int4", 4)]
    fake = FakeRedshift(
        staging_events=Copy(loaded=8054, rejected=event_rejects),
        staging_songs=Copy(loaded=71, rejected=song_rejects),
    )

    result = load(config, fake, 5)

    assert isinstance(result, StagingResult)
    assert result.rows == {"staging_events": 8054, "staging_songs": 71}
    assert result.rejected == 3
    assert result.first_errors == [
        ("staging_events", EVENTS_FILE, 7, "Invalid digit, Value 'a', Pos 0, Type: Long"),
        ("staging_events", EVENTS_FILE, 9, "Invalid digit, Value 'a', Pos 0, Type: Long"),
        ("staging_songs", SONG_FILE, 1, "Invalid digit, Value '.', Pos 4, Type: Integer"),
    ]
    assert fake.load_error_rows() == [kept("staging_events", r) for r in event_rejects] + [kept("staging_songs", r) for r in song_rejects]
    executed = fake.executed()
    commit = executed.index("COMMIT")
    # the input rules COPY cannot apply run on the staged rows, inside the transaction
    staged_rules = [statement.strip() for statement in rules.staged_rejects(quote=RedshiftEngine.literal)]
    assert [statement for statement in executed[:commit] if statement in staged_rules] == staged_rules
    assert "ROLLBACK" not in executed


def test_rejects_command_reads_what_copy_rejected(config):
    """etl.py --rejects on Redshift: the rows read back from SYS_LOAD_ERROR_DETAIL, grouped by reason."""
    from sparkify import report

    event_rejects = [event_reject(7), event_reject(9, "userid", "Invalid digit, Value 'x', Pos 0, Type: Integer"),
                     event_reject(12)]
    fake = FakeRedshift(staging_events=Copy(loaded=8054, rejected=event_rejects), staging_songs=Copy(loaded=71))
    load(config, fake, 5)

    found = report.rejects(RedshiftEngine(config, fake))

    assert report.format_rejects(found).splitlines() == [
        f"Rejected by the last run: 3 records - {config.describe(full=True)}",
        "       2  Invalid digit, Value 'a', Pos 0, Type: Long",
        f"          {EVENTS_FILE}:7: Invalid digit, Value 'a', Pos 0, Type: Long",
        f"          {EVENTS_FILE}:12: Invalid digit, Value 'a', Pos 0, Type: Long",
        "       1  Invalid digit, Value 'x', Pos 0, Type: Integer",
        f"          {EVENTS_FILE}:9: Invalid digit, Value 'x', Pos 0, Type: Integer",
    ]
    assert [(group["reason"], group["count"]) for group in report.rejects_dict(found)["reasons"]] == [
        ("Invalid digit, Value 'a', Pos 0, Type: Long", 2), ("Invalid digit, Value 'x', Pos 0, Type: Integer", 1)
    ]
    assert any(s.startswith("SELECT table_name, source_file, line_number, column_name, reason") for s in fake.executed())


def test_rejects_without_a_file_name_the_staging_table():
    """Rows Redshift's own input rules moved from staging keep no file or line: the table stands in."""
    from sparkify.report import Rejects, format_rejects

    found = Rejects("engine redshift, ...", [("staging_events", None, None, "ts", "missing ts")])
    assert format_rejects(found).splitlines()[1:] == ["       1  missing ts", "          staging_events: missing ts"]


def test_clean_copy_after_one_with_rejects_adds_no_rejects(config):
    # sys_load_error_detail keeps the events COPY's rows for the whole session: the
    # songs COPY, which rejected nothing, must not report them again.
    event_rejects = [event_reject(7), event_reject(9)]
    fake = FakeRedshift(staging_events=Copy(loaded=8054, rejected=event_rejects), staging_songs=Copy(loaded=71))

    result = load(config, fake, 5)

    assert result.rejected == 2
    assert fake.load_error_rows() == [kept("staging_events", row) for row in event_rejects]


def test_failed_copy_without_load_errors_points_at_the_iam_role(config):
    denied = "S3ServiceException:Access Denied,Status 403,Error AccessDenied,Rid 7F3F8A0B"
    fake = FakeRedshift(staging_events=Copy(error=denied, starts_load=False))

    with pytest.raises(WarehouseError) as caught:
        load(config, fake, 0)

    assert not isinstance(caught.value, InputError)
    message = str(caught.value)
    assert message.startswith(f"COPY staging_events from {LOG_DATA} (1 new file, manifest {MANIFESTS}/run-1/staging_events.manifest) failed: ")
    assert denied in message
    assert "IAM role" in message
    assert "[S3] REGION" in message
    assert ARN not in message
    assert fake.load_error_rows() == []


def test_failed_songs_copy_is_not_blamed_on_the_events_rejects(config):
    # The events COPY rejected one row (allowed); the songs COPY then fails
    # before loading (access denied): that is an access problem, not bad input.
    denied = "S3ServiceException:Access Denied,Status 403,Error AccessDenied"
    fake = FakeRedshift(
        staging_events=Copy(loaded=8055, rejected=[event_reject(7)]),
        staging_songs=Copy(error=denied, starts_load=False),
    )

    with pytest.raises(WarehouseError) as caught:
        load(config, fake, 5)

    assert not isinstance(caught.value, InputError), str(caught.value)
    assert str(caught.value).startswith(f"COPY staging_songs from {SONG_DATA} (1 new file, manifest {MANIFESTS}/run-1/staging_songs.manifest) failed: ")
    assert "IAM role" in str(caught.value)


def test_logs_name_each_copy_but_never_the_statement(config, caplog):
    caplog.set_level(logging.DEBUG)
    fake = FakeRedshift(
        staging_events=Copy(loaded=10, rejected=[event_reject(3)]),
        staging_songs=Copy(loaded=2, error=LOAD_FAILED.replace("staging_events", "staging_songs"),
                           rejected=[(SONG_FILE, 1, "song_id", "Missing data for not-null field", "varchar", 0)]),
    )

    with pytest.raises(InputError) as caught:
        load(config, fake, 0)

    messages = [record.getMessage() for record in caplog.records]
    assert any(f"COPY staging_events from {LOG_DATA}" in message for message in messages)
    assert any(f"COPY staging_songs from {SONG_DATA}" in message for message in messages)
    for text in messages + [str(caught.value)]:
        for leak in ("IAM_ROLE", ARN, "arn:aws", "FORMAT AS JSON", "MAXERROR", "CREDENTIALS"):
            assert leak not in text


# ----------------------------------------------------------------- the shared star-schema SQL


def test_redshift_star_schema_sql_uses_only_portable_functions(config):
    engine = RedshiftEngine(config, FakeRedshift())
    rendered = {statement: engine.render(statement) for _, statement in sql.STAR_UPSERTS}
    plays = engine.render(sql.SONGPLAYS_INSERT)
    rendered.update({name: engine.render(statement) for name, statement in sql.CHECKS.items()})
    assert "TIMESTAMP 'epoch' + ts / 1000.0 * INTERVAL '1 second' AS start_time" in plays
    for name, text in rendered.items():
        assert "{" not in text and "}" not in text, name
        for duckdb_only in ("epoch_ms", "regexp_full_match", "TRY_CAST", "json_", "read_ndjson", "::"):
            assert duckdb_only.lower() not in text.lower(), (name, duckdb_only)


def test_duckdb_renders_its_own_timestamp_conversion(config):
    assert "epoch_ms(ts) AS start_time" in DuckDBEngine(config, None).render(sql.SONGPLAYS_INSERT)
    assert re.search(r"TIMESTAMP 'epoch' \+ ts / 1000\.0 \* INTERVAL '1 second'",
                     PostgresEngine(config, None).render(sql.SONGPLAYS_INSERT))


def test_rules_copy_cannot_apply_move_bad_rows_to_load_errors(warehouse):
    """The statements Redshift runs after COPY, run here on DuckDB and a real PostgreSQL."""
    from helpers import run

    import create_tables
    from sparkify.config import load_config
    from sparkify.engines import connect

    assert run(create_tables, "--config", warehouse, "--yes", "-q") == 0
    with connect(load_config(warehouse)) as engine:
        engine.execute(
            "INSERT INTO staging_events (ts, user_id, page, song) VALUES "
            "(1541105830796, '7', 'NextSong', 'A'), (NULL, '8', 'Home', NULL), "
            "(1541105830797, 'abc', 'NextSong', 'B'), (1541105830798, NULL, 'Home', NULL), "
            "(1541105830799, '12345678901', 'Home', NULL)"
        )
        engine.execute("INSERT INTO staging_songs (song_id, title) VALUES ('SO1', 'A'), (NULL, 'Nameless')")
        with engine.transaction():
            for statement in rules.staged_rejects(quote=engine.literal):
                engine.execute(statement)
        assert engine.query("SELECT ts, user_id FROM staging_events ORDER BY ts") == [
            (1541105830796, "7"),
            (1541105830798, None),
        ]
        assert engine.query("SELECT song_id FROM staging_songs") == [("SO1",)]
        assert engine.query(
            "SELECT table_name, source_file, line_number, column_name, reason, raw_line FROM load_errors ORDER BY reason, raw_line"
        ) == [
            ("staging_songs", None, None, "song_id", "missing song_id", "song_id= title=Nameless artist_id="),
            ("staging_events", None, None, "ts", "missing ts", "userId=8 ts= page=Home song="),
            ("staging_events", None, None, "userId", "userId is not an integer", "userId=abc ts=1541105830797 page=NextSong song=B"),
            # an integer INTEGER cannot hold has its own reason (10 digits that fit are accepted)
            ("staging_events", None, None, "userId", "userId is outside the INTEGER range", "userId=12345678901 ts=1541105830799 page=Home song="),
        ]


def test_load_errors_come_from_the_sys_view_that_serverless_and_concurrency_scaling_keep(config):
    fake = FakeRedshift(staging_events=Copy(loaded=3, rejected=[event_reject(2)]))
    load(config, fake, 1)
    executed = "\n".join(fake.executed())
    # per COPY: its rows by its own query id (the id before it is read too, for a COPY that fails)
    assert executed.count("FROM sys_load_error_detail\nWHERE query_id = pg_last_copy_id()") == 2
    assert executed.count("SELECT pg_last_copy_id()") == 2
    assert "stl_load_errors" not in executed


def test_a_copy_that_fails_below_max_errors_is_a_failure_not_a_pass(config):
    # A COPY may fail for another reason after rejecting a few rows: staging is then stale, so the run must stop.
    fake = FakeRedshift(staging_events=Copy(rejected=[event_reject(4)], error="Load failed: S3 read timed out"))
    with pytest.raises(WarehouseError) as caught:
        load(config, fake, 5)
    assert not isinstance(caught.value, InputError)
    assert str(caught.value).startswith(f"COPY staging_events from {LOG_DATA} (1 new file, manifest {MANIFESTS}/run-1/staging_events.manifest) failed after 1 rejected records: ")


def test_a_copy_stopped_at_redshifts_maxerror_limit_fails_even_when_more_are_allowed(config, monkeypatch):
    from sparkify.engines import redshift

    monkeypatch.setattr(redshift, "MAXERROR_LIMIT", 2)
    fake = FakeRedshift(staging_events=Copy(rejected=[event_reject(4), event_reject(5)], error=LOAD_FAILED))
    with pytest.raises(InputError) as caught:
        load(config, fake, 10)
    assert "stopped at 2 rejected records, the most Redshift allows one COPY" in str(caught.value)
    assert len(fake.load_error_rows()) == 2


def test_read_only_sessions_are_not_set_on_redshift():
    # SET default_transaction_read_only is not a documented Redshift parameter
    assert RedshiftEngine.read_only_session is False
    assert PostgresEngine.read_only_session is True


def test_manifests_list_exactly_the_batchs_files(config, manifests):
    load(config, FakeRedshift(staging_events=Copy(loaded=3), staging_songs=Copy(loaded=1)), 0)
    assert manifests == {
        f"{MANIFESTS}/run-1/staging_events.manifest": [(EVENTS_FILE, 4096)],
        f"{MANIFESTS}/run-1/staging_songs.manifest": [(SONG_FILE, 250)],
    }


def test_an_input_with_no_new_files_is_not_copied(config, manifests):
    batch = Batch(files={"LOG_DATA": BATCH.files["LOG_DATA"], "SONG_DATA": []}, run_id="run-2")
    fake = FakeRedshift(staging_events=Copy(loaded=3))
    staging.load(RedshiftEngine(config, fake), None, None, 0, batch)
    assert [s for s in fake.executed() if s.startswith("COPY")] == [
        s for s in fake.executed() if s.startswith("COPY staging_events")
    ]
    assert list(manifests) == [f"{MANIFESTS}/run-2/staging_events.manifest"]


# ----------------------------------------------------------------- how the connection is secured

CLUSTER = {"HOST": "dwh.abc123.us-west-2.redshift.amazonaws.com", "DB_PORT": "5439", "DB_NAME": "sparkify",
           "DB_USER": "sparkify_admin", "IDENTIFIER": "dwh", "REGION": "us-west-2"}


def connect_arguments(tmp_path, monkeypatch, engine: str, **cluster) -> dict:
    """The keyword arguments the engine gives psycopg2.connect (which refuses, so nothing is reached)."""
    sections = {
        "DWH": {"ENGINE": engine},
        "CLUSTER": {**CLUSTER, **cluster},
        "IAM_ROLE": {"ARN": ARN},
        "S3": {"LOG_DATA": LOG_DATA, "SONG_DATA": SONG_DATA, "LOG_JSONPATH": JSONPATHS, "MANIFEST_PREFIX": MANIFESTS},
    }
    monkeypatch.setenv("DWH_DB_PASSWORD", "Test-only-Passw0rd")
    config = load_config(write_config(tmp_path / "dwh.cfg", sections))
    seen = {}

    def refuse(**kwargs):
        seen.update(kwargs)
        raise psycopg2.OperationalError("not connecting in a test")

    monkeypatch.setattr(psycopg2, "connect", refuse)
    engine_class = RedshiftEngine if engine == "redshift" else PostgresEngine
    with pytest.raises(WarehouseError, match="not connecting in a test"):
        engine_class.open(config)
    return seen


def test_redshift_verifies_the_certificate_and_its_name_against_the_system_ca_bundle(tmp_path, monkeypatch):
    kwargs = connect_arguments(tmp_path, monkeypatch, "redshift")
    system = ssl.get_default_verify_paths().cafile
    assert (kwargs["sslmode"], kwargs["sslrootcert"]) == ("verify-full", system)
    assert system and os.path.isfile(system)


def test_ssl_cert_file_names_the_ca_bundle(tmp_path, monkeypatch):
    bundle = tmp_path / "corporate-ca.pem"
    bundle.write_text("-----BEGIN CERTIFICATE-----\n")
    monkeypatch.setenv("SSL_CERT_FILE", str(bundle))
    assert connect_arguments(tmp_path, monkeypatch, "redshift")["sslrootcert"] == str(bundle)


def test_libpq_sslrootcert_system_is_not_used(tmp_path, monkeypatch):
    # psycopg2-binary's libpq knows sslrootcert=system (libpq 16+), but its own OpenSSL would
    # look for the system's certificates where the wheel was built
    assert psycopg2.__libpq_version__ >= 160000
    assert connect_arguments(tmp_path, monkeypatch, "redshift")["sslrootcert"] != "system"


@pytest.mark.parametrize(
    "engine,value,sslmode,rootcert",
    [
        ("redshift", "verify-ca", "verify-ca", True),
        ("redshift", "require", "require", False),
        ("redshift", "VERIFY-FULL", "verify-full", True),
        ("postgres", "", "prefer", False),
        ("postgres", "verify-full", "verify-full", False),  # libpq's ~/.postgresql/root.crt: a server's own CA
        ("postgres", "require", "require", False),
    ],
)
def test_sslmode_in_the_config_is_what_the_connection_uses(tmp_path, monkeypatch, engine, value, sslmode, rootcert):
    kwargs = connect_arguments(tmp_path, monkeypatch, engine, SSLMODE=value)
    assert kwargs["sslmode"] == sslmode
    assert ("sslrootcert" in kwargs) == rootcert


@pytest.mark.parametrize("engine", ["redshift", "postgres"])
@pytest.mark.parametrize("value", ["disable", "prefer", "allow", "full"])
def test_sslmode_that_would_not_encrypt_or_is_unknown_is_refused(tmp_path, capsys, engine, value):
    import etl

    sections = {
        "DWH": {"ENGINE": engine},
        "CLUSTER": {**CLUSTER, "SSLMODE": value},
        "IAM_ROLE": {"ARN": ARN},
        "S3": {"LOG_DATA": LOG_DATA, "SONG_DATA": SONG_DATA, "LOG_JSONPATH": JSONPATHS},
    }
    capsys.readouterr()
    assert etl.main(["--config", str(write_config(tmp_path / "dwh.cfg", sections))]) == 1
    assert capsys.readouterr().err == (
        f"error: dwh.cfg: [CLUSTER] SSLMODE = {value} is not an SSL mode - use one of verify-full, verify-ca, require\n"
    )


def test_no_ca_bundle_to_verify_with_is_one_line(tmp_path, monkeypatch):
    from sparkify.engines import redshift

    monkeypatch.setattr(ssl, "get_default_verify_paths", lambda: ssl.DefaultVerifyPaths(None, None, "", "", "", ""))
    monkeypatch.setitem(sys.modules, "certifi", None)  # not installed
    with pytest.raises(ConfigError) as caught:
        connect_arguments(tmp_path, monkeypatch, "redshift")
    assert str(caught.value) == (
        "no CA certificates found to verify Redshift's certificate - set SSL_CERT_FILE to a CA bundle "
        "(e.g. /etc/ssl/certs/ca-certificates.crt), pip install certifi, or set [CLUSTER] SSLMODE = require"
    )
    assert redshift.NO_CA_BUNDLE == str(caught.value)


def test_postgres_sslmode_require_is_honoured_by_a_real_server(pg_database, tmp_path, monkeypatch, capsys):
    # the throwaway server speaks no SSL: with SSLMODE = require libpq must refuse it
    import create_tables

    monkeypatch.setenv("DWH_DB_PASSWORD", "Test-only-Passw0rd")
    path = write_config(tmp_path / "dwh.cfg", {
        "DWH": {"ENGINE": "postgres"},
        "CLUSTER": {**pg_database, "SSLMODE": "require"},
        "S3": {"LOG_DATA": "input/log_data", "SONG_DATA": "input/song_data"},
    })
    capsys.readouterr()
    assert create_tables.main(["--config", str(path), "--yes", "-q"]) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"error: cannot connect to postgres at 127.0.0.1:{pg_database['DB_PORT']}/")
    assert "server does not support SSL, but SSL was required" in err and err.count("\n") == 1


def test_the_star_upsert_on_redshift_is_one_locked_transaction_with_the_record(config):
    """The statements Redshift gets for a daily run's star schema, in order (their SQL runs on DuckDB and PostgreSQL in
    test_incremental.py): LOCK first, the delete-then-insert upserts, the checks, the record, COMMIT. Outside a run
    it is a transaction of its own behind the run lock; inside etl.py's run it is part of the run's transaction
    (test_redshift_double.py)."""
    from sparkify import transforms

    sent: list[tuple[str, object]] = []

    class Recorder(RedshiftEngine):
        def execute(self, statement, params=None):
            sent.append((statement, params))

        def query(self, statement, params=None):
            sent.append((statement, params))
            return [(41,)] if statement == sql.LAST_SONGPLAY_ID else []

    record = [("LOG_DATA", "2018/11/2018-11-30-events.json", 4096, "etag", None, 0, "run-1", None)]
    engine = Recorder(config, FakeRedshift())
    transforms.build_star_schema(engine, record)

    statements = [statement.strip() for statement, _ in sent]
    assert statements[0] == "BEGIN"
    assert statements[1] == "LOCK sparkify_run_lock"  # writers wait for each other; the tables stay readable
    assert statements[-1] == "COMMIT"
    upserts = [engine.render(statement).strip() for _, statement in sql.STAR_UPSERTS]
    assert [s for s in statements if s in upserts] == upserts
    assert all("%s" not in s or params for s, params in sent)  # the one parameter goes in as a parameter
    assert [params for s, params in sent if "MAX(songplay_id)" not in s and params and 41 in params]  # "before" = 41
    insert = next(params for s, params in sent if s.startswith("INSERT INTO loaded_files"))
    assert insert == list(record[0])
    # then staging is emptied inside the transaction: DELETE, as TRUNCATE would commit it
    assert statements[-3:-1] == ["DELETE FROM staging_events", "DELETE FROM staging_songs"]
    assert not [s for s in statements if s.upper().startswith("TRUNCATE")]
    assert "ROLLBACK" not in statements
