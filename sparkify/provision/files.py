"""Local files the scripts touch: .env (secrets, python-dotenv) and the HOST/ARN lines of dwh.cfg (configupdater).

Both are rewritten atomically (a temporary file in the same folder, then
os.replace), so an interrupted run never leaves half a file.
"""

from __future__ import annotations

import os
import re
import stat
import tempfile
from collections.abc import Mapping
from pathlib import Path

from configupdater import ConfigUpdater, Option
from configupdater.parser import ParsingError
from dotenv import set_key

from sparkify.errors import ConfigError
from sparkify.secret_files import PASSWORD_ENV_VAR, read_env_file

ENV_HEADER = "# Secrets for the Sparkify warehouse. Git-ignored: never commit this file.\n"
# An option's one line: the key and delimiter with their spacing, the value, an inline comment, the line end.
_LINE = re.compile(r"^(?P<head>[^=:]*[=:])(?P<gap>[ \t]*)(?P<value>.*?)(?P<tail>[ \t]+[#;].*?)?(?P<eol>\r?\n)?$")


def atomic_write(path: Path, text: str, mode: int | None = None) -> None:
    """Replace path with text in one step; keep its permission bits unless mode is given."""
    target = path.resolve()
    if mode is None:
        mode = stat.S_IMODE(target.stat().st_mode) if target.exists() else 0o644
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, target)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def set_config_values(path: Path, values: Mapping[tuple[str, str], str]) -> bool:
    """Set `KEY = value` for each (section, key) in the file, changing nothing else.

    configupdater keeps every other line as it was: comments, order, blank
    lines. An existing key keeps its own spacing and inline comment (only its
    value changes); a missing key is added after the last key of its section,
    a missing section at the end of the file. Returns False, without writing,
    when every value is already there.
    """
    try:
        with open(path, encoding="utf-8", newline="") as fh:
            text = fh.read()
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {exc.strerror}") from None
    eol = "\r\n" if "\r\n" in text else "\n"
    updater = ConfigUpdater()
    try:
        updater.read_string(text if not text or text.endswith("\n") else text + eol)
    except ParsingError as exc:
        raise ConfigError(f"cannot update {path}: {str(exc).splitlines()[0]} - fix that line") from None
    changed = [_set(updater, section, key, value) for (section, key), value in values.items()]
    if not any(changed):
        return False
    # what configupdater adds ends in \n: a file with Windows line ends keeps them
    out = re.sub(r"(?<!\r)\n", "\r\n", str(updater)) if eol == "\r\n" else str(updater)
    try:
        atomic_write(path, out)
    except OSError as exc:
        raise ConfigError(f"cannot write {path}: {exc.strerror} - check its folder's permissions") from None
    return True


def _set(updater: ConfigUpdater, section: str, key: str, value: str) -> bool:
    if not updater.has_section(section):
        if updater.sections() and str(updater).strip():
            updater[updater.sections()[-1]].add_after.space()
        updater.add_section(section)
    block = updater[section]
    if block.has_option(key):
        option = block[key]
        line = _LINE.match(option.lines[0]) if len(option.lines) == 1 else None
        if (line["value"] if line else option.value or "") == value:
            return False
        if line is None:
            option.value = value
        else:
            # configupdater writes a changed option as "KEY = value": its own spacing and inline comment stay instead
            option.lines[0] = f"{line['head']}{line['gap'] or ' '}{value}{line['tail'] or ''}{line['eol'] or ''}"
        return True
    options = [entry for entry in block.iter_blocks() if isinstance(entry, Option)]
    if options:
        options[-1].add_after.option(key, value)
    else:
        block.set(key, value)
    return True


def save_password(env_path: Path, password: str, where: str = "beside the config file") -> None:
    """Put DWH_DB_PASSWORD=... into .env (created if needed, with a header), readable by the owner only.

    A .env that load_env would refuse (a symbolic link, another user's, writable
    by others) is refused here too, before anything is written. python-dotenv's
    set_key then replaces the line (or adds it) atomically and keeps the mode,
    which is made 0600 first: the password is never in a file others may read.
    """
    text = read_env_file(env_path, where)
    try:
        if text is None:
            fd = os.open(env_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0), 0o600)
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                fh.write(ENV_HEADER)
        else:
            os.chmod(env_path, 0o600)
        set_key(env_path, PASSWORD_ENV_VAR, password, quote_mode="never")
    except OSError as exc:
        raise ConfigError(f"cannot write {env_path}: {exc.strerror} - check the folder's permissions") from None
