"""setup_cluster.py: inventory -> plan -> (dry run | confirm -> apply) -> report.

Setup brings AWS to what dwh.cfg describes: IAM role -> security group ->
(bucket + upload) -> cluster -> wait -> HOST/ARN into dwh.cfg; with
CLUSTER_TYPE = serverless, namespace -> wait -> workgroup -> wait instead of
the cluster, and HOST/WORKGROUP/ARN. The inventory
looks at each in that order and plans only the differences, so a second run
plans nothing. With [DWH] CONNECTION = data-api the warehouse is created
without a public address and the security group without any inbound rule.
Whatever fails, the one-line error lists what exists at that moment, and the
steps done before it are printed.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from sparkify.aws.clients import Clients
from sparkify.aws.faults import NO_CREDENTIALS, AwsError
from sparkify.config import ConfigReader, check_jsonpaths_outside_data, logs_in_with_iam, read_file
from sparkify.errors import ConfigError
from sparkify.provision import bucket as buckets
from sparkify.provision import files, network, settings
from sparkify.provision import iam as roles
from sparkify.provision.plan import Already, Ledger, Plan, confirm_or_decline
from sparkify.provision.settings import Names, S3Location
from sparkify.provision.waiting import DEFAULT_WAIT_MINUTES
from sparkify.provision.warehouse import Context, Warehouse, kind_of
from sparkify.secret_files import PASSWORD_ENV_VAR, load_env

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SetupOptions:
    dry_run: bool = False
    allow_anywhere: bool = False
    upload_dir: Path | None = None
    wait_minutes: float = DEFAULT_WAIT_MINUTES


@dataclass(frozen=True)
class _Upload:
    location: S3Location
    source: Path  # the local folder or file
    files: list[tuple[Path, str]]  # (local file, object key)


@dataclass
class _Setup:
    """What setup reads from dwh.cfg, and the warehouse kind it names; the steps fill in c.attached."""

    c: Context
    kind: type[Warehouse]
    locations: tuple[S3Location, ...]
    manifests: S3Location | None  # [S3] MANIFEST_PREFIX: the role reads the COPY manifests there
    s3_region: str
    uploads: list[_Upload]
    current: dict[tuple[str, str], str]  # HOST, ARN (and WORKGROUP) as dwh.cfg has them now
    engine: str

    @property
    def names(self) -> Names:
        return self.c.names


def setup(config_path: Path, options: SetupOptions, confirm: Callable[[str], bool]) -> int:
    """confirm(question) -> True to go on: the script asks (or --yes answers for it)."""
    s = _read(config_path, options)
    aws = Clients(s.names.region)
    ledger = Ledger()
    with ledger.reporting(
        "exists now", "fix the cause and re-run setup_cluster.py, or remove them with clean_redshift.py"
    ):
        if options.dry_run and not aws.has_credentials():
            # issue 20: a plan can be previewed before any account is set up; nothing in AWS is looked at
            print(f"{NO_CREDENTIALS.split(' - ')[0]}: could not check what exists in AWS - the plan from nothing:")
            aws = None
        warehouse = s.kind(aws.get(s.kind.service) if aws else None, s.names)
        plan = plan_setup(s, warehouse, aws, ledger)
        if options.dry_run:
            plan.print_dry_run("dry run: nothing to do - everything already exists as dwh.cfg describes")
            return 0
        confirm_or_decline(plan, confirm, "not confirmed - nothing was created (answer yes, or pass --yes)")
        ledger.apply(plan)
    warehouse.report(s.c)
    _report_rest(s, warehouse, ledger)
    return 0


def _read(config_path: Path, options: SetupOptions) -> _Setup:
    """Everything from dwh.cfg, .env and --upload-data, checked before any AWS call."""
    parser = read_file(config_path)
    names = settings.read_names(parser, config_path)
    spec = settings.read_spec(parser, config_path)
    kind = kind_of(spec.serverless)
    locations = settings.read_locations(parser, config_path)
    manifests = settings.read_manifest_location(parser, config_path)
    r = ConfigReader(parser, config_path.name)
    # as load_config does: COPY would load a jsonpaths file under LOG_DATA or SONG_DATA as data
    check_jsonpaths_outside_data(r, *(location.uri for location in locations))
    s3_region = settings.read_s3_region(parser, config_path)
    if spec.open_to_anywhere and not options.allow_anywhere:
        raise ConfigError(
            f"{config_path.name}: [CLUSTER] ALLOWED_CIDR = {spec.allowed_cidr} opens port {spec.db_port} to the whole "
            "internet - set your own address as a /32 (e.g. 203.0.113.7/32), or pass --allow-anywhere"
        )
    uploads = _plan_uploads(options.upload_dir, locations) if options.upload_dir else []
    load_env(config_path)
    env_password = os.environ.get(PASSWORD_ENV_VAR) or None
    password, managed_password = kind.master_password(env_password, logs_in_with_iam(r, env_password))
    if password:
        settings.check_password(password)
    if spec.open_to_anywhere:
        log.warning(
            "WARNING: --allow-anywhere: port %s of %s %s will accept connections from ANY address "
            "(%s); anyone on the internet can try passwords against it. Prefer your own address/32.",
            spec.db_port,
            kind.noun,
            names.identifier,
            spec.allowed_cidr,
        )
    c = Context(config_path, names, spec, options.wait_minutes, password, managed_password)
    return _Setup(
        c=c,
        kind=kind,
        locations=locations,
        manifests=manifests,
        s3_region=s3_region,
        uploads=uploads,
        current={key: parser.get(*key, fallback="").strip() for key in kind.config_keys},
        engine=parser.get("DWH", "ENGINE", fallback="").strip().lower(),
    )


def plan_setup(s: _Setup, warehouse: Warehouse, aws: Clients | None, ledger: Ledger) -> Plan:
    """Look at each resource in order and plan what differs; what exists goes into the ledger.

    aws None (a dry run without credentials): nothing is looked at, everything is planned.
    """
    plan = Plan()
    warehouse.describe(ledger)
    _plan_role(plan, aws.get("iam") if aws else None, s, ledger)
    _plan_security_group(plan, aws.get("ec2") if aws else None, s, ledger)
    if s.uploads:
        _plan_bucket_uploads(plan, aws.get("s3", s.s3_region) if aws else None, s, ledger)
    warehouse.plan_create(plan, s.c, ledger)
    _plan_write_back(plan, s, warehouse)
    plan.question = warehouse.question(s.c, [str(step) for step in plan.steps])
    return plan


def _plan_role(plan: Plan, iam, s: _Setup, ledger: Ledger) -> None:
    name, attached = s.names.role_name, s.c.attached
    role = roles.get_role(iam, name) if iam else None
    if role is None:

        def create() -> None:
            attached.role_arn = roles.create_role(iam, name, s.names.identifier)["Arn"]
            ledger.exists("role", f"IAM role {name}")

        plan.add("create", f"IAM role {name}, trusted by {roles.REDSHIFT}", create)
    elif not roles.trusts_redshift(role):
        raise AwsError(
            f"IAM role {name} exists but Redshift may not assume it - set another IAM_ROLE_NAME in [CLUSTER] "
            f"or let {roles.REDSHIFT} assume it"
        )
    else:
        log.info("IAM role %s: exists", name)
        attached.role_arn = role["Arn"]
        ledger.exists("role", f"IAM role {name}")
    wanted = roles.read_policy(s.locations, s.manifests)
    current = roles.current_policy(iam, name) if role is not None else None
    if current != wanted:
        verb = "give" if current is None else "update"
        plan.add(
            verb,
            f"IAM role {name} the policy {roles.POLICY_NAME}: list and read {_readable(s)}, nothing else",
            lambda: roles.put_policy(iam, name, wanted),
        )
    if role is not None:
        extra = roles.other_policies(iam, name)
        if extra:
            log.warning("IAM role %s also has %s - it may read more than [S3] names", name, ", ".join(extra))


def _readable(s: _Setup) -> str:
    """What the role may read, in words: the [S3] inputs, and the COPY manifests once MANIFEST_PREFIX is set."""
    readable = ", ".join(loc.uri for loc in s.locations)
    return f"{readable}, the COPY manifests under {s.manifests.uri}" if s.manifests else readable


def _plan_security_group(plan: Plan, ec2, s: _Setup, ledger: Ledger) -> None:
    name, spec, attached = s.names.security_group_name, s.c.spec, s.c.attached
    vpc = network.default_vpc(ec2, s.names.region) if ec2 else None
    group = network.find_group(ec2, name, vpc) if ec2 else None
    if group is None:

        def create() -> None:
            attached.group_id = network.create_group(ec2, name, vpc, s.names.identifier)["GroupId"]
            ledger.exists("group", f"security group {name} ({attached.group_id})")

        rules = ", with no inbound rule (CONNECTION = data-api)" if spec.data_api else ""
        plan.add("create", f"security group {name} in the default VPC {vpc or 'of ' + s.names.region}{rules}", create)
    elif not network.is_ours(group, s.names.identifier):
        raise AwsError(
            f"security group {name} in {vpc} was not made by setup_cluster.py (no {roles.TAG_KEY} tag) - "
            "delete or rename it, or change IDENTIFIER in [CLUSTER]"
        )
    else:
        log.info("security group %s: exists (%s)", name, group["GroupId"])
        attached.group_id = group["GroupId"]
        ledger.exists("group", f"security group {name} ({attached.group_id})")
    add, remove = network.ingress_changes(group or {}, spec.db_port, spec.allowed_cidr)
    if add:
        plan.add(
            "allow",
            f"tcp {spec.db_port} from {spec.allowed_cidr} in security group {name}",
            lambda: network.allow(ec2, attached.group_id, spec.db_port, spec.allowed_cidr, s.names.identifier),
        )
    for rule in remove:
        plan.add(
            "remove",
            f"rule '{network.describe_rule(rule)}' from security group {name}",
            lambda rule=rule: network.revoke(ec2, attached.group_id, [rule]),
        )


def _plan_uploads(upload_dir: Path, locations: tuple[S3Location, ...]) -> list[_Upload]:
    """What --upload-data DIR sends where; checked before any AWS call."""
    folder = Path(upload_dir)
    if not folder.is_dir():
        raise ConfigError(
            f"--upload-data {folder}: no such folder - give a folder with song_data/, log_data/ and log_json_path.json"
        )
    uploads = []
    by_key = {loc.key: loc for loc in locations}
    for key, name in (("SONG_DATA", "song_data"), ("LOG_DATA", "log_data")):
        source = folder / name
        found = sorted(p for p in source.rglob("*.json") if p.is_file()) if source.is_dir() else []
        if not found:
            raise ConfigError(
                f"--upload-data {folder}: no .json files in {name}/ - give a folder with song_data/, "
                "log_data/ and log_json_path.json (like data/sample)"
            )
        loc = by_key[key]
        pairs = [(p, buckets.object_key(loc.prefix, p.relative_to(source).as_posix())) for p in found]
        uploads.append(_Upload(loc, source, pairs))
    jsonpaths = folder / "log_json_path.json"
    if not jsonpaths.is_file():
        raise ConfigError(f"--upload-data {folder}: no log_json_path.json - add the jsonpaths file for staging_events")
    loc = by_key["LOG_JSONPATH"]
    if not loc.prefix or loc.prefix.endswith("/"):
        raise ConfigError(
            f"[S3] LOG_JSONPATH = {loc.uri} names no file - give the full s3:// path of the jsonpaths file"
        )
    uploads.append(_Upload(loc, jsonpaths, [(jsonpaths, loc.prefix)]))
    return uploads


def _plan_bucket_uploads(plan: Plan, s3, s: _Setup, ledger: Ledger) -> None:
    present = {}
    for bucket in sorted({u.location.bucket for u in s.uploads}):
        present[bucket] = buckets.bucket_exists(s3, bucket) if s3 else False
        if present[bucket]:
            log.info("bucket %s: exists", bucket)
            ledger.exists(f"bucket {bucket}", f"bucket {bucket}")
            continue

        def create(bucket=bucket) -> None:
            buckets.create_bucket(s3, bucket, s.s3_region, s.names.identifier)
            ledger.exists(f"bucket {bucket}", f"bucket {bucket}")

        plan.add("create", f"private bucket {bucket} in {s.s3_region}", create)
    for item in s.uploads:
        bucket = item.location.bucket
        needed = buckets.uploads_needed(s3, bucket, item.location.prefix, item.files) if present[bucket] else item.files
        if not needed:
            log.info("%s: all %d file(s) already in %s", item.source, len(item.files), item.location.uri)
            continue
        size = sum(path.stat().st_size for path, _ in needed)
        plan.add(
            "upload",
            f"{len(needed):,} file(s) ({size:,} bytes) from {item.source} to {item.location.uri}",
            lambda needed=needed, bucket=bucket: buckets.upload(s3, needed, bucket),
        )


def _plan_write_back(plan: Plan, s: _Setup, warehouse: Warehouse) -> None:
    """HOST and ARN (and WORKGROUP) into dwh.cfg, when they differ or are not known yet."""
    path = s.c.config_path
    if s.current == warehouse.config_values(s.c):
        return

    def write() -> Already | None:
        if not files.set_config_values(path, warehouse.config_values(s.c)):
            return Already(f"{warehouse.written} in {path}")
        log.info("wrote %s into %s", warehouse.written, path)
        return None

    plan.add("write", f"{warehouse.written} into {path}", write, doing="")


def _report_rest(s: _Setup, warehouse: Warehouse, ledger: Ledger) -> None:
    names, spec, name, attached = s.names, s.c.spec, s.c.config_path.name, s.c.attached
    print(f"IAM role {names.role_name} ({attached.role_arn}) may read only {_readable(s)}")
    group = f"security group {names.security_group_name}, {attached.group_id}"
    if spec.data_api:
        print(f"no port is open: CONNECTION = data-api reaches it through the Redshift Data API ({group}: no inbound "
              "rule; ALLOWED_CIDR is not used)")
    else:
        print(f"port {spec.db_port} is open to {spec.allowed_cidr} only ({group})")
    if ledger.changes:
        print(f"done: {ledger.changes} change(s); {name} has {warehouse.written}")
    else:
        print(f"nothing to change: everything already exists and {name} has {warehouse.written}")
    first = []
    if s.engine != "redshift":
        first.append(f"set [DWH] ENGINE = redshift in {name}")
    if s.manifests is None:
        # etl.py on Redshift refuses to run without it; the role can read the manifests only once setup knows where
        first.append(
            f"set [S3] MANIFEST_PREFIX in {name} (where etl.py writes its COPY manifests) and run setup_cluster.py "
            "again so the role may read them"
        )
    if first:
        print(f"{'; '.join(first)}, then: python create_tables.py && python etl.py")
    else:
        print("next: python create_tables.py && python etl.py")
