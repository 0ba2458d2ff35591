"""Shared helpers of the tests: crafted inputs, config files, running the scripts, a new database.

Import them by name (``from helpers import build, play, song``); the fixtures
are in conftest.py, which pytest loads itself (never ``from conftest import``).
"""

from __future__ import annotations

import glob
import json
import shutil
import socket
import uuid
from pathlib import Path

import psycopg2

import create_tables
import etl
from sparkify.config import load_config

REPO = Path(__file__).resolve().parent.parent
REAL_SAMPLE = REPO.parent / "shared" / "data" / "udacity-sample"
PG_USER = "sparkify"
PG_PASSWORD = "Test-only-Passw0rd"


# ------------------------------------------------------------------ inputs


def event(**fields) -> dict:
    """An eventsim record with sensible defaults; override any field."""
    record = {
        "artist": None,
        "auth": "Logged In",
        "firstName": "Ada",
        "gender": "F",
        "itemInSession": 0,
        "lastName": "Lovelace",
        "length": None,
        "level": "free",
        "location": "Boston-Cambridge-Newton, MA-NH",
        "method": "GET",
        "page": "Home",
        "registration": 1540919166796.0,
        "sessionId": 1,
        "song": None,
        "status": 200,
        "ts": 1541105830796,
        "userAgent": '"Mozilla/5.0 (Windows NT 6.1; WOW64) Chrome/35.0"',
        "userId": "10",
    }
    record.update(fields)
    return record


def play(song: str, artist: str, length: float, **fields) -> dict:
    """A NextSong event."""
    return event(page="NextSong", method="PUT", song=song, artist=artist, length=length, **fields)


def song(song_id: str, title: str, artist_id: str, artist_name: str, duration: float, **fields) -> dict:
    record = {
        "num_songs": 1,
        "artist_id": artist_id,
        "artist_latitude": None,
        "artist_longitude": None,
        "artist_location": "",
        "artist_name": artist_name,
        "song_id": song_id,
        "title": title,
        "duration": duration,
        "year": 2001,
    }
    record.update(fields)
    return record


class Inputs:
    """A log_data and song_data folder in tmp_path, written line by line as given."""

    def __init__(self, root: Path):
        self.root = root
        self.log_data = root / "log_data"
        self.song_data = root / "song_data"
        self.log_data.mkdir(parents=True, exist_ok=True)
        self.song_data.mkdir(parents=True, exist_ok=True)

    def events(self, records, name: str = "2018-11-01-events.json") -> Path:
        """One log file; a record is a dict (dumped) or a str/bytes (written as is)."""
        path = self.log_data / "2018" / "11" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"".join(_line(record) for record in records))
        return path

    def songs(self, records) -> list[Path]:
        """One file per song, in the A/B/C/TR....json layout."""
        paths = []
        for number, record in enumerate(records):
            path = self.song_data / "A" / "B" / "C" / f"TRABC{number:05d}.json"
            path.parent.mkdir(parents=True, exist_ok=True)
            data = _line(record).rstrip(b"\n")
            path.write_bytes(data)
            paths.append(path)
        return paths


def _line(record) -> bytes:
    if isinstance(record, bytes):
        return record
    if isinstance(record, str):
        return record.encode("utf-8")
    return (json.dumps(record) + "\n").encode("utf-8")


def raw_plays(root: Path) -> list[dict]:
    """The answer key, from the raw files in plain Python: every NextSong event of
    root/log_data with the song_id and artist_id it matches in root/song_data
    (same title and artist name, closest duration, then smallest song_id) or None."""
    songs: dict[tuple[str, str], list[dict]] = {}
    for path in (root / "song_data").rglob("*.json"):
        record = json.loads(path.read_text(encoding="utf-8"))
        songs.setdefault((record["title"], record["artist_name"]), []).append(record)
    plays = []
    for path in sorted((root / "log_data").rglob("*.json")):
        for line in path.read_text(encoding="utf-8").splitlines():
            event = json.loads(line) if line.strip() else {}
            if event.get("page") != "NextSong":
                continue
            candidates = songs.get((event["song"], event["artist"]), [])
            best = min(candidates, key=lambda s: (abs(s["duration"] - event["length"]), s["song_id"]), default=None)
            event["song_id"] = best["song_id"] if best else None
            event["artist_id"] = best["artist_id"] if best else None
            plays.append(event)
    return plays


# ------------------------------------------------------------------ config


def write_config(path: Path, sections: dict[str, dict[str, str]]) -> Path:
    lines = []
    for section, values in sections.items():
        lines.append(f"[{section}]")
        lines.extend(f"{key} = {value}" for key, value in values.items())
        lines.append("")
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


