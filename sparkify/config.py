"""Configuration: where dwh.cfg is, what it says, and the built-in defaults.

Resolution, the same for every script, the notebook and the dashboard:
``--config PATH`` (must exist) > ``$DWH_CONFIG`` (must exist) > ``./dwh.cfg`` >
``<project>/dwh.cfg`` > built-in defaults (embedded DuckDB on the bundled
sample data). Relative paths in a file resolve against that file's folder; a
section a file leaves out takes the built-in defaults (``[S3]``, the bundled
sample, on the local engines only).

Secrets never come from the file, and a key that would hold one (a password,
a secret, AWS keys) is refused: the database password is ``DWH_DB_PASSWORD``
from the environment, or from a ``.env`` file beside the config file or in the
current directory (python-dotenv; the environment wins). On Redshift
``[CLUSTER] AUTH = iam`` (the default when no password is set) needs none: the
engine asks AWS for temporary database credentials when it connects.
"""

from __future__ import annotations

import configparser
import os
import re
from dataclasses import dataclass, field, replace
from pathlib import Path
from urllib.parse import urlparse

from sparkify.errors import ConfigError
from sparkify.secret_files import PASSWORD_ENV_VAR, load_env, refuse_secrets

PROJECT_DIR = Path(__file__).resolve().parent.parent
SAMPLE_DIR = PROJECT_DIR / "data" / "sample"
DEFAULT_CONFIG_NAME = "dwh.cfg"
CONFIG_ENV_VAR = "DWH_CONFIG"

ENGINES = ("duckdb", "postgres", "redshift")
# [DWH] CONNECTION: how statements reach a server engine. direct: psycopg2 to HOST:DB_PORT;
# data-api: the Redshift Data API over HTTPS with IAM credentials (no open port).
CONNECTIONS = ("direct", "data-api")
# The engines CONNECTION = data-api may be used with: AWS's Data API serves only Redshift.
DATA_API_ENGINES = ("redshift",)
_SECRET_ARN = re.compile(r"^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:\d{12}:secret:[\w/+=.@-]+\Z")
# [CLUSTER] AUTH: how the psycopg2 connection logs in. iam (Redshift only): temporary
# credentials from AWS just before connecting; password: DWH_DB_PASSWORD.
AUTHS = ("iam", "password")
# [CLUSTER] DB_USER with AUTH = iam on a provisioned cluster: empty or IAM means
# "the database user named after my IAM identity" (GetClusterCredentialsWithIAM).
IAM_IDENTITY_USERS = ("", "iam")
# [CLUSTER] SSLMODE: libpq's modes that encrypt; the verify- ones also check the server's certificate.
SSLMODES = ("verify-full", "verify-ca", "require")
# An AWS region code (us-west-2, ap-southeast-1, us-gov-west-1), anchored at both
# ends so that .match() and .fullmatch() agree and nothing can follow it.
REGION = re.compile(r"^[a-z]{2}(-[a-z]+)+-\d{1,2}\Z")
_WHOLE_NUMBER = re.compile(r"^[0-9]+\Z")
_MEMORY = re.compile(r"^\d+(\.\d+)?\s*(KB|MB|GB|TB|KIB|MIB|GIB|TIB)$", re.IGNORECASE)

# The built-in defaults: what runs on a fresh clone with no dwh.cfg.
DEFAULTS = {
    "DWH": {"ENGINE": "duckdb", "DUCKDB_PATH": "sparkify.duckdb", "DUCKDB_MEMORY_LIMIT": "600MB", "MAX_ERRORS": "0"},
    "S3": {
        "LOG_DATA": "data/sample/log_data",
        "SONG_DATA": "data/sample/song_data",
        "LOG_JSONPATH": "data/sample/log_json_path.json",
        "REGION": "us-west-2",
    },
}


# The [S3] defaults that are paths into the project (the bundled sample).
_SAMPLE_KEYS = ("LOG_DATA", "SONG_DATA", "LOG_JSONPATH")


