"""Local files the scripts touch: .env (secrets) and the HOST/ARN lines of dwh.cfg.

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

from sparkify.secret_files import PASSWORD_ENV_VAR, read_env_file
from sparkify.errors import ConfigError

ENV_HEADER = "# Secrets for the Sparkify warehouse. Git-ignored: never commit this file.\n"
_SECTION = re.compile(r"^\s*\[(?P<name>[^\]]+)\]")


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

    The value of an existing line is replaced in place (its spacing and any
    inline comment stay); a missing key is added at the end of its section, a
    missing section at the end of the file. Returns False, without writing,
    when every value is already there.
    """
    try:
        with open(path, encoding="utf-8", newline="") as fh:
            lines = fh.read().splitlines(keepends=True)
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {exc.strerror}") from None
    eol = "\r\n" if any(line.endswith("\r\n") for line in lines) else "\n"
    changed = False
    for (section, key), value in values.items():
        lines, did = _set_value(lines, section, key, value, eol)
        changed = changed or did
    if changed:
        try:
            atomic_write(path, "".join(lines))
        except OSError as exc:
            raise ConfigError(f"cannot write {path}: {exc.strerror} - check its folder's permissions") from None
    return changed


def _set_value(lines: list[str], section: str, key: str, value: str, eol: str) -> tuple[list[str], bool]:
    line_re = re.compile(
        rf"^(?P<head>[ \t]*{re.escape(key)}[ \t]*[=:])(?P<gap>[ \t]*)(?P<value>.*?)"
        r"(?P<tail>[ \t]+[#;].*?)?(?P<eol>\r?\n)?$"
    )
    current = None
    last_in_section = None  # index after which a missing key goes
    for i, line in enumerate(lines):
        header = _SECTION.match(line)
        if header:
            current = header.group("name").strip()
            if current == section:
                last_in_section = i
            continue
        if current != section:
            continue
        match = line_re.match(line)
        if match:
            if match.group("value") == value:
                return lines, False
            gap = match.group("gap") or " "
            new = f"{match.group('head')}{gap}{value}{match.group('tail') or ''}{match.group('eol') or ''}"
            return lines[:i] + [new] + lines[i + 1 :], True
        stripped = line.strip()
        if stripped and not stripped.startswith(("#", ";")):
            last_in_section = i
    out = list(lines)
    if out and not out[-1].endswith("\n"):
        out[-1] += eol
    if last_in_section is None:
        if out and out[-1].strip():
            out.append(eol)
        out += [f"[{section}]{eol}", f"{key} = {value}{eol}"]
    else:
        out.insert(last_in_section + 1, f"{key} = {value}{eol}")
    return out, True


def save_password(env_path: Path, password: str, where: str = "beside the config file") -> None:
    """Put DWH_DB_PASSWORD=... into .env (created if needed), readable by the owner only.

    A .env that load_env would refuse (a symbolic link, another user's, writable
    by others) is refused here too, before anything is written.
    """
    assignment = re.compile(rf"^\s*(export\s+)?{PASSWORD_ENV_VAR}\s*=")
    text = read_env_file(env_path, where)
    lines = [ENV_HEADER] if text is None else text.splitlines(keepends=True)
    line = f"{PASSWORD_ENV_VAR}={password}\n"
    for i, existing in enumerate(lines):
        if assignment.match(existing):
            lines[i] = line
            break
    else:
        if lines and not lines[-1].endswith("\n"):
            lines[-1] += "\n"
        lines.append(line)
    try:
        atomic_write(env_path, "".join(lines), mode=0o600)
    except OSError as exc:
        raise ConfigError(f"cannot write {env_path}: {exc.strerror} - check the folder's permissions") from None
