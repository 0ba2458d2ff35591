"""A deterministic generator of Sparkify-like raw JSON: song files and app event logs.

The project ships its own sample data, made by this module (never copied from
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
"""

from __future__ import annotations

import json
import os
import random
import re
from bisect import bisect
from concurrent.futures import ThreadPoolExecutor
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from itertools import accumulate
from pathlib import Path

import sql_queries

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

# --------------------------------------------------------------------------
# Tunables
# --------------------------------------------------------------------------
EVENTS_PER_USER = 80  # default user count: events / this (the real sample: ~84)
SONGS_PER_ARTIST = 2.2  # the Million Song Dataset subset: ~2.3
GUEST_EVENT_SHARE = 0.004  # events in sessions of never-logged-in visitors
PAID_AT_START = 0.3  # users who are paid before the period starts
PAID_ACTIVITY = 2.5  # paid users are this much more active
UPGRADER_SHARE = 0.2  # free users who will Submit Upgrade during the period
DOWNGRADER_SHARE = 0.06  # paid users who will Submit Downgrade
YEAR_ZERO_SHARE = 0.45  # songs whose year is unknown (0)
EMPTY_LOCATION_SHARE = 0.35  # artists with "" location and null coordinates
NULL_COORDS_SHARE = 0.35  # of the others: a location but null coordinates
VARIANT_SHARE = 0.05  # multi-song artists with a second spelling / location
SESSION_MEAN = 20  # mean planned events per session
SESSION_MAX = 120  # planned events per session at most
MAX_SESSION_SECONDS = 20 * 3600  # a session stops starting new events after this
SESSION_GAP = 900  # seconds between two sessions of one user, at least
LOGGED_OUT_START = 0.07  # sessions that start logged out and then Login
PLAY_CHUNK = 4096
WRITE_THREADS = 8  # parallel small-file writes (latency bound, not CPU bound)

# Pages: (name, method, status) as in the real data (and eventsim for the
# pages the Udacity sample lacks).
_PAGES = (
    ("NextSong", "PUT", 200),
    ("Home", "GET", 200),
    ("Thumbs Up", "PUT", 307),
    ("Thumbs Down", "PUT", 307),
    ("Add to Playlist", "PUT", 200),
    ("Add Friend", "PUT", 307),
    ("Roll Advert", "GET", 200),
    ("Logout", "PUT", 307),
    ("Login", "PUT", 307),
    ("Settings", "GET", 200),
    ("Save Settings", "PUT", 307),
    ("Help", "GET", 200),
    ("About", "GET", 200),
    ("Upgrade", "GET", 200),
    ("Submit Upgrade", "PUT", 307),
    ("Downgrade", "GET", 200),
    ("Submit Downgrade", "PUT", 307),
    ("Error", "GET", 404),
)
(
    NEXT,
    HOME,
    THUMBS_UP,
    THUMBS_DOWN,
    PLAYLIST,
    FRIEND,
    ADVERT,
    LOGOUT,
    LOGIN,
    SETTINGS,
    SAVE_SETTINGS,
    HELP,
    ABOUT,
    UPGRADE,
    SUBMIT_UPGRADE,
    DOWNGRADE,
    SUBMIT_DOWNGRADE,
    ERROR,
) = range(len(_PAGES))

# What a logged-in user does next, per level (free, paid): page -> weight.
_NEXT_PAGE = (
    {
        NEXT: 900,
        HOME: 50,
        THUMBS_UP: 36,
        THUMBS_DOWN: 12,
        PLAYLIST: 20,
        FRIEND: 13,
        ADVERT: 40,
        LOGOUT: 12,
        SETTINGS: 6,
        HELP: 5,
        ABOUT: 3,
        UPGRADE: 12,
        ERROR: 1,
    },
    {
        NEXT: 950,
        HOME: 45,
        THUMBS_UP: 48,
        THUMBS_DOWN: 10,
        PLAYLIST: 27,
        FRIEND: 14,
        LOGOUT: 12,
        SETTINGS: 6,
        HELP: 5,
        ABOUT: 3,
        DOWNGRADE: 8,
        ERROR: 1,
    },
)
SAVE_AFTER_SETTINGS = 0.3
SUBMIT_AFTER_UPGRADE = 0.08  # spontaneous upgrades, besides the planned ones
SUBMIT_AFTER_DOWNGRADE = 0.02
END_AFTER_LOGOUT = 0.6  # else the user logs back in within the session

# Relative activity per UTC hour (US listeners: evenings UTC are busiest).
_HOUR_WEIGHTS = (6, 5, 4, 3, 2, 2, 1, 1, 1, 2, 3, 4, 5, 6, 7, 8, 9, 9, 9, 9, 8, 8, 7, 7)

