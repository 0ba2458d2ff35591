"""issue 20: setup_cluster.py and clean_redshift.py --dry-run print a plan before any AWS account exists.

Run as a user would, in a subprocess whose environment holds no AWS
credentials at all (no keys, no profile, no ~/.aws, no instance metadata).
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from aws_helpers import write_cfg

from sparkify.config import PROJECT_DIR

NO_ACCOUNT = "no AWS credentials found: could not check what exists in AWS"


def run(tmp_path, script: str, *argv: str) -> subprocess.CompletedProcess:
    env = {name: value for name, value in os.environ.items() if not name.startswith("AWS_") and name != "DWH_DB_PASSWORD"}
    env.update(
        HOME=str(tmp_path),  # no ~/.aws
        AWS_CONFIG_FILE=str(tmp_path / "no-aws-config"),
        AWS_SHARED_CREDENTIALS_FILE=str(tmp_path / "no-aws-credentials"),
        AWS_EC2_METADATA_DISABLED="true",
    )
    return subprocess.run(
        [sys.executable, str(PROJECT_DIR / script), *argv, "--config", "dwh.cfg"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120,
    )


def test_setup_dry_run_without_credentials_prints_the_plan_from_nothing(tmp_path):
    write_cfg(tmp_path)
    result = run(tmp_path, "setup_cluster.py", "--dry-run")
    assert (result.returncode, result.stderr) == (0, "")
    assert result.stdout.splitlines() == [
        f"{NO_ACCOUNT} - the plan from nothing:",
        "would create IAM role sparkify-test-s3-read, trusted by redshift.amazonaws.com",
        "would give IAM role sparkify-test-s3-read the policy sparkify-s3-read: list and read "
        "s3://sparkify-test-input/log_data, s3://sparkify-test-input/song_data, "
        "s3://sparkify-test-input/log_json_path.json, nothing else",
        "would create security group sparkify-test-sg in the default VPC of us-west-2",
        "would allow tcp 5439 from 203.0.113.7/32 in security group sparkify-test-sg",
        "would create cluster sparkify-test: 2 x ra3.large in us-west-2, encrypted, master password kept by AWS "
        "Secrets Manager, role sparkify-test-s3-read, security group sparkify-test-sg",
        "would wait up to 30 min for cluster sparkify-test to be available",
        "would write HOST and ARN into dwh.cfg",
        "dry run: 6 action(s) above would be taken; nothing was changed",
    ]
    assert sorted(path.name for path in tmp_path.iterdir()) == ["dwh.cfg"]  # no .env, nothing written


def test_serverless_setup_dry_run_without_credentials_plans_namespace_and_workgroup(tmp_path):
    write_cfg(tmp_path, CLUSTER_TYPE="serverless", NODE_TYPE=None, NUM_NODES=None)
    result = run(tmp_path, "setup_cluster.py", "--dry-run")
    assert (result.returncode, result.stderr) == (0, "")
    assert result.stdout.splitlines()[0] == f"{NO_ACCOUNT} - the plan from nothing:"
    assert result.stdout.splitlines()[5:] == [
        "would create namespace sparkify-test-ns: database sparkify, admin sparkify_admin (password kept by AWS "
        "Secrets Manager), default role sparkify-test-s3-read",
        "would wait up to 30 min for namespace sparkify-test-ns to be available",
        "would create workgroup sparkify-test: base 8 RPU in us-west-2, private, port 5439, security group "
        "sparkify-test-sg",
        "would wait up to 30 min for workgroup sparkify-test to be available",
        "would write HOST, WORKGROUP and ARN into dwh.cfg",
        "dry run: 7 action(s) above would be taken; nothing was changed",
    ]


@pytest.mark.parametrize("cluster_type", ["multi-node", "serverless"])
def test_clean_dry_run_without_credentials_prints_what_it_would_delete(tmp_path, cluster_type):
    write_cfg(tmp_path, CLUSTER_TYPE=cluster_type)
    result = run(tmp_path, "clean_redshift.py", "--dry-run", "--delete-bucket")
    keep = "with no final snapshot (pass --final-snapshot NAME to keep one)"
    warehouse = (
        ["would delete Redshift Serverless workgroup sparkify-test",
         f"would delete Redshift Serverless namespace sparkify-test-ns and all data in it, {keep}"]
        if cluster_type == "serverless"
        else [f"would delete Redshift cluster sparkify-test and all data in it, {keep}"]
    )
    assert (result.returncode, result.stderr) == (0, "")
    assert result.stdout.splitlines() == [
        f"{NO_ACCOUNT} - the plan if everything setup_cluster.py makes exists:",
        *warehouse,
        "would delete security group sparkify-test-sg (tagged sparkify:cluster=sparkify-test)",
        "would delete IAM role sparkify-test-s3-read and its policies (or only the sparkify-s3-read policy, if the "
        "role was not made by setup_cluster.py)",
        "would delete bucket sparkify-test-input and all its objects",
        f"dry run: {len(warehouse) + 3} action(s) above would be taken; nothing was changed",
    ]


@pytest.mark.parametrize("script", ["setup_cluster.py", "clean_redshift.py"])
def test_without_dry_run_missing_credentials_still_stop_the_script(tmp_path, script):
    write_cfg(tmp_path)
    result = run(tmp_path, script, "--yes")
    assert (result.returncode, result.stdout) == (1, "")
    assert result.stderr.splitlines()[-1] == (
        "error: no AWS credentials found - set AWS_PROFILE or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, or put them "
        "in .env"
    )
