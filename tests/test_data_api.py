"""[DWH] CONNECTION = data-api: statements through the Redshift Data API.

Two kinds of test:
- PostgresDataApi (tests/data_api_double.py), a redshift-data client whose
  statements run on the throwaway PostgreSQL server: real SQL on a real engine,
  with statuses, pages, failures and sessions. The PostgreSQL dialect goes
  through it end to end (create_tables.py + etl.py), compared with a direct run.
  AWS's Data API serves only Redshift, so the config admits data-api for engine
  redshift only; these tests widen that one list (DATA_API_ENGINES) for the
  PostgreSQL dialect behind the double, and say so.
- botocore's Stubber on a real redshift-data client: the requests' exact shape.
"""

from __future__ import annotations

import boto3
import pytest
from botocore.stub import Stubber
from data_api_double import PostgresDataApi
from helpers import PG_PASSWORD, Inputs, build, new_database, play, postgres_over_the_data_api, song, table, write_config

import sql_queries as sql
from sparkify.config import DataApi, load_config
from sparkify.engines import connect, data_api
from sparkify.engines.data_api import DataApiConnection, DataApiError, named_parameters
from sparkify.engines.postgres import PostgresEngine
from sparkify.engines.redshift import RedshiftEngine
from sparkify.errors import ConfigError, WarehouseError

CLUSTER = DataApi(database="sparkify", cluster_identifier="sparkify-dwh", db_user="sparkify_admin")
WORKGROUP = DataApi(database="sparkify", workgroup="sparkify-wg")
SECRET = "arn:aws:secretsmanager:us-west-2:123456789012:secret:sparkify-dwh-AbCdEf"


@pytest.fixture(autouse=True)
def quick_polls(monkeypatch):
    """The double answers at once: poll without the real 0.1 s first wait."""
    monkeypatch.setattr(data_api, "FIRST_POLL_SECONDS", 0.0001)
    monkeypatch.setattr(data_api, "MAX_POLL_SECONDS", 0.001)


@pytest.fixture
def double(pg_server):
    client = PostgresDataApi(new_database(pg_server))
    yield client
    client.close()


def over(client, **kwargs) -> DataApiConnection:
    target = DataApi(database=client.database["DB_NAME"], cluster_identifier="sparkify-dwh", db_user="sparkify")
    return DataApiConnection(client, target, **kwargs)


def postgres_over(client) -> PostgresEngine:
    """The PostgreSQL dialect over the double (the Data API engine for these tests)."""
    return PostgresEngine(None, over(client))


# ----------------------------------------------------------------- statements on the double


def test_statement_waits_through_submitted_and_started(double):
    delays = []
    connection = over(double, sleep=delays.append)
    assert connection.run("SELECT 1 + 1", None) == [(2,)]
    assert double.describes == 3  # SUBMITTED, STARTED, FINISHED
    assert delays == [data_api.FIRST_POLL_SECONDS, data_api.FIRST_POLL_SECONDS * 2]


def test_backoff_doubles_to_its_ceiling_and_stops_at_the_limit(double, monkeypatch):
    monkeypatch.setattr(data_api, "FIRST_POLL_SECONDS", 0.1)
    monkeypatch.setattr(data_api, "MAX_POLL_SECONDS", 5.0)
    double.running = ("SUBMITTED",) + ("STARTED",) * 100
    now = [0.0]
    delays = []

    def sleep(seconds):
        delays.append(seconds)
        now[0] += seconds

    connection = over(double, sleep=sleep, clock=lambda: now[0], timeout=30.0)
    with pytest.raises(DataApiError, match=r"^the statement was still STARTED after 30 s and was cancelled$"):
        connection.run("SELECT 1", None)
    assert delays[:7] == [0.1, 0.2, 0.4, 0.8, 1.6, 3.2, 5.0]
    assert max(delays) == 5.0 and sum(delays) == pytest.approx(30.0)


