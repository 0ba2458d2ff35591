"""Incremental loading: after any sequence of successful runs over a growing input
(new days, older days that arrive late, new song files, songs that arrive after
their plays), the star schema equals what create_tables.py + one etl.py over the
same files gives - except songplay_id, which is unique, never reused and never
changes once given. Plus the record of loaded files and the runs that load
nothing, stop, or only plan.

Every test runs on DuckDB and on a real PostgreSQL server (``engine_name``).
"""

from __future__ import annotations

import json
import os
import random
import shutil
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import pytest
from helpers import build, event, fetch, play, run, song

import create_tables
import etl
import sql_queries as sql
from sparkify.sample_data import generate

# Each star table as compared with one full load: songplays without songplay_id.
STAR_COLUMNS = {
    "songplays": "start_time, user_id, level, song_id, artist_id, session_id, location, user_agent",
    "users": "*",
    "songs": "*",
    "artists": "*",
    "time": "*",
}
# What a songplay id stands for; its song_id/artist_id may be filled in (or made closer) when songs arrive.
PLAY_IDENTITY = "songplay_id, start_time, user_id, level, session_id, location, user_agent"
CHANGED = (
    "error: LOG_DATA file 2018/11/2018-11-01-events.json changed since it was loaded (size or modification time)"
    " - its rows would be counted twice: python etl.py --full-refresh rebuilds from all the input\n"
)


# ----------------------------------------------------------------- helpers


def add(root: Path, name: str, records) -> Path:
    """Write root/name, one JSON record per line."""
    path = root / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(r if isinstance(r, str) else json.dumps(r) + "\n" for r in records), encoding="utf-8")
    return path


def rows(config: Path, statement: str) -> list[tuple]:
    """A query's rows in a fixed order (a multiset, whatever order the engine returns)."""
    return sorted(fetch(config, statement), key=repr)


def star(config: Path) -> dict[str, list[tuple]]:
    return {name: rows(config, f"SELECT {columns} FROM {name}") for name, columns in STAR_COLUMNS.items()}


def record(config: Path) -> list[tuple]:
    return rows(config, "SELECT * FROM loaded_files")


def everything(config: Path) -> dict[str, list[tuple]]:
    """Every table of the warehouse, whole."""
    return {name: rows(config, f"SELECT * FROM {name}") for name in sql.ALL_TABLES}


def differences(got: dict, want: dict) -> list[str]:
    """Per table, the rows one side has more of than the other (a few of each)."""
    found = []
    for name in want:
        extra, missing = Counter(got[name]) - Counter(want[name]), Counter(want[name]) - Counter(got[name])
        if extra or missing:
            found.append(f"{name}: extra {list(extra.elements())[:3]}, missing {list(missing.elements())[:3]}")
    return found


def etl_run(config: Path, capsys, *args) -> tuple[int, str, str]:
    """etl.py -q: (exit code, stdout, stderr)."""
    capsys.readouterr()
    code = run(etl, "--config", config, "-q", *args)
    out, err = capsys.readouterr()
    return code, out, err


# ----------------------------------------------------------------- the input of the main test


def ts(day: int, second: int) -> int:
    """Epoch ms of 2018-11-<day> 12:00:<second> UTC."""
    return int(datetime(2018, 11, day, 12, 0, second, tzinfo=UTC).timestamp() * 1000)


def crafted_days() -> dict[int, list[dict]]:
    """Three days after the generated ones, with the cases an incremental load can get wrong."""
    flip = {"userId": "90001", "firstName": "Flip"}  # free, paid, free: the latest level wins
    late = {"userId": "90002", "firstName": "Late"}  # latest on day 11, which one order reveals after day 12
    tie = {"userId": "90003", "firstName": "Tie"}  # two events at one ts: the later session wins
    plays = {"userId": "90004", "firstName": "Player", "sessionId": 40}
    return {
        10: [
            play("Twin Title", "Crafted Twins", 201.0, ts=ts(10, 1), level="free", lastName="Day10", **flip),
            play("Late Song", "Late Artist", 180.0, ts=ts(10, 2), level="free", lastName="Day10", **late),
            # the songs they match (CRAFTED_SONGS): the closest duration, then the smallest song_id
            play("Twin Title", "Crafted Twins", 209.0, ts=ts(10, 3), itemInSession=1, **plays),  # 02 (as near: 03)
            play("Twin Title", "Crafted Twins", 205.0, ts=ts(10, 4), itemInSession=2, **plays),  # 01 (as near: 02, 03)
            play("Closer", "Crafted Closer", 251.0, ts=ts(10, 5), itemInSession=3, **plays),  # 31, which comes later
            play("Twin Title", "Crafted Twins", None, ts=ts(10, 6), itemInSession=4, **plays),  # no length: 01
            play("Nobody's Song", "Nobody", 100.0, ts=ts(10, 7), itemInSession=5, **plays),  # no song
        ],
        11: [
            event(ts=ts(11, 1), level="paid", lastName="Day11", **flip),
            play("Twin Title", "Crafted Twins", 210.0, ts=ts(11, 2), level="paid", lastName="Day11", **late),
            event(ts=ts(11, 3), sessionId=5, level="paid", lastName="Session5", **tie),
        ],
        12: [
            play("Late Song", "Late Artist", 180.0, ts=ts(12, 1), level="free", lastName="Day12", **flip),
            event(ts=ts(11, 3), sessionId=4, level="free", lastName="Session4", **tie),  # same ts: later session wins
            play("Closer", "Crafted Closer", 299.0, ts=ts(12, 2), itemInSession=6, **plays),  # SOCRA30
        ],
    }


