"""Shared by the AWS tests: an isolated moto account, a config file, and ways to run the scripts.

tests/conftest.py registers this module as a plugin (pytest_plugins): its fixtures, ``aws`` and
``serverless``, reach every test module without an import; the rest is imported by name.
"""

from __future__ import annotations

import io
import os
import re
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
from botocore.stub import Stubber
from moto import mock_aws
from moto.core import DEFAULT_ACCOUNT_ID

from sparkify.aws.clients import Clients, new_session
from sparkify.config import CONFIG_ENV_VAR, PASSWORD_ENV_VAR
from sparkify.provision import network
from sparkify.provision import waiting as cluster_module

REGION = "us-west-2"
ACCOUNT = DEFAULT_ACCOUNT_ID
IDENTIFIER = "sparkify-test"
ROLE = "sparkify-test-s3-read"
GROUP = "sparkify-test-sg"
BUCKET = "sparkify-test-input"
PASSWORD = "Test-only-Passw0rd"
ROLE_ARN = f"arn:aws:iam::{ACCOUNT}:role/{ROLE}"

CONFIG = """\
# A test dwh.cfg. Comments and layout must survive the HOST/ARN write-back.
[DWH]
ENGINE = redshift

[CLUSTER]
# Connection.
HOST =
DB_PORT = 5439
DB_NAME = sparkify
DB_USER = sparkify_admin
# Provisioning.
IDENTIFIER = sparkify-test
CLUSTER_TYPE = multi-node
NODE_TYPE = ra3.large
NUM_NODES = 2
REGION = us-west-2
IAM_ROLE_NAME = sparkify-test-s3-read
ALLOWED_CIDR = 203.0.113.7/32   ; my laptop

[IAM_ROLE]
# setup_cluster.py writes it.
ARN =

[S3]
LOG_DATA = s3://sparkify-test-input/log_data
SONG_DATA = s3://sparkify-test-input/song_data
LOG_JSONPATH = s3://sparkify-test-input/log_json_path.json
REGION = us-west-2
# Where etl.py writes its COPY manifests; empty: not set yet (setup_cluster.py allows that).
MANIFEST_PREFIX =
"""


def config_text(auth: str | None = None, **values: str | None) -> str:
    """CONFIG with `KEY = value` lines replaced (first occurrence); None removes the line.

    auth: an `AUTH = auth` line added to [CLUSTER] (CONFIG has none: the default, iam without a password).
    """
    text = CONFIG
    for key, value in values.items():
        pattern = re.compile(rf"^{key} =.*\n", re.MULTILINE)
        assert pattern.search(text), key
        text = pattern.sub("" if value is None else f"{key} = {value}\n", text, count=1)
    if auth is not None:
        text = text.replace("DB_USER = ", f"AUTH = {auth}\nDB_USER = ", 1)
    return text


def write_cfg(folder: Path, auth: str | None = None, **values: str | None) -> Path:
    path = folder / "dwh.cfg"
    path.write_text(config_text(auth, **values), encoding="utf-8")
    return path


@dataclass
class Account:
    """boto3 clients on the moto account, and helpers to look into it."""

    iam: object
    ec2: object
    redshift: object
    s3: object

    def role_names(self) -> list[str]:
        return [role["RoleName"] for role in self.iam.list_roles()["Roles"]]

    def groups(self, name: str = GROUP) -> list[dict]:
        return self.ec2.describe_security_groups(Filters=[{"Name": "group-name", "Values": [name]}])["SecurityGroups"]

    def default_vpc(self) -> str:
        return self.ec2.describe_vpcs(Filters=[{"Name": "isDefault", "Values": ["true"]}])["Vpcs"][0]["VpcId"]

    def default_group(self) -> dict:
        return self.ec2.describe_security_groups(
            Filters=[{"Name": "group-name", "Values": ["default"]}, {"Name": "vpc-id", "Values": [self.default_vpc()]}]
        )["SecurityGroups"][0]

    def clusters(self) -> list[dict]:
        return self.redshift.describe_clusters()["Clusters"]

    def cluster(self, identifier: str = IDENTIFIER) -> dict:
        return self.redshift.describe_clusters(ClusterIdentifier=identifier)["Clusters"][0]

    def buckets(self) -> list[str]:
        return [bucket["Name"] for bucket in self.s3.list_buckets()["Buckets"]]

    def keys(self, bucket: str = BUCKET) -> list[str]:
        return sorted(obj["Key"] for obj in self.s3.list_objects_v2(Bucket=bucket).get("Contents", []))

    @staticmethod
    def moto_cluster(identifier: str = IDENTIFIER):
        """moto's own record of the cluster: to read the password or force a status."""
        from moto.redshift.models import redshift_backends

        return redshift_backends[ACCOUNT][REGION].clusters[identifier]

    def nothing_exists(self) -> bool:
        return not (self.role_names() or self.groups() or self.clusters() or self.buckets())


