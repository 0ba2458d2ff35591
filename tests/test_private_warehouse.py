"""[DWH] CONNECTION = data-api: setup_cluster.py makes the warehouse private and opens no port.

Clusters on moto (describe_clusters and the security group are moto's own
answers); Redshift Serverless on botocore's Stubber (moto has no backend for
it), with IAM and EC2 on moto, as in tests/test_serverless.py.
"""

from __future__ import annotations

import clean_redshift
import pytest
import setup_cluster
from aws_helpers import (  # noqa: F401
    GROUP,
    IDENTIFIER,
    ROLE,
    answer,
    aws,
    invoke,
    serverless,
    write_cfg,
)
from test_serverless import CREATE_NAMESPACE, CREATE_WORKGROUP, HOST, NAMESPACE, WORKGROUP, found, namespace, not_found
from test_serverless import workgroup as a_workgroup

from sparkify.config import PASSWORD_ENV_VAR


def data_api_cfg(folder, **values):
    """The test dwh.cfg with CONNECTION = data-api and, unless given, no ALLOWED_CIDR line at all."""
    values.setdefault("ALLOWED_CIDR", None)
    config = write_cfg(folder, **values)
    config.write_text(config.read_text().replace("ENGINE = redshift\n", "ENGINE = redshift\nCONNECTION = data-api\n"))
    return config


def setup(capsys, config, *args):
    return invoke(capsys, setup_cluster, "--config", config, *args)


def no_port_line(group_id: str) -> str:
    return (f"no port is open: CONNECTION = data-api reaches it through the Redshift Data API (security group {GROUP}, "
            f"{group_id}: no inbound rule; ALLOWED_CIDR is not used)")


# ------------------------------------------------------------------ clusters (moto)


def test_data_api_cluster_is_private_and_its_group_admits_nothing(aws, tmp_path, capsys):
    config = data_api_cfg(tmp_path)
    result = setup(capsys, config, "--yes")
    assert result.code == 0, result.err
    cluster, group = aws.cluster(), aws.groups()[0]
    assert cluster["PubliclyAccessible"] is False
    assert group["IpPermissions"] == []
    assert {"Key": "sparkify:cluster", "Value": IDENTIFIER} in group["Tags"]  # clean_redshift.py finds it
    assert [g["VpcSecurityGroupId"] for g in cluster["VpcSecurityGroups"]] == [group["GroupId"]]
    lines = result.out.splitlines()
    assert lines[0].endswith(" - 2 x ra3.large in us-west-2, encrypted, private (no public address)")
    assert no_port_line(group["GroupId"]) in lines
    assert "allow tcp" not in result.err


def test_data_api_plan_and_question_say_private_and_no_open_port(aws, tmp_path, capsys, monkeypatch):
    config = data_api_cfg(tmp_path)
    result = setup(capsys, config, "--dry-run")
    assert result.code == 0, result.err
    vpc = aws.default_vpc()
    assert f"would create security group {GROUP} in the default VPC {vpc}, with no inbound rule (CONNECTION = data-api)" \
        in result.out.splitlines()
    assert not [line for line in result.out.splitlines() if line.startswith("would allow")]
    assert (f"would create cluster {IDENTIFIER}: 2 x ra3.large in us-west-2, encrypted, private, role {ROLE}, "
            f"security group {GROUP}") in result.out.splitlines()
    answer(monkeypatch, "no")
    result = setup(capsys, config)
    assert result.code == 1
    assert result.err.splitlines()[0] == (
        f"Create Redshift cluster {IDENTIFIER}: 2 x ra3.large in us-west-2, encrypted, private (no public address), "
        "no port open (CONNECTION = data-api)? It is billed by the hour until clean_redshift.py deletes it.")
    assert aws.nothing_exists()


def test_data_api_ignores_allowed_cidr_even_anywhere(aws, tmp_path, capsys):
    """ALLOWED_CIDR is not read with data-api: 0.0.0.0/0 asks for no --allow-anywhere and opens nothing."""
    result = setup(capsys, data_api_cfg(tmp_path, ALLOWED_CIDR="0.0.0.0/0"), "--yes")
    assert result.code == 0, result.err
    assert aws.groups()[0]["IpPermissions"] == []
    assert "WARNING" not in result.err


def test_switching_to_data_api_closes_the_port_and_warns_about_the_public_cluster(aws, tmp_path, capsys):
    direct = write_cfg(tmp_path)
    assert setup(capsys, direct, "--yes").code == 0
    assert aws.groups()[0]["IpPermissions"]  # direct: port 5439 open to ALLOWED_CIDR
    config = data_api_cfg(tmp_path)  # the same file, now with CONNECTION = data-api
    result = setup(capsys, config, "--yes")
    assert result.code == 0, result.err
    assert aws.groups()[0]["IpPermissions"] == []
    assert f"Remove rule 'tcp 5439 from 203.0.113.7/32' from security group {GROUP} ..." in result.err.splitlines()
    assert (
        f"WARNING: cluster {IDENTIFIER} is publicly accessible, but CONNECTION = data-api needs no public address - "
        f"left as it is; make it private with `aws redshift modify-cluster --cluster-identifier {IDENTIFIER} "
        "--no-publicly-accessible`"
    ) in result.err.splitlines()
    assert aws.cluster()["PubliclyAccessible"] is True  # not changed behind the user's back


