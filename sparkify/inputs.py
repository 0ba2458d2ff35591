"""Inputs: finding the raw JSON files, and the JSON key of each staging column.

Local folders are listed here; ``s3://`` locations are downloaded with boto3
into the run's temporary folder first (engines that read local files only:
Redshift's COPY reads S3 itself). Messages name a file relative to the
current folder, or by its s3:// URI.
"""

from __future__ import annotations

import errno
import heapq
import json
import logging
import os
import re
import stat
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

import sql_queries as sql
from sparkify import schema
from sparkify.config import Inputs, is_s3
from sparkify.errors import ConfigError, InputError
from sparkify.incremental import Batch, Listing, etag_fingerprint, input_root
from sparkify.progress import Progress

log = logging.getLogger(__name__)

# What a line of the jsonpaths file may look like: $['key'], $["key"] or $.key
_JSONPATH = re.compile(r"""^\$(?:\['([^']+)'\]|\["([^"]+)"\]|\.([A-Za-z_][A-Za-z0-9_]*))$""")


@dataclass(frozen=True)
class LocalFiles:
    """The input files on this machine, and how to name them in messages."""

    events: list[str]
    songs: list[str]
    keys: tuple[str, ...]  # the JSON key of each staging_events column
    display: dict[str, str] = field(default_factory=dict)  # local copy -> s3:// URI
    # the size each file was listed with: the reader reads no more (None: to its end)
    sizes: dict[str, int] = field(default_factory=dict)

    def name(self, path: str) -> str:
        return self.display.get(path, path)


def shown(path: str) -> str:
    """A file name as short as it can be said: relative to the current folder when inside it."""
    try:
        return str(Path(path).relative_to(Path.cwd()))
    except ValueError:
        return path


def json_files(location: str, what: str) -> dict[str, os.stat_result]:
    """The regular *.json files under a local folder (or the file itself), each once, with its
    stat (size, modification time) as the scan took it; in no particular order.

    Paths stay strings: with tens of thousands of song files, Path objects
    alone would cost more than reading the files.
    """
    root = Path(location)
    if root.is_file():
        return {str(root): os.stat(root)}
    if not root.is_dir():
        raise InputError(f"{what} folder {root} not found - check [S3] {what} in the config")
    found = _scan(str(root))
    if not found:
        raise InputError(f"{what} folder {root} has no .json files - check [S3] {what} in the config")
    return found


def _scan(root: str) -> dict[str, os.stat_result]:
    """Every regular *.json file under root, each file read once whatever links lead to it.

    A linked folder is followed once, by its identity (device, inode): a link
    loop, two links to one folder or a link to an ancestor add nothing twice.
    The folders themselves are walked first, then the links in name order, so
    a file is named by its own path when it has one. A broken link or a FIFO,
    socket or device named *.json is skipped with a warning (it holds no
    records, and opening a FIFO would wait forever); a folder named *.json is
    a folder.
    """
    seen_folders: set[tuple[int, int]] = set()
    found: dict[str, os.stat_result] = {}  # path -> its stat
    folders = [root]
    links: list[str] = []  # linked folders, followed after the real ones, in name order
    linked = False  # whether any file or folder was found through a symbolic link
    # Folders read and not yet known by identity: identities only matter once a link is
    # followed, so the tens of thousands of folders of a song catalogue with no link in
    # it are never stat-ed.
    unknown: list[str] = []
    while folders or links:
        try:
            if folders:
                folder = folders.pop()
                unknown.append(folder)
            else:
                for folder in unknown:  # (a folder whose stat fails is named by the error)
                    info = os.stat(folder)
                    seen_folders.add((info.st_dev, info.st_ino))
                unknown.clear()
                folder = heapq.heappop(links)
                info = os.stat(folder)
                identity = (info.st_dev, info.st_ino)
                if identity in seen_folders:
                    log.info("  %s: already read by another path, skipped", shown(folder))
                    continue
                seen_folders.add(identity)
            with os.scandir(folder) as listing:
                entries = list(listing)
        except OSError as exc:
            raise cannot_read(exc, folder, "folder ") from None
        for entry in entries:
            name = entry.name
            if name.endswith(".json") and entry.is_file(follow_symlinks=False):  # the usual case, first
                try:
                    info = entry.stat(follow_symlinks=False)
                except OSError as exc:
                    raise cannot_read(exc, entry.path) from None
                found[entry.path] = info
                continue
            if entry.is_symlink():
                try:
                    target = entry.stat()
                except OSError as exc:
                    if exc.errno not in (errno.ENOENT, errno.ENOTDIR, errno.ELOOP):
                        raise cannot_read(exc, entry.path) from None
                    if entry.name.endswith(".json"):
                        log.warning("warning: %s is a broken symbolic link: skipped", shown(entry.path))
                    continue
                if stat.S_ISDIR(target.st_mode):
                    heapq.heappush(links, entry.path)
                    linked = True
                elif entry.name.endswith(".json"):
                    _add(found, entry.path, target)
                    linked = True
            elif entry.is_dir(follow_symlinks=False):
                folders.append(entry.path)
            elif entry.name.endswith(".json"):
                try:
                    _add(found, entry.path, entry.stat(follow_symlinks=False))
                except OSError as exc:
                    raise cannot_read(exc, entry.path) from None
    if not linked and all(info.st_nlink == 1 for info in found.values()):
        return found  # the usual case: no link anywhere, so no file has two names here
    seen_files: set[tuple[int, int]] = set()
    once = {}
    for path, info in sorted(found.items()):  # a file with several names (links) is read once, by its first name
        if (info.st_dev, info.st_ino) not in seen_files:
            seen_files.add((info.st_dev, info.st_ino))
            once[path] = info
    return once


