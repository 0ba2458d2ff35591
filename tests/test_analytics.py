"""The analytics questions (sparkify/analytics/) on a warehouse built from generated data.

Every expected answer is computed here in plain Python from the raw JSON files
the generator wrote, never from the warehouse, and the queries run on DuckDB
and on a real PostgreSQL server (the portable SQL Redshift also gets).
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from helpers import PG_PASSWORD, Inputs, build, new_database, play, raw_plays, song, write_config

from sparkify import analytics
from sparkify.analytics import Filters, WarehouseUnavailable
from sparkify.errors import SparkifyError
from sparkify.sample_data import generate

EVENTS = 3_000
SONGS = 120
SEED = 20181101


# ------------------------------------------------------------------ the raw truth


@dataclass(frozen=True)
class Play:
    """One NextSong event as the raw log has it."""

    when: datetime  # UTC, naive
    user_id: int
    level: str
    gender: str
    session_id: int
    song_id: str | None  # the song it matches, found here in Python
    artist_id: str | None
    user_agent: str

    @property
    def weekday(self) -> int:  # 0 = Sunday
        return (self.when.weekday() + 1) % 7


def read_plays(root: Path) -> list[Play]:
    """The NextSong events and their matches (helpers.raw_plays), as Plays."""
    return [
        Play(
            when=datetime.fromtimestamp(event["ts"] / 1000, UTC).replace(tzinfo=None),
            user_id=int(event["userId"]),
            level=event["level"],
            gender=event["gender"],
            session_id=event["sessionId"],
            song_id=event["song_id"],
            artist_id=event["artist_id"],
            user_agent=event["userAgent"],
        )
        for event in raw_plays(root)
    ]


def select(plays, filters: Filters) -> list[Play]:
    """The filters, applied in Python."""
    return [
        p
        for p in plays
        if (filters.start is None or p.when.date() >= filters.start)
        and (filters.end is None or p.when.date() <= filters.end)
        and (not filters.levels or p.level in filters.levels)
        and (not filters.genders or p.gender in filters.genders)
    ]


# (name, regex) in the order they are tried; an agent none of them finds is "Other"
OS_MARKERS = (
    ("iOS", r"iPhone|iPad"),
    ("Windows", r"Windows NT"),
    ("macOS", r"Macintosh"),
    ("Linux", r"X11"),
)
BROWSER_MARKERS = (
    ("Internet Explorer", r"MSIE|Trident"),
    ("Firefox", r"Firefox/"),
    ("Chromium", r"Chromium/"),
    ("Chrome", r"Chrome/"),
    ("Safari", r"Version/[\d.]+ .*Safari/"),
)


def first_match(markers, agent: str) -> str:
    return next((name for name, marker in markers if re.search(marker, agent)), "Other")


def os_of(agent: str) -> str:
    return first_match(OS_MARKERS, agent)


def browser_of(agent: str) -> str:
    return first_match(BROWSER_MARKERS, agent)


def free_to_paid(plays) -> list[tuple[int, datetime]]:
    """(user, moment) of every paid play whose user's previous play was free."""
    by_user: dict[int, list[Play]] = defaultdict(list)
    for p in plays:
        by_user[p.user_id].append(p)
    found = []
    for user, own in by_user.items():
        own.sort(key=lambda p: p.when)
        found += [(user, b.when) for a, b in zip(own, own[1:]) if a.level == "free" and b.level == "paid"]
    return sorted(found, key=lambda c: (c[1], c[0]))


# ------------------------------------------------------------------ warehouses


@pytest.fixture(scope="module")
def sample(tmp_path_factory):
    root = tmp_path_factory.mktemp("analytics")
    summary = generate(root / "input", events=EVENTS, songs=SONGS, seed=SEED)
    return root, summary, read_plays(root / "input")


@pytest.fixture(scope="module")
def pg_module_database(pg_server) -> dict[str, str]:
    """One fresh database for this module on the session's server."""
    return new_database(pg_server)


def sample_config(root: Path, engine_name: str, cluster: dict[str, str] | None = None) -> Path:
    sections = {
        "DWH": {"ENGINE": engine_name, "DUCKDB_PATH": "warehouse.duckdb"},
        "S3": {"LOG_DATA": "input/log_data", "SONG_DATA": "input/song_data"},
    }
    if cluster:
        sections["CLUSTER"] = cluster
    return write_config(root / f"{engine_name}.cfg", sections)


