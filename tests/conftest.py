"""Shared fixtures: crafted inputs, config files, and a throwaway PostgreSQL server.

The PostgreSQL server is real (Debian's postgresql package): started once per
test session in a temporary folder on a free local port, one fresh database
per test, stopped at the end. Outside CI a machine without PostgreSQL skips
those tests; in CI (CI=true) that is a failure.

Every test module gets these fixtures, and those of aws_helpers.py (``aws``,
``serverless``), without importing them; the plain helpers are imported from
helpers.py.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest
from helpers import PG_PASSWORD, PG_USER, Inputs, free_port, new_database, pg_bindir, play, song, write_config
from redshift_double import Warehouses

pytest_plugins = ["aws_helpers"]


@pytest.fixture
def inputs(tmp_path) -> Inputs:
    return Inputs(tmp_path / "input")


@pytest.fixture(params=["duckdb", "postgres"])
def engine_name(request) -> str:
    """Run a test on both local engines."""
    return request.param


@pytest.fixture
def warehouse(request, engine_name, inputs, tmp_path, monkeypatch):
    """A config file for the chosen engine on the crafted inputs; returns its path."""
    sections = {
        "DWH": {"ENGINE": engine_name, "DUCKDB_PATH": "warehouse.duckdb"},
        "S3": {"LOG_DATA": "input/log_data", "SONG_DATA": "input/song_data"},
    }
    if engine_name == "postgres":
        database = request.getfixturevalue("pg_database")
        sections["CLUSTER"] = database
        monkeypatch.setenv("DWH_DB_PASSWORD", PG_PASSWORD)
    return write_config(tmp_path / "dwh.cfg", sections)


@pytest.fixture(scope="session")
def pg_server():
    """A PostgreSQL server of our own on 127.0.0.1, for the whole session."""
    bindir = pg_bindir()
    if bindir is None:
        message = "PostgreSQL is not installed (apt-get install postgresql)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    root = Path(tempfile.mkdtemp(prefix="sparkify-pg-"))
    data = root / "data"
    pwfile = root / "pwfile"
    pwfile.write_text(PG_PASSWORD)
    prefix: list[str] = []
    if os.geteuid() == 0:  # initdb refuses to run as root: use the postgres system user
        shutil.chown(root, "postgres")
        shutil.chown(pwfile, "postgres")
        prefix = ["runuser", "-u", "postgres", "--"]
    port = free_port()
    subprocess.run(
        [*prefix, str(bindir / "initdb"), "-D", str(data), "-U", PG_USER, f"--pwfile={pwfile}",
         "--auth=scram-sha-256", "-E", "UTF8", "--locale=C"],
        check=True, capture_output=True,
    )
    options = f"-c listen_addresses=127.0.0.1 -c port={port} -c unix_socket_directories={root} -c fsync=off"
    subprocess.run(
        [*prefix, str(bindir / "pg_ctl"), "-D", str(data), "-o", options, "-l", str(root / "log"), "-w", "start"],
        check=True, capture_output=True,
    )
    try:
        yield {"HOST": "127.0.0.1", "DB_PORT": str(port), "DB_USER": PG_USER}
    finally:
        subprocess.run([*prefix, str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"], capture_output=True)
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def pg_database(pg_server) -> dict[str, str]:
    """A fresh, empty database on the session's server, per test."""
    return new_database(pg_server)


@pytest.fixture
def warehouses(pg_server, aws, monkeypatch, tmp_path) -> Warehouses:
    """Redshift warehouses on the double (reading moto's S3, directly or over the Data API) and DuckDB ones."""
    made = Warehouses(pg_server, aws.s3, monkeypatch, tmp_path)
    yield made
    for double in made.doubles.values():
        double.close()


@pytest.fixture
def new_warehouse(request, engine_name, monkeypatch):
    """Make a config for a fresh, empty warehouse in a folder, reading input_dir (default folder/input)."""
    server = None
    if engine_name == "postgres":
        server = request.getfixturevalue("pg_server")
        monkeypatch.setenv("DWH_DB_PASSWORD", PG_PASSWORD)

    def make(folder: Path, input_dir: Path | None = None) -> Path:
        folder.mkdir(parents=True, exist_ok=True)
        input_dir = input_dir or folder / "input"
        for name in ("log_data", "song_data"):
            (input_dir / name).mkdir(parents=True, exist_ok=True)
        sections = {
            "DWH": {"ENGINE": engine_name, "DUCKDB_PATH": str(folder / "warehouse.duckdb")},
            "S3": {"LOG_DATA": str(input_dir / "log_data"), "SONG_DATA": str(input_dir / "song_data")},
        }
        if server:
            sections["CLUSTER"] = new_database(server)
        return write_config(folder / "dwh.cfg", sections)

    return make


@pytest.fixture
def one_play_on_postgres(inputs, tmp_path, pg_database, monkeypatch) -> Path:
    """A config for a PostgreSQL warehouse reading one play of one song (not yet built)."""
    inputs.events([play("S", "A", 1.0)])
    inputs.songs([song("SO1", "S", "AR1", "A", 1.0)])
    monkeypatch.setenv("DWH_DB_PASSWORD", PG_PASSWORD)
    return write_config(tmp_path / "dwh.cfg", {
        "DWH": {"ENGINE": "postgres"},
        "CLUSTER": pg_database,
        "S3": {"LOG_DATA": "input/log_data", "SONG_DATA": "input/song_data"},
    })
