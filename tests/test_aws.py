"""sparkify.aws on its own: settings rules, policy, files, error lines, S3 reads, waiters."""

from __future__ import annotations

import logging
import os
import shutil
import stat
from pathlib import Path

import pytest
from aws_helpers import BUCKET, IDENTIFIER, PASSWORD, REGION, ROLE_ARN, no_credentials, write_cfg
from boto3.exceptions import S3UploadFailedError
from botocore.exceptions import ClientError, EndpointConnectionError, NoCredentialsError
from botocore.stub import Stubber
from helpers import redshift_example

from sparkify.aws import NO_CREDENTIALS, AwsError, download_file, download_objects, list_prefix, s3
from sparkify.aws.clients import Clients, new_session
from sparkify.aws.faults import aws_call
from sparkify.config import PROJECT_DIR, read_file
from sparkify.errors import ConfigError, InputError
from sparkify.provision import cluster as clusters
from sparkify.provision import files, iam, network, settings

EXAMPLE = PROJECT_DIR / "dwh.cfg.example"


def read_all(path: Path):
    parser = read_file(path)
    return (
        settings.read_names(parser, path),
        settings.read_spec(parser, path),
        settings.read_locations(parser, path),
    )


# ------------------------------------------------------------------ settings


def test_example_config_has_every_provisioning_key(tmp_path):
    names, spec, locations = read_all(redshift_example(tmp_path / "dwh.cfg"))
    assert names.identifier and names.region and names.role_name
    assert spec.node_type in settings.NODE_TYPES
    assert [loc.key for loc in locations] == ["LOG_DATA", "SONG_DATA", "LOG_JSONPATH"]
    # documented there, empty: it must name a bucket of the user's own
    assert read_file(EXAMPLE).has_option("S3", "MANIFEST_PREFIX")
    assert settings.read_manifest_location(read_file(EXAMPLE), EXAMPLE) is None


def test_settings_are_read_and_normalised(tmp_path):
    names, spec, locations = read_all(write_cfg(tmp_path, ALLOWED_CIDR="203.0.113.7"))
    assert names == settings.Names(tmp_path / "dwh.cfg", IDENTIFIER, REGION, "sparkify-test-s3-read")
    assert names.security_group_name == "sparkify-test-sg"
    assert spec == settings.ClusterSpec(
        "multi-node", "ra3.large", 2, "sparkify", "sparkify_admin", 5439, "203.0.113.7/32", publicly_accessible=True
    )
    assert spec.describe(REGION) == "2 x ra3.large in us-west-2"
    assert locations[2] == settings.S3Location(
        "LOG_JSONPATH", f"s3://{BUCKET}/log_json_path.json", BUCKET, "log_json_path.json"
    )


REFUSED = [
    ({"NODE_TYPE": "ra3.huge"}, "dwh.cfg: [CLUSTER] NODE_TYPE = ra3.huge is not a current node type - use one of "
     "ra3.large, ra3.xlplus, ra3.4xlarge, ra3.16xlarge"),
    ({"NODE_TYPE": "ds2.xlarge"}, "dwh.cfg: [CLUSTER] NODE_TYPE = ds2.xlarge is not a current node type - use one of "
     "ra3.large, ra3.xlplus, ra3.4xlarge, ra3.16xlarge"),
    ({"CLUSTER_TYPE": "two-node"}, "dwh.cfg: [CLUSTER] CLUSTER_TYPE = two-node is not a cluster type - use "
     "single-node, multi-node or serverless"),
    ({"NUM_NODES": "1"}, "dwh.cfg: [CLUSTER] NUM_NODES = 1 is too few for CLUSTER_TYPE = multi-node - use 2 or "
     "more, or CLUSTER_TYPE = single-node"),
    ({"NUM_NODES": None}, "dwh.cfg: [CLUSTER] NUM_NODES is missing - set it (see dwh.cfg.example)"),
    ({"NUM_NODES": "two"}, "dwh.cfg: [CLUSTER] NUM_NODES = two is not a whole number"),
    ({"CLUSTER_TYPE": "single-node"}, "dwh.cfg: [CLUSTER] NUM_NODES = 2 does not fit CLUSTER_TYPE = single-node - "
     "use 1, or CLUSTER_TYPE = multi-node"),
    ({"ALLOWED_CIDR": "203.0.113.7/24"}, "dwh.cfg: [CLUSTER] ALLOWED_CIDR = 203.0.113.7/24 has host bits set - use "
     "203.0.113.0/24, or 203.0.113.7/32 for that one address"),
    ({"ALLOWED_CIDR": "my-laptop"}, "dwh.cfg: [CLUSTER] ALLOWED_CIDR = my-laptop is not an IPv4 address or CIDR "
     "block - use your address as a /32, e.g. 203.0.113.7/32"),
    ({"ALLOWED_CIDR": "2001:db8::/32"}, "dwh.cfg: [CLUSTER] ALLOWED_CIDR = 2001:db8::/32 is IPv6 - use an IPv4 "
     "CIDR block, e.g. 203.0.113.7/32"),
    ({"DB_PORT": "5460"}, "dwh.cfg: [CLUSTER] DB_PORT = 5460 is not a port Redshift accepts for ra3 nodes - use "
     "5431-5455 or 8191-8215"),
    # AWS no longer creates DC2 clusters (issue 16, item 11): RA3 or Serverless
    ({"NODE_TYPE": "dc2.large"}, "dwh.cfg: [CLUSTER] NODE_TYPE = dc2.large is not a current node type - use one of "
     "ra3.large, ra3.xlplus, ra3.4xlarge, ra3.16xlarge"),
    ({"DB_USER": "public"}, "dwh.cfg: [CLUSTER] DB_USER = public is not a valid master user name - use 1-128 "
     "lowercase letters, digits or _+.@-, starting with a letter (not 'public')"),
    ({"DB_NAME": "Sparkify"}, "dwh.cfg: [CLUSTER] DB_NAME = Sparkify is not a valid database name - use 1-64 "
     "lowercase letters, digits or underscores, starting with a letter"),
    ({"REGION": "oregon"}, "dwh.cfg: [CLUSTER] REGION = oregon is not an AWS region - use a region code such as "
     "us-west-2"),
    ({"IAM_ROLE_NAME": "my role"}, "dwh.cfg: [CLUSTER] IAM_ROLE_NAME = my role is not a valid IAM role name - use "
     "up to 64 letters, digits and +=,.@_-"),
    ({"LOG_DATA": "data/sample/log_data"}, "dwh.cfg: [S3] LOG_DATA = data/sample/log_data is not an s3:// URI - "
     "the cluster reads from S3; use s3://bucket/prefix"),
    ({"SONG_DATA": "s3://sparkify-test-input/song_data/*"}, "dwh.cfg: [S3] SONG_DATA = "
     "s3://sparkify-test-input/song_data/* contains * or ? - use a plain prefix (IAM would read them as wildcards)"),
]


