"""Generate Sparkify-like sample data: song files, event logs and the jsonpaths file.

With no options it recreates the bundled sample in data/sample exactly.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from datetime import date
from pathlib import Path

from sparkify import sample_data

DEFAULT_OUT = Path(__file__).resolve().parent / "data" / "sample"


def _iso_date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a YYYY-MM-DD date: {text!r}") from None


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        description=(
            "Write deterministic Sparkify-like raw data under DIR: song_data/X/Y/Z/TR*.json "
            "(one Million-Song-Dataset-style song per file), log_data/YYYY/MM/YYYY-MM-DD-events.json "
            "(eventsim-style app events, one JSON object per line, one file per UTC day) and "
            "log_json_path.json (the Redshift COPY jsonpaths). Song and log files from an earlier "
            "run in DIR are replaced; nothing else is touched. The same options always give the "
            "same bytes; with none it recreates the bundled sample in data/sample."
        ),
        allow_abbrev=False,  # a prefix of an option is an error, as in every script (sparkify/cli.py)
    )
    p.add_argument(
        "--out", metavar="DIR", type=Path, default=DEFAULT_OUT,
        help="output folder (default: data/sample in the project folder)",
    )
    p.add_argument(
        "--events", metavar="N", type=int, default=sample_data.DEFAULT_EVENTS,
        help="number of log events, at least 1 (default: %(default)s)",
    )
    p.add_argument(
        "--songs", metavar="M", type=int, default=sample_data.DEFAULT_SONGS,
        help="number of song files, at least 1 (default: %(default)s)",
    )
    p.add_argument(
        "--seed", metavar="S", type=int, default=sample_data.DEFAULT_SEED,
        help="random seed; the same options and seed give the same bytes (default: %(default)s)",
    )
    p.add_argument(
        "--days", metavar="D", type=int, default=sample_data.DEFAULT_DAYS,
        help="number of UTC days the events span, at least 1 (default: %(default)s)",
    )
    p.add_argument(
        "--start", metavar="YYYY-MM-DD", type=_iso_date, default=sample_data.DEFAULT_START,
        help="first day of events (default: %(default)s)",
    )
    p.add_argument(
        "--match-share", metavar="F", type=float, default=sample_data.DEFAULT_MATCH_SHARE,
        help="share of NextSong events whose song, artist and length match a song file, "
        "0 to 1 (default: %(default)s)",
    )
    p.add_argument(
        "--users", metavar="U", type=int, default=None,
        help=f"number of user profiles (default: events / {sample_data.EVENTS_PER_USER})",
    )
    p.add_argument("-q", "--quiet", action="store_true", help="no progress messages on stderr, only the summary line")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    # the options generate() checks (check_arguments), by its names; a problem is named as the option
    checked = {
        "events": args.events,
        "songs": args.songs,
        "days": args.days,
        "match_share": args.match_share,
        "users": args.users,
    }
    try:
        sample_data.check_arguments(**checked)
    except sample_data.BadArgument as exc:
        parser.error(f"--{exc.name.replace('_', '-')} {exc.problem}")
    if args.out.exists() and not args.out.is_dir():
        parser.error(f"--out is not a folder: {args.out}")

    def progress(message: str) -> None:
        if not args.quiet:
            print(message, file=sys.stderr)

    try:
        summary = sample_data.generate(args.out, seed=args.seed, start=args.start, progress=progress, **checked)
    except OSError as exc:
        print(f"error: cannot write {args.out}: {exc}", file=sys.stderr)
        return 1
    print(summary.line())
    return 0


if __name__ == "__main__":
    sys.exit(main())
