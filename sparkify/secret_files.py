"""Where secrets may live: never in dwh.cfg; in the environment, or a .env trusted like an ssh key.

A key of dwh.cfg that would hold a secret (a password, a secret, AWS keys) is
refused, naming the file, section and key, never the value. A ``.env`` beside
the config file or in the current folder is read with python-dotenv (the
environment wins), and refused when another user could have written it.
"""

from __future__ import annotations

import configparser
import io
import os
import stat
from pathlib import Path

from dotenv import load_dotenv

from sparkify.errors import ConfigError

PASSWORD_ENV_VAR = "DWH_DB_PASSWORD"

# Keys that hold a secret, in any section (the classic Udacity dwh.cfg has [AWS] KEY and SECRET).
_AWS_SECRET_KEYS = frozenset(
    {"KEY", "SECRET", "ACCESS_KEY", "SECRET_KEY", "ACCESS_KEY_ID", "SECRET_ACCESS_KEY", "SESSION_TOKEN"}
)


def _secret_fix(key: str) -> str | None:
    """Where the secret a key names belongs instead, or None when the key holds no secret."""
    name = key.upper()
    if name.endswith("_ARN"):  # names a secret (SECRET_ARN: where it is kept), does not hold one
        return None
    if name.removeprefix("AWS_") in _AWS_SECRET_KEYS:
        return (
            "AWS credentials come from AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY in the environment or in .env "
            "beside the config (git-ignored), or from a profile in ~/.aws"
        )
    if "PASSWORD" in name or "PASSWD" in name:
        return f"put {PASSWORD_ENV_VAR} in the environment or in .env beside the config (git-ignored)"
    if "SECRET" in name:
        return "dwh.cfg holds no secrets; keep it in the environment or in .env beside the config (git-ignored)"
    return None


def refuse_secrets(parser: configparser.ConfigParser, name: str) -> None:
    """A key that holds a secret is refused, empty or not, naming the file, section and key, never the value."""
    keyed = [("DEFAULT", key) for key in parser.defaults()]
    keyed += [(section, key) for section in parser.sections() for key in parser[section] if key not in parser.defaults()]
    for section, key in keyed:
        fix = _secret_fix(key)
        if fix:
            raise ConfigError(f"{name}: [{section}] {key} is a secret - remove it from the file; {fix}")


def env_file(config_path: Path) -> Path:
    """The .env beside a config file: where secrets are read from and the generated password goes."""
    return config_path.resolve().parent / ".env"


def read_env_file(path: Path, where: str) -> str | None:
    """The text of a .env, or None when there is none (or it is not a file: python-dotenv skips those too).

    Refused, the way ssh refuses a private key another user could have written:
    a symbolic link, a file owned by another user, or one that group or others
    may write. The checks are made on the open file, so it cannot be swapped
    in between. ``where`` says which .env it is ("beside dwh.cfg").
    """
    label = f".env {where} ({path})"
    try:
        info = os.lstat(path)
    except FileNotFoundError:
        return None
    if stat.S_ISLNK(info.st_mode):
        raise ConfigError(f"{label} is a symbolic link - replace it with a regular file of your own (chmod 600)")
    if not stat.S_ISREG(info.st_mode):
        return None
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
    except OSError as exc:
        raise ConfigError(f"cannot read {label}: {exc.strerror} - check its permissions") from None
    with open(fd, encoding="utf-8") as fh:
        if os.name == "posix":  # owners and mode bits mean nothing on Windows
            info = os.fstat(fd)
            if info.st_uid != os.getuid():
                raise ConfigError(
                    f"{label} is owned by uid {info.st_uid}, not you (uid {os.getuid()}) - "
                    f"recreate it as your own file, then run chmod 600 {path}"
                )
            if info.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
                raise ConfigError(f"{label} is writable by other users - run chmod 600 {path}")
        return fh.read()


def load_env(config_path: Path | None) -> None:
    """Load .env beside the config file (if any), then ./.env; a variable already set wins (python-dotenv)."""
    found = [(env_file(config_path), f"beside {config_path.name}")] if config_path is not None else []
    for path, where in found + [(Path.cwd() / ".env", "in the current folder")]:
        text = read_env_file(path, where)
        if text is not None:
            load_dotenv(stream=io.StringIO(text), override=False)