@pytest.mark.parametrize("values,message", REFUSED, ids=[msg.split(" = ")[0][9:] for _, msg in REFUSED])
def test_setting_redshift_would_refuse_is_named_with_its_fix(tmp_path, values, message):
    with pytest.raises(ConfigError) as caught:
        read_all(write_cfg(tmp_path, **values))
    assert str(caught.value) == message


def test_s3_region_is_checked_with_the_same_rule_and_defaults_like_the_pipeline(tmp_path):
    path = write_cfg(tmp_path)
    assert settings.read_s3_region(read_file(path), path) == "us-west-2"
    head, tail = path.read_text().rsplit("REGION = us-west-2", 1)  # the [S3] one
    path.write_text(head + "REGION = us-west" + tail)
    with pytest.raises(ConfigError) as caught:
        settings.read_s3_region(read_file(path), path)
    assert str(caught.value) == "dwh.cfg: [S3] REGION = us-west is not an AWS region - use a region code such as us-west-2"
    path.write_text(head + tail)
    assert settings.read_s3_region(read_file(path), path) == "us-west-2"


@pytest.mark.parametrize(
    "identifier", ["Sparkify", "1sparkify", "sparkify--dwh", "sparkify-", "sparkify_dwh", "s" * 64]
)
def test_identifier_must_follow_redshift_naming_rule(tmp_path, identifier):
    with pytest.raises(ConfigError) as caught:
        read_all(write_cfg(tmp_path, IDENTIFIER=identifier))
    assert str(caught.value) == (
        f"dwh.cfg: [CLUSTER] IDENTIFIER = {identifier} is not a valid cluster identifier - use 1-63 lowercase "
        "letters, digits or hyphens, starting with a letter, without '--' or a hyphen at the end"
    )


def test_serverless_needs_no_node_type_and_defaults_to_the_smallest_private_workgroup(tmp_path):
    _, spec, _ = read_all(write_cfg(tmp_path, CLUSTER_TYPE="serverless", NODE_TYPE=None, NUM_NODES=None))
    assert (spec.serverless, spec.base_rpu, spec.publicly_accessible) == (True, 8, False)
    assert spec.describe(REGION) == "base 8 RPU in us-west-2"


@pytest.mark.parametrize("rpu", [4, 8, 16, 512])
def test_serverless_takes_4_rpu_and_then_8_to_512_in_steps_of_8(tmp_path, rpu):
    # "Compute capacity for Amazon Redshift Serverless": 4, or 8, 16, 24 ... 512
    config = write_cfg(tmp_path, CLUSTER_TYPE="serverless", NODE_TYPE=None, NUM_NODES=None)
    config.write_text(config.read_text().replace("[CLUSTER]\n", f"[CLUSTER]\nBASE_RPU = {rpu}\n"))
    _, spec, _ = read_all(config)
    assert spec.base_rpu == rpu and spec.describe(REGION) == f"base {rpu} RPU in us-west-2"


