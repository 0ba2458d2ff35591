"""What setup_cluster.py and clean_redshift.py read from dwh.cfg, checked before any AWS call.

moto (and sometimes AWS itself, late and vaguely) accepts values a real
cluster would refuse, so the rules Redshift documents are checked here and
reported as one line naming the key and the fix.
"""

from __future__ import annotations

import configparser
import ipaddress
import re
import secrets
import string
from dataclasses import dataclass
from pathlib import Path

from sparkify.aws.s3 import split_s3_uri
from sparkify.config import DEFAULTS, ConfigReader, find_config
from sparkify.errors import ConfigError
from sparkify.secret_files import PASSWORD_ENV_VAR

# The node types a new cluster can have: RA3 only. DC2 (and the older DS2, DC1) can no longer be created;
# AWS points to RA3 or Redshift Serverless instead ("Amazon Redshift provisioned clusters", node types:
# https://docs.aws.amazon.com/redshift/latest/mgmt/working-with-clusters.html). ra3.large is the smallest.
NODE_TYPES = ("ra3.large", "ra3.xlplus", "ra3.4xlarge", "ra3.16xlarge")
CLUSTER_TYPES = ("single-node", "multi-node", "serverless")
# Redshift Serverless base capacity, in RPUs: 4, or 8 to 512 in steps of 8 ("Compute capacity for Amazon
# Redshift Serverless": https://docs.aws.amazon.com/redshift/latest/mgmt/serverless-capacity.html). 4 RPU is the
# cheapest and is meant for warehouses under 32 TB; 8 to 24 for under 128 TB. Some regions also take 512-1024 in
# steps of 32: not offered here.
BASE_RPU_SMALLEST = 4
BASE_RPU_MIN, BASE_RPU_MAX, BASE_RPU_STEP = 8, 512, 8
BASE_RPU_DEFAULT = 8  # what setup makes when BASE_RPU is not set (as before; 4 is there for the asking)
# RA3 clusters and Serverless workgroups accept only these port ranges.
RA3_PORTS = ((5431, 5455), (8191, 8215))
SERVERLESS_PORTS = RA3_PORTS
# Redshift's password rules: 8-64 printable ASCII characters, not these.
PASSWORD_FORBIDDEN = frozenset("'\"\\/@ ")
INPUT_KEYS = ("LOG_DATA", "SONG_DATA", "LOG_JSONPATH")
MANIFEST_KEY = "MANIFEST_PREFIX"  # where etl.py writes its COPY manifests (engine redshift)


@dataclass(frozen=True)
class S3Location:
    """One s3:// location from [S3]: the role may list and read it; --upload-data fills the inputs."""

    key: str  # LOG_DATA, SONG_DATA, LOG_JSONPATH or MANIFEST_PREFIX
    uri: str
    bucket: str
    prefix: str  # no leading slash; "" for the whole bucket


@dataclass(frozen=True)
class Names:
    """What both scripts need: which resources are the project's."""

    source: Path
    identifier: str
    region: str
    role_name: str

    @property
    def security_group_name(self) -> str:
        return f"{self.identifier}-sg"

    @property
    def workgroup_name(self) -> str:
        """CLUSTER_TYPE = serverless: the workgroup (the endpoint, compute) is named like a cluster."""
        return self.identifier

    @property
    def namespace_name(self) -> str:
        """CLUSTER_TYPE = serverless: the namespace (database, users, storage) the workgroup serves."""
        return f"{self.identifier}-ns"


