"""Tear down what setup_cluster.py made: cluster, security group, IAM role (and, if asked, the bucket).

Asks first, naming what goes (--dry-run prints that plan and deletes nothing).
Anything already gone is reported, not an error, so it can be re-run after a
partial failure.
"""

from __future__ import annotations

import sys

from sparkify import cli
from sparkify.provision import settings, teardown
from sparkify.provision.waiting import DEFAULT_WAIT_MINUTES


def main(argv=None) -> int:
    p = cli.parser(__doc__, needs_config_file=True)
    p.add_argument("--yes", action="store_true", help="delete without asking for confirmation")
    p.add_argument("--dry-run", action="store_true", help="print what it would delete and delete nothing")
    p.add_argument(
        "--final-snapshot",
        metavar="NAME",
        help="keep a final snapshot of the cluster under this name (without it the data is deleted with the cluster)",
    )
    p.add_argument(
        "--delete-bucket",
        action="store_true",
        help="also empty and delete the bucket(s) named in [S3] (e.g. the one --upload-data filled)",
    )
    p.add_argument(
        "--wait-minutes",
        type=cli.positive_minutes,
        default=DEFAULT_WAIT_MINUTES,
        metavar="N",
        help="how long to wait for the cluster to be deleted (default: %(default)g)",
    )
    return cli.run(_run, p, argv)


def _run(args) -> int:
    options = teardown.TeardownOptions(
        dry_run=args.dry_run,
        final_snapshot=args.final_snapshot,
        delete_bucket=args.delete_bucket,
        wait_minutes=args.wait_minutes,
    )
    return teardown.teardown(settings.config_file(args.config), options, cli.confirmer(args.yes))


if __name__ == "__main__":
    sys.exit(main())
