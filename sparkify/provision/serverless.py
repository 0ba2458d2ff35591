"""Redshift Serverless (CLUSTER_TYPE = serverless): the namespace and workgroup; the Warehouse `Workgroup`.

A namespace holds the database, its admin user and the storage; a workgroup is
the compute and the endpoint that serves it. botocore ships no waiters for
redshift-serverless: the waits use the custom waiter models in waiting.py.
"""

from __future__ import annotations

import logging

from sparkify.aws.faults import AwsError, aws_call
from sparkify.provision import waiting
from sparkify.provision.iam import TAG_KEY
from sparkify.provision.plan import Already, Ledger, Plan
from sparkify.provision.settings import ClusterSpec
from sparkify.provision.warehouse import Context, Warehouse, port_words, snapshot_words, warn_if_public, what_is_kept

log = logging.getLogger(__name__)

AVAILABLE = "AVAILABLE"
GONE = waiting.GONE


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


def _wait(client, thing: str, name: str, goal: str, minutes: float, timed_out: str) -> dict | None:
    """Wait with the custom waiter <Thing>Available or <Thing>Deleted; the namespace or workgroup as it is then."""

    def status(response: dict) -> str:
        return GONE if "Error" in response else status_of(response.get(thing)).lower()

    wait = waiting.Wait(
        f"{thing} {name}", "become available" if goal == AVAILABLE else "be deleted", timed_out=timed_out,
        went_wrong="while waiting for it to be available - check it in the Redshift Serverless console, then re-run "
        "setup_cluster.py or clean_redshift.py",
        status_of=status,
    )
    waiter = f"{thing.capitalize()}{'Available' if goal == AVAILABLE else 'Deleted'}"
    last = waiting.run(client, waiter, {f"{thing}Name": name}, wait, minutes)
    return last.get(thing)


