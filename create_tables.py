#!/usr/bin/env python3
"""Drop and create the staging tables, load_errors and the star schema."""

from __future__ import annotations

import argparse
import sys

import sql_queries as sql
from sparkify import cli, pipeline
from sparkify.config import load_config
from sparkify.engines import connect


def described_tables() -> str:
    """The tables it creates, from the same list it creates them from (sql.ALL_TABLES), grouped."""
    named = {
        "staging": sql.STAGING_TABLES,
        "rejected input records": ("load_errors",),
        "the star schema": sql.STAR_TABLES,
        "the record of loaded files": (sql.RECORD_TABLE,),
    }
    grouped = {table for tables in named.values() for table in tables}
    kept = tuple(table for table in sql.ALL_TABLES if table not in grouped)  # whatever else there is
    groups = {**named, "what incremental runs keep": kept}
    width = max(map(len, groups)) + 1
    return "\n".join(
        f"  {f'{name}:':<{width}} {', '.join(t for t in sql.ALL_TABLES if t in tables)}"
        for name, tables in groups.items()
        if tables
    )


DESCRIPTION = f"""\
Drop and create the {len(sql.ALL_TABLES)} warehouse tables (on Redshift with the
DISTSTYLE / DISTKEY / SORTKEY chosen per table):
{described_tables()}

When the tables already hold data it asks before dropping them; --yes skips
the question (for scripts)."""


def main(argv: list[str] | None = None) -> int:
    p = cli.parser(DESCRIPTION)
    p.add_argument("--yes", action="store_true", help="drop existing tables with data without asking")
    return cli.run(_create, p, argv)


def _create(args: argparse.Namespace) -> int:
    config = load_config(args.config)
    with connect(config) as engine:
        print(config.describe(full=True))
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
