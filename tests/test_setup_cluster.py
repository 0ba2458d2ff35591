"""setup_cluster.py against moto: what a user relies on after running it."""

from __future__ import annotations

import json
import os
import stat

import aws_helpers
import pytest
from aws_helpers import (
    BUCKET,
    GROUP,
    IDENTIFIER,
    NO_CREDENTIALS,
    PASSWORD,
    ROLE,
    ROLE_ARN,
    UPLOADED_KEYS,
    answer,
    config_text,
    create_cluster_requests,
    invoke,
    no_credentials,
    sample_folder,
    write_cfg,
)
from helpers import redshift_example
from moto.redshift.exceptions import RedshiftClientError
from moto.redshift.models import Cluster as MotoCluster
from moto.redshift.models import RedshiftBackend

import setup_cluster
from sparkify.config import PASSWORD_ENV_VAR, SAMPLE_DIR, read_file
from sparkify.provision import iam, settings
from sparkify.provision.files import ENV_HEADER


def setup(capsys, config, *args):
    return invoke(capsys, setup_cluster, "--config", config, *args)


def host_and_arn_lines(before: str, after: str) -> list[str]:
    """The lines that differ; asserts nothing else moved."""
    old, new = before.splitlines(keepends=True), after.splitlines(keepends=True)
    assert len(old) == len(new)
    return [b for a, b in zip(old, new) if a != b]


def ingress(account) -> list[dict]:
    return account.groups()[0]["IpPermissions"]


def port_open_to(account) -> list[str]:
    return [r["CidrIp"] for p in ingress(account) for r in p["IpRanges"] if p["FromPort"] == p["ToPort"] == 5439]


# ------------------------------------------------------------------ the full run


def test_setup_creates_role_group_and_encrypted_cluster_then_writes_host_and_arn(aws, tmp_path, capsys):
    config = write_cfg(tmp_path)
    default_group_before = aws.default_group()
    result = setup(capsys, config, "--yes")
    assert result.code == 0, result.err

    cluster = aws.cluster()
    group = aws.groups()[0]
    assert cluster["Encrypted"] is True
    assert cluster["PubliclyAccessible"] is True
    assert (cluster["NodeType"], cluster["NumberOfNodes"]) == ("ra3.large", 2)
    assert (cluster["DBName"], cluster["MasterUsername"], cluster["Endpoint"]["Port"]) == ("sparkify", "sparkify_admin", 5439)
    assert [r["IamRoleArn"] for r in cluster["IamRoles"]] == [ROLE_ARN]
    assert [g["VpcSecurityGroupId"] for g in cluster["VpcSecurityGroups"]] == [group["GroupId"]]
    assert aws.moto_cluster().master_user_password == PASSWORD
    assert aws.default_group() == default_group_before  # the account's default group is never modified

    host = cluster["Endpoint"]["Address"]
    assert host_and_arn_lines(config_text(), config.read_text()) == [f"HOST = {host}\n", f"ARN = {ROLE_ARN}\n"]
    assert result.out.splitlines() == [
        f"cluster {IDENTIFIER} is available at {host}:5439 - 2 x ra3.large in us-west-2, encrypted",
        f"IAM role {ROLE} ({ROLE_ARN}) may read only s3://{BUCKET}/log_data, s3://{BUCKET}/song_data, "
        f"s3://{BUCKET}/log_json_path.json",
        f"port 5439 is open to 203.0.113.7/32 only (security group {GROUP}, {group['GroupId']})",
        "done: 6 change(s); dwh.cfg has HOST and ARN",
        "set [S3] MANIFEST_PREFIX in dwh.cfg (where etl.py writes its COPY manifests) and run setup_cluster.py "
        "again so the role may read them, then: python create_tables.py && python etl.py",
    ]
    assert "waiting for cluster sparkify-test to become available (up to 30 min, checking every 0.01 s)" in result.err


def test_role_is_trusted_by_redshift_only_and_reads_only_the_s3_inputs(aws, tmp_path, capsys):
    assert setup(capsys, write_cfg(tmp_path), "--yes").code == 0
    role = aws.iam.get_role(RoleName=ROLE)["Role"]
    assert role["AssumeRolePolicyDocument"] == {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": {"Service": "redshift.amazonaws.com"}, "Action": "sts:AssumeRole"}],
    }
    assert aws.iam.list_role_policies(RoleName=ROLE)["PolicyNames"] == ["sparkify-s3-read"]
    assert aws.iam.list_attached_role_policies(RoleName=ROLE)["AttachedPolicies"] == []
    policy = aws.iam.get_role_policy(RoleName=ROLE, PolicyName="sparkify-s3-read")["PolicyDocument"]
    policy = json.loads(policy) if isinstance(policy, str) else policy
    assert policy["Statement"] == [
        {
            "Sid": "ListSparkifyTestInput",
            "Effect": "Allow",
            "Action": "s3:ListBucket",
            "Resource": f"arn:aws:s3:::{BUCKET}",
            "Condition": {"StringLike": {"s3:prefix": ["log_data*", "song_data*", "log_json_path.json*"]}},
        },
        {
            "Sid": "ReadInputs",
            "Effect": "Allow",
            "Action": "s3:GetObject",
            "Resource": [
                f"arn:aws:s3:::{BUCKET}/log_data*",
                f"arn:aws:s3:::{BUCKET}/song_data*",
                f"arn:aws:s3:::{BUCKET}/log_json_path.json*",
            ],
        },
    ]