@pytest.fixture(scope="module")
def duckdb_warehouse(sample) -> Path:
    """The sample's DuckDB warehouse, built; returns its config file."""
    config = sample_config(sample[0], "duckdb")
    assert build(config) == 0
    return config


@pytest.fixture(scope="module", params=["duckdb", "postgres"])
def engine(request, sample):
    """The sample's warehouse on each local engine, opened the way the notebook opens it."""
    with pytest.MonkeyPatch.context() as mp:
        if request.param == "postgres":
            mp.setenv("DWH_DB_PASSWORD", PG_PASSWORD)
            config = sample_config(sample[0], "postgres", request.getfixturevalue("pg_module_database"))
            assert build(config) == 0
        else:
            config = request.getfixturevalue("duckdb_warehouse")
        warehouse = analytics.open_warehouse(config)
        try:
            yield warehouse
        finally:
            warehouse.close()


@pytest.fixture(scope="module")
def plays(sample):
    return sample[2]


SOME_FILTERS = [
    Filters(),
    Filters(start=date(2018, 11, 5), end=date(2018, 11, 11)),
    Filters(levels=("paid",)),
    Filters(genders=("F",)),
    Filters(start=date(2018, 11, 20), levels=("free",), genders=("M",)),
]


# ------------------------------------------------------------------ headline


def test_the_sample_has_both_levels_genders_and_unmatched_plays(sample, plays):
    _, summary, _ = sample
    assert len(plays) == summary.nextsong_events
    assert {p.level for p in plays} == {"free", "paid"}
    assert {p.gender for p in plays} == {"F", "M"}
    assert 0 < summary.matched_nextsong_events < summary.nextsong_events


def test_headline_counts_plays_users_songs_and_matches(engine, sample, plays):
    _, summary, _ = sample
    head = analytics.headline(engine)
    assert head.plays == len(plays)
    assert head.users == len({p.user_id for p in plays})
    assert head.songs == len({p.song_id for p in plays if p.song_id})
    assert head.artists == len({p.artist_id for p in plays if p.artist_id})
    assert head.matched_plays == summary.matched_nextsong_events
    assert head.match_rate == pytest.approx(summary.matched_nextsong_events / summary.nextsong_events)


@pytest.mark.parametrize("filters", SOME_FILTERS, ids=lambda f: f.describe())
def test_filters_really_filter(engine, plays, filters):
    chosen = select(plays, filters)
    head = analytics.headline(engine, filters)
    assert head.plays == len(chosen)
    assert head.users == len({p.user_id for p in chosen})
    assert head.matched_plays == sum(1 for p in chosen if p.song_id)
    if filters != Filters():
        assert 0 < head.plays < len(plays)


def test_end_date_includes_the_whole_last_day(engine, plays):
    day = date(2018, 11, 17)
    head = analytics.headline(engine, Filters(start=day, end=day))
    assert head.plays == sum(1 for p in plays if p.when.date() == day) > 0


def test_a_selection_without_plays_gives_zeros_not_errors(engine):
    nothing = Filters(start=date(2019, 1, 1), end=date(2019, 1, 31))
    assert analytics.headline(engine, nothing) == analytics.Headline(0, 0, 0, 0, 0)
    assert analytics.headline(engine, nothing).match_rate == 0.0
    assert analytics.by_weekday(engine, nothing)["plays"].tolist() == [0] * 7
    assert analytics.by_hour(engine, nothing)["share"].tolist() == [0.0] * 24
    assert analytics.by_level(engine, nothing).empty
    assert analytics.top_songs(engine, nothing).empty
    assert analytics.daily_plays(engine, nothing)["plays"].tolist() == [0] * 31
    assert analytics.conversions(engine, nothing).empty


def test_filter_values_are_parameters_not_sql(engine):
    sneaky = Filters(genders=("F' OR '1' = '1",), levels=("paid'); DROP TABLE songplays; --",))
    assert analytics.headline(engine, sneaky).plays == 0
    assert analytics.headline(engine).plays > 0


def test_filters_take_lists_and_single_values():
    assert Filters(levels=["paid", "paid"], genders="F") == Filters(levels=("paid",), genders=("F",))
    assert Filters(start=datetime(2018, 11, 5, 13, 0)).start == date(2018, 11, 5)
    assert Filters().describe() == "all plays"
    described = Filters(end=date(2018, 11, 9), levels=["free", "paid"]).describe()
    assert described == "first day to 2018-11-09, level free or paid"
    with pytest.raises(ValueError, match="start 2018-11-09 is after end 2018-11-01"):
        Filters(start=date(2018, 11, 9), end=date(2018, 11, 1))