@pytest.fixture
def aws(monkeypatch, tmp_path):
    """A fresh moto account with fake credentials, waits that take milliseconds, cwd = tmp_path."""
    saved = dict(os.environ)
    for name in list(os.environ):
        if name.startswith("AWS_") or name in (PASSWORD_ENV_VAR, CONFIG_ENV_VAR):
            monkeypatch.delenv(name)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-aws-credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("MOTO_EC2_LOAD_DEFAULT_AMIS", "false")  # not needed here, and slow to load
    monkeypatch.setenv(PASSWORD_ENV_VAR, PASSWORD)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(cluster_module, "POLL_SECONDS", 0.01)
    monkeypatch.setattr(network, "DELETE_RETRY_SECONDS", 0.0)
    monkeypatch.setattr(sys, "stdin", io.StringIO(""))  # no answer unless a test gives one
    try:
        with mock_aws():
            session = new_session()  # shares parsed service models between tests: much faster
            yield Account(*(session.client(name, region_name=REGION) for name in ("iam", "ec2", "redshift", "s3")))
    finally:
        # load_dotenv writes into os.environ directly; put it back as it was.
        os.environ.clear()
        os.environ.update(saved)


@pytest.fixture
def serverless(aws, monkeypatch):
    """A botocore Stubber on a real redshift-serverless client, which the scripts get from Clients.

    moto has no redshift-serverless backend; the Stubber checks every request
    against botocore's service model, answers in the order the test queued, and
    fails on a call the test did not expect. IAM, EC2 and S3 stay on moto.
    """
    client = new_session().client("redshift-serverless", region_name=REGION)
    stubber = Stubber(client)
    made_plainly = Clients.get

    def get(self, service, region=None):
        return client if service == "redshift-serverless" else made_plainly(self, service, region)

    monkeypatch.setattr(Clients, "get", get)
    with stubber:
        yield stubber
        stubber.assert_no_pending_responses()


def create_cluster_requests(monkeypatch) -> list[dict]:
    """The parameters of each CreateCluster request the scripts make, as they passed them to boto3.

    moto's redshift takes ManageMasterPassword without keeping it (nor does it
    answer with MasterPasswordSecretArn), so the request is where to look.
    Captured at botocore's before-parameter-build event: botocore then
    validates them against the service model and sends them to moto.
    """
    requests: list[dict] = []
    made_plainly = Clients.get

    def get(self, service, region=None):
        client = made_plainly(self, service, region)
        if service == "redshift":
            client.meta.events.register(
                "before-parameter-build.redshift.CreateCluster",
                lambda params, **_: requests.append(dict(params)),
                unique_id="test-create-cluster-requests",
            )
        return client

    monkeypatch.setattr(Clients, "get", get)
    return requests


def no_credentials(monkeypatch) -> None:
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)


def answer(monkeypatch, text: str) -> None:
    """What the user types at the confirmation prompt."""
    monkeypatch.setattr(sys, "stdin", io.StringIO(text + "\n"))


@dataclass
class Result:
    code: int
    out: str
    err: str

    @property
    def error(self) -> str:
        """The last line on stderr (the one-line error)."""
        lines = self.err.strip().splitlines()
        return lines[-1] if lines else ""


def invoke(capsys, script, *argv) -> Result:
    capsys.readouterr()
    code = script.main([str(arg) for arg in argv])
    captured = capsys.readouterr()
    return Result(code, captured.out, captured.err)


def sample_folder(root: Path) -> Path:
    """A tiny song_data/log_data/jsonpaths folder like data/sample, plus files that must not be uploaded."""
    (root / "song_data" / "A" / "B" / "C").mkdir(parents=True)
    (root / "song_data" / "A" / "B" / "C" / "TRABC00001.json").write_text('{"song_id": "S1"}\n')
    (root / "log_data" / "2018" / "11").mkdir(parents=True)
    (root / "log_data" / "2018" / "11" / "2018-11-01-events.json").write_text('{"page": "NextSong"}\n')
    (root / "log_data" / "notes.txt").write_text("not JSON: COPY would choke on it\n")
    (root / "log_json_path.json").write_text('{"jsonpaths": ["$.artist"]}\n')
    return root


UPLOADED_KEYS = [
    "log_data/2018/11/2018-11-01-events.json",
    "log_json_path.json",
    "song_data/A/B/C/TRABC00001.json",
]


# What every script says without credentials (sparkify.aws.NO_CREDENTIALS, as printed).
NO_CREDENTIALS = (
    "error: no AWS credentials found - set AWS_PROFILE or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, or put them in .env"
)