def role_policy(account) -> dict:
    policy = account.iam.get_role_policy(RoleName=ROLE, PolicyName="sparkify-s3-read")["PolicyDocument"]
    return json.loads(policy) if isinstance(policy, str) else policy


MANIFESTS = f"s3://{BUCKET}/manifests"
READ_MANIFESTS = {
    "Sid": "ReadCopyManifests",
    "Effect": "Allow",
    "Action": "s3:GetObject",
    "Resource": f"arn:aws:s3:::{BUCKET}/manifests*",
}


def test_role_may_read_the_copy_manifests_under_manifest_prefix_and_write_nothing(aws, tmp_path, capsys):
    result = setup(capsys, write_cfg(tmp_path, MANIFEST_PREFIX=MANIFESTS), "--yes")
    assert result.code == 0, result.err
    statements = role_policy(aws)["Statement"]
    assert statements[0]["Condition"] == {
        "StringLike": {"s3:prefix": ["log_data*", "song_data*", "log_json_path.json*", "manifests*"]}
    }
    assert statements[1]["Sid"] == "ReadInputs" and statements[2:] == [READ_MANIFESTS]
    assert {s["Action"] for s in statements} == {"s3:ListBucket", "s3:GetObject"}  # no write: etl.py's user writes them
    lines = result.out.splitlines()
    assert lines[1] == (
        f"IAM role {ROLE} ({ROLE_ARN}) may read only s3://{BUCKET}/log_data, s3://{BUCKET}/song_data, "
        f"s3://{BUCKET}/log_json_path.json, the COPY manifests under {MANIFESTS}"
    )
    assert lines[-1] == "next: python create_tables.py && python etl.py"


def test_setting_manifest_prefix_after_setup_updates_the_role_on_the_next_run(aws, tmp_path, capsys):
    config = write_cfg(tmp_path)
    assert setup(capsys, config, "--yes").code == 0
    assert "ReadCopyManifests" not in json.dumps(role_policy(aws))
    config.write_text(config.read_text().replace("MANIFEST_PREFIX =\n", f"MANIFEST_PREFIX = {MANIFESTS}\n"))

    result = setup(capsys, config, "--dry-run")
    assert result.out.splitlines() == [
        f"would update IAM role {ROLE} the policy sparkify-s3-read: list and read s3://{BUCKET}/log_data, "
        f"s3://{BUCKET}/song_data, s3://{BUCKET}/log_json_path.json, the COPY manifests under {MANIFESTS}, nothing else",
        "dry run: 1 action(s) above would be taken; nothing was changed",
    ]
    result = setup(capsys, config)  # the cluster exists: no question
    assert result.code == 0, result.err
    assert role_policy(aws)["Statement"][-1] == READ_MANIFESTS
    assert len(aws.clusters()) == 1


def test_port_is_open_to_allowed_cidr_only_in_the_projects_own_group(aws, tmp_path, capsys):
    assert setup(capsys, write_cfg(tmp_path), "--yes").code == 0
    group = aws.groups()[0]
    assert group["VpcId"] == aws.default_vpc()
    assert {"Key": "sparkify:cluster", "Value": IDENTIFIER} in group["Tags"]
    assert [(p["IpProtocol"], p["FromPort"], p["ToPort"], [r["CidrIp"] for r in p["IpRanges"]]) for p in ingress(aws)] == [
        ("tcp", 5439, 5439, ["203.0.113.7/32"])
    ]


def test_setup_on_a_copy_of_the_example_config_changes_only_host_and_arn(aws, tmp_path, capsys):
    config = tmp_path / "dwh.cfg"
    redshift_example(config)  # switched to ENGINE = redshift and s3:// inputs, as docs/redshift.md says
    before = config.read_text()
    result = setup(capsys, config, "--yes")
    assert result.code == 0, result.err
    parser = read_file(config)
    names = settings.read_names(parser, config)
    host = aws.cluster(names.identifier)["Endpoint"]["Address"]
    arn = aws.iam.get_role(RoleName=names.role_name)["Role"]["Arn"]
    assert host_and_arn_lines(before, config.read_text()) == [f"HOST = {host}\n", f"ARN = {arn}\n"]


# ------------------------------------------------------------------ re-runs and dry runs


def test_second_run_changes_nothing_asks_nothing_and_exits_0(aws, tmp_path, capsys):
    config = write_cfg(tmp_path)
    assert setup(capsys, config, "--yes").code == 0
    written = config.read_bytes()
    mtime = config.stat().st_mtime_ns
    result = setup(capsys, config)  # no --yes and no answer on stdin: it must not need one
    assert result.code == 0, result.err
    assert "nothing to change: everything already exists and dwh.cfg has HOST and ARN" in result.out.splitlines()
    assert "Type 'yes'" not in result.err
    assert config.read_bytes() == written and config.stat().st_mtime_ns == mtime
    assert len(aws.clusters()) == 1 and port_open_to(aws) == ["203.0.113.7/32"]