# --------------------------------------------------------------------------
# Word pools (invented combinations; no real titles, names or ids)
# --------------------------------------------------------------------------
_FEMALE = (
    "Abigail Addison Alexis Alyssa Amara Aubrey Avery Brianna Brooke Camila Chloe Claire "
    "Daisy Delaney Eleanor Elena Faith Gianna Hailey Harper Hazel Isla Ivy Jade Jocelyn "
    "Julia Kendra Layla Leah Lila Lucia Mackenzie Madelyn Maya Mila Naomi Nora Paige "
    "Piper Quinn Reagan Riley Rosa Ruby Sadie Savannah Sienna Stella Tessa Valeria "
    "Vivian Willow Zoe"
).split()
_MALE = (
    "Aaron Adrian Alec Andre Axel Beckett Brady Caleb Cameron Carter Cody Colin Damian "
    "Declan Derek Dominic Easton Elias Emmett Felix Gavin Grant Hector Hudson Ian Jace "
    "Jasper Jonah Julian Kai Landon Levi Lincoln Marco Mason Miles Nolan Oscar Owen "
    "Parker Rhys Roman Rowan Silas Theo Tristan Tucker Victor Wesley Xavier Zane"
).split()
_LAST = (
    "Abbott Alvarez Barker Becker Bishop Blackwell Bowen Brennan Calloway Carver Chan "
    "Compton Crane Dalton Delgado Donovan Duran Ellison Espinoza Farrell Fleming Foley "
    "Galloway Garner Gillespie Goodwin Hale Hammond Harlow Hendrix Holloway Ibarra Jarvis "
    "Keller Kemp Kirby Lambert Lawson Lindqvist Lowry Maddox Marsh Mercer Monroe Navarro "
    "Nolan Oakley Ortega Pacheco Pemberton Quintero Ramsey Reyes Rhodes Salazar Sawyer "
    "Shepard Sloan Stanton Sutton Talbot Thorne Underwood Vance Velasquez Wade Whitaker "
    "Winslow Yates Zamora"
).split()
_ADJECTIVES = (
    "Amber Ancient Arctic Atomic Autumn Black Blue Broken Burning Chrome Cosmic Crimson "
    "Crystal Dark Distant Electric Empty Endless Fading Falling Frozen Golden Hollow "
    "Honey Hungry Invisible Iron Last Lonely Lost Lucky Lunar Marble Midnight Mystic "
    "Neon Paper Pale Painted Quiet Radiant Restless Rusty Sacred Savage Scarlet Secret "
    "Silent Silver Sleepy Solar Static Stolen Strange Sunday Velvet Violet Wandering "
    "Wild Wooden"
).split()
_NOUNS = (
    "Anchors Arrows Bandits Bells Birds Bones Cadets Candles Canyons Cathedrals Comets "
    "Coyotes Crows Diamonds Drifters Echoes Embers Engines Falcons Foxes Ghosts Giants "
    "Harbors Hearts Horses Islands Jackals Kings Lanterns Lions Machines Mirrors Monks "
    "Moons Mountains Oceans Orchids Owls Pilots Pines Prophets Rebels Rivers Robots "
    "Sailors Satellites Shadows Sirens Sparrows Spirits Strangers Thieves Tigers Towers "
    "Travelers Valleys Wolves"
).split()
_BAND_WORDS = ("Band", "Trio", "Quartet", "Orchestra", "Collective", "Project", "Ensemble", "Experience")
_TITLE_WORDS = (
    "Heart Night Fire Rain Road Dream Light Love Summer Winter River Sky Home Stars "
    "Shadow Storm Angel Highway Morning Midnight Ocean Paradise Thunder Mirror Wire "
    "Gold Ghost Garden Island Train Window Echo Letter Promise Secret Silence Smoke "
    "Sugar Horizon Diamond Rose Wolf Moon Sun Tide Glass Heaven Kingdom Lullaby Anthem "
    "Carnival Satellite Cowboy Valentine Harbor Lantern Memory Voices Wonder Canyon "
    "Velvet Thief Saint Sinner Runaway Stranger Ballad Radio Neon Desert Fever Honey"
).split()
_TITLE_ADJ = (
    "Little Lonely Sweet Wild Broken Golden Endless Electric Blue Lost Crazy Silent "
    "Burning Dancing Falling Last Only Secret Hungry Holy Rainy Summer Velvet Young"
).split()
_TITLE_NON_ASCII = (
    "Corazón", "Café", "Mañana", "Niño", "Über", "Déjà Vu", "Señorita", "Été", "Canción", "Fräulein",
)
_TITLE_NEGATIONS = ("Don't", "Can't", "Won't", "Never", "Let's Not")
_TITLE_VERBS = (
    "Stop", "Wait", "Look Back", "Let Go", "Forget", "Cry", "Run Away", "Sleep", "Say Goodbye", "Dance",
)
_TITLE_SUBJECTS = ("I'm", "You're", "We're", "She's", "They're", "Ain't Nobody")
_TITLE_STATES = ("Lost", "Alive", "Gone", "Falling", "Ready", "Dreamin'", "Lovin' It", "Home", "On Fire")
_TITLE_SUFFIXES = ("(Album Version)", "(Live)", "(Remastered)", "(Radio Edit)", "(Acoustic)", "(Demo)", "[Remix]")

# Artist home towns: (location, latitude, longitude); None coordinates are
# places the dataset knows by name only.
_ARTIST_PLACES: tuple[tuple[str, float | None, float | None], ...] = (
    ("Austin, TX", 30.26759, -97.74299),
    ("Seattle, WA", 47.60357, -122.32945),
    ("Detroit, MI", 42.33168, -83.04792),
    ("New Orleans, LA", 29.95465, -90.07507),
    ("Atlanta, GA", 33.74831, -84.39111),
    ("Brooklyn, NY", 40.6501, -73.94958),
    ("Los Angeles, CA", 34.05349, -118.24532),
    ("Minneapolis, MN", 44.9773, -93.26501),
    ("Athens, GA", 33.95962, -83.37666),
    ("Portland, OR", 45.51179, -122.67563),
    ("Chicago, IL", 41.88415, -87.63241),
    ("Boston, MA", 42.35866, -71.05674),
    ("Denver, CO", 39.74001, -104.99202),
    ("Omaha, NE", 41.26067, -95.93753),
    ("Miami, FL", 25.77481, -80.19773),
    ("Nashville, TN", 36.16784, -86.77816),
    ("Philadelphia, PA", 39.95222, -75.16218),
    ("London, England", 51.50632, -0.12714),
    ("Manchester, England", 53.47961, -2.24881),
    ("Glasgow, Scotland", 55.85953, -4.25175),
    ("Dublin, Ireland", 53.34376, -6.24953),
    ("Berlin, Germany", 52.51607, 13.37698),
    ("Stockholm, Sweden", 59.32893, 18.06491),
    ("Reykjavik, Iceland", 64.14602, -21.94123),
    ("Paris, France", 48.85693, 2.34121),
    ("Montreal, Quebec, Canada", 45.51228, -73.55439),
    ("Vancouver, BC, Canada", 49.26038, -123.11336),
    ("Melbourne, Australia", -37.81753, 144.96715),
    ("São Paulo, Brazil", -23.56287, -46.65466),
    ("Kingston, Jamaica", 17.99702, -76.79358),
    ("Havana, Cuba", 23.13302, -82.38304),
    ("Lagos, Nigeria", 6.45306, 3.39583),
    ("Tokyo, Japan", 35.68919, 139.69188),
    ("Mexico City, Mexico", 19.43195, -99.13315),
    ("Bogotá, Colombia", 4.59864, -74.07646),
    ("Ohio", None, None),
    ("Texas", None, None),
    ("California", None, None),
    ("New Jersey", None, None),
    ("England", None, None),
    ("Scandinavia", None, None),
    ("Bay Area, CA", None, None),
    ("Southern California", None, None),
    ("NY - Upstate", None, None),
    ("Pacific Northwest", None, None),
)

