"""The input rules: what a bad record is, where it goes, and when it fails the run.

Every test runs on DuckDB and on a real PostgreSQL server (the ``warehouse``
fixture); both read the files with the same rules.
"""

from __future__ import annotations

import json
import re

import pytest
from helpers import build, event, fetch, loaded_rows, play, run, song, table

import create_tables
import etl
import sql_queries as sql

SONG_A = song("SOAAA", "Song A", "ARA", "Artist A", 200.0)
TAIL = " - fix the input, or allow them with --max-errors N (details in table load_errors); the star schema was not changed"


def run_etl(config, capsys, *args) -> tuple[int, str, str]:
    """etl.py -q on the config: (exit code, stdout, stderr)."""
    capsys.readouterr()
    code = run(etl, "--config", config, "-q", *args)
    out, err = capsys.readouterr()
    return code, out, err


def create(config, capsys) -> None:
    assert run(create_tables, "--config", config, "--yes", "-q") == 0
    capsys.readouterr()


def summary_count(out: str, label: str) -> int:
    """The number on a summary line ('  songplays   3 rows', '  rejected   2 records')."""
    match = re.search(rf"^  {re.escape(label)}\s+([\d,]+)\b", out, re.MULTILINE)
    assert match, f"no summary line for {label!r} in:\n{out}"
    return int(match.group(1).replace(",", ""))


def load_errors(config) -> list[tuple]:
    return table(config, "load_errors", order_by="table_name, source_file, line_number")


def staged_users(config) -> list[str]:
    """The userId of each staged event: what a refused run leaves in staging to inspect."""
    return [user for (user,) in fetch(config, "SELECT user_id FROM staging_events ORDER BY ts, user_id")]


def users(config) -> list[int]:
    """The users in the star schema: after an accepted run, staging is empty and its events are there."""
    return [user for (user,) in fetch(config, "SELECT user_id FROM users ORDER BY user_id")]


def line(record) -> str:
    return json.dumps(record) + "\n"


def without(record: dict, key: str) -> dict:
    return {k: v for k, v in record.items() if k != key}


# ----------------------------------------------------------------- one rule each

BAD_EVENT_LINES = {
    # name: (the line as written, column_name, reason)
    "malformed JSON": ('{"ts": 1541105830796, "page": "Home",', None, "malformed JSON"),
    "plain text": ("this is not json at all", None, "malformed JSON"),
    "ts not a number": (json.dumps(event(ts="abc")), "ts", "ts is not a number (epoch milliseconds)"),
    "ts missing": (json.dumps(without(event(), "ts")), "ts", "missing ts"),
    "ts null": (json.dumps(event(ts=None)), "ts", "missing ts"),
    "JSON null": ("null", None, "not a JSON object"),
    "JSON array": ('[1541105830796, "NextSong"]', None, "not a JSON object"),
    "userId text": (json.dumps(event(userId="ada")), "userId", "userId is not an integer"),
    "userId fraction": (json.dumps(event(userId=10.5)), "userId", "userId is not an integer"),
}


@pytest.mark.parametrize("name", list(BAD_EVENT_LINES))
def test_bad_event_line_is_rejected_and_named(name, inputs, warehouse, capsys):
    inputs.songs([SONG_A])
    text, column, reason = BAD_EVENT_LINES[name]
    path = inputs.events([line(event(userId="10", ts=1541105830796)), text + "\n", line(event(userId="11", ts=1541105830797))])
    create(warehouse, capsys)

    code, out, err = run_etl(warehouse, capsys)

    assert code == 1
    assert err.splitlines() == [f"error: 1 bad input record (MAX_ERRORS is 0): {path.resolve()}:2: {reason}{TAIL}"]
    assert out == ""
    assert load_errors(warehouse) == [("staging_events", str(path.resolve()), 2, column, reason, text)]
    assert staged_users(warehouse) == ["10", "11"]


def test_song_without_song_id_is_rejected(inputs, warehouse, capsys):
    inputs.events([line(play("Song A", "Artist A", 200.0))])
    paths = inputs.songs([
        song("SOAAA", "Song A", "ARA", "Artist A", 200.0),
        without(song("SOBBB", "Song B", "ARB", "Artist B", 100.0), "song_id"),
        song("", "Song C", "ARC", "Artist C", 100.0),
    ])
    create(warehouse, capsys)

    code, out, err = run_etl(warehouse, capsys, "--max-errors", "2")

    assert (code, err) == (0, "")
    assert summary_count(out, "rejected") == 2
    assert summary_count(out, "staging_songs") == 1
    rejected = load_errors(warehouse)
    assert [row[:5] for row in rejected] == [
        ("staging_songs", str(paths[1].resolve()), 1, "song_id", "missing song_id"),
        ("staging_songs", str(paths[2].resolve()), 1, "song_id", "missing song_id"),
    ]
    assert [json.loads(row[5])["title"] for row in rejected] == ["Song B", "Song C"]
    assert [row[0] for row in table(warehouse, "songs")] == ["SOAAA"]


