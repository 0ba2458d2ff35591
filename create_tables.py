#!/usr/bin/env python3
"""Drop and create the staging tables, load_errors and the star schema."""

from __future__ import annotations

import argparse
import sys

from sparkify import cli, pipeline
from sparkify.config import load_config
from sparkify.engines import connect

DESCRIPTION = """\
Drop and create the warehouse tables: staging_events, staging_songs,
load_errors, and the star schema songplays, users, songs, artists and time
(on Redshift with the DISTSTYLE / DISTKEY / SORTKEY chosen per table).

When the tables already hold data it asks before dropping them; --yes skips
the question (for scripts)."""


def main(argv: list[str] | None = None) -> int:
    p = cli.parser(DESCRIPTION)
    p.add_argument("--yes", action="store_true", help="drop existing tables with data without asking")
    return cli.run(_create, p, argv)


def _create(args: argparse.Namespace) -> int:
    config = load_config(args.config)
    with connect(config) as engine:
        print(config.describe())
        # The run lock first, then look: counted before it, the tables of a first load still
        # running look empty, and the drop that follows its commit would go unasked. (Redshift
        # has no run lock: the look is inside the transaction that LOCKs the tables it drops.)
        with engine.exclusive():
            pipeline.create_tables(engine, before_drop=lambda: _confirm(engine, args.yes))
    print("tables created - now run etl.py")
    return 0


def _confirm(engine, assume_yes: bool) -> None:
    """Ask before dropping tables that hold rows; raise Declined unless the answer is yes."""
    if assume_yes:
        return
    full = pipeline.tables_with_rows(engine)
    if full:
        listing = ", ".join(f"{table} ({rows:,} rows)" for table, rows in full.items())
        if not cli.ask(f"This drops {listing}."):
            raise cli.Declined("not confirmed - no table was dropped (answer yes, or pass --yes)")


if __name__ == "__main__":
    sys.exit(main())
