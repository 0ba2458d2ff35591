"""The Redshift cluster: create, inspect, delete, and wait with boto3's bounded waiters."""

from __future__ import annotations

import logging
import math
import time

from botocore.exceptions import ClientError, WaiterError

from sparkify.aws.faults import AwsError, aws_call, describe_client_error
from sparkify.aws.iam import TAG_KEY
from sparkify.aws.settings import ClusterSpec

log = logging.getLogger(__name__)

# How long setup_cluster.py and clean_redshift.py wait for the cluster (--wait-minutes).
DEFAULT_WAIT_MINUTES = 30.0
# How often the waiters poll. Tests make it tiny; AWS takes minutes anyway.
POLL_SECONDS = 30.0


def describe(redshift, identifier: str) -> dict | None:
    with aws_call(f"look up cluster {identifier}"):
        try:
            return redshift.describe_clusters(ClusterIdentifier=identifier)["Clusters"][0]
        except redshift.exceptions.ClusterNotFoundFault:
            return None


# ManageMasterPassword: Redshift generates the master password, keeps it in an AWS Secrets Manager secret it
# creates (rotated every 30 days) and deletes that secret with the cluster; whoever creates the cluster needs
# secretsmanager permissions for it (docs/redshift.md, 1. Credentials). "Managing Amazon Redshift admin passwords using
# AWS Secrets Manager": https://docs.aws.amazon.com/redshift/latest/mgmt/redshift-secrets-manager-integration.html
KEPT_BY_AWS = "master password kept by AWS Secrets Manager"


def create(redshift, identifier: str, spec: ClusterSpec, role_arn: str, group_id: str, password: str | None) -> dict:
    """Create the cluster; password None: with ManageMasterPassword, and no password is sent or known here."""
    params = dict(
        ClusterIdentifier=identifier,
        ClusterType=spec.cluster_type,
        NodeType=spec.node_type,
        DBName=spec.db_name,
        MasterUsername=spec.db_user,
        **({"ManageMasterPassword": True} if password is None else {"MasterUserPassword": password}),
        Port=spec.db_port,
        IamRoles=[role_arn],
        VpcSecurityGroupIds=[group_id],
        Encrypted=True,
        # CONNECTION = direct: reachable from a laptop, the security group limits who may connect;
        # data-api: no public address (the Data API reaches it over AWS's own network).
        PubliclyAccessible=spec.publicly_accessible,
        Tags=[{"Key": TAG_KEY, "Value": identifier}],
    )
    if spec.cluster_type == "multi-node":
        params["NumberOfNodes"] = spec.num_nodes
    with aws_call(f"create cluster {identifier}"):
        return redshift.create_cluster(**params)["Cluster"]


def password_secret(cluster: dict, managed: bool) -> str | None:
    """Where the master password is kept, for the summary: the secret AWS names (moto names none), "AWS Secrets
    Manager" for a cluster created with ManageMasterPassword, None when it is a password of the user's."""
    return cluster.get("MasterPasswordSecretArn") or ("AWS Secrets Manager" if managed else None)


def drift(cluster: dict, spec: ClusterSpec, role_arn: str | None, group_id: str | None) -> list[str]:
    """How an existing cluster differs from dwh.cfg (setup never changes a running cluster)."""
    found = []
    if cluster.get("NodeType") != spec.node_type or cluster.get("NumberOfNodes") != spec.num_nodes:
        found.append(
            f"it has {cluster.get('NumberOfNodes')} x {cluster.get('NodeType')}, "
            f"dwh.cfg asks for {spec.num_nodes} x {spec.node_type}"
        )
    if cluster.get("DBName") != spec.db_name:
        found.append(f"its database is {cluster.get('DBName')}, dwh.cfg says DB_NAME = {spec.db_name}")
    if cluster.get("MasterUsername") != spec.db_user:
        found.append(f"its master user is {cluster.get('MasterUsername')}, dwh.cfg says DB_USER = {spec.db_user}")
    port = (cluster.get("Endpoint") or {}).get("Port")
    if port is not None and port != spec.db_port:
        found.append(f"it listens on port {port}, dwh.cfg says DB_PORT = {spec.db_port}")
    if not cluster.get("Encrypted"):
        found.append("it is not encrypted")
    if role_arn and role_arn not in [r.get("IamRoleArn") for r in cluster.get("IamRoles", [])]:
        found.append("the IAM role is not attached, so COPY will fail")
    if group_id and group_id not in [g.get("VpcSecurityGroupId") for g in cluster.get("VpcSecurityGroups", [])]:
        found.append("the project's security group is not attached")
    return found