def test_dry_run_prints_every_action_and_touches_nothing(aws, tmp_path, capsys, monkeypatch):
    monkeypatch.delenv(PASSWORD_ENV_VAR)
    config = write_cfg(tmp_path)
    data = sample_folder(tmp_path / "sample")
    result = setup(capsys, config, "--dry-run", "--upload-data", data)
    assert result.code == 0, result.err
    assert result.out.splitlines() == [
        f"would create IAM role {ROLE}, trusted by redshift.amazonaws.com",
        f"would give IAM role {ROLE} the policy sparkify-s3-read: list and read s3://{BUCKET}/log_data, "
        f"s3://{BUCKET}/song_data, s3://{BUCKET}/log_json_path.json, nothing else",
        f"would create security group {GROUP} in the default VPC {aws.default_vpc()}",
        f"would allow tcp 5439 from 203.0.113.7/32 in security group {GROUP}",
        f"would create private bucket {BUCKET} in us-west-2",
        f"would upload 1 file(s) (18 bytes) from {data}/song_data to s3://{BUCKET}/song_data",
        f"would upload 1 file(s) (21 bytes) from {data}/log_data to s3://{BUCKET}/log_data",
        f"would upload 1 file(s) (28 bytes) from {data}/log_json_path.json to s3://{BUCKET}/log_json_path.json",
        f"would create cluster {IDENTIFIER}: 2 x ra3.large in us-west-2, encrypted, master password kept by AWS "
        f"Secrets Manager, role {ROLE}, security group {GROUP}",
        f"would wait up to 30 min for cluster {IDENTIFIER} to be available",
        f"would write HOST and ARN into {config}",
        "dry run: 10 action(s) above would be taken; nothing was changed",
    ]
    assert aws.nothing_exists()
    assert config.read_text() == config_text()
    assert not (tmp_path / ".env").exists()


def test_dry_run_after_setup_has_nothing_to_do(aws, tmp_path, capsys):
    config = write_cfg(tmp_path)
    assert setup(capsys, config, "--yes").code == 0
    result = setup(capsys, config, "--dry-run")
    assert (result.code, result.out) == (0, "dry run: nothing to do - everything already exists as dwh.cfg describes\n")


# ------------------------------------------------------------------ confirmation and --allow-anywhere


QUESTION = (
    "Create Redshift cluster sparkify-test: 2 x ra3.large in us-west-2, encrypted, port 5439 open to "
    "203.0.113.7/32? It is billed by the hour until clean_redshift.py deletes it."
)


def test_declining_the_confirmation_creates_nothing(aws, tmp_path, capsys, monkeypatch):
    answer(monkeypatch, "no")
    config = write_cfg(tmp_path)
    result = setup(capsys, config)
    assert result.code == 1
    assert result.err == (
        f"{QUESTION}\n"
        "The plan:\n"
        f"  - create IAM role {ROLE}, trusted by redshift.amazonaws.com\n"
        f"  - give IAM role {ROLE} the policy sparkify-s3-read: list and read s3://{BUCKET}/log_data, "
        f"s3://{BUCKET}/song_data, s3://{BUCKET}/log_json_path.json, nothing else\n"
        f"  - create security group {GROUP} in the default VPC {aws.default_vpc()}\n"
        f"  - allow tcp 5439 from 203.0.113.7/32 in security group {GROUP}\n"
        f"  - create cluster {IDENTIFIER}: 2 x ra3.large in us-west-2, encrypted, role {ROLE}, security group {GROUP}\n"
        f"  - wait up to 30 min for cluster {IDENTIFIER} to be available\n"
        f"  - write HOST and ARN into {config}\n"
        "Type 'yes' to continue: error: not confirmed - nothing was created (answer yes, or pass --yes)\n"
    )
    assert aws.nothing_exists()


def test_the_question_lists_the_same_steps_as_the_dry_run(aws, tmp_path, capsys, monkeypatch):
    monkeypatch.delenv(PASSWORD_ENV_VAR)
    config = write_cfg(tmp_path)
    data = sample_folder(tmp_path / "sample")
    dry_run = setup(capsys, config, "--dry-run", "--upload-data", data)
    answer(monkeypatch, "no")
    asked = setup(capsys, config, "--upload-data", data)
    assert asked.code == 1
    would = [line.removeprefix("would ") for line in dry_run.out.splitlines() if line.startswith("would ")]
    listed = [line.removeprefix("  - ") for line in asked.err.splitlines() if line.startswith("  - ")]
    assert len(listed) == 11 and listed == would
    assert aws.nothing_exists() and not (tmp_path / ".env").exists()


def test_no_answer_at_all_counts_as_no(aws, tmp_path, capsys):
    result = setup(capsys, write_cfg(tmp_path))  # stdin is empty, as in a pipeline without --yes
    assert (result.code, result.error) == (1, "Type 'yes' to continue: error: not confirmed - nothing was created (answer yes, or pass --yes)")
    assert aws.nothing_exists()


def test_answering_yes_creates_the_cluster(aws, tmp_path, capsys, monkeypatch):
    answer(monkeypatch, "yes")
    result = setup(capsys, write_cfg(tmp_path))
    assert result.code == 0, result.err
    assert result.err.startswith(QUESTION)
    assert aws.cluster()["ClusterStatus"] == "available"


def test_port_open_to_the_whole_internet_is_refused_without_allow_anywhere(aws, tmp_path, capsys):
    result = setup(capsys, write_cfg(tmp_path, ALLOWED_CIDR="0.0.0.0/0"), "--yes")
    assert (result.code, result.err) == (
        1,
        "error: dwh.cfg: [CLUSTER] ALLOWED_CIDR = 0.0.0.0/0 opens port 5439 to the whole internet - set your own "
        "address as a /32 (e.g. 203.0.113.7/32), or pass --allow-anywhere\n",
    )
    assert aws.nothing_exists()