def test_results_come_in_pages_typed(double):
    engine = postgres_over(double)
    engine.execute("CREATE TABLE numbers (n INTEGER)")
    engine.execute("INSERT INTO numbers VALUES (1), (2), (3), (4), (5), (6), (7)")
    rows = engine.query(
        "SELECT n, n * 1.5 AS x, CAST(n AS NUMERIC(6, 2)) AS d, TIMESTAMP '2018-11-01 21:01:46.796' + n * INTERVAL '1 day', "
        "n % 2 = 0, CASE WHEN n = 3 THEN NULL ELSE 'v' || n END FROM numbers ORDER BY n"
    )
    import datetime as dt
    from decimal import Decimal

    assert len(rows) == 7
    assert rows[0] == (1, 1.5, Decimal("1.00"), dt.datetime(2018, 11, 2, 21, 1, 46, 796000), False, "v1")
    assert rows[2][5] is None
    tokens = [request.get("NextToken") for op, request in double.requests if op == "GetStatementResult"]
    assert tokens == [None, "3", "6"]  # page size 3: three pages


def test_bad_sql_is_one_line_with_postgresql_error_text(double):
    engine = postgres_over(double)
    with pytest.raises(WarehouseError) as failed:
        engine.query("SELECT * FROM no_such_table")
    assert str(failed.value) == 'postgres: ERROR: relation "no_such_table" does not exist'


def test_parameters_go_named_and_null_and_empty_are_written_in(double):
    engine = postgres_over(double)
    engine.execute("CREATE TABLE t (a INTEGER, b VARCHAR(20), c VARCHAR(20), d TIMESTAMP)")
    engine.execute("INSERT INTO t VALUES (%s, %s, %s, %s)", [7, None, "", "2018-11-01 00:00:00"])
    engine.execute("INSERT INTO t VALUES (%s, %s, %s, %s)", [8, "it's 100%", "back\\slash", None])
    assert engine.query("SELECT a, b, c FROM t WHERE a >= %s ORDER BY a", [7]) == [
        (7, None, ""), (8, "it's 100%", "back\\slash")]
    request = [r for op, r in double.requests if op == "ExecuteStatement"][1]
    assert request["Sql"] == "INSERT INTO t VALUES (:p1, NULL, '', :p2)"
    assert request["Parameters"] == [{"name": "p1", "value": "7"}, {"name": "p2", "value": "2018-11-01 00:00:00"}]


def test_rolled_back_transaction_leaves_nothing(double):
    engine = postgres_over(double)
    engine.execute("CREATE TABLE t (a INTEGER)")
    with pytest.raises(WarehouseError, match="^postgres: ERROR: "):
        with engine.transaction():
            engine.execute("INSERT INTO t VALUES (%s)", [1])
            engine.execute("INSERT INTO t VALUES (%s)", ["not a number"])
    assert engine.query("SELECT COUNT(*) FROM t") == [(0,)]
    with engine.transaction():
        engine.execute("INSERT INTO t VALUES (%s)", [2])
    assert engine.query("SELECT a FROM t") == [(2,)]
    # every statement after the first went in the first one's session
    executes = [r for op, r in double.requests if op == "ExecuteStatement"]
    assert "SessionKeepAliveSeconds" in executes[0] and all("SessionId" in r for r in executes[1:])
    assert len(double.sessions) == 1


def test_batch_on_the_double_is_one_transaction(double):
    """The double's batch_execute_statement, as the Data API documents it (all or nothing)."""
    target = {"ClusterIdentifier": "c", "DbUser": "u", "Database": double.database["DB_NAME"]}
    double.execute_statement(Sql="CREATE TABLE t (a INTEGER)", **target)
    answer = double.batch_execute_statement(Sqls=["INSERT INTO t VALUES (1)", "INSERT INTO t VALUES ('x')"], **target)
    while double.describe_statement(Id=answer["Id"])["Status"] not in ("FINISHED", "FAILED"):
        pass
    connection = over(double)
    assert connection.run("SELECT COUNT(*) FROM t", None) == [(0,)]


def test_placeholders_and_parameters_must_agree():
    with pytest.raises(DataApiError, match="more %s placeholders"):
        named_parameters("SELECT %s, %s", [1])
    with pytest.raises(DataApiError, match="fewer %s placeholders"):
        named_parameters("SELECT %s", [1, 2])
    assert named_parameters("SELECT '50%'", None) == ("SELECT '50%'", [])
    assert named_parameters("SELECT '50%%', %s", [True]) == ("SELECT '50%', :p1", [{"name": "p1", "value": "true"}])


# ----------------------------------------------------------------- end to end