CRAFTED_SONGS = {  # in three groups that arrive at different times
    "early": [
        song("SOCRA00", "Twin Title", "ARCRA5", "Other Artist", 209.0),  # same title, another artist: never matches
        song("SOCRA01", "Twin Title", "ARCRA1", "Crafted Twins", 200.0),
        song("SOCRA10", "Speller One", "ARCRA2", "The Spellers", 150.0, artist_location=""),
        song("SOCRA30", "Closer", "ARCRA3", "Crafted Closer", 300.0),
    ],
    "middle": [
        song("SOCRA03", "Twin Title", "ARCRA1", "Crafted Twins", 210.0),
        song("SOCRA12", "Speller Three", "ARCRA2", "Spellers", 150.0, artist_location="Boston, MA",
             artist_latitude=42.36, artist_longitude=-71.06),
    ],
    "late": [
        song("SOCRA02", "Twin Title", "ARCRA1", "Crafted Twins", 210.0),  # ties SOCRA03, smaller id: wins
        song("SOCRA11", "Speller Two", "ARCRA2", "Spellers, The", 150.0, artist_location="Austin, TX",
             artist_latitude=30.27, artist_longitude=-97.74),  # has a place, smallest such id: wins
        song("SOCRA20", "Late Song", "ARCRA4", "Late Artist", 180.0),  # after its plays
        song("SOCRA31", "Closer", "ARCRA3", "Crafted Closer", 250.0),  # closer than SOCRA30, after the play
    ],
}


@pytest.fixture(scope="module")
def source(tmp_path_factory) -> tuple[Path, dict]:
    """Generated days and songs plus the crafted ones, in one folder; the names grouped for batching."""
    root = tmp_path_factory.mktemp("source")
    generate(root, events=3000, songs=240, seed=11, days=8)
    names = lambda folder: sorted(str(p.relative_to(root)) for p in (root / folder).rglob("*.json"))  # noqa: E731
    groups = {"days": names("log_data"), "songs": names("song_data")}
    for day, records in crafted_days().items():
        groups[day] = str(add(root, f"log_data/2018/11/2018-11-{day}-events.json", records).relative_to(root))
    for group, records in CRAFTED_SONGS.items():
        groups[group] = [str(add(root, f"song_data/C/R/A/TR{r['song_id']}.json", [r]).relative_to(root))
                         for r in records]
    return root, groups


def orders(groups: dict) -> dict[str, list[list[str]]]:
    """The same files revealed in batches, in several orders."""
    days, songs, third = groups["days"], groups["songs"], len(groups["songs"]) // 3
    batches = [
        days[0:3] + songs[:third] + groups["early"],
        days[3:6] + songs[third : 2 * third] + groups["middle"],
        days[6:] + [groups[10]],
        [groups[11]] + songs[2 * third :],
        [groups[12]] + groups["late"],
    ]
    logs = [[name for name in batch if name.startswith("log_data")] for batch in batches]
    song_files = [[name for name in batch if name.startswith("song_data")] for batch in batches]
    shuffled = sorted(name for batch in batches for name in batch)
    random.Random(2018).shuffle(shuffled)
    return {
        "chronological": batches,
        "reverse": batches[::-1],
        "an older day last": [[n for n in batch if n != groups[11]] for batch in batches] + [[groups[11]]],
        # an input folder without any file is refused (a wrong path?): one generated song comes first
        "songs after their plays": [logs[0] + songs[:1]] + logs[1:]
        + [[name for name in batch if name != songs[0]] for batch in song_files],
        "random": [shuffled[i::5] for i in range(5)],
    }