# US metro areas (Census CBSA names) for users, most populous first.
_METROS = (
    "New York-Newark-Jersey City, NY-NJ-PA",
    "Los Angeles-Long Beach-Anaheim, CA",
    "Chicago-Naperville-Elgin, IL-IN-WI",
    "Dallas-Fort Worth-Arlington, TX",
    "Houston-The Woodlands-Sugar Land, TX",
    "Washington-Arlington-Alexandria, DC-VA-MD-WV",
    "Miami-Fort Lauderdale-West Palm Beach, FL",
    "Philadelphia-Camden-Wilmington, PA-NJ-DE-MD",
    "Atlanta-Sandy Springs-Roswell, GA",
    "Boston-Cambridge-Newton, MA-NH",
    "Phoenix-Mesa-Scottsdale, AZ",
    "San Francisco-Oakland-Hayward, CA",
    "Riverside-San Bernardino-Ontario, CA",
    "Detroit-Warren-Dearborn, MI",
    "Seattle-Tacoma-Bellevue, WA",
    "Minneapolis-St. Paul-Bloomington, MN-WI",
    "San Diego-Carlsbad, CA",
    "Tampa-St. Petersburg-Clearwater, FL",
    "Denver-Aurora-Lakewood, CO",
    "St. Louis, MO-IL",
    "Baltimore-Columbia-Towson, MD",
    "Charlotte-Concord-Gastonia, NC-SC",
    "Orlando-Kissimmee-Sanford, FL",
    "San Antonio-New Braunfels, TX",
    "Portland-Vancouver-Hillsboro, OR-WA",
    "Pittsburgh, PA",
    "Sacramento--Roseville--Arden-Arcade, CA",
    "Las Vegas-Henderson-Paradise, NV",
    "Cincinnati, OH-KY-IN",
    "Kansas City, MO-KS",
    "Columbus, OH",
    "Indianapolis-Carmel-Anderson, IN",
    "Cleveland-Elyria, OH",
    "San Jose-Sunnyvale-Santa Clara, CA",
    "Nashville-Davidson--Murfreesboro--Franklin, TN",
    "Austin-Round Rock, TX",
    "Raleigh, NC",
    "Salt Lake City, UT",
    "Louisville/Jefferson County, KY-IN",
    "Albany-Schenectady-Troy, NY",
    "Tucson, AZ",
    "Boise City, ID",
    "Madison, WI",
    "Ann Arbor, MI",
    "Spokane-Spokane Valley, WA",
    "Des Moines-West Des Moines, IA",
    "Omaha-Council Bluffs, NE-IA",
    "Burlington-South Burlington, VT",
    "Anchorage, AK",
    "Urban Honolulu, HI",
)

# Browser userAgents of 2018-era eventsim: (string, weight). Values with a
# comma carry literal double quotes, as in the real data.
_USER_AGENTS = (
    ("Mozilla/5.0 (Macintosh; Intel Mac OS X 10_9_5) AppleWebKit/537.36 (KHTML, like Gecko) "
     "Chrome/37.0.2062.120 Safari/537.36", 12),
    ("Mozilla/5.0 (Windows NT 6.1; WOW64) AppleWebKit/537.36 (KHTML, like Gecko) "
     "Chrome/37.0.2062.120 Safari/537.36", 12),
    ("Mozilla/5.0 (Windows NT 6.3; WOW64) AppleWebKit/537.36 (KHTML, like Gecko) "
     "Chrome/38.0.2125.104 Safari/537.36", 8),
    ("Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
     "Chrome/38.0.2125.101 Safari/537.36", 6),
    ("Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
     "Ubuntu Chromium/37.0.2062.94 Chrome/37.0.2062.94 Safari/537.36", 4),
    ("Mozilla/5.0 (Macintosh; Intel Mac OS X 10_10_1) AppleWebKit/600.2.5 (KHTML, like Gecko) "
     "Version/8.0.1 Safari/600.2.5", 8),
    ("Mozilla/5.0 (iPhone; CPU iPhone OS 8_1 like Mac OS X) AppleWebKit/600.1.4 (KHTML, like Gecko) "
     "Version/8.0 Mobile/12B411 Safari/600.1.4", 5),
    ("Mozilla/5.0 (iPad; CPU OS 7_1_2 like Mac OS X) AppleWebKit/537.51.2 (KHTML, like Gecko) "
     "Version/7.0 Mobile/11D257 Safari/9537.53", 3),
    ("Mozilla/5.0 (Windows NT 6.1; WOW64; rv:32.0) Gecko/20100101 Firefox/32.0", 7),
    ("Mozilla/5.0 (Macintosh; Intel Mac OS X 10.10; rv:33.0) Gecko/20100101 Firefox/33.0", 4),
    ("Mozilla/5.0 (X11; Ubuntu; Linux x86_64; rv:32.0) Gecko/20100101 Firefox/32.0", 2),
    ("Mozilla/5.0 (Windows NT 6.3; WOW64; Trident/7.0; rv:11.0) like Gecko", 3),
    ("Mozilla/5.0 (compatible; MSIE 10.0; Windows NT 6.1; WOW64; Trident/6.0)", 1),
)

_UPPER = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
_UPPER_DIGITS = _UPPER + "0123456789"
_HEX = "0123456789ABCDEF"
_SONG_FILE_RE = re.compile(r"TR[A-Z0-9]{16}\.json")
_LOG_FILE_RE = re.compile(r"\d{4}-\d{2}-\d{2}-events\.json")
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
# The catalog: artists and songs
# --------------------------------------------------------------------------
@dataclass
class _Artist:
    artist_id: str
    name: str
    location: str
    latitude: float | None
    longitude: float | None