def _add(found: dict[str, os.stat_result], path: str, info: os.stat_result) -> None:
    """Add a regular file with its stat; name any other kind in a warning."""
    if stat.S_ISREG(info.st_mode):
        found[path] = info
    else:
        log.warning("warning: %s is not a regular file (%s): skipped", shown(path), _kind(info.st_mode))


_READ_FIX = "make it readable by this user, or move it out of the input folder"


def _why(exc: OSError) -> str:
    return exc.strerror or str(exc)


def _kind(mode: int) -> str:
    for test, kind in ((stat.S_ISFIFO, "a FIFO"), (stat.S_ISSOCK, "a socket"), (stat.S_ISCHR, "a character device"),
                       (stat.S_ISBLK, "a block device")):
        if test(mode):
            return kind
    return "not a file"


def open_regular(path: str) -> BinaryIO:
    """A regular file, open for reading; never one that is not (a read from a FIFO could wait forever).

    Raises OSError, with a strerror saying why, for any file that cannot be read.
    """
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))  # O_NONBLOCK: a FIFO opens at once
    try:
        mode = os.fstat(fd).st_mode
        if stat.S_ISDIR(mode):
            raise IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR), path)
        if not stat.S_ISREG(mode):
            raise OSError(errno.EINVAL, f"not a regular file ({_kind(mode)})", path)
    except BaseException:
        os.close(fd)
        raise
    return open(fd, "rb")


def read_bytes(path: str, limit: int | None = None) -> bytes:
    """A file's bytes; with a limit, no more than that (a file that grows is read as it was listed)."""
    with open_regular(path) as fh:
        return fh.read() if limit is None else fh.read(limit)


def cannot_read(exc: OSError, name: str, what: str = "") -> InputError:
    """The error for an input file or folder that cannot be read."""
    return InputError(f"cannot read {what}{shown(name)}: {_why(exc)} - {_READ_FIX}")


def read_input(path: str, name: str | None = None, limit: int | None = None) -> bytes:
    """An input file's bytes (at most limit), or InputError naming it (``name``: how to call it, e.g. its s3:// URI)."""
    try:
        return read_bytes(path, limit)
    except OSError as exc:
        raise cannot_read(exc, name or path) from None


def changed_while_read(batch: Batch) -> None:
    """Stop before anything is committed when a local file of the batch is not as listed any more.

    The reader read at most each file's listed size, but DuckDB's own reader
    reads a file to its end: a file that grew, shrank or was rewritten while
    it was read would be recorded with a size that is not what was loaded.
    """
    for files in batch.files.values():
        for file in files:
            if is_s3(file.location):
                continue  # a download: its copy does not change while read
            try:
                info = os.stat(file.location)
                now = (info.st_size, str(info.st_mtime_ns))
            except OSError:
                now = None
            if now != (file.size, file.version):
                raise InputError(
                    f"{file.source} file {file.name} changed while it was read (size or modification time) - "
                    "nothing was loaded; run again once it is complete"
                )