@pytest.mark.parametrize(
    "values,message",
    [
        ({"BASE_RPU": "12"}, "BASE_RPU = 12 is not a base capacity Redshift Serverless accepts - use 4, or 8 to 512 in "
         "steps of 8 (4 is the cheapest)"),
        ({"BASE_RPU": "520"}, "BASE_RPU = 520 is not a base capacity Redshift Serverless accepts - use 4, or 8 to 512 in "
         "steps of 8 (4 is the cheapest)"),
        ({"BASE_RPU": "0"}, "BASE_RPU = 0 is not a base capacity Redshift Serverless accepts - use 4, or 8 to 512 in "
         "steps of 8 (4 is the cheapest)"),
        ({"PUBLICLY_ACCESSIBLE": "maybe"}, "PUBLICLY_ACCESSIBLE = maybe is not yes or no"),
        ({"DB_PORT": "9000"}, "DB_PORT = 9000 is not a port Redshift Serverless accepts - use "
         "5431-5455 or 8191-8215"),
        ({"IDENTIFIER": "s" * 62}, f"IDENTIFIER = {'s' * 62} is too long or short for CLUSTER_TYPE = serverless - "
         "use 3-61 characters (the namespace is named IDENTIFIER-ns, and AWS allows 3-64)"),
    ],
    ids=["rpu-step", "rpu-max", "rpu-zero", "public", "port", "identifier"],
)
def test_serverless_settings_aws_would_refuse_are_named_with_their_fix(tmp_path, values, message):
    existing = {key: values.pop(key) for key in ("DB_PORT", "IDENTIFIER") if key in values}
    path = write_cfg(tmp_path, CLUSTER_TYPE="serverless", NODE_TYPE=None, NUM_NODES=None, **existing)
    extra = "".join(f"{key} = {value}\n" for key, value in values.items())  # keys the test config lacks
    path.write_text(path.read_text().replace("[CLUSTER]\n", "[CLUSTER]\n" + extra))
    with pytest.raises(ConfigError) as caught:
        read_all(path)
    assert str(caught.value) == f"dwh.cfg: [CLUSTER] {message}"


def test_single_node_cluster_with_one_node_is_fine(tmp_path):
    _, spec, _ = read_all(write_cfg(tmp_path, CLUSTER_TYPE="single-node", NUM_NODES="1", NODE_TYPE="ra3.xlplus"))
    assert (spec.cluster_type, spec.num_nodes) == ("single-node", 1)


@pytest.mark.parametrize(
    "password,problem",
    [
        ("Sh0rtPw", "it must be 8 to 64 characters long"),
        ("Aa1" + "a" * 62, "it must be 8 to 64 characters long"),
        ("lowercase1only", "it needs an uppercase letter"),
        ("UPPERCASE1ONLY", "it needs a lowercase letter"),
        ("NoDigitsAtAll", "it needs a digit"),
        ("Has Space1", "it may use printable ASCII only, without ' \" \\ / @ or spaces"),
        ("Quote'Pass1", "it may use printable ASCII only, without ' \" \\ / @ or spaces"),
        ('Double"Pass1', "it may use printable ASCII only, without ' \" \\ / @ or spaces"),
        ("Back\\slash1A", "it may use printable ASCII only, without ' \" \\ / @ or spaces"),
        ("Slash/Pass1", "it may use printable ASCII only, without ' \" \\ / @ or spaces"),
        ("At@Pass1word", "it may use printable ASCII only, without ' \" \\ / @ or spaces"),
        ("Ünïcode1pass", "it may use printable ASCII only, without ' \" \\ / @ or spaces"),
        ("Tab\tPass1", "it may use printable ASCII only, without ' \" \\ / @ or spaces"),
    ],
)
def test_weak_password_is_refused_with_the_rule_it_breaks(password, problem):
    assert settings.password_problem(password) == problem


def test_refused_password_message_says_what_to_do_without_showing_it():
    with pytest.raises(ConfigError) as caught:
        settings.check_password("lowercase1only")
    assert str(caught.value) == (
        "DWH_DB_PASSWORD does not meet Redshift's password rules: it needs an uppercase letter - change it in "
        "the environment or .env, or remove it: AWS Secrets Manager then keeps one (with AUTH = password, "
        "setup_cluster.py generates one into .env)"
    )
    assert "lowercase1only" not in str(caught.value)


def test_good_passwords_pass():
    assert settings.password_problem(PASSWORD) is None
    assert settings.password_problem("Aa1" + "!#$%&()*+,-.:;<=>?[]^_`{|}~" + "b" * 5) is None


def test_generated_passwords_meet_redshift_rules_and_differ():
    generated = {settings.generate_password() for _ in range(200)}
    assert len(generated) == 200
    assert all(len(p) == 32 and settings.password_problem(p) is None for p in generated)


# ------------------------------------------------------------------ IAM policy


def test_role_may_list_and_get_only_the_configured_prefixes(tmp_path):
    _, _, locations = read_all(write_cfg(tmp_path))
    assert iam.read_policy(locations) == {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "ListSparkifyTestInput",
                "Effect": "Allow",
                "Action": "s3:ListBucket",
                "Resource": "arn:aws:s3:::sparkify-test-input",
                "Condition": {"StringLike": {"s3:prefix": ["log_data*", "song_data*", "log_json_path.json*"]}},
            },
            {
                "Sid": "ReadInputs",
                "Effect": "Allow",
                "Action": "s3:GetObject",
                "Resource": [
                    "arn:aws:s3:::sparkify-test-input/log_data*",
                    "arn:aws:s3:::sparkify-test-input/song_data*",
                    "arn:aws:s3:::sparkify-test-input/log_json_path.json*",
                ],
            },
        ],
    }


