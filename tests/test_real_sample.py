"""The real public Udacity sample (read from ../shared, never copied): the rules hold on it.

Every expected figure is computed here in plain Python from the raw files, not
hard-coded, and compared with what the pipeline built.
"""

from __future__ import annotations

import json
from collections import Counter

import pytest
from helpers import REAL_SAMPLE, build, fetch, loaded_rows, write_config

pytestmark = pytest.mark.skipif(not REAL_SAMPLE.is_dir(), reason="the real sample is not beside the repo")


@pytest.fixture(scope="module")
def raw():
    events = [
        json.loads(line)
        for path in sorted((REAL_SAMPLE / "log_data").rglob("*.json"))
        for line in path.read_text(encoding="utf-8").splitlines()
        if line.strip()
    ]
    songs = [json.loads(path.read_text(encoding="utf-8")) for path in sorted((REAL_SAMPLE / "song_data").rglob("*.json"))]
    return events, songs


@pytest.fixture
def real_warehouse(engine_name, tmp_path, request, monkeypatch):
    sections = {
        "DWH": {"ENGINE": engine_name, "DUCKDB_PATH": "real.duckdb"},
        "S3": {
            "LOG_DATA": REAL_SAMPLE / "log_data",
            "SONG_DATA": REAL_SAMPLE / "song_data",
            "LOG_JSONPATH": REAL_SAMPLE / "log_json_path.json",
        },
    }
    if engine_name == "postgres":
        sections["CLUSTER"] = request.getfixturevalue("pg_database")
        monkeypatch.setenv("DWH_DB_PASSWORD", "Test-only-Passw0rd")
    config = write_config(tmp_path / "dwh.cfg", sections)
    assert build(config) == 0
    return config


def count(config, table):
    return fetch(config, f"SELECT COUNT(*) FROM {table}")[0][0]


def test_real_sample_follows_the_rules(raw, real_warehouse):
    events, songs = raw
    plays = [e for e in events if e["page"] == "NextSong"]
    assert loaded_rows(real_warehouse, "LOG_DATA") == len(events) == 8056
    assert loaded_rows(real_warehouse, "SONG_DATA") == len(songs) == 71
    assert count(real_warehouse, "load_errors") == 0
    assert count(real_warehouse, "songplays") == len(plays)
    assert count(real_warehouse, "time") == len({e["ts"] for e in plays})
    assert count(real_warehouse, "songs") == len({s["song_id"] for s in songs})
    assert count(real_warehouse, "artists") == len({s["artist_id"] for s in songs})

    latest = {}
    for e in sorted(events, key=lambda e: (e["ts"], e["sessionId"], e["itemInSession"])):
        if e["userId"] != "":
            latest[int(e["userId"])] = e["level"]
    assert dict(fetch(real_warehouse, "SELECT user_id, level FROM users")) == latest

    titles = Counter((s["title"], s["artist_name"]) for s in songs)
    matched = sum(1 for p in plays if titles[(p["song"], p["artist"])])
    assert fetch(real_warehouse, "SELECT COUNT(song_id) FROM songplays")[0][0] == matched
