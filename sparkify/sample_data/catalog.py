"""The catalog: artists and their songs (the song files), with the real data's
quirks, and the unknown tracks users play that are in no song file."""

from __future__ import annotations

import json
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from itertools import accumulate

from sparkify.sample_data.words import (
    ADJECTIVES,
    ARTIST_PLACES,
    BAND_WORDS,
    FEMALE,
    LAST,
    MALE,
    NOUNS,
    TITLE_ADJ,
    TITLE_NEGATIONS,
    TITLE_NON_ASCII,
    TITLE_STATES,
    TITLE_SUBJECTS,
    TITLE_SUFFIXES,
    TITLE_VERBS,
    TITLE_WORDS,
)

SONGS_PER_ARTIST = 2.2  # the Million Song Dataset subset: ~2.3
YEAR_ZERO_SHARE = 0.45  # songs whose year is unknown (0)
EMPTY_LOCATION_SHARE = 0.35  # artists with "" location and null coordinates
NULL_COORDS_SHARE = 0.35  # of the others: a location but null coordinates
VARIANT_SHARE = 0.05  # multi-song artists with a second spelling / location

_UPPER = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
_UPPER_DIGITS = _UPPER + "0123456789"
_HEX = "0123456789ABCDEF"


@dataclass
class _Artist:
    artist_id: str
    name: str
    location: str
    latitude: float | None
    longitude: float | None


@dataclass
class Song:
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
class Track:
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
        words = [rng.choice(TITLE_WORDS)]
    elif roll < 0.55:
        words = [rng.choice(TITLE_ADJ), rng.choice(TITLE_WORDS)]
    elif roll < 0.7:
        words = [rng.choice(TITLE_WORDS), rng.choice(("Of", "In The", "On The", "For The")), rng.choice(TITLE_WORDS)]
    elif roll < 0.82:
        if rng.random() < 0.6:
            words = [rng.choice(TITLE_NEGATIONS), rng.choice(TITLE_VERBS)]
        else:
            words = [rng.choice(TITLE_SUBJECTS), rng.choice(TITLE_STATES)]
        if rng.random() < 0.5:
            words.append(rng.choice(("Now", "Tonight", "Again", "Anymore", "Tomorrow")))
    elif roll < 0.9:
        words = ["The", rng.choice(TITLE_ADJ), rng.choice(TITLE_WORDS)]
    elif roll < 0.95:
        words = [rng.choice(TITLE_NON_ASCII), rng.choice(TITLE_WORDS)]
    else:
        words = [rng.choice(TITLE_WORDS), "&", rng.choice(TITLE_WORDS)]
    title = " ".join(words)
    if rng.random() < 0.12:
        title += " " + rng.choice(TITLE_SUFFIXES)
    return title


def _artist_name(rng: random.Random) -> str:
    """An invented band or performer name."""
    roll = rng.random()
    if roll < 0.3:
        return f"{rng.choice(FEMALE + MALE)} {rng.choice(LAST)}"
    if roll < 0.55:
        return f"The {rng.choice(ADJECTIVES)} {rng.choice(NOUNS)}"
    if roll < 0.7:
        return f"{rng.choice(ADJECTIVES)} {rng.choice(NOUNS)}"
    if roll < 0.8:
        return f"{rng.choice(FEMALE + MALE)} {rng.choice(LAST)} & The {rng.choice(NOUNS)}"
    if roll < 0.88:
        return f"{rng.choice(LAST)} {rng.choice(BAND_WORDS)}"
    if roll < 0.94:
        return f"DJ {rng.choice(ADJECTIVES)} {rng.choice(LAST)}"
    return f"{rng.choice(ADJECTIVES)}{rng.choice(NOUNS).lower()}"


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
    location, lat, lon = rng.choice(ARTIST_PLACES)
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
    return f"{name} feat. {rng.choice(FEMALE + MALE)} {rng.choice(LAST)}"


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


def _song_for(rng: random.Random, artist: _Artist, ids: set[str]) -> Song:
    return Song(
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


def make_catalog(rng: random.Random, songs: int) -> tuple[list[_Artist], list[Song]]:
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


def _add_artist_variants(rng: random.Random, catalog: list[Song]) -> None:
    """Give some multi-song artists another spelling or location in one file."""
    by_artist: dict[str, list[Song]] = {}
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


def _duplicate_titles(rng: random.Random, catalog: list[Song], count: int, ids: set[str]) -> list[Song]:
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


def unknown_tracks(rng: random.Random, count: int, catalog: Sequence[Song]) -> list[Track]:
    """Tracks users play that are in no song file (artist names never in the catalog)."""
    taken = {song.artist_name for song in catalog}
    names: list[str] = []
    for _ in range(max(1, count // 2)):
        name = _unique_name(rng, _artist_name, taken)
        if rng.random() < 0.08:  # collaborations, written with "/" as in the real logs
            name = f"{name} / {_unique_name(rng, _artist_name, taken)}"
        names.append(name)
    return [Track(_title(rng), rng.choice(names), _duration(rng)) for _ in range(count)]