def run(script, *argv) -> int:
    return script.main([str(arg) for arg in argv])


def build(config: Path, *etl_args) -> int:
    """create_tables.py then etl.py, as a user runs them."""
    assert run(create_tables, "--config", config, "--yes", "-q") == 0
    return run(etl, "--config", config, "-q", *etl_args)


def generated_warehouse(root: Path, *, events: int, songs: int, seed: int) -> Path:
    """Generate data into root/input, build a DuckDB warehouse from it; return its config file."""
    from sparkify.sample_data import generate

    generate(root / "input", events=events, songs=songs, seed=seed)
    config = write_config(root / "dwh.cfg", {
        "DWH": {"DUCKDB_PATH": "warehouse.duckdb"},
        "S3": {"LOG_DATA": "input/log_data", "SONG_DATA": "input/song_data"},
    })
    assert build(config) == 0
    return config


def fetch(config: Path, statement: str) -> list[tuple]:
    """Rows of a query on the configured warehouse, through the project's engine."""
    from sparkify.engines import connect

    with connect(load_config(config)) as engine:
        return engine.query(statement)


def table(config: Path, name: str, order_by: str = "1") -> list[tuple]:
    return fetch(config, f"SELECT * FROM {name} ORDER BY {order_by}")


def loaded_rows(config: Path, source: str) -> int:
    """The records the runs so far loaded from an input (LOG_DATA, SONG_DATA), as the record of
    loaded files counts them: a successful run empties staging, its rows are in the star schema."""
    from sparkify.engines import connect

    with connect(load_config(config)) as engine:
        statement = engine.render("SELECT COALESCE(SUM(row_count), 0) FROM loaded_files WHERE source = {p}")
        return int(engine.query(statement, [source])[0][0])


# ------------------------------------------------------------------ PostgreSQL


def pg_bindir() -> Path | None:
    for candidate in sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True):
        if Path(candidate, "initdb").exists():
            return Path(candidate)
    found = shutil.which("initdb")
    return Path(found).parent if found else None


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def new_database(pg_server: dict[str, str]) -> dict[str, str]:
    """Create a fresh, empty database on the server; return [CLUSTER] settings for it."""
    name = "t_" + uuid.uuid4().hex[:12]
    admin = psycopg2.connect(host=pg_server["HOST"], port=pg_server["DB_PORT"], user=PG_USER,
                             password=PG_PASSWORD, dbname="postgres")
    admin.autocommit = True
    with admin.cursor() as cursor:
        cursor.execute(f"CREATE DATABASE {name}")
    admin.close()
    return {**pg_server, "DB_NAME": name}


def redshift_example(path: Path, bucket: str = "udacity-dend") -> Path:
    """A copy of dwh.cfg.example switched to Redshift, as docs/redshift.md does it: the example
    starts on the embedded engine with the bundled sample; Redshift reads s3:// inputs."""
    text = (REPO / "dwh.cfg.example").read_text(encoding="utf-8")
    switched = text.replace("\nENGINE = duckdb\n", "\nENGINE = redshift\n")
    switched = switched.replace("= data/sample/", f"= s3://{bucket}/")
    inputs = [line for line in switched.splitlines() if line.startswith(("LOG_DATA", "SONG_DATA", "LOG_JSONPATH"))]
    assert len(inputs) == 3 and all(f"= s3://{bucket}/" in line for line in inputs), inputs
    assert "\nENGINE = redshift\n" in switched, "dwh.cfg.example does not say ENGINE = duckdb any more: update this"
    path.write_text(switched, encoding="utf-8")
    return path


def postgres_over_the_data_api(monkeypatch) -> None:
    """The seam for the PostgreSQL dialect behind the Data API double: AWS's Data API serves only engine
    redshift, whose connection it is (RedshiftEngine.open_data_api); the config admits it for postgres
    too, and the PostgreSQL engine opens it as Redshift's does."""
    from sparkify import config as config_module
    from sparkify.engines.postgres import PostgresEngine
    from sparkify.engines.redshift import RedshiftEngine

    monkeypatch.setattr(config_module, "DATA_API_ENGINES", ("redshift", "postgres"))
    direct = PostgresEngine.open.__func__
    over_api = RedshiftEngine.open_data_api.__func__

    def open_(cls, config, read_only=False):
        return over_api(cls, config, read_only) if config.data_api is not None else direct(cls, config, read_only)

    monkeypatch.setattr(PostgresEngine, "open", classmethod(open_))

