"""One user's sessions of page views: the pages (method and status as in the
real data), what a logged-in user does next, logging out and in, upgrading
and downgrading, and the guests who never log in."""

from __future__ import annotations

import random
from bisect import bisect
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from itertools import accumulate
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # simulate.py imports this module: the name is for annotations only
    from sparkify.sample_data.simulate import User

SESSION_MEAN = 20  # mean planned events per session
SESSION_MAX = 120  # planned events per session at most
MAX_SESSION_SECONDS = 20 * 3600  # a session stops starting new events after this
LOGGED_OUT_START = 0.07  # sessions that start logged out and then Login


# Pages: (name, method, status) as in the real data (and eventsim for the
# pages the Udacity sample lacks).
PAGES = (
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
) = range(len(PAGES))

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


# An event is (seconds since session start, page, state, track); state is
# level + 2 when logged in (0 logged-out free, 1 logged-out paid, 2 free,
# 3 paid); track 0 is "no song".
Event = tuple[int, int, int, int]


@dataclass
class Session:
    start: int  # seconds since the period start
    user: int  # index into the user list; -1 for a guest
    events: list[Event] = field(default_factory=list)

    @property
    def duration(self) -> int:
        return self.events[-1][0] if self.events else 0


class Simulator:
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

    def user_sessions(self, user: User, budget: int) -> list[Session]:
        """The user's sessions in time order (start times not yet placed)."""
        sessions = []
        while budget > 0:
            target = min(budget, self.rng.choices(self.sizes, cum_weights=self.size_cum)[0])
            events = self.session(user, target)
            user.done += len(events)
            budget -= len(events)
            sessions.append(Session(0, -1, events))
        return sessions

    def session(self, user: User, target: int) -> list[Event]:
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
