"""Which plays a question looks at: ``Filters``, their WHERE clause of
placeholders, the ``plays`` CTE every question starts from, and what the
filters can choose from."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sparkify.engines import Engine


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


def conditions(
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
    where, params = conditions(filters, engine.placeholder, "sp.start_time", ("sp.level",), "u.gender")
    return PLAYS_CTE.format(where=where), params


def query_plays(
    engine: Engine, filters: Filters | None, body: str, extra: Sequence = (), **fragments: str
) -> list[tuple]:
    """Run ``PLAYS_CTE`` + body. In body, ``{p}`` is the engine's placeholder
    (its parameters, ``extra``, follow the filters' in order) and other
    ``{name}``s are SQL fragments built here - placeholders, a column name
    from a fixed list, or a LIMIT's count through sparkify.quoting.integer -
    never other values."""
    cte, params = _plays_cte(engine, filters or Filters())
    return engine.query(cte + body.format(p=engine.placeholder, **fragments), [*params, *extra])


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