def test_allow_anywhere_opens_the_port_with_a_loud_warning(aws, tmp_path, capsys):
    result = setup(capsys, write_cfg(tmp_path, ALLOWED_CIDR="0.0.0.0/0"), "--yes", "--allow-anywhere")
    assert result.code == 0, result.err
    assert result.err.splitlines()[0] == (
        "WARNING: --allow-anywhere: port 5439 of cluster sparkify-test will accept connections from ANY address "
        "(0.0.0.0/0); anyone on the internet can try passwords against it. Prefer your own address/32."
    )
    assert port_open_to(aws) == ["0.0.0.0/0"]


def test_new_allowed_cidr_replaces_the_old_rule(aws, tmp_path, capsys):
    config = write_cfg(tmp_path)
    assert setup(capsys, config, "--yes").code == 0
    config.write_text(config.read_text().replace("203.0.113.7/32", "198.51.100.4/32"))
    result = setup(capsys, config)
    assert result.code == 0, result.err
    assert port_open_to(aws) == ["198.51.100.4/32"]
    assert f"Remove rule 'tcp 5439 from 203.0.113.7/32' from security group {GROUP} ..." in result.err.splitlines()


# ------------------------------------------------------------------ credentials and passwords


def test_missing_credentials_is_one_line_and_creates_nothing(aws, tmp_path, capsys, monkeypatch):
    no_credentials(monkeypatch)
    result = setup(capsys, write_cfg(tmp_path), "--yes")
    assert (result.code, result.err) == (1, NO_CREDENTIALS + "\n")
    assert aws.nothing_exists()


def test_credentials_can_come_from_env_file_beside_the_config(aws, tmp_path, capsys, monkeypatch):
    no_credentials(monkeypatch)
    (tmp_path / ".env").write_text("AWS_ACCESS_KEY_ID=testing\nAWS_SECRET_ACCESS_KEY=testing\n")
    result = setup(capsys, write_cfg(tmp_path), "--yes")
    assert result.code == 0, result.err
    assert len(aws.clusters()) == 1


@pytest.mark.parametrize("auth", [None, "iam"], ids=["auth-unset", "auth-iam"])
def test_with_iam_logins_the_cluster_keeps_its_master_password_in_secrets_manager_and_nothing_is_written(
    aws, tmp_path, capsys, monkeypatch, auth
):
    monkeypatch.delenv(PASSWORD_ENV_VAR)
    requests = create_cluster_requests(monkeypatch)
    config = write_cfg(tmp_path, auth=auth)
    result = setup(capsys, config, "--yes")
    assert result.code == 0, result.err
    [request] = requests
    assert request["ManageMasterPassword"] is True and "MasterUserPassword" not in request
    assert aws.moto_cluster().master_user_password is None  # none was sent, so moto has none
    assert sorted(path.name for path in tmp_path.iterdir()) == ["dwh.cfg"]  # no .env, nothing else
    assert PASSWORD_ENV_VAR not in os.environ
    assert f"Create cluster {IDENTIFIER}: 2 x ra3.large in us-west-2, encrypted, master password kept by AWS Secrets " \
           f"Manager, role {ROLE}, security group {GROUP} ..." in result.err.splitlines()
    # moto answers without MasterPasswordSecretArn: the summary names the service instead of the secret
    assert result.out.splitlines()[1] == (
        f"cluster {IDENTIFIER}: database sparkify, master user sparkify_admin; the master password is kept in "
        "AWS Secrets Manager, not in .env"
    )
    assert "saved a new master password" not in result.err

    again = setup(capsys, config)  # nothing to change, and still nothing written
    assert again.code == 0, again.err
    assert sorted(path.name for path in tmp_path.iterdir()) == ["dwh.cfg"] and len(requests) == 1


def test_the_summary_names_the_secret_when_aws_does(aws, tmp_path, capsys, monkeypatch):
    monkeypatch.delenv(PASSWORD_ENV_VAR)
    arn = f"arn:aws:secretsmanager:us-west-2:{aws_helpers.ACCOUNT}:secret:redshift!{IDENTIFIER}-admin-AbCdEf"
    # moto answers with what its cluster has, by the response's member names: give every cluster the secret AWS would
    monkeypatch.setattr(MotoCluster, "master_password_secret_arn", arn, raising=False)
    config = write_cfg(tmp_path)
    expected = (
        f"cluster {IDENTIFIER}: database sparkify, master user sparkify_admin; the master password is kept in "
        f"{arn}, not in .env"
    )
    result = setup(capsys, config, "--yes")
    assert result.code == 0, result.err
    assert result.out.splitlines()[1] == expected
    again = setup(capsys, config)  # an existing cluster: AWS's word for where its password is
    assert again.code == 0, again.err
    assert again.out.splitlines()[1] == expected


def test_an_existing_cluster_aws_names_no_secret_for_is_not_said_to_keep_one(aws, tmp_path, capsys, monkeypatch):
    config = write_cfg(tmp_path)
    assert setup(capsys, config, "--yes").code == 0  # with DWH_DB_PASSWORD: a password of the user's
    monkeypatch.delenv(PASSWORD_ENV_VAR)  # now the config would have AWS keep the password of a new cluster
    result = setup(capsys, config)
    assert result.code == 0, result.err
    assert "Secrets Manager" not in result.out