# ----------------------------------------------------------------- the rule


def test_any_order_of_runs_gives_one_full_load(source, new_warehouse, tmp_path, capsys):
    root, groups = source
    full = new_warehouse(tmp_path / "full", input_dir=root)
    assert build(full) == 0
    want = star(full)
    # the full load itself follows the rules the crafted records are about
    crafted_users = "SELECT user_id, last_name, level FROM users WHERE user_id BETWEEN 90001 AND 90003 ORDER BY 1"
    assert fetch(full, crafted_users) == [
        (90001, "Day12", "free"), (90002, "Day11", "paid"), (90003, "Session5", "paid")]
    assert fetch(full, "SELECT song_id FROM songplays WHERE user_id = 90004 ORDER BY start_time") == [
        ("SOCRA02",), ("SOCRA01",), ("SOCRA31",), ("SOCRA01",), (None,), ("SOCRA30",)]
    assert fetch(full, "SELECT name, location FROM artists WHERE artist_id = 'ARCRA2'") == [
        ("Spellers, The", "Austin, TX")]
    assert fetch(full, "SELECT COUNT(*) FROM songplays WHERE song_id = 'SOCRA20'") == [(2,)]

    for order, batches in orders(groups).items():
        assert sorted(n for b in batches for n in b) == sorted(
            str(p.relative_to(root)) for p in root.rglob("*.json") if p.name != "log_json_path.json")
        folder = tmp_path / order.replace(" ", "-")
        config = new_warehouse(folder)
        assert run(create_tables, "--config", config, "--yes", "-q") == 0
        given: dict[int, tuple] = {}
        for number, batch in enumerate(batches, 1):
            for name in batch:
                (folder / "input" / name).parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(root / name, folder / "input" / name)
            code, _, err = etl_run(config, capsys)
            assert code == 0, f"{order}, batch {number}: {err}"
            plays = fetch(config, f"SELECT {PLAY_IDENTITY} FROM songplays")
            ids = {row[0]: row[1:] for row in plays}
            assert len(ids) == len(plays), f"{order}, batch {number}: a songplay_id given twice"
            changed = [i for i, play_row in given.items() if ids.get(i) != play_row]
            assert not changed, f"{order}, batch {number}: ids given before now name other plays: {changed[:5]}"
            given = ids
        assert differences(star(config), want) == [], f"{order}: not what one full load gives"


def test_a_full_load_numbers_the_plays_in_time_order_across_hours(source, new_warehouse, tmp_path):
    """Plays are numbered per hour of start_time, each hour after the ones before it: the
    ids are 1..n in (start_time, session, item, user, ...) order, as one numbering of all."""
    root, _ = source
    config = new_warehouse(tmp_path / "full", input_dir=root)
    assert build(config) == 0
    plays = fetch(config, "SELECT songplay_id, start_time FROM songplays ORDER BY start_time, session_id, user_id, songplay_id")
    assert len({start.replace(minute=0, second=0, microsecond=0) for _, start in plays}) > 20  # many hours
    assert [songplay_id for songplay_id, _ in plays] == list(range(1, len(plays) + 1))


# ----------------------------------------------------------------- runs that load nothing, stop, or plan


@pytest.fixture
def loaded(warehouse, inputs):
    """A warehouse with one day and two songs loaded; returns its config."""
    inputs.events([event(ts=ts(1, 0)), play("Song A", "Artist A", 200.0, ts=ts(1, 1)),
                   play("Song B", "Artist B", 100.0, ts=ts(1, 2), userId="11")])
    inputs.songs([song("SOA", "Song A", "ARA", "Artist A", 200.0), song("SOB", "Song B", "ARB", "Artist B", 99.0)])
    assert build(warehouse) == 0
    return warehouse


def test_a_successful_run_empties_staging_and_says_what_it_staged(warehouse, inputs, capsys):
    inputs.events([event(ts=ts(1, 0)), play("Song A", "Artist A", 200.0, ts=ts(1, 1))])
    inputs.songs([song("SOA", "Song A", "ARA", "Artist A", 200.0)])
    assert run(create_tables, "--config", warehouse, "--yes", "-q") == 0

    code, out, _ = etl_run(warehouse, capsys, "--json")

    assert code == 0
    assert json.loads(out)["rows"] == {
        "staging_events": 2, "staging_songs": 1, "songplays": 1, "users": 1, "songs": 1, "artists": 1, "time": 1,
    }
    # the batch is in the star schema and the record counts it: no copy stays in staging
    assert fetch(warehouse, "SELECT COUNT(*) FROM staging_events") == [(0,)]
    assert fetch(warehouse, "SELECT COUNT(*) FROM staging_songs") == [(0,)]
    assert sorted(fetch(warehouse, "SELECT source, row_count FROM loaded_files")) == [("LOG_DATA", 2), ("SONG_DATA", 1)]


