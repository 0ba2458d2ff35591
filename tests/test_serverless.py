"""CLUSTER_TYPE = serverless: setup_cluster.py and clean_redshift.py on a Stubber'd redshift-serverless client.

moto has no redshift-serverless backend, so the `serverless` fixture gives the
scripts a real botocore client with a Stubber: each test queues, in order, the
calls the scripts must make and AWS's answers, and the Stubber checks every
request against the service model. IAM, EC2 and S3 run on moto as elsewhere.
"""

from __future__ import annotations

import pytest
from aws_helpers import GROUP, IDENTIFIER, REGION, ROLE, ROLE_ARN, answer, invoke, write_cfg
from botocore.stub import ANY

import clean_redshift
import setup_cluster
from sparkify.config import PASSWORD_ENV_VAR, read_file
from sparkify.provision import waiting as cluster_module

NAMESPACE = f"{IDENTIFIER}-ns"
WORKGROUP = IDENTIFIER
HOST = f"{WORKGROUP}.123456789012.{REGION}.redshift-serverless.amazonaws.com"
SECRET = f"arn:aws:secretsmanager:{REGION}:123456789012:secret:redshift!{NAMESPACE}-admin-AbCdEf"
TAGS = [{"key": "sparkify:cluster", "value": IDENTIFIER}]


def namespace(status: str = "AVAILABLE") -> dict:
    return {
        "namespaceName": NAMESPACE,
        "status": status,
        "dbName": "sparkify",
        "adminUsername": "sparkify_admin",
        "iamRoles": [ROLE_ARN],
        "defaultIamRoleArn": ROLE_ARN,
        "adminPasswordSecretArn": SECRET,
    }


def workgroup(status: str = "AVAILABLE") -> dict:
    found = {
        "workgroupName": WORKGROUP,
        "namespaceName": NAMESPACE,
        "status": status,
        "baseCapacity": 8,
        "publiclyAccessible": False,
        "port": 5439,
    }
    if status == "AVAILABLE":
        found["endpoint"] = {"address": HOST, "port": 5439}
    return found


def not_found(stub, operation: str, name: str) -> None:
    key = "namespaceName" if operation.endswith("namespace") else "workgroupName"
    stub.add_client_error(
        operation, "ResourceNotFoundException", f"{name} not found", 404, expected_params={key: name}
    )


def found(stub, operation: str, value: dict) -> None:
    if operation.endswith("namespace"):
        stub.add_response(operation, {"namespace": value}, {"namespaceName": NAMESPACE})
    else:
        stub.add_response(operation, {"workgroup": value}, {"workgroupName": WORKGROUP})


def nothing_there(stub) -> None:
    """The inventory of an account without the namespace and workgroup."""
    not_found(stub, "get_namespace", NAMESPACE)
    not_found(stub, "get_workgroup", WORKGROUP)


def both_there(stub, ns: str = "AVAILABLE", wg: str = "AVAILABLE") -> None:
    found(stub, "get_namespace", namespace(ns))
    found(stub, "get_workgroup", workgroup(wg))


CREATE_NAMESPACE = {
    "namespaceName": NAMESPACE,
    "dbName": "sparkify",
    "adminUsername": "sparkify_admin",
    "manageAdminPassword": True,
    "iamRoles": [ROLE_ARN],
    "defaultIamRoleArn": ROLE_ARN,
    "tags": TAGS,
}
CREATE_WORKGROUP = {
    "workgroupName": WORKGROUP,
    "namespaceName": NAMESPACE,
    "baseCapacity": 8,
    "publiclyAccessible": False,
    "port": 5439,
    "securityGroupIds": ANY,  # the group moto made; checked below through its tag
    "tags": TAGS,
}


def created_from_nothing(stub) -> None:
    """Every call of a first setup: look, create the namespace, wait, create the workgroup, wait."""
    nothing_there(stub)
    stub.add_response("create_namespace", {"namespace": namespace()}, CREATE_NAMESPACE)
    found(stub, "get_namespace", namespace())
    stub.add_response("create_workgroup", {"workgroup": workgroup("CREATING")}, CREATE_WORKGROUP)
    found(stub, "get_workgroup", workgroup("CREATING"))
    found(stub, "get_workgroup", workgroup())