def event_keys(jsonpaths_file: str | None) -> tuple[str, ...]:
    """The JSON key for each staging_events column, from the jsonpaths file (as Redshift COPY does).

    A key may hold any character but NUL: it reaches SQL only through
    sparkify.quoting, as a plain key.
    """
    if jsonpaths_file is None:
        return sql.EVENT_JSON_KEYS
    path = Path(jsonpaths_file)
    try:
        document = json.loads(read_bytes(str(path)).decode("utf-8"))
        paths = document["jsonpaths"]
    except FileNotFoundError:
        raise ConfigError(f"LOG_JSONPATH file {path} not found - check [S3] LOG_JSONPATH in the config") from None
    except OSError as exc:
        raise ConfigError(
            f"cannot read LOG_JSONPATH file {path}: {_why(exc)} - check [S3] LOG_JSONPATH in the config"
        ) from None
    except (ValueError, KeyError, TypeError, RecursionError):
        raise ConfigError(f'LOG_JSONPATH file {path} is not a jsonpaths file ({{"jsonpaths": [...]}})') from None
    if not isinstance(paths, list) or len(paths) != len(sql.STAGING_EVENTS_COLUMNS):
        count = len(paths) if isinstance(paths, list) else 0
        raise ConfigError(
            f"LOG_JSONPATH file {path} lists {count} paths; staging_events has "
            f"{len(sql.STAGING_EVENTS_COLUMNS)} columns ({', '.join(sql.STAGING_EVENTS_COLUMNS)})"
        )
    keys = []
    for position, text in enumerate(paths, 1):
        match = _JSONPATH.match(text) if isinstance(text, str) else None
        if not match or "\x00" in text:
            raise ConfigError(f"LOG_JSONPATH file {path}: path {position} ({text!r}) is not a top-level key like $['ts']")
        keys.append(next(group for group in match.groups() if group is not None))
    return tuple(keys)


def list_inputs(inputs: Inputs) -> dict[str, Listing]:
    """Every input file with its version, per input (LOG_DATA, SONG_DATA): what a run compares with its record."""
    return {source: _listed(inputs.location(source), source) for source in schema.INPUTS}


def _listed(location: str, what: str) -> Listing:
    if is_s3(location):
        from sparkify import aws  # boto3 is only needed for s3:// inputs

        objects = aws.list_prefix(location)
        fingerprints = {obj.name: etag_fingerprint(obj.etag) for obj in objects}
        listed = Listing(what, {obj.name: (obj.size, obj.etag) for obj in objects}, {obj.name: obj.uri for obj in objects},
                         input_root(location), {name: value for name, value in fingerprints.items() if value})
        if len(listed.versions) < len(objects):
            twice = next(obj for obj, other in zip(objects, objects[1:]) if obj.name == other.name)
            raise InputError(
                f"{twice.uri} and another object under {location} both have the name {twice.name} "
                "(a key with // in it) - rename one"
            )
        return listed
    found = json_files(location, what)
    root = Path(location)
    if str(root) in found:  # the location is a file (a folder's files all have longer paths)
        names = [root.name]
    else:
        cut = len(str(root).rstrip(os.sep)) + len(os.sep)  # every path found starts with the root's
        names = [path[cut:] for path in found]
    if os.sep != "/":  # the record names files with /, on any machine
        names = [name.replace(os.sep, "/") for name in names]
    versions = {name: (info.st_size, str(info.st_mtime_ns)) for name, info in zip(names, found.values())}
    return Listing(what, versions, dict(zip(names, found)), input_root(location))


def resolve(inputs: Inputs, workdir: Path, batch: Batch) -> LocalFiles:
    """The batch's files on this machine (the batch the run planned once, sparkify.incremental.plan);
    s3:// ones are downloaded into workdir."""
    display: dict[str, str] = {}
    sizes: dict[str, int] = {}

    def fetch(what: str) -> list[str]:
        files = batch.files.get(what, [])
        remote = [file for file in files if is_s3(file.location)]
        if not remote:
            sizes.update((file.location, file.size) for file in files)
            return [file.location for file in files]
        from sparkify import aws

        log.info("  downloading %s new %s files ...", f"{len(remote):,}", what)
        with Progress(f"downloading {what}", len(remote)) as progress:
            objects = [aws.S3Object(file.name, file.size, file.version, file.location) for file in remote]
            paths = aws.download_objects(objects, workdir / "s3" / what.lower(), progress=lambda *_: progress.advance())
        display.update({str(path): file.location for path, file in zip(paths, remote)})
        sizes.update((str(path), file.size) for path, file in zip(paths, remote))
        return [str(path) for path in paths]

    jsonpath = inputs.log_jsonpath
    if jsonpath and is_s3(jsonpath):
        from sparkify import aws

        jsonpath = str(aws.download_file(jsonpath, workdir / "s3" / "log_json_path.json"))
    return LocalFiles(
        events=fetch(schema.input_of("staging_events")),
        songs=fetch(schema.input_of("staging_songs")),
        keys=event_keys(jsonpath),
        display=display,
        sizes=sizes,
    )