def test_a_run_with_nothing_new_changes_nothing(loaded, capsys):
    before = everything(loaded)
    code, out, _ = etl_run(loaded, capsys)
    assert code == 0
    assert "nothing new to load" in out
    assert everything(loaded) == before
    code, out, _ = etl_run(loaded, capsys, "--json")
    summary = json.loads(out)
    assert code == 0 and summary["nothing_new"] is True
    assert (summary["rows"]["staging_events"], summary["rows"]["staging_songs"]) == (0, 0)  # it staged nothing
    assert summary["inputs"] == {
        "LOG_DATA": {"new": 0, "changed": 0, "already_loaded": 1, "removed": 0, "same_content": 0},
        "SONG_DATA": {"new": 0, "changed": 0, "already_loaded": 2, "removed": 0, "same_content": 0},
    }
    assert everything(loaded) == before


def test_the_record_names_each_file_its_size_records_rejects_and_run(warehouse, inputs):
    day1 = add(inputs.root, "log_data/2018/11/2018-11-01-events.json",
               [event(ts=ts(1, 0)), "{not json\n", play("Song A", "Artist A", 200.0, ts=ts(1, 1))])
    song_a = add(inputs.root, "song_data/A/B/C/TRABC00000.json", [song("SOA", "Song A", "ARA", "Artist A", 200.0)])
    no_id = add(inputs.root, "song_data/A/B/D/TRABD00000.json", [song(None, "Song X", "ARX", "Artist X", 1.0)])
    assert build(warehouse, "--max-errors", "2") == 0
    day2 = add(inputs.root, "log_data/2018/11/2018-11-02-events.json", [play("Song A", "Artist A", 200.0, ts=ts(2, 1))])
    assert run(etl, "--config", warehouse, "-q") == 0

    loaded = rows(warehouse, "SELECT source, file_name, size_bytes, reject_count, run_id, row_count FROM loaded_files")
    assert [row[:4] for row in loaded] == [
        ("LOG_DATA", "2018/11/2018-11-01-events.json", day1.stat().st_size, 1),
        ("LOG_DATA", "2018/11/2018-11-02-events.json", day2.stat().st_size, 0),
        ("SONG_DATA", "A/B/C/TRABC00000.json", song_a.stat().st_size, 0),
        ("SONG_DATA", "A/B/D/TRABD00000.json", no_id.stat().st_size, 1),
    ]
    run_ids = {name: run_id for _, name, _, _, run_id, _ in loaded}
    second_run = run_ids.pop("2018/11/2018-11-02-events.json")
    assert len(set(run_ids.values())) == 1 and second_run not in run_ids.values()
    assert [row[5] for row in loaded] == [2, 1, 1, 0]  # the records staged from each file


def test_a_changed_file_stops_the_run_until_a_full_refresh(loaded, inputs, new_warehouse, tmp_path, capsys):
    day1 = inputs.log_data / "2018" / "11" / "2018-11-01-events.json"
    before = everything(loaded)
    stat = day1.stat()
    os.utime(day1, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))  # touched: same size, newer
    assert etl_run(loaded, capsys) == (1, "", CHANGED)
    with day1.open("a", encoding="utf-8") as f:  # and now a play more
        f.write(json.dumps(play("Song A", "Artist A", 200.0, ts=ts(1, 3))) + "\n")
    assert etl_run(loaded, capsys) == (1, "", CHANGED)
    assert everything(loaded) == before

    assert etl_run(loaded, capsys, "--full-refresh")[0] == 0
    full = new_warehouse(tmp_path / "full", input_dir=inputs.root)
    assert build(full) == 0
    assert differences(star(loaded), star(full)) == []
    assert fetch(loaded, "SELECT COUNT(*) FROM songplays") == [(3,)]


