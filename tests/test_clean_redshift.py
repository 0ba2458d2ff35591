"""clean_redshift.py against moto: from a running setup back to nothing, safely and re-runnably."""

from __future__ import annotations

import json

from aws_helpers import (
    BUCKET,
    GROUP,
    IDENTIFIER,
    NO_CREDENTIALS,
    ROLE,
    answer,
    invoke,
    no_credentials,
    sample_folder,
    write_cfg,
)
from moto.ec2.exceptions import DependencyViolationError
from moto.ec2.models.security_groups import SecurityGroupBackend

import clean_redshift
import setup_cluster
from sparkify.provision import iam


def clean(capsys, config, *args):
    return invoke(capsys, clean_redshift, "--config", config, *args)


def set_up(capsys, config, *args) -> str:
    """setup_cluster.py --yes; returns the security group's id."""
    result = invoke(capsys, setup_cluster, "--config", config, "--yes", *args)
    assert result.code == 0, result.err
    return result.out.split("(security group sparkify-test-sg, ")[1].split(")")[0]


def test_full_lifecycle_ends_with_nothing_left(aws, tmp_path, capsys):
    config = write_cfg(tmp_path)
    default_group_before = aws.default_group()
    group_id = set_up(capsys, config, "--upload-data", sample_folder(tmp_path / "sample"))
    assert aws.clusters() and aws.groups() and aws.role_names() and aws.buckets()

    result = clean(capsys, config, "--yes", "--delete-bucket")
    assert result.code == 0, result.err
    assert result.out.splitlines() == [
        f"deleted cluster {IDENTIFIER} (no final snapshot)",
        f"deleted security group {GROUP} ({group_id})",
        f"deleted IAM role {ROLE} and 1 policy",
        f"deleted bucket {BUCKET} (3 object(s))",
        f"done: nothing of cluster {IDENTIFIER} is left in us-west-2",
    ]
    assert aws.nothing_exists()
    assert aws.default_group() == default_group_before
    assert "waiting for cluster sparkify-test to be deleted (up to 30 min, checking every 0.01 s)" in result.err


def test_second_clean_reports_everything_already_gone_and_exits_0(aws, tmp_path, capsys):
    config = write_cfg(tmp_path)
    set_up(capsys, config)
    assert clean(capsys, config, "--yes", "--delete-bucket").code == 0
    result = clean(capsys, config, "--delete-bucket")  # no --yes: nothing to confirm
    assert (result.code, result.out) == (
        0,
        f"nothing to delete: cluster {IDENTIFIER}, security group {GROUP}, IAM role {ROLE}, bucket {BUCKET} "
        "already gone\n",
    )


def test_clean_when_nothing_ever_existed_is_not_an_error(aws, tmp_path, capsys):
    result = clean(capsys, write_cfg(tmp_path))
    assert (result.code, result.out, result.err) == (
        0,
        f"nothing to delete: cluster {IDENTIFIER}, security group {GROUP}, IAM role {ROLE} already gone\n",
        "",
    )


def test_confirmation_names_what_goes_and_that_the_data_goes_too(aws, tmp_path, capsys, monkeypatch):
    config = write_cfg(tmp_path)
    group_id = set_up(capsys, config)
    answer(monkeypatch, "n")
    result = clean(capsys, config)
    assert result.code == 1
    assert result.err == (
        "This deletes, in us-west-2:\n"
        f"  - Redshift cluster {IDENTIFIER} (2 x ra3.large, available) and all data in it, with no final snapshot "
        "(pass --final-snapshot NAME to keep one)\n"
        f"  - security group {GROUP} ({group_id})\n"
        f"  - IAM role {ROLE} and its policies\n"
        "Type 'yes' to continue: error: not confirmed - nothing was deleted (answer yes, or pass --yes)\n"
    )
    assert aws.clusters() and aws.groups() and aws.role_names()


def test_dry_run_prints_the_plan_deletes_nothing_and_does_not_ask(aws, tmp_path, capsys):
    config = write_cfg(tmp_path)
    group_id = set_up(capsys, config, "--upload-data", sample_folder(tmp_path / "sample"))
    result = clean(capsys, config, "--dry-run", "--delete-bucket")  # no --yes, and stdin has no answer
    assert (result.code, result.out) == (
        0,
        f"would delete Redshift cluster {IDENTIFIER} (2 x ra3.large, available) and all data in it, with no final "
        "snapshot (pass --final-snapshot NAME to keep one)\n"
        f"would delete security group {GROUP} ({group_id})\n"
        f"would delete IAM role {ROLE} and its policies\n"
        f"would delete bucket {BUCKET} and its 3 object(s)\n"
        "dry run: 4 action(s) above would be taken; nothing was changed\n",
    )
    assert "Type 'yes'" not in result.err
    assert aws.cluster()["ClusterStatus"] == "available"
    assert aws.groups() and aws.role_names() == [ROLE] and aws.buckets() == [BUCKET] and len(aws.keys()) == 3