def is_s3(location: str) -> bool:
    return location.startswith("s3://")


@dataclass(frozen=True)
class IamAuth:
    """[CLUSTER] AUTH = iam: where to ask AWS for temporary database credentials (never stored)."""

    region: str  # [CLUSTER] REGION
    identifier: str | None = None  # [CLUSTER] IDENTIFIER: a provisioned cluster
    workgroup: str | None = None  # [CLUSTER] WORKGROUP: a Redshift Serverless workgroup (wins over IDENTIFIER)


@dataclass(frozen=True)
class Connection:
    """How to reach a PostgreSQL server or a Redshift cluster."""

    host: str
    port: int
    db_name: str
    user: str  # with AUTH = iam: "" when the database user is named after the IAM identity
    password: str | None = field(default=None, repr=False)
    sslmode: str | None = None  # [CLUSTER] SSLMODE; None: the engine's default
    iam: IamAuth | None = None  # AUTH = iam; None: AUTH = password

    @property
    def auth(self) -> str:
        return "iam" if self.iam else "password"

    @property
    def shown_user(self) -> str:
        """The database user as logs show it, before connecting: with AUTH = iam Redshift
        prefixes a named user with IAM:, and a workgroup or an empty DB_USER means the IAM identity's own."""
        if self.iam is None:
            return self.user
        if self.iam.workgroup or not self.user:
            return "<IAM identity>"
        return f"IAM:{self.user}"


@dataclass(frozen=True)
class DataApi:
    """Where CONNECTION = data-api sends statements: a provisioned cluster or a serverless workgroup."""

    database: str
    cluster_identifier: str | None = None  # [CLUSTER] IDENTIFIER
    workgroup: str | None = None  # [CLUSTER] WORKGROUP
    db_user: str | None = None  # temporary credentials for this user (clusters, without SECRET_ARN)
    secret_arn: str | None = None  # [CLUSTER] SECRET_ARN: a Secrets Manager secret's ARN (not the secret)
    region: str | None = None  # [CLUSTER] REGION; None: boto3's own (AWS_REGION, the profile)

    def target(self) -> dict[str, str]:
        """The request parameters that name the warehouse, as execute_statement takes them."""
        if self.workgroup:
            named = {"WorkgroupName": self.workgroup}
        else:
            named = {"ClusterIdentifier": self.cluster_identifier}
        if self.secret_arn:
            named["SecretArn"] = self.secret_arn
        elif self.cluster_identifier:
            named["DbUser"] = self.db_user
        return {**named, "Database": self.database}

    def describe(self) -> str:
        where = f"workgroup {self.workgroup}" if self.workgroup else f"cluster {self.cluster_identifier}"
        who = "secret" if self.secret_arn else (self.db_user or "IAM identity")
        return f"Data API, {where}, database {self.database} as {who}"


@dataclass(frozen=True)
class Inputs:
    """Where the raw JSON is: s3:// URIs or local folders/files."""

    log_data: str
    song_data: str
    log_jsonpath: str | None
    region: str
    # Redshift: where each run writes the COPY manifests of its new files (an s3:// prefix of yours)
    manifest_prefix: str | None = None
    # Redshift: new files smaller than pack_threshold bytes are packed into gzip parts of about
    # pack_part_size bytes (before compression) by pack_workers concurrent reads; 0 never packs
    pack_threshold: int = 1024 * 1024
    pack_part_size: int = 64 * 1024 * 1024
    pack_workers: int = 32

    def location(self, source: str) -> str:
        """Where an input (LOG_DATA, SONG_DATA: sparkify.schema.INPUTS) is."""
        return {"LOG_DATA": self.log_data, "SONG_DATA": self.song_data}[source]