@dataclass(frozen=True)
class ClusterSpec:
    """What setup_cluster.py creates."""

    cluster_type: str
    node_type: str
    num_nodes: int
    db_name: str
    db_user: str
    db_port: int
    allowed_cidr: str | None  # normalised, e.g. 203.0.113.7/32; None with CONNECTION = data-api (no port opened)
    base_rpu: int = BASE_RPU_DEFAULT  # serverless only
    # serverless: PUBLICLY_ACCESSIBLE; a cluster: yes with CONNECTION = direct (a laptop reaches it through
    # ALLOWED_CIDR), no with data-api. data-api is never publicly accessible.
    publicly_accessible: bool = False
    connection: str = "direct"  # [DWH] CONNECTION: data-api needs no public address and no open port

    @property
    def serverless(self) -> bool:
        return self.cluster_type == "serverless"

    @property
    def data_api(self) -> bool:
        return self.connection == "data-api"

    @property
    def open_to_anywhere(self) -> bool:
        return self.allowed_cidr is not None and ipaddress.ip_network(self.allowed_cidr).prefixlen == 0

    def describe(self, region: str) -> str:
        """E.g. "2 x ra3.large in us-west-2" (node count, node type, region) or "base 8 RPU in us-west-2"."""
        if self.serverless:
            return f"base {self.base_rpu} RPU in {region}"
        return f"{self.num_nodes} x {self.node_type} in {region}"


def config_file(explicit: str | None) -> Path:
    """The dwh.cfg to read and write back; unlike the pipeline, there is no built-in default."""
    path = find_config(explicit)
    if path is None:
        raise ConfigError(
            "no dwh.cfg found - copy dwh.cfg.example to dwh.cfg, fill in [CLUSTER] and [S3], or pass --config PATH"
        )
    return path


def read_names(parser: configparser.ConfigParser, path: Path) -> Names:
    r = ConfigReader(parser, path.name)
    identifier = r.required("CLUSTER", "IDENTIFIER")
    if not (re.fullmatch(r"[a-z][a-z0-9-]{0,62}", identifier) and "--" not in identifier and identifier[-1] != "-"):
        raise r.fail(
            "CLUSTER",
            "IDENTIFIER",
            identifier,
            "is not a valid cluster identifier - use 1-63 lowercase letters, digits or hyphens, "
            "starting with a letter, without '--' or a hyphen at the end",
        )
    region = r.region("CLUSTER", "REGION")
    role_name = r.required("CLUSTER", "IAM_ROLE_NAME")
    if not re.fullmatch(r"[\w+=,.@-]{1,64}", role_name):
        raise r.fail(
            "CLUSTER",
            "IAM_ROLE_NAME",
            role_name,
            "is not a valid IAM role name - use up to 64 letters, digits and +=,.@_-",
        )
    return Names(source=path, identifier=identifier, region=region, role_name=role_name)


def read_spec(parser: configparser.ConfigParser, path: Path) -> ClusterSpec:
    r = ConfigReader(parser, path.name)
    cluster_type = r.required("CLUSTER", "CLUSTER_TYPE")
    if cluster_type not in CLUSTER_TYPES:
        raise r.fail(
            "CLUSTER", "CLUSTER_TYPE", cluster_type, "is not a cluster type - use single-node, multi-node or serverless"
        )
    connection = r.connection()
    if cluster_type == "serverless":
        return _serverless_spec(r, connection)
    node_type = r.required("CLUSTER", "NODE_TYPE")
    if node_type not in NODE_TYPES:
        raise r.fail(
            "CLUSTER", "NODE_TYPE", node_type, f"is not a current node type - use one of {', '.join(NODE_TYPES)}"
        )
    num_nodes = r.whole_number("CLUSTER", "NUM_NODES")
    if cluster_type == "multi-node" and num_nodes < 2:
        raise r.fail(
            "CLUSTER",
            "NUM_NODES",
            str(num_nodes),
            "is too few for CLUSTER_TYPE = multi-node - use 2 or more, or CLUSTER_TYPE = single-node",
        )
    if cluster_type == "single-node" and num_nodes != 1:
        raise r.fail(
            "CLUSTER",
            "NUM_NODES",
            str(num_nodes),
            "does not fit CLUSTER_TYPE = single-node - use 1, or CLUSTER_TYPE = multi-node",
        )
    db_name, db_user = _database(r)
    db_port = r.whole_number("CLUSTER", "DB_PORT")
    if not any(low <= db_port <= high for low, high in RA3_PORTS):
        allowed = " or ".join(f"{low}-{high}" for low, high in RA3_PORTS)
        raise r.fail("CLUSTER", "DB_PORT", str(db_port), f"is not a port Redshift accepts for ra3 nodes - use {allowed}")
    return ClusterSpec(
        cluster_type=cluster_type,
        node_type=node_type,
        num_nodes=num_nodes,
        db_name=db_name,
        db_user=db_user,
        db_port=db_port,
        allowed_cidr=None if connection == "data-api" else _cidr(r),
        publicly_accessible=connection == "direct",
        connection=connection,
    )


