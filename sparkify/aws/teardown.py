"""clean_redshift.py: inventory -> plan -> (dry run | confirm -> apply) -> report.

Teardown goes the other way from setup: cluster (and its data) -> security
group -> IAM role (or only our policy, on a role setup reused) -> bucket (if
asked). With CLUSTER_TYPE = serverless: workgroup -> namespace (and its data)
instead of the cluster. The inventory counts anything already gone as done, so a re-run after
a failure half way finishes the job; the failure's one line lists what still
exists.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from sparkify.aws import cluster as clusters
from sparkify.aws import iam as roles, network, packing, s3 as buckets, serverless, settings
from sparkify.aws.cluster import DEFAULT_WAIT_MINUTES
from sparkify.aws.faults import Clients
from sparkify.aws.plan import Already, Ledger, Plan, confirm_or_decline
from sparkify.aws.settings import Names
from sparkify.config import read_file
from sparkify.secret_files import load_env
from sparkify.errors import ConfigError, SparkifyError

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TeardownOptions:
    dry_run: bool = False
    final_snapshot: str | None = None
    delete_bucket: bool = False
    wait_minutes: float = DEFAULT_WAIT_MINUTES


def check_snapshot_name(name: str) -> None:
    if not (re.fullmatch(r"[A-Za-z][A-Za-z0-9-]{0,254}", name) and "--" not in name and not name.endswith("-")):
        raise ConfigError(
            f"--final-snapshot {name} is not a valid snapshot name - use 1-255 letters, digits or hyphens, "
            "starting with a letter, without '--' or a hyphen at the end"
        )


def teardown(config_path: Path, options: TeardownOptions, confirm: Callable[[str], bool]) -> int:
    """confirm(question) -> True to go on: the script asks (or --yes answers for it)."""
    parser = read_file(config_path)
    names = settings.read_names(parser, config_path)
    if options.final_snapshot:
        check_snapshot_name(options.final_snapshot)
    bucket_names = (
        sorted({loc.bucket for loc in settings.read_locations(parser, config_path)}) if options.delete_bucket else []
    )
    s3_region = settings.read_s3_region(parser, config_path)
    is_serverless = settings.is_serverless(parser)
    load_env(config_path)
    ledger = Ledger()
    with ledger.reporting("still exists", "re-run clean_redshift.py to finish"):
        aws = Clients(names.region)
        plan = plan_teardown(names, aws, bucket_names, s3_region, options, ledger, is_serverless)
        _mention_packed_parts(settings.read_manifest_location(parser, config_path), aws.get("s3", s3_region))
        if not plan.changes:
            print(f"nothing to delete: {', '.join(plan.gone)} already gone")
            return 0
        if options.dry_run:
            plan.print_dry_run()
            return 0
        confirm_or_decline(plan, confirm, "not confirmed - nothing was deleted (answer yes, or pass --yes)")
        ledger.apply(plan)
    for _, words in ledger.done:
        print(f"deleted {words}")
    gone = plan.gone + ledger.already
    if gone:
        print(f"already gone: {', '.join(gone)}")
    what = (
        f"workgroup {names.workgroup_name} (namespace {names.namespace_name})"
        if is_serverless
        else f"cluster {names.identifier}"
    )
    print(f"done: nothing of {what} is left in {names.region}")
    return 0


def plan_teardown(
    names: Names,
    aws: Clients,
    bucket_names: list[str],
    s3_region: str,
    options: TeardownOptions,
    ledger: Ledger,
    is_serverless: bool = False,
) -> Plan:
    """Look first: the plan names what exists, and what is gone needs no question."""
    plan = Plan()
    if is_serverless:
        _plan_serverless(plan, aws.get("redshift-serverless"), names, options, ledger)
    else:
        _plan_cluster(plan, aws.get("redshift"), names, options, ledger)
    _plan_groups(plan, aws.get("ec2"), names, ledger)
    _plan_role(plan, aws.get("iam"), names, ledger)
    for bucket in bucket_names:
        _plan_bucket(plan, aws.get("s3", s3_region), bucket, ledger)
    plan.question = f"This deletes, in {names.region}:\n" + "\n".join(f"  - {step.target}" for step in plan.changes)
    return plan


def _plan_cluster(plan: Plan, redshift, names: Names, options: TeardownOptions, ledger: Ledger) -> None:
    ident = names.identifier
    cluster = clusters.describe(redshift, ident)
    if cluster is None:
        plan.gone.append(f"cluster {ident}")
        return
    status = cluster.get("ClusterStatus")
    ledger.exists("cluster", f"cluster {ident} ({status})")
    already_deleting = status == "deleting"
    kept = _what_is_kept(already_deleting, options.final_snapshot)

    def delete() -> str | Already:
        if not already_deleting:
            if not clusters.delete(redshift, ident, options.final_snapshot):
                ledger.gone("cluster")
                return Already(f"cluster {ident}")
            ledger.exists("cluster", f"cluster {ident} (deleting)")
        clusters.wait_until_deleted(redshift, ident, options.wait_minutes)
        ledger.gone("cluster")
        return f"cluster {ident} ({kept})"

    keep = (
        f"after a final snapshot {options.final_snapshot}"
        if options.final_snapshot
        else "with no final snapshot (pass --final-snapshot NAME to keep one)"
    )
    shape = f"{cluster.get('NumberOfNodes')} x {cluster.get('NodeType')}, {status}"
    plan.add(
        "delete",
        f"Redshift cluster {ident} ({shape}) and all data in it, {keep}",
        delete,
        doing="" if already_deleting else f"deleting cluster {ident} ...",
    )


def _plan_serverless(plan: Plan, client, names: Names, options: TeardownOptions, ledger: Ledger) -> None:
    """The workgroup first (a namespace cannot go while a workgroup serves it), then the namespace and its data."""
    wg_name, ns_name, minutes = names.workgroup_name, names.namespace_name, options.wait_minutes
    timed_out = "AWS is still deleting it; re-run clean_redshift.py later to finish (--wait-minutes N)"
    workgroup = serverless.get_workgroup(client, wg_name)
    namespace = serverless.get_namespace(client, ns_name)
    if workgroup is None:
        plan.gone.append(f"workgroup {wg_name}")
    else:
        wg_status = serverless.status_of(workgroup)
        ledger.exists("workgroup", f"workgroup {wg_name} ({wg_status.lower()})")

        delete_workgroup = _delete_and_wait(
            "workgroup", wg_name, wg_status, lambda: serverless.delete_workgroup(client, wg_name),
            lambda: serverless.get_workgroup(client, wg_name), ledger, minutes, timed_out, f"workgroup {wg_name}",
        )

        plan.add(
            "delete",
            f"Redshift Serverless workgroup {wg_name} (base {workgroup.get('baseCapacity')} RPU, {wg_status.lower()})",
            delete_workgroup,
            doing=f"deleting workgroup {wg_name} ...",
        )
    if namespace is None:
        plan.gone.append(f"namespace {ns_name}")
        return
    ns_status = serverless.status_of(namespace)
    ledger.exists("namespace", f"namespace {ns_name} ({ns_status.lower()})")
    kept = _what_is_kept(ns_status == "DELETING", options.final_snapshot)

    delete_namespace = _delete_and_wait(
        "namespace", ns_name, ns_status, lambda: serverless.delete_namespace(client, ns_name, options.final_snapshot),
        lambda: serverless.get_namespace(client, ns_name), ledger, minutes, timed_out, f"namespace {ns_name} ({kept})",
    )

    keep = (
        f"after a final snapshot {options.final_snapshot}"
        if options.final_snapshot
        else "with no final snapshot (pass --final-snapshot NAME to keep one)"
    )
    plan.add(
        "delete",
        f"Redshift Serverless namespace {ns_name} and all data in it, {keep}",
        delete_namespace,
        doing=f"deleting namespace {ns_name} ...",
    )


def _plan_groups(plan: Plan, ec2, names: Names, ledger: Ledger) -> None:
    groups = network.tagged_groups(ec2, names.identifier)
    if not groups:
        plan.gone.append(f"security group {names.security_group_name}")
    for group in groups:
        group_id, label = group["GroupId"], f"security group {group['GroupName']} ({group['GroupId']})"
        ledger.exists(group_id, label)

        def delete(group=group, group_id=group_id, label=label) -> str | Already:
            deleted = network.delete_group(ec2, group_id, group["GroupName"])
            ledger.gone(group_id)
            return label if deleted else Already(label)

        plan.add("delete", label, delete, doing=f"deleting {label} ...")


def _plan_role(plan: Plan, iam, names: Names, ledger: Ledger) -> None:
    name, ident = names.role_name, names.identifier
    role = roles.get_role(iam, name)
    if role is None:
        plan.gone.append(f"IAM role {name}")
    elif {"Key": roles.TAG_KEY, "Value": ident} in role.get("Tags", []):
        ledger.exists("role", f"IAM role {name}")

        def delete_role() -> str | Already:
            policies = roles.delete_role(iam, name)
            ledger.gone("role")
            if policies is None:
                return Already(f"IAM role {name}")
            return f"IAM role {name} and {policies} polic{'y' if policies == 1 else 'ies'}"

        plan.add(
            "delete",
            f"IAM role {name} and its policies",
            delete_role,
            doing=f"deleting IAM role {name} and its policies ...",
        )
    elif roles.current_policy(iam, name) is not None:
        # A role setup reused rather than made: only our policy goes.
        ledger.exists("role", f"the {roles.POLICY_NAME} policy of IAM role {name}")

        def delete_policy() -> str | Already:
            deleted = roles.delete_policy(iam, name)
            ledger.gone("role")
            if not deleted:
                return Already(f"policy {roles.POLICY_NAME} of IAM role {name}")
            return f"policy {roles.POLICY_NAME} of IAM role {name} (role kept: not made by setup_cluster.py)"

        plan.add(
            "delete",
            f"the {roles.POLICY_NAME} policy of IAM role {name} (the role was not made here, so it stays)",
            delete_policy,
            doing=f"removing policy {roles.POLICY_NAME} from IAM role {name} ...",
        )
    else:
        plan.gone.append(f"policy {roles.POLICY_NAME} of IAM role {name} (the role was not made here)")


def _plan_bucket(plan: Plan, s3, bucket: str, ledger: Ledger) -> None:
    count = buckets.count_objects(s3, bucket)
    if count is None:
        plan.gone.append(f"bucket {bucket}")
        return
    ledger.exists(f"bucket {bucket}", f"bucket {bucket}")

    def delete() -> str | Already:
        deleted = buckets.empty_and_delete(s3, bucket)
        ledger.gone(f"bucket {bucket}")
        return Already(f"bucket {bucket}") if deleted is None else f"bucket {bucket} ({deleted:,} object(s))"

    plan.add(
        "delete",
        f"bucket {bucket} and its {count:,} object(s)",
        delete,
        doing=f"emptying and deleting bucket {bucket} ...",
    )


def _mention_packed_parts(manifests, s3) -> None:
    """Packed parts a failed or refused etl.py run left under MANIFEST_PREFIX: said, not deleted here."""
    if manifests is None:
        return
    try:
        count = len(packing.leftover_parts(s3, manifests.uri))
    except SparkifyError:
        return  # only a note: not being allowed to list the prefix must not stop a teardown
    if count:
        print(
            f"note: {count:,} packed part{'s' if count != 1 else ''} of a failed or refused etl.py run "
            f"remain{'' if count != 1 else 's'} under {manifests.uri} (the next successful etl.py run deletes them)"
        )


def _what_is_kept(already_deleting: bool, final_snapshot: str | None) -> str:
    """What the report says survives deleting a cluster or a namespace."""
    if already_deleting:
        return "its deletion was already under way"
    if final_snapshot:
        return f"final snapshot {final_snapshot} kept"
    return "no final snapshot"


def _delete_and_wait(
    kind: str, name: str, status: str, delete, look, ledger: Ledger, minutes: float, timed_out: str, done: str
):
    """The step that deletes a serverless workgroup or namespace (unless already deleting) and waits until it is gone."""

    def step() -> str | Already:
        if status != "DELETING":
            if not delete():
                ledger.gone(kind)
                return Already(f"{kind} {name}")
            ledger.exists(kind, f"{kind} {name} (deleting)")
        serverless.poll(look, f"{kind} {name}", serverless.GONE, minutes, timed_out=timed_out)
        ledger.gone(kind)
        return done

    return step