def test_policy_covers_each_bucket_and_a_whole_bucket_location_needs_no_condition(tmp_path):
    path = write_cfg(tmp_path, LOG_DATA="s3://events-bucket", LOG_JSONPATH="s3://paths.bucket/log_json_path.json")
    policy = iam.read_policy(read_all(path)[2])
    listings = {s["Resource"]: s.get("Condition") for s in policy["Statement"] if s["Action"] == "s3:ListBucket"}
    assert listings == {
        "arn:aws:s3:::events-bucket": None,
        "arn:aws:s3:::paths.bucket": {"StringLike": {"s3:prefix": ["log_json_path.json*"]}},
        "arn:aws:s3:::sparkify-test-input": {"StringLike": {"s3:prefix": ["song_data*"]}},
    }
    assert policy["Statement"][-1]["Resource"] == [
        "arn:aws:s3:::events-bucket/*",
        "arn:aws:s3:::paths.bucket/log_json_path.json*",
        "arn:aws:s3:::sparkify-test-input/song_data*",
    ]
    actions = {s["Action"] for s in policy["Statement"]}
    assert actions == {"s3:ListBucket", "s3:GetObject"}


def manifest_location(path: Path):
    return settings.read_manifest_location(read_file(path), path)


def test_manifest_prefix_may_be_unset_for_setup_and_is_checked_like_the_inputs(tmp_path):
    assert manifest_location(write_cfg(tmp_path)) is None  # setup may come before the pipeline is configured
    assert manifest_location(write_cfg(tmp_path, MANIFEST_PREFIX=f"s3://{BUCKET}/manifests/")) == settings.S3Location(
        "MANIFEST_PREFIX", f"s3://{BUCKET}/manifests/", BUCKET, "manifests/"
    )
    for value, why in [
        ("manifests/", "is not an s3:// URI - the cluster reads from S3; use s3://bucket/prefix"),
        (f"s3://{BUCKET}/manifests/*", "contains * or ? - use a plain prefix (IAM would read them as wildcards)"),
    ]:
        with pytest.raises(ConfigError) as caught:
            manifest_location(write_cfg(tmp_path, MANIFEST_PREFIX=value))
        assert str(caught.value) == f"dwh.cfg: [S3] MANIFEST_PREFIX = {value} {why}"


def test_role_may_list_and_get_the_copy_manifests_and_write_nothing(tmp_path):
    path = write_cfg(tmp_path, MANIFEST_PREFIX=f"s3://{BUCKET}/manifests/")
    policy = iam.read_policy(read_all(path)[2], manifest_location(path))
    assert policy["Statement"][0]["Condition"] == {
        "StringLike": {"s3:prefix": ["log_data*", "song_data*", "log_json_path.json*", "manifests/*"]}
    }
    assert policy["Statement"][1]["Sid"] == "ReadInputs"
    assert f"arn:aws:s3:::{BUCKET}/manifests/*" not in policy["Statement"][1]["Resource"]
    assert policy["Statement"][2] == {
        "Sid": "ReadCopyManifests",
        "Effect": "Allow",
        "Action": "s3:GetObject",
        "Resource": f"arn:aws:s3:::{BUCKET}/manifests/*",
    }
    assert {s["Action"] for s in policy["Statement"]} == {"s3:ListBucket", "s3:GetObject"}


def test_manifests_in_a_bucket_of_their_own_get_a_listing_of_their_own(tmp_path):
    path = write_cfg(tmp_path, MANIFEST_PREFIX="s3://my-sparkify-runs/copy")
    policy = iam.read_policy(read_all(path)[2], manifest_location(path))
    listings = {s["Resource"]: s.get("Condition") for s in policy["Statement"] if s["Action"] == "s3:ListBucket"}
    assert listings == {
        "arn:aws:s3:::my-sparkify-runs": {"StringLike": {"s3:prefix": ["copy*"]}},
        f"arn:aws:s3:::{BUCKET}": {"StringLike": {"s3:prefix": ["log_data*", "song_data*", "log_json_path.json*"]}},
    }
    assert policy["Statement"][-1]["Resource"] == "arn:aws:s3:::my-sparkify-runs/copy*"


# ------------------------------------------------------------------ dwh.cfg write-back


def changed_lines(before: str, after: str) -> list[tuple[str, str]]:
    old, new = before.splitlines(keepends=True), after.splitlines(keepends=True)
    assert len(old) == len(new)
    return [(a, b) for a, b in zip(old, new) if a != b]


def test_write_back_changes_only_host_and_arn_lines_of_the_example(tmp_path):
    path = tmp_path / "dwh.cfg"
    shutil.copy(EXAMPLE, path)
    before = path.read_bytes().decode()
    assert files.set_config_values(path, {("CLUSTER", "HOST"): "h.example.com", ("IAM_ROLE", "ARN"): "arn:x"})
    assert changed_lines(before, path.read_bytes().decode()) == [
        ("HOST =\n", "HOST = h.example.com\n"),
        ("ARN =\n", "ARN = arn:x\n"),
    ]


def test_write_back_keeps_spacing_and_inline_comment(tmp_path):
    path = tmp_path / "dwh.cfg"
    path.write_text("[CLUSTER]\nHOST   =  old.example.com  # setup_cluster.py writes this\nDB_PORT = 5439\n")
    files.set_config_values(path, {("CLUSTER", "HOST"): "new.example.com"})
    assert path.read_text() == "[CLUSTER]\nHOST   =  new.example.com  # setup_cluster.py writes this\nDB_PORT = 5439\n"