def serverless_cfg(folder, **values):
    return write_cfg(folder, CLUSTER_TYPE="serverless", NODE_TYPE=None, NUM_NODES=None, **values)


def setup(capsys, config, *args):
    return invoke(capsys, setup_cluster, "--config", config, *args)


def written(config) -> tuple[str, str, str]:
    parser = read_file(config)
    return tuple(parser.get(section, key, fallback="") for section, key in
                 (("CLUSTER", "HOST"), ("CLUSTER", "WORKGROUP"), ("IAM_ROLE", "ARN")))


PLAN = [
    f"create IAM role {ROLE}, trusted by redshift.amazonaws.com",
    f"give IAM role {ROLE} the policy sparkify-s3-read: list and read s3://sparkify-test-input/log_data, "
    "s3://sparkify-test-input/song_data, s3://sparkify-test-input/log_json_path.json, nothing else",
    "create security group {GROUP} in the default VPC {vpc}",
    f"allow tcp 5439 from 203.0.113.7/32 in security group {GROUP}",
    f"create namespace {NAMESPACE}: database sparkify, admin sparkify_admin (password kept by AWS Secrets Manager), "
    f"default role {ROLE}",
    f"wait up to 30 min for namespace {NAMESPACE} to be available",
    f"create workgroup {WORKGROUP}: base 8 RPU in us-west-2, private, port 5439, security group {GROUP}",
    f"wait up to 30 min for workgroup {WORKGROUP} to be available",
    "write HOST, WORKGROUP and ARN into {config}",
]


def plan(aws, config) -> list[str]:
    return [step.format(GROUP=GROUP, vpc=aws.default_vpc(), config=config) for step in PLAN]


# ------------------------------------------------------------------ setup


def test_setup_creates_namespace_then_workgroup_and_writes_host_and_workgroup(aws, serverless, tmp_path, capsys,
                                                                               monkeypatch):
    monkeypatch.delenv(PASSWORD_ENV_VAR)
    config = serverless_cfg(tmp_path)
    created_from_nothing(serverless)
    result = setup(capsys, config, "--yes")
    assert result.code == 0, result.err
    group_id = aws.groups()[0]["GroupId"]
    assert {"Key": "sparkify:cluster", "Value": IDENTIFIER} in aws.groups()[0]["Tags"]
    assert written(config) == (HOST, WORKGROUP, ROLE_ARN)
    assert result.out.splitlines() == [
        f"workgroup {WORKGROUP} is available at {HOST}:5439 - base 8 RPU in us-west-2, private (no public address)",
        f"namespace {NAMESPACE}: database sparkify, admin sparkify_admin; the admin password is kept in {SECRET}, "
        "not in .env",
        f"IAM role {ROLE} ({ROLE_ARN}) may read only s3://sparkify-test-input/log_data, "
        "s3://sparkify-test-input/song_data, s3://sparkify-test-input/log_json_path.json",
        f"port 5439 is open to 203.0.113.7/32 only (security group {GROUP}, {group_id})",
        "done: 7 change(s); dwh.cfg has HOST, WORKGROUP and ARN",
        "set [S3] MANIFEST_PREFIX in dwh.cfg (where etl.py writes its COPY manifests) and run setup_cluster.py "
        "again so the role may read them, then: python create_tables.py && python etl.py",
    ]
    assert f"  workgroup {WORKGROUP}: creating (0m 00s elapsed)" in result.err.splitlines()
    assert f"  workgroup {WORKGROUP}: available (0m 00s elapsed)" in result.err.splitlines()
    assert not (tmp_path / ".env").exists()  # no password: AWS keeps it
    assert aws.clusters() == []


