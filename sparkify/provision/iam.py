"""The IAM role Redshift assumes for COPY: trusted by Redshift, allowed to read [S3] (inputs and COPY manifests) only."""

from __future__ import annotations

import json
import re
from collections.abc import Sequence

from sparkify.aws.faults import AwsError, aws_call
from sparkify.provision.settings import S3Location

POLICY_NAME = "sparkify-s3-read"
TAG_KEY = "sparkify:cluster"  # on every resource the scripts create, value = cluster identifier
REDSHIFT = "redshift.amazonaws.com"

TRUST_POLICY = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Principal": {"Service": REDSHIFT},
            "Action": "sts:AssumeRole",
        }
    ],
}


def read_policy(locations: Sequence[S3Location], manifests: S3Location | None = None) -> dict:
    """List and get on exactly the [S3] buckets/prefixes: no write, no `*` beyond a prefix.

    ``manifests`` ([S3] MANIFEST_PREFIX) adds its prefix to the listing and a
    statement of its own to read the COPY manifests under it; etl.py writes
    them with the user's credentials, so the role is given no write there either.
    """
    prefixes = _by_bucket([*locations, *([manifests] if manifests else [])])
    statements = []
    for bucket in sorted(prefixes):
        sid = "List" + _sid(bucket)
        if any(s["Sid"] == sid for s in statements):
            sid += str(len(statements) + 1)
        listing = {
            "Sid": sid,
            "Effect": "Allow",
            "Action": "s3:ListBucket",
            "Resource": f"arn:aws:s3:::{bucket}",
        }
        if "" not in prefixes[bucket]:  # an empty prefix means the whole bucket
            listing["Condition"] = {"StringLike": {"s3:prefix": [f"{p}*" for p in prefixes[bucket]]}}
        statements.append(listing)
    inputs = _by_bucket(locations)
    objects = [f"arn:aws:s3:::{bucket}/{prefix}*" for bucket in sorted(inputs) for prefix in inputs[bucket]]
    statements.append({"Sid": "ReadInputs", "Effect": "Allow", "Action": "s3:GetObject", "Resource": objects})
    if manifests:
        statements.append({
            "Sid": "ReadCopyManifests",
            "Effect": "Allow",
            "Action": "s3:GetObject",
            "Resource": f"arn:aws:s3:::{manifests.bucket}/{manifests.prefix}*",
        })
    return {"Version": "2012-10-17", "Statement": statements}


def _by_bucket(locations: Sequence[S3Location]) -> dict[str, list[str]]:
    """bucket -> its prefixes, each once, in the order given."""
    prefixes: dict[str, list[str]] = {}
    for loc in locations:
        prefixes.setdefault(loc.bucket, [])
        if loc.prefix not in prefixes[loc.bucket]:
            prefixes[loc.bucket].append(loc.prefix)
    return prefixes


def _sid(bucket: str) -> str:
    return "".join(part.capitalize() for part in re.split(r"[^A-Za-z0-9]+", bucket))


def get_role(iam, name: str) -> dict | None:
    with aws_call(f"read IAM role {name}"):
        try:
            return iam.get_role(RoleName=name)["Role"]
        except iam.exceptions.NoSuchEntityException:
            return None


def trusts_redshift(role: dict) -> bool:
    document = role.get("AssumeRolePolicyDocument") or {}
    if isinstance(document, str):
        document = json.loads(document)
    for statement in document.get("Statement", []):
        services = (statement.get("Principal") or {}).get("Service", [])
        services = [services] if isinstance(services, str) else services
        actions = statement.get("Action", [])
        actions = [actions] if isinstance(actions, str) else actions
        if statement.get("Effect") == "Allow" and REDSHIFT in services and "sts:AssumeRole" in actions:
            return True
    return False


def create_role(iam, name: str, identifier: str) -> dict:
    with aws_call(f"create IAM role {name}"):
        return iam.create_role(
            RoleName=name,
            AssumeRolePolicyDocument=json.dumps(TRUST_POLICY),
            Description=f"Lets Redshift cluster {identifier} read the Sparkify input data in S3",
            Tags=[{"Key": TAG_KEY, "Value": identifier}],
        )["Role"]


def current_policy(iam, name: str) -> dict | None:
    with aws_call(f"read the policy of IAM role {name}"):
        try:
            document = iam.get_role_policy(RoleName=name, PolicyName=POLICY_NAME)["PolicyDocument"]
        except iam.exceptions.NoSuchEntityException:
            return None
    return json.loads(document) if isinstance(document, str) else document


def put_policy(iam, name: str, document: dict) -> None:
    with aws_call(f"set the S3 read policy of IAM role {name}"):
        iam.put_role_policy(RoleName=name, PolicyName=POLICY_NAME, PolicyDocument=json.dumps(document))


def delete_policy(iam, name: str) -> bool:
    """Remove only our inline policy (from a role setup_cluster.py reused); False if it was gone."""
    with aws_call(f"remove policy {POLICY_NAME} from IAM role {name}"):
        try:
            iam.delete_role_policy(RoleName=name, PolicyName=POLICY_NAME)
        except iam.exceptions.NoSuchEntityException:
            return False
    return True


def other_policies(iam, name: str) -> list[str]:
    """Policies on the role besides ours: they may grant more than [S3]."""
    with aws_call(f"list the policies of IAM role {name}"):
        inline = [p for p in _all(iam, "list_role_policies", "PolicyNames", RoleName=name) if p != POLICY_NAME]
        attached = [p["PolicyName"] for p in _all(iam, "list_attached_role_policies", "AttachedPolicies", RoleName=name)]
    return inline + attached


def delete_role(iam, name: str) -> int | None:
    """Delete the role and its policies. Returns how many policies went, None if the role was gone."""
    with aws_call(f"delete IAM role {name}"):
        try:
            inline = list(_all(iam, "list_role_policies", "PolicyNames", RoleName=name))
            attached = list(_all(iam, "list_attached_role_policies", "AttachedPolicies", RoleName=name))
            for policy in inline:
                iam.delete_role_policy(RoleName=name, PolicyName=policy)
            for policy in attached:
                iam.detach_role_policy(RoleName=name, PolicyArn=policy["PolicyArn"])
            iam.delete_role(RoleName=name)
        except iam.exceptions.NoSuchEntityException:
            return None
        except iam.exceptions.DeleteConflictException:
            raise AwsError(
                f"cannot delete IAM role {name}: it is still in use (an instance profile or another "
                "attachment) - detach it in the IAM console and re-run clean_redshift.py"
            ) from None
    return len(inline) + len(attached)


def _all(iam, method: str, field: str, **kwargs):
    for page in iam.get_paginator(method).paginate(**kwargs):
        yield from page.get(field, [])
