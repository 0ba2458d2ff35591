"""A provisioned Redshift cluster: create, inspect, delete, wait (botocore's waiters); the Warehouse `Cluster`."""

from __future__ import annotations

import logging

from sparkify.aws.faults import AwsError, aws_call
from sparkify.provision import files, settings, waiting
from sparkify.provision.iam import TAG_KEY
from sparkify.provision.plan import Already, Ledger, Plan
from sparkify.provision.settings import ClusterSpec
from sparkify.provision.warehouse import Context, Warehouse, port_words, snapshot_words, warn_if_public, what_is_kept
from sparkify.secret_files import PASSWORD_ENV_VAR, env_file

log = logging.getLogger(__name__)


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


def _status(response: dict) -> str:
    clusters = response.get("Clusters") or []
    return clusters[0].get("ClusterStatus", "unknown") if clusters else waiting.GONE


def wait_until_available(redshift, identifier: str, minutes: float, delay: float | None = None) -> dict:
    wait = waiting.Wait(
        f"cluster {identifier}", "become available",
        timed_out="it exists and is billed; re-run setup_cluster.py to keep waiting (--wait-minutes N), "
        "or clean_redshift.py to delete it",
        went_wrong="while waiting for it to be available - check it in the Redshift console, "
        "then re-run setup_cluster.py or clean_redshift.py",
        status_of=_status,
    )
    waiting.run(redshift, "cluster_available", {"ClusterIdentifier": identifier}, wait, minutes, delay)
    return describe(redshift, identifier)


def wait_until_deleted(redshift, identifier: str, minutes: float, delay: float | None = None) -> None:
    wait = waiting.Wait(
        f"cluster {identifier}", "be deleted",
        timed_out="AWS is still deleting it; re-run clean_redshift.py later to finish (--wait-minutes N)",
        went_wrong="instead of being deleted - check it in the Redshift console and re-run clean_redshift.py",
        status_of=_status,
    )
    waiting.run(redshift, "cluster_deleted", {"ClusterIdentifier": identifier}, wait, minutes, delay)


