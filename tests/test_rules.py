"""The data rules users check, on crafted inputs with known answers, on DuckDB and PostgreSQL."""

from __future__ import annotations

import datetime as dt

import pytest
from helpers import build, event, fetch, play, song, table

import sql_queries as sql
from sparkify import incremental, staging, transforms
from sparkify import inputs as inputs_
from sparkify.config import load_config
from sparkify.engines import connect
from sparkify.errors import WarehouseError

TS = 1541105830796  # 2018-11-01 20:57:10.796 UTC, a Thursday


def songplays(config):
    return fetch(config, "SELECT user_id, song_id, artist_id, start_time, session_id FROM songplays ORDER BY songplay_id")


def test_every_nextsong_event_is_one_songplay(inputs, warehouse):
    inputs.events(
        [
            play("Song A", "Artist A", 200.0, ts=TS),
            event(page="Home", ts=TS + 1),
            play("Song A", "Artist A", 200.0, ts=TS + 2),  # the same song again: a second play
            play("Unknown", "Nobody", 100.0, ts=TS + 3),
            event(page="Logout", ts=TS + 4),
        ]
    )
    # Two songs match the plays' title and artist: still one songplay per play.
    inputs.songs([song("SOA1", "Song A", "ARA", "Artist A", 199.0), song("SOA2", "Song A", "ARA", "Artist A", 250.0)])
    assert build(warehouse) == 0
    assert [row[1] for row in songplays(warehouse)] == ["SOA1", "SOA1", None]


def test_closest_duration_wins_then_smallest_song_id(inputs, warehouse):
    inputs.events(
        [
            play("Twin", "Duo", 210.0, ts=TS),
            play("Tie", "Duo", 100.0, ts=TS + 1),
            play("Twin", "Duo", None, ts=TS + 2),  # no length: any duration, the smallest id
            play("Twin", "Duo", 290.0, ts=TS + 3),  # the same track played at another length
        ]
    )
    inputs.songs(
        [
            song("SOFAR", "Twin", "ARD", "Duo", 300.0),
            song("SOCLOSE", "Twin", "ARD", "Duo", 209.0),
            song("SOTIEB", "Tie", "ARD", "Duo", 90.0),
            song("SOTIEA", "Tie", "ARD", "Duo", 110.0),  # as close as SOTIEB: the smaller id wins
        ]
    )
    assert build(warehouse) == 0
    assert [row[1] for row in songplays(warehouse)] == ["SOCLOSE", "SOTIEA", "SOCLOSE", "SOFAR"]


def test_match_needs_title_and_artist_name(inputs, warehouse):
    inputs.events(
        [
            play("Song A", "Other Artist", 200.0, ts=TS),
            play("song a", "Artist A", 200.0, ts=TS + 1),
            play("Song A", "Artist A", 999.0, ts=TS + 2),  # any duration matches
        ]
    )
    inputs.songs([song("SOA", "Song A", "ARA", "Artist A", 200.0)])
    assert build(warehouse) == 0
    assert [(row[1], row[2]) for row in songplays(warehouse)] == [(None, None), (None, None), ("SOA", "ARA")]


def test_songplay_user_id_is_an_integer(inputs, warehouse):
    inputs.events([play("S", "A", 1.0, userId="42"), play("S", "A", 1.0, userId=7, ts=TS + 1)])
    inputs.songs([song("SO1", "S", "AR1", "A", 1.0)])
    assert build(warehouse) == 0
    assert [row[0] for row in songplays(warehouse)] == [42, 7]
    assert all(isinstance(row[0], int) for row in songplays(warehouse))


def test_empty_user_id_is_never_a_user(inputs, warehouse):
    inputs.events(
        [
            event(userId="", auth="Logged Out", firstName=None, lastName=None, gender=None, page="Login"),
            event(userId="5", ts=TS + 1),
            play("S", "A", 1.0, userId="", ts=TS + 2),
        ]
    )
    inputs.songs([song("SO1", "S", "AR1", "A", 1.0)])
    assert build(warehouse) == 0
    assert [row[0] for row in table(warehouse, "users")] == [5]
    # the logged-out play is still a songplay, with no user
    assert [row[0] for row in songplays(warehouse)] == [None]


