"""[CLUSTER] AUTH = iam: temporary database credentials from AWS, just before psycopg2 connects.

psycopg2.connect is replaced by one that records its arguments and refuses, so
nothing is reached. GetClusterCredentials runs on moto (a cluster is created
there first); moto has no GetClusterCredentialsWithIAM and no Redshift
Serverless, so those calls go to a real botocore client under a Stubber that
checks the request and gives the answer.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime

import psycopg2
import pytest
from aws_helpers import IDENTIFIER, PASSWORD, REGION, no_credentials
from botocore.stub import Stubber
from helpers import write_config

import etl
from sparkify.aws import credentials
from sparkify.aws.clients import new_session
from sparkify.aws.faults import AwsError
from sparkify.config import PASSWORD_ENV_VAR, load_config
from sparkify.engines.redshift import RedshiftEngine
from sparkify.errors import WarehouseError

HOST = "sparkify-test.abc123.us-west-2.redshift.amazonaws.com"
TEMPORARY = "Temporary-Passw0rd-from-AWS"
LATER = datetime(2030, 1, 1, tzinfo=UTC)


def write_cfg(tmp_path, **cluster):
    """A Redshift dwh.cfg for the moto account's cluster; a value of None leaves the key out."""
    values = {"HOST": HOST, "DB_PORT": "5439", "DB_NAME": "sparkify", "DB_USER": "sparkify_admin",
              "IDENTIFIER": IDENTIFIER, "REGION": REGION, **cluster}
    return write_config(tmp_path / "dwh.cfg", {
        "DWH": {"ENGINE": "redshift"},
        "CLUSTER": {key: value for key, value in values.items() if value is not None},
        "IAM_ROLE": {"ARN": "arn:aws:iam::123456789012:role/sparkify-test-s3-read"},
        "S3": {"LOG_DATA": "s3://in/log_data", "SONG_DATA": "s3://in/song_data",
               "LOG_JSONPATH": "s3://in/log_json_path.json", "MANIFEST_PREFIX": "s3://in/manifests"},
    })


@pytest.fixture
def iam(aws, monkeypatch):
    """The moto account, with no DWH_DB_PASSWORD: AUTH defaults to iam."""
    monkeypatch.delenv(PASSWORD_ENV_VAR)
    return aws


@pytest.fixture
def connect_arguments(monkeypatch):
    """What psycopg2.connect is given: it records the keyword arguments and refuses."""
    seen: dict = {}

    def refuse(**kwargs):
        seen.update(kwargs)
        raise psycopg2.OperationalError("not connecting in a test")

    monkeypatch.setattr(psycopg2, "connect", refuse)
    return seen


@pytest.fixture
def given(monkeypatch) -> list:
    """The credentials AWS gave, as the engine received them (to compare with what it connects with)."""
    answers = []
    fetch = credentials.temporary_credentials

    def spy(*args, **kwargs):
        answers.append(fetch(*args, **kwargs))
        return answers[-1]

    monkeypatch.setattr(credentials, "temporary_credentials", spy)
    return answers


def open_refused(path) -> str:
    """Open the engine on the config at path; psycopg2 refuses. The one-line error."""
    with pytest.raises(WarehouseError, match="not connecting in a test") as caught:
        RedshiftEngine.open(load_config(path))
    return str(caught.value)


def make_cluster(account) -> None:
    account.redshift.create_cluster(
        ClusterIdentifier=IDENTIFIER, NodeType="ra3.large", MasterUsername="sparkify_admin",
        MasterUserPassword=PASSWORD, ClusterType="single-node", DBName="sparkify",
    )


class StubbedClients:
    """Clients whose one client is a real botocore client under a Stubber."""

    def __init__(self, service: str):
        self.client = new_session().client(service, region_name=REGION)
        self.stubber = Stubber(self.client)
        self.stubber.activate()
        self.service = service

    def __call__(self, region):  # stands in for the Clients class
        assert region == REGION
        return self

    def get(self, service: str):
        assert service == self.service
        return self.client


@pytest.fixture
def stubbed(iam, monkeypatch):
    def make(service: str) -> StubbedClients:
        clients = StubbedClients(service)
        monkeypatch.setattr(credentials, "Clients", clients)
        return clients

    return make


# ----------------------------------------------------------------- a provisioned cluster, on moto


def test_iam_connects_as_the_iam_user_with_the_temporary_password(iam, tmp_path, connect_arguments, given, caplog):
    make_cluster(iam)
    caplog.set_level(logging.DEBUG)
    message = open_refused(write_cfg(tmp_path))
    [answer] = given
    assert connect_arguments["user"] == answer.user == "IAM:sparkify_admin"
    assert connect_arguments["password"] == answer.password
    assert answer.password and answer.password != PASSWORD
    assert (connect_arguments["host"], connect_arguments["dbname"]) == (HOST, "sparkify")
    assert message.startswith(f"cannot connect to redshift at {HOST}:5439/sparkify as IAM:sparkify_admin: ")
    assert "logging in as IAM:sparkify_admin with temporary credentials (redshift:GetClusterCredentials)" in caplog.text
    assert answer.password not in caplog.text + message + repr(answer)


def test_explicit_auth_iam_wins_over_a_stored_password(iam, tmp_path, monkeypatch, connect_arguments, given):
    make_cluster(iam)
    monkeypatch.setenv(PASSWORD_ENV_VAR, PASSWORD)
    open_refused(write_cfg(tmp_path, AUTH="iam"))
    assert (connect_arguments["user"], connect_arguments["password"]) == ("IAM:sparkify_admin", given[0].password)