@pytest.mark.parametrize("password", [None, PASSWORD], ids=["no-password", "password"])
def test_auth_is_checked_as_load_config_checks_it_before_any_aws_call(aws, tmp_path, capsys, monkeypatch, password):
    if password is None:
        monkeypatch.delenv(PASSWORD_ENV_VAR)
    result = setup(capsys, write_cfg(tmp_path, auth="kerberos"), "--yes")
    assert (result.code, result.err) == (
        1, "error: dwh.cfg: [CLUSTER] AUTH = kerberos is not a way to log in - use one of iam, password\n")
    assert aws.nothing_exists()


def test_the_password_is_kept_by_aws_whatever_engine_dwh_cfg_names_yet(aws, tmp_path, capsys, monkeypatch):
    """Setup makes a Redshift cluster: AUTH's default is Redshift's even while ENGINE still says duckdb."""
    monkeypatch.delenv(PASSWORD_ENV_VAR)
    requests = create_cluster_requests(monkeypatch)
    result = setup(capsys, write_cfg(tmp_path, ENGINE="duckdb"), "--yes")
    assert result.code == 0, result.err
    assert requests[0]["ManageMasterPassword"] is True and not (tmp_path / ".env").exists()


def test_with_auth_password_a_missing_password_is_generated_into_env_file_for_owner_only_and_never_shown(
    aws, tmp_path, capsys, monkeypatch
):
    monkeypatch.delenv(PASSWORD_ENV_VAR)
    requests = create_cluster_requests(monkeypatch)
    (tmp_path / ".env").write_text("# mine\nAWS_DEFAULT_REGION=us-west-2\n")
    result = setup(capsys, write_cfg(tmp_path, auth="password"), "--yes")
    assert result.code == 0, result.err
    env = tmp_path / ".env"
    lines = env.read_text().splitlines()
    assert lines[:2] == ["# mine", "AWS_DEFAULT_REGION=us-west-2"]
    assert len(lines) == 3 and lines[2].startswith("DWH_DB_PASSWORD=")
    password = lines[2].split("=", 1)[1]
    assert settings.password_problem(password) is None
    assert stat.S_IMODE(env.stat().st_mode) == 0o600
    assert aws.moto_cluster().master_user_password == password
    assert f"saved a new master password to {env} (mode 0600); it is not shown here" in result.err.splitlines()
    assert password not in result.out + result.err
    [request] = requests
    assert request["MasterUserPassword"] == password and "ManageMasterPassword" not in request
    assert "Secrets Manager" not in result.out + result.err


def test_with_auth_password_the_dry_run_says_a_password_would_be_generated(aws, tmp_path, capsys, monkeypatch):
    monkeypatch.delenv(PASSWORD_ENV_VAR)
    result = setup(capsys, write_cfg(tmp_path, auth="password"), "--dry-run")
    assert result.code == 0, result.err
    assert result.out.splitlines()[4:6] == [
        f"would generate a master password and save it to {tmp_path}/.env as DWH_DB_PASSWORD",
        f"would create cluster {IDENTIFIER}: 2 x ra3.large in us-west-2, encrypted, role {ROLE}, security group {GROUP}",
    ]
    assert not (tmp_path / ".env").exists()


def test_password_from_the_environment_is_sent_even_with_auth_iam(aws, tmp_path, capsys, monkeypatch):
    requests = create_cluster_requests(monkeypatch)
    result = setup(capsys, write_cfg(tmp_path, auth="iam"), "--yes")
    assert result.code == 0, result.err
    [request] = requests
    assert request["MasterUserPassword"] == PASSWORD and "ManageMasterPassword" not in request
    assert not (tmp_path / ".env").exists()


def test_new_env_file_gets_a_header_saying_it_is_secret(aws, tmp_path, capsys, monkeypatch):
    monkeypatch.delenv(PASSWORD_ENV_VAR)
    assert setup(capsys, write_cfg(tmp_path, auth="password"), "--yes").code == 0
    assert (tmp_path / ".env").read_text().startswith(ENV_HEADER)


def test_password_in_env_file_is_used_and_not_regenerated(aws, tmp_path, capsys, monkeypatch):
    monkeypatch.delenv(PASSWORD_ENV_VAR)
    (tmp_path / ".env").write_text("DWH_DB_PASSWORD=From-dotenv-Passw0rd\n")
    assert setup(capsys, write_cfg(tmp_path), "--yes").code == 0
    assert aws.moto_cluster().master_user_password == "From-dotenv-Passw0rd"
    assert (tmp_path / ".env").read_text() == "DWH_DB_PASSWORD=From-dotenv-Passw0rd\n"


# ------------------------------------------------------------------ what moto would accept but Redshift refuses