def test_user_keeps_latest_level(inputs, warehouse):
    inputs.events(
        [
            event(userId="3", level="paid", firstName="New", ts=TS + 500),
            event(userId="3", level="free", firstName="Old", ts=TS),
        ],
        name="2018-11-01-events.json",
    )
    inputs.events([event(userId="3", level="free", ts=TS - 10_000)], name="2018-10-31-events.json")
    inputs.songs([song("SO1", "S", "AR1", "A", 1.0)])
    assert build(warehouse) == 0
    assert table(warehouse, "users") == [(3, "New", "Lovelace", "F", "paid")]


def test_one_row_per_song_and_year_zero_is_null(inputs, warehouse):
    inputs.events([event()])
    inputs.songs(
        [
            song("SO1", "Old", "AR1", "A", 100.0, year=0),
            song("SO2", "New", "AR1", "A", 120.0, year=2005),
            song("SO2", "New", "AR1", "A", 120.0, year=2005),  # the same song in two files
        ]
    )
    assert build(warehouse) == 0
    assert table(warehouse, "songs") == [("SO1", "Old", "AR1", None, 100.0), ("SO2", "New", "AR1", 2005, 120.0)]


def test_one_row_per_artist_chosen_deterministically(inputs, warehouse):
    inputs.events([event()])
    inputs.songs(
        [
            song("SO3", "C", "AR1", "The Band", 1.0, artist_location="Paris", artist_latitude=48.8, artist_longitude=2.3),
            song("SO2", "B", "AR1", "Band, The", 1.0, artist_location=""),
            song("SO1", "A", "AR1", "Band", 1.0, artist_location="Lyon", artist_latitude=45.7, artist_longitude=4.8),
        ]
    )
    assert build(warehouse) == 0
    # Songs that give a location win; among them the smallest song_id (SO1).
    assert table(warehouse, "artists") == [("AR1", "Band", "Lyon", 45.7, 4.8)]


def test_time_keeps_milliseconds_iso_week_and_sunday_zero(inputs, warehouse):
    sunday = int(dt.datetime(2018, 11, 4, 23, 59, 59, 123000, tzinfo=dt.UTC).timestamp() * 1000)
    new_year = int(dt.datetime(2018, 12, 31, 8, 0, 0, tzinfo=dt.UTC).timestamp() * 1000)
    inputs.events([play("S", "A", 1.0, ts=sunday), play("S", "A", 1.0, ts=new_year), play("S", "A", 1.0, ts=sunday)])
    inputs.songs([song("SO1", "S", "AR1", "A", 1.0)])
    assert build(warehouse) == 0
    assert table(warehouse, "time") == [
        (dt.datetime(2018, 11, 4, 23, 59, 59, 123000), 23, 4, 44, 11, 2018, 0),
        (dt.datetime(2018, 12, 31, 8, 0, 0), 8, 31, 1, 12, 2018, 1),  # ISO week 1 of 2019
    ]
    # one time row per distinct start time, each songplay keeps its milliseconds
    assert [row[3] for row in songplays(warehouse)] == [
        dt.datetime(2018, 11, 4, 23, 59, 59, 123000),
        dt.datetime(2018, 11, 4, 23, 59, 59, 123000),
        dt.datetime(2018, 12, 31, 8, 0, 0),
    ]


def test_blank_text_becomes_null(inputs, warehouse):
    inputs.events([play("S", "A", 1.0, location="  ", userAgent="")])
    inputs.songs([song("SO1", "S", "AR1", "A", 1.0, artist_location="")])
    assert build(warehouse) == 0
    assert fetch(warehouse, "SELECT location, user_agent FROM songplays") == [(None, None)]
    assert fetch(warehouse, "SELECT location FROM artists") == [(None,)]


def all_tables(config):
    return {name: table(config, name, order_by="1, 2") for name in sql.STAGING_TABLES + sql.STAR_TABLES}


def test_running_twice_changes_nothing(inputs, warehouse):
    inputs.events([play("S", "A", 1.0, ts=TS + n, sessionId=n % 3, userId=str(n % 4 + 1)) for n in range(20)])
    inputs.songs([song("SO1", "S", "AR1", "A", 1.0), song("SO2", "S", "AR1", "A", 1.0)])
    assert build(warehouse) == 0
    first = all_tables(warehouse)
    import etl

    assert etl.main(["--config", str(warehouse), "-q"]) == 0
    assert all_tables(warehouse) == first
    assert len(first["songplays"]) == 20


