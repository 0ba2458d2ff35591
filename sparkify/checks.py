"""Data checks that must hold before the star schema is committed."""

from __future__ import annotations

import logging

import sql_queries as sql
from sparkify.engines.base import Engine
from sparkify.errors import WarehouseError

log = logging.getLogger(__name__)


def run(engine: Engine, before: int = 0) -> None:
    """Raise WarehouseError (rolling the load back) at the first check that finds a problem.

    ``before``: the highest songplay_id before this run; the checks look at what it added.
    """
    for name, query in sql.CHECKS.items():
        problems = engine.query(engine.render(query), sql.before_parameters(query, before))
        if problems:
            what, found, expected = problems[0]
            raise WarehouseError(
                f"check failed: {name} ({what}: {found:,} rows, expected {expected:,}) - the star schema is unchanged"
            )
        log.debug("check passed: %s", name)