@pytest.mark.parametrize(
    "values,password,message",
    [
        ({"NODE_TYPE": "dc1.large"}, PASSWORD, "error: dwh.cfg: [CLUSTER] NODE_TYPE = dc1.large is not a current node "
         "type - use one of ra3.large, ra3.xlplus, ra3.4xlarge, ra3.16xlarge"),
        ({"NUM_NODES": "1"}, PASSWORD, "error: dwh.cfg: [CLUSTER] NUM_NODES = 1 is too few for CLUSTER_TYPE = "
         "multi-node - use 2 or more, or CLUSTER_TYPE = single-node"),
        ({}, "password", "error: DWH_DB_PASSWORD does not meet Redshift's password rules: it needs an uppercase "
         "letter - change it in the environment or .env, or remove it: AWS Secrets Manager then keeps one (with "
         "AUTH = password, setup_cluster.py generates one into .env)"),
    ],
    ids=["node-type", "multi-node-count", "weak-password"],
)
def test_values_redshift_refuses_are_caught_before_any_aws_call(aws, tmp_path, capsys, monkeypatch, values, password, message):
    monkeypatch.setenv(PASSWORD_ENV_VAR, password)
    result = setup(capsys, write_cfg(tmp_path, **values), "--yes")
    assert (result.code, result.err) == (1, message + "\n")
    assert aws.nothing_exists()


# ------------------------------------------------------------------ failures half way


def refuse_cluster(monkeypatch):
    def refuse(self, **kwargs):
        raise RedshiftClientError(
            "ClusterQuotaExceeded", "The request would exceed the allowed number of clusters for this account."
        )

    monkeypatch.setattr(RedshiftBackend, "create_cluster", refuse)


def test_refused_cluster_reports_what_exists_now_and_a_rerun_finishes(aws, tmp_path, capsys, monkeypatch):
    config = write_cfg(tmp_path)
    with monkeypatch.context() as patch:
        refuse_cluster(patch)
        result = setup(capsys, config, "--yes")
    group_id = aws.groups()[0]["GroupId"]
    assert result.code == 1
    assert result.error == (
        "error: cannot create cluster sparkify-test: quota exceeded (ClusterQuotaExceeded: The request would exceed "
        "the allowed number of clusters for this account) - delete unused resources or request a higher quota in "
        f"the Service Quotas console, or ask for fewer/smaller nodes; exists now: IAM role {ROLE}, security group "
        f"{GROUP} ({group_id}) - fix the cause and re-run setup_cluster.py, or remove them with clean_redshift.py"
    )
    assert "Traceback" not in result.err
    assert aws.role_names() == [ROLE] and aws.clusters() == []
    # What was done before the failure, and what was not reached.
    assert result.out.splitlines() == [
        f"stopped at: create cluster {IDENTIFIER}: 2 x ra3.large in us-west-2, encrypted, role {ROLE}, "
        f"security group {GROUP}",
        "done before that:",
        f"  - create IAM role {ROLE}, trusted by redshift.amazonaws.com",
        f"  - give IAM role {ROLE} the policy sparkify-s3-read: list and read s3://{BUCKET}/log_data, "
        f"s3://{BUCKET}/song_data, s3://{BUCKET}/log_json_path.json, nothing else",
        f"  - create security group {GROUP} in the default VPC {aws.default_vpc()}",
        f"  - allow tcp 5439 from 203.0.113.7/32 in security group {GROUP}",
        "not done:",
        f"  - wait up to 30 min for cluster {IDENTIFIER} to be available",
        f"  - write HOST and ARN into {config}",
    ]
    assert config.read_text() == config_text()  # nothing to write back yet

    result = setup(capsys, config, "--yes")
    assert result.code == 0, result.err
    assert aws.cluster()["ClusterStatus"] == "available"
    assert len(aws.groups()) == 1 and aws.role_names() == [ROLE]


def test_waiter_timeout_says_the_cluster_exists_and_is_billed(aws, tmp_path, capsys):
    config = write_cfg(tmp_path)
    assert setup(capsys, config, "--yes").code == 0
    aws.moto_cluster().status = "modifying"
    result = setup(capsys, config, "--wait-minutes", "0.001")
    group_id = aws.groups()[0]["GroupId"]
    assert result.code == 1
    assert result.error == (
        "error: cluster sparkify-test is still modifying after 0.001 min - it exists and is billed; re-run "
        "setup_cluster.py to keep waiting (--wait-minutes N), or clean_redshift.py to delete it; exists now: "
        f"cluster sparkify-test (modifying), IAM role {ROLE}, security group {GROUP} ({group_id}) - fix the cause "
        "and re-run setup_cluster.py, or remove them with clean_redshift.py"
    )
    assert "  cluster sparkify-test: modifying (0m 00s elapsed)" in result.err.splitlines()


def test_existing_cluster_that_differs_from_config_is_left_alone_with_a_warning(aws, tmp_path, capsys):
    config = write_cfg(tmp_path)
    assert setup(capsys, config, "--yes").code == 0
    config.write_text(config.read_text().replace("NODE_TYPE = ra3.large", "NODE_TYPE = ra3.xlplus"))
    result = setup(capsys, config)
    assert result.code == 0, result.err
    assert (
        "cluster sparkify-test exists but it has 2 x ra3.large, dwh.cfg asks for 2 x ra3.xlplus - left as it is "
        "(run clean_redshift.py, then setup_cluster.py, to rebuild it)"
    ) in result.err.splitlines()
    assert aws.cluster()["NodeType"] == "ra3.large"


