"""The sample-data generator: determinism, layout, quirks, match share, CLI."""

from __future__ import annotations

import itertools
import json
import re
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

import generate_sample
from sparkify import sample_data
from sparkify.sample_data import LOG_FIELDS, SONG_FIELDS, generate

BUNDLED = Path(__file__).resolve().parent.parent / "data" / "sample"
EXPECTED_JSONPATHS = [
    "$['artist']",
    "$['auth']",
    "$['firstName']",
    "$['gender']",
    "$['itemInSession']",
    "$['lastName']",
    "$['length']",
    "$['level']",
    "$['location']",
    "$['method']",
    "$['page']",
    "$['registration']",
    "$['sessionId']",
    "$['song']",
    "$['status']",
    "$['ts']",
    "$['userAgent']",
    "$['userId']",
]
# As in the real logs (and eventsim for the pages the Udacity sample lacks).
METHOD_STATUS = {
    "NextSong": ("PUT", 200),
    "Home": ("GET", 200),
    "Thumbs Up": ("PUT", 307),
    "Thumbs Down": ("PUT", 307),
    "Add to Playlist": ("PUT", 200),
    "Add Friend": ("PUT", 307),
    "Roll Advert": ("GET", 200),
    "Logout": ("PUT", 307),
    "Login": ("PUT", 307),
    "Settings": ("GET", 200),
    "Save Settings": ("PUT", 307),
    "Help": ("GET", 200),
    "About": ("GET", 200),
    "Upgrade": ("GET", 200),
    "Submit Upgrade": ("PUT", 307),
    "Downgrade": ("GET", 200),
    "Submit Downgrade": ("PUT", 307),
    "Error": ("GET", 404),
}
SMALL = {"events": 3000, "songs": 120, "days": 7}


def tree(root: Path) -> dict[str, bytes]:
    """Every file under root: relative path -> bytes."""
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def read_events(root: Path) -> list[dict]:
    events = []
    for path in sorted((root / "log_data").rglob("*.json")):
        events += [json.loads(line) for line in path.read_text().split("\n") if line.strip()]
    return events


def read_songs(root: Path) -> list[dict]:
    return [json.loads(p.read_text()) for p in sorted((root / "song_data").rglob("*.json"))]


@pytest.fixture(scope="module")
def small(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, sample_data.Summary]:
    out = tmp_path_factory.mktemp("small")
    return out, generate(out, seed=7, **SMALL)


def test_same_seed_same_bytes_other_seed_differs(tmp_path: Path) -> None:
    a, b, c = tmp_path / "a", tmp_path / "b", tmp_path / "c"
    generate(a, seed=1, events=1500, songs=60)
    generate(b, seed=1, events=1500, songs=60)
    generate(c, seed=2, events=1500, songs=60)
    first = tree(a)
    assert len(first) > 60
    assert first == tree(b)
    other = tree(c)
    assert set(other) != set(first)  # other track ids
    assert other["log_json_path.json"] == first["log_json_path.json"]


def test_bundled_sample_matches_generator(tmp_path: Path) -> None:
    assert BUNDLED.is_dir(), "data/sample is missing: run python generate_sample.py"
    generate(tmp_path, events=sample_data.DEFAULT_EVENTS, songs=sample_data.DEFAULT_SONGS)
    fresh, bundled = tree(tmp_path), tree(BUNDLED)
    assert sorted(fresh) == sorted(bundled), "data/sample files differ from generate(): rerun generate_sample.py"
    changed = [name for name in fresh if fresh[name] != bundled[name]]
    assert not changed, f"data/sample drifted from the generator: {changed[:5]}"


def test_layout(small: tuple[Path, sample_data.Summary]) -> None:
    out, summary = small
    songs = sorted((out / "song_data").rglob("*.json"))
    assert len(songs) == summary.song_files == SMALL["songs"]
    for path in songs:
        rel = path.relative_to(out / "song_data").parts
        assert re.fullmatch(r"TR[A-Z0-9]{16}\.json", rel[3]), rel
        assert list(rel[:3]) == list(rel[3][2:5])
        raw = path.read_text(encoding="ascii")
        assert not raw.endswith("\n")
        obj = json.loads(raw)  # exactly one object
        assert tuple(obj) == SONG_FIELDS
        assert raw == json.dumps(obj)  # real separators ", " and ": "
        assert re.fullmatch(r"SO[A-Z0-9]{16}", obj["song_id"]) and re.fullmatch(r"AR[A-Z0-9]{16}", obj["artist_id"])

    logs = sorted((out / "log_data").rglob("*"))
    files = [p for p in logs if p.is_file()]
    assert len(files) == summary.log_files == SMALL["days"]
    count = 0
    for path in files:
        day = date.fromisoformat(path.name[:10])
        assert path.relative_to(out).as_posix() == f"log_data/{day:%Y}/{day:%m}/{day:%Y-%m-%d}-events.json"
        raw = path.read_text(encoding="ascii")
        assert not raw.endswith("\n")
        lines = [line for line in raw.split("\n") if line]
        events = [json.loads(line) for line in lines]
        count += len(events)
        assert all(tuple(e) == LOG_FIELDS for e in events)
        assert all(line == json.dumps(e, separators=(",", ":")).replace("/", "\\/") for line, e in zip(lines, events))
        ts = [e["ts"] for e in events]
        assert ts == sorted(ts)
        assert {datetime.fromtimestamp(t / 1000, UTC).date() for t in ts} == {day}
    assert count == summary.events == SMALL["events"]
    assert json.loads((out / "log_json_path.json").read_text())["jsonpaths"] == EXPECTED_JSONPATHS


