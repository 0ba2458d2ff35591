"""Input edge cases: each either loads as the rules say or is rejected by name, on both local engines."""

from __future__ import annotations

import codecs
import json

from helpers import build, event, fetch, loaded_rows, play, song, table

import etl

TS = 1541105830796


def rejected(config) -> list[tuple]:
    return fetch(config, "SELECT source_file, line_number, column_name, reason FROM load_errors ORDER BY 1, 2")


def test_one_user_however_the_id_is_written(inputs, warehouse):
    inputs.events([event(userId="7", level="free", ts=TS), event(userId="07", ts=TS + 1), event(userId=7, level="paid", ts=TS + 2)])
    inputs.songs([song("SO1", "S", "AR1", "A", 1.0)])
    assert build(warehouse) == 0
    assert table(warehouse, "users") == [(7, "Ada", "Lovelace", "F", "paid")]


def test_latest_event_ignores_missing_session_the_same_on_every_engine(inputs, warehouse):
    # Same ts: the event with a session (NULLs last, whatever the engine's default) wins.
    inputs.events([event(userId="3", sessionId="x", level="paid", ts=TS), event(userId="3", sessionId=5, level="free", ts=TS)])
    inputs.songs([song("SO1", "S", "AR1", "A", 1.0)])
    assert build(warehouse) == 0
    assert fetch(warehouse, "SELECT level FROM users") == [("free",)]


def test_file_names_that_look_like_patterns_are_read_once(inputs, warehouse):
    for number, name in enumerate(["a[1].json", "b*.json", "b2.json", "c?.json"]):
        inputs.events([play("S", "A", 1.0, ts=TS + number)], name=name)
    inputs.songs([song("SO1", "S", "AR1", "A", 1.0)])
    assert build(warehouse) == 0
    assert loaded_rows(warehouse, "LOG_DATA") == 4
    assert fetch(warehouse, "SELECT COUNT(*) FROM songplays") == [(4,)]


def test_byte_order_mark_is_not_part_of_the_record(inputs, warehouse):
    inputs.events([codecs.BOM_UTF8 + json.dumps(play("S", "A", 1.0)).encode() + b"\n"])
    [path] = inputs.songs([song("SO1", "S", "AR1", "A", 1.0)])
    path.write_bytes(codecs.BOM_UTF8 + path.read_bytes())
    assert build(warehouse) == 0
    assert fetch(warehouse, "SELECT song_id FROM songplays") == [("SO1",)]


def test_ts_outside_timestamps_is_out_of_range(inputs, warehouse, capsys):
    path = inputs.events([play("S", "A", 1.0), event(ts=9_000_000_000_000_000_000), event(ts=-70_000_000_000_000)])
    inputs.songs([song("SO1", "S", "AR1", "A", 1.0)])
    assert build(warehouse) == 1
    assert rejected(warehouse) == [(str(path), 2, "ts", "ts is out of range"), (str(path), 3, "ts", "ts is out of range")]


def test_text_longer_than_its_column_is_rejected_by_name(inputs, warehouse):
    path = inputs.events([play("S", "A", 1.0), event(level="x" * 17), event(firstName="é" * 129)])
    songs = inputs.songs([song("SO1", "S", "AR1", "A", 1.0), song("SO" + "9" * 40, "T", "AR1", "A", 1.0)])
    assert build(warehouse, "--max-errors", "3") == 0
    assert rejected(warehouse) == [
        (str(path), 2, "level", "level is longer than 16 bytes"),
        (str(path), 3, "firstName", "firstName is longer than 256 bytes"),  # 129 characters, 258 bytes
        (str(songs[1]), 1, "song_id", "song_id is longer than 32 bytes"),
    ]
    assert loaded_rows(warehouse, "LOG_DATA") == 1


def test_song_id_must_be_a_string_or_number(inputs, warehouse):
    inputs.events([event()])
    songs = inputs.songs([song("SO1", "S", "AR1", "A", 1.0), song({"a": 1}, "T", "AR1", "A", 1.0), song(123, "U", "AR1", "A", 1.0)])
    assert build(warehouse, "--max-errors", "1") == 0
    assert rejected(warehouse) == [(str(songs[1]), 1, "song_id", "song_id is not a string")]
    assert [row[0] for row in table(warehouse, "songs")] == ["123", "SO1"]


def test_a_huge_bad_line_is_kept_shortened(inputs, warehouse):
    inputs.events([play("S", "A", 1.0), "{" + "x" * 70_000 + "\n"])
    inputs.songs([song("SO1", "S", "AR1", "A", 1.0)])
    assert build(warehouse, "--max-errors", "1") == 0
    [(line, reason, size)] = fetch(warehouse, "SELECT line_number, reason, LENGTH(raw_line) FROM load_errors")
    assert (line, reason, size) == (2, "malformed JSON", 16000)
    # still a bad record without --max-errors, when the file is read again
    assert etl.main(["--config", str(warehouse), "-q", "--full-refresh"]) == 1


def test_a_record_larger_than_the_reader_takes_is_rejected_by_line(inputs, warehouse):
    huge = play("S", "A", 1.0, location="x" * (17 * 1024 * 1024))
    path = inputs.events([play("S", "A", 1.0), huge, play("S", "A", 1.0, ts=TS + 1)])
    inputs.songs([song("SO1", "S", "AR1", "A", 1.0)])
    assert build(warehouse, "--max-errors", "1") == 0
    assert rejected(warehouse) == [(str(path), 2, None, "record larger than 16 MB")]
    assert fetch(warehouse, "SELECT COUNT(*) FROM songplays") == [(2,)]


def test_log_data_may_name_one_file_which_the_record_knows_by_its_name(inputs, warehouse):
    path = inputs.events([play("S", "A", 1.0)])
    inputs.songs([song("SO1", "S", "AR1", "A", 1.0)])
    warehouse.write_text(warehouse.read_text().replace("input/log_data", "input/log_data/2018/11/2018-11-01-events.json"))
    assert build(warehouse) == 0
    assert fetch(warehouse, "SELECT file_name, size_bytes, row_count FROM loaded_files WHERE source = 'LOG_DATA'") == [
        ("2018-11-01-events.json", path.stat().st_size, 1)
    ]
    assert fetch(warehouse, "SELECT song_id FROM songplays") == [("SO1",)]