def _edge_inputs(root) -> Inputs:
    inputs = Inputs(root)
    inputs.songs([
        song("SOABC", "Don't Stop", "ARX", "O'Neil \\ Sons", 200.5, artist_location=""),
        song("SODEF", "Ünïcode ♫", "ARY", "Ann", 180.0, year=0),
        song("SOGHI", "100% Pure", "ARZ", "Zed", 99.9, artist_latitude=40.7, artist_longitude=-74.0),
    ])
    records = []
    for i in range(25):
        title, artist, length = [("Don't Stop", "O'Neil \\ Sons", 200.5), ("Ünïcode ♫", "Ann", 180.0),
                                 ("100% Pure", "Zed", 99.9), ("Nowhere", "Nobody", 1.0)][i % 4]
        records.append(play(title, artist, length, ts=1541105830796 + i * 61_000, userId=str(10 + i % 3),
                            level=["free", "paid"][i % 2], sessionId=i // 5,
                            lastName="" if i == 3 else "Lovelace", location=None if i == 4 else "Boston, MA"))
    inputs.events(records)
    return inputs


def test_create_tables_and_etl_over_the_data_api_match_a_direct_run(pg_server, tmp_path, monkeypatch):
    _edge_inputs(tmp_path / "input")
    direct_db, api_db = new_database(pg_server), new_database(pg_server)
    monkeypatch.setenv("DWH_DB_PASSWORD", PG_PASSWORD)
    s3 = {"LOG_DATA": "input/log_data", "SONG_DATA": "input/song_data"}
    direct = write_config(tmp_path / "direct.cfg", {"DWH": {"ENGINE": "postgres"}, "CLUSTER": direct_db, "S3": s3})
    via_api = write_config(tmp_path / "api.cfg", {
        "DWH": {"ENGINE": "postgres", "CONNECTION": "data-api"},
        "CLUSTER": {"IDENTIFIER": "sparkify-dwh", "DB_NAME": api_db["DB_NAME"], "DB_USER": api_db["DB_USER"]},
        "S3": s3,
    })
    # the PostgreSQL dialect behind the double (AWS's Data API serves only engine redshift)
    postgres_over_the_data_api(monkeypatch)
    # gate=False: the PostgreSQL dialect's own statements (its advisory lock, a read-only session) are not Redshift's
    client = PostgresDataApi(api_db, page_size=7, gate=False)
    monkeypatch.setattr(data_api, "new_client", lambda region: client)
    try:
        assert build(direct) == 0
        assert build(via_api) == 0
        assert client.sessions and all("SessionId" in r or "SessionKeepAliveSeconds" in r
                                       for op, r in client.requests if op == "ExecuteStatement")
        for name in sql.STAR_TABLES:
            expected = table(direct, name)
            assert expected, name
            assert table(via_api, name) == expected, name
        # a second run over the API: nothing new, nothing changed
        assert build(via_api) == 0
        assert table(via_api, "songplays") == table(direct, "songplays")
        # the notebook's and dashboard's way in: read-only over the API
        from sparkify.analytics import open_warehouse

        with open_warehouse(via_api) as engine:
            assert engine.count("songplays") == len(table(direct, "songplays"))
            with pytest.raises(WarehouseError, match="^postgres: ERROR: cannot execute DELETE in a read-only transaction$"):
                engine.execute("DELETE FROM songplays")
    finally:
        client.close()


# ----------------------------------------------------------------- request shapes (Stubber)


def stubbed():
    client = boto3.client("redshift-data", region_name="us-west-2", aws_access_key_id="testing",
                          aws_secret_access_key="testing")
    return client, Stubber(client)


def finished(stub, statement_id: str, has_result: bool = False):
    stub.add_response("describe_statement", {"Id": statement_id, "Status": "FINISHED", "HasResultSet": has_result},
                      {"Id": statement_id})


SESSION = "11111111-2222-3333-4444-555555555555"


@pytest.mark.parametrize("target, named", [
    (CLUSTER, {"ClusterIdentifier": "sparkify-dwh", "DbUser": "sparkify_admin"}),
    (WORKGROUP, {"WorkgroupName": "sparkify-wg"}),
    (DataApi(database="sparkify", cluster_identifier="sparkify-dwh", secret_arn=SECRET),
     {"ClusterIdentifier": "sparkify-dwh", "SecretArn": SECRET}),
])
def test_first_statement_names_the_warehouse_and_opens_a_session(target, named):
    client, stub = stubbed()
    stub.add_response("execute_statement", {"Id": "s1", "SessionId": SESSION},
                      {"Sql": "BEGIN", **named, "Database": "sparkify",
                       "SessionKeepAliveSeconds": data_api.SESSION_KEEPALIVE_SECONDS})
    finished(stub, "s1")
    stub.add_response("execute_statement", {"Id": "s2"},
                      {"Sql": "DELETE FROM users WHERE user_id = :p1", "SessionId": SESSION,
                       "Parameters": [{"name": "p1", "value": "10"}]})
    finished(stub, "s2")
    with stub:
        connection = DataApiConnection(client, target, sleep=lambda s: None)
        connection.run("BEGIN", None)
        connection.run("DELETE FROM users WHERE user_id = %s", [10])
    stub.assert_no_pending_responses()