def test_dry_run_says_what_is_already_gone(aws, tmp_path, capsys):
    config = write_cfg(tmp_path)
    group_id = set_up(capsys, config)
    aws.redshift.delete_cluster(ClusterIdentifier=IDENTIFIER, SkipFinalClusterSnapshot=True)
    result = clean(capsys, config, "--dry-run")
    assert (result.code, result.out.splitlines()) == (
        0,
        [
            f"would delete security group {GROUP} ({group_id})",
            f"would delete IAM role {ROLE} and its policies",
            f"already gone: cluster {IDENTIFIER}",
            "dry run: 2 action(s) above would be taken; nothing was changed",
        ],
    )
    assert aws.groups() and aws.role_names() == [ROLE]
    result = clean(capsys, config, "--yes")
    result = clean(capsys, config, "--dry-run")
    assert (result.code, result.out) == (
        0,
        f"nothing to delete: cluster {IDENTIFIER}, security group {GROUP}, IAM role {ROLE} already gone\n",
    )


def test_the_question_lists_the_same_steps_as_the_dry_run(aws, tmp_path, capsys, monkeypatch):
    config = write_cfg(tmp_path)
    set_up(capsys, config, "--upload-data", sample_folder(tmp_path / "sample"))
    dry_run = clean(capsys, config, "--dry-run", "--delete-bucket", "--final-snapshot", "keep-it")
    answer(monkeypatch, "no")
    asked = clean(capsys, config, "--delete-bucket", "--final-snapshot", "keep-it")
    assert asked.code == 1
    would = [line.removeprefix("would delete ") for line in dry_run.out.splitlines() if line.startswith("would ")]
    listed = [line.removeprefix("  - ") for line in asked.err.splitlines() if line.startswith("  - ")]
    assert len(listed) == 4 and listed == would
    assert aws.clusters() and aws.buckets() == [BUCKET]


def test_final_snapshot_keeps_the_data(aws, tmp_path, capsys, monkeypatch):
    config = write_cfg(tmp_path)
    set_up(capsys, config)
    answer(monkeypatch, "yes")
    result = clean(capsys, config, "--final-snapshot", "sparkify-final")
    assert result.code == 0, result.err
    assert (
        f"  - Redshift cluster {IDENTIFIER} (2 x ra3.large, available) and all data in it, after a final snapshot "
        "sparkify-final"
    ) in result.err.splitlines()
    assert result.out.splitlines()[0] == f"deleted cluster {IDENTIFIER} (final snapshot sparkify-final kept)"
    snapshots = aws.redshift.describe_cluster_snapshots(SnapshotIdentifier="sparkify-final")["Snapshots"]
    assert [s["ClusterIdentifier"] for s in snapshots] == [IDENTIFIER]
    assert aws.clusters() == []


def test_bad_snapshot_name_is_refused_before_anything_goes(aws, tmp_path, capsys):
    config = write_cfg(tmp_path)
    set_up(capsys, config)
    result = clean(capsys, config, "--yes", "--final-snapshot", "final--copy")
    assert (result.code, result.err) == (
        1,
        "error: --final-snapshot final--copy is not a valid snapshot name - use 1-255 letters, digits or hyphens, "
        "starting with a letter, without '--' or a hyphen at the end\n",
    )
    assert len(aws.clusters()) == 1


def test_rerun_after_a_partial_clean_finishes_the_job(aws, tmp_path, capsys):
    config = write_cfg(tmp_path)
    group_id = set_up(capsys, config)
    aws.redshift.delete_cluster(ClusterIdentifier=IDENTIFIER, SkipFinalClusterSnapshot=True)
    result = clean(capsys, config, "--yes")
    assert result.code == 0, result.err
    assert result.out.splitlines() == [
        f"deleted security group {GROUP} ({group_id})",
        f"deleted IAM role {ROLE} and 1 policy",
        f"already gone: cluster {IDENTIFIER}",
        f"done: nothing of cluster {IDENTIFIER} is left in us-west-2",
    ]
    assert aws.nothing_exists()


def test_failure_half_way_lists_what_still_exists_and_a_rerun_completes(aws, tmp_path, capsys, monkeypatch):
    config = write_cfg(tmp_path)
    group_id = set_up(capsys, config)

    def busy(self, name=None, group_id=None):
        raise DependencyViolationError(f"resource {group_id} has a dependent object")

    with monkeypatch.context() as patch:
        patch.setattr(SecurityGroupBackend, "delete_security_group", busy)
        result = clean(capsys, config, "--yes")
    assert result.code == 1
    assert result.error == (
        f"error: cannot delete security group {GROUP} ({group_id}): still in use after 10 tries - wait a few minutes "
        "for AWS to release the cluster's network interfaces, then re-run clean_redshift.py; still exists: "
        f"security group {GROUP} ({group_id}), IAM role {ROLE} - re-run clean_redshift.py to finish"
    )
    assert aws.clusters() == [] and aws.groups() and aws.role_names() == [ROLE]
    assert result.out.splitlines() == [
        f"stopped at: delete security group {GROUP} ({group_id})",
        "done before that:",
        f"  - delete cluster {IDENTIFIER} (no final snapshot)",
        "not done:",
        f"  - delete IAM role {ROLE} and its policies",
    ]

    result = clean(capsys, config, "--yes")
    assert result.code == 0, result.err
    assert aws.nothing_exists()