@dataclass(frozen=True)
class Config:
    engine: str
    duckdb_path: Path
    duckdb_memory_limit: str
    max_errors: int
    inputs: Inputs
    connection: Connection | None
    iam_role_arn: str | None
    source: Path | None  # the file read; None for the built-in defaults
    data_api: DataApi | None = None  # [DWH] CONNECTION = data-api; None: direct (connection)
    defaulted: tuple[str, ...] = ()  # sections the file does not name, taken from the built-in defaults
    # Redshift Serverless ([CLUSTER] CLUSTER_TYPE = serverless, or a WORKGROUP): no slices to ask about
    serverless: bool = False

    def settings_from(self, full: bool = False) -> str:
        """Where the settings came from: the file (its full path if asked), and the sections it left to the defaults."""
        if self.source is None:
            return "built-in defaults"
        named = str(self.source) if full else self.source.name
        defaulted = ", ".join(f"[{section}]" for section in self.defaulted)
        return f"{named}; {defaulted} built-in defaults" if defaulted else named

    def describe(self, full: bool = False) -> str:
        """One line for logs: the engine and its target, no secrets.

        full (the scripts' summary): the DuckDB file and the config file by their full
        paths, since a run from another folder would not say where they are; the
        notebook and the dashboard keep the short form (the committed notebook shows it).
        """
        where = self.settings_from(full)
        if self.engine == "duckdb":
            return f"engine duckdb, database {self.duckdb_path if full else self.duckdb_path.name} ({where})"
        if self.data_api is not None:
            return f"engine {self.engine}, {self.data_api.describe()} ({where})"
        c = self.connection
        return f"engine {self.engine}, {c.shown_user}@{c.host}:{c.port}/{c.db_name} ({where})"


def new_parser() -> configparser.ConfigParser:
    # Keys keep their case (HOST, DB_PORT) and "KEY = value  # comment" works.
    parser = configparser.ConfigParser(inline_comment_prefixes=("#", ";"), interpolation=None)
    parser.optionxform = str
    return parser


def read_file(path: Path) -> configparser.ConfigParser:
    """Parse a config file; a malformed one is a one-line ConfigError."""
    parser = new_parser()
    try:
        with open(path, encoding="utf-8") as fh:
            parser.read_file(fh)
    except (configparser.Error, UnicodeDecodeError) as exc:
        first = str(exc).splitlines()[0]
        raise ConfigError(f"{path}: cannot parse: {first}") from None
    refuse_secrets(parser, path.name)
    return parser


def is_region(value: str) -> bool:
    """True for an AWS region code such as us-west-2 (the one rule every reader of a region uses)."""
    return REGION.match(value) is not None


class ConfigReader:
    """Values from a parsed dwh.cfg; each problem is a one-line ConfigError naming the file, key and fix.

    config.py (the pipeline) and sparkify.provision.settings (the AWS scripts) both
    read through it, so a key is missing, or not a number, in the same words
    whichever script reads it.
    """

    def __init__(self, parser: configparser.ConfigParser, name: str) -> None:
        self.parser = parser
        self.name = name  # the file's name, as messages start with it

    def get(self, section: str, key: str, default: str | None = None) -> str | None:
        """The value (stripped), else default; an empty value counts as missing."""
        return self.parser.get(section, key, fallback="").strip() or default

    def required(self, section: str, key: str) -> str:
        value = self.get(section, key)
        if value is None:
            raise ConfigError(f"{self.name}: [{section}] {key} is missing - set it (see dwh.cfg.example)")
        return value

    def fail(self, section: str, key: str, value: str, why: str) -> ConfigError:
        """The error for a value that is there but wrong: "dwh.cfg: [S] K = v <why>"."""
        return ConfigError(f"{self.name}: [{section}] {key} = {value} {why}")

    # The two settings both the pipeline and the AWS scripts (sparkify.provision.settings) decide
    # on: read here only, so they cannot read them differently.

    def connection(self) -> str:
        """[DWH] CONNECTION: how statements reach a server engine, direct (the default) or data-api."""
        method = self.get("DWH", "CONNECTION", "direct").lower()
        if method not in CONNECTIONS:
            raise self.fail("DWH", "CONNECTION", method, f"is not a connection - use one of {', '.join(CONNECTIONS)}")
        return method

    def serverless(self) -> bool:
        """[CLUSTER] CLUSTER_TYPE = serverless: a Redshift Serverless workgroup, not a cluster."""
        return (self.get("CLUSTER", "CLUSTER_TYPE") or "").lower() == "serverless"

    def whole_number(self, section: str, key: str, default: str | None = None, *, minimum: int | None = None) -> int:
        """Digits only; with minimum, also at least that (and the message says so)."""
        value = self.required(section, key) if default is None else self.get(section, key, default)
        if not _WHOLE_NUMBER.match(value) or (minimum is not None and int(value) < minimum):
            at_least = "" if minimum is None else f" >= {minimum}"
            raise self.fail(section, key, value, f"is not a whole number{at_least}")
        return int(value)

    def region(self, section: str, key: str, default: str | None = None) -> str:
        value = self.required(section, key) if default is None else self.get(section, key, default)
        if not is_region(value):
            raise self.fail(section, key, value, "is not an AWS region - use a region code such as us-west-2")
        return value