def test_events_look_like_eventsim(small: tuple[Path, sample_data.Summary]) -> None:
    out, _ = small
    events = read_events(out)
    pages = [e["page"] for e in events]
    assert 0.74 <= pages.count("NextSong") / len(pages) <= 0.86
    assert {"Home", "Thumbs Up", "Add to Playlist", "Roll Advert", "Logout", "Login"} <= set(pages)
    for e in events:
        assert isinstance(e["ts"], int) and isinstance(e["sessionId"], int) and isinstance(e["itemInSession"], int)
        assert (e["method"], e["status"]) == METHOD_STATUS[e["page"]], e
        assert (e["length"] is not None) == (e["page"] == "NextSong")
        if e["auth"] == "Logged In":
            assert e["userId"] and e["gender"] in {"M", "F"} and re.search(r", [A-Z]{2}", e["location"])
    sessions: dict[int, list[dict]] = {}
    for e in events:
        sessions.setdefault(e["sessionId"], []).append(e)
    for rows in sessions.values():
        rows.sort(key=lambda e: e["itemInSession"])
        assert [e["itemInSession"] for e in rows] == list(range(len(rows)))
        assert all(a["ts"] <= b["ts"] for a, b in itertools.pairwise(rows))
        assert len({e["userId"] for e in rows if e["userId"]}) <= 1


def test_quirks_present(small: tuple[Path, sample_data.Summary]) -> None:
    out, _ = small
    songs = read_songs(out)
    assert any(s["year"] == 0 for s in songs)
    assert any(s["artist_latitude"] is None and s["artist_longitude"] is None for s in songs)
    assert any(s["artist_location"] == "" for s in songs)
    assert all(s["song_id"] for s in songs)
    spellings: dict[str, set[tuple[str, str]]] = {}
    for s in songs:
        spellings.setdefault(s["artist_id"], set()).add((s["artist_name"], s["artist_location"]))
    assert any(len(v) > 1 for v in spellings.values()), "no artist with two spellings/locations"
    durations: dict[tuple[str, str], set[float]] = {}
    for s in songs:
        durations.setdefault((s["title"], s["artist_name"]), set()).add(s["duration"])
    assert any(len(v) > 1 for v in durations.values()), "no same title+artist pair with two durations"

    events = read_events(out)
    logged_out = [e for e in events if e["auth"] == "Logged Out"]
    assert logged_out
    for e in logged_out:
        assert e["userId"] == "" and e["firstName"] is None and e["registration"] is None and e["userAgent"] is None
    assert all(isinstance(e["registration"], float) for e in events if e["auth"] == "Logged In")
    assert any(e["userAgent"] and e["userAgent"].startswith('"') for e in events)
    levels: dict[str, list[str]] = {}
    for e in sorted(events, key=lambda e: (e["ts"], e["sessionId"], e["itemInSession"])):
        if e["userId"]:
            levels.setdefault(e["userId"], []).append(e["level"])
    paths = {tuple(k for k, _ in itertools.groupby(v)) for v in levels.values()}
    assert any(p[:2] == ("free", "paid") for p in paths), "no user upgrades"

    files = sorted((out / "log_data").rglob("*.json"))
    first = files[0].read_text().split("\n")
    assert first[1] == "" and first[3] == "" and all(line for line in first[4:])
    raw = b"".join(p.read_bytes() for p in files)
    assert b'"userAgent":"\\"Mozilla\\/5.0 (' in raw  # literal quotes, "/" escaped
    assert b".0,\"sessionId\"" in raw  # float registration


@pytest.mark.parametrize("share", [0.5, 0.9])
def test_match_share_respected(tmp_path: Path, share: float) -> None:
    summary = generate(tmp_path, events=4000, songs=150, days=5, seed=3, match_share=share)
    songs = {(s["title"], s["artist_name"], s["duration"]) for s in read_songs(tmp_path)}
    plays = [e for e in read_events(tmp_path) if e["page"] == "NextSong"]
    matched = sum((e["song"], e["artist"], e["length"]) in songs for e in plays)
    assert len(plays) == summary.nextsong_events
    assert matched == summary.matched_nextsong_events
    assert abs(matched / len(plays) - share) < 0.04