def test_group_with_our_name_but_not_ours_is_not_adopted_and_nothing_is_created(aws, tmp_path, capsys):
    aws.ec2.create_security_group(GroupName=GROUP, Description="someone else's", VpcId=aws.default_vpc())
    result = setup(capsys, write_cfg(tmp_path), "--yes")
    assert result.code == 1
    # Found while planning, before any change: the role is not created first (nothing exists to list).
    assert (result.error, result.out) == (
        f"error: security group {GROUP} in {aws.default_vpc()} was not made by setup_cluster.py (no sparkify:cluster "
        "tag) - delete or rename it, or change IDENTIFIER in [CLUSTER]",
        "",
    )
    assert aws.clusters() == [] and aws.groups()[0]["IpPermissions"] == [] and aws.role_names() == []


def test_conflict_found_while_planning_lists_what_exists(aws, tmp_path, capsys):
    config = write_cfg(tmp_path)
    aws.iam.create_role(RoleName=ROLE, AssumeRolePolicyDocument=json.dumps(iam.TRUST_POLICY))
    aws.ec2.create_security_group(GroupName=GROUP, Description="someone else's", VpcId=aws.default_vpc())
    result = setup(capsys, config, "--yes")
    assert (result.code, result.error) == (
        1,
        f"error: security group {GROUP} in {aws.default_vpc()} was not made by setup_cluster.py (no sparkify:cluster "
        "tag) - delete or rename it, or change IDENTIFIER in [CLUSTER]; exists now: IAM role "
        f"{ROLE} - fix the cause and re-run setup_cluster.py, or remove them with clean_redshift.py",
    )
    assert aws.iam.list_role_policies(RoleName=ROLE)["PolicyNames"] == []  # planned, never applied


def test_role_redshift_cannot_assume_is_refused(aws, tmp_path, capsys):
    aws.iam.create_role(RoleName=ROLE, AssumeRolePolicyDocument=json.dumps(
        {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"},
                                                 "Action": "sts:AssumeRole"}]}))
    result = setup(capsys, write_cfg(tmp_path), "--yes")
    assert (result.code, result.error) == (
        1,
        f"error: IAM role {ROLE} exists but Redshift may not assume it - set another IAM_ROLE_NAME in [CLUSTER] or "
        "let redshift.amazonaws.com assume it",
    )
    assert aws.clusters() == []
    assert aws.iam.list_role_policies(RoleName=ROLE)["PolicyNames"] == []


def test_reused_role_with_other_policies_gets_a_warning(aws, tmp_path, capsys):
    aws.iam.create_role(RoleName=ROLE, AssumeRolePolicyDocument=json.dumps(iam.TRUST_POLICY))
    broad = aws.iam.create_policy(PolicyName="ReadEveryBucket", PolicyDocument=json.dumps(
        {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}]}))
    aws.iam.attach_role_policy(RoleName=ROLE, PolicyArn=broad["Policy"]["Arn"])
    result = setup(capsys, write_cfg(tmp_path), "--yes")
    assert result.code == 0, result.err
    assert f"IAM role {ROLE} also has ReadEveryBucket - it may read more than [S3] names" in result.err.splitlines()


# ------------------------------------------------------------------ --upload-data


def test_upload_data_creates_a_private_bucket_and_uploads_the_json_once(aws, tmp_path, capsys):
    config = write_cfg(tmp_path)
    data = sample_folder(tmp_path / "sample")
    result = setup(capsys, config, "--yes", "--upload-data", data)
    assert result.code == 0, result.err
    assert aws.keys() == UPLOADED_KEYS  # notes.txt stays home: COPY would read it
    assert aws.s3.get_object(Bucket=BUCKET, Key="log_json_path.json")["Body"].read() == b'{"jsonpaths": ["$.artist"]}\n'
    block = aws.s3.get_public_access_block(Bucket=BUCKET)["PublicAccessBlockConfiguration"]
    assert all(block.values())

    result = setup(capsys, config, "--upload-data", data)
    assert result.code == 0, result.err
    assert f"{data}/song_data: all 1 file(s) already in s3://{BUCKET}/song_data" in result.err.splitlines()
    assert "nothing to change: everything already exists and dwh.cfg has HOST and ARN" in result.out


def test_upload_data_sends_a_changed_file_again(aws, tmp_path, capsys):
    config = write_cfg(tmp_path)
    data = sample_folder(tmp_path / "sample")
    assert setup(capsys, config, "--yes", "--upload-data", data).code == 0
    (data / "log_json_path.json").write_text('{"jsonpaths": ["$.song"]}\n')
    result = setup(capsys, config, "--upload-data", data)
    assert result.code == 0, result.err
    assert aws.s3.get_object(Bucket=BUCKET, Key="log_json_path.json")["Body"].read() == b'{"jsonpaths": ["$.song"]}\n'
    assert "done: 1 change(s); dwh.cfg has HOST and ARN" in result.out


def test_upload_data_folder_without_song_data_is_refused_before_aws(aws, tmp_path, capsys):
    data = tmp_path / "empty"
    data.mkdir()
    result = setup(capsys, write_cfg(tmp_path), "--yes", "--upload-data", data)
    assert (result.code, result.err) == (
        1,
        f"error: --upload-data {data}: no .json files in song_data/ - give a folder with song_data/, log_data/ and "
        "log_json_path.json (like data/sample)\n",
    )
    assert aws.nothing_exists()


def test_upload_data_defaults_to_the_bundled_sample(aws, tmp_path, capsys):
    result = setup(capsys, write_cfg(tmp_path), "--dry-run", "--upload-data")
    assert str(SAMPLE_DIR) in result.out + result.err