def check_jsonpaths_outside_data(r: ConfigReader, log_data: str, song_data: str, log_jsonpath: str) -> None:
    """Refuse a jsonpaths file that a COPY of LOG_DATA or SONG_DATA would load as data.

    "The object path you provide is treated like a prefix, and any matching
    objects are loaded" (COPY from Amazon S3,
    https://docs.aws.amazon.com/redshift/latest/dg/copy-parameters-data-source-s3.html):
    s3://b/log_data also reads s3://b/log_data/paths.json and s3://b/log_data_paths.json.
    """

    def parts(uri: str) -> tuple[str, str]:
        parsed = urlparse(uri)
        return parsed.netloc, parsed.path.lstrip("/")

    data = {"LOG_DATA": parts(log_data), "SONG_DATA": parts(song_data)}

    def under(uri: str) -> str | None:
        bucket, key = parts(uri)
        return next((name for name, (b, prefix) in data.items() if b == bucket and key.startswith(prefix)), None)

    prefix_key = under(log_jsonpath)
    if prefix_key is None:
        return
    bucket, key = parts(log_jsonpath)
    name = key.rsplit("/", 1)[-1] or "log_json_path.json"
    candidates = (f"s3://{bucket}/{name}", f"s3://{bucket}/jsonpaths/{name}")
    outside = next((uri for uri in candidates if under(uri) is None), None)
    raise ConfigError(
        f"{r.name}: [S3] LOG_JSONPATH = {log_jsonpath} is under [S3] {prefix_key} = "
        f"{log_data if prefix_key == 'LOG_DATA' else song_data}, and COPY loads every object whose key begins "
        f"with that prefix as data - move the jsonpaths file outside it, e.g. to "
        f"{outside or 'another bucket'}"
    )


def _named_file(path: Path, via: str, like: str, missing_fix: str) -> Path:
    """A config file the user named (--config, $DWH_CONFIG): it must be a file."""
    if path.is_dir():
        raise ConfigError(f"config file {path}{via} is a folder - give the path of a file{like}")
    if not path.is_file():
        raise ConfigError(f"config file {path}{via} not found{missing_fix}")
    return path


def find_config(explicit: str | os.PathLike | None = None) -> Path | None:
    """The config file to read, or None for the built-in defaults."""
    if explicit is not None:
        return _named_file(Path(explicit), "", " like dwh.cfg", " - copy dwh.cfg.example to it, or leave out --config")
    from_env = os.environ.get(CONFIG_ENV_VAR)
    if from_env:
        return _named_file(Path(from_env), f" (from ${CONFIG_ENV_VAR})", "", "")
    for candidate in (Path.cwd() / DEFAULT_CONFIG_NAME, PROJECT_DIR / DEFAULT_CONFIG_NAME):
        if candidate.is_file():
            return candidate
    return None


