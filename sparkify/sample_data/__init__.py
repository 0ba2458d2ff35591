"""A deterministic generator of Sparkify-like raw JSON: song files and app event logs.

The project ships its own sample data, made by this package (never copied from
the real Udacity sample). ``generate(out_dir, events=..., songs=...)`` writes,
byte for byte reproducibly for the same arguments:

``out_dir/song_data/X/Y/Z/TR<16>.json``
    One Million-Song-Dataset-style object per file, no trailing newline,
    ``json.dumps`` default separators (``", "`` and ``": "``), non-ASCII as
    ``\\uXXXX``, keys in the real order: num_songs, artist_id, artist_latitude,
    artist_longitude, artist_location, artist_name, song_id, title, duration,
    year. X/Y/Z are the 3rd, 4th and 5th characters of the track id. Ids are
    "TR"/"SO"/"AR" + 5 letters (artists: letters and digits) + 11 hex digits.

``out_dir/log_data/YYYY/MM/YYYY-MM-DD-events.json``
    eventsim-style newline-delimited JSON, one event per line, compact
    separators, ``/`` escaped as ``\\/``, non-ASCII as ``\\uXXXX``, no trailing
    newline, keys in the real order (artist, auth, firstName, gender,
    itemInSession, lastName, length, level, location, method, page,
    registration, sessionId, song, status, ts, userAgent, userId). A file holds
    the events whose ``ts`` (epoch milliseconds) falls on its UTC date, in
    ``ts`` order (ties: sessionId, itemInSession).

``out_dir/log_json_path.json``
    The Redshift COPY jsonpaths file: the 18 paths above, 4-space indented.

What the events look like: users (first/last name, gender M/F, a US metro
area, a browser userAgent, a float ``registration`` such as
``1540000000123.0``) play sessions (integer ``sessionId``, ``itemInSession``
from 0, ``ts`` advancing by the played song's length or a few seconds). About
80 % of events are NextSong; the rest are Home, Thumbs Up/Down, Add to
Playlist, Add Friend, Roll Advert (free users), Settings/Save Settings, Help,
About, Upgrade/Submit Upgrade, Downgrade/Submit Downgrade, Logout/Login and a
rare Error. Methods and statuses follow the real data: NextSong is PUT 200,
Login/Logout/Submit*/Save Settings/Thumbs/Add Friend PUT 307, Add to Playlist
PUT 200, pages GET 200, Error GET 404. Some free users upgrade (the level
changes after Submit Upgrade) and a few paid users downgrade. Plays follow a
Zipf-like popularity. ``match_share`` is the share of NextSong events whose
song, artist and length equal one song file's title, artist_name and
duration; the others name tracks that are in no song file.

Quirks, on purpose, because the real data has them and the warehouse must
cope: song files with ``year`` 0; artists with null latitude/longitude and an
empty location; some artists whose artist_name spelling or location differs
between their song files; a few pairs of songs with the same title and artist
name but different durations (matching must pick the exact/closest duration);
logged-out events (auth "Logged Out", userId "", null name, gender, location,
registration and userAgent); userAgent values that carry literal double quotes
(those containing a comma, as in the real data); two blank lines near the top
of the first log file. Nothing is invalid: every event has a numeric ts and
every song a song_id.

Determinism: everything comes from ``random.Random(seed)`` (sub-streams seeded
from it in a fixed order), integer time arithmetic and plain float arithmetic
(no log/exp based distributions, whose last bits may differ between C
libraries), never the wall clock or set/dict iteration order of hashed values.

The package, one module a step of generate(): words (the invented vocabulary),
catalog (artists, songs, quirks), simulate (users and their sessions in time;
sessions: one user's page views), render (the event JSON text), write (files).
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import sql_queries
from sparkify.sample_data.catalog import Track, make_catalog, unknown_tracks
from sparkify.sample_data.render import render_days
from sparkify.sample_data.simulate import count_plays, make_users, simulate_sessions
from sparkify.sample_data.write import clear_previous, log_path, song_path, write_logs, write_songs

__all__ = [
    "BadArgument",
    "DEFAULT_DAYS",
    "DEFAULT_EVENTS",
    "DEFAULT_MATCH_SHARE",
    "DEFAULT_SEED",
    "DEFAULT_SONGS",
    "DEFAULT_START",
    "JSONPATHS",
    "LOG_FIELDS",
    "SONG_FIELDS",
    "Summary",
    "check_arguments",
    "default_users",
    "generate",
    "jsonpaths_text",
]

# The bundled sample (data/sample) is generate() with exactly these values.
DEFAULT_EVENTS = 8_000
DEFAULT_SONGS = 300
DEFAULT_SEED = 42
DEFAULT_START = date(2018, 11, 1)
DEFAULT_DAYS = 30
DEFAULT_MATCH_SHARE = 0.8

# The source formats, as the warehouse reads them (one definition, in sql_queries).
SONG_FIELDS = sql_queries.STAGING_SONGS_COLUMNS
LOG_FIELDS = sql_queries.EVENT_JSON_KEYS
JSONPATHS = tuple(f"$['{name}']" for name in LOG_FIELDS)

EVENTS_PER_USER = 80  # default user count: events / this (the real sample: ~84)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


# --------------------------------------------------------------------------
# Public results
# --------------------------------------------------------------------------
@dataclass(frozen=True)
class Summary:
    """What generate() wrote."""

    out_dir: Path
    song_files: int
    artists: int
    users: int
    sessions: int
    events: int
    nextsong_events: int
    matched_nextsong_events: int
    log_files: int
    first_day: date | None
    last_day: date | None

    @property
    def match_share(self) -> float:
        """The realized share of NextSong events that match a song file."""
        return self.matched_nextsong_events / self.nextsong_events if self.nextsong_events else 0.0

    def line(self) -> str:
        """A one-line human summary."""
        days = f"{self.first_day}..{self.last_day}" if self.first_day else "no days"
        return (
            f"wrote {self.song_files} song files ({self.artists} artists) and {self.events} events "
            f"({self.nextsong_events} NextSong, {self.match_share:.1%} matching a song; "
            f"{self.users} users, {self.sessions} sessions) in {self.log_files} log files "
            f"({days}) to {self.out_dir}"
        )


def default_users(events: int) -> int:
    """The number of user profiles generate() makes when users is None."""
    return max(1, min(events, round(events / EVENTS_PER_USER)))


def jsonpaths_text() -> str:
    """The log_json_path.json content, formatted like the real file."""
    return json.dumps({"jsonpaths": list(JSONPATHS)}, indent=4) + "\n"


# --------------------------------------------------------------------------
# The entry point
# --------------------------------------------------------------------------
class BadArgument(ValueError):
    """An impossible argument of generate(): its name and what is wrong, e.g.
    "events" and "must be at least 1, not 0" (generate_sample.py says "--events ...")."""

    def __init__(self, name: str, problem: str) -> None:
        super().__init__(f"{name} {problem}")
        self.name = name
        self.problem = problem


def check_arguments(*, events: int, songs: int, days: int, match_share: float, users: int | None) -> None:
    """Raise BadArgument for the first impossible one, in this order."""
    for name, value in (("events", events), ("songs", songs), ("days", days)):
        if value < 1:
            raise BadArgument(name, f"must be at least 1, not {value}")
    if not 0.0 <= match_share <= 1.0:
        raise BadArgument("match_share", f"must be between 0 and 1, not {match_share}")
    if users is not None and users < 1:
        raise BadArgument("users", f"must be at least 1, not {users}")


def generate(
    out_dir: Path,
    *,
    events: int,
    songs: int,
    seed: int = DEFAULT_SEED,
    start: date = DEFAULT_START,
    days: int = DEFAULT_DAYS,
    match_share: float = DEFAULT_MATCH_SHARE,
    users: int | None = None,
    progress: Callable[[str], None] | None = None,
) -> Summary:
    """Write `songs` song files and exactly `events` log events (over `days`
    UTC days from `start`) plus log_json_path.json under out_dir; see the
    module docstring for the formats. `users` defaults to default_users(events);
    `progress` gets a message now and then.

    The same arguments always give byte-identical files. Song and log files a
    previous run left in out_dir are replaced or removed; nothing else is
    touched. Raises ValueError for impossible arguments, OSError if out_dir
    cannot be written.
    """
    check_arguments(events=events, songs=songs, days=days, match_share=match_share, users=users)
    say = progress or (lambda _msg: None)
    out_dir = Path(out_dir)
    master = random.Random(seed)
    streams = [random.Random(master.getrandbits(64)) for _ in range(5)]  # fixed order: stable sub-seeds
    catalog_rng, unknown_rng, user_rng, play_rng, session_rng = streams
    ms = master.randrange(1000)  # every ts and registration shares its milliseconds, as in the real logs

    artists, catalog = make_catalog(catalog_rng, songs)
    tracks: list[Track | None] = [None]
    tracks += [Track(s.title, s.artist_name, s.duration) for s in catalog]
    tracks += unknown_tracks(unknown_rng, max(20, songs), catalog)
    say(f"catalog: {len(catalog)} songs by {len(artists)} artists")

    start_sec = int((datetime(start.year, start.month, start.day, tzinfo=UTC) - _EPOCH).total_seconds())
    user_list = make_users(user_rng, users if users is not None else default_users(events), start_sec)
    for user in user_list:
        user.registration_ms += ms
    sessions = simulate_sessions(session_rng, play_rng, user_list, tracks, len(catalog), events, days * 86400, match_share, say)
    day_lines = render_days(sessions, user_list, tracks, start_sec * 1000 + ms, days)
    nextsong, matched = count_plays(sessions, len(catalog))
    say("events: rendered")

    out_dir.mkdir(parents=True, exist_ok=True)
    keep = {song_path(out_dir, s.track_id) for s in catalog}
    keep.update(log_path(out_dir, start + timedelta(days=i)) for i, rows in enumerate(day_lines) if rows)
    clear_previous(out_dir, keep)
    say(f"song_data: writing {len(catalog)} files")
    write_songs(out_dir, catalog, say)
    written = write_logs(out_dir, day_lines, start, say)
    (out_dir / "log_json_path.json").write_text(jsonpaths_text(), encoding="ascii", newline="")
    return Summary(
        out_dir=out_dir,
        song_files=len(catalog),
        artists=len(artists),
        users=len({s.user for s in sessions if s.user >= 0}),
        sessions=len(sessions),
        events=sum(len(s.events) for s in sessions),
        nextsong_events=nextsong,
        matched_nextsong_events=matched,
        log_files=len(written),
        first_day=written[0] if written else None,
        last_day=written[-1] if written else None,
    )
