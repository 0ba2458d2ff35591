"""The period: users and their event budgets, the plays they draw (a Zipf-like
popularity), and their sessions placed in time."""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from itertools import accumulate

from sparkify.sample_data.catalog import Track
from sparkify.sample_data.sessions import NEXT, Session, Simulator
from sparkify.sample_data.words import FEMALE, LAST, MALE, METROS, USER_AGENTS

GUEST_EVENT_SHARE = 0.004  # events in sessions of never-logged-in visitors
PAID_AT_START = 0.3  # users who are paid before the period starts
PAID_ACTIVITY = 2.5  # paid users are this much more active
UPGRADER_SHARE = 0.2  # free users who will Submit Upgrade during the period
DOWNGRADER_SHARE = 0.06  # paid users who will Submit Downgrade
SESSION_GAP = 900  # seconds between two sessions of one user, at least
PLAY_CHUNK = 4096

# Relative activity per UTC hour (US listeners: evenings UTC are busiest).
_HOUR_WEIGHTS = (6, 5, 4, 3, 2, 2, 1, 1, 1, 2, 3, 4, 5, 6, 7, 8, 9, 9, 9, 9, 8, 8, 7, 7)


# --------------------------------------------------------------------------
# Users
# --------------------------------------------------------------------------
@dataclass
class User:
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


def make_users(rng: random.Random, count: int, start_sec: int) -> list[User]:
    metro_cum = list(accumulate(1.0 / (i + 4) for i in range(len(METROS))))
    agent_cum = list(accumulate(w for _, w in USER_AGENTS))
    users = []
    for n in range(count):
        gender = rng.choice("FM")
        first = rng.choice(FEMALE if gender == "F" else MALE)
        agent = rng.choices(USER_AGENTS, cum_weights=agent_cum)[0][0]
        if "," in agent:
            agent = f'"{agent}"'
        level = 1 if rng.random() < PAID_AT_START else 0
        weight = 1.0 / (0.05 + rng.random()) * (PAID_ACTIVITY if level else 1.0)
        users.append(
            User(
                user_id=str(n + 1),
                first_name=first,
                last_name=rng.choice(LAST),
                gender=gender,
                location=rng.choices(METROS, cum_weights=metro_cum)[0],
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


def _budgets(users: Sequence[User], total: int, capacity: int) -> list[int]:
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
# Sessions in time, and the plays
# --------------------------------------------------------------------------
def _session_starts(rng: random.Random, count: int, days: int, hour_cum: Sequence[int]) -> list[int]:
    """count sorted session start seconds, days uniform, hours by _HOUR_WEIGHTS."""
    hours = rng.choices(range(24), cum_weights=hour_cum, k=count)
    return sorted(rng.randrange(days) * 86400 + h * 3600 + rng.randrange(3600) for h in hours)


def _place_sessions(
    rng: random.Random, sessions: list[Session], user: int, period: int, hour_cum: Sequence[int]
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
# The simulation
# --------------------------------------------------------------------------
def simulate_sessions(
    rng: random.Random,
    play_rng: random.Random,
    users: list[User],
    tracks: Sequence[Track | None],
    catalog: int,
    events: int,
    period: int,
    match_share: float,
    say: Callable[[str], None],
) -> list[Session]:
    """Exactly `events` events in sessions placed in time and sorted by start;
    a session's list position + 1 is its sessionId."""
    plays = _play_stream(play_rng, catalog, len(tracks) - 1 - catalog, match_share)
    track_seconds = [0] + [int(t.length) for t in tracks[1:] if t is not None]
    sim = Simulator(rng, plays, track_seconds)
    hour_cum = list(accumulate(_HOUR_WEIGHTS))
    guests = round(events * GUEST_EVENT_SHARE) if events >= 100 else 0
    capacity = max(1, period // 400)  # ~half the period listening, at ~200 s an event
    budgets = _budgets(users, events - guests, capacity)
    for user, budget in zip(users, budgets, strict=True):
        if budget >= 20 and rng.random() < (DOWNGRADER_SHARE if user.level else UPGRADER_SHARE):
            user.switch_at = rng.randint(budget // 5, budget * 4 // 5)
    sessions: list[Session] = []
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
    rng: random.Random, sim: Simulator, events: int, period: int, hour_cum: Sequence[int]
) -> list[Session]:
    """Short logged-out visits (1-3 events) adding up to `events` events."""
    sessions = []
    while events > 0:
        size = min(events, rng.randint(1, 3))
        session = Session(0, -1, sim.guest_session(size))
        start = _session_starts(rng, 1, period // 86400, hour_cum)[0]
        session.start = min(start, period - 1 - session.duration)
        sessions.append(session)
        events -= size
    return sessions


def count_plays(sessions: Sequence[Session], catalog: int) -> tuple[int, int]:
    """(NextSong events, those naming a catalog song)."""
    nextsong = matched = 0
    for session in sessions:
        for _, page, _, track in session.events:
            if page == NEXT:
                nextsong += 1
                matched += track <= catalog
    return nextsong, matched