def test_missing_credentials_is_one_line(aws, tmp_path, capsys, monkeypatch):
    config = write_cfg(tmp_path)
    set_up(capsys, config)
    no_credentials(monkeypatch)
    result = clean(capsys, config, "--yes")
    assert (result.code, result.err) == (1, NO_CREDENTIALS + "\n")
    assert len(aws.clusters()) == 1


def test_role_setup_reused_keeps_the_role_and_loses_only_our_policy(aws, tmp_path, capsys):
    aws.iam.create_role(RoleName=ROLE, AssumeRolePolicyDocument=json.dumps(iam.TRUST_POLICY))
    aws.iam.put_role_policy(RoleName=ROLE, PolicyName="theirs", PolicyDocument=json.dumps(
        {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:ListAllMyBuckets", "Resource": "*"}]}))
    config = write_cfg(tmp_path)
    set_up(capsys, config)
    result = clean(capsys, config, "--yes")
    assert result.code == 0, result.err
    assert (
        f"deleted policy sparkify-s3-read of IAM role {ROLE} (role kept: not made by setup_cluster.py)"
        in result.out.splitlines()
    )
    assert aws.role_names() == [ROLE]
    assert aws.iam.list_role_policies(RoleName=ROLE)["PolicyNames"] == ["theirs"]


def test_group_with_our_name_but_no_tag_is_left_alone(aws, tmp_path, capsys):
    aws.ec2.create_security_group(GroupName=GROUP, Description="someone else's", VpcId=aws.default_vpc())
    result = clean(capsys, write_cfg(tmp_path), "--yes")
    assert result.code == 0, result.err
    assert len(aws.groups()) == 1


def test_bucket_stays_unless_delete_bucket_is_given(aws, tmp_path, capsys):
    config = write_cfg(tmp_path)
    set_up(capsys, config, "--upload-data", sample_folder(tmp_path / "sample"))
    assert clean(capsys, config, "--yes").code == 0
    assert aws.buckets() == [BUCKET] and len(aws.keys()) == 3
    result = clean(capsys, config, "--yes", "--delete-bucket")
    assert result.code == 0, result.err
    assert result.out.splitlines() == [
        f"deleted bucket {BUCKET} (3 object(s))",
        f"already gone: cluster {IDENTIFIER}, security group {GROUP}, IAM role {ROLE}",
        f"done: nothing of cluster {IDENTIFIER} is left in us-west-2",
    ]
    assert aws.buckets() == []


def test_versioned_bucket_is_emptied_of_every_version(aws, tmp_path, capsys):
    aws.s3.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": "us-west-2"})
    aws.s3.put_bucket_versioning(Bucket=BUCKET, VersioningConfiguration={"Status": "Enabled"})
    for body in (b"1", b"2"):
        aws.s3.put_object(Bucket=BUCKET, Key="log_data/a.json", Body=body)
    aws.s3.delete_object(Bucket=BUCKET, Key="log_data/a.json")  # leaves a delete marker
    result = clean(capsys, write_cfg(tmp_path), "--yes", "--delete-bucket")
    assert result.code == 0, result.err
    assert f"deleted bucket {BUCKET} (3 object(s))" in result.out.splitlines()
    assert aws.buckets() == []


def test_foreign_role_without_our_policy_is_not_touched_nor_called_gone(aws, tmp_path, capsys):
    aws.iam.create_role(RoleName=ROLE, AssumeRolePolicyDocument=json.dumps(iam.TRUST_POLICY))
    result = clean(capsys, write_cfg(tmp_path), "--yes")
    assert (result.code, result.out) == (
        0,
        f"nothing to delete: cluster {IDENTIFIER}, security group {GROUP}, policy sparkify-s3-read of IAM role "
        f"{ROLE} (the role was not made here) already gone\n",
    )
    assert aws.role_names() == [ROLE]


def test_packed_parts_left_by_a_failed_run_are_mentioned(aws, tmp_path, capsys):
    config = write_cfg(tmp_path, MANIFEST_PREFIX=f"s3://{BUCKET}/manifests")
    set_up(capsys, config, "--upload-data", sample_folder(tmp_path / "sample"))
    for key in ("manifests/run-1/packed/staging_songs-0001.json.gz", "manifests/run-1/packed/staging_songs-0002.json.gz",
                "manifests/run-1/staging_songs.packed.manifest"):
        aws.s3.put_object(Bucket=BUCKET, Key=key, Body=b"x")

    result = clean(capsys, config, "--dry-run")

    assert result.code == 0, result.err
    assert (f"note: 2 packed parts of a failed or refused etl.py run remain under s3://{BUCKET}/manifests "
            "(the next successful etl.py run deletes them)") in result.out.splitlines()