class Cluster(Warehouse):
    """CLUSTER_TYPE = single-node or multi-node: one cluster named IDENTIFIER, billed by the hour."""

    noun = "cluster"
    service = "redshift"

    def __init__(self, client, names) -> None:
        super().__init__(client, names)
        self.found: dict | None = None  # the cluster as AWS describes it, once known

    def describe(self, ledger: Ledger) -> None:
        ident = self.names.identifier
        self.found = describe(self.client, ident) if self.client else None
        if self.found is None:
            return
        status = self.found.get("ClusterStatus")
        ledger.exists("cluster", f"cluster {ident} ({status})")
        if status == "deleting":
            raise AwsError(f"cluster {ident} is being deleted - wait until that finishes, then re-run setup_cluster.py")
        if status in ("paused", "pausing"):
            raise AwsError(
                f"cluster {ident} is paused - resume it (aws redshift resume-cluster --cluster-identifier {ident}) "
                "and re-run setup_cluster.py"
            )
        log.info("cluster %s: exists (%s)", ident, status)

    def plan_create(self, plan: Plan, c: Context, ledger: Ledger) -> None:
        ident, names, spec = self.names.identifier, self.names, c.spec
        if self.found is None:
            if c.password is None and not c.managed_password:  # AUTH = password and none set: one is made here
                env_path = env_file(c.config_path)

                def generate() -> None:
                    c.password = settings.generate_password()
                    files.save_password(env_path, c.password, f"beside {c.config_path.name}")
                    log.info("saved a new master password to %s (mode 0600); it is not shown here", env_path)

                plan.add("generate", f"a master password and save it to {env_path} as {PASSWORD_ENV_VAR}", generate)

            def create_it() -> None:
                self.found = create(self.client, ident, spec, c.attached.role_arn, c.attached.group_id, c.password)
                ledger.exists("cluster", f"cluster {ident} ({self.found.get('ClusterStatus', 'creating')})")

            plan.add(
                "create",
                f"cluster {ident}: {spec.describe(names.region)}, encrypted, {'private, ' if spec.data_api else ''}"
                f"{KEPT_BY_AWS + ', ' if c.managed_password else ''}role {names.role_name}, "
                f"security group {names.security_group_name}",
                create_it,
            )
        else:
            c.managed_password = bool(self.found.get("MasterPasswordSecretArn"))  # as it is: setup never changes it
            warn_if_public(
                bool(self.found.get("PubliclyAccessible")), f"cluster {ident}",
                f"aws redshift modify-cluster --cluster-identifier {ident} --no-publicly-accessible", spec,
            )
            # A role or group still to be made cannot be attached yet: "new" is in no cluster's list.
            for difference in drift(self.found, spec, c.attached.role_arn or "new", c.attached.group_id or "new"):
                log.warning(
                    "cluster %s exists but %s - left as it is "
                    "(run clean_redshift.py, then setup_cluster.py, to rebuild it)",
                    ident,
                    difference,
                )
            if self.found.get("ClusterStatus") == "available" and self.found.get("Endpoint"):
                return

        def wait() -> None:
            self.found = wait_until_available(self.client, ident, c.wait_minutes)
            ledger.exists("cluster", f"cluster {ident} (available)")

        plan.add("wait", f"up to {c.wait_minutes:g} min for cluster {ident} to be available", wait, change=False, doing="")

    def question(self, c: Context, steps: list[str]) -> str | None:
        if self.found is not None:
            return None
        # Creating a cluster is what costs money: only then is there a question, and it lists the whole plan.
        return (
            f"Create Redshift cluster {self.names.identifier}: {c.spec.describe(self.names.region)}, encrypted, "
            f"{'private (no public address), ' if c.spec.data_api else ''}{port_words(c.spec)}? "
            "It is billed by the hour until clean_redshift.py "
            "deletes it.\nThe plan:\n" + "\n".join(f"  - {step}" for step in steps)
        )

    def config_values(self, c: Context) -> dict[tuple[str, str], str | None]:
        host = ((self.found or {}).get("Endpoint") or {}).get("Address")
        return {("CLUSTER", "HOST"): host, ("IAM_ROLE", "ARN"): c.attached.role_arn}

    def report(self, c: Context) -> None:
        spec, cluster, ident = c.spec, self.found, self.names.identifier
        host = cluster["Endpoint"]["Address"]
        port = cluster["Endpoint"].get("Port", spec.db_port)
        shape = f"{cluster.get('NumberOfNodes')} x {cluster.get('NodeType')} in {self.names.region}"
        encrypted = "encrypted" if cluster.get("Encrypted") else "NOT encrypted"
        private = "" if cluster.get("PubliclyAccessible", True) else ", private (no public address)"
        print(f"cluster {ident} is available at {host}:{port} - {shape}, {encrypted}{private}")
        secret = password_secret(cluster, c.managed_password)
        if secret:
            print(
                f"cluster {ident}: database {spec.db_name}, master user {spec.db_user}; "
                f"the master password is kept in {secret}, not in .env"
            )

    def plan_delete(self, plan: Plan, final_snapshot: str | None, minutes: float, ledger: Ledger) -> None:
        ident = self.names.identifier
        keep = snapshot_words(final_snapshot)
        if self.client is None:  # no AWS credentials: the plan from nothing
            plan.add("delete", f"Redshift cluster {ident} and all data in it, {keep}", lambda: None)
            return
        cluster = describe(self.client, ident)
        if cluster is None:
            plan.gone.append(f"cluster {ident}")
            return
        status = cluster.get("ClusterStatus")
        ledger.exists("cluster", f"cluster {ident} ({status})")
        already_deleting = status == "deleting"
        kept = what_is_kept(already_deleting, final_snapshot)

        def delete_it() -> str | Already:
            if not already_deleting:
                if not delete(self.client, ident, final_snapshot):
                    ledger.gone("cluster")
                    return Already(f"cluster {ident}")
                ledger.exists("cluster", f"cluster {ident} (deleting)")
            wait_until_deleted(self.client, ident, minutes)
            ledger.gone("cluster")
            return f"cluster {ident} ({kept})"

        shape = f"{cluster.get('NumberOfNodes')} x {cluster.get('NodeType')}, {status}"
        plan.add(
            "delete",
            f"Redshift cluster {ident} ({shape}) and all data in it, {keep}",
            delete_it,
            doing="" if already_deleting else f"deleting cluster {ident} ...",
        )

    def title(self) -> str:
        return f"cluster {self.names.identifier}"