def _serverless_spec(r: ConfigReader, connection: str) -> ClusterSpec:
    """CLUSTER_TYPE = serverless: BASE_RPU and PUBLICLY_ACCESSIBLE; NODE_TYPE and NUM_NODES are not read."""
    identifier = r.required("CLUSTER", "IDENTIFIER")
    if len(identifier) < 3 or len(identifier) > 61:
        # the workgroup is named IDENTIFIER and the namespace IDENTIFIER-ns: both must be 3-64 characters
        raise r.fail(
            "CLUSTER", "IDENTIFIER", identifier, "is too long or short for CLUSTER_TYPE = serverless - use 3-61 "
            "characters (the namespace is named IDENTIFIER-ns, and AWS allows 3-64)",
        )
    base_rpu = r.whole_number("CLUSTER", "BASE_RPU", str(BASE_RPU_DEFAULT))
    if not (base_rpu == BASE_RPU_SMALLEST or (BASE_RPU_MIN <= base_rpu <= BASE_RPU_MAX and base_rpu % BASE_RPU_STEP == 0)):
        raise r.fail(
            "CLUSTER", "BASE_RPU", str(base_rpu), f"is not a base capacity Redshift Serverless accepts - use "
            f"{BASE_RPU_SMALLEST}, or {BASE_RPU_MIN} to {BASE_RPU_MAX} in steps of {BASE_RPU_STEP} "
            f"({BASE_RPU_SMALLEST} is the cheapest)",
        )
    public = (r.get("CLUSTER", "PUBLICLY_ACCESSIBLE", "no") or "no").lower()
    if public not in ("yes", "no"):
        raise r.fail("CLUSTER", "PUBLICLY_ACCESSIBLE", public, "is not yes or no")
    if public == "yes" and connection == "data-api":
        raise r.fail(
            "CLUSTER", "PUBLICLY_ACCESSIBLE", public, "contradicts [DWH] CONNECTION = data-api, which needs no public "
            "address - set PUBLICLY_ACCESSIBLE = no, or CONNECTION = direct",
        )
    db_name, db_user = _database(r)
    db_port = r.whole_number("CLUSTER", "DB_PORT")
    if not any(low <= db_port <= high for low, high in SERVERLESS_PORTS):
        allowed = " or ".join(f"{low}-{high}" for low, high in SERVERLESS_PORTS)
        raise r.fail(
            "CLUSTER", "DB_PORT", str(db_port), f"is not a port Redshift Serverless accepts - use {allowed}"
        )
    return ClusterSpec(
        cluster_type="serverless",
        node_type="",
        num_nodes=0,
        db_name=db_name,
        db_user=db_user,
        db_port=db_port,
        allowed_cidr=None if connection == "data-api" else _cidr(r),
        base_rpu=base_rpu,
        publicly_accessible=public == "yes",
        connection=connection,
    )


def _database(r: ConfigReader) -> tuple[str, str]:
    """DB_NAME and DB_USER, checked against Redshift's naming rules."""
    db_name = r.required("CLUSTER", "DB_NAME")
    if not re.fullmatch(r"[a-z][a-z0-9_]{0,63}", db_name):
        raise r.fail(
            "CLUSTER",
            "DB_NAME",
            db_name,
            "is not a valid database name - use 1-64 lowercase letters, digits or underscores, starting with a letter",
        )
    db_user = r.required("CLUSTER", "DB_USER")
    if not re.fullmatch(r"[a-z][a-z0-9_+.@-]{0,127}", db_user) or db_user == "public":
        raise r.fail(
            "CLUSTER",
            "DB_USER",
            db_user,
            "is not a valid master user name - use 1-128 lowercase letters, digits or _+.@-, "
            "starting with a letter (not 'public')",
        )
    return db_name, db_user


