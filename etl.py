#!/usr/bin/env python3
"""Load the raw JSON into staging, build the star schema from it, and report."""

from __future__ import annotations

import argparse
import json
import sys

from sparkify import cli, pipeline, report
from sparkify.config import load_config

DESCRIPTION = """\
Load the song and event JSON into staging_events and staging_songs, then
rebuild songplays, users, songs, artists and time from them in one
transaction, and print a summary.

A run is a full refresh: afterwards the star schema reflects exactly the input
it was given, and running it twice gives the same tables. Records that break
the input rules go to table load_errors; with more of them than MAX_ERRORS the
run fails before the star schema is touched.

Run create_tables.py once first."""


def main(argv: list[str] | None = None) -> int:
    p = cli.parser(DESCRIPTION)
    p.add_argument(
        "--max-errors",
        type=int,
        metavar="N",
        help="how many bad input records to accept (recorded in load_errors) before failing; "
        "overrides [DWH] MAX_ERRORS (default 0)",
    )
    p.add_argument("--json", action="store_true", help="print the summary as JSON (for scripts and the benchmark)")
    return cli.run(_etl, p, argv)


def _etl(args: argparse.Namespace) -> int:
    if args.max_errors is not None and args.max_errors < 0:
        raise cli.UsageError("--max-errors must be 0 or more")
    config = load_config(args.config)
    summary = pipeline.run_etl(config, max_errors=args.max_errors)
    if args.json:
        print(json.dumps(report.summary_dict(summary), indent=2))
    else:
        print(report.format_summary(summary))
    return 0


if __name__ == "__main__":
    sys.exit(main())