def test_data_api_cluster_is_torn_down_and_teardown_reruns(aws, tmp_path, capsys):
    config = data_api_cfg(tmp_path)
    assert setup(capsys, config, "--yes").code == 0
    result = invoke(capsys, clean_redshift, "--config", config, "--yes")
    assert result.code == 0, result.err
    assert aws.nothing_exists()
    again = invoke(capsys, clean_redshift, "--config", config)
    assert again.code == 0 and again.out.startswith("nothing to delete: ")


# ------------------------------------------------------------------ serverless (Stubber)


def serverless_data_api_cfg(folder, **values):
    return data_api_cfg(folder, CLUSTER_TYPE="serverless", NODE_TYPE=None, NUM_NODES=None, **values)


def test_data_api_workgroup_is_private_with_no_ingress_rule(aws, serverless, tmp_path, capsys, monkeypatch):
    monkeypatch.delenv(PASSWORD_ENV_VAR)
    config = serverless_data_api_cfg(tmp_path)
    not_found(serverless, "get_namespace", NAMESPACE)
    not_found(serverless, "get_workgroup", WORKGROUP)
    serverless.add_response("create_namespace", {"namespace": namespace()}, CREATE_NAMESPACE)
    found(serverless, "get_namespace", namespace())
    # CREATE_WORKGROUP: publiclyAccessible False; the Stubber refuses any other request
    assert CREATE_WORKGROUP["publiclyAccessible"] is False
    serverless.add_response("create_workgroup", {"workgroup": a_workgroup("CREATING")}, CREATE_WORKGROUP)
    found(serverless, "get_workgroup", a_workgroup())
    result = setup(capsys, config, "--yes")
    assert result.code == 0, result.err
    group = aws.groups()[0]
    assert group["IpPermissions"] == []
    assert result.out.splitlines()[0] == (
        f"workgroup {WORKGROUP} is available at {HOST}:5439 - base 8 RPU in us-west-2, private (no public address)")
    assert no_port_line(group["GroupId"]) in result.out.splitlines()
    assert not (tmp_path / ".env").exists()


def test_data_api_serverless_question_says_no_open_port(aws, serverless, tmp_path, capsys, monkeypatch):
    not_found(serverless, "get_namespace", NAMESPACE)
    not_found(serverless, "get_workgroup", WORKGROUP)
    answer(monkeypatch, "no")
    result = setup(capsys, serverless_data_api_cfg(tmp_path))
    assert result.code == 1
    assert result.err.splitlines()[0] == (
        f"Create Redshift Serverless workgroup {WORKGROUP} (namespace {NAMESPACE}): base 8 RPU in us-west-2, "
        "private (no public address), no port open (CONNECTION = data-api)? It is billed per RPU-second while it "
        "runs queries, and for storage, until clean_redshift.py deletes it.")


def test_existing_public_workgroup_is_warned_about_not_changed(aws, serverless, tmp_path, capsys):
    found(serverless, "get_namespace", namespace())
    found(serverless, "get_workgroup", {**a_workgroup(), "publiclyAccessible": True})
    result = setup(capsys, serverless_data_api_cfg(tmp_path), "--yes")  # no update_workgroup is queued
    assert result.code == 0, result.err
    warnings = [line for line in result.err.splitlines() if "WARNING" in line or "exist but" in line]
    assert warnings == [
        f"WARNING: workgroup {WORKGROUP} is publicly accessible, but CONNECTION = data-api needs no public address - "
        f"left as it is; make it private with `aws redshift-serverless update-workgroup --workgroup-name {WORKGROUP} "
        "--no-publicly-accessible`"
    ]


def test_public_workgroup_and_data_api_contradict(aws, tmp_path, capsys):
    config = serverless_data_api_cfg(tmp_path)
    config.write_text(config.read_text().replace("[CLUSTER]\n", "[CLUSTER]\nPUBLICLY_ACCESSIBLE = yes\n"))
    result = setup(capsys, config, "--yes")
    assert (result.code, result.error) == (
        1,
        "error: dwh.cfg: [CLUSTER] PUBLICLY_ACCESSIBLE = yes contradicts [DWH] CONNECTION = data-api, which needs no "
        "public address - set PUBLICLY_ACCESSIBLE = no, or CONNECTION = direct",
    )
    assert aws.nothing_exists()


def test_unknown_connection_is_refused_before_any_aws_call(aws, tmp_path, capsys):
    config = data_api_cfg(tmp_path)
    config.write_text(config.read_text().replace("CONNECTION = data-api", "CONNECTION = jdbc"))
    result = setup(capsys, config, "--yes")
    assert (result.code, result.error) == (
        1, "error: dwh.cfg: [DWH] CONNECTION = jdbc is not a connection - use one of direct, data-api")
    assert aws.nothing_exists()


@pytest.mark.parametrize("cidr", [None, ""])
def test_direct_still_needs_allowed_cidr(aws, tmp_path, capsys, cidr):
    result = setup(capsys, write_cfg(tmp_path, ALLOWED_CIDR=cidr), "--yes")
    assert result.code == 1 and "ALLOWED_CIDR" in result.error