def test_results_are_read_page_by_page_with_next_token():
    client, stub = stubbed()
    stub.add_response("execute_statement", {"Id": "s1", "SessionId": SESSION},
                      {"Sql": "SELECT level, COUNT(*) FROM users GROUP BY level", "ClusterIdentifier": "sparkify-dwh",
                       "DbUser": "sparkify_admin", "Database": "sparkify",
                       "SessionKeepAliveSeconds": data_api.SESSION_KEEPALIVE_SECONDS})
    stub.add_response("describe_statement", {"Id": "s1", "Status": "SUBMITTED"}, {"Id": "s1"})
    stub.add_response("describe_statement", {"Id": "s1", "Status": "PICKED"}, {"Id": "s1"})
    stub.add_response("describe_statement", {"Id": "s1", "Status": "STARTED"}, {"Id": "s1"})
    finished(stub, "s1", has_result=True)
    columns = [{"name": "level", "typeName": "varchar"}, {"name": "count", "typeName": "int8"}]
    stub.add_response("get_statement_result", {
        "Records": [[{"stringValue": "free"}, {"longValue": 3}]], "ColumnMetadata": columns, "NextToken": "page-2"},
        {"Id": "s1"})
    stub.add_response("get_statement_result", {
        "Records": [[{"isNull": True}, {"longValue": 1}]], "ColumnMetadata": columns}, {"Id": "s1", "NextToken": "page-2"})
    with stub:
        connection = DataApiConnection(client, CLUSTER, sleep=lambda s: None)
        assert connection.run("SELECT level, COUNT(*) FROM users GROUP BY level", None) == [("free", 3), (None, 1)]
    stub.assert_no_pending_responses()


def test_failed_statement_is_the_usual_one_line_error():
    client, stub = stubbed()
    stub.add_response("execute_statement", {"Id": "s1", "SessionId": SESSION}, None)
    stub.add_response("describe_statement", {
        "Id": "s1", "Status": "FAILED",
        "Error": "ERROR: Load into table 'staging_events' failed.  Check 'sys_load_error_detail'.\nDETAIL: ..."},
        {"Id": "s1"})
    with stub:
        engine = RedshiftEngine(None, DataApiConnection(client, CLUSTER, sleep=lambda s: None))
        with pytest.raises(WarehouseError) as failed:
            engine.execute("COPY staging_events FROM 's3://b/x'")
    assert str(failed.value) == (
        "redshift: ERROR: Load into table 'staging_events' failed.  Check 'sys_load_error_detail'.")


def test_refused_call_is_one_line_naming_the_permission():
    client, stub = stubbed()
    stub.add_client_error("execute_statement", service_error_code="AccessDeniedException",
                          service_message="User is not authorized", http_status_code=400)
    with stub:
        with pytest.raises(DataApiError) as failed:
            DataApiConnection(client, WORKGROUP).run("SELECT 1", None)
    assert str(failed.value) == (
        "cannot call the Redshift Data API (ExecuteStatement): access denied (ExecuteStatement) - use AWS "
        "credentials whose policy allows ExecuteStatement, or ask your AWS administrator for it")


# ----------------------------------------------------------------- config


def data_api_config(tmp_path, dwh=None, cluster=None):
    return write_config(tmp_path / "dwh.cfg", {
        "DWH": {"ENGINE": "redshift", "CONNECTION": "data-api", **(dwh or {})},
        "CLUSTER": {"DB_NAME": "sparkify", "DB_USER": "sparkify_admin", **(cluster or {})},
        "IAM_ROLE": {"ARN": "arn:aws:iam::123456789012:role/sparkify-dwh-s3-read"},
        "S3": {"LOG_DATA": "s3://udacity-dend/log_data", "SONG_DATA": "s3://udacity-dend/song_data",
               "LOG_JSONPATH": "s3://udacity-dend/log_json_path.json", "REGION": "us-west-2",
               "MANIFEST_PREFIX": "s3://my-sparkify/manifests"},
    })