def test_second_setup_reuses_both_and_creates_nothing(aws, serverless, tmp_path, capsys):
    config = serverless_cfg(tmp_path)
    created_from_nothing(serverless)
    assert setup(capsys, config, "--yes").code == 0
    before = config.read_bytes()
    both_there(serverless)  # no create_* call is queued: one would fail the test
    result = setup(capsys, config)  # no --yes, no answer: nothing to ask
    assert result.code == 0, result.err
    assert "nothing to change: everything already exists and dwh.cfg has HOST, WORKGROUP and ARN" in result.out
    assert config.read_bytes() == before


def test_dry_run_lists_the_plan_and_changes_nothing(aws, serverless, tmp_path, capsys):
    config = serverless_cfg(tmp_path)
    nothing_there(serverless)
    result = setup(capsys, config, "--dry-run")
    assert result.code == 0, result.err
    assert result.out.splitlines() == [f"would {step}" for step in plan(aws, config)] + [
        "dry run: 7 action(s) above would be taken; nothing was changed"
    ]
    assert aws.nothing_exists() and written(config) == ("", "", "")


def test_the_question_names_the_cost_and_lists_the_plan(aws, serverless, tmp_path, capsys, monkeypatch):
    config = serverless_cfg(tmp_path)
    nothing_there(serverless)
    answer(monkeypatch, "no")
    result = setup(capsys, config)
    assert result.code == 1
    assert result.err.splitlines() == [
        f"Create Redshift Serverless workgroup {WORKGROUP} (namespace {NAMESPACE}): base 8 RPU in us-west-2, "
        "private (no public address), port 5439 open to 203.0.113.7/32? It is billed per RPU-second while it runs "
        "queries, and for storage, until clean_redshift.py deletes it.",
        "The plan:",
        *(f"  - {step}" for step in plan(aws, config)),
        "Type 'yes' to continue: error: not confirmed - nothing was created (answer yes, or pass --yes)",
    ]
    assert aws.nothing_exists()