def test_write_back_adds_a_missing_key_at_the_end_of_its_section(tmp_path):
    path = tmp_path / "dwh.cfg"
    path.write_text("[CLUSTER]\nDB_PORT = 5439\n\n# About S3.\n[S3]\nLOG_DATA = s3://b/l\n")
    files.set_config_values(path, {("CLUSTER", "HOST"): "h"})
    assert path.read_text() == "[CLUSTER]\nDB_PORT = 5439\nHOST = h\n\n# About S3.\n[S3]\nLOG_DATA = s3://b/l\n"


def test_write_back_adds_a_missing_section_at_the_end(tmp_path):
    path = tmp_path / "dwh.cfg"
    path.write_text("[CLUSTER]\nHOST = h")  # no newline at the end
    files.set_config_values(path, {("CLUSTER", "HOST"): "h", ("IAM_ROLE", "ARN"): "arn:x"})
    assert path.read_text() == "[CLUSTER]\nHOST = h\n\n[IAM_ROLE]\nARN = arn:x\n"


def test_write_back_keeps_windows_line_endings(tmp_path):
    path = tmp_path / "dwh.cfg"
    path.write_bytes(b"; comment\r\n[CLUSTER]\r\nHOST =\r\n[IAM_ROLE]\r\nARN =\r\n")
    files.set_config_values(path, {("CLUSTER", "HOST"): "h", ("IAM_ROLE", "ARN"): "a"})
    assert path.read_bytes() == b"; comment\r\n[CLUSTER]\r\nHOST = h\r\n[IAM_ROLE]\r\nARN = a\r\n"


def test_write_back_with_nothing_new_leaves_the_file_alone(tmp_path):
    path = tmp_path / "dwh.cfg"
    path.write_text("[CLUSTER]\nHOST = h\n[IAM_ROLE]\nARN = a\n")
    before = os.stat(path)
    assert not files.set_config_values(path, {("CLUSTER", "HOST"): "h", ("IAM_ROLE", "ARN"): "a"})
    after = os.stat(path)
    assert (after.st_ino, after.st_mtime_ns) == (before.st_ino, before.st_mtime_ns)


def test_write_back_is_atomic_and_keeps_permissions(tmp_path):
    path = tmp_path / "dwh.cfg"
    path.write_text("[CLUSTER]\nHOST =\n")
    path.chmod(0o640)
    files.set_config_values(path, {("CLUSTER", "HOST"): "h"})
    assert stat.S_IMODE(path.stat().st_mode) == 0o640
    assert sorted(p.name for p in tmp_path.iterdir()) == ["dwh.cfg"]  # no temporary file left


def test_new_env_file_holds_the_password_for_its_owner_only(tmp_path):
    env = tmp_path / ".env"
    files.save_password(env, "Generated1Password")
    assert env.read_text() == files.ENV_HEADER + "DWH_DB_PASSWORD=Generated1Password\n"
    assert stat.S_IMODE(env.stat().st_mode) == 0o600


def test_existing_env_file_keeps_its_lines_and_gets_the_password(tmp_path):
    env = tmp_path / ".env"
    env.write_text("AWS_PROFILE=sparkify\nDWH_DB_PASSWORD=\nOTHER=1")
    env.chmod(0o644)
    files.save_password(env, "Generated1Password")
    assert env.read_text() == "AWS_PROFILE=sparkify\nDWH_DB_PASSWORD=Generated1Password\nOTHER=1"
    assert stat.S_IMODE(env.stat().st_mode) == 0o600


# ------------------------------------------------------------------ error lines


def client_error(code: str, message: str, operation: str) -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": message}}, operation)


@pytest.mark.parametrize(
    "raised,message",
    [
        (NoCredentialsError(), NO_CREDENTIALS),
        (
            client_error("AccessDenied", "User: arn:aws:iam::1:user/x is not authorized", "CreateRole"),
            "cannot create IAM role r: access denied (CreateRole) - use AWS credentials whose policy allows "
            "CreateRole, or ask your AWS administrator for it",
        ),
        (
            client_error("InvalidClientTokenId", "The security token included in the request is invalid.", "GetRole"),
            "cannot create IAM role r: AWS rejected the credentials (InvalidClientTokenId) - check AWS_PROFILE or "
            "AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY (and AWS_SESSION_TOKEN for temporary keys)",
        ),
        (
            client_error("LimitExceeded", "Cannot exceed quota for RolesPerAccount: 1000.", "CreateRole"),
            "cannot create IAM role r: quota exceeded (LimitExceeded: Cannot exceed quota for RolesPerAccount: 1000) "
            "- delete unused resources or request a higher quota in the Service Quotas console, or ask for "
            "fewer/smaller nodes",
        ),
        (
            client_error("MalformedPolicyDocument", "Invalid principal in policy\nline two", "CreateRole"),
            "cannot create IAM role r: AWS refused the request (MalformedPolicyDocument: Invalid principal in "
            "policy) - fix the matching setting in dwh.cfg",
        ),
        (
            EndpointConnectionError(endpoint_url="http://127.0.0.1:5000/"),
            "cannot create IAM role r: cannot reach http://127.0.0.1:5000/ - check the network, the region, or "
            "AWS_ENDPOINT_URL",
        ),
    ],
)
def test_aws_failure_becomes_one_line_saying_what_to_do(raised, message):
    with pytest.raises(AwsError) as caught:
        with aws_call("create IAM role r"):
            raise raised
    assert str(caught.value) == message