def test_a_full_refresh_reflects_exactly_its_input(inputs, warehouse):
    inputs.events([play("S", "A", 1.0, userId="1"), play("S", "A", 1.0, userId="2", ts=TS + 1)])
    inputs.songs([song("SO1", "S", "AR1", "A", 1.0)])
    assert build(warehouse) == 0
    inputs.events([play("T", "B", 2.0, userId="9")])  # replaces the log file
    inputs.songs([song("SO9", "T", "AR9", "B", 2.0)])  # replaces the song file
    import etl

    assert etl.main(["--config", str(warehouse), "-q", "--full-refresh"]) == 0
    assert [row[0] for row in table(warehouse, "users")] == [9]
    assert [row[0] for row in table(warehouse, "songs")] == ["SO9"]
    assert [row[1] for row in songplays(warehouse)] == ["SO9"]


def test_failed_star_load_keeps_previous_tables(inputs, warehouse, monkeypatch):
    inputs.events([play("S", "A", 1.0, userId="1")])
    inputs.songs([song("SO1", "S", "AR1", "A", 1.0)])
    assert build(warehouse) == 0
    before = all_tables(warehouse)
    inputs.events([play("T", "B", 2.0, userId="4")], name="2018-11-02-events.json")
    # time, the last upsert, fails after songplays, users, songs and artists were upserted
    broken = tuple((name, "INSERT INTO time SELECT no_such_column FROM songplays" if name == "time" else stmt)
                   for name, stmt in sql.STAR_UPSERTS)
    monkeypatch.setattr(sql, "STAR_UPSERTS", broken)
    import etl

    assert etl.main(["--config", str(warehouse), "-q"]) == 1
    assert fetch(warehouse, "SELECT COUNT(*) FROM loaded_files") == [(2,)]  # the first run's files only
    after = all_tables(warehouse)
    for name in sql.STAR_TABLES:
        assert after[name] == before[name], name
    assert len(after["staging_events"]) == 1  # staging shows the attempt: the new file


# A transform broken on purpose, and the check that must catch it before commit.
BROKEN = {
    "songplays drops a play": (
        "SONGPLAYS_INSERT", lambda stmt: stmt + "\nLIMIT 1",
        "check failed: every NextSong event is exactly one songplay (songplays: 1 rows, expected 2)",
    ),
    "users twice": (
        "USERS_INSERT", lambda stmt: stmt + "\nUNION ALL\nSELECT user_id, first_name, last_name, gender, level FROM staging_users",
        "check failed: one row per key in every table (users: 2 rows, expected 1)",
    ),
    "time left empty": (
        "TIME_INSERT", lambda stmt: stmt + "\nWHERE 1 = 0",
        "check failed: a time row for every songplay (songplays without a time row: 2 rows, expected 0)",
    ),
}


@pytest.mark.parametrize("breakage", list(BROKEN))
def test_failed_check_rolls_back(inputs, warehouse, monkeypatch, tmp_path, breakage):
    inputs.events([play("S", "A", 1.0, userId="1")])
    inputs.songs([song("SO1", "S", "AR1", "A", 1.0)])
    assert build(warehouse) == 0
    before = all_tables(warehouse)
    inputs.events([play("S", "A", 1.0, userId="1"), play("S", "A", 1.0, userId="1", ts=TS + 5)])
    constant, rewrite, message = BROKEN[breakage]
    target = getattr(sql, constant)
    broken = tuple((name, rewrite(stmt) if stmt is target else stmt) for name, stmt in sql.STAR_UPSERTS)
    monkeypatch.setattr(sql, "STAR_UPSERTS", broken)
    config = load_config(warehouse)
    with connect(config) as engine:
        batch = incremental.plan(inputs_.list_inputs(config.inputs), {}, full_refresh=True)
        staging.load(engine, inputs_.resolve(config.inputs, tmp_path, batch), tmp_path, 0, batch)
        with pytest.raises(WarehouseError) as failure:
            transforms.build_star_schema(engine, full_refresh=True)
    assert str(failure.value) == message + " - the star schema is unchanged"
    after = all_tables(warehouse)
    for name in sql.STAR_TABLES:
        assert after[name] == before[name], name
    # a successful run empties staging; a failed one leaves its batch there, to inspect
    assert (len(before["staging_events"]), len(after["staging_events"])) == (0, 2)
