"""[DWH] CONNECTION = data-api: setup_cluster.py makes the warehouse private and opens no port.

Clusters on moto (describe_clusters and the security group are moto's own
answers); Redshift Serverless on botocore's Stubber (moto has no backend for
it), with IAM and EC2 on moto, as in tests/test_serverless.py. The last test
goes from nothing to a loaded warehouse and back; its docstring names its doubles.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import psycopg2
import pytest
from aws_helpers import GROUP, IDENTIFIER, ROLE, ROLE_ARN, answer, create_cluster_requests, invoke, write_cfg
from data_api_double import PostgresDataApi
from helpers import PG_PASSWORD, Inputs, new_database, play, postgres_over_the_data_api, run, song
from test_serverless import CREATE_NAMESPACE, CREATE_WORKGROUP, HOST, NAMESPACE, WORKGROUP, found, namespace, not_found
from test_serverless import workgroup as a_workgroup

import clean_redshift
import create_tables
import etl
import setup_cluster
import sql_queries as sql
from sparkify.analytics import open_warehouse
from sparkify.config import PASSWORD_ENV_VAR, SAMPLE_DIR, load_config, read_file
from sparkify.engines import data_api


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


def test_data_api_cluster_without_a_password_has_aws_keep_its_master_password(aws, tmp_path, capsys, monkeypatch):
    """The provisioned private path: no port, and no password on this machine either (ManageMasterPassword)."""
    monkeypatch.delenv(PASSWORD_ENV_VAR)
    requests = create_cluster_requests(monkeypatch)
    result = setup(capsys, data_api_cfg(tmp_path), "--yes")
    assert result.code == 0, result.err
    [request] = requests
    assert request["ManageMasterPassword"] is True and "MasterUserPassword" not in request
    assert request["PubliclyAccessible"] is False
    assert sorted(path.name for path in tmp_path.iterdir()) == ["dwh.cfg"]
    assert (f"cluster {IDENTIFIER}: database sparkify, master user sparkify_admin; the master password is kept in "
            "AWS Secrets Manager, not in .env") in result.out.splitlines()


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


def test_setup_s_workgroup_wins_over_identifier_for_the_data_api(tmp_path):
    """setup_cluster.py leaves IDENTIFIER and writes WORKGROUP: with CLUSTER_TYPE = serverless that is not ambiguous."""
    config = serverless_data_api_cfg(tmp_path, MANIFEST_PREFIX="s3://sparkify-test-input/manifests")
    text = config.read_text().replace("[IAM_ROLE]\n", f"WORKGROUP = {WORKGROUP}\n\n[IAM_ROLE]\n")
    config.write_text(text.replace("ARN =\n", "ARN = arn:aws:iam::123456789012:role/x\n"))
    data_api = load_config(config).data_api
    assert data_api.target() == {"WorkgroupName": WORKGROUP, "Database": "sparkify"}


# ------------------------------------------------------------------ end to end


def test_from_nothing_to_a_loaded_private_serverless_warehouse_and_back(
    aws, serverless, pg_server, tmp_path, capsys, monkeypatch
):
    """The promised path, in-process, with AWS credentials only: no password, no .env, no open port.

    What is real and what is a double:
    - setup_cluster.py and clean_redshift.py run unchanged: IAM, EC2 (security
      group) and S3 (the bucket, --upload-data, later etl.py's reads) on moto;
      redshift-serverless on botocore's Stubber, which checks each request
      against the service model (create_workgroup: publiclyAccessible False)
      and answers as queued here. No real Redshift Serverless is involved.
    - create_tables.py and etl.py run with CONNECTION = data-api against the
      WORKGROUP setup wrote, through the real DataApiConnection, on the
      redshift-data double of tests/data_api_double.py, which runs the SQL on
      the throwaway PostgreSQL server.
    - The seam: that double runs PostgreSQL, not Redshift, so between setup and
      create_tables.py this test changes ONE line of the dwh.cfg setup wrote,
      [DWH] ENGINE = redshift -> postgres, and widens DATA_API_ENGINES as
      tests/test_data_api.py does. So the Redshift dialect (COPY from S3 with
      the role, the manifests under MANIFEST_PREFIX) is not exercised here; the
      PostgreSQL dialect reads the same s3:// inputs setup uploaded (from moto)
      and loads them with INSERTs over the Data API. test_redshift.py and
      test_incremental_s3.py cover the Redshift dialect on their own doubles.
    """
    monkeypatch.delenv(PASSWORD_ENV_VAR)
    monkeypatch.setattr(data_api, "FIRST_POLL_SECONDS", 0.0001)
    monkeypatch.setattr(data_api, "MAX_POLL_SECONDS", 0.001)
    database = new_database(pg_server)
    db_name = database["DB_NAME"]
    sample = _small_sample(tmp_path / "sample")
    config = serverless_data_api_cfg(tmp_path, DB_NAME=db_name, MANIFEST_PREFIX="s3://sparkify-test-input/manifests")

    # 1. setup_cluster.py: role, group without a rule, bucket + upload, namespace, workgroup (private)
    ns = {**namespace(), "dbName": db_name}
    not_found(serverless, "get_namespace", NAMESPACE)
    not_found(serverless, "get_workgroup", WORKGROUP)
    serverless.add_response("create_namespace", {"namespace": ns}, {**CREATE_NAMESPACE, "dbName": db_name})
    found(serverless, "get_namespace", ns)
    serverless.add_response("create_workgroup", {"workgroup": a_workgroup("CREATING")},
                            {**CREATE_WORKGROUP, "publiclyAccessible": False})
    found(serverless, "get_workgroup", a_workgroup())
    result = setup(capsys, config, "--yes", "--upload-data", sample)
    assert result.code == 0, result.err
    group = aws.groups()[0]
    assert group["IpPermissions"] == []
    assert no_port_line(group["GroupId"]) in result.out.splitlines()
    parser = read_file(config)
    assert (parser.get("CLUSTER", "HOST"), parser.get("CLUSTER", "WORKGROUP"), parser.get("IAM_ROLE", "ARN")) == (
        HOST, WORKGROUP, ROLE_ARN)
    assert not parser.has_option("CLUSTER", "ALLOWED_CIDR")

    # 2. create_tables.py and etl.py over the Data API (the seam: ENGINE postgres, for the PostgreSQL behind the double)
    config.write_text(config.read_text().replace("ENGINE = redshift\n", "ENGINE = postgres\n"))
    postgres_over_the_data_api(monkeypatch)
    # gate=False: the PostgreSQL dialect's own statements (its advisory lock, a read-only session) are not Redshift's
    client = PostgresDataApi(database, page_size=50, gate=False)
    regions = []
    monkeypatch.setattr(data_api, "new_client", lambda region: regions.append(region) or client)
    try:
        assert run(create_tables, "--config", config, "--yes", "-q") == 0
        assert run(etl, "--config", config, "-q") == 0
        targets = [r for op, r in client.requests if op == "ExecuteStatement" and "SessionId" not in r]
        assert targets and all(r["WorkgroupName"] == WORKGROUP and "SecretArn" not in r for r in targets)
        assert set(regions) == {"us-west-2"}
        counts = _star_counts(database)
        assert counts == {"songplays": 10, "users": 2, "songs": 3, "artists": 3, "time": 10}
        # the notebook's and dashboard's way in
        with open_warehouse(config) as engine:
            assert engine.count("songplays") == 10
            assert engine.query("SELECT COUNT(*) FROM songplays WHERE song_id IS NOT NULL") == [(4,)]
    finally:
        client.close()
    assert PASSWORD_ENV_VAR not in os.environ
    assert not (tmp_path / ".env").exists()

    # 3. clean_redshift.py --yes: workgroup, namespace, group, role (and the bucket) go
    found(serverless, "get_workgroup", a_workgroup())
    found(serverless, "get_namespace", ns)
    serverless.add_response("delete_workgroup", {"workgroup": a_workgroup("DELETING")}, {"workgroupName": WORKGROUP})
    not_found(serverless, "get_workgroup", WORKGROUP)
    serverless.add_response("delete_namespace", {"namespace": {**ns, "status": "DELETING"}}, {"namespaceName": NAMESPACE})
    not_found(serverless, "get_namespace", NAMESPACE)
    result = invoke(capsys, clean_redshift, "--config", config, "--yes", "--delete-bucket")
    assert result.code == 0, result.err
    assert result.out.splitlines()[:2] == [f"deleted workgroup {WORKGROUP}", f"deleted namespace {NAMESPACE} (no final snapshot)"]
    assert f"deleted IAM role {ROLE} and 1 policy" in result.out.splitlines()
    assert aws.nothing_exists()
    assert not (tmp_path / ".env").exists()


def _small_sample(root: Path) -> Path:
    """data/sample's layout, small: 3 songs, 10 plays (4 match a song; 2 users), the real jsonpaths file."""
    inputs = Inputs(root)
    inputs.songs([
        song("SOAAA", "Alpha", "ARA", "Ann", 200.5),
        song("SOBBB", "Beta", "ARB", "Bob", 180.0),
        song("SOCCC", "Gamma", "ARC", "Cy", 99.9),
    ])
    plays = []
    for i in range(10):
        title, artist, length = [("Alpha", "Ann", 200.5), ("Beta", "Bob", 180.0), ("Nope", "No one", 1.0),
                                 ("Nope", "No one", 1.0), ("Nope", "No one", 1.0)][i % 5]
        plays.append(play(title, artist, length, ts=1541105830796 + i * 61_000, userId=str(10 + i % 2),
                          level="free", sessionId=i))
    inputs.events(plays)
    shutil.copy(SAMPLE_DIR / "log_json_path.json", root / "log_json_path.json")
    return root


def _star_counts(database: dict[str, str]) -> dict[str, int]:
    """Read straight from PostgreSQL, not through the double."""
    connection = psycopg2.connect(host=database["HOST"], port=database["DB_PORT"], dbname=database["DB_NAME"],
                                  user=database["DB_USER"], password=PG_PASSWORD)
    try:
        with connection.cursor() as cursor:
            counts = {}
            for name in sql.STAR_TABLES:
                cursor.execute(f"SELECT COUNT(*) FROM {name}")
                counts[name] = cursor.fetchone()[0]
            return counts
    finally:
        connection.close()