def test_rerun_replaces_own_files_only(tmp_path: Path) -> None:
    out, fresh = tmp_path / "out", tmp_path / "fresh"
    generate(out, events=800, songs=50, days=4)
    (out / "song_data" / "notes.txt").write_text("keep me")
    (out / "README.md").write_text("keep me too")
    summary = generate(out, events=300, songs=20, days=2, seed=9)
    assert len(list((out / "song_data").rglob("TR*.json"))) == summary.song_files == 20
    assert len(list((out / "log_data").rglob("*.json"))) == summary.log_files == 2
    assert (out / "song_data" / "notes.txt").read_text() == "keep me"
    assert (out / "README.md").read_text() == "keep me too"
    generate(fresh, events=300, songs=20, days=2, seed=9)
    rerun = tree(out)
    del rerun["song_data/notes.txt"], rerun["README.md"]
    assert rerun == tree(fresh)  # no stale files, no leftover folders' files
    leftover_dirs = [p for p in (out / "song_data").rglob("*") if p.is_dir() and not any(p.iterdir())]
    assert not leftover_dirs


def test_invalid_arguments_raise(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="match_share"):
        generate(tmp_path, events=10, songs=5, match_share=1.5)
    with pytest.raises(ValueError, match="events"):
        generate(tmp_path, events=0, songs=5)
    assert not any(tmp_path.iterdir())


def test_cli_help(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        generate_sample.main(["--help"])
    assert exit_info.value.code == 0
    text = capsys.readouterr().out
    for option in ("--out", "--events", "--songs", "--seed", "--days", "--start", "--match-share"):
        assert option in text
    assert "song_data" in text and "log_data" in text


@pytest.mark.parametrize(
    "argv",
    [["--match-share", "1.5"], ["--events", "0"], ["--start", "2018-13-01"], ["--days", "x"]],
)
def test_cli_rejects_bad_arguments(tmp_path: Path, capsys: pytest.CaptureFixture[str], argv: list[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        generate_sample.main(["--out", str(tmp_path / "out"), *argv])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert "error:" in err[-1]
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--events", "0"], "--events must be at least 1, not 0"),
        (["--songs", "0"], "--songs must be at least 1, not 0"),
        (["--days", "-2"], "--days must be at least 1, not -2"),
        (["--match-share", "1.5"], "--match-share must be between 0 and 1, not 1.5"),
        (["--users", "0"], "--users must be at least 1, not 0"),
        (["--events", "0", "--songs", "0"], "--events must be at least 1, not 0"),  # the first one is named
    ],
)
def test_cli_names_the_bad_option(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    with pytest.raises(SystemExit) as exit_info:
        generate_sample.main(["--out", str(tmp_path / "out"), *argv])
    assert exit_info.value.code == 2
    assert capsys.readouterr().err.splitlines()[-1].endswith(f" error: {message}")
    assert not (tmp_path / "out").exists()


def test_cli_checks_the_sizes_then_the_out_folder(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    target = tmp_path / "a-file"
    target.write_text("")
    for argv, message in (([], f"--out is not a folder: {target}"), (["--songs", "0"], "--songs must be at least 1, not 0")):
        with pytest.raises(SystemExit) as exit_info:
            generate_sample.main(["--out", str(target), *argv])
        assert exit_info.value.code == 2
        assert capsys.readouterr().err.splitlines()[-1].endswith(f" error: {message}")


def test_invalid_arguments_are_named_exactly(tmp_path: Path) -> None:
    cases = [
        ({"events": 0}, "events must be at least 1, not 0"),
        ({"songs": -1}, "songs must be at least 1, not -1"),
        ({"days": 0}, "days must be at least 1, not 0"),
        ({"match_share": -0.1}, "match_share must be between 0 and 1, not -0.1"),
        ({"users": 0}, "users must be at least 1, not 0"),
    ]
    for bad, message in cases:
        with pytest.raises(ValueError) as error:
            generate(tmp_path, **{"events": 10, "songs": 5, **bad})
        assert str(error.value) == message
    assert not any(tmp_path.iterdir())


def test_cli_writes_and_summarises(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = generate_sample.main(["--out", str(tmp_path), "--events", "500", "--songs", "30", "--days", "3", "-q"])
    assert code == 0
    out = capsys.readouterr()
    assert out.err == ""
    assert len(out.out.strip().splitlines()) == 1 and "500 events" in out.out
    assert len(list((tmp_path / "song_data").rglob("*.json"))) == 30
