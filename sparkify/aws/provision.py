"""setup_cluster.py: inventory -> plan -> (dry run | confirm -> apply) -> report.

Setup brings AWS to what dwh.cfg describes: IAM role -> security group ->
(bucket + upload) -> cluster -> wait -> HOST/ARN into dwh.cfg; with
CLUSTER_TYPE = serverless, namespace -> wait -> workgroup -> wait instead of
the cluster, and HOST/WORKGROUP/ARN. The inventory
looks at each in that order and plans only the differences, so a second run
plans nothing. With [DWH] CONNECTION = data-api the warehouse is created
without a public address and the security group without any inbound rule. Whatever fails, the one-line error lists what exists at that
moment, and the steps done before it are printed.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from sparkify.aws import cluster as clusters
from sparkify.aws import files, iam as roles, network, s3 as buckets, serverless, settings
from sparkify.aws.cluster import DEFAULT_WAIT_MINUTES
from sparkify.aws.faults import AwsError, Clients
from sparkify.aws.plan import Already, Ledger, Plan, confirm_or_decline
from sparkify.aws.settings import ClusterSpec, Names, S3Location
from sparkify.config import ConfigReader, check_jsonpaths_outside_data, logs_in_with_iam, read_file
from sparkify.secret_files import PASSWORD_ENV_VAR, env_file, load_env
from sparkify.errors import ConfigError

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
    """What setup reads from dwh.cfg, and what its steps find or make (ids the later steps need)."""

    config_path: Path
    names: Names
    spec: ClusterSpec
    locations: tuple[S3Location, ...]
    manifests: S3Location | None  # [S3] MANIFEST_PREFIX: the role reads the COPY manifests there
    s3_region: str
    uploads: list[_Upload]
    password: str | None
    # The master password is kept by AWS Secrets Manager, never on this machine: a namespace's always; a new
    # cluster's with IAM logins (ManageMasterPassword); an existing cluster's when AWS names its secret.
    managed_password: bool
    current: dict[tuple[str, str], str]  # HOST, ARN (and WORKGROUP) as dwh.cfg has them now
    engine: str
    wait_minutes: float
    role_arn: str | None = None
    group_id: str | None = None
    cluster: dict | None = None
    namespace: dict | None = None  # serverless
    workgroup: dict | None = None  # serverless

    @property
    def written(self) -> str:
        """The keys setup writes into dwh.cfg, for messages."""
        return "HOST, WORKGROUP and ARN" if self.spec.serverless else "HOST and ARN"


def setup(config_path: Path, options: SetupOptions, confirm: Callable[[str], bool]) -> int:
    """confirm(question) -> True to go on: the script asks (or --yes answers for it)."""
    s = _read(config_path, options)
    aws = Clients(s.names.region)
    ledger = Ledger()
    with ledger.reporting(
        "exists now", "fix the cause and re-run setup_cluster.py, or remove them with clean_redshift.py"
    ):
        plan = plan_setup(s, aws, ledger)
        if options.dry_run:
            plan.print_dry_run("dry run: nothing to do - everything already exists as dwh.cfg describes")
            return 0
        confirm_or_decline(plan, confirm, "not confirmed - nothing was created (answer yes, or pass --yes)")
        ledger.apply(plan)
    _report(s, ledger)
    return 0


def _read(config_path: Path, options: SetupOptions) -> _Setup:
    """Everything from dwh.cfg, .env and --upload-data, checked before any AWS call."""
    parser = read_file(config_path)
    names = settings.read_names(parser, config_path)
    spec = settings.read_spec(parser, config_path)
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
    # A serverless namespace's admin password is made and kept by AWS Secrets Manager: none is read or written here.
    password = None if spec.serverless else os.environ.get(PASSWORD_ENV_VAR) or None
    if password:
        settings.check_password(password)
    # AUTH iam (set, or the default without DWH_DB_PASSWORD) and no password: nobody needs it, so AWS keeps it.
    managed_password = spec.serverless or (logs_in_with_iam(r, password) and password is None)
    if spec.open_to_anywhere:
        log.warning(
            "WARNING: --allow-anywhere: port %s of %s %s will accept connections from ANY address "
            "(%s); anyone on the internet can try passwords against it. Prefer your own address/32.",
            spec.db_port,
            "workgroup" if spec.serverless else "cluster",
            names.identifier,
            spec.allowed_cidr,
        )
    return _Setup(
        config_path=config_path,
        names=names,
        spec=spec,
        locations=locations,
        manifests=manifests,
        s3_region=s3_region,
        uploads=uploads,
        password=password,
        managed_password=managed_password,
        current={key: parser.get(*key, fallback="").strip() for key in _written_keys(spec)},
        engine=parser.get("DWH", "ENGINE", fallback="").strip().lower(),
        wait_minutes=options.wait_minutes,
    )


def _written_keys(spec: ClusterSpec) -> tuple[tuple[str, str], ...]:
    if spec.serverless:
        return (("CLUSTER", "HOST"), ("CLUSTER", "WORKGROUP"), ("IAM_ROLE", "ARN"))
    return (("CLUSTER", "HOST"), ("IAM_ROLE", "ARN"))


def plan_setup(s: _Setup, aws: Clients, ledger: Ledger) -> Plan:
    """Look at each resource in order and plan what differs; what exists goes into the ledger."""
    plan = Plan()
    if s.spec.serverless:
        warehouse = aws.get("redshift-serverless")
        _look_at_serverless(warehouse, s, ledger)
    else:
        warehouse = aws.get("redshift")
        s.cluster = _look_at_cluster(warehouse, s.names.identifier, ledger)
    _plan_role(plan, aws.get("iam"), s, ledger)
    _plan_security_group(plan, aws.get("ec2"), s, ledger)
    if s.uploads:
        _plan_bucket_uploads(plan, aws.get("s3", s.s3_region), s, ledger)
    if s.spec.serverless:
        _plan_serverless(plan, warehouse, s, ledger)
    else:
        _plan_cluster(plan, warehouse, s, ledger)
    _plan_write_back(plan, s)
    if s.spec.serverless:
        if s.namespace is None or s.workgroup is None:
            # Only the workgroup's compute costs money (per RPU-second while it works); storage is billed too.
            access = "publicly accessible" if s.spec.publicly_accessible else "private (no public address)"
            plan.question = (
                f"Create Redshift Serverless workgroup {s.names.workgroup_name} (namespace {s.names.namespace_name}): "
                f"{s.spec.describe(s.names.region)}, {access}, {_port_words(s.spec)}? "
                "It is billed per RPU-second while it runs queries, and for storage, until clean_redshift.py "
                "deletes it.\nThe plan:\n" + "\n".join(f"  - {step}" for step in plan.steps)
            )
    elif s.cluster is None:
        # Creating a cluster is what costs money: only then is there a question, and it lists the whole plan.
        plan.question = (
            f"Create Redshift cluster {s.names.identifier}: {s.spec.describe(s.names.region)}, encrypted, "
            f"{'private (no public address), ' if s.spec.data_api else ''}{_port_words(s.spec)}? "
            "It is billed by the hour until clean_redshift.py "
            "deletes it.\nThe plan:\n" + "\n".join(f"  - {step}" for step in plan.steps)
        )
    return plan


def _port_words(spec: ClusterSpec) -> str:
    """For the question: which port is opened to whom, or that none is."""
    if spec.data_api:
        return "no port open (CONNECTION = data-api)"
    return f"port {spec.db_port} open to {spec.allowed_cidr}"


def _warn_if_public(public: bool, what: str, make_private: str, spec: ClusterSpec) -> None:
    """CONNECTION = data-api and a warehouse that already exists with a public address: said, not changed."""
    if spec.data_api and public:
        log.warning(
            "WARNING: %s is publicly accessible, but CONNECTION = data-api needs no public address - left as it is; "
            "make it private with `%s`",
            what,
            make_private,
        )


def _look_at_cluster(redshift, ident: str, ledger: Ledger) -> dict | None:
    cluster = clusters.describe(redshift, ident)
    if cluster is None:
        return None
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
    return cluster


def _look_at_serverless(client, s: _Setup, ledger: Ledger) -> None:
    """The namespace and workgroup as they are now; a deletion under way or another namespace's workgroup stops setup."""
    ns_name, wg_name = s.names.namespace_name, s.names.workgroup_name
    s.namespace = serverless.get_namespace(client, ns_name)
    if s.namespace is not None:
        status = serverless.status_of(s.namespace)
        ledger.exists("namespace", f"namespace {ns_name} ({status.lower()})")
        if status == "DELETING":
            raise AwsError(f"namespace {ns_name} is being deleted - wait until that finishes, then re-run setup_cluster.py")
        log.info("namespace %s: exists (%s)", ns_name, status.lower())
    s.workgroup = serverless.get_workgroup(client, wg_name)
    if s.workgroup is not None:
        status = serverless.status_of(s.workgroup)
        ledger.exists("workgroup", f"workgroup {wg_name} ({status.lower()})")
        if s.workgroup.get("namespaceName") != ns_name:
            raise AwsError(
                f"workgroup {wg_name} serves namespace {s.workgroup.get('namespaceName')}, not {ns_name} - "
                "delete it, or change IDENTIFIER in [CLUSTER]"
            )
        if status == "DELETING":
            raise AwsError(f"workgroup {wg_name} is being deleted - wait until that finishes, then re-run setup_cluster.py")
        log.info("workgroup %s: exists (%s)", wg_name, status.lower())


