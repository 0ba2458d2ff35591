"""Opening the warehouse for analysis: read-only, checked to hold a loaded star
schema, or one line saying what to run."""

from __future__ import annotations

import os

import sql_queries as sql
from sparkify.config import load_config
from sparkify.engines import Engine, connect
from sparkify.errors import SparkifyError, WarehouseBusy

BUILD_COMMAND = "python create_tables.py && python etl.py"


class WarehouseUnavailable(SparkifyError):
    """There is no warehouse to analyse yet, or it cannot be reached: one line saying what to do."""

    def _render_traceback_(self) -> list[str]:
        # IPython / Jupyter show this instead of a traceback: the message is the whole story.
        return [f"{type(self).__name__}: {self}"]


class WarehouseInUse(WarehouseUnavailable):
    """A load holds the warehouse right now: it is there, try again in a moment (building it again would destroy it)."""


def open_warehouse(config_path: str | os.PathLike | None = None) -> Engine:
    """The configured warehouse, read-only, checked to hold a loaded star schema.

    Config as every script finds it (load_config: the argument > $DWH_CONFIG >
    ./dwh.cfg > <project>/dwh.cfg > defaults). Raises WarehouseUnavailable with
    a one-line message naming the command that fixes it.
    """
    try:
        config = load_config(config_path)
        engine = connect(config, read_only=True)
    except WarehouseBusy as exc:
        raise WarehouseInUse(str(exc)) from None
    except SparkifyError as exc:
        raise WarehouseUnavailable(str(exc)) from None
    try:
        existing = engine.existing_tables()
        missing = [table for table in sql.STAR_TABLES if table not in existing]
        if missing:
            raise WarehouseUnavailable(
                f"table {missing[0]} does not exist in the {engine.name} warehouse ({config.describe()}) "
                "- run create_tables.py and etl.py"
            )
        if engine.count("songplays") == 0:
            raise WarehouseUnavailable(
                f"the {engine.name} warehouse has no songplays yet ({config.describe()}) - run etl.py"
            )
    except SparkifyError as exc:
        engine.close()
        if isinstance(exc, WarehouseUnavailable):
            raise
        raise WarehouseUnavailable(str(exc)) from None
    return engine
