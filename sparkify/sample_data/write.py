"""The files on disk: song_data/X/Y/Z/TR....json, log_data/YYYY/MM/...-events.json,
and clearing what a previous run wrote."""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import date, timedelta
from pathlib import Path

from sparkify.sample_data.catalog import Song

WRITE_THREADS = 8  # parallel small-file writes (latency bound, not CPU bound)

_SONG_FILE_RE = re.compile(r"TR[A-Z0-9]{16}\.json")
_LOG_FILE_RE = re.compile(r"\d{4}-\d{2}-\d{2}-events\.json")


def clear_previous(out_dir: Path, keep: set[Path]) -> None:
    """Delete the song and log files a previous run wrote (recognised by their
    names and depth) that are not in keep (those get overwritten), and the
    folders that leaves empty; nothing else."""
    for top, pattern, depth in (("song_data", _SONG_FILE_RE, 3), ("log_data", _LOG_FILE_RE, 2)):
        root = out_dir / top
        if not root.is_dir():
            continue
        stale = [
            path
            for path in sorted(root.glob("/".join(["*"] * (depth + 1))))
            if path not in keep and pattern.fullmatch(path.name) and path.is_file()
        ]
        with ThreadPoolExecutor(max_workers=WRITE_THREADS) as pool:
            list(pool.map(Path.unlink, stale))
        emptied = {folder for path in stale for folder in path.parents[:depth]}
        for folder in sorted(emptied, key=lambda p: (-len(p.parts), str(p))):
            if not any(folder.iterdir()):
                folder.rmdir()
        if not any(root.iterdir()):
            root.rmdir()


def song_path(out_dir: Path, track_id: str) -> Path:
    """song_data/X/Y/Z/<track>.json, X/Y/Z the track id's 3rd-5th characters."""
    return out_dir / "song_data" / track_id[2] / track_id[3] / track_id[4] / f"{track_id}.json"


def log_path(out_dir: Path, day: date) -> Path:
    return out_dir / "log_data" / f"{day:%Y}" / f"{day:%m}" / f"{day:%Y-%m-%d}-events.json"


def _write_bytes(path: Path, data: bytes) -> None:
    """Create or truncate path and write data (one syscall each: many small files)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    try:
        os.write(fd, data)
    finally:
        os.close(fd)


def _write_batch(files: Sequence[tuple[Path, bytes]]) -> None:
    """Write files (making their folders); one thread's share of the song files."""
    made: set[Path] = set()
    for path, data in files:
        if path.parent not in made:
            path.parent.mkdir(parents=True, exist_ok=True)
            made.add(path.parent)
        _write_bytes(path, data)


def write_songs(out_dir: Path, catalog: Sequence[Song], progress: Callable[[str], None]) -> None:
    """One file per song. Small-file creation is I/O latency bound, so threads
    write in parallel, one top-level folder (song_data/X) per batch; the bytes
    do not depend on the order."""
    batches: dict[str, list[tuple[Path, bytes]]] = {}
    for song in sorted(catalog, key=lambda s: s.track_id):
        batches.setdefault(song.track_id[2], []).append(
            (song_path(out_dir, song.track_id), song.to_json().encode("ascii"))
        )
    (out_dir / "song_data").mkdir(exist_ok=True)
    written = 0
    with ThreadPoolExecutor(max_workers=WRITE_THREADS) as pool:
        for batch, _ in zip(batches.values(), pool.map(_write_batch, batches.values()), strict=True):
            if (written + len(batch)) // 10_000 > written // 10_000:
                progress(f"song_data: {written + len(batch)} of {len(catalog)} files written")
            written += len(batch)


def write_logs(
    out_dir: Path,
    days: Sequence[list[tuple[int, int, int, str]]],
    start: date,
    progress: Callable[[str], None],
) -> list[date]:
    """One NDJSON file per day with events, ts order, blank lines near the top of the first."""
    written: list[date] = []
    for index, rows in enumerate(days):
        if not rows:
            continue
        rows.sort()
        lines = [row[3] for row in rows]
        if not written:  # the real first file has blank lines after events 1 and 2
            for pos in (2, 1):
                if pos < len(lines):
                    lines.insert(pos, "")
        day = start + timedelta(days=index)
        path = log_path(out_dir, day)
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "w", encoding="ascii", newline="", buffering=1 << 20) as f:
            f.write("\n".join(lines))
        rows.clear()
        written.append(day)
        if len(written) % 10 == 0:
            progress(f"log_data: {len(written)} day files written")
    return written