def test_a_stored_password_is_used_without_asking_aws(iam, tmp_path, monkeypatch, connect_arguments, given):
    monkeypatch.setenv(PASSWORD_ENV_VAR, PASSWORD)  # and no cluster: asking AWS would fail
    open_refused(write_cfg(tmp_path))
    assert (connect_arguments["user"], connect_arguments["password"], given) == ("sparkify_admin", PASSWORD, [])


def test_unknown_cluster_is_one_line(iam, tmp_path, capsys):
    assert etl.main(["--config", str(write_cfg(tmp_path, IDENTIFIER="no-such-cluster")), "-q"]) == 1
    assert capsys.readouterr().err == (
        "error: cannot get temporary database credentials for cluster no-such-cluster: cluster \"no-such-cluster\" "
        "not found in us-west-2 - check [CLUSTER] IDENTIFIER and REGION, or run setup_cluster.py first\n"
    )


def test_no_aws_credentials_is_one_line(iam, tmp_path, monkeypatch, capsys):
    make_cluster(iam)
    no_credentials(monkeypatch)
    assert etl.main(["--config", str(write_cfg(tmp_path)), "-q"]) == 1
    assert capsys.readouterr().err == (
        "error: no AWS credentials found - set AWS_PROFILE or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, "
        "or put them in .env\n"
    )


# ----------------------------------------------------------------- the IAM identity's own user, serverless: Stubber


@pytest.mark.parametrize("db_user", [None, "", "IAM"])
def test_no_db_user_connects_as_the_iam_identity(stubbed, tmp_path, connect_arguments, db_user):
    redshift = stubbed("redshift")
    redshift.stubber.add_response(
        "get_cluster_credentials_with_iam",
        {"DbUser": "IAM:alice", "DbPassword": TEMPORARY, "Expiration": LATER},
        {"DbName": "sparkify", "ClusterIdentifier": IDENTIFIER, "DurationSeconds": 900},
    )
    open_refused(write_cfg(tmp_path, DB_USER=db_user))
    assert (connect_arguments["user"], connect_arguments["password"]) == ("IAM:alice", TEMPORARY)
    redshift.stubber.assert_no_pending_responses()


def test_a_workgroup_connects_with_serverless_credentials(stubbed, tmp_path, connect_arguments, caplog):
    serverless = stubbed("redshift-serverless")
    serverless.stubber.add_response(
        "get_credentials",
        {"dbUser": "IAMR:sparkify-etl", "dbPassword": TEMPORARY, "expiration": LATER},
        {"workgroupName": "sparkify-wg", "dbName": "sparkify", "durationSeconds": 900},
    )
    caplog.set_level(logging.DEBUG)
    message = open_refused(write_cfg(tmp_path, WORKGROUP="sparkify-wg", IDENTIFIER=None))
    assert (connect_arguments["user"], connect_arguments["password"]) == ("IAMR:sparkify-etl", TEMPORARY)
    assert "as IAMR:sparkify-etl: " in message
    assert "logging in as IAMR:sparkify-etl with temporary credentials (redshift-serverless:GetCredentials)" in caplog.text
    assert TEMPORARY not in caplog.text + message
    serverless.stubber.assert_no_pending_responses()


def test_unknown_workgroup_is_one_line(stubbed, tmp_path):
    serverless = stubbed("redshift-serverless")
    serverless.stubber.add_client_error("get_credentials", "ResourceNotFoundException", "Workgroup not found", 404)
    with pytest.raises(AwsError) as caught:
        RedshiftEngine.open(load_config(write_cfg(tmp_path, WORKGROUP="sparkify-wg")))
    assert str(caught.value) == (
        'cannot get temporary database credentials for workgroup sparkify-wg: workgroup "sparkify-wg" not found in '
        "us-west-2 - check [CLUSTER] WORKGROUP and REGION, or run setup_cluster.py first"
    )


@pytest.mark.parametrize(
    "service,operation,cluster,action",
    [
        ("redshift", "get_cluster_credentials", {}, "redshift:GetClusterCredentials"),
        ("redshift", "get_cluster_credentials_with_iam", {"DB_USER": ""}, "redshift:GetClusterCredentialsWithIAM"),
        ("redshift-serverless", "get_credentials", {"WORKGROUP": "sparkify-wg"}, "redshift-serverless:GetCredentials"),
    ],
)
def test_access_denied_names_the_action_to_allow(stubbed, tmp_path, capsys, service, operation, cluster, action):
    clients = stubbed(service)
    code = "AccessDeniedException" if service == "redshift-serverless" else "AccessDenied"
    clients.stubber.add_client_error(operation, code, "User: arn:aws:iam::1:user/alice is not authorized", 403)
    target = "workgroup sparkify-wg" if "WORKGROUP" in cluster else f"cluster {IDENTIFIER}"
    assert etl.main(["--config", str(write_cfg(tmp_path, **cluster)), "-q"]) == 1
    assert capsys.readouterr().err == (
        f"error: cannot get temporary database credentials for {target}: access denied - allow {action} to your "
        "IAM identity (see docs/redshift.md), or set [CLUSTER] AUTH = password and DWH_DB_PASSWORD\n"
    )