# ------------------------------------------------------------------ the questions


@pytest.mark.parametrize("filters", SOME_FILTERS[:3], ids=lambda f: f.describe())
def test_plays_per_weekday_match_the_raw_events(engine, plays, filters):
    chosen = select(plays, filters)
    frame = analytics.by_weekday(engine, filters)
    assert frame["weekday"].tolist() == list(range(7))
    assert frame["day"].tolist() == ["Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"]
    counts = Counter(p.weekday for p in chosen)
    users = {day: len({p.user_id for p in chosen if p.weekday == day}) for day in range(7)}
    assert frame["plays"].tolist() == [counts[day] for day in range(7)]
    assert frame["users"].tolist() == [users[day] for day in range(7)]
    for row in frame.itertuples():
        assert row.share == pytest.approx(counts[row.weekday] / len(chosen))
        active = users[row.weekday]
        assert row.plays_per_user == pytest.approx(counts[row.weekday] / active if active else 0)
    assert frame["share"].sum() == pytest.approx(1.0)


def test_paid_free_split_uses_the_level_at_each_play(engine, plays):
    frame = analytics.by_level(engine).set_index("level")
    for level in ("free", "paid"):
        mine = [p for p in plays if p.level == level]
        assert frame.loc[level, "plays"] == len(mine)
        assert frame.loc[level, "users"] == len({p.user_id for p in mine})
        assert frame.loc[level, "share"] == pytest.approx(len(mine) / len(plays))
        assert frame.loc[level, "plays_per_user"] == pytest.approx(len(mine) / len({p.user_id for p in mine}))
    # users who upgraded count at both levels
    both = {p.user_id for p in plays if p.level == "free"} & {p.user_id for p in plays if p.level == "paid"}
    assert both and frame["users"].sum() == len({p.user_id for p in plays}) + len(both)


def test_gender_split_and_activity_match_the_raw_events(engine, plays):
    frame = analytics.by_gender(engine).set_index("gender")
    assert sorted(frame.index) == ["F", "M"]
    for gender in ("F", "M"):
        mine = [p for p in plays if p.gender == gender]
        users = {p.user_id for p in mine}
        sessions = {(p.user_id, p.session_id) for p in mine}
        row = frame.loc[gender]
        assert (row["plays"], row["users"], row["sessions"]) == (len(mine), len(users), len(sessions))
        assert row["paid_plays"] == sum(1 for p in mine if p.level == "paid")
        assert row["share"] == pytest.approx(len(mine) / len(plays))
        assert row["plays_per_user"] == pytest.approx(len(mine) / len(users))
        assert row["sessions_per_user"] == pytest.approx(len(sessions) / len(users))
        assert row["plays_per_session"] == pytest.approx(len(mine) / len(sessions))


def test_plays_per_hour_match_the_raw_events(engine, plays):
    frame = analytics.by_hour(engine, Filters(genders=("M",)))
    chosen = [p for p in plays if p.gender == "M"]
    counts = Counter(p.when.hour for p in chosen)
    assert frame["hour"].tolist() == list(range(24))
    assert frame["plays"].tolist() == [counts[hour] for hour in range(24)]
    assert frame["plays"].sum() == len(chosen)


@pytest.mark.parametrize("filters", [Filters(), Filters(levels=("free",))], ids=lambda f: f.describe())
def test_top_songs_are_the_most_played_matched_songs(engine, plays, filters):
    chosen = select(plays, filters)
    counts = Counter(p.song_id for p in chosen if p.song_id)
    frame = analytics.top_songs(engine, filters, limit=5)
    assert len(frame) == 5
    # ties are broken by song_id: the ranking is exactly this
    expected = sorted(counts.items(), key=lambda item: (-item[1], item[0]))[:5]
    assert list(zip(frame["song_id"], frame["plays"])) == expected
    assert frame["share"].tolist() == pytest.approx([n / len(chosen) for _, n in expected])
    assert frame["title"].notna().all() and frame["artist"].notna().all()


def test_top_artists_are_the_most_played_matched_artists(engine, plays):
    counts = Counter(p.artist_id for p in plays if p.artist_id)
    frame = analytics.top_artists(engine, limit=3)
    expected = sorted(counts.items(), key=lambda item: (-item[1], item[0]))[:3]
    assert list(zip(frame["artist_id"], frame["plays"])) == expected


