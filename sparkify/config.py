"""Configuration: where dwh.cfg is, what it says, and the built-in defaults.

Resolution, the same for every script, the notebook and the dashboard:
``--config PATH`` (must exist) > ``$DWH_CONFIG`` (must exist) > ``./dwh.cfg`` >
``<project>/dwh.cfg`` > built-in defaults (embedded DuckDB on the bundled
sample data). Relative paths in a file resolve against that file's folder.

Secrets never come from the file: the database password is ``DWH_DB_PASSWORD``
from the environment, or from a ``.env`` file beside the config file or in the
current directory (python-dotenv; the environment wins).
"""

from __future__ import annotations

import configparser
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

from dotenv import load_dotenv

from sparkify.errors import ConfigError

PROJECT_DIR = Path(__file__).resolve().parent.parent
SAMPLE_DIR = PROJECT_DIR / "data" / "sample"
DEFAULT_CONFIG_NAME = "dwh.cfg"
CONFIG_ENV_VAR = "DWH_CONFIG"
PASSWORD_ENV_VAR = "DWH_DB_PASSWORD"

ENGINES = ("duckdb", "postgres", "redshift")
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


def is_s3(location: str) -> bool:
    return location.startswith("s3://")


@dataclass(frozen=True)
class Connection:
    """How to reach a PostgreSQL server or a Redshift cluster."""

    host: str
    port: int
    db_name: str
    user: str
    password: str | None = field(default=None, repr=False)


@dataclass(frozen=True)
class Inputs:
    """Where the raw JSON is: s3:// URIs or local folders/files."""

    log_data: str
    song_data: str
    log_jsonpath: str | None
    region: str


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
    parser: configparser.ConfigParser = field(repr=False, compare=False)

    @property
    def source_name(self) -> str:
        return self.source.name if self.source else "built-in defaults"

    def describe(self) -> str:
        """One line for logs: the engine and its target, no secrets."""
        if self.engine == "duckdb":
            return f"engine duckdb, database {self.duckdb_path.name} ({self.source_name})"
        c = self.connection
        return f"engine {self.engine}, {c.user}@{c.host}:{c.port}/{c.db_name} ({self.source_name})"


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
    return parser


def find_config(explicit: str | os.PathLike | None = None) -> Path | None:
    """The config file to read, or None for the built-in defaults."""
    if explicit is not None:
        path = Path(explicit)
        if path.is_dir():
            raise ConfigError(f"config file {path} is a folder - give the path of a file like dwh.cfg")
        if not path.is_file():
            raise ConfigError(f"config file {path} not found - copy dwh.cfg.example to it, or leave out --config")
        return path
    from_env = os.environ.get(CONFIG_ENV_VAR)
    if from_env:
        path = Path(from_env)
        if path.is_dir():
            raise ConfigError(f"config file {path} (from ${CONFIG_ENV_VAR}) is a folder - give the path of a file")
        if not path.is_file():
            raise ConfigError(f"config file {path} (from ${CONFIG_ENV_VAR}) not found")
        return path
    for candidate in (Path.cwd() / DEFAULT_CONFIG_NAME, PROJECT_DIR / DEFAULT_CONFIG_NAME):
        if candidate.is_file():
            return candidate
    return None


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
        load_dotenv(base / ".env", override=False)
    load_dotenv(Path.cwd() / ".env", override=False)
    return _build(parser, path, base)


def _build(parser: configparser.ConfigParser, path: Path | None, base: Path) -> Config:
    name = path.name if path else "defaults"

    def get(section: str, key: str, default: str | None = None, required: bool = True) -> str | None:
        value = parser.get(section, key, fallback="").strip()
        if value:
            return value
        if default is not None:
            return default
        if required:
            raise ConfigError(f"{name}: [{section}] {key} is missing - set it (see dwh.cfg.example)")
        return None

    engine = get("DWH", "ENGINE", "duckdb").lower()
    if engine not in ENGINES:
        raise ConfigError(f"{name}: [DWH] ENGINE = {engine} is not an engine - use one of {', '.join(ENGINES)}")
    max_errors = _non_negative_int(name, "DWH", "MAX_ERRORS", get("DWH", "MAX_ERRORS", "0"))

    def location(key: str, required: bool = True) -> str | None:
        value = get("S3", key, required=required)
        if value is None or is_s3(value):
            return value
        return str((base / Path(value).expanduser()).resolve())

    inputs = Inputs(
        log_data=location("LOG_DATA"),
        song_data=location("SONG_DATA"),
        log_jsonpath=location("LOG_JSONPATH", required=engine == "redshift"),
        region=get("S3", "REGION", "us-west-2"),
    )

    connection = None
    iam_role_arn = None
    if engine in ("postgres", "redshift"):
        connection = Connection(
            host=get("CLUSTER", "HOST"),
            port=_non_negative_int(name, "CLUSTER", "DB_PORT", get("CLUSTER", "DB_PORT")),
            db_name=get("CLUSTER", "DB_NAME"),
            user=get("CLUSTER", "DB_USER"),
            password=os.environ.get(PASSWORD_ENV_VAR) or None,
        )
    if engine == "redshift":
        iam_role_arn = get("IAM_ROLE", "ARN")
        for key in ("LOG_DATA", "SONG_DATA", "LOG_JSONPATH"):
            if not is_s3(getattr(inputs, key.lower())):
                raise ConfigError(f"{name}: [S3] {key} must be an s3:// URI for engine redshift (COPY reads from S3)")

    duckdb_path = Path(get("DWH", "DUCKDB_PATH", "sparkify.duckdb")).expanduser()
    memory_limit = get("DWH", "DUCKDB_MEMORY_LIMIT", DEFAULTS["DWH"]["DUCKDB_MEMORY_LIMIT"])
    if not _MEMORY.match(memory_limit):
        raise ConfigError(f"{name}: [DWH] DUCKDB_MEMORY_LIMIT = {memory_limit} is not a size like 600MB or 4GB")
    return Config(
        engine=engine,
        duckdb_path=(base / duckdb_path).resolve(),
        duckdb_memory_limit=memory_limit.replace(" ", "").upper(),
        max_errors=max_errors,
        inputs=inputs,
        connection=connection,
        iam_role_arn=iam_role_arn,
        source=path.resolve() if path else None,
        parser=parser,
    )


def _non_negative_int(name: str, section: str, key: str, value: str) -> int:
    try:
        number = int(value)
    except ValueError:
        number = -1
    if number < 0:
        raise ConfigError(f"{name}: [{section}] {key} = {value} is not a whole number >= 0")
    return number