def test_invalid_utf8_line_is_rejected_and_the_rest_of_its_file_loads(inputs, warehouse, capsys):
    inputs.songs([SONG_A])
    bad = b'{"ts": 1541105830797, "userId": "11", "firstName": "Ren\xe9", "page": "NextSong"}\n'
    path = inputs.events([line(event(userId="10", ts=1541105830796)), bad, line(event(userId="12", ts=1541105830798))])
    create(warehouse, capsys)

    code, out, err = run_etl(warehouse, capsys)

    assert code == 1
    assert err.splitlines() == [f"error: 1 bad input record (MAX_ERRORS is 0): {path.resolve()}:2: invalid UTF-8{TAIL}"]
    [(table_name, source, number, column, reason, raw)] = load_errors(warehouse)
    assert (table_name, source, number, column, reason) == ("staging_events", str(path.resolve()), 2, None, "invalid UTF-8")
    assert raw.startswith('{"ts": 1541105830797, "userId": "11", "firstName": "Ren')
    assert staged_users(warehouse) == ["10", "12"]


def test_user_id_too_large_for_an_integer_is_rejected_like_its_text_form(inputs, warehouse, capsys):
    inputs.songs([SONG_A])
    # users.user_id is INTEGER: "99999999999" (text) is rejected, so the same number written as a number must be too,
    # not accepted and then crash the star-schema build.
    path = inputs.events([
        line(play("Song A", "Artist A", 200.0, userId="10")),
        line(event(userId=99999999999, ts=1541105830797)),
        line(event(userId="99999999999", ts=1541105830798)),
    ])
    create(warehouse, capsys)

    code, out, err = run_etl(warehouse, capsys, "--max-errors", "2")

    assert (code, err) == (0, "")
    assert [row[:5] for row in load_errors(warehouse)] == [
        ("staging_events", str(path.resolve()), 2, "userId", "userId is outside the INTEGER range"),
        ("staging_events", str(path.resolve()), 3, "userId", "userId is outside the INTEGER range"),
    ]
    assert [row[0] for row in table(warehouse, "users")] == [10]


def test_user_id_text_that_is_not_a_plain_integer_is_rejected(inputs, warehouse, capsys):
    # "10.5" must not become user 11, nor "1e3" user 1000, nor "0x10" user 16
    inputs.songs([SONG_A])
    path = inputs.events([
        line(event(userId="10", ts=1541105830796)),
        line(event(userId="10.5", ts=1541105830797)),
        line(event(userId="1e3", ts=1541105830798)),
        line(event(userId="0x10", ts=1541105830799)),
    ])
    create(warehouse, capsys)

    code, out, err = run_etl(warehouse, capsys, "--max-errors", "3")

    assert (code, err) == (0, "")
    assert [row[:5] for row in load_errors(warehouse)] == [
        ("staging_events", str(path.resolve()), number, "userId", "userId is not an integer") for number in (2, 3, 4)
    ]
    assert (users(warehouse), loaded_rows(warehouse, "LOG_DATA")) == ([10], 1)


def test_ts_out_of_range_is_a_bad_record_not_a_crash(inputs, warehouse, capsys):
    inputs.songs([SONG_A])
    path = inputs.events([line(event(userId="10")), line(event(userId="11", ts=1e30)), line(event(userId="12"))])
    create(warehouse, capsys)

    code, out, err = run_etl(warehouse, capsys)

    assert code == 1
    [message] = err.splitlines()
    assert message.startswith(f"error: 1 bad input record (MAX_ERRORS is 0): {path.resolve()}:2: "), message
    assert [row[:4] for row in load_errors(warehouse)] == [("staging_events", str(path.resolve()), 2, "ts")]
    assert staged_users(warehouse) == ["10", "12"]


# ----------------------------------------------------------------- MAX_ERRORS