def test_missing_config_file_is_named(aws, tmp_path, capsys):
    result = setup(capsys, tmp_path / "nope.cfg")
    assert (result.code, result.err) == (
        1,
        f"error: config file {tmp_path}/nope.cfg not found - copy dwh.cfg.example to it, or leave out --config\n",
    )


@pytest.mark.parametrize("script", ["setup_cluster", "clean_redshift"])
@pytest.mark.parametrize("value", ["0", "-5", "soon"])
def test_wait_minutes_must_be_positive(aws, tmp_path, capsys, script, value):
    module = __import__(script)
    with pytest.raises(SystemExit) as caught:
        module.main(["--config", str(write_cfg(tmp_path)), "--wait-minutes", value])
    assert caught.value.code == 2
    assert capsys.readouterr().err.splitlines()[-1].endswith(
        f": error: argument --wait-minutes: {value} is not a positive number of minutes"
    )
    assert aws.nothing_exists()


# ------------------------------------------------------------------ no secrets in dwh.cfg

# Key-like values built at run time, so no scanner takes the tree for one holding real keys.
KEY_LOOKALIKE = "AKIA" + "EXAMPLEKEYVALUE1"
SECRET_LOOKALIKE = "wJalr" + "XUtnFEMI-example-secret"


@pytest.mark.parametrize("script", ["setup_cluster", "clean_redshift"])
@pytest.mark.parametrize(
    "extra,named,fix",
    [
        (f"[AWS]\nKEY = {KEY_LOOKALIKE}\nSECRET = {SECRET_LOOKALIKE}\n", "[AWS] KEY",
         "AWS credentials come from AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY in the environment or in .env "
         "beside the config (git-ignored), or from a profile in ~/.aws"),
        (f"[CLUSTER]\nDB_PASSWORD = {SECRET_LOOKALIKE}\n", "[CLUSTER] DB_PASSWORD",
         "put DWH_DB_PASSWORD in the environment or in .env beside the config (git-ignored)"),
    ],
    ids=["aws-keys", "db-password"],
)
def test_secret_in_dwh_cfg_is_refused_before_any_aws_call(aws, tmp_path, capsys, script, extra, named, fix):
    config = tmp_path / "dwh.cfg"
    # the secret goes at the top of its section, [CLUSTER]'s or a new one
    text = config_text()
    section = extra.split("\n", 1)[0] + "\n"
    config.write_text(text.replace(section, extra, 1) if section in text else text + "\n" + extra, encoding="utf-8")
    result = invoke(capsys, __import__(script), "--config", config, "--yes")
    assert (result.code, result.err) == (1, f"error: dwh.cfg: {named} is a secret - remove it from the file; {fix}\n")
    assert SECRET_LOOKALIKE not in result.out + result.err and "AKIA" not in result.out + result.err
    assert aws.nothing_exists()


# ------------------------------------------------------------------ a .env another user could have written


def unsafe_env(kind: str, folder) -> tuple:
    """A .env beside dwh.cfg that must not be trusted; returns (the file read through it, the error's tail)."""
    env = folder / ".env"
    if kind == "symlink":
        target = folder / "elsewhere.env"
        target.write_text("# someone else's file\n")
        env.symlink_to(target)
        return target, "is a symbolic link - replace it with a regular file of your own (chmod 600)"
    env.write_text("# mine\n")
    if kind == "writable":
        env.chmod(0o666)
        return env, f"is writable by other users - run chmod 600 {env}"
    os.chown(env, 65534, 65534)
    return env, f"is owned by uid 65534, not you (uid 0) - recreate it as your own file, then run chmod 600 {env}"


@pytest.mark.parametrize("script", ["setup_cluster", "clean_redshift"])
@pytest.mark.parametrize("kind", ["symlink", "writable", "other-owner"])
def test_unsafe_env_file_is_refused_before_anything_is_read_or_written(aws, tmp_path, capsys, monkeypatch, script, kind):
    if kind == "other-owner" and os.geteuid() != 0:
        pytest.skip("giving a file to another user needs root")
    monkeypatch.delenv(PASSWORD_ENV_VAR)  # with AUTH = password setup would generate one and write it into .env
    config = write_cfg(tmp_path, auth="password")
    target, tail = unsafe_env(kind, tmp_path)
    result = invoke(capsys, __import__(script), "--config", config, "--yes")
    assert (result.code, result.err) == (1, f"error: .env beside dwh.cfg ({tmp_path / '.env'}) {tail}\n")
    assert target.read_text() == ("# someone else's file\n" if kind == "symlink" else "# mine\n")
    assert aws.nothing_exists()


def test_jsonpaths_file_under_the_log_data_prefix_is_refused_before_any_aws_call(aws, tmp_path, capsys):
    config = write_cfg(tmp_path, LOG_JSONPATH=f"s3://{BUCKET}/log_data/log_json_path.json")
    result = setup(capsys, config, "--yes", "--upload-data", sample_folder(tmp_path / "sample"))
    assert (result.code, result.err) == (
        1,
        f"error: dwh.cfg: [S3] LOG_JSONPATH = s3://{BUCKET}/log_data/log_json_path.json is under [S3] LOG_DATA = "
        f"s3://{BUCKET}/log_data, and COPY loads every object whose key begins with that prefix as data - move the "
        f"jsonpaths file outside it, e.g. to s3://{BUCKET}/log_json_path.json\n",
    )
    assert aws.nothing_exists()