def test_limit_must_be_a_positive_whole_number(engine):
    for bad in (0, -1, 2.5, "3; DROP TABLE songs", True):
        with pytest.raises(ValueError, match="limit must be a whole number >= 1"):
            analytics.top_songs(engine, limit=bad)


def test_operating_systems_and_browsers_match_the_user_agents(engine, plays):
    systems = analytics.operating_systems(engine).set_index("os")
    expected = Counter(os_of(p.user_agent) for p in plays)
    assert systems["plays"].to_dict() == dict(expected)
    assert systems["share"].sum() == pytest.approx(1.0)
    found = analytics.browsers(engine).set_index("browser")
    expected = Counter(browser_of(p.user_agent) for p in plays)
    assert found["plays"].to_dict() == dict(expected)
    users = defaultdict(set)
    for p in plays:
        users[browser_of(p.user_agent)].add(p.user_id)
    assert found["users"].to_dict() == {name: len(ids) for name, ids in users.items()}


def test_daily_plays_match_the_raw_events(engine, plays):
    frame = analytics.daily_plays(engine)
    counts = Counter(p.when.date() for p in plays)
    assert frame["day"].tolist() == sorted(counts)  # the generator plays every day
    assert frame["plays"].tolist() == [counts[day] for day in sorted(counts)]
    paid = Counter(p.when.date() for p in plays if p.level == "paid")
    assert frame["paid_plays"].tolist() == [paid[day] for day in sorted(counts)]
    assert (frame["free_plays"] + frame["paid_plays"]).tolist() == frame["plays"].tolist()


def test_daily_plays_fill_every_selected_day(engine):
    frame = analytics.daily_plays(engine, Filters(start=date(2018, 11, 28), end=date(2018, 12, 3)))
    assert [day.isoformat() for day in frame["day"]][-3:] == ["2018-12-01", "2018-12-02", "2018-12-03"]
    assert frame["plays"].tolist()[-3:] == [0, 0, 0]


def test_conversions_are_free_plays_followed_by_paid_plays(engine, plays):
    expected = free_to_paid(plays)
    frame = analytics.conversions(engine)
    assert expected, "the generated sample should have upgrades"
    assert list(zip(frame["user_id"], frame["converted_at"])) == expected
    assert frame["day"].tolist() == [moment.date() for _, moment in expected]


def test_conversion_filters_look_at_the_whole_history(engine, plays):
    everything = free_to_paid(plays)
    later = date(2018, 11, 16)
    frame = analytics.conversions(engine, Filters(start=later))
    assert list(zip(frame["user_id"], frame["converted_at"])) == [c for c in everything if c[1].date() >= later]
    women = {p.user_id for p in plays if p.gender == "F"}
    frame = analytics.conversions(engine, Filters(genders=("F",), levels=("free", "paid")))
    assert list(zip(frame["user_id"], frame["converted_at"])) == [c for c in everything if c[0] in women]
    # a conversion is a play at each level: choosing one level shows none
    assert analytics.conversions(engine, Filters(levels=("paid",))).empty


def test_filter_options_offer_what_the_data_has(engine, plays):
    options = analytics.filter_options(engine)
    assert options.first_day == min(p.when for p in plays).date()
    assert options.last_day == max(p.when for p in plays).date()
    assert options.levels == ("free", "paid")
    assert options.genders == ("F", "M")


# ------------------------------------------------------------------ crafted user agents

AGENTS = {
    '"Mozilla/5.0 (Windows NT 6.1; WOW64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/36.0.1985.143 Safari/537.36"':
        ("Windows", "Chrome"),
    "Mozilla/5.0 (Windows NT 6.3; WOW64; Trident/7.0; rv:11.0) like Gecko": ("Windows", "Internet Explorer"),
    "Mozilla/5.0 (compatible; MSIE 10.0; Windows NT 6.1; WOW64; Trident/6.0)": ("Windows", "Internet Explorer"),
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10.9; rv:31.0) Gecko/20100101 Firefox/31.0": ("macOS", "Firefox"),
    '"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_9_4) AppleWebKit/537.78.2 (KHTML, like Gecko) Version/7.0.6 Safari/537.78.2"':
        ("macOS", "Safari"),
    '"Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Ubuntu Chromium/36.0.1985.125 Chrome/36.0.1985.125 Safari/537.36"':
        ("Linux", "Chromium"),
    '"Mozilla/5.0 (iPhone; CPU iPhone OS 7_1_2 like Mac OS X) AppleWebKit/537.51.2 (KHTML, like Gecko) Version/7.0 Mobile/11D257 Safari/9537.53"':
        ("iOS", "Safari"),
    '"Mozilla/5.0 (Linux; Android 4.4.2; Nexus 5) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/36.0.1985.131 Mobile Safari/537.36"':
        ("Android", "Chrome"),
    '"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/42.0 Safari/537.36 Edge/12.246"':
        ("Windows", "Edge"),
    "curl/7.35.0": ("Other", "Other"),
}


