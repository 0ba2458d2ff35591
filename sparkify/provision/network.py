"""The project's own security group: the cluster's port open to ALLOWED_CIDR and nothing else.

With CONNECTION = data-api the group is still made and attached, with no
inbound rule at all: the warehouse then admits no connection from anywhere
(the VPC's default group would admit its other members).

It lives in the default VPC, is named <IDENTIFIER>-sg and tagged
sparkify:cluster=<IDENTIFIER>; the VPC's default group is never touched.
"""

from __future__ import annotations

import time

from botocore.exceptions import ClientError

from sparkify.aws.faults import AwsError, aws_call, error_code
from sparkify.provision.iam import TAG_KEY

# Deleting a group right after its cluster can fail while AWS releases the
# cluster's network interfaces; retry that a bounded number of times.
DELETE_ATTEMPTS = 10
DELETE_RETRY_SECONDS = 30.0


def default_vpc(ec2, region: str) -> str:
    with aws_call(f"find the default VPC in {region}"):
        vpcs = ec2.describe_vpcs(Filters=[{"Name": "isDefault", "Values": ["true"]}])["Vpcs"]
    if not vpcs:
        raise AwsError(
            f"no default VPC in {region} - create one with `aws ec2 create-default-vpc --region {region}`, "
            "or set another REGION in [CLUSTER]"
        )
    return vpcs[0]["VpcId"]


def find_group(ec2, name: str, vpc_id: str) -> dict | None:
    with aws_call(f"look up security group {name}"):
        groups = ec2.describe_security_groups(
            Filters=[{"Name": "group-name", "Values": [name]}, {"Name": "vpc-id", "Values": [vpc_id]}]
        )["SecurityGroups"]
    return groups[0] if groups else None


def tagged_groups(ec2, identifier: str) -> list[dict]:
    """The groups setup_cluster.py made for this cluster (found by tag, in any VPC of the region)."""
    with aws_call(f"look up the security group of cluster {identifier}"):
        pages = ec2.get_paginator("describe_security_groups").paginate(
            Filters=[{"Name": f"tag:{TAG_KEY}", "Values": [identifier]}]
        )
        return [group for page in pages for group in page["SecurityGroups"]]


def is_ours(group: dict, identifier: str) -> bool:
    return {"Key": TAG_KEY, "Value": identifier} in group.get("Tags", [])


def create_group(ec2, name: str, vpc_id: str, identifier: str) -> dict:
    with aws_call(f"create security group {name}"):
        group_id = ec2.create_security_group(
            GroupName=name,
            Description=f"Sparkify: Redshift {identifier}, inbound only as dwh.cfg says "
            "(ALLOWED_CIDR, or none for data-api)",
            VpcId=vpc_id,
            TagSpecifications=[
                {"ResourceType": "security-group", "Tags": [{"Key": TAG_KEY, "Value": identifier}]},
            ],
        )["GroupId"]
    return {"GroupId": group_id, "GroupName": name, "VpcId": vpc_id, "IpPermissions": []}


def _is_wanted(permission: dict, port: int) -> bool:
    return permission.get("IpProtocol") == "tcp" and permission.get("FromPort") == port == permission.get("ToPort")


def ingress_changes(group: dict, port: int, cidr: str | None) -> tuple[bool, list[dict]]:
    """(whether the port->cidr rule must be added, the rules that must go so that only it remains).

    cidr None (CONNECTION = data-api): no rule is wanted, every rule must go.
    """
    present = False
    unwanted = []
    for permission in group.get("IpPermissions", []):
        ranges = permission.get("IpRanges", [])
        keep = [r for r in ranges if cidr is not None and _is_wanted(permission, port) and r.get("CidrIp") == cidr]
        present = present or bool(keep)
        drop = {k: v for k, v in permission.items() if k in ("IpProtocol", "FromPort", "ToPort")}
        extra = {
            "IpRanges": [{"CidrIp": r["CidrIp"]} for r in ranges if r not in keep],
            "Ipv6Ranges": [{"CidrIpv6": r["CidrIpv6"]} for r in permission.get("Ipv6Ranges", [])],
            "PrefixListIds": [{"PrefixListId": p["PrefixListId"]} for p in permission.get("PrefixListIds", [])],
            "UserIdGroupPairs": [{"GroupId": p["GroupId"]} for p in permission.get("UserIdGroupPairs", [])],
        }
        extra = {k: v for k, v in extra.items() if v}
        if extra:
            unwanted.append(drop | extra)
    return cidr is not None and not present, unwanted


def describe_rule(permission: dict) -> str:
    sources = [r["CidrIp"] for r in permission.get("IpRanges", [])]
    sources += [r["CidrIpv6"] for r in permission.get("Ipv6Ranges", [])]
    sources += [p["PrefixListId"] for p in permission.get("PrefixListIds", [])]
    sources += [p["GroupId"] for p in permission.get("UserIdGroupPairs", [])]
    protocol = permission.get("IpProtocol")
    if protocol == "-1":
        what = "all traffic"
    elif permission.get("FromPort") == permission.get("ToPort"):
        what = f"{protocol} {permission.get('FromPort')}"
    else:
        what = f"{protocol} {permission.get('FromPort')}-{permission.get('ToPort')}"
    return f"{what} from {', '.join(sources)}"


def allow(ec2, group_id: str, port: int, cidr: str, identifier: str) -> None:
    rule = {
        "IpProtocol": "tcp",
        "FromPort": port,
        "ToPort": port,
        "IpRanges": [{"CidrIp": cidr, "Description": f"Redshift {identifier}: ALLOWED_CIDR in dwh.cfg"}],
    }
    with aws_call(f"open port {port} to {cidr} in security group {group_id}"):
        try:
            ec2.authorize_security_group_ingress(GroupId=group_id, IpPermissions=[rule])
        except ClientError as exc:
            if error_code(exc) != "InvalidPermission.Duplicate":
                raise


def revoke(ec2, group_id: str, permissions: list[dict]) -> None:
    with aws_call(f"remove old rules from security group {group_id}"):
        try:
            ec2.revoke_security_group_ingress(GroupId=group_id, IpPermissions=permissions)
        except ClientError as exc:
            if error_code(exc) != "InvalidPermission.NotFound":
                raise


def delete_group(ec2, group_id: str, name: str, *, attempts: int | None = None, delay: float | None = None) -> bool:
    """Delete the group; False if it was already gone. Retries while AWS still holds it in use."""
    attempts = attempts or DELETE_ATTEMPTS
    delay = DELETE_RETRY_SECONDS if delay is None else delay
    for attempt in range(1, attempts + 1):
        with aws_call(f"delete security group {name} ({group_id})"):
            try:
                ec2.delete_security_group(GroupId=group_id)
                return True
            except ClientError as exc:
                code = error_code(exc)
                if code == "InvalidGroup.NotFound":
                    return False
                if code != "DependencyViolation":
                    raise
        if attempt < attempts:
            time.sleep(delay)
    raise AwsError(
        f"cannot delete security group {name} ({group_id}): still in use after {attempts} tries - "
        "wait a few minutes for AWS to release the cluster's network interfaces, then re-run clean_redshift.py"
    )