@dataclass
class _Song:
    track_id: str
    song_id: str
    artist_id: str
    artist_name: str
    location: str
    latitude: float | None
    longitude: float | None
    title: str
    duration: float
    year: int

    def to_json(self) -> str:
        """The song file's content: one object, real key order, no newline."""
        obj = {
            "num_songs": 1,
            "artist_id": self.artist_id,
            "artist_latitude": self.latitude,
            "artist_longitude": self.longitude,
            "artist_location": self.location,
            "artist_name": self.artist_name,
            "song_id": self.song_id,
            "title": self.title,
            "duration": self.duration,
            "year": self.year,
        }
        return json.dumps(obj)


@dataclass(frozen=True)
class _Track:
    """Something a NextSong event can name: a catalog song or an unknown one."""

    title: str
    artist: str
    length: float


def _new_id(rng: random.Random, prefix: str, head_chars: str, used: set[str]) -> str:
    """prefix + 5 chars of head_chars + 11 hex digits, unique within used."""
    while True:
        ident = prefix + "".join(rng.choices(head_chars, k=5)) + "".join(rng.choices(_HEX, k=11))
        if ident not in used:
            used.add(ident)
            return ident


def _approx_normal(rng: random.Random) -> float:
    """A roughly standard normal value from plain arithmetic (Irwin-Hall, 6 uniforms)."""
    r = rng.random
    return (r() + r() + r() + r() + r() + r() - 3.0) * 1.4142135623730951


def _duration(rng: random.Random) -> float:
    """A song length in seconds, 5 decimals: mostly 2-6 minutes, a long tail."""
    seconds = 235.0 + 65.0 * _approx_normal(rng)
    if rng.random() < 0.05:
        seconds += 150.0 + 750.0 * rng.random()
    return round(min(1500.0, max(25.0, seconds)) + rng.random() / 1000.0, 5)


def _year(rng: random.Random) -> int:
    if rng.random() < YEAR_ZERO_SHARE:
        return 0
    return int(min(2010.0, max(1955.0, 1996.0 + 11.0 * _approx_normal(rng))))


def _title(rng: random.Random) -> str:
    """An invented song title."""
    roll = rng.random()
    if roll < 0.25:
        words = [rng.choice(_TITLE_WORDS)]
    elif roll < 0.55:
        words = [rng.choice(_TITLE_ADJ), rng.choice(_TITLE_WORDS)]
    elif roll < 0.7:
        words = [rng.choice(_TITLE_WORDS), rng.choice(("Of", "In The", "On The", "For The")), rng.choice(_TITLE_WORDS)]
    elif roll < 0.82:
        if rng.random() < 0.6:
            words = [rng.choice(_TITLE_NEGATIONS), rng.choice(_TITLE_VERBS)]
        else:
            words = [rng.choice(_TITLE_SUBJECTS), rng.choice(_TITLE_STATES)]
        if rng.random() < 0.5:
            words.append(rng.choice(("Now", "Tonight", "Again", "Anymore", "Tomorrow")))
    elif roll < 0.9:
        words = ["The", rng.choice(_TITLE_ADJ), rng.choice(_TITLE_WORDS)]
    elif roll < 0.95:
        words = [rng.choice(_TITLE_NON_ASCII), rng.choice(_TITLE_WORDS)]
    else:
        words = [rng.choice(_TITLE_WORDS), "&", rng.choice(_TITLE_WORDS)]
    title = " ".join(words)
    if rng.random() < 0.12:
        title += " " + rng.choice(_TITLE_SUFFIXES)
    return title


def _artist_name(rng: random.Random) -> str:
    """An invented band or performer name."""
    roll = rng.random()
    if roll < 0.3:
        return f"{rng.choice(_FEMALE + _MALE)} {rng.choice(_LAST)}"
    if roll < 0.55:
        return f"The {rng.choice(_ADJECTIVES)} {rng.choice(_NOUNS)}"
    if roll < 0.7:
        return f"{rng.choice(_ADJECTIVES)} {rng.choice(_NOUNS)}"
    if roll < 0.8:
        return f"{rng.choice(_FEMALE + _MALE)} {rng.choice(_LAST)} & The {rng.choice(_NOUNS)}"
    if roll < 0.88:
        return f"{rng.choice(_LAST)} {rng.choice(_BAND_WORDS)}"
    if roll < 0.94:
        return f"DJ {rng.choice(_ADJECTIVES)} {rng.choice(_LAST)}"
    return f"{rng.choice(_ADJECTIVES)}{rng.choice(_NOUNS).lower()}"


def _unique_name(rng: random.Random, make: Callable[[random.Random], str], taken: set[str]) -> str:
    """A name from make() not in taken (a numbered one if the pool runs dry)."""
    for _ in range(30):
        name = make(rng)
        if name not in taken:
            break
    else:
        base, n = name, 2
        while f"{base} {n}" in taken:
            n += 1
        name = f"{base} {n}"
    taken.add(name)
    return name


def _place(rng: random.Random) -> tuple[str, float | None, float | None]:
    """An artist location: empty with null coordinates, or a place maybe without them."""
    if rng.random() < EMPTY_LOCATION_SHARE:
        return "", None, None
    location, lat, lon = rng.choice(_ARTIST_PLACES)
    if lat is not None and rng.random() < NULL_COORDS_SHARE:
        lat = lon = None
    return location, lat, lon


def _variant_name(rng: random.Random, name: str) -> str:
    """Another spelling of an artist name, as seen across song files."""
    if name.startswith("The "):
        return name[4:]
    if " & " in name:
        return name.replace(" & ", " and ")
    if rng.random() < 0.5:
        return name.upper()
    return f"{name} feat. {rng.choice(_FEMALE + _MALE)} {rng.choice(_LAST)}"


def _make_artists(rng: random.Random, count: int, ids: set[str]) -> list[_Artist]:
    taken: set[str] = set()
    artists = []
    for _ in range(count):
        location, lat, lon = _place(rng)
        artists.append(
            _Artist(
                artist_id=_new_id(rng, "AR", _UPPER_DIGITS, ids),
                name=_unique_name(rng, _artist_name, taken),
                location=location,
                latitude=lat,
                longitude=lon,
            )
        )
    return artists