def test_bad_record_fails_the_run_and_keeps_the_star_schema(inputs, warehouse, capsys):
    inputs.events([
        line(play("Song A", "Artist A", 200.0, userId="10", ts=1541105830796)),
        line(play("Song B", "Artist B", 100.0, userId="11", ts=1541105830797)),
    ])
    inputs.songs([SONG_A])
    assert build(warehouse) == 0
    before = {name: table(warehouse, name) for name in sql.STAR_TABLES}
    assert len(before["songplays"]) == 2

    path = inputs.events(
        [line(play("Song C", "Artist C", 50.0, userId="12", ts=1541200000000)), "{not json\n"],
        name="2018-11-02-events.json",
    )
    code, out, err = run_etl(warehouse, capsys)

    assert code == 1
    assert err.splitlines() == [f"error: 1 bad input record (MAX_ERRORS is 0): {path.resolve()}:2: malformed JSON{TAIL}"]
    assert {name: table(warehouse, name) for name in sql.STAR_TABLES} == before
    # staging holds the valid records of the failed attempt (only the new file), load_errors its rejections
    assert staged_users(warehouse) == ["12"]
    assert fetch(warehouse, "SELECT COUNT(*) FROM loaded_files") == [(2,)]  # nothing of the refused run recorded
    assert load_errors(warehouse) == [("staging_events", str(path.resolve()), 2, None, "malformed JSON", "{not json")]


def test_error_names_the_first_bad_files_and_lines(inputs, warehouse, capsys):
    inputs.songs([SONG_A])
    first = inputs.events(
        [line(event()), "{broken\n", line(event()), line(without(event(), "ts"))], name="2018-11-01-events.json"
    )
    second = inputs.events(["[]\n", line(event()), line(event(ts="soon"))], name="2018-11-02-events.json")
    create(warehouse, capsys)

    code, out, err = run_etl(warehouse, capsys)

    assert code == 1
    [message] = err.splitlines()
    assert message.startswith(
        f"error: 4 bad input records (MAX_ERRORS is 0): {first.resolve()}:2: malformed JSON; "
        f"{first.resolve()}:4: missing ts; {second.resolve()}:1: not a JSON object"
    )
    assert message.endswith(TAIL)
    assert len(load_errors(warehouse)) == 4


def test_max_errors_option_accepts_up_to_that_many_bad_records(inputs, warehouse, capsys):
    inputs.events([
        line(play("Song A", "Artist A", 200.0, userId="10", ts=1541105830796)),
        "oops\n",
        line(play("Song B", "Artist B", 100.0, userId="11", ts=1541105830797)),
        "null\n",
        line(event(userId="12", ts=1541105830798)),
    ])
    inputs.songs([SONG_A])
    create(warehouse, capsys)

    code, out, err = run_etl(warehouse, capsys, "--max-errors", "2")

    assert (code, err) == (0, "")
    assert summary_count(out, "staging_events") == 3
    assert summary_count(out, "songplays") == 2
    assert summary_count(out, "users") == 3
    assert summary_count(out, "rejected") == 2
    assert [row[2:5] for row in load_errors(warehouse)] == [(2, None, "malformed JSON"), (4, None, "not a JSON object")]
    assert len(table(warehouse, "songplays")) == 2


def test_one_more_bad_record_than_max_errors_fails(inputs, warehouse, capsys):
    inputs.songs([SONG_A])
    path = inputs.events([line(event()), "oops\n", "null\n"])
    create(warehouse, capsys)

    code, out, err = run_etl(warehouse, capsys, "--max-errors", "1")

    assert code == 1
    assert err.splitlines() == [
        f"error: 2 bad input records (MAX_ERRORS is 1): {path.resolve()}:2: malformed JSON; "
        f"{path.resolve()}:3: not a JSON object{TAIL}"
    ]


def test_max_errors_from_the_config_file(inputs, warehouse, capsys):
    inputs.songs([SONG_A])
    inputs.events([line(play("Song A", "Artist A", 200.0)), "oops\n", "null\n"])
    warehouse.write_text(warehouse.read_text().replace("[DWH]\n", "[DWH]\nMAX_ERRORS = 2\n"))
    create(warehouse, capsys)

    code, out, err = run_etl(warehouse, capsys)

    assert (code, err) == (0, "")
    assert summary_count(out, "rejected") == 2
    assert summary_count(out, "songplays") == 1


def test_max_errors_option_overrides_the_config_file(inputs, warehouse, capsys):
    inputs.songs([SONG_A])
    path = inputs.events([line(event()), "oops\n"])
    warehouse.write_text(warehouse.read_text().replace("[DWH]\n", "[DWH]\nMAX_ERRORS = 5\n"))
    create(warehouse, capsys)

    code, out, err = run_etl(warehouse, capsys, "--max-errors", "0")

    assert code == 1
    assert err.splitlines() == [f"error: 1 bad input record (MAX_ERRORS is 0): {path.resolve()}:2: malformed JSON{TAIL}"]