def test_data_api_config_needs_no_host_port_or_password(tmp_path, monkeypatch):
    monkeypatch.delenv("DWH_DB_PASSWORD", raising=False)
    config = load_config(data_api_config(tmp_path, cluster={"IDENTIFIER": "sparkify-dwh", "REGION": "eu-west-1"}))
    assert config.data_api == DataApi(database="sparkify", cluster_identifier="sparkify-dwh",
                                      db_user="sparkify_admin", region="eu-west-1")
    assert config.connection is None
    assert config.describe() == (
        "engine redshift, Data API, cluster sparkify-dwh, database sparkify as sparkify_admin (dwh.cfg)")


def test_workgroup_has_no_db_user_and_secret_arn_is_not_a_secret(tmp_path):
    config = load_config(data_api_config(tmp_path, cluster={"WORKGROUP": "sparkify-wg", "SECRET_ARN": SECRET}))
    assert config.data_api.target() == {"WorkgroupName": "sparkify-wg", "SecretArn": SECRET, "Database": "sparkify"}


def test_direct_is_the_default(tmp_path):
    path = data_api_config(tmp_path, dwh={"CONNECTION": ""},
                           cluster={"HOST": "h.example.com", "DB_PORT": "5439", "IDENTIFIER": "sparkify-dwh",
                                    "REGION": "us-west-2"})
    assert load_config(path).data_api is None


@pytest.mark.parametrize("dwh, cluster, message", [
    ({"CONNECTION": "jdbc"}, {"IDENTIFIER": "x"},
     "dwh.cfg: [DWH] CONNECTION = jdbc is not a connection - use one of direct, data-api"),
    ({}, {}, "dwh.cfg: [CLUSTER] IDENTIFIER or WORKGROUP is missing - CONNECTION = data-api needs the cluster's "
     "identifier or the serverless workgroup's name"),
    ({}, {"IDENTIFIER": "a", "WORKGROUP": "b"}, "dwh.cfg: [CLUSTER] IDENTIFIER and WORKGROUP are both set - "
     "CONNECTION = data-api goes to one: remove WORKGROUP for the cluster, or IDENTIFIER for the serverless workgroup"),
    ({"ENGINE": "postgres"}, {"IDENTIFIER": "a"}, "dwh.cfg: [DWH] CONNECTION = data-api needs ENGINE = redshift "
     "(ENGINE is postgres) - the Redshift Data API reaches only Redshift; use CONNECTION = direct"),
    ({}, {"IDENTIFIER": "a", "SECRET_ARN": "my-secret"}, "dwh.cfg: [CLUSTER] SECRET_ARN = my-secret is not a Secrets "
     "Manager secret ARN (arn:aws:secretsmanager:REGION:ACCOUNT:secret:NAME)"),
    ({}, {"IDENTIFIER": "a", "DB_USER": ""}, "dwh.cfg: [CLUSTER] DB_USER is missing - set it (see dwh.cfg.example)"),
])
def test_data_api_config_errors_are_one_line(tmp_path, dwh, cluster, message):
    with pytest.raises(ConfigError) as failed:
        load_config(data_api_config(tmp_path, dwh, cluster))
    assert str(failed.value) == message


def test_unreachable_warehouse_is_one_line(tmp_path, monkeypatch):
    config = load_config(data_api_config(tmp_path, cluster={"IDENTIFIER": "sparkify-dwh"}))
    client, stub = stubbed()
    stub.add_client_error("execute_statement", service_error_code="ValidationException",
                          service_message="Cluster sparkify-dwh not found.", http_status_code=400)
    monkeypatch.setattr(data_api, "new_client", lambda region: client)
    with stub, pytest.raises(WarehouseError) as failed:
        connect(config)
    assert str(failed.value) == (
        "cannot reach redshift through the Data API (Data API, cluster sparkify-dwh, database sparkify as "
        "sparkify_admin): cannot call the Redshift Data API (ExecuteStatement): AWS refused the request "
        "(ValidationException: Cluster sparkify-dwh not found) - fix the matching setting in dwh.cfg - check "
        "[CLUSTER] IDENTIFIER or WORKGROUP, DB_NAME, DB_USER or SECRET_ARN, and the IAM permissions "
        "(docs/redshift.md)")
