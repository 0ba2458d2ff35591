"""Events as the log files' JSON text: compact, ASCII, "/" escaped, keys in the
real order, bucketed by UTC day."""

from __future__ import annotations

import json
from collections.abc import Sequence

from sparkify.sample_data.catalog import Track
from sparkify.sample_data.sessions import PAGES, Session
from sparkify.sample_data.simulate import User


def _log_json(value: object) -> str:
    """A JSON value as the event logs write it: compact, ASCII, "/" as "\\/"."""
    return json.dumps(value, separators=(",", ":")).replace("/", "\\/")


def _user_fragments(user: User | None) -> tuple[tuple[str, str, str, str, str], ...]:
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


def render_days(
    sessions: Sequence[Session],
    users: Sequence[User],
    tracks: Sequence[Track | None],
    period_ms: int,
    days: int,
) -> list[list[tuple[int, int, int, str]]]:
    """Event lines bucketed by day index, each (ts, sessionId, itemInSession, line)."""
    artist = ["null" if t is None else _log_json(t.artist) for t in tracks]
    song = ["null" if t is None else _log_json(t.title) for t in tracks]
    length = ["null" if t is None else _log_json(t.length) for t in tracks]
    method_page = [f'{_log_json(m)},"page":{_log_json(p)}' for p, m, _ in PAGES]
    status = [str(s) for _, _, s in PAGES]
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