def _song_for(rng: random.Random, artist: _Artist, ids: set[str]) -> _Song:
    return _Song(
        track_id=_new_id(rng, "TR", _UPPER, ids),
        song_id=_new_id(rng, "SO", _UPPER, ids),
        artist_id=artist.artist_id,
        artist_name=artist.name,
        location=artist.location,
        latitude=artist.latitude,
        longitude=artist.longitude,
        title=_title(rng),
        duration=_duration(rng),
        year=_year(rng),
    )


def _make_catalog(rng: random.Random, songs: int) -> tuple[list[_Artist], list[_Song]]:
    """Artists and their songs, quirks included; exactly `songs` songs."""
    duplicates = max(1, songs // 100) if songs >= 4 else 0
    base = songs - duplicates
    ids: set[str] = set()
    artists = _make_artists(rng, max(1, min(base, round(base / SONGS_PER_ARTIST))), ids)
    # Every artist gets one song; the rest go to a Zipf-like few prolific ones.
    owners = list(range(len(artists)))
    cum = list(accumulate(1.0 / (i + 3) for i in range(len(artists))))
    owners += rng.choices(range(len(artists)), cum_weights=cum, k=base - len(artists))
    catalog = [_song_for(rng, artists[a], ids) for a in owners]
    _add_artist_variants(rng, catalog)
    catalog += _duplicate_titles(rng, catalog, duplicates, ids)
    return artists, catalog


def _add_artist_variants(rng: random.Random, catalog: list[_Song]) -> None:
    """Give some multi-song artists another spelling or location in one file."""
    by_artist: dict[str, list[_Song]] = {}
    for song in catalog:
        by_artist.setdefault(song.artist_id, []).append(song)
    multi = [songs for songs in by_artist.values() if len(songs) > 1]  # insertion order: deterministic
    if not multi:
        return
    count = max(2, round(len(multi) * VARIANT_SHARE * 2))
    for n, songs in enumerate(rng.sample(multi, min(count, len(multi)))):
        song = songs[-1]
        if n % 2 == 0:
            song.artist_name = _variant_name(rng, song.artist_name)
        else:
            while True:
                location, lat, lon = _place(rng)
                if location != song.location:
                    break
            song.location, song.latitude, song.longitude = location, lat, lon


def _duplicate_titles(rng: random.Random, catalog: list[_Song], count: int, ids: set[str]) -> list[_Song]:
    """Songs with the title and artist name of another song but another duration."""
    extra = []
    for original in rng.sample(catalog, min(count, len(catalog))):
        delta = (3.0 + 80.0 * rng.random()) * rng.choice((-1.0, 1.0))
        duration = round(max(25.0, original.duration + delta), 5)
        if duration == original.duration:
            duration = round(original.duration + 7.5, 5)
        # the original's artist and title under new ids; the draws (track id, song id, year) keep data/sample's order
        extra.append(
            replace(
                original,
                track_id=_new_id(rng, "TR", _UPPER, ids),
                song_id=_new_id(rng, "SO", _UPPER, ids),
                duration=duration,
                year=_year(rng),
            )
        )
    return extra


def _unknown_tracks(rng: random.Random, count: int, catalog: Sequence[_Song]) -> list[_Track]:
    """Tracks users play that are in no song file (artist names never in the catalog)."""
    taken = {song.artist_name for song in catalog}
    names: list[str] = []
    for _ in range(max(1, count // 2)):
        name = _unique_name(rng, _artist_name, taken)
        if rng.random() < 0.08:  # collaborations, written with "/" as in the real logs
            name = f"{name} / {_unique_name(rng, _artist_name, taken)}"
        names.append(name)
    return [_Track(_title(rng), rng.choice(names), _duration(rng)) for _ in range(count)]


# --------------------------------------------------------------------------
# Users
# --------------------------------------------------------------------------
@dataclass
class _User:
    user_id: str
    first_name: str
    last_name: str
    gender: str
    location: str
    user_agent: str
    registration_ms: int
    level: int  # 0 free, 1 paid (at the start; the simulation changes it)
    weight: float
    switch_at: int | None = None  # planned Submit Upgrade/Downgrade, as an event ordinal
    done: int = 0  # events simulated so far


def _make_users(rng: random.Random, count: int, start_sec: int) -> list[_User]:
    metro_cum = list(accumulate(1.0 / (i + 4) for i in range(len(_METROS))))
    agent_cum = list(accumulate(w for _, w in _USER_AGENTS))
    users = []
    for n in range(count):
        gender = rng.choice("FM")
        first = rng.choice(_FEMALE if gender == "F" else _MALE)
        agent = rng.choices(_USER_AGENTS, cum_weights=agent_cum)[0][0]
        if "," in agent:
            agent = f'"{agent}"'
        level = 1 if rng.random() < PAID_AT_START else 0
        weight = 1.0 / (0.05 + rng.random()) * (PAID_ACTIVITY if level else 1.0)
        users.append(
            _User(
                user_id=str(n + 1),
                first_name=first,
                last_name=rng.choice(_LAST),
                gender=gender,
                location=rng.choices(_METROS, cum_weights=metro_cum)[0],
                user_agent=agent,
                registration_ms=(start_sec - rng.randrange(3600, 90 * 86400)) * 1000,
                level=level,
                weight=weight,
            )
        )
    return users


def _split(total: int, weights: Sequence[float]) -> list[int]:
    """total split proportionally to weights: whole numbers, largest remainders first."""
    whole = sum(weights)
    shares = [total * w / whole for w in weights]
    counts = [int(s) for s in shares]
    order = sorted(range(len(weights)), key=lambda i: (counts[i] - shares[i], i))
    for i in order[: total - sum(counts)]:
        counts[i] += 1
    return counts


def _budgets(users: Sequence[_User], total: int, capacity: int) -> list[int]:
    """Events per user, proportional to activity, capped at what fits in the period."""
    budgets = _split(total, [u.weight for u in users])
    over = sum(max(0, b - capacity) for b in budgets)
    free = [i for i, b in enumerate(budgets) if b < capacity]
    if over and free:
        budgets = [min(b, capacity) for b in budgets]
        room = [capacity - budgets[i] for i in free]
        for i, extra in zip(free, _split(min(over, sum(room)), room), strict=True):
            budgets[i] += extra
        budgets[free[0]] += total - sum(budgets)  # whatever did not fit: overlapping sessions
    return budgets


# --------------------------------------------------------------------------
# Sessions
# --------------------------------------------------------------------------
# An event is (seconds since session start, page, state, track); state is
# level + 2 when logged in (0 logged-out free, 1 logged-out paid, 2 free,
# 3 paid); track 0 is "no song".
Event = tuple[int, int, int, int]


@dataclass
class _Session:
    start: int  # seconds since the period start
    user: int  # index into the user list; -1 for a guest
    events: list[Event] = field(default_factory=list)

    @property
    def duration(self) -> int:
        return self.events[-1][0] if self.events else 0


class _Simulator:
    """Turns per-user event budgets into sessions of page views."""

    def __init__(self, rng: random.Random, plays: Iterator[int], track_seconds: Sequence[int]) -> None:
        self.rng = rng
        self.next_track = plays.__next__
        self.track_seconds = track_seconds
        self.page_codes = tuple(tuple(table) for table in _NEXT_PAGE)
        self.page_cum = tuple(tuple(accumulate(table.values())) for table in _NEXT_PAGE)
        # Planned session sizes 1..SESSION_MAX, geometric (weights by repeated
        # multiplication, not pow(), to stay bit-identical across C libraries).
        self.sizes = range(1, SESSION_MAX + 1)
        q = 1.0 - 1.0 / SESSION_MEAN
        self.size_cum = list(accumulate(accumulate([1.0] * SESSION_MAX, lambda w, _: w * q)))

    def user_sessions(self, user: _User, budget: int) -> list[_Session]:
        """The user's sessions in time order (start times not yet placed)."""
        sessions = []
        while budget > 0:
            target = min(budget, self.rng.choices(self.sizes, cum_weights=self.size_cum)[0])
            events = self.session(user, target)
            user.done += len(events)
            budget -= len(events)
            sessions.append(_Session(0, -1, events))
        return sessions

    def session(self, user: _User, target: int) -> list[Event]:
        """At most target events of one session; the user's level carries over."""
        rng = self.rng
        rnd = rng.random
        randint = rng.randint
        next_track = self.next_track
        seconds = self.track_seconds
        ev: list[Event] = []
        add = ev.append
        t = 0
        level = user.level
        codes = self.page_codes
        cums = self.page_cum
        totals = tuple(cum[-1] for cum in cums)
        if target >= 3 and rnd() < LOGGED_OUT_START:
            add((t, HOME, level, 0))
            t += randint(2, 90)
            if target >= 4 and rnd() < 0.3:
                add((t, rng.choice((ABOUT, HELP, HOME)), level, 0))
                t += randint(2, 90)
            add((t, LOGIN, level, 0))
            t += randint(1, 50)
            add((t, HOME, level + 2, 0))
            t += randint(1, 40)
        elif rnd() < 0.4:
            add((t, HOME, level + 2, 0))
            t += randint(1, 40)
        while len(ev) < target and t < MAX_SESSION_SECONDS:
            room = target - len(ev)
            if user.switch_at is not None and user.done + len(ev) >= user.switch_at and room >= 3:
                level = self._switch(ev, t, level)
                t = ev[-1][0] + randint(1, 30)
                user.switch_at = None
                continue
            state = level + 2
            page = codes[level][bisect(cums[level], rnd() * totals[level])]
            if page == NEXT:
                track = next_track()
                add((t, NEXT, state, track))
                t += seconds[track]
            elif page == LOGOUT:
                add((t, LOGOUT, state, 0))
                t += randint(1, 5)
                if room >= 2:
                    add((t, HOME, level, 0))
                    t += randint(5, 120)
                if room < 5 or rnd() < END_AFTER_LOGOUT:
                    break
                add((t, LOGIN, level, 0))
                t += randint(1, 50)
                add((t, HOME, state, 0))
                t += randint(1, 40)
            elif page == SETTINGS:
                add((t, SETTINGS, state, 0))
                t += randint(3, 40)
                if room >= 2 and rnd() < SAVE_AFTER_SETTINGS:
                    add((t, SAVE_SETTINGS, state, 0))
                    t += randint(1, 10)
            elif page in (UPGRADE, DOWNGRADE):
                share = SUBMIT_AFTER_UPGRADE if page == UPGRADE else SUBMIT_AFTER_DOWNGRADE
                if room >= 3 and rnd() < share:
                    level = self._switch(ev, t, level)
                    t = ev[-1][0] + randint(1, 30)
                else:
                    add((t, page, state, 0))
                    t += randint(2, 60)
            else:
                add((t, page, state, 0))
                t += randint(1, 40)
        user.level = level
        return ev

    def _switch(self, ev: list[Event], t: int, level: int) -> int:
        """Upgrade (free) or Downgrade (paid), submit, land on Home: 3 events."""
        randint = self.rng.randint
        visit, submit = (UPGRADE, SUBMIT_UPGRADE) if level == 0 else (DOWNGRADE, SUBMIT_DOWNGRADE)
        ev.append((t, visit, level + 2, 0))
        t += randint(5, 60)
        ev.append((t, submit, level + 2, 0))
        t += randint(1, 5)
        level = 1 - level
        ev.append((t, HOME, level + 2, 0))
        return level

    def guest_session(self, target: int) -> list[Event]:
        """A visitor who never logs in: Home, About, Help."""
        ev: list[Event] = []
        t = 0
        for n in range(target):
            page = HOME if n == 0 else self.rng.choice((HOME, ABOUT, HELP))
            ev.append((t, page, 0, 0))
            t += self.rng.randint(3, 90)
        return ev


def _session_starts(rng: random.Random, count: int, days: int, hour_cum: Sequence[int]) -> list[int]:
    """count sorted session start seconds, days uniform, hours by _HOUR_WEIGHTS."""
    hours = rng.choices(range(24), cum_weights=hour_cum, k=count)
    return sorted(rng.randrange(days) * 86400 + h * 3600 + rng.randrange(3600) for h in hours)


def _place_sessions(
    rng: random.Random, sessions: list[_Session], user: int, period: int, hour_cum: Sequence[int]
) -> None:
    """Give a user's sessions start times: in order, apart, inside the period."""
    prev_end = -SESSION_GAP
    for session, start in zip(sessions, _session_starts(rng, len(sessions), period // 86400, hour_cum), strict=True):
        duration = session.duration
        start = max(start, prev_end + SESSION_GAP)
        if start + duration >= period:  # no room left: overlap rather than spill over
            start = period - 1 - duration - rng.randrange(max(1, min(3600, period - duration)))
            start = max(0, start)
        session.start = start
        session.user = user
        prev_end = start + duration


def _play_stream(rng: random.Random, catalog: int, unknown: int, match_share: float) -> Iterator[int]:
    """Endless track numbers: 1..catalog are song files, the rest unknown tracks.

    Each family has a Zipf-like popularity over a shuffled order; a pick is a
    catalog song with probability match_share.
    """
    weights: list[float] = []
    for size, share in ((catalog, match_share), (unknown, 1.0 - match_share)):
        rank = list(range(size))
        rng.shuffle(rank)
        z = [1.0 / (r + 10) for r in rank]
        total = sum(z)
        weights += [share * w / total for w in z]
    cum = list(accumulate(weights))
    population = range(1, catalog + unknown + 1)
    while True:
        yield from rng.choices(population, cum_weights=cum, k=PLAY_CHUNK)


# --------------------------------------------------------------------------
# Rendering
# --------------------------------------------------------------------------
def _log_json(value: object) -> str:
    """A JSON value as the event logs write it: compact, ASCII, "/" as "\\/"."""
    return json.dumps(value, separators=(",", ":")).replace("/", "\\/")


def _user_fragments(user: _User | None) -> tuple[tuple[str, str, str, str, str], ...]:
    """Pre-encoded (auth..gender, lastName, level..location, registration,
    userAgent..userId) for states 0-3 (logged-out free/paid, logged-in free/paid)."""
    out = []
    for state in range(4):
        level = _log_json("paid" if state % 2 else "free")
        if state < 2 or user is None:
            auth = '"Logged Out","firstName":null,"gender":null'
            out.append((auth, "null", f'{level},"location":null', "null", 'null,"userId":""'))
        else:
            out.append(
                (
                    f'"Logged In","firstName":{_log_json(user.first_name)},"gender":{_log_json(user.gender)}',
                    _log_json(user.last_name),
                    f'{level},"location":{_log_json(user.location)}',
                    _log_json(float(user.registration_ms)),
                    f'{_log_json(user.user_agent)},"userId":{_log_json(user.user_id)}',
                )
            )
    return tuple(out)


def _render_days(
    sessions: Sequence[_Session],
    users: Sequence[_User],
    tracks: Sequence[_Track | None],
    period_ms: int,
    days: int,
) -> list[list[tuple[int, int, int, str]]]:
    """Event lines bucketed by day index, each (ts, sessionId, itemInSession, line)."""
    artist = ["null" if t is None else _log_json(t.artist) for t in tracks]
    song = ["null" if t is None else _log_json(t.title) for t in tracks]
    length = ["null" if t is None else _log_json(t.length) for t in tracks]
    method_page = [f'{_log_json(m)},"page":{_log_json(p)}' for p, m, _ in _PAGES]
    status = [str(s) for _, _, s in _PAGES]
    frags = [_user_fragments(u) for u in users]
    guest = _user_fragments(None)
    buckets: list[list[tuple[int, int, int, str]]] = [[] for _ in range(days)]
    for sid, session in enumerate(sessions, 1):
        frag = guest if session.user < 0 else frags[session.user]
        start = session.start
        for item, (rel, page, state, track) in enumerate(session.events):
            sec = start + rel
            ts = period_ms + sec * 1000
            auth, last, level, reg, agent = frag[state]
            line = (
                f'{{"artist":{artist[track]},"auth":{auth},"itemInSession":{item},"lastName":{last},'
                f'"length":{length[track]},"level":{level},"method":{method_page[page]},'
                f'"registration":{reg},"sessionId":{sid},"song":{song[track]},"status":{status[page]},'
                f'"ts":{ts},"userAgent":{agent}}}'
            )
            buckets[sec // 86400].append((ts, sid, item, line))
    return buckets


# --------------------------------------------------------------------------
# Files
# --------------------------------------------------------------------------
def _clear_previous(out_dir: Path, keep: set[Path]) -> None:
    """Delete the song and log files a previous run wrote (recognised by their
    names and depth) that are not in keep (those get overwritten), and the
    folders that leaves empty; nothing else."""
    for top, pattern, depth in (("song_data", _SONG_FILE_RE, 3), ("log_data", _LOG_FILE_RE, 2)):
        root = out_dir / top
        if not root.is_dir():
            continue
        stale = [
            path
            for path in sorted(root.glob("/".join(["*"] * (depth + 1))))
            if path not in keep and pattern.fullmatch(path.name) and path.is_file()
        ]
        with ThreadPoolExecutor(max_workers=WRITE_THREADS) as pool:
            list(pool.map(Path.unlink, stale))
        emptied = {folder for path in stale for folder in path.parents[:depth]}
        for folder in sorted(emptied, key=lambda p: (-len(p.parts), str(p))):
            if not any(folder.iterdir()):
                folder.rmdir()
        if not any(root.iterdir()):
            root.rmdir()


def _song_path(out_dir: Path, track_id: str) -> Path:
    """song_data/X/Y/Z/<track>.json, X/Y/Z the track id's 3rd-5th characters."""
    return out_dir / "song_data" / track_id[2] / track_id[3] / track_id[4] / f"{track_id}.json"


def _log_path(out_dir: Path, day: date) -> Path:
    return out_dir / "log_data" / f"{day:%Y}" / f"{day:%m}" / f"{day:%Y-%m-%d}-events.json"


def _write_bytes(path: Path, data: bytes) -> None:
    """Create or truncate path and write data (one syscall each: many small files)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    try:
        os.write(fd, data)
    finally:
        os.close(fd)


def _write_batch(files: Sequence[tuple[Path, bytes]]) -> None:
    """Write files (making their folders); one thread's share of the song files."""
    made: set[Path] = set()
    for path, data in files:
        if path.parent not in made:
            path.parent.mkdir(parents=True, exist_ok=True)
            made.add(path.parent)
        _write_bytes(path, data)


def _write_songs(out_dir: Path, catalog: Sequence[_Song], progress: Callable[[str], None]) -> None:
    """One file per song. Small-file creation is I/O latency bound, so threads
    write in parallel, one top-level folder (song_data/X) per batch; the bytes
    do not depend on the order."""
    batches: dict[str, list[tuple[Path, bytes]]] = {}
    for song in sorted(catalog, key=lambda s: s.track_id):
        batches.setdefault(song.track_id[2], []).append(
            (_song_path(out_dir, song.track_id), song.to_json().encode("ascii"))
        )
    (out_dir / "song_data").mkdir(exist_ok=True)
    written = 0
    with ThreadPoolExecutor(max_workers=WRITE_THREADS) as pool:
        for batch, _ in zip(batches.values(), pool.map(_write_batch, batches.values()), strict=True):
            if (written + len(batch)) // 10_000 > written // 10_000:
                progress(f"song_data: {written + len(batch)} of {len(catalog)} files written")
            written += len(batch)


def _write_logs(
    out_dir: Path,
    days: Sequence[list[tuple[int, int, int, str]]],
    start: date,
    progress: Callable[[str], None],
) -> list[date]:
    """One NDJSON file per day with events, ts order, blank lines near the top of the first."""
    written: list[date] = []
    for index, rows in enumerate(days):
        if not rows:
            continue
        rows.sort()
        lines = [row[3] for row in rows]
        if not written:  # the real first file has blank lines after events 1 and 2
            for pos in (2, 1):
                if pos < len(lines):
                    lines.insert(pos, "")
        day = start + timedelta(days=index)
        path = _log_path(out_dir, day)
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "w", encoding="ascii", newline="", buffering=1 << 20) as f:
            f.write("\n".join(lines))
        rows.clear()
        written.append(day)
        if len(written) % 10 == 0:
            progress(f"log_data: {len(written)} day files written")
    return written


# --------------------------------------------------------------------------
# The simulation
# --------------------------------------------------------------------------
def _simulate(
    rng: random.Random,
    play_rng: random.Random,
    users: list[_User],
    tracks: Sequence[_Track | None],
    catalog: int,
    events: int,
    period: int,
    match_share: float,
    say: Callable[[str], None],
) -> list[_Session]:
    """Exactly `events` events in sessions placed in time and sorted by start;
    a session's list position + 1 is its sessionId."""
    plays = _play_stream(play_rng, catalog, len(tracks) - 1 - catalog, match_share)
    track_seconds = [0] + [int(t.length) for t in tracks[1:] if t is not None]
    sim = _Simulator(rng, plays, track_seconds)
    hour_cum = list(accumulate(_HOUR_WEIGHTS))
    guests = round(events * GUEST_EVENT_SHARE) if events >= 100 else 0
    capacity = max(1, period // 400)  # ~half the period listening, at ~200 s an event
    budgets = _budgets(users, events - guests, capacity)
    for user, budget in zip(users, budgets, strict=True):
        if budget >= 20 and rng.random() < (DOWNGRADER_SHARE if user.level else UPGRADER_SHARE):
            user.switch_at = rng.randint(budget // 5, budget * 4 // 5)
    sessions: list[_Session] = []
    done = 0
    for index, (user, budget) in enumerate(zip(users, budgets, strict=True)):
        own = sim.user_sessions(user, budget)
        _place_sessions(rng, own, index, period, hour_cum)
        sessions += own
        done += budget
        if index % 2000 == 1999:
            say(f"events: {done} of {events} simulated")
    sessions += _guest_sessions(rng, sim, guests, period, hour_cum)
    sessions.sort(key=lambda s: (s.start, s.user))  # stable: ties keep their order
    say(f"events: {events} simulated in {len(sessions)} sessions")
    return sessions


def _guest_sessions(
    rng: random.Random, sim: _Simulator, events: int, period: int, hour_cum: Sequence[int]
) -> list[_Session]:
    """Short logged-out visits (1-3 events) adding up to `events` events."""
    sessions = []
    while events > 0:
        size = min(events, rng.randint(1, 3))
        session = _Session(0, -1, sim.guest_session(size))
        start = _session_starts(rng, 1, period // 86400, hour_cum)[0]
        session.start = min(start, period - 1 - session.duration)
        sessions.append(session)
        events -= size
    return sessions


def _count_plays(sessions: Sequence[_Session], catalog: int) -> tuple[int, int]:
    """(NextSong events, those naming a catalog song)."""
    nextsong = matched = 0
    for session in sessions:
        for _, page, _, track in session.events:
            if page == NEXT:
                nextsong += 1
                matched += track <= catalog
    return nextsong, matched


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

    artists, catalog = _make_catalog(catalog_rng, songs)
    tracks: list[_Track | None] = [None]
    tracks += [_Track(s.title, s.artist_name, s.duration) for s in catalog]
    tracks += _unknown_tracks(unknown_rng, max(20, songs), catalog)
    say(f"catalog: {len(catalog)} songs by {len(artists)} artists")

    start_sec = int((datetime(start.year, start.month, start.day, tzinfo=UTC) - _EPOCH).total_seconds())
    user_list = _make_users(user_rng, users if users is not None else default_users(events), start_sec)
    for user in user_list:
        user.registration_ms += ms
    sessions = _simulate(session_rng, play_rng, user_list, tracks, len(catalog), events, days * 86400, match_share, say)
    day_lines = _render_days(sessions, user_list, tracks, start_sec * 1000 + ms, days)
    nextsong, matched = _count_plays(sessions, len(catalog))
    say("events: rendered")

    out_dir.mkdir(parents=True, exist_ok=True)
    keep = {_song_path(out_dir, s.track_id) for s in catalog}
    keep.update(_log_path(out_dir, start + timedelta(days=i)) for i, rows in enumerate(day_lines) if rows)
    _clear_previous(out_dir, keep)
    say(f"song_data: writing {len(catalog)} files")
    _write_songs(out_dir, catalog, say)
    written = _write_logs(out_dir, day_lines, start, say)
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