def test_a_removed_file_keeps_its_rows_until_a_full_refresh(loaded, inputs, new_warehouse, tmp_path, capsys):
    day2 = add(inputs.root, "log_data/2018/11/2018-11-02-events.json", [play("Song B", "Artist B", 99.0, ts=ts(2, 1))])
    assert etl_run(loaded, capsys)[0] == 0
    plays = rows(loaded, "SELECT * FROM songplays")
    day2.unlink()
    code, out, _ = etl_run(loaded, capsys)
    assert code == 0
    assert "  LOG_DATA: 0 new files, 1 already loaded, 1 removed (rows kept)" in out.splitlines()
    assert rows(loaded, "SELECT * FROM songplays") == plays
    assert json.loads(etl_run(loaded, capsys, "--json")[1])["inputs"]["LOG_DATA"]["removed"] == 1

    assert etl_run(loaded, capsys, "--full-refresh")[0] == 0
    full = new_warehouse(tmp_path / "full", input_dir=inputs.root)
    assert build(full) == 0
    assert differences(star(loaded), star(full)) == []
    assert [name for _, name, *_ in record(loaded)] == ["2018/11/2018-11-01-events.json",
                                                       "A/B/C/TRABC00000.json", "A/B/C/TRABC00001.json"]


def test_a_refused_run_records_nothing_and_an_accepted_one_records_its_rejects(warehouse, inputs, capsys):
    add(inputs.root, "log_data/2018/11/2018-11-01-events.json", [play("S", "A", 1.0, ts=ts(1, 1)), "{bad\n"])
    inputs.songs([song("SO1", "S", "AR1", "A", 1.0)])
    assert build(warehouse, "--max-errors", "1") == 0
    day2 = add(inputs.root, "log_data/2018/11/2018-11-02-events.json",
               [play("S", "A", 1.0, ts=ts(2, 1)), "{bad\n", '{"ts": "noon"}\n', play("S", "A", 1.0, ts=ts(2, 2))])
    before = {**star(warehouse), "loaded_files": record(warehouse)}
    code, _, err = etl_run(warehouse, capsys)
    assert code == 1 and err.startswith("error: 2 bad input records (MAX_ERRORS is 0)")
    assert {**star(warehouse), "loaded_files": record(warehouse)} == before

    assert etl_run(warehouse, capsys, "--max-errors", "2")[0] == 0
    assert fetch(warehouse, "SELECT source_file, line_number FROM load_errors ORDER BY line_number") == [
        (str(day2.resolve()), 2), (str(day2.resolve()), 3)]  # this run's rejects only
    events = "SELECT file_name, reject_count, row_count FROM loaded_files WHERE source = 'LOG_DATA' ORDER BY file_name"
    assert [row[:2] for row in fetch(warehouse, events)] == [
        ("2018/11/2018-11-01-events.json", 1), ("2018/11/2018-11-02-events.json", 2)]
    assert [row[2] for row in fetch(warehouse, events)] == [1, 2]  # the records staged from each file


def test_a_dry_run_lists_the_new_files_and_changes_nothing(loaded, inputs, capsys):
    add(inputs.root, "log_data/2018/11/2018-11-02-events.json", [play("Song B", "Artist B", 99.0, ts=ts(2, 1))])
    add(inputs.root, "song_data/A/B/D/TRABD00000.json", [song("SOD", "Song D", "ARD", "Artist D", 10.0)])
    before = everything(loaded)
    code, out, _ = etl_run(loaded, capsys, "--dry-run")
    assert code == 0
    assert "  2018/11/2018-11-02-events.json" in out.splitlines()
    assert "  A/B/D/TRABD00000.json" in out.splitlines()
    assert "INSERT INTO songplays" in out
    assert out.splitlines()[-2:] == ["  DELETE FROM staging_events;", "  DELETE FROM staging_songs;"]
    assert everything(loaded) == before


def test_a_full_refresh_starts_the_record_anew(loaded, inputs, new_warehouse, tmp_path, capsys):
    add(inputs.root, "log_data/2018/11/2018-11-02-events.json", [play("Song B", "Artist B", 99.0, ts=ts(2, 1))])
    assert etl_run(loaded, capsys)[0] == 0
    earlier_runs = {run_id for (run_id,) in fetch(loaded, "SELECT run_id FROM loaded_files")}
    (inputs.log_data / "2018" / "11" / "2018-11-01-events.json").unlink()
    assert etl_run(loaded, capsys, "--full-refresh")[0] == 0
    assert [(source, name) for source, name, *_ in record(loaded)] == [
        ("LOG_DATA", "2018/11/2018-11-02-events.json"),
        ("SONG_DATA", "A/B/C/TRABC00000.json"), ("SONG_DATA", "A/B/C/TRABC00001.json")]
    runs = {run_id for (run_id,) in fetch(loaded, "SELECT run_id FROM loaded_files")}
    assert len(runs) == 1 and not runs & earlier_runs
    full = new_warehouse(tmp_path / "full", input_dir=inputs.root)
    assert build(full) == 0
    assert differences(star(loaded), star(full)) == []
