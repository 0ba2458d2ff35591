"""What every script shares: --config, logging, and turning errors into one line."""

from __future__ import annotations

import argparse
import errno
import logging
import signal
import sys
import threading
from collections.abc import Callable, Sequence

from sparkify import stops
from sparkify.config import DEFAULT_CONFIG_NAME, PROJECT_DIR
from sparkify.errors import Declined, SparkifyError

__all__ = ["Declined", "UsageError", "ask", "confirmer", "parser", "positive_minutes", "run", "setup_logging"]

log = logging.getLogger("sparkify")


class UsageError(SparkifyError):
    """A command-line option is wrong (exit code 2, like argparse)."""


STOPPED = "an unfinished load was rolled back"


def ask(question: str) -> bool:
    """Ask on stderr, read the answer from stdin: True only for yes. No answer (EOF) means no.

    Scripts and CI, with nothing to answer, are refused: --yes is how they say yes.
    """
    sys.stderr.write(f"{question}\nType 'yes' to continue: ")
    sys.stderr.flush()
    try:
        answer = sys.stdin.readline()
    except (OSError, ValueError):  # stdin closed
        answer = ""
    return answer.strip().lower() in ("y", "yes")


def confirmer(assume_yes: bool) -> Callable[[str], bool]:
    """What a library takes as `confirm`: ask(), or a yes without asking when --yes was given."""
    return (lambda question: True) if assume_yes else ask


def positive_minutes(text: str) -> float:
    """argparse type for --wait-minutes."""
    try:
        value = float(text)
    except ValueError:
        value = 0.0
    if not value > 0:
        raise argparse.ArgumentTypeError(f"{text} is not a positive number of minutes")
    return value


def parser(description: str, *, needs_config_file: bool = False) -> argparse.ArgumentParser:
    """An argparse parser with the options every script has.

    needs_config_file: the script has no built-in defaults (the AWS scripts).
    """
    # allow_abbrev=False: argparse would take --full for --full-refresh (a rebuild) and --y for --yes
    p = argparse.ArgumentParser(
        description=description, formatter_class=argparse.RawDescriptionHelpFormatter, allow_abbrev=False
    )
    fallback = "" if needs_config_file else "; with none, the embedded DuckDB engine on the bundled sample data"
    p.add_argument(
        "--config",
        metavar="PATH",
        # sparkify.config.find_config's order, in full
        help=f"configuration file (default: $DWH_CONFIG, else ./dwh.cfg, else the project's "
        f"{PROJECT_DIR / DEFAULT_CONFIG_NAME}{fallback})",
    )
    p.add_argument("-q", "--quiet", action="store_true", help="print only warnings, errors and the summary")
    return p


def setup_logging(quiet: bool = False) -> None:
    logging.basicConfig(
        level=logging.WARNING if quiet else logging.INFO,
        format="%(message)s",
        stream=sys.stderr,
        force=True,
    )


def _stopped(terminated: bool) -> int:
    """Ctrl-C (exit 130) or SIGTERM (143): one line; the unfinished transaction was rolled back."""
    if terminated:
        print(f"error: terminated (SIGTERM) - {STOPPED}", file=sys.stderr)
        return 128 + signal.SIGTERM
    print(f"error: interrupted - {STOPPED}", file=sys.stderr)
    return 130


def run(body: Callable[[argparse.Namespace], int], p: argparse.ArgumentParser, argv: Sequence[str] | None) -> int:
    """Parse argv, run body, and map expected failures to one line and exit code 1."""
    args = p.parse_args(argv)
    setup_logging(getattr(args, "quiet", False))
    # signal handlers can only be set from the main thread (not, e.g., from a dashboard's worker)
    main_thread = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGTERM, stops.on_sigterm) if main_thread else None
    try:
        return body(args)
    except UsageError as exc:
        p.print_usage(sys.stderr)
        print(f"{p.prog}: error: {exc}", file=sys.stderr)
        return 2
    except SparkifyError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return _stopped(terminated=False)
    except stops.Terminated:
        return _stopped(terminated=True)
    except RuntimeError as exc:
        # DuckDB turns Ctrl-C (or SIGTERM) during a query into RuntimeError("Query interrupted")
        if "interrupted" not in str(exc).lower():
            raise
        return _stopped(terminated=stops.received)
    except MemoryError:
        # Python's side of a load is bounded (files are streamed, a record is at most 16 MB),
        # so this is a machine already short of memory, or DuckDB allowed most of it
        print("error: out of memory - free memory, or lower [DWH] DUCKDB_MEMORY_LIMIT to leave Python room; "
              f"{STOPPED}", file=sys.stderr)
        return 1
    except OSError as exc:
        # the run's temporary folder (TMPDIR) or an output file: a full disk, a read-only folder
        where = f" ({exc.filename})" if exc.filename else ""
        fix = "free space there, or point TMPDIR at a disk with room" if exc.errno == errno.ENOSPC else "check that path"
        print(f"error: {exc.strerror or exc}{where} - {fix}; {STOPPED}", file=sys.stderr)
        return 1
    finally:
        if main_thread:
            signal.signal(signal.SIGTERM, previous)
