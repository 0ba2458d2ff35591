"""The analysts' questions on the star schema, for the notebook and the dashboard.

Each question is one function ``question(engine, filters) -> DataFrame``; the
SQL is portable (DuckDB, PostgreSQL, Redshift: CTEs, CASE, LIKE, COUNT
DISTINCT, LAG) and every value - dates, levels, genders, LIKE patterns, limits -
goes in as a parameter with ``engine.placeholder``, never formatted into the
text. Ratios (shares, plays per user) are computed here in pandas, not in SQL,
so integer division never differs between engines.

Every query starts from the same CTE, ``plays``: the songplays the ``Filters``
select, with the user's gender. Levels are the level *at the play* (songplays
keeps it), so a user who upgrades counts as free before and paid after.
Times are UTC, as stored.

``open_warehouse()`` opens the warehouse read-only through the project's own
config resolution (``load_config``: $DWH_CONFIG > ./dwh.cfg > <project>/dwh.cfg
> built-in defaults) and ``connect``; nothing here runs at import.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

import pandas as pd

import sql_queries as sql
from sparkify.config import load_config
from sparkify.engines import Engine, connect
from sparkify.errors import SparkifyError

__all__ = [
    "BROWSERS",
    "BUILD_COMMAND",
    "OPERATING_SYSTEMS",
    "WEEKDAYS",
    "Filters",
    "Headline",
    "Options",
    "WarehouseUnavailable",
    "browsers",
    "by_gender",
    "by_hour",
    "by_level",
    "by_weekday",
    "conversions",
    "daily_plays",
    "filter_options",
    "headline",
    "open_warehouse",
    "operating_systems",
    "top_artists",
    "top_songs",
]

BUILD_COMMAND = "python create_tables.py && python etl.py"
# time.weekday: 0 = Sunday .. 6 = Saturday
WEEKDAYS = ("Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday")
OTHER = "Other"

# User agents -> (label, LIKE patterns). The first rule that matches wins, so the
# specific come before the general: iOS and Android agents also name "Mac OS X"
# and "Linux"; Edge and Chromium agents also say "Chrome/"; Chrome's say "Safari/".
OPERATING_SYSTEMS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("iOS", ("%iPhone%", "%iPad%", "%iPod%")),
    ("Android", ("%Android%",)),
    ("Windows", ("%Windows%",)),
    ("macOS", ("%Macintosh%", "%Mac OS X%")),
    ("Linux", ("%Linux%", "%X11%")),
)
BROWSERS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("Edge", ("%Edge/%", "%Edg/%")),
    ("Internet Explorer", ("%MSIE %", "%Trident/%")),
    ("Firefox", ("%Firefox/%",)),
    ("Chromium", ("%Chromium/%",)),
    ("Chrome", ("%Chrome/%", "%CriOS/%")),
    ("Safari", ("%Safari/%",)),
)


class WarehouseUnavailable(SparkifyError):
    """There is no warehouse to analyse yet, or it cannot be reached: one line saying what to do."""

    def _render_traceback_(self) -> list[str]:
        # IPython / Jupyter show this instead of a traceback: the message is the whole story.
        return [f"{type(self).__name__}: {self}"]


# ---------------------------------------------------------------- filters


def _tuple(values: Iterable[str] | str | None) -> tuple[str, ...]:
    if values is None:
        return ()
    if isinstance(values, str):
        return (values,)
    return tuple(dict.fromkeys(values))  # keeps order, drops repeats


@dataclass(frozen=True)
class Filters:
    """Which plays a question looks at. An empty choice means all.

    start, end: first and last UTC day, both included. levels: the level at
    the play ("free", "paid"). genders: the user's gender ("F", "M").
    """

    start: date | None = None
    end: date | None = None
    levels: tuple[str, ...] = ()
    genders: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        for name in ("start", "end"):
            value = getattr(self, name)
            if isinstance(value, datetime):
                object.__setattr__(self, name, value.date())
            elif value is not None and not isinstance(value, date):
                raise TypeError(f"Filters.{name} must be a date, not {type(value).__name__}")
        object.__setattr__(self, "levels", _tuple(self.levels))
        object.__setattr__(self, "genders", _tuple(self.genders))
        if self.start and self.end and self.start > self.end:
            raise ValueError(f"Filters: start {self.start} is after end {self.end}")

    def describe(self) -> str:
        """One line for captions: what is selected."""
        parts = []
        if self.start or self.end:
            parts.append(f"{self.start or 'first day'} to {self.end or 'last day'}")
        if self.levels:
            parts.append("level " + " or ".join(self.levels))
        if self.genders:
            parts.append("gender " + " or ".join(self.genders))
        return ", ".join(parts) if parts else "all plays"


def _in(column: str, values: Sequence[str], placeholder: str) -> str:
    return f"{column} IN ({', '.join([placeholder] * len(values))})"


def _conditions(
    filters: Filters,
    placeholder: str,
    time_column: str,
    level_columns: Sequence[str],
    gender_column: str,
) -> tuple[str, list]:
    """The filters as a WHERE clause of placeholders (empty when all) and its parameters."""
    clauses: list[str] = []
    params: list = []
    if filters.start:
        clauses.append(f"{time_column} >= {placeholder}")
        params.append(datetime.combine(filters.start, datetime.min.time()))
    if filters.end:
        # the whole last day: before midnight after it
        clauses.append(f"{time_column} < {placeholder}")
        params.append(datetime.combine(filters.end + timedelta(days=1), datetime.min.time()))
    if filters.levels:
        for column in level_columns:
            clauses.append(_in(column, filters.levels, placeholder))
            params.extend(filters.levels)
    if filters.genders:
        clauses.append(_in(gender_column, filters.genders, placeholder))
        params.extend(filters.genders)
    if not clauses:
        return "", params
    return "WHERE " + "\n        AND ".join(clauses), params


PLAYS_CTE = """
WITH plays AS (
    -- the songplays the filters select, with the user's gender
    SELECT
        sp.songplay_id,
        sp.start_time,
        sp.user_id,
        sp.level,
        sp.song_id,
        sp.artist_id,
        sp.session_id,
        sp.user_agent,
        u.gender
    FROM songplays AS sp
    LEFT JOIN users AS u
        ON u.user_id = sp.user_id
    {where}
)"""


def _plays_cte(engine: Engine, filters: Filters) -> tuple[str, list]:
    where, params = _conditions(filters, engine.placeholder, "sp.start_time", ("sp.level",), "u.gender")
    return PLAYS_CTE.format(where=where), params


def _query(engine: Engine, filters: Filters | None, body: str, extra: Sequence = (), **fragments: str) -> list[tuple]:
    """Run ``PLAYS_CTE`` + body. In body, ``{p}`` is the engine's placeholder
    (its parameters, ``extra``, follow the filters' in order) and other
    ``{name}``s are SQL fragments built here - placeholders, or a column name
    from a fixed list - never values."""
    cte, params = _plays_cte(engine, filters or Filters())
    return engine.query(cte + body.format(p=engine.placeholder, **fragments), [*params, *extra])


def _frame(rows: list[tuple], columns: Sequence[str]) -> pd.DataFrame:
    return pd.DataFrame.from_records(rows, columns=list(columns))


def _ratio(numerator: pd.Series, denominator: pd.Series | int | float) -> pd.Series:
    """numerator / denominator as floats, 0.0 where the denominator is 0."""
    if not isinstance(denominator, pd.Series):
        denominator = pd.Series(denominator, index=numerator.index)
    result = numerator.astype(float) / denominator.astype(float).where(denominator != 0)
    return result.fillna(0.0)


# ---------------------------------------------------------------- opening


def open_warehouse(config_path: str | os.PathLike | None = None) -> Engine:
    """The configured warehouse, read-only, checked to hold a loaded star schema.

    Config as every script finds it (load_config: the argument > $DWH_CONFIG >
    ./dwh.cfg > <project>/dwh.cfg > defaults). Raises WarehouseUnavailable with
    a one-line message naming the command that fixes it.
    """
    try:
        config = load_config(config_path)
        engine = connect(config, read_only=True)
    except SparkifyError as exc:
        raise WarehouseUnavailable(str(exc)) from None
    try:
        existing = engine.existing_tables()
        missing = [table for table in sql.STAR_TABLES if table not in existing]
        if missing:
            raise WarehouseUnavailable(
                f"table {missing[0]} does not exist in the {engine.name} warehouse ({config.describe()}) "
                "- run create_tables.py and etl.py"
            )
        if engine.count("songplays") == 0:
            raise WarehouseUnavailable(
                f"the {engine.name} warehouse has no songplays yet ({config.describe()}) - run etl.py"
            )
    except SparkifyError as exc:
        engine.close()
        if isinstance(exc, WarehouseUnavailable):
            raise
        raise WarehouseUnavailable(str(exc)) from None
    return engine


@dataclass(frozen=True)
class Options:
    """What the filters can choose from."""

    first_day: date
    last_day: date
    levels: tuple[str, ...]
    genders: tuple[str, ...]


def filter_options(engine: Engine) -> Options:
    (first, last), = engine.query("SELECT MIN(start_time), MAX(start_time) FROM songplays")
    levels = engine.query("SELECT DISTINCT level FROM songplays WHERE level IS NOT NULL ORDER BY level")
    genders = engine.query("SELECT DISTINCT gender FROM users WHERE gender IS NOT NULL ORDER BY gender")
    return Options(
        first_day=first.date(),
        last_day=last.date(),
        levels=tuple(level for (level,) in levels),
        genders=tuple(gender for (gender,) in genders),
    )


# ---------------------------------------------------------------- headline


@dataclass(frozen=True)
class Headline:
    plays: int
    users: int
    songs: int  # distinct songs among the plays that matched one
    artists: int
    matched_plays: int  # plays that matched a song in the catalog

    @property
    def match_rate(self) -> float:
        """The share of plays that matched a song: what song and artist rankings cover."""
        return self.matched_plays / self.plays if self.plays else 0.0


def headline(engine: Engine, filters: Filters | None = None) -> Headline:
    body = """
SELECT
    COUNT(*) AS plays,
    COUNT(DISTINCT user_id) AS users,
    COUNT(DISTINCT song_id) AS songs,
    COUNT(DISTINCT artist_id) AS artists,
    COUNT(song_id) AS matched_plays
FROM plays
"""
    (row,) = _query(engine, filters, body)
    return Headline(*(int(value) for value in row))


# ---------------------------------------------------------------- per time part (1. weekday, 4. hour)


# The time table's columns plays are counted by, and every value each takes.
TIME_PARTS = {"weekday": range(7), "hour": range(24)}

TIME_PART_SQL = """
SELECT
    t.{part},
    COUNT(*) AS plays,
    COUNT(DISTINCT plays.user_id) AS users
FROM plays
JOIN time AS t
    ON t.start_time = plays.start_time
GROUP BY t.{part}
"""


def _by_time_part(engine: Engine, filters: Filters | None, part: str) -> pd.DataFrame:
    """Plays and users per value of the time column part (a TIME_PARTS key), every value
    present: 0 where there are no plays."""
    values = TIME_PARTS[part]  # the column name comes from this fixed list, never from a caller's text
    found = _frame(_query(engine, filters, TIME_PART_SQL, part=part), [part, "plays", "users"]).set_index(part)
    return found.reindex(values, fill_value=0).rename_axis(part).reset_index()


# ---------------------------------------------------------------- 1. weekday


def by_weekday(engine: Engine, filters: Filters | None = None) -> pd.DataFrame:
    """Per weekday (0 = Sunday): plays, users, plays_per_user, share of all plays; all seven days."""
    frame = _by_time_part(engine, filters, "weekday")
    frame.insert(1, "day", [WEEKDAYS[number] for number in frame["weekday"]])
    frame["plays_per_user"] = _ratio(frame["plays"], frame["users"])
    frame["share"] = _ratio(frame["plays"], frame["plays"].sum())
    return frame


# ---------------------------------------------------------------- 2. level


def by_level(engine: Engine, filters: Filters | None = None) -> pd.DataFrame:
    """Per level at the play: plays, users, plays_per_user, share. A user who
    upgraded during the period counts at both levels."""
    body = """
SELECT
    level,
    COUNT(*) AS plays,
    COUNT(DISTINCT user_id) AS users
FROM plays
GROUP BY level
ORDER BY level
"""
    frame = _frame(_query(engine, filters, body), ["level", "plays", "users"])
    frame["plays_per_user"] = _ratio(frame["plays"], frame["users"])
    frame["share"] = _ratio(frame["plays"], frame["plays"].sum())
    return frame


# ---------------------------------------------------------------- 3. gender


def by_gender(engine: Engine, filters: Filters | None = None) -> pd.DataFrame:
    """Per gender: plays, users, sessions, share, and activity: plays_per_user,
    sessions_per_user, plays_per_session, paid_share (of the plays)."""
    body = """
, sessions AS (
    -- one row per listening session: session ids are only unique per user
    SELECT
        gender,
        user_id,
        session_id,
        COUNT(*) AS plays,
        SUM(CASE WHEN level = 'paid' THEN 1 ELSE 0 END) AS paid_plays
    FROM plays
    GROUP BY gender, user_id, session_id
)
SELECT
    gender,
    SUM(plays) AS plays,
    COUNT(DISTINCT user_id) AS users,
    COUNT(*) AS sessions,
    SUM(paid_plays) AS paid_plays
FROM sessions
GROUP BY gender
ORDER BY gender
"""
    frame = _frame(_query(engine, filters, body), ["gender", "plays", "users", "sessions", "paid_plays"])
    for column in ("plays", "users", "sessions", "paid_plays"):
        frame[column] = frame[column].astype("int64")
    frame["share"] = _ratio(frame["plays"], frame["plays"].sum())
    frame["plays_per_user"] = _ratio(frame["plays"], frame["users"])
    frame["sessions_per_user"] = _ratio(frame["sessions"], frame["users"])
    frame["plays_per_session"] = _ratio(frame["plays"], frame["sessions"])
    frame["paid_share"] = _ratio(frame["paid_plays"], frame["plays"])
    return frame


# ---------------------------------------------------------------- 4. hour


def by_hour(engine: Engine, filters: Filters | None = None) -> pd.DataFrame:
    """Per UTC hour 0..23: plays, users, share; all 24 hours."""
    frame = _by_time_part(engine, filters, "hour")
    frame["share"] = _ratio(frame["plays"], frame["plays"].sum())
    return frame


# ---------------------------------------------------------------- 5. songs and artists


def _check_limit(limit: int) -> int:
    if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
        raise ValueError(f"limit must be a whole number >= 1, not {limit!r}")
    return limit


def top_songs(engine: Engine, filters: Filters | None = None, limit: int = 10) -> pd.DataFrame:
    """The most played songs: song_id, title, artist, plays, share of all the
    selected plays. Only plays that matched a song can be ranked (Headline.match_rate)."""
    body = """
SELECT
    plays.song_id,
    s.title,
    a.name AS artist,
    COUNT(*) AS plays
FROM plays
JOIN songs AS s
    ON s.song_id = plays.song_id
LEFT JOIN artists AS a
    ON a.artist_id = s.artist_id
GROUP BY plays.song_id, s.title, a.name
-- ties: the smaller song_id first, so the ranking is the same on every engine
ORDER BY plays DESC, plays.song_id
LIMIT {p}
"""
    rows = _query(engine, filters, body, [_check_limit(limit)])
    frame = _frame(rows, ["song_id", "title", "artist", "plays"])
    frame["share"] = _ratio(frame["plays"], headline(engine, filters).plays)
    return frame


def top_artists(engine: Engine, filters: Filters | None = None, limit: int = 10) -> pd.DataFrame:
    """The most played artists (of the matched plays): artist_id, artist, plays, share of all selected plays."""
    body = """
SELECT
    plays.artist_id,
    a.name AS artist,
    COUNT(*) AS plays
FROM plays
JOIN artists AS a
    ON a.artist_id = plays.artist_id
GROUP BY plays.artist_id, a.name
ORDER BY plays DESC, plays.artist_id
LIMIT {p}
"""
    rows = _query(engine, filters, body, [_check_limit(limit)])
    frame = _frame(rows, ["artist_id", "artist", "plays"])
    frame["share"] = _ratio(frame["plays"], headline(engine, filters).plays)
    return frame


# ---------------------------------------------------------------- 6. platforms


def _classify(rules: Sequence[tuple[str, Sequence[str]]], column: str, placeholder: str) -> tuple[str, list]:
    """A CASE ... END over LIKE rules, patterns and labels as parameters."""
    lines, params = [], []
    for label, patterns in rules:
        tests = " OR ".join(f"{column} LIKE {placeholder}" for _ in patterns)
        lines.append(f"        WHEN {tests} THEN {placeholder}")
        params.extend([*patterns, label])
    params.append(OTHER)
    return "CASE\n" + "\n".join(lines) + f"\n        ELSE {placeholder}\n    END", params


PLATFORM_SQL = """
, classified AS (
    SELECT
        {case} AS label,
        plays.user_id
    FROM plays
)
SELECT
    label,
    COUNT(*) AS plays,
    COUNT(DISTINCT user_id) AS users
FROM classified
GROUP BY label
ORDER BY plays DESC, label
"""


def _platform(engine: Engine, filters: Filters | None, rules, column: str) -> pd.DataFrame:
    case, case_params = _classify(rules, "plays.user_agent", engine.placeholder)
    frame = _frame(_query(engine, filters, PLATFORM_SQL, case_params, case=case), [column, "plays", "users"])
    frame["share"] = _ratio(frame["plays"], frame["plays"].sum())
    return frame


def operating_systems(engine: Engine, filters: Filters | None = None) -> pd.DataFrame:
    """Per operating system from the user agent (OPERATING_SYSTEMS): plays, users, share."""
    return _platform(engine, filters, OPERATING_SYSTEMS, "os")


def browsers(engine: Engine, filters: Filters | None = None) -> pd.DataFrame:
    """Per browser from the user agent (BROWSERS): plays, users, share."""
    return _platform(engine, filters, BROWSERS, "browser")


# ---------------------------------------------------------------- 7. over time


def daily_plays(engine: Engine, filters: Filters | None = None) -> pd.DataFrame:
    """Per UTC day: plays, users, free_plays, paid_plays; days without plays
    inside the selection (or between the first and last play) show 0."""
    body = """
SELECT
    CAST(start_time AS DATE) AS day,
    COUNT(*) AS plays,
    COUNT(DISTINCT user_id) AS users,
    SUM(CASE WHEN level = 'free' THEN 1 ELSE 0 END) AS free_plays,
    SUM(CASE WHEN level = 'paid' THEN 1 ELSE 0 END) AS paid_plays
FROM plays
GROUP BY CAST(start_time AS DATE)
ORDER BY day
"""
    columns = ["day", "plays", "users", "free_plays", "paid_plays"]
    frame = _frame(_query(engine, filters, body), columns)
    filters = filters or Filters()
    if frame.empty and not (filters.start and filters.end):
        return frame
    first = filters.start or frame["day"].min()
    last = filters.end or frame["day"].max()
    days = [first + timedelta(days=n) for n in range((last - first).days + 1)]
    frame = frame.set_index("day").reindex(days, fill_value=0).rename_axis("day").reset_index()
    return frame.astype({column: "int64" for column in columns[1:]})


CONVERSIONS_SQL = """
WITH history AS (
    -- every play with the level of the same user's play before it; the whole
    -- history, so a conversion is found even when the last free play falls
    -- before the selected dates
    SELECT
        sp.user_id,
        sp.start_time,
        sp.level,
        LAG(sp.level) OVER (
            PARTITION BY sp.user_id
            ORDER BY sp.start_time, sp.songplay_id
        ) AS previous_level,
        u.gender
    FROM songplays AS sp
    LEFT JOIN users AS u
        ON u.user_id = sp.user_id
    WHERE sp.user_id IS NOT NULL
),
conversions AS (
    SELECT
        user_id,
        start_time AS converted_at,
        previous_level,
        level,
        gender
    FROM history
    WHERE previous_level = 'free'
        AND level = 'paid'
)
SELECT
    user_id,
    converted_at
FROM conversions
{where}
ORDER BY converted_at, user_id
"""


def conversions(engine: Engine, filters: Filters | None = None) -> pd.DataFrame:
    """Users converting from free to paid: one row (user_id, converted_at, day)
    per first paid play right after a free play of the same user.

    Filters: the dates select the conversion's moment, genders the user; a
    conversion passes a level filter only when both free and paid are chosen
    (or none), as it is a play at each level.
    """
    where, params = _conditions(
        filters or Filters(), engine.placeholder, "converted_at", ("previous_level", "level"), "gender"
    )
    rows = engine.query(CONVERSIONS_SQL.format(where=where), params)
    frame = _frame(rows, ["user_id", "converted_at"])
    frame["day"] = [moment.date() for moment in frame["converted_at"]]
    return frame