def delete(redshift, identifier: str, final_snapshot: str | None) -> bool:
    """Start deleting the cluster; False if it was already gone."""
    params: dict = {"ClusterIdentifier": identifier}
    if final_snapshot:
        params["SkipFinalClusterSnapshot"] = False  # AWS's default, said explicitly (moto needs it)
        params["FinalClusterSnapshotIdentifier"] = final_snapshot
    else:
        params["SkipFinalClusterSnapshot"] = True
    with aws_call(f"delete cluster {identifier}"):
        try:
            redshift.delete_cluster(**params)
        except redshift.exceptions.ClusterNotFoundFault:
            return False
        except redshift.exceptions.ClusterSnapshotAlreadyExistsFault:
            raise AwsError(
                f"cannot delete cluster {identifier}: a snapshot named {final_snapshot} already exists - "
                "pick another --final-snapshot name"
            ) from None
        except redshift.exceptions.InvalidClusterStateFault:
            raise AwsError(
                f"cannot delete cluster {identifier} now: AWS says an operation is running on it - "
                "wait until its status is available and re-run clean_redshift.py"
            ) from None
    return True


def _attempts(minutes: float, delay: float) -> int:
    return max(1, math.ceil(minutes * 60 / max(delay, 0.001)))


def _progress(redshift, identifier: str, started: float):
    """Log one line per poll of the waiter: the cluster's status and the time so far."""

    def report(parsed=None, **_):
        clusters = (parsed or {}).get("Clusters") or []
        status = clusters[0].get("ClusterStatus") if clusters else "gone"
        log.info("  cluster %s: %s (%s elapsed)", identifier, status, elapsed(started))

    event = "after-call.redshift.DescribeClusters"
    redshift.meta.events.register(event, report, unique_id=f"sparkify-progress-{identifier}")
    return lambda: redshift.meta.events.unregister(event, unique_id=f"sparkify-progress-{identifier}")


def elapsed(started: float) -> str:
    seconds = int(time.monotonic() - started)
    return f"{seconds // 60}m {seconds % 60:02d}s"


def wait_until_available(redshift, identifier: str, minutes: float, delay: float | None = None) -> dict:
    _wait(
        redshift, "cluster_available", identifier, minutes, delay,
        goal="become available", done="available",
        timed_out="it exists and is billed; re-run setup_cluster.py to keep waiting (--wait-minutes N), "
        "or clean_redshift.py to delete it",
        went_wrong="while waiting for it to be available - check it in the Redshift console, "
        "then re-run setup_cluster.py or clean_redshift.py",
    )
    return describe(redshift, identifier)


def wait_until_deleted(redshift, identifier: str, minutes: float, delay: float | None = None) -> None:
    _wait(
        redshift, "cluster_deleted", identifier, minutes, delay,
        goal="be deleted", done="deleted",
        timed_out="AWS is still deleting it; re-run clean_redshift.py later to finish (--wait-minutes N)",
        went_wrong="instead of being deleted - check it in the Redshift console and re-run clean_redshift.py",
    )


def _wait(redshift, waiter: str, identifier: str, minutes: float, delay: float | None, *,
          goal: str, done: str, timed_out: str, went_wrong: str) -> None:
    """boto3's waiter, bounded to `minutes`, with a progress line per poll and one-line failures."""
    delay = POLL_SECONDS if delay is None else delay
    log.info("waiting for cluster %s to %s (up to %g min, checking every %g s)", identifier, goal, minutes, delay)
    started = time.monotonic()
    stop = _progress(redshift, identifier, started)
    what = f"wait for cluster {identifier}" + ("" if waiter == "cluster_available" else " to be deleted")
    try:
        with aws_call(what):
            redshift.get_waiter(waiter).wait(
                ClusterIdentifier=identifier,
                WaiterConfig={"Delay": delay, "MaxAttempts": _attempts(minutes, delay)},
            )
    except WaiterError as exc:
        _refused(exc, what)
        status = _status(exc)
        if "Max attempts exceeded" in str(exc):
            raise AwsError(f"cluster {identifier} is still {status} after {minutes:g} min - {timed_out}") from None
        raise AwsError(f"cluster {identifier} became {status} {went_wrong}") from None
    finally:
        stop()
    log.info("cluster %s is %s after %s", identifier, done, elapsed(started))


def _refused(exc: WaiterError, what: str) -> None:
    """A request the waiter made was refused (access denied, bad credentials...): say that."""
    response = exc.last_response or {}
    if "Error" in response and "Max attempts exceeded" not in str(exc):
        raise AwsError(describe_client_error(what, ClientError(response, "DescribeClusters"))) from None


def _status(exc: WaiterError) -> str:
    if "Error" in (exc.last_response or {}):
        return "not found"
    clusters = (exc.last_response or {}).get("Clusters") or []
    return clusters[0].get("ClusterStatus", "unknown") if clusters else "unknown"
