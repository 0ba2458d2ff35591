"""Bring up the Sparkify Redshift cluster: IAM role, security group, cluster, and HOST/ARN in dwh.cfg.

Re-runnable: what exists is reused and a second run changes nothing.
AWS credentials come from boto3's chain (environment, ~/.aws, .env). The
master password is DWH_DB_PASSWORD if set; else, with [CLUSTER] AUTH = iam (the
default), AWS Secrets Manager makes and keeps it, and with AUTH = password one
is generated into .env.
"""

from __future__ import annotations

import sys
from pathlib import Path

from sparkify import cli
from sparkify.config import SAMPLE_DIR
from sparkify.provision import provision, settings
from sparkify.provision.waiting import DEFAULT_WAIT_MINUTES


def main(argv=None) -> int:
    p = cli.parser(__doc__, needs_config_file=True)
    p.add_argument("--yes", action="store_true", help="create the cluster without asking for confirmation")
    p.add_argument("--dry-run", action="store_true", help="print every action it would take and change nothing")
    p.add_argument(
        "--allow-anywhere",
        action="store_true",
        help="accept ALLOWED_CIDR = 0.0.0.0/0 (the port open to the whole internet; not recommended)",
    )
    p.add_argument(
        "--upload-data",
        nargs="?",
        const=str(SAMPLE_DIR),
        metavar="DIR",
        help="create the [S3] bucket if needed and upload DIR's song_data/, log_data/ and log_json_path.json "
        "to the [S3] locations (DIR defaults to the bundled sample data)",
    )
    p.add_argument(
        "--wait-minutes",
        type=cli.positive_minutes,
        default=DEFAULT_WAIT_MINUTES,
        metavar="N",
        help="how long to wait for the cluster to become available (default: %(default)g)",
    )
    return cli.run(_run, p, argv)


def _run(args) -> int:
    options = provision.SetupOptions(
        dry_run=args.dry_run,
        allow_anywhere=args.allow_anywhere,
        upload_dir=Path(args.upload_data) if args.upload_data else None,
        wait_minutes=args.wait_minutes,
    )
    return provision.setup(settings.config_file(args.config), options, cli.confirmer(args.yes))


if __name__ == "__main__":
    sys.exit(main())
