"""The analysts' questions: one function ``question(engine, filters) -> DataFrame``
each, ratios computed in pandas."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta

import pandas as pd

from sparkify.analytics.filters import Filters, conditions, query_plays
from sparkify.engines import Engine
from sparkify.quoting import integer

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


def _frame(rows: list[tuple], columns: Sequence[str]) -> pd.DataFrame:
    return pd.DataFrame.from_records(rows, columns=list(columns))


def _ratio(numerator: pd.Series, denominator: pd.Series | int | float) -> pd.Series:
    """numerator / denominator as floats, 0.0 where the denominator is 0."""
    if not isinstance(denominator, pd.Series):
        denominator = pd.Series(denominator, index=numerator.index)
    result = numerator.astype(float) / denominator.astype(float).where(denominator != 0)
    return result.fillna(0.0)


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
    (row,) = query_plays(engine, filters, body)
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
    found = _frame(query_plays(engine, filters, TIME_PART_SQL, part=part), [part, "plays", "users"]).set_index(part)
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
    frame = _frame(query_plays(engine, filters, body), ["level", "plays", "users"])
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
    frame = _frame(query_plays(engine, filters, body), ["gender", "plays", "users", "sessions", "paid_plays"])
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


def _limit(limit: int) -> str:
    """LIMIT's row count as a checked integer literal (sparkify.quoting.integer): a bound parameter
    in LIMIT is not documented on Redshift, and the Data API would send one."""
    if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
        raise ValueError(f"limit must be a whole number >= 1, not {limit!r}")
    return integer(limit, minimum=1)


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
LIMIT {limit}
"""
    rows = query_plays(engine, filters, body, limit=_limit(limit))
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
LIMIT {limit}
"""
    rows = query_plays(engine, filters, body, limit=_limit(limit))
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
    frame = _frame(query_plays(engine, filters, PLATFORM_SQL, case_params, case=case), [column, "plays", "users"])
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
    frame = _frame(query_plays(engine, filters, body), columns)
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
    where, params = conditions(
        filters or Filters(), engine.placeholder, "converted_at", ("previous_level", "level"), "gender"
    )
    rows = engine.query(CONVERSIONS_SQL.format(where=where), params)
    frame = _frame(rows, ["user_id", "converted_at"])
    frame["day"] = [moment.date() for moment in frame["converted_at"]]
    return frame
