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

from sparkify.aws import packing
from sparkify.aws.clients import Clients
from sparkify.aws.faults import NO_CREDENTIALS
from sparkify.config import ConfigReader, read_file
from sparkify.errors import ConfigError, SparkifyError
from sparkify.provision import bucket as buckets
from sparkify.provision import iam as roles
from sparkify.provision import network, settings
from sparkify.provision.plan import Already, Ledger, Plan, confirm_or_decline
from sparkify.provision.settings import Names
from sparkify.provision.waiting import DEFAULT_WAIT_MINUTES
from sparkify.provision.warehouse import Warehouse, kind_of
from sparkify.secret_files import load_env

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
    kind = kind_of(ConfigReader(parser, config_path.name).serverless())
    load_env(config_path)
    ledger = Ledger()
    with ledger.reporting("still exists", "re-run clean_redshift.py to finish"):
        aws: Clients | None = Clients(names.region)
        if options.dry_run and not aws.has_credentials():
            # issue 20: a plan can be previewed before any account is set up; nothing in AWS is looked at
            print(
                f"{NO_CREDENTIALS.split(' - ')[0]}: could not check what exists in AWS - the plan if everything "
                "setup_cluster.py makes exists:"
            )
            aws = None
        warehouse = kind(aws.get(kind.service) if aws else None, names)
        plan = plan_teardown(names, warehouse, aws, bucket_names, s3_region, options, ledger)
        if aws:
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
    print(f"done: nothing of {warehouse.title()} is left in {names.region}")
    return 0


def plan_teardown(
    names: Names,
    warehouse: Warehouse,
    aws: Clients | None,
    bucket_names: list[str],
    s3_region: str,
    options: TeardownOptions,
    ledger: Ledger,
) -> Plan:
    """Look first: the plan names what exists, and what is gone needs no question.

    aws None (a dry run without credentials): nothing is looked at, everything setup makes is planned.
    """
    plan = Plan()
    warehouse.plan_delete(plan, options.final_snapshot, options.wait_minutes, ledger)
    if aws is None:
        plan.add("delete", f"security group {names.security_group_name} (tagged {roles.TAG_KEY}={names.identifier})",
                 lambda: None)
        plan.add("delete", f"IAM role {names.role_name} and its policies (or only the {roles.POLICY_NAME} policy, "
                 "if the role was not made by setup_cluster.py)", lambda: None)
        for bucket in bucket_names:
            plan.add("delete", f"bucket {bucket} and all its objects", lambda: None)
    else:
        _plan_groups(plan, aws.get("ec2"), names, ledger)
        _plan_role(plan, aws.get("iam"), names, ledger)
        for bucket in bucket_names:
            _plan_bucket(plan, aws.get("s3", s3_region), bucket, ledger)
    plan.question = f"This deletes, in {names.region}:\n" + "\n".join(f"  - {step.target}" for step in plan.changes)
    return plan


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

