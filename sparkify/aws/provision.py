"""setup_cluster.py and clean_redshift.py: the steps, in order, re-runnable.

Setup: IAM role -> security group -> (bucket + upload) -> cluster -> wait ->
HOST/ARN into dwh.cfg. Each step looks first and acts only on a difference,
so a second run changes nothing. Teardown goes the other way and counts
anything already gone as done. Whatever fails, the one-line error lists what
exists at that moment.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from sparkify.aws import cluster as clusters
from sparkify.aws import files, iam as roles, network, s3 as buckets, settings
from sparkify.aws.faults import AwsError, Clients
from sparkify.aws.cluster import DEFAULT_WAIT_MINUTES
from sparkify.aws.settings import ClusterSpec, Names, S3Location
from sparkify.config import PASSWORD_ENV_VAR, env_file, load_env, read_file
from sparkify.errors import ConfigError, Declined, SparkifyError

log = logging.getLogger(__name__)

class _Ledger:
    """What a run did, would do (dry run), and what exists now (for error messages)."""

    def __init__(self, dry_run: bool) -> None:
        self.dry_run = dry_run
        self.actions: list[str] = []
        self.existing: dict[str, str] = {}

    def act(self, description: str) -> bool:
        """Record an action; True when it should be carried out now (not a dry run)."""
        self.actions.append(description)
        if self.dry_run:
            print(f"would {description}")
            return False
        log.info("%s ...", description[0].upper() + description[1:])
        return True

    def exists(self, key: str, description: str) -> None:
        self.existing[key] = description

    def gone(self, key: str) -> None:
        self.existing.pop(key, None)

    def listing(self) -> str:
        return ", ".join(self.existing.values())


# --------------------------------------------------------------------------- setup


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


def setup(config_path: Path, options: SetupOptions, confirm: Callable[[str], bool]) -> int:
    """confirm(question) -> True to go on: the script asks (or --yes answers for it)."""
    parser = read_file(config_path)
    names = settings.read_names(parser, config_path)
    spec = settings.read_spec(parser, config_path)
    locations = settings.read_locations(parser, config_path)
    s3_region = settings.read_s3_region(parser, config_path)
    if spec.open_to_anywhere and not options.allow_anywhere:
        raise ConfigError(
            f"{config_path.name}: [CLUSTER] ALLOWED_CIDR = {spec.allowed_cidr} opens port {spec.db_port} to the whole "
            "internet - set your own address as a /32 (e.g. 203.0.113.7/32), or pass --allow-anywhere"
        )
    uploads = _plan_uploads(options.upload_dir, locations) if options.upload_dir else []
    load_env(config_path)
    password = os.environ.get(PASSWORD_ENV_VAR) or None
    if password:
        settings.check_password(password)
    if spec.open_to_anywhere:
        log.warning(
            "WARNING: --allow-anywhere: port %s of cluster %s will accept connections from ANY address "
            "(%s); anyone on the internet can try passwords against it. Prefer your own address/32.",
            spec.db_port,
            names.identifier,
            spec.allowed_cidr,
        )
    ledger = _Ledger(options.dry_run)
    try:
        return _setup(config_path, parser, names, spec, locations, s3_region, uploads, password, options, ledger, confirm)
    except Declined:
        raise
    except SparkifyError as exc:
        if not ledger.existing:
            raise
        raise type(exc)(
            f"{exc}; exists now: {ledger.listing()} - fix the cause and re-run setup_cluster.py, "
            "or remove them with clean_redshift.py"
        ) from None


def _setup(config_path, parser, names: Names, spec: ClusterSpec, locations, s3_region, uploads, password, options, ledger, confirm):
    aws = Clients(names.region)
    iam, ec2, redshift = aws.get("iam"), aws.get("ec2"), aws.get("redshift")
    ident = names.identifier

    # The cluster decides whether to ask: creating one is what costs money.
    cluster = clusters.describe(redshift, ident)
    if cluster is not None:
        status = cluster.get("ClusterStatus")
        ledger.exists("cluster", f"cluster {ident} ({status})")
        if status == "deleting":
            raise AwsError(f"cluster {ident} is being deleted - wait until that finishes, then re-run setup_cluster.py")
        if status in ("paused", "pausing"):
            raise AwsError(
                f"cluster {ident} is paused - resume it (aws redshift resume-cluster --cluster-identifier {ident}) "
                "and re-run setup_cluster.py"
            )
        log.info("cluster %s: exists (%s)", ident, status)
    elif not options.dry_run:
        question = (
            f"Create Redshift cluster {ident}: {spec.describe(names.region)}, encrypted, port {spec.db_port} "
            f"open to {spec.allowed_cidr}? It is billed by the hour until clean_redshift.py deletes it."
        )
        if not confirm(question):
            raise Declined("not confirmed - nothing was created (answer yes, or pass --yes)")

    role_arn = _ensure_role(iam, names, locations, ledger)
    group_id = _ensure_security_group(ec2, names, spec, ledger)
    if uploads:
        _ensure_uploads(aws.get("s3", s3_region), uploads, s3_region, ident, ledger)

    if cluster is None:
        if password is None:
            env_path = env_file(config_path)
            if ledger.act(f"generate a master password and save it to {env_path} as {PASSWORD_ENV_VAR}"):
                password = settings.generate_password()
                files.save_password(env_path, password)
                log.info("saved a new master password to %s (mode 0600); it is not shown here", env_path)
        if ledger.act(
            f"create cluster {ident}: {spec.describe(names.region)}, encrypted, "
            f"role {names.role_name}, security group {names.security_group_name}"
        ):
            cluster = clusters.create(redshift, ident, spec, role_arn, group_id, password)
            ledger.exists("cluster", f"cluster {ident} ({cluster.get('ClusterStatus', 'creating')})")
            cluster = clusters.wait_until_available(redshift, ident, options.wait_minutes)
        else:
            print(f"would wait up to {options.wait_minutes:g} min for cluster {ident} to be available")
    else:
        for difference in clusters.drift(cluster, spec, role_arn, group_id):
            log.warning(
                "cluster %s exists but %s - left as it is (run clean_redshift.py, then setup_cluster.py, to rebuild it)",
                ident,
                difference,
            )
        if cluster.get("ClusterStatus") != "available" or not cluster.get("Endpoint"):
            if options.dry_run:
                print(f"would wait up to {options.wait_minutes:g} min for cluster {ident} to be available")
            else:
                cluster = clusters.wait_until_available(redshift, ident, options.wait_minutes)
    if cluster is not None and not options.dry_run:
        ledger.exists("cluster", f"cluster {ident} (available)")

    host = ((cluster or {}).get("Endpoint") or {}).get("Address")
    values = {("CLUSTER", "HOST"): host, ("IAM_ROLE", "ARN"): role_arn}
    current = {key: parser.get(*key, fallback="").strip() for key in values}
    if options.dry_run:
        if current != values:
            ledger.act(f"write HOST and ARN into {config_path}")
        return _dry_run_summary(ledger)
    if files.set_config_values(config_path, values):
        ledger.actions.append(f"write HOST and ARN into {config_path}")
        log.info("wrote [CLUSTER] HOST and [IAM_ROLE] ARN into %s", config_path)

    port = cluster["Endpoint"].get("Port", spec.db_port)
    shape = f"{cluster.get('NumberOfNodes')} x {cluster.get('NodeType')} in {names.region}"
    encrypted = "encrypted" if cluster.get("Encrypted") else "NOT encrypted"
    print(f"cluster {ident} is available at {host}:{port} - {shape}, {encrypted}")
    print(f"IAM role {names.role_name} ({role_arn}) may read only {', '.join(loc.uri for loc in locations)}")
    print(f"port {spec.db_port} is open to {spec.allowed_cidr} only (security group {names.security_group_name}, {group_id})")
    if ledger.actions:
        print(f"done: {len(ledger.actions)} change(s); {config_path.name} has HOST and ARN")
    else:
        print(f"nothing to change: everything already exists and {config_path.name} has HOST and ARN")
    engine = parser.get("DWH", "ENGINE", fallback="").strip().lower()
    if engine != "redshift":
        print(f"set [DWH] ENGINE = redshift in {config_path.name}, then: python create_tables.py && python etl.py")
    else:
        print("next: python create_tables.py && python etl.py")
    return 0


def _dry_run_summary(ledger: _Ledger) -> int:
    if ledger.actions:
        print(f"dry run: {len(ledger.actions)} action(s) above would be taken; nothing was changed")
    else:
        print("dry run: nothing to do - everything already exists as dwh.cfg describes")
    return 0


def _ensure_role(iam, names: Names, locations, ledger: _Ledger) -> str | None:
    name = names.role_name
    role = roles.get_role(iam, name)
    if role is None:
        if ledger.act(f"create IAM role {name}, trusted by {roles.REDSHIFT}"):
            role = roles.create_role(iam, name, names.identifier)
    elif not roles.trusts_redshift(role):
        raise AwsError(
            f"IAM role {name} exists but Redshift may not assume it - set another IAM_ROLE_NAME in [CLUSTER] "
            f"or let {roles.REDSHIFT} assume it"
        )
    else:
        log.info("IAM role %s: exists", name)
    if role is not None:
        ledger.exists("role", f"IAM role {name}")
    wanted = roles.read_policy(locations)
    current = roles.current_policy(iam, name) if role is not None else None
    if current != wanted:
        verb = "give" if current is None else "update"
        readable = ", ".join(loc.uri for loc in locations)
        if ledger.act(f"{verb} IAM role {name} the policy {roles.POLICY_NAME}: list and read {readable}, nothing else"):
            roles.put_policy(iam, name, wanted)
    if role is not None:
        extra = roles.other_policies(iam, name)
        if extra:
            log.warning("IAM role %s also has %s - it may read more than [S3] names", name, ", ".join(extra))
    return role["Arn"] if role is not None else None


def _ensure_security_group(ec2, names: Names, spec: ClusterSpec, ledger: _Ledger) -> str | None:
    name = names.security_group_name
    vpc = network.default_vpc(ec2, names.region)
    group = network.find_group(ec2, name, vpc)
    if group is None:
        if ledger.act(f"create security group {name} in the default VPC {vpc}"):
            group = network.create_group(ec2, name, vpc, names.identifier)
    elif not network.is_ours(group, names.identifier):
        raise AwsError(
            f"security group {name} in {vpc} was not made by setup_cluster.py (no {roles.TAG_KEY} tag) - "
            "delete or rename it, or change IDENTIFIER in [CLUSTER]"
        )
    else:
        log.info("security group %s: exists (%s)", name, group["GroupId"])
    group_id = group["GroupId"] if group else None
    if group_id:
        ledger.exists("group", f"security group {name} ({group_id})")
    add, remove = network.ingress_changes(group or {}, spec.db_port, spec.allowed_cidr)
    if add and ledger.act(f"allow tcp {spec.db_port} from {spec.allowed_cidr} in security group {name}"):
        network.allow(ec2, group_id, spec.db_port, spec.allowed_cidr, names.identifier)
    for rule in remove:
        if ledger.act(f"remove rule '{network.describe_rule(rule)}' from security group {name}"):
            network.revoke(ec2, group_id, [rule])
    return group_id


def _plan_uploads(upload_dir: Path, locations: tuple[S3Location, ...]) -> list[_Upload]:
    """What --upload-data DIR sends where; checked before any AWS call."""
    folder = Path(upload_dir)
    if not folder.is_dir():
        raise ConfigError(f"--upload-data {folder}: no such folder - give a folder with song_data/, log_data/ and log_json_path.json")
    plan = []
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
        plan.append(_Upload(loc, source, pairs))
    jsonpaths = folder / "log_json_path.json"
    if not jsonpaths.is_file():
        raise ConfigError(f"--upload-data {folder}: no log_json_path.json - add the jsonpaths file for staging_events")
    loc = by_key["LOG_JSONPATH"]
    if not loc.prefix or loc.prefix.endswith("/"):
        raise ConfigError(f"[S3] LOG_JSONPATH = {loc.uri} names no file - give the full s3:// path of the jsonpaths file")
    plan.append(_Upload(loc, jsonpaths, [(jsonpaths, loc.prefix)]))
    return plan


def _ensure_uploads(s3, uploads: list[_Upload], region: str, identifier: str, ledger: _Ledger) -> None:
    present = {}
    for bucket in sorted({u.location.bucket for u in uploads}):
        present[bucket] = buckets.bucket_exists(s3, bucket)
        if not present[bucket]:
            if ledger.act(f"create private bucket {bucket} in {region}"):
                buckets.create_bucket(s3, bucket, region, identifier)
                present[bucket] = True
        else:
            log.info("bucket %s: exists", bucket)
        if present[bucket]:
            ledger.exists(f"bucket {bucket}", f"bucket {bucket}")
    for item in uploads:
        bucket = item.location.bucket
        needed = buckets.uploads_needed(s3, bucket, item.location.prefix, item.files) if present[bucket] else item.files
        if not needed:
            log.info("%s: all %d file(s) already in %s", item.source, len(item.files), item.location.uri)
            continue
        size = sum(path.stat().st_size for path, _ in needed)
        if ledger.act(f"upload {len(needed):,} file(s) ({size:,} bytes) from {item.source} to {item.location.uri}"):
            buckets.upload(s3, needed, bucket)


# ------------------------------------------------------------------------ teardown


@dataclass(frozen=True)
class TeardownOptions:
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
    load_env(config_path)
    ledger = _Ledger(dry_run=False)
    try:
        return _teardown(names, bucket_names, settings.read_s3_region(parser, config_path), options, ledger, confirm)
    except Declined:
        raise
    except SparkifyError as exc:
        if not ledger.existing:
            raise
        raise type(exc)(f"{exc}; still exists: {ledger.listing()} - re-run clean_redshift.py to finish") from None


def _teardown(names: Names, bucket_names: list[str], s3_region: str, options: TeardownOptions, ledger: _Ledger, confirm) -> int:
    aws = Clients(names.region)
    iam, ec2, redshift = aws.get("iam"), aws.get("ec2"), aws.get("redshift")
    s3 = aws.get("s3", s3_region) if bucket_names else None
    ident = names.identifier

    # Look first: the question names what exists, and what is gone needs no question.
    cluster = clusters.describe(redshift, ident)
    groups = network.tagged_groups(ec2, ident)
    role = roles.get_role(iam, names.role_name)
    role_is_ours = role is not None and {"Key": roles.TAG_KEY, "Value": ident} in role.get("Tags", [])
    role_policy = roles.current_policy(iam, names.role_name) if role is not None and not role_is_ours else None
    counts = {bucket: buckets.count_objects(s3, bucket) for bucket in bucket_names}

    doomed, gone = [], []
    if cluster is not None:
        shape = f"{cluster.get('NumberOfNodes')} x {cluster.get('NodeType')}, {cluster.get('ClusterStatus')}"
        keep = (
            f"after a final snapshot {options.final_snapshot}"
            if options.final_snapshot
            else "with no final snapshot (pass --final-snapshot NAME to keep one)"
        )
        doomed.append(f"Redshift cluster {ident} ({shape}) and all data in it, {keep}")
        ledger.exists("cluster", f"cluster {ident} ({cluster.get('ClusterStatus')})")
    else:
        gone.append(f"cluster {ident}")
    for group in groups:
        doomed.append(f"security group {group['GroupName']} ({group['GroupId']})")
        ledger.exists(group["GroupId"], f"security group {group['GroupName']} ({group['GroupId']})")
    if not groups:
        gone.append(f"security group {names.security_group_name}")
    if role_is_ours:
        doomed.append(f"IAM role {names.role_name} and its policies")
        ledger.exists("role", f"IAM role {names.role_name}")
    elif role_policy is not None:
        doomed.append(f"the {roles.POLICY_NAME} policy of IAM role {names.role_name} (the role was not made here, so it stays)")
        ledger.exists("role", f"the {roles.POLICY_NAME} policy of IAM role {names.role_name}")
    elif role is not None:
        gone.append(f"policy {roles.POLICY_NAME} of IAM role {names.role_name} (the role was not made here)")
    else:
        gone.append(f"IAM role {names.role_name}")
    for bucket, count in counts.items():
        if count is None:
            gone.append(f"bucket {bucket}")
        else:
            doomed.append(f"bucket {bucket} and its {count:,} object(s)")
            ledger.exists(f"bucket {bucket}", f"bucket {bucket}")

    if not doomed:
        print(f"nothing to delete: {', '.join(gone)} already gone")
        return 0
    question = f"This deletes, in {names.region}:\n" + "".join(f"  - {item}\n" for item in doomed).rstrip("\n")
    if not confirm(question):
        raise Declined("not confirmed - nothing was deleted (answer yes, or pass --yes)")

    done = []
    if cluster is not None:
        already_deleting = cluster.get("ClusterStatus") == "deleting"
        if not already_deleting:
            log.info("deleting cluster %s ...", ident)
            if not clusters.delete(redshift, ident, options.final_snapshot):
                gone.append(f"cluster {ident}")
                ledger.gone("cluster")
                cluster = None
            else:
                ledger.exists("cluster", f"cluster {ident} (deleting)")
        if cluster is not None:
            clusters.wait_until_deleted(redshift, ident, options.wait_minutes)
            ledger.gone("cluster")
            if already_deleting:
                kept = "its deletion was already under way"
            elif options.final_snapshot:
                kept = f"final snapshot {options.final_snapshot} kept"
            else:
                kept = "no final snapshot"
            done.append(f"cluster {ident} ({kept})")
    for group in groups:
        label = f"security group {group['GroupName']} ({group['GroupId']})"
        log.info("deleting %s ...", label)
        if network.delete_group(ec2, group["GroupId"], group["GroupName"]):
            done.append(label)
        else:
            gone.append(label)
        ledger.gone(group["GroupId"])
    if role_is_ours:
        log.info("deleting IAM role %s and its policies ...", names.role_name)
        policies = roles.delete_role(iam, names.role_name)
        if policies is None:
            gone.append(f"IAM role {names.role_name}")
        else:
            done.append(f"IAM role {names.role_name} and {policies} polic{'y' if policies == 1 else 'ies'}")
        ledger.gone("role")
    elif role_policy is not None:
        log.info("removing policy %s from IAM role %s ...", roles.POLICY_NAME, names.role_name)
        roles.delete_policy(iam, names.role_name)
        done.append(f"policy {roles.POLICY_NAME} of IAM role {names.role_name} (role kept: not made by setup_cluster.py)")
        ledger.gone("role")
    for bucket, count in counts.items():
        if count is None:
            continue
        log.info("emptying and deleting bucket %s ...", bucket)
        deleted = buckets.empty_and_delete(s3, bucket)
        if deleted is None:
            gone.append(f"bucket {bucket}")
        else:
            done.append(f"bucket {bucket} ({deleted:,} object(s))")
        ledger.gone(f"bucket {bucket}")

    for item in done:
        print(f"deleted {item}")
    if gone:
        print(f"already gone: {', '.join(gone)}")
    print(f"done: nothing of cluster {ident} is left in {names.region}")
    return 0