def test_wait_that_times_out_names_the_workgroup_and_what_exists(aws, serverless, tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(cluster_module, "POLL_SECONDS", 60.0)  # the first delay (10 s) is past the budget: one check
    config = serverless_cfg(tmp_path)
    both_there(serverless, wg="CREATING")
    found(serverless, "get_workgroup", workgroup("CREATING"))
    result = setup(capsys, config, "--yes", "--wait-minutes", "0.001")
    group_id = aws.groups()[0]["GroupId"]
    assert result.code == 1
    assert result.error == (
        f"error: workgroup {WORKGROUP} is still creating after 0.001 min - it exists; re-run setup_cluster.py to "
        "keep waiting (--wait-minutes N), or clean_redshift.py to delete it; exists now: namespace "
        f"{NAMESPACE} (available), workgroup {WORKGROUP} (creating), IAM role {ROLE}, security group {GROUP} "
        f"({group_id}) - fix the cause and re-run setup_cluster.py, or remove them with clean_redshift.py"
    )
    assert f"  workgroup {WORKGROUP}: creating (0m 00s elapsed)" in result.err.splitlines()


def test_refused_workgroup_reports_what_was_done_and_what_exists(aws, serverless, tmp_path, capsys):
    config = serverless_cfg(tmp_path)
    nothing_there(serverless)
    serverless.add_response("create_namespace", {"namespace": namespace()}, CREATE_NAMESPACE)
    found(serverless, "get_namespace", namespace())
    serverless.add_client_error(
        "create_workgroup", "ServiceQuotaExceededException", "The workgroup quota was exceeded.", 402,
        expected_params=CREATE_WORKGROUP,
    )
    result = setup(capsys, config, "--yes")
    group_id = aws.groups()[0]["GroupId"]
    steps = plan(aws, config)
    assert result.code == 1
    assert result.error == (
        f"error: cannot create workgroup {WORKGROUP}: quota exceeded (ServiceQuotaExceededException: The workgroup "
        "quota was exceeded) - delete unused resources or request a higher quota in the Service Quotas console, or "
        f"ask for fewer/smaller nodes; exists now: IAM role {ROLE}, security group {GROUP} ({group_id}), namespace "
        f"{NAMESPACE} (available) - fix the cause and re-run setup_cluster.py, or remove them with clean_redshift.py"
    )
    assert result.out.splitlines() == [
        f"stopped at: {steps[6]}",
        "done before that:",
        *(f"  - {step}" for step in steps[:6]),
        "not done:",
        *(f"  - {step}" for step in steps[7:]),
    ]
    assert written(config) == ("", "", "")


def test_workgroup_of_another_namespace_is_not_adopted(aws, serverless, tmp_path, capsys):
    found(serverless, "get_namespace", namespace())
    found(serverless, "get_workgroup", {**workgroup(), "namespaceName": "someone-elses"})
    result = setup(capsys, serverless_cfg(tmp_path), "--yes")
    assert (result.code, result.error) == (
        1,
        f"error: workgroup {WORKGROUP} serves namespace someone-elses, not {NAMESPACE} - delete it, or change "
        f"IDENTIFIER in [CLUSTER]; exists now: namespace {NAMESPACE} (available), workgroup {WORKGROUP} (available) "
        "- fix the cause and re-run setup_cluster.py, or remove them with clean_redshift.py",
    )
    assert aws.nothing_exists()


@pytest.mark.parametrize("public", ["yes", "no"])
def test_public_access_only_when_asked(aws, serverless, tmp_path, capsys, public):
    config = serverless_cfg(tmp_path)
    config.write_text(config.read_text().replace("[CLUSTER]\n", f"[CLUSTER]\nPUBLICLY_ACCESSIBLE = {public}\nBASE_RPU = 32\n"))
    nothing_there(serverless)
    result = setup(capsys, config, "--dry-run")
    access = "publicly accessible" if public == "yes" else "private"
    assert f"would create workgroup {WORKGROUP}: base 32 RPU in us-west-2, {access}, port 5439, security group {GROUP}" \
        in result.out.splitlines()


# ------------------------------------------------------------------ teardown


def clean(capsys, config, *args):
    return invoke(capsys, clean_redshift, "--config", config, *args)


def set_up(stub, capsys, config) -> str:
    """A first setup; returns the security group's id."""
    created_from_nothing(stub)
    result = setup(capsys, config, "--yes")
    assert result.code == 0, result.err
    return result.out.split(f"(security group {GROUP}, ")[1].split(")")[0]


def inventory(stub, wg: str | None = "AVAILABLE", ns: str | None = "AVAILABLE") -> None:
    """What clean_redshift.py looks at first: the workgroup, then the namespace (None: not found)."""
    if wg is None:
        not_found(stub, "get_workgroup", WORKGROUP)
    else:
        found(stub, "get_workgroup", workgroup(wg))
    if ns is None:
        not_found(stub, "get_namespace", NAMESPACE)
    else:
        found(stub, "get_namespace", namespace(ns))


def test_teardown_deletes_workgroup_then_namespace_with_its_final_snapshot_then_group_and_role(
    aws, serverless, tmp_path, capsys
):
    config = serverless_cfg(tmp_path)
    group_id = set_up(serverless, capsys, config)
    inventory(serverless)
    serverless.add_response("delete_workgroup", {"workgroup": workgroup("DELETING")}, {"workgroupName": WORKGROUP})
    found(serverless, "get_workgroup", workgroup("DELETING"))
    not_found(serverless, "get_workgroup", WORKGROUP)
    serverless.add_response(
        "delete_namespace",
        {"namespace": namespace("DELETING")},
        {"namespaceName": NAMESPACE, "finalSnapshotName": "sparkify-final"},
    )
    not_found(serverless, "get_namespace", NAMESPACE)
    result = clean(capsys, config, "--yes", "--final-snapshot", "sparkify-final")
    assert result.code == 0, result.err
    assert result.out.splitlines() == [
        f"deleted workgroup {WORKGROUP}",
        f"deleted namespace {NAMESPACE} (final snapshot sparkify-final kept)",
        f"deleted security group {GROUP} ({group_id})",
        f"deleted IAM role {ROLE} and 1 policy",
        f"done: nothing of workgroup {WORKGROUP} (namespace {NAMESPACE}) is left in us-west-2",
    ]
    assert f"  workgroup {WORKGROUP}: deleting (0m 00s elapsed)" in result.err.splitlines()
    assert f"  workgroup {WORKGROUP}: gone (0m 00s elapsed)" in result.err.splitlines()
    assert aws.nothing_exists()


def test_teardown_dry_run_prints_the_plan_and_deletes_nothing(aws, serverless, tmp_path, capsys):
    config = serverless_cfg(tmp_path)
    group_id = set_up(serverless, capsys, config)
    inventory(serverless)
    result = clean(capsys, config, "--dry-run")
    assert result.code == 0, result.err
    assert result.out.splitlines() == [
        f"would delete Redshift Serverless workgroup {WORKGROUP} (base 8 RPU, available)",
        f"would delete Redshift Serverless namespace {NAMESPACE} and all data in it, with no final snapshot "
        "(pass --final-snapshot NAME to keep one)",
        f"would delete security group {GROUP} ({group_id})",
        f"would delete IAM role {ROLE} and its policies",
        "dry run: 4 action(s) above would be taken; nothing was changed",
    ]
    assert aws.groups() and aws.role_names() == [ROLE]


def test_teardown_rerun_reports_everything_already_gone(aws, serverless, tmp_path, capsys):
    inventory(serverless, wg=None, ns=None)
    result = clean(capsys, serverless_cfg(tmp_path))  # no --yes: nothing to ask
    assert (result.code, result.out) == (
        0,
        f"nothing to delete: workgroup {WORKGROUP}, namespace {NAMESPACE}, security group {GROUP}, IAM role {ROLE} "
        "already gone\n",
    )


def test_teardown_after_the_workgroup_went_deletes_the_namespace(aws, serverless, tmp_path, capsys):
    inventory(serverless, wg=None, ns="AVAILABLE")
    serverless.add_response("delete_namespace", {"namespace": namespace("DELETING")}, {"namespaceName": NAMESPACE})
    found(serverless, "get_namespace", namespace("DELETING"))
    not_found(serverless, "get_namespace", NAMESPACE)
    result = clean(capsys, serverless_cfg(tmp_path), "--yes")
    assert result.code == 0, result.err
    assert result.out.splitlines() == [
        f"deleted namespace {NAMESPACE} (no final snapshot)",
        f"already gone: workgroup {WORKGROUP}, security group {GROUP}, IAM role {ROLE}",
        f"done: nothing of workgroup {WORKGROUP} (namespace {NAMESPACE}) is left in us-west-2",
    ]


def test_workgroup_gone_by_the_time_of_delete_is_reported_as_gone(aws, serverless, tmp_path, capsys):
    inventory(serverless, wg="AVAILABLE", ns=None)
    serverless.add_client_error(
        "delete_workgroup", "ResourceNotFoundException", "gone", 404, expected_params={"workgroupName": WORKGROUP}
    )
    result = clean(capsys, serverless_cfg(tmp_path), "--yes")
    assert result.code == 0, result.err
    assert result.out.splitlines() == [
        f"already gone: namespace {NAMESPACE}, security group {GROUP}, IAM role {ROLE}, workgroup {WORKGROUP}",
        f"done: nothing of workgroup {WORKGROUP} (namespace {NAMESPACE}) is left in us-west-2",
    ]


def test_teardown_wait_that_times_out_says_what_still_exists(aws, serverless, tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(cluster_module, "POLL_SECONDS", 60.0)
    inventory(serverless, wg="DELETING", ns="AVAILABLE")
    found(serverless, "get_workgroup", workgroup("DELETING"))
    result = clean(capsys, serverless_cfg(tmp_path), "--yes", "--wait-minutes", "0.001")
    assert (result.code, result.error) == (
        1,
        f"error: workgroup {WORKGROUP} is still deleting after 0.001 min - AWS is still deleting it; re-run "
        f"clean_redshift.py later to finish (--wait-minutes N); still exists: workgroup {WORKGROUP} (deleting), "
        f"namespace {NAMESPACE} (available) - re-run clean_redshift.py to finish",
    )