def test_load_errors_is_replaced_at_each_run(inputs, warehouse, capsys):
    inputs.songs([SONG_A])
    inputs.events([line(event()), "oops\n"])
    create(warehouse, capsys)
    assert run_etl(warehouse, capsys, "--max-errors", "1")[0] == 0
    assert len(load_errors(warehouse)) == 1

    inputs.events([line(event(userId="11"))], name="2018-11-02-events.json")  # the next day, clean
    code, out, err = run_etl(warehouse, capsys)

    assert (code, err) == (0, "")
    assert summary_count(out, "rejected") == 0
    assert load_errors(warehouse) == []


# ----------------------------------------------------------------- file shapes


def test_empty_file_is_one_warning_not_an_error(inputs, warehouse, capsys):
    inputs.events([line(play("Song A", "Artist A", 200.0))])
    empty_log = inputs.events([], name="2018-11-02-events.json")
    inputs.songs([SONG_A])
    empty_song = inputs.song_data / "A" / "B" / "C" / "TRABCEMPTY.json"
    empty_song.write_bytes(b"")
    create(warehouse, capsys)

    code, out, err = run_etl(warehouse, capsys)

    assert code == 0
    assert err.splitlines() == [
        f"warning: {empty_log.resolve()} is empty: no records",
        f"warning: {empty_song.resolve()} is empty: no records",
    ]
    assert summary_count(out, "empty files") == 2
    assert summary_count(out, "rejected") == 0
    assert summary_count(out, "songplays") == 1
    assert load_errors(warehouse) == []


def test_file_of_blank_lines_only_is_an_empty_file(inputs, warehouse, capsys):
    inputs.songs([SONG_A])
    inputs.events([line(event())])
    blank = inputs.events(["\n", "   \n", "\n"], name="2018-11-02-events.json")
    create(warehouse, capsys)

    code, out, err = run_etl(warehouse, capsys)

    assert code == 0
    assert err.splitlines() == [f"warning: {blank.resolve()} is empty: no records"]
    assert summary_count(out, "empty files") == 1


def test_blank_lines_are_not_records_but_count_as_lines(inputs, warehouse, capsys):
    inputs.songs([SONG_A])
    path = inputs.events([line(event(userId="10")), "\n", "\n", "{broken\n", "\n", line(event(userId="11", ts=1541105830800))])
    create(warehouse, capsys)

    code, out, err = run_etl(warehouse, capsys)

    assert code == 1
    assert err.splitlines() == [f"error: 1 bad input record (MAX_ERRORS is 0): {path.resolve()}:4: malformed JSON{TAIL}"]
    assert load_errors(warehouse) == [("staging_events", str(path.resolve()), 4, None, "malformed JSON", "{broken")]
    assert staged_users(warehouse) == ["10", "11"]


def test_blank_lines_in_a_clean_file_are_skipped(inputs, warehouse, capsys):
    inputs.songs([SONG_A])
    inputs.events(["\n", line(play("Song A", "Artist A", 200.0, userId="10")), "\n\n", line(event(userId="11", ts=1541105830800)), "\n"])
    create(warehouse, capsys)

    code, out, err = run_etl(warehouse, capsys)

    assert (code, err) == (0, "")
    assert summary_count(out, "staging_events") == 2
    assert summary_count(out, "rejected") == 0
    assert (users(warehouse), loaded_rows(warehouse, "LOG_DATA")) == ([10, 11], 2)


def test_crlf_line_endings_load_like_lf(inputs, warehouse, capsys):
    inputs.songs([SONG_A])
    records = [play("Song A", "Artist A", 200.0, userId="10", ts=1541105830796), event(userId="11", ts=1541105830797)]
    inputs.events([json.dumps(record) + "\r\n" for record in records])
    create(warehouse, capsys)

    code, out, err = run_etl(warehouse, capsys)

    assert (code, err) == (0, "")
    assert fetch(warehouse, "SELECT user_id, user_agent FROM songplays") == [(10, records[0]["userAgent"])]
    assert fetch(warehouse, "SELECT user_id, last_name FROM users ORDER BY user_id") == [(10, "Lovelace"), (11, "Lovelace")]
    assert loaded_rows(warehouse, "LOG_DATA") == 2


def test_crlf_bad_line_is_named_without_its_carriage_return(inputs, warehouse, capsys):
    inputs.songs([SONG_A])
    path = inputs.events([line(event(userId="10")).replace("\n", "\r\n"), "{broken\r\n", line(event(userId="11", ts=1541105830800)).replace("\n", "\r\n")])
    create(warehouse, capsys)

    code, out, err = run_etl(warehouse, capsys)

    assert code == 1
    assert err.splitlines() == [f"error: 1 bad input record (MAX_ERRORS is 0): {path.resolve()}:2: malformed JSON{TAIL}"]
    assert load_errors(warehouse) == [("staging_events", str(path.resolve()), 2, None, "malformed JSON", "{broken")]
    assert staged_users(warehouse) == ["10", "11"]