def _plan_role(plan: Plan, iam, s: _Setup, ledger: Ledger) -> None:
    name = s.names.role_name
    role = roles.get_role(iam, name)
    if role is None:

        def create() -> None:
            s.role_arn = roles.create_role(iam, name, s.names.identifier)["Arn"]
            ledger.exists("role", f"IAM role {name}")

        plan.add("create", f"IAM role {name}, trusted by {roles.REDSHIFT}", create)
    elif not roles.trusts_redshift(role):
        raise AwsError(
            f"IAM role {name} exists but Redshift may not assume it - set another IAM_ROLE_NAME in [CLUSTER] "
            f"or let {roles.REDSHIFT} assume it"
        )
    else:
        log.info("IAM role %s: exists", name)
        s.role_arn = role["Arn"]
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
    name, spec = s.names.security_group_name, s.spec
    vpc = network.default_vpc(ec2, s.names.region)
    group = network.find_group(ec2, name, vpc)
    if group is None:

        def create() -> None:
            s.group_id = network.create_group(ec2, name, vpc, s.names.identifier)["GroupId"]
            ledger.exists("group", f"security group {name} ({s.group_id})")

        rules = ", with no inbound rule (CONNECTION = data-api)" if spec.data_api else ""
        plan.add("create", f"security group {name} in the default VPC {vpc}{rules}", create)
    elif not network.is_ours(group, s.names.identifier):
        raise AwsError(
            f"security group {name} in {vpc} was not made by setup_cluster.py (no {roles.TAG_KEY} tag) - "
            "delete or rename it, or change IDENTIFIER in [CLUSTER]"
        )
    else:
        log.info("security group %s: exists (%s)", name, group["GroupId"])
        s.group_id = group["GroupId"]
        ledger.exists("group", f"security group {name} ({s.group_id})")
    add, remove = network.ingress_changes(group or {}, spec.db_port, spec.allowed_cidr)
    if add:
        plan.add(
            "allow",
            f"tcp {spec.db_port} from {spec.allowed_cidr} in security group {name}",
            lambda: network.allow(ec2, s.group_id, spec.db_port, spec.allowed_cidr, s.names.identifier),
        )
    for rule in remove:
        plan.add(
            "remove",
            f"rule '{network.describe_rule(rule)}' from security group {name}",
            lambda rule=rule: network.revoke(ec2, s.group_id, [rule]),
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
        present[bucket] = buckets.bucket_exists(s3, bucket)
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


def _plan_cluster(plan: Plan, redshift, s: _Setup, ledger: Ledger) -> None:
    ident, names = s.names.identifier, s.names
    if s.cluster is None:
        if s.password is None and not s.managed_password:  # AUTH = password and none set: one is made here
            env_path = env_file(s.config_path)

            def generate() -> None:
                s.password = settings.generate_password()
                files.save_password(env_path, s.password, f"beside {s.config_path.name}")
                log.info("saved a new master password to %s (mode 0600); it is not shown here", env_path)

            plan.add("generate", f"a master password and save it to {env_path} as {PASSWORD_ENV_VAR}", generate)

        def create() -> None:
            s.cluster = clusters.create(redshift, ident, s.spec, s.role_arn, s.group_id, s.password)
            ledger.exists("cluster", f"cluster {ident} ({s.cluster.get('ClusterStatus', 'creating')})")

        plan.add(
            "create",
            f"cluster {ident}: {s.spec.describe(names.region)}, encrypted, {'private, ' if s.spec.data_api else ''}"
            f"{clusters.KEPT_BY_AWS + ', ' if s.managed_password else ''}role {names.role_name}, "
            f"security group {names.security_group_name}",
            create,
        )
    else:
        s.managed_password = bool(s.cluster.get("MasterPasswordSecretArn"))  # as it is: setup never changes it
        _warn_if_public(
            bool(s.cluster.get("PubliclyAccessible")), f"cluster {ident}",
            f"aws redshift modify-cluster --cluster-identifier {ident} --no-publicly-accessible", s.spec,
        )
        # A role or group still to be made cannot be attached yet: "new" is in no cluster's list.
        for difference in clusters.drift(s.cluster, s.spec, s.role_arn or "new", s.group_id or "new"):
            log.warning(
                "cluster %s exists but %s - left as it is "
                "(run clean_redshift.py, then setup_cluster.py, to rebuild it)",
                ident,
                difference,
            )
        if s.cluster.get("ClusterStatus") == "available" and s.cluster.get("Endpoint"):
            return

    def wait() -> None:
        s.cluster = clusters.wait_until_available(redshift, ident, s.wait_minutes)
        ledger.exists("cluster", f"cluster {ident} (available)")

    plan.add("wait", f"up to {s.wait_minutes:g} min for cluster {ident} to be available", wait, change=False, doing="")


def _plan_serverless(plan: Plan, client, s: _Setup, ledger: Ledger) -> None:
    """Namespace -> wait -> workgroup -> wait, each only if needed; an existing one is never changed."""
    ns_name, wg_name, spec, minutes = s.names.namespace_name, s.names.workgroup_name, s.spec, s.wait_minutes
    timed_out = (
        "it exists; re-run setup_cluster.py to keep waiting (--wait-minutes N), or clean_redshift.py to delete it"
    )
    for difference in serverless.drift(s.namespace, s.workgroup, spec, s.role_arn):
        log.warning(
            "namespace %s / workgroup %s exist but %s - left as they are "
            "(run clean_redshift.py, then setup_cluster.py, to rebuild them)",
            ns_name,
            wg_name,
            difference,
        )
    if s.workgroup is not None:
        _warn_if_public(
            bool(s.workgroup.get("publiclyAccessible")), f"workgroup {wg_name}",
            f"aws redshift-serverless update-workgroup --workgroup-name {wg_name} --no-publicly-accessible", spec,
        )
    if s.namespace is None:

        def create_namespace() -> None:
            s.namespace = serverless.create_namespace(client, ns_name, spec, s.role_arn, s.names.identifier)
            ledger.exists("namespace", f"namespace {ns_name} ({serverless.status_of(s.namespace).lower()})")

        plan.add(
            "create",
            f"namespace {ns_name}: database {spec.db_name}, admin {spec.db_user} (password kept by AWS Secrets "
            f"Manager), default role {s.names.role_name}",
            create_namespace,
        )
    if serverless.status_of(s.namespace) != serverless.AVAILABLE:

        _plan_wait(plan, "namespace", ns_name, lambda: serverless.get_namespace(client, ns_name),
                   lambda found: setattr(s, "namespace", found), ledger, minutes, timed_out)
    if s.workgroup is None:

        def create_workgroup() -> None:
            s.workgroup = serverless.create_workgroup(client, wg_name, ns_name, spec, s.group_id, s.names.identifier)
            ledger.exists("workgroup", f"workgroup {wg_name} ({serverless.status_of(s.workgroup).lower()})")

        access = "publicly accessible" if spec.publicly_accessible else "private"
        plan.add(
            "create",
            f"workgroup {wg_name}: {spec.describe(s.names.region)}, {access}, port {spec.db_port}, "
            f"security group {s.names.security_group_name}",
            create_workgroup,
        )
    elif serverless.status_of(s.workgroup) == serverless.AVAILABLE and s.workgroup.get("endpoint"):
        return

    _plan_wait(plan, "workgroup", wg_name, lambda: serverless.get_workgroup(client, wg_name),
               lambda found: setattr(s, "workgroup", found), ledger, minutes, timed_out)


def _plan_wait(plan: Plan, kind: str, name: str, look, keep, ledger: Ledger, minutes: float, timed_out: str) -> None:
    """A step that waits until a serverless namespace or workgroup is available, and keeps what it then looks like."""

    def wait() -> None:
        keep(serverless.poll(look, f"{kind} {name}", serverless.AVAILABLE, minutes, timed_out=timed_out))
        ledger.exists(kind, f"{kind} {name} (available)")

    plan.add("wait", f"up to {minutes:g} min for {kind} {name} to be available", wait, change=False, doing="")


def _write_back_values(s: _Setup) -> dict[tuple[str, str], str | None]:
    """What dwh.cfg should say; None where it is not known yet (the cluster, workgroup or role is new)."""
    if s.spec.serverless:
        host = ((s.workgroup or {}).get("endpoint") or {}).get("address")
        return {("CLUSTER", "HOST"): host, ("CLUSTER", "WORKGROUP"): s.names.workgroup_name, ("IAM_ROLE", "ARN"): s.role_arn}
    host = ((s.cluster or {}).get("Endpoint") or {}).get("Address")
    return {("CLUSTER", "HOST"): host, ("IAM_ROLE", "ARN"): s.role_arn}


def _plan_write_back(plan: Plan, s: _Setup) -> None:
    """HOST and ARN (and WORKGROUP) into dwh.cfg, when they differ or are not known yet."""
    if s.current == _write_back_values(s):
        return

    def write() -> Already | None:
        if not files.set_config_values(s.config_path, _write_back_values(s)):
            return Already(f"{s.written} in {s.config_path}")
        log.info("wrote %s into %s", s.written, s.config_path)
        return None

    plan.add("write", f"{s.written} into {s.config_path}", write, doing="")


def _report(s: _Setup, ledger: Ledger) -> None:
    if s.spec.serverless:
        _report_serverless(s)
    else:
        _report_cluster(s)
    _report_rest(s, ledger)


def _report_serverless(s: _Setup) -> None:
    names, spec, endpoint = s.names, s.spec, s.workgroup["endpoint"]
    access = "publicly accessible" if s.workgroup.get("publiclyAccessible") else "private (no public address)"
    print(
        f"workgroup {names.workgroup_name} is available at {endpoint['address']}:{endpoint.get('port', spec.db_port)} "
        f"- base {s.workgroup.get('baseCapacity')} RPU in {names.region}, {access}"
    )
    secret = (s.namespace or {}).get("adminPasswordSecretArn") or "AWS Secrets Manager"
    print(
        f"namespace {names.namespace_name}: database {spec.db_name}, admin {spec.db_user}; "
        f"the admin password is kept in {secret}, not in .env"
    )


def _report_cluster(s: _Setup) -> None:
    names, spec, cluster, ident = s.names, s.spec, s.cluster, s.names.identifier
    host = cluster["Endpoint"]["Address"]
    port = cluster["Endpoint"].get("Port", spec.db_port)
    shape = f"{cluster.get('NumberOfNodes')} x {cluster.get('NodeType')} in {names.region}"
    encrypted = "encrypted" if cluster.get("Encrypted") else "NOT encrypted"
    private = "" if cluster.get("PubliclyAccessible", True) else ", private (no public address)"
    print(f"cluster {ident} is available at {host}:{port} - {shape}, {encrypted}{private}")
    secret = clusters.password_secret(cluster, s.managed_password)
    if secret:
        print(
            f"cluster {ident}: database {spec.db_name}, master user {spec.db_user}; "
            f"the master password is kept in {secret}, not in .env"
        )


def _report_rest(s: _Setup, ledger: Ledger) -> None:
    names, spec, name = s.names, s.spec, s.config_path.name
    print(f"IAM role {names.role_name} ({s.role_arn}) may read only {_readable(s)}")
    group = f"security group {names.security_group_name}, {s.group_id}"
    if spec.data_api:
        print(f"no port is open: CONNECTION = data-api reaches it through the Redshift Data API ({group}: no inbound "
              "rule; ALLOWED_CIDR is not used)")
    else:
        print(f"port {spec.db_port} is open to {spec.allowed_cidr} only ({group})")
    if ledger.changes:
        print(f"done: {ledger.changes} change(s); {name} has {s.written}")
    else:
        print(f"nothing to change: everything already exists and {name} has {s.written}")
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