class Workgroup(Warehouse):
    """CLUSTER_TYPE = serverless: namespace IDENTIFIER-ns and workgroup IDENTIFIER, billed per RPU-second used."""

    noun = "workgroup"
    service = "redshift-serverless"
    config_keys = (("CLUSTER", "HOST"), ("CLUSTER", "WORKGROUP"), ("IAM_ROLE", "ARN"))

    def __init__(self, client, names) -> None:
        super().__init__(client, names)
        self.namespace: dict | None = None
        self.workgroup: dict | None = None

    @classmethod
    def master_password(cls, env_password: str | None, logs_in_with_iam: bool) -> tuple[str | None, bool]:
        # A namespace's admin password is made and kept by AWS Secrets Manager: none is read or written here.
        return None, True

    def describe(self, ledger: Ledger) -> None:
        """The namespace and workgroup as they are now; a deletion under way or another namespace's workgroup stops setup."""
        if self.client is None:
            return
        ns_name, wg_name = self.names.namespace_name, self.names.workgroup_name
        self.namespace = get_namespace(self.client, ns_name)
        if self.namespace is not None:
            status = status_of(self.namespace)
            ledger.exists("namespace", f"namespace {ns_name} ({status.lower()})")
            if status == "DELETING":
                raise AwsError(f"namespace {ns_name} is being deleted - wait until that finishes, then re-run setup_cluster.py")
            log.info("namespace %s: exists (%s)", ns_name, status.lower())
        self.workgroup = get_workgroup(self.client, wg_name)
        if self.workgroup is not None:
            status = status_of(self.workgroup)
            ledger.exists("workgroup", f"workgroup {wg_name} ({status.lower()})")
            if self.workgroup.get("namespaceName") != ns_name:
                raise AwsError(
                    f"workgroup {wg_name} serves namespace {self.workgroup.get('namespaceName')}, not {ns_name} - "
                    "delete it, or change IDENTIFIER in [CLUSTER]"
                )
            if status == "DELETING":
                raise AwsError(f"workgroup {wg_name} is being deleted - wait until that finishes, then re-run setup_cluster.py")
            log.info("workgroup %s: exists (%s)", wg_name, status.lower())

    def plan_create(self, plan: Plan, c: Context, ledger: Ledger) -> None:
        """Namespace -> wait -> workgroup -> wait, each only if needed; an existing one is never changed."""
        ns_name, wg_name, spec, minutes = self.names.namespace_name, self.names.workgroup_name, c.spec, c.wait_minutes
        timed_out = (
            "it exists; re-run setup_cluster.py to keep waiting (--wait-minutes N), or clean_redshift.py to delete it"
        )
        for difference in drift(self.namespace, self.workgroup, spec, c.attached.role_arn):
            log.warning(
                "namespace %s / workgroup %s exist but %s - left as they are "
                "(run clean_redshift.py, then setup_cluster.py, to rebuild them)",
                ns_name,
                wg_name,
                difference,
            )
        if self.workgroup is not None:
            warn_if_public(
                bool(self.workgroup.get("publiclyAccessible")), f"workgroup {wg_name}",
                f"aws redshift-serverless update-workgroup --workgroup-name {wg_name} --no-publicly-accessible", spec,
            )
        if self.namespace is None:

            def create_ns() -> None:
                self.namespace = create_namespace(self.client, ns_name, spec, c.attached.role_arn, self.names.identifier)
                ledger.exists("namespace", f"namespace {ns_name} ({status_of(self.namespace).lower()})")

            plan.add(
                "create",
                f"namespace {ns_name}: database {spec.db_name}, admin {spec.db_user} (password kept by AWS Secrets "
                f"Manager), default role {self.names.role_name}",
                create_ns,
            )
        if status_of(self.namespace) != AVAILABLE:

            def wait_ns() -> None:
                self.namespace = _wait(self.client, "namespace", ns_name, AVAILABLE, minutes, timed_out)
                ledger.exists("namespace", f"namespace {ns_name} (available)")

            plan.add("wait", f"up to {minutes:g} min for namespace {ns_name} to be available", wait_ns, change=False, doing="")
        if self.workgroup is None:

            def create_wg() -> None:
                self.workgroup = create_workgroup(
                    self.client, wg_name, ns_name, spec, c.attached.group_id, self.names.identifier
                )
                ledger.exists("workgroup", f"workgroup {wg_name} ({status_of(self.workgroup).lower()})")

            access = "publicly accessible" if spec.publicly_accessible else "private"
            plan.add(
                "create",
                f"workgroup {wg_name}: {spec.describe(self.names.region)}, {access}, port {spec.db_port}, "
                f"security group {self.names.security_group_name}",
                create_wg,
            )
        elif status_of(self.workgroup) == AVAILABLE and self.workgroup.get("endpoint"):
            return

        def wait_wg() -> None:
            self.workgroup = _wait(self.client, "workgroup", wg_name, AVAILABLE, minutes, timed_out)
            ledger.exists("workgroup", f"workgroup {wg_name} (available)")

        plan.add("wait", f"up to {minutes:g} min for workgroup {wg_name} to be available", wait_wg, change=False, doing="")

    def question(self, c: Context, steps: list[str]) -> str | None:
        if self.namespace is not None and self.workgroup is not None:
            return None
        # Only the workgroup's compute costs money (per RPU-second while it works); storage is billed too.
        access = "publicly accessible" if c.spec.publicly_accessible else "private (no public address)"
        return (
            f"Create Redshift Serverless workgroup {self.names.workgroup_name} (namespace {self.names.namespace_name}): "
            f"{c.spec.describe(self.names.region)}, {access}, {port_words(c.spec)}? "
            "It is billed per RPU-second while it runs queries, and for storage, until clean_redshift.py "
            "deletes it.\nThe plan:\n" + "\n".join(f"  - {step}" for step in steps)
        )

    def config_values(self, c: Context) -> dict[tuple[str, str], str | None]:
        host = ((self.workgroup or {}).get("endpoint") or {}).get("address")
        return {
            ("CLUSTER", "HOST"): host,
            ("CLUSTER", "WORKGROUP"): self.names.workgroup_name,
            ("IAM_ROLE", "ARN"): c.attached.role_arn,
        }

    def report(self, c: Context) -> None:
        names, spec, endpoint = self.names, c.spec, self.workgroup["endpoint"]
        access = "publicly accessible" if self.workgroup.get("publiclyAccessible") else "private (no public address)"
        print(
            f"workgroup {names.workgroup_name} is available at {endpoint['address']}:{endpoint.get('port', spec.db_port)} "
            f"- base {self.workgroup.get('baseCapacity')} RPU in {names.region}, {access}"
        )
        secret = (self.namespace or {}).get("adminPasswordSecretArn") or "AWS Secrets Manager"
        print(
            f"namespace {names.namespace_name}: database {spec.db_name}, admin {spec.db_user}; "
            f"the admin password is kept in {secret}, not in .env"
        )

    def plan_delete(self, plan: Plan, final_snapshot: str | None, minutes: float, ledger: Ledger) -> None:
        """The workgroup first (a namespace cannot go while a workgroup serves it), then the namespace and its data."""
        wg_name, ns_name, client = self.names.workgroup_name, self.names.namespace_name, self.client
        keep = snapshot_words(final_snapshot)
        if client is None:  # no AWS credentials: the plan from nothing
            plan.add("delete", f"Redshift Serverless workgroup {wg_name}", lambda: None)
            plan.add("delete", f"Redshift Serverless namespace {ns_name} and all data in it, {keep}", lambda: None)
            return
        timed_out = "AWS is still deleting it; re-run clean_redshift.py later to finish (--wait-minutes N)"
        workgroup = get_workgroup(client, wg_name)
        namespace = get_namespace(client, ns_name)
        if workgroup is None:
            plan.gone.append(f"workgroup {wg_name}")
        else:
            wg_status = status_of(workgroup)
            ledger.exists("workgroup", f"workgroup {wg_name} ({wg_status.lower()})")
            plan.add(
                "delete",
                f"Redshift Serverless workgroup {wg_name} (base {workgroup.get('baseCapacity')} RPU, {wg_status.lower()})",
                _delete_and_wait(
                    client, "workgroup", wg_name, wg_status, lambda: delete_workgroup(client, wg_name),
                    ledger, minutes, timed_out, f"workgroup {wg_name}",
                ),
                doing=f"deleting workgroup {wg_name} ...",
            )
        if namespace is None:
            plan.gone.append(f"namespace {ns_name}")
            return
        ns_status = status_of(namespace)
        ledger.exists("namespace", f"namespace {ns_name} ({ns_status.lower()})")
        kept = what_is_kept(ns_status == "DELETING", final_snapshot)
        plan.add(
            "delete",
            f"Redshift Serverless namespace {ns_name} and all data in it, {keep}",
            _delete_and_wait(
                client, "namespace", ns_name, ns_status, lambda: delete_namespace(client, ns_name, final_snapshot),
                ledger, minutes, timed_out, f"namespace {ns_name} ({kept})",
            ),
            doing=f"deleting namespace {ns_name} ...",
        )

    def title(self) -> str:
        return f"workgroup {self.names.workgroup_name} (namespace {self.names.namespace_name})"


def _delete_and_wait(client, thing: str, name: str, status: str, delete, ledger: Ledger, minutes: float,
                     timed_out: str, done: str):
    """The step that deletes a workgroup or namespace (unless already deleting) and waits until it is gone."""

    def step() -> str | Already:
        if status != "DELETING":
            if not delete():
                ledger.gone(thing)
                return Already(f"{thing} {name}")
            ledger.exists(thing, f"{thing} {name} (deleting)")
        _wait(client, thing, name, GONE, minutes, timed_out)
        ledger.gone(thing)
        return done

    return step
