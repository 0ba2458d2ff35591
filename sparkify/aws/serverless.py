"""Redshift Serverless (CLUSTER_TYPE = serverless): the namespace and workgroup, and a bounded poll.

A namespace holds the database, its admin user and the storage; a workgroup is
the compute and the endpoint that serves it. botocore has no waiters for
redshift-serverless, so `poll` is the one small bounded loop both waits use.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from sparkify.aws import cluster as clusters
from sparkify.aws.faults import AwsError, aws_call
from sparkify.aws.iam import TAG_KEY
from sparkify.aws.settings import ClusterSpec

log = logging.getLogger(__name__)

AVAILABLE = "AVAILABLE"
GONE = "gone"


def get_namespace(client, name: str) -> dict | None:
    with aws_call(f"look up namespace {name}"):
        try:
            return client.get_namespace(namespaceName=name)["namespace"]
        except client.exceptions.ResourceNotFoundException:
            return None


def get_workgroup(client, name: str) -> dict | None:
    with aws_call(f"look up workgroup {name}"):
        try:
            return client.get_workgroup(workgroupName=name)["workgroup"]
        except client.exceptions.ResourceNotFoundException:
            return None


def create_namespace(client, name: str, spec: ClusterSpec, role_arn: str, identifier: str) -> dict:
    with aws_call(f"create namespace {name}"):
        return client.create_namespace(
            namespaceName=name,
            dbName=spec.db_name,
            adminUsername=spec.db_user,
            # AWS generates the admin password and keeps it in Secrets Manager: it is never on this machine.
            manageAdminPassword=True,
            iamRoles=[role_arn],
            defaultIamRoleArn=role_arn,
            tags=[{"key": TAG_KEY, "value": identifier}],
        )["namespace"]


def create_workgroup(client, name: str, namespace: str, spec: ClusterSpec, group_id: str, identifier: str) -> dict:
    with aws_call(f"create workgroup {name}"):
        return client.create_workgroup(
            workgroupName=name,
            namespaceName=namespace,
            baseCapacity=spec.base_rpu,
            # Private unless PUBLICLY_ACCESSIBLE = yes: the Data API reaches it without any public address.
            publiclyAccessible=spec.publicly_accessible,
            port=spec.db_port,
            securityGroupIds=[group_id],
            tags=[{"key": TAG_KEY, "value": identifier}],
        )["workgroup"]


def drift(namespace: dict | None, workgroup: dict | None, spec: ClusterSpec, role_arn: str | None) -> list[str]:
    """How an existing namespace or workgroup differs from dwh.cfg (setup never changes them)."""
    found = []
    if namespace is not None:
        if namespace.get("dbName") != spec.db_name:
            found.append(f"its database is {namespace.get('dbName')}, dwh.cfg says DB_NAME = {spec.db_name}")
        if namespace.get("adminUsername") != spec.db_user:
            found.append(f"its admin user is {namespace.get('adminUsername')}, dwh.cfg says DB_USER = {spec.db_user}")
        if role_arn and role_arn not in namespace.get("iamRoles", []):
            found.append("the IAM role is not attached to the namespace, so COPY will fail")
    if workgroup is not None:
        if workgroup.get("baseCapacity") != spec.base_rpu:
            found.append(f"its base capacity is {workgroup.get('baseCapacity')} RPU, dwh.cfg says BASE_RPU = {spec.base_rpu}")
        # with CONNECTION = data-api a public workgroup gets its own warning (provision.warn_if_public)
        if bool(workgroup.get("publiclyAccessible")) != spec.publicly_accessible and not spec.data_api:
            public = "publicly accessible" if workgroup.get("publiclyAccessible") else "private"
            found.append(f"it is {public}, dwh.cfg says PUBLICLY_ACCESSIBLE = {'yes' if spec.publicly_accessible else 'no'}")
        port = workgroup.get("port") or (workgroup.get("endpoint") or {}).get("port")
        if port is not None and port != spec.db_port:
            found.append(f"it listens on port {port}, dwh.cfg says DB_PORT = {spec.db_port}")
    return found


def delete_workgroup(client, name: str) -> bool:
    """Start deleting the workgroup; False if it was already gone."""
    with aws_call(f"delete workgroup {name}"):
        try:
            client.delete_workgroup(workgroupName=name)
        except client.exceptions.ResourceNotFoundException:
            return False
        except client.exceptions.ConflictException:
            raise AwsError(
                f"cannot delete workgroup {name} now: AWS says an operation is running on it - "
                "wait until its status is AVAILABLE and re-run clean_redshift.py"
            ) from None
    return True


def delete_namespace(client, name: str, final_snapshot: str | None) -> bool:
    """Start deleting the namespace (after a final snapshot, if named); False if it was already gone."""
    params = {"namespaceName": name}
    if final_snapshot:
        params["finalSnapshotName"] = final_snapshot
    with aws_call(f"delete namespace {name}"):
        try:
            client.delete_namespace(**params)
        except client.exceptions.ResourceNotFoundException:
            return False
        except client.exceptions.ConflictException:
            snapshot = f", or a snapshot named {final_snapshot} exists" if final_snapshot else ""
            raise AwsError(
                f"cannot delete namespace {name} now: AWS says it is in use (a workgroup still serves it, or an "
                f"operation is running{snapshot}) - wait a few minutes and re-run clean_redshift.py"
            ) from None
    return True


def status_of(found: dict | None) -> str:
    return GONE if found is None else str(found.get("status", "unknown"))


def poll(look: Callable[[], dict | None], what: str, goal: str, minutes: float, *, timed_out: str) -> dict | None:
    """Call look() until its status is `goal` (AVAILABLE, or GONE for None), for at most `minutes`.

    The delay starts at a sixth of cluster.POLL_SECONDS and doubles up to
    POLL_SECONDS; the budget counts those delays, so the number of checks is
    the same on every run. One progress line per check. A status that cannot
    lead to the goal (DELETING while waiting for AVAILABLE) stops at once.
    """
    ceiling = clusters.POLL_SECONDS
    delay, waited, budget = ceiling / 6, 0.0, minutes * 60
    started = time.monotonic()
    wanted = "be deleted" if goal == GONE else "become available"
    log.info("waiting for %s to %s (up to %g min)", what, wanted, minutes)
    while True:
        found = look()
        status = status_of(found)
        log.info("  %s: %s (%s elapsed)", what, status.lower(), clusters.elapsed(started))
        if status == goal:
            return found
        if goal != GONE and status in ("DELETING", GONE):
            raise AwsError(
                f"{what} became {status.lower()} while waiting for it to be available - check it in the Redshift "
                "Serverless console, then re-run setup_cluster.py or clean_redshift.py"
            )
        if waited + delay > budget:
            raise AwsError(f"{what} is still {status.lower()} after {minutes:g} min - {timed_out}")
        time.sleep(delay)
        waited += delay
        delay = min(delay * 2, ceiling)