def test_user_agents_are_classified(tmp_path):
    inputs = Inputs(tmp_path / "input")
    inputs.events(
        [
            play("Song", "Artist", 200.0, userAgent=agent, userId=str(n + 1), ts=1541105830796 + n * 1000)
            for n, agent in enumerate(AGENTS)
        ]
    )
    inputs.songs([song("SOAAAAA12345678901", "Other Song", "ARAAAAA12345678901", "Other Artist", 100.0)])
    config = write_config(tmp_path / "dwh.cfg", {
        "DWH": {"DUCKDB_PATH": "ua.duckdb"},
        "S3": {"LOG_DATA": "input/log_data", "SONG_DATA": "input/song_data"},
    })
    assert build(config) == 0
    with analytics.open_warehouse(config) as engine:
        systems = analytics.operating_systems(engine).set_index("os")["plays"].to_dict()
        found = analytics.browsers(engine).set_index("browser")["plays"].to_dict()
    assert systems == dict(Counter(os_name for os_name, _ in AGENTS.values()))
    assert found == dict(Counter(browser for _, browser in AGENTS.values()))


# ------------------------------------------------------------------ opening the warehouse


def duckdb_config(tmp_path: Path, name: str = "missing.duckdb") -> Path:
    return write_config(tmp_path / "dwh.cfg", {
        "DWH": {"DUCKDB_PATH": name},
        "S3": {"LOG_DATA": "input/log_data", "SONG_DATA": "input/song_data"},
    })


def test_no_warehouse_yet_says_which_commands_build_it(tmp_path):
    with pytest.raises(WarehouseUnavailable) as caught:
        analytics.open_warehouse(duckdb_config(tmp_path))
    assert str(caught.value) == "DuckDB database missing.duckdb does not exist yet - run create_tables.py and etl.py"
    assert not (tmp_path / "missing.duckdb").exists()  # opening read-only creates nothing
    # Jupyter shows the one line, not a traceback
    assert caught.value._render_traceback_() == [f"WarehouseUnavailable: {caught.value}"]


def test_tables_without_data_say_run_etl(tmp_path):
    import create_tables

    config = duckdb_config(tmp_path, "empty.duckdb")
    assert create_tables.main(["--config", str(config), "--yes", "-q"]) == 0
    with pytest.raises(WarehouseUnavailable, match=r"^the duckdb warehouse has no songplays yet \(engine duckdb, "
                       r"database empty.duckdb \(dwh.cfg\)\) - run etl.py$"):
        analytics.open_warehouse(config)


def test_a_database_without_tables_says_run_both_scripts(tmp_path):
    import duckdb

    duckdb.connect(str(tmp_path / "bare.duckdb")).close()
    with pytest.raises(WarehouseUnavailable, match=r"^table songplays does not exist in the duckdb warehouse "
                       r"\(engine duckdb, database bare.duckdb \(dwh.cfg\)\) - run create_tables.py and etl.py$"):
        analytics.open_warehouse(duckdb_config(tmp_path, "bare.duckdb"))


def test_a_missing_config_file_is_one_line(tmp_path, monkeypatch):
    monkeypatch.setenv("DWH_CONFIG", str(tmp_path / "nowhere.cfg"))
    with pytest.raises(WarehouseUnavailable, match=r"nowhere.cfg \(from \$DWH_CONFIG\) not found$"):
        analytics.open_warehouse()


def test_open_warehouse_follows_DWH_CONFIG_and_is_read_only(duckdb_warehouse, monkeypatch):
    monkeypatch.setenv("DWH_CONFIG", str(duckdb_warehouse))
    with analytics.open_warehouse() as opened:
        assert opened.config.source == duckdb_warehouse.resolve()
        assert opened.config.duckdb_path == duckdb_warehouse.parent.resolve() / "warehouse.duckdb"
        with pytest.raises(SparkifyError, match="read-only"):
            opened.execute("DELETE FROM songplays")
        assert analytics.headline(opened).plays > 0