def test_refused_upload_is_one_line_too():
    with pytest.raises(AwsError) as caught:
        with aws_call("upload a.json to s3://b/a.json"):
            try:
                raise client_error("AccessDenied", "Access Denied", "PutObject")
            except ClientError as exc:
                raise S3UploadFailedError(f"Failed to upload a.json to b/a.json: {exc}") from exc
    assert str(caught.value) == (
        "cannot upload a.json to s3://b/a.json: access denied (PutObject) - use AWS credentials whose policy "
        "allows PutObject, or ask your AWS administrator for it"
    )


def test_endpoint_url_without_scheme_is_named(aws, monkeypatch):
    monkeypatch.setenv("AWS_ENDPOINT_URL", "127.0.0.1:5000")
    with pytest.raises(AwsError) as caught:
        Clients("us-west-2").get("iam")
    assert str(caught.value) == (
        "cannot connect to AWS iam: Invalid endpoint: 127.0.0.1:5000 - check AWS_ENDPOINT_URL (e.g. http://127.0.0.1:5000)"
    )


# ------------------------------------------------------------------ S3 reads (DuckDB engine)


def put(account, key: str, body: bytes = b"{}\n", bucket: str = BUCKET) -> None:
    if bucket not in account.buckets():
        account.s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": REGION})
    account.s3.put_object(Bucket=bucket, Key=key, Body=body)


def download_prefix(uri, dest, progress=None):
    """What a local engine does with an s3:// input: list it, then download what it lists."""
    return download_objects(list_prefix(uri), dest, progress=progress)


def test_download_prefix_fetches_every_json_under_it_across_pages(aws, tmp_path, monkeypatch):
    monkeypatch.setattr(s3, "LIST_PAGE_SIZE", 2)  # five objects -> three pages
    put(aws, "song_data/A/B/C/TRABC1.json", b'{"song_id": "1"}')
    put(aws, "song_data/A/B/D/TRABD2.json", b'{"song_id": "2"}')
    put(aws, "song_data/A/B/C/TRABC3.json", b'{"song_id": "3"}')
    put(aws, "song_data/README.txt", b"not json")
    put(aws, "log_data/2018/11/e.json")
    calls = []
    dest = tmp_path / "cache"
    paths = download_prefix(f"s3://{BUCKET}/song_data", dest, progress=lambda done, total: calls.append((done, total)))
    assert paths == [dest / "A/B/C/TRABC1.json", dest / "A/B/C/TRABC3.json", dest / "A/B/D/TRABD2.json"]
    assert [p.read_bytes() for p in paths] == [b'{"song_id": "1"}', b'{"song_id": "3"}', b'{"song_id": "2"}']
    assert sorted(p.relative_to(dest).as_posix() for p in dest.rglob("*") if p.is_file()) == [
        "A/B/C/TRABC1.json", "A/B/C/TRABC3.json", "A/B/D/TRABD2.json",
    ]
    assert calls == [(1, 3), (2, 3), (3, 3)]


def test_download_prefix_of_a_missing_bucket_names_the_uri(aws, tmp_path):
    with pytest.raises(InputError) as caught:
        download_prefix("s3://no-such-bucket/song_data", tmp_path)
    assert str(caught.value) == (
        "bucket no-such-bucket not found (s3://no-such-bucket/song_data) - check the s3:// path in [S3] of dwh.cfg"
    )


def test_download_prefix_with_nothing_under_it_names_the_uri(aws, tmp_path):
    put(aws, "song_data/A/readme.txt", b"x")
    with pytest.raises(InputError) as caught:
        download_prefix(f"s3://{BUCKET}/song_data", tmp_path)
    assert str(caught.value) == f"no .json files under s3://{BUCKET}/song_data - check the s3:// path in [S3] of dwh.cfg"


def test_download_prefix_refuses_a_local_path(tmp_path):
    with pytest.raises(InputError) as caught:
        download_prefix("data/sample/song_data", tmp_path)
    assert str(caught.value) == "data/sample/song_data is not an s3:// URI - use s3://bucket/prefix"


def test_download_prefix_without_credentials_says_how_to_give_them(aws, tmp_path, monkeypatch):
    no_credentials(monkeypatch)
    with pytest.raises(AwsError) as caught:
        download_prefix(f"s3://{BUCKET}/song_data", tmp_path)
    assert str(caught.value) == NO_CREDENTIALS


def test_download_file_to_a_path_or_into_a_folder(aws, tmp_path):
    put(aws, "config/log_json_path.json", b'{"jsonpaths": []}')
    target = download_file(f"s3://{BUCKET}/config/log_json_path.json", tmp_path / "jp.json")
    assert target == tmp_path / "jp.json" and target.read_bytes() == b'{"jsonpaths": []}'
    (tmp_path / "dir").mkdir()
    target = download_file(f"s3://{BUCKET}/config/log_json_path.json", tmp_path / "dir")
    assert target == tmp_path / "dir" / "log_json_path.json" and target.exists()


