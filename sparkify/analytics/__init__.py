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

The package: warehouse (open_warehouse, WarehouseUnavailable, WarehouseInUse), filters
(Filters, the plays CTE, filter_options) and queries (the questions); this
module re-exports them, so ``analytics.by_weekday(...)`` is the way in.
"""

from __future__ import annotations

from sparkify.analytics.filters import Filters, Options, filter_options
from sparkify.analytics.queries import (
    BROWSERS,
    OPERATING_SYSTEMS,
    WEEKDAYS,
    Headline,
    browsers,
    by_gender,
    by_hour,
    by_level,
    by_weekday,
    conversions,
    daily_plays,
    headline,
    operating_systems,
    top_artists,
    top_songs,
)
from sparkify.analytics.warehouse import BUILD_COMMAND, WarehouseInUse, WarehouseUnavailable, open_warehouse

__all__ = [
    "BROWSERS",
    "BUILD_COMMAND",
    "OPERATING_SYSTEMS",
    "WEEKDAYS",
    "Filters",
    "Headline",
    "Options",
    "WarehouseInUse",
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