_SIZE_UNITS = {None: 1, "B": 1, "KB": 1024, "MB": 1024**2, "GB": 1024**3}


def _size(r: ConfigReader, key: str, default: str, minimum: int = 0) -> int:
    """[S3] key as bytes: a whole number of bytes, or with KB / MB / GB (powers of 1024)."""
    value = r.get("S3", key, default)
    found = re.fullmatch(r"(\d+)\s*(B|KB|MB|GB)?", value.upper())
    size = int(found[1]) * _SIZE_UNITS[found[2]] if found else -1
    if size < minimum:
        raise r.fail("S3", key, value, "is not a size like 1MB or 64MB" + (" (more than 0)" if minimum else ""))
    return size


def load_config(explicit: str | os.PathLike | None = None) -> Config:
    """Find, read and check the configuration. Raises ConfigError with a one-line message."""
    path = find_config(explicit)
    if path is None:
        parser = new_parser()
        parser.read_dict(DEFAULTS)
        base = PROJECT_DIR
    else:
        parser = read_file(path)
        base = path.resolve().parent
    load_env(path)
    defaulted = _default_sections(parser) if path else ()
    config = _build(ConfigReader(parser, path.name if path else "defaults"), path, base)
    return replace(config, defaulted=defaulted)


def _default_sections(parser: configparser.ConfigParser) -> tuple[str, ...]:
    """Fill the sections a file does not name with the built-in defaults; their names.

    A named section must be complete (half of [S3] from the file and half from
    the bundled sample would mix two inputs). The bundled sample is the default
    input of the local engines only: Redshift's COPY reads S3, so there [S3] stays required.
    """
    engine = parser.get("DWH", "ENGINE", fallback="").strip().lower() or DEFAULTS["DWH"]["ENGINE"]
    missing = [section for section in DEFAULTS if not parser.has_section(section)]
    if engine == "redshift" and "S3" in missing:
        missing.remove("S3")
    for section in missing:
        values = DEFAULTS[section]
        if section == "S3":  # the bundled sample is in the project, wherever the file is
            values = {key: str(PROJECT_DIR / value) if key in _SAMPLE_KEYS else value for key, value in values.items()}
        parser.read_dict({section: values})
    return tuple(missing)


