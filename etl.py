#!/usr/bin/env python3
"""Load the raw JSON into staging, build the star schema from it, and report."""

from __future__ import annotations

import argparse
import json
import sys

from sparkify import cli, pipeline, report
from sparkify.config import load_config

DESCRIPTION = """\
Load the song and event files that are new since the last run into
staging_events and staging_songs, upsert songplays, users, songs, artists and
time from them in one transaction (which then empties staging), and print a
summary.

Whatever order files arrive in (late days, songs after their plays), the star
schema equals what one full load of every file loaded so far would give;
table loaded_files records each file loaded. A file that changed after it was
loaded stops the run before anything changes; --full-refresh rebuilds
everything from all the input. A run with nothing new changes nothing.

Records that break the input rules go to table load_errors; with more of them
than MAX_ERRORS the run fails before the star schema is touched, and leaves
its batch in staging to inspect. --rejects prints them.

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
    p.add_argument(
        "--full-refresh",
        action="store_true",
        help="rebuild the star schema from all the input and start the record of loaded files anew "
        "(after a loaded file changed, or to drop the rows of removed files)",
    )
    p.add_argument(
        "--dry-run",
        action="store_true",
        help="list the files a run would load and print the SQL it would run; change nothing",
    )
    p.add_argument(
        "--rejects",
        action="store_true",
        help="load nothing: print the rejected records of the last run that loaded files "
        "(file:line: reason, grouped by reason, the most frequent first)",
    )
    p.add_argument("--json", action="store_true", help="print the summary (or --rejects) as JSON")
    return cli.run(_etl, p, argv)


def _etl(args: argparse.Namespace) -> int:
    if args.max_errors is not None and args.max_errors < 0:
        raise cli.UsageError("--max-errors must be 0 or more")
    if args.rejects:
        return _rejects(args)
    config = load_config(args.config)
    summary = pipeline.run_etl(
        config, max_errors=args.max_errors, full_refresh=args.full_refresh, dry_run=args.dry_run
    )
    if args.json:
        print(json.dumps(report.summary_dict(summary), indent=2))
    else:
        print(report.format_summary(summary))
    return 0


def _rejects(args: argparse.Namespace) -> int:
    given = [name for name, value in (("--full-refresh", args.full_refresh), ("--dry-run", args.dry_run),
                                      ("--max-errors", args.max_errors is not None)) if value]
    if given:
        raise cli.UsageError(f"--rejects loads nothing: leave out {', '.join(given)}")
    found = pipeline.last_rejects(load_config(args.config))
    print(json.dumps(report.rejects_dict(found), indent=2) if args.json else report.format_rejects(found))
    return 0


if __name__ == "__main__":
    sys.exit(main())