def test_download_file_that_is_missing_names_it(aws, tmp_path):
    put(aws, "other.json")
    with pytest.raises(InputError) as caught:
        download_file(f"s3://{BUCKET}/log_json_path.json", tmp_path / "jp.json")
    assert str(caught.value) == f"s3://{BUCKET}/log_json_path.json not found - check the s3:// path in [S3] of dwh.cfg"
    with pytest.raises(InputError) as caught:
        download_file("s3://no-such-bucket/log_json_path.json", tmp_path / "jp.json")
    assert str(caught.value) in (
        "bucket no-such-bucket not found (s3://no-such-bucket/log_json_path.json) - check the s3:// path in [S3] "
        "of dwh.cfg",
        "s3://no-such-bucket/log_json_path.json not found - check the s3:// path in [S3] of dwh.cfg",
    )
    assert not (tmp_path / "jp.json").exists()


# ------------------------------------------------------------------ security group, waiters


def test_ingress_changes_keep_only_the_allowed_cidr():
    group = {
        "IpPermissions": [
            {"IpProtocol": "tcp", "FromPort": 5439, "ToPort": 5439,
             "IpRanges": [{"CidrIp": "203.0.113.7/32"}, {"CidrIp": "0.0.0.0/0"}], "Ipv6Ranges": [{"CidrIpv6": "::/0"}]},
            {"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "IpRanges": [{"CidrIp": "203.0.113.7/32"}]},
        ]
    }
    add, remove = network.ingress_changes(group, 5439, "203.0.113.7/32")
    assert add is False
    assert remove == [
        {"IpProtocol": "tcp", "FromPort": 5439, "ToPort": 5439,
         "IpRanges": [{"CidrIp": "0.0.0.0/0"}], "Ipv6Ranges": [{"CidrIpv6": "::/0"}]},
        {"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "IpRanges": [{"CidrIp": "203.0.113.7/32"}]},
    ]
    assert [network.describe_rule(r) for r in remove] == ["tcp 5439 from 0.0.0.0/0, ::/0", "tcp 22 from 203.0.113.7/32"]
    assert network.ingress_changes({}, 5439, "203.0.113.7/32") == (True, [])


class BusyEc2:
    """delete_security_group answers DependencyViolation `busy` times, then succeeds."""

    def __init__(self, busy: int):
        self.busy = busy
        self.calls = 0

    def delete_security_group(self, GroupId):
        self.calls += 1
        if self.calls <= self.busy:
            raise client_error("DependencyViolation", "resource sg-1 has a dependent object", "DeleteSecurityGroup")


def test_group_still_in_use_is_retried_a_bounded_number_of_times():
    ec2 = BusyEc2(busy=2)
    assert network.delete_group(ec2, "sg-1", "x-sg", attempts=3, delay=0)
    assert ec2.calls == 3
    ec2 = BusyEc2(busy=5)
    with pytest.raises(AwsError) as caught:
        network.delete_group(ec2, "sg-1", "x-sg", attempts=3, delay=0)
    assert ec2.calls == 3
    assert str(caught.value) == (
        "cannot delete security group x-sg (sg-1): still in use after 3 tries - wait a few minutes for AWS to "
        "release the cluster's network interfaces, then re-run clean_redshift.py"
    )


def make_cluster(account, status: str | None = None) -> None:
    account.redshift.create_cluster(
        ClusterIdentifier=IDENTIFIER, NodeType="ra3.large", MasterUsername="sparkify_admin",
        MasterUserPassword=PASSWORD, ClusterType="single-node",
    )
    if status:
        account.moto_cluster().status = status


def test_waiter_gives_up_after_the_bounded_time_with_a_progress_line(aws, caplog):
    make_cluster(aws, status="creating")
    caplog.set_level(logging.INFO, logger="sparkify")
    with pytest.raises(AwsError) as caught:
        clusters.wait_until_available(aws.redshift, IDENTIFIER, minutes=0.001, delay=0.01)
    assert str(caught.value) == (
        "cluster sparkify-test is still creating after 0.001 min - it exists and is billed; re-run "
        "setup_cluster.py to keep waiting (--wait-minutes N), or clean_redshift.py to delete it"
    )
    progress = [r.getMessage() for r in caplog.records if "elapsed" in r.getMessage()]
    assert len(progress) == 6
    assert progress[0] == "  cluster sparkify-test: creating (0m 00s elapsed)"


def test_waiter_stops_when_the_cluster_starts_deleting(aws):
    make_cluster(aws, status="deleting")
    with pytest.raises(AwsError) as caught:
        clusters.wait_until_available(aws.redshift, IDENTIFIER, minutes=1, delay=0.01)
    assert str(caught.value) == (
        "cluster sparkify-test became deleting while waiting for it to be available - check it in the Redshift "
        "console, then re-run setup_cluster.py or clean_redshift.py"
    )


def test_waiting_for_deletion_returns_once_the_cluster_is_gone(aws):
    make_cluster(aws)
    assert clusters.delete(aws.redshift, IDENTIFIER, final_snapshot=None)
    clusters.wait_until_deleted(aws.redshift, IDENTIFIER, minutes=1, delay=0.01)
    assert aws.clusters() == []
    assert clusters.delete(aws.redshift, IDENTIFIER, final_snapshot=None) is False


def test_a_cluster_whose_password_aws_keeps_is_created_with_a_request_redshift_accepts(aws, tmp_path):
    """botocore checks the request against Redshift's service model before the Stubber answers (an unknown or
    mistyped parameter fails there), and the answer against the model too: MasterPasswordSecretArn is AWS's name."""
    config = write_cfg(tmp_path)
    spec = settings.read_spec(read_file(config), config)
    secret = f"arn:aws:secretsmanager:{REGION}:123456789012:secret:redshift!{IDENTIFIER}-admin-AbCdEf"
    client = new_session().client("redshift", region_name=REGION)
    expected = {
        "ClusterIdentifier": IDENTIFIER,
        "ClusterType": "multi-node",
        "NodeType": "ra3.large",
        "NumberOfNodes": 2,
        "DBName": "sparkify",
        "MasterUsername": "sparkify_admin",
        "ManageMasterPassword": True,  # and no MasterUserPassword: the Stubber refuses any other parameters
        "Port": 5439,
        "IamRoles": [ROLE_ARN],
        "VpcSecurityGroupIds": ["sg-0123456789abcdef0"],
        "Encrypted": True,
        "PubliclyAccessible": True,
        "Tags": [{"Key": iam.TAG_KEY, "Value": IDENTIFIER}],
    }
    answer = {
        "Cluster": {"ClusterIdentifier": IDENTIFIER, "ClusterStatus": "creating", "MasterPasswordSecretArn": secret}
    }
    with Stubber(client) as stubber:
        stubber.add_response("create_cluster", answer, expected)
        cluster = clusters.create(client, IDENTIFIER, spec, ROLE_ARN, "sg-0123456789abcdef0", None)
        stubber.assert_no_pending_responses()
    assert clusters.password_secret(cluster, managed=True) == secret


def test_the_password_is_sent_when_there_is_one(aws, tmp_path):
    config = write_cfg(tmp_path)
    spec = settings.read_spec(read_file(config), config)
    client = new_session().client("redshift", region_name=REGION)
    sent = []
    client.meta.events.register("before-parameter-build.redshift.CreateCluster",
                                lambda params, **_: sent.append(params))
    with Stubber(client) as stubber:
        stubber.add_response("create_cluster", {"Cluster": {"ClusterIdentifier": IDENTIFIER}})
        cluster = clusters.create(client, IDENTIFIER, spec, ROLE_ARN, "sg-0123456789abcdef0", PASSWORD)
    assert sent[0]["MasterUserPassword"] == PASSWORD and "ManageMasterPassword" not in sent[0]
    assert clusters.password_secret(cluster, managed=False) is None


@pytest.mark.parametrize("kind", ["symlink", "writable"])
def test_password_is_never_written_through_an_unsafe_env_file(tmp_path, kind):
    env = tmp_path / ".env"
    target = tmp_path / "elsewhere.env" if kind == "symlink" else env
    target.write_text("OTHER=1\n")
    if kind == "symlink":
        env.symlink_to(target)
    else:
        env.chmod(0o666)
    with pytest.raises(ConfigError, match=r"^\.env beside the config file \(.*/\.env\) is (a symbolic link|writable)"):
        files.save_password(env, "Generated1Password")
    assert target.read_text() == "OTHER=1\n"
    assert env.is_symlink() == (kind == "symlink")


# ------------------------------------------------------------------ clients and transfers


def test_every_client_retries_throttling_in_standard_mode(aws):
    clients = Clients(REGION)
    for service in ("s3", "iam", "ec2", "redshift", "redshift-serverless"):
        assert clients.get(service).meta.config.retries["mode"] == "standard", service


def test_many_objects_download_a_few_at_a_time_each_to_its_place_in_order(aws, tmp_path):
    for i in range(30):
        put(aws, f"log_data/2018/11/{i:02d}.json", f'{{"n": {i}}}\n'.encode())
    calls = []
    objects = list_prefix(f"s3://{BUCKET}/log_data")
    paths = download_objects(objects, tmp_path, workers=3, progress=lambda done, total: calls.append((done, total)))
    assert paths == [tmp_path / "2018/11" / f"{i:02d}.json" for i in range(30)]
    assert [p.read_text() for p in paths] == [f'{{"n": {i}}}\n' for i in range(30)]
    assert calls == [(done, 30) for done in range(1, 31)]


def test_a_download_that_fails_names_its_object(aws, tmp_path):
    put(aws, "song_data/A.json")
    objects = list_prefix(f"s3://{BUCKET}/song_data")
    aws.s3.delete_object(Bucket=BUCKET, Key="song_data/A.json")  # listed, then gone
    with pytest.raises(AwsError) as caught:
        download_objects(objects, tmp_path)
    assert str(caught.value).startswith(f"cannot download s3://{BUCKET}/song_data/A.json: ")


def test_upload_files_sends_each_file_to_its_key(aws, tmp_path):
    put(aws, "other.json")
    files = []
    for i in range(12):
        path = tmp_path / f"{i}.json"
        path.write_text(f"{i}\n")
        files.append((path, f"up/{i}.json"))
    s3.upload_files(Clients(REGION).get("s3"), files, BUCKET, workers=4)
    assert [aws.s3.get_object(Bucket=BUCKET, Key=f"up/{i}.json")["Body"].read() for i in range(12)] == [
        f"{i}\n".encode() for i in range(12)
    ]