def _build(r: ConfigReader, path: Path | None, base: Path) -> Config:
    engine = r.get("DWH", "ENGINE", "duckdb").lower()
    if engine not in ENGINES:
        raise r.fail("DWH", "ENGINE", engine, f"is not an engine - use one of {', '.join(ENGINES)}")
    max_errors = r.whole_number("DWH", "MAX_ERRORS", "0", minimum=0)

    def location(key: str, required: bool = True) -> str | None:
        value = r.required("S3", key) if required else r.get("S3", key)
        if value is None or is_s3(value):
            return value
        return str((base / Path(value).expanduser()).resolve())

    inputs = Inputs(
        log_data=location("LOG_DATA"),
        song_data=location("SONG_DATA"),
        log_jsonpath=location("LOG_JSONPATH", required=engine == "redshift"),
        region=r.region("S3", "REGION", DEFAULTS["S3"]["REGION"]),
        manifest_prefix=location("MANIFEST_PREFIX", required=False),
        pack_threshold=_size(r, "PACK_THRESHOLD", "1MB"),
        pack_part_size=_size(r, "PACK_PART_SIZE", "64MB", minimum=1),
        pack_workers=r.whole_number("S3", "PACK_WORKERS", "32", minimum=1),
    )

    connection = None
    iam_role_arn = None
    data_api = _data_api(r, engine)
    if engine in ("postgres", "redshift") and data_api is None:
        password = os.environ.get(PASSWORD_ENV_VAR) or None
        iam = _iam_auth(r, engine, password)
        connection = Connection(
            host=_host(r, engine),
            port=r.whole_number("CLUSTER", "DB_PORT"),
            db_name=r.required("CLUSTER", "DB_NAME"),
            user=_iam_user(r) if iam else r.required("CLUSTER", "DB_USER"),
            password=None if iam else password,  # AUTH = iam: a stored password is not used
            sslmode=_sslmode(r),
            iam=iam,
        )
    if engine == "redshift":
        iam_role_arn = r.required("IAM_ROLE", "ARN")
        for key in ("LOG_DATA", "SONG_DATA", "LOG_JSONPATH", "MANIFEST_PREFIX"):
            if getattr(inputs, key.lower()) is None:  # MANIFEST_PREFIX: the others are required above
                raise ConfigError(
                    f"{r.name}: [S3] {key} is missing - set it to an s3:// prefix in a bucket of yours, where each "
                    "run writes the COPY manifest of its new files, and run setup_cluster.py again so the cluster's "
                    "role may read them (see dwh.cfg.example)"
                )
            if not is_s3(getattr(inputs, key.lower())):
                raise ConfigError(f"{r.name}: [S3] {key} must be an s3:// URI for engine redshift (COPY reads from S3)")
        check_jsonpaths_outside_data(r, inputs.log_data, inputs.song_data, inputs.log_jsonpath)

    duckdb_path = Path(r.get("DWH", "DUCKDB_PATH", DEFAULTS["DWH"]["DUCKDB_PATH"])).expanduser()
    memory_limit = r.get("DWH", "DUCKDB_MEMORY_LIMIT", DEFAULTS["DWH"]["DUCKDB_MEMORY_LIMIT"])
    if not _MEMORY.match(memory_limit):
        raise r.fail("DWH", "DUCKDB_MEMORY_LIMIT", memory_limit, "is not a size like 600MB or 4GB")
    return Config(
        engine=engine,
        duckdb_path=(base / duckdb_path).resolve(),
        duckdb_memory_limit=memory_limit.replace(" ", "").upper(),
        max_errors=max_errors,
        inputs=inputs,
        connection=connection,
        iam_role_arn=iam_role_arn,
        source=path.resolve() if path else None,
        data_api=data_api,
        serverless=engine == "redshift" and (r.serverless() or bool(r.get("CLUSTER", "WORKGROUP"))),
    )


def _data_api(r: ConfigReader, engine: str) -> DataApi | None:
    """[DWH] CONNECTION = data-api: the cluster or workgroup, database and identity; None for direct."""
    if r.connection() == "direct":
        return None
    if engine not in DATA_API_ENGINES:
        raise ConfigError(
            f"{r.name}: [DWH] CONNECTION = data-api needs ENGINE = redshift (ENGINE is {engine}) "
            "- the Redshift Data API reaches only Redshift; use CONNECTION = direct"
        )
    identifier, workgroup = r.get("CLUSTER", "IDENTIFIER"), r.get("CLUSTER", "WORKGROUP")
    if identifier and workgroup and r.serverless():
        # setup_cluster.py's own result: IDENTIFIER names what it made, WORKGROUP (which it wrote) is the target
        identifier = None
    if not identifier and not workgroup:
        raise ConfigError(
            f"{r.name}: [CLUSTER] IDENTIFIER or WORKGROUP is missing - CONNECTION = data-api needs the "
            "cluster's identifier or the serverless workgroup's name"
        )
    if identifier and workgroup:
        raise ConfigError(
            f"{r.name}: [CLUSTER] IDENTIFIER and WORKGROUP are both set - CONNECTION = data-api goes to one: "
            "remove WORKGROUP for the cluster, or IDENTIFIER for the serverless workgroup"
        )
    secret_arn = r.get("CLUSTER", "SECRET_ARN")
    if secret_arn and not _SECRET_ARN.match(secret_arn):
        raise r.fail("CLUSTER", "SECRET_ARN", secret_arn,
                     "is not a Secrets Manager secret ARN (arn:aws:secretsmanager:REGION:ACCOUNT:secret:NAME)")
    region = r.get("CLUSTER", "REGION")
    if region and not is_region(region):
        raise r.fail("CLUSTER", "REGION", region, "is not an AWS region - use a region code such as us-west-2")
    return DataApi(
        database=r.required("CLUSTER", "DB_NAME"),
        cluster_identifier=identifier,
        workgroup=workgroup,
        # a cluster without a secret: temporary credentials for DB_USER; a workgroup's user is the IAM identity
        db_user=r.required("CLUSTER", "DB_USER") if identifier and not secret_arn else None,
        secret_arn=secret_arn,
        region=region,
    )