def _cidr(r: ConfigReader) -> str:
    value = r.required("CLUSTER", "ALLOWED_CIDR")
    try:
        network = ipaddress.ip_network(value, strict=True)
    except ValueError as exc:
        if "host bits set" in str(exc):
            loose = ipaddress.ip_network(value, strict=False)
            address = value.split("/")[0]
            raise r.fail(
                "CLUSTER",
                "ALLOWED_CIDR",
                value,
                f"has host bits set - use {loose}, or {address}/32 for that one address",
            ) from None
        raise r.fail(
            "CLUSTER",
            "ALLOWED_CIDR",
            value,
            "is not an IPv4 address or CIDR block - use your address as a /32, e.g. 203.0.113.7/32",
        ) from None
    if network.version != 4:
        raise r.fail("CLUSTER", "ALLOWED_CIDR", value, "is IPv6 - use an IPv4 CIDR block, e.g. 203.0.113.7/32")
    return str(network)


def read_locations(parser: configparser.ConfigParser, path: Path) -> tuple[S3Location, ...]:
    """The s3:// inputs of [S3], in LOG_DATA, SONG_DATA, LOG_JSONPATH order."""
    r = ConfigReader(parser, path.name)
    return tuple(_location(r, key, r.required("S3", key)) for key in INPUT_KEYS)


def read_manifest_location(parser: configparser.ConfigParser, path: Path) -> S3Location | None:
    """[S3] MANIFEST_PREFIX, whose COPY manifests the role must read; None while it is not set.

    Optional here, although etl.py on Redshift requires it: the cluster may be
    set up before the pipeline is configured. Setting it later and re-running
    setup_cluster.py updates the role's policy.
    """
    r = ConfigReader(parser, path.name)
    uri = r.get("S3", MANIFEST_KEY)
    return None if uri is None else _location(r, MANIFEST_KEY, uri)


def _location(r: ConfigReader, key: str, uri: str) -> S3Location:
    try:
        bucket, prefix = split_s3_uri(uri)
    except ValueError as exc:
        raise r.fail("S3", key, uri, f"{exc} - the cluster reads from S3; use s3://bucket/prefix") from None
    if "*" in prefix or "?" in prefix:
        raise r.fail("S3", key, uri, "contains * or ? - use a plain prefix (IAM would read them as wildcards)")
    return S3Location(key=key, uri=uri, bucket=bucket, prefix=prefix)


def read_s3_region(parser: configparser.ConfigParser, path: Path) -> str:
    """The bucket's region: [S3] REGION, checked as load_config checks it, with the same default."""
    return ConfigReader(parser, path.name).region("S3", "REGION", DEFAULTS["S3"]["REGION"])


def password_problem(password: str) -> str | None:
    """Why Redshift would refuse this master password, or None."""
    if not 8 <= len(password) <= 64:
        return "it must be 8 to 64 characters long"
    if any(not 33 <= ord(c) <= 126 or c in PASSWORD_FORBIDDEN for c in password):
        return "it may use printable ASCII only, without ' \" \\ / @ or spaces"
    if not any(c.isupper() for c in password):
        return "it needs an uppercase letter"
    if not any(c.islower() for c in password):
        return "it needs a lowercase letter"
    if not any(c.isdigit() for c in password):
        return "it needs a digit"
    return None


def check_password(password: str) -> None:
    problem = password_problem(password)
    if problem:
        raise ConfigError(
            f"{PASSWORD_ENV_VAR} does not meet Redshift's password rules: {problem} - change it in the "
            f"environment or .env, or remove it: AWS Secrets Manager then keeps one (with AUTH = password, "
            "setup_cluster.py generates one into .env)"
        )


def generate_password(length: int = 32) -> str:
    """A random password that meets Redshift's rules (letters and digits only: safe in .env and DSNs)."""
    alphabet = string.ascii_letters + string.digits
    while True:
        password = "".join(secrets.choice(alphabet) for _ in range(length))
        if password_problem(password) is None:
            return password