def test_pretty_printed_song_file_is_one_record(inputs, warehouse, capsys):
    inputs.events([line(play("Song A", "Artist A", 200.0))])
    path = inputs.song_data / "A" / "B" / "C" / "TRABCPRETTY.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(song("SOAAA", "Song A", "ARA", "Artist A", 200.0, year=1999), indent=4) + "\n")
    create(warehouse, capsys)

    code, out, err = run_etl(warehouse, capsys)

    assert (code, err) == (0, "")
    assert summary_count(out, "staging_songs") == 1
    assert table(warehouse, "songs") == [("SOAAA", "Song A", "ARA", 1999, 200.0)]
    assert [row[4] for row in table(warehouse, "songplays")] == ["SOAAA"]


def test_bad_lines_in_one_file_do_not_stop_the_good_files(inputs, warehouse, capsys):
    inputs.songs([SONG_A])
    for day in (1, 2, 3):
        inputs.events(
            [line(event(userId=str(day), ts=1541000000000 + day)), line(event(userId=str(day), ts=1541000000100 + day))],
            name=f"2018-11-0{day}-events.json",
        )
    bad = inputs.events([line(event(userId="4", ts=1541000000004)), "{broken\n", line(event(userId="4", ts=1541000000104))],
                        name="2018-11-04-events.json")
    create(warehouse, capsys)

    code, out, err = run_etl(warehouse, capsys, "--max-errors", "1")

    assert (code, err) == (0, "")
    assert re.search(r"^  staging_events\s+8 rows from 4 new files$", out, re.MULTILINE), out
    assert summary_count(out, "rejected") == 1
    assert users(warehouse) == [1, 2, 3, 4]
    assert dict(fetch(warehouse, "SELECT file_name, row_count FROM loaded_files WHERE source = 'LOG_DATA'")) == {
        f"2018/11/2018-11-0{day}-events.json": 2 for day in (1, 2, 3, 4)
    }
    assert [row[:5] for row in load_errors(warehouse)] == [("staging_events", str(bad.resolve()), 2, None, "malformed JSON")]


def test_missing_input_folder_is_named(inputs, warehouse, capsys):
    inputs.songs([SONG_A])
    create(warehouse, capsys)
    warehouse.write_text(warehouse.read_text().replace("input/log_data", "input/no_such_folder"))

    code, out, err = run_etl(warehouse, capsys)

    missing = (warehouse.parent / "input" / "no_such_folder").resolve()
    assert code == 1
    assert err.splitlines() == [f"error: LOG_DATA folder {missing} not found - check [S3] LOG_DATA in the config"]


def test_a_jsonpaths_key_in_the_wrong_case_is_a_warning_naming_it(inputs, warehouse, tmp_path, capsys):
    # $['userid'] matches nothing in {"userId": ...}: every user_id would be NULL and users empty, silently.
    paths = [f"$['{key}']" for key in sql.EVENT_JSON_KEYS]
    paths[sql.STAGING_EVENTS_COLUMNS.index("user_id")] = "$['userid']"
    jsonpaths = tmp_path / "paths.json"
    jsonpaths.write_text(json.dumps({"jsonpaths": paths}), encoding="utf-8")
    text = warehouse.read_text(encoding="utf-8")
    warehouse.write_text(text.replace("[S3]\n", f"[S3]\nLOG_JSONPATH = {jsonpaths}\n"), encoding="utf-8")
    inputs.songs([SONG_A])
    inputs.events([line(play("Song A", "Artist A", 200.0, userId="10"))])
    create(warehouse, capsys)

    code, out, err = run_etl(warehouse, capsys)

    assert code == 0
    assert err == (
        "warning: staging_events.user_id is NULL in every row: the jsonpaths path $['userid'] matches no key, "
        "but the input has 'userId' (keys are case-sensitive) - fix LOG_JSONPATH\n"
    )


def test_a_column_null_in_every_row_of_the_input_itself_is_no_warning(inputs, warehouse, capsys):
    inputs.songs([SONG_A])
    inputs.events([line(event(userId="", ts=1541105830796)), line(event(registration=None, ts=1541105830797))])
    create(warehouse, capsys)

    code, out, err = run_etl(warehouse, capsys)

    assert (code, err) == (0, "")