def _iam_auth(r: ConfigReader, engine: str, password: str | None) -> IamAuth | None:
    """[CLUSTER] AUTH: explicit, else iam on Redshift when no DWH_DB_PASSWORD is set, else password."""
    value = r.get("CLUSTER", "AUTH")
    if value is not None and value.lower() not in AUTHS:
        raise r.fail("CLUSTER", "AUTH", value, f"is not a way to log in - use one of {', '.join(AUTHS)}")
    if value is not None and value.lower() == "iam" and engine != "redshift":
        raise r.fail("CLUSTER", "AUTH", value, f"is for engine redshift only - use AUTH = password and {PASSWORD_ENV_VAR}")
    auth = value.lower() if value else ("iam" if engine == "redshift" and not password else "password")
    if auth == "password":
        return None  # without a password: the engine's one-line error when it connects
    why = "with AUTH = iam" if value else f"with AUTH = iam (the default when {PASSWORD_ENV_VAR} is not set)"
    workgroup = r.get("CLUSTER", "WORKGROUP")
    identifier = None if workgroup else r.get("CLUSTER", "IDENTIFIER")
    if not (workgroup or identifier):
        raise ConfigError(
            f"{r.name}: [CLUSTER] IDENTIFIER is missing - {why} the database credentials come from AWS for this "
            f"cluster: set IDENTIFIER, or WORKGROUP for Redshift Serverless, or set {PASSWORD_ENV_VAR}"
        )
    if r.get("CLUSTER", "REGION") is None:
        raise ConfigError(
            f"{r.name}: [CLUSTER] REGION is missing - {why} the database credentials come from AWS in the "
            f"{'workgroup' if workgroup else 'cluster'}'s region: set it, e.g. us-west-2"
        )
    return IamAuth(region=r.region("CLUSTER", "REGION"), identifier=identifier, workgroup=workgroup)


def logs_in_with_iam(r: ConfigReader, password: str | None) -> bool:
    """Whether logins to the Redshift warehouse r describes are AUTH = iam, by _iam_auth's rule.

    For setup_cluster.py, which must know before the cluster exists: with IAM
    logins nobody needs its master password, so AWS Secrets Manager keeps it.
    """
    return _iam_auth(r, "redshift", password) is not None


def _iam_user(r: ConfigReader) -> str:
    """DB_USER with AUTH = iam: a database user's name, or "" for the one named after the IAM identity."""
    user = r.get("CLUSTER", "DB_USER", "")
    return "" if user.lower() in IAM_IDENTITY_USERS else user


def _host(r: ConfigReader, engine: str) -> str:
    """[CLUSTER] HOST; missing, the one line says both ways on: make the cluster, or stay on this machine."""
    host = r.get("CLUSTER", "HOST")
    if host is None:
        fix = (
            "run setup_cluster.py first (it creates the cluster and writes HOST)"
            if engine == "redshift"
            else "set it to the PostgreSQL server's address"
        )
        raise ConfigError(
            f"{r.name}: [CLUSTER] HOST is missing - {fix}, or set [DWH] ENGINE = duckdb to build the warehouse "
            "on this machine"
        )
    return host


def _sslmode(r: ConfigReader) -> str | None:
    value = r.get("CLUSTER", "SSLMODE")
    if value is not None and value.lower() not in SSLMODES:
        raise r.fail("CLUSTER", "SSLMODE", value, f"is not an SSL mode - use one of {', '.join(SSLMODES)}")
    return value.lower() if value else None
