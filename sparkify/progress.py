"""What a run shows while it works: a progress line for long steps (on a terminal only, so logs and CI output
stay clean), and warnings that a quiet run sums up."""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Callable, Sequence

# Under -q, more warnings of one kind than this become one line naming the first this many.
WARN_EACH_UP_TO = 5


def warn_each(log: logging.Logger, names: Sequence[str], one: Callable[[str], str],
              many: Callable[[int, str], str]) -> None:
    """A warning per name; under -q (INFO not shown), more than a few become one line with the count and the
    first few names: ten thousand empty files are one line a cron mail can hold, all of them in --json."""
    if len(names) <= WARN_EACH_UP_TO or log.isEnabledFor(logging.INFO):
        for name in names:
            log.warning("%s", one(name))
        return
    first = ", ".join(names[:WARN_EACH_UP_TO])
    log.warning("%s", many(len(names), f"{first} and {len(names) - WARN_EACH_UP_TO:,} more"))


class Progress:
    """``[label] done/total`` rewritten in place on stderr, at most a few times a second.

    Silent when stderr is not a terminal or the step is small; the step's own
    log line (with its duration) follows when it ends.
    """

    def __init__(self, label: str, total: int, *, stream=None, min_total: int = 2000, interval: float = 0.25):
        self.label = label
        self.total = total
        self.done = 0
        self.stream = stream or sys.stderr
        self.enabled = total >= min_total and self.stream.isatty()
        self.interval = interval
        self._shown = 0.0

    def advance(self, count: int = 1) -> None:
        self.done += count
        if self.enabled and time.monotonic() - self._shown >= self.interval:
            self._shown = time.monotonic()
            self.stream.write(f"\r  {self.label} {self.done:,}/{self.total:,} ({self.done / self.total:.0%})")
            self.stream.flush()

    def close(self) -> None:
        if self.enabled:
            self.stream.write("\r\033[K")
            self.stream.flush()

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()


class Waiting:
    """``waiting for <label> ... 12 s (STARTED)`` rewritten in place on stderr while one long step runs.

    Shown only on a terminal and only once the step has taken ``after`` seconds;
    cleared when it ends.
    """

    def __init__(self, label: str, *, after: float = 2.0, stream=None, interval: float = 1.0):
        self.label = label
        self.after = after
        self.stream = stream or sys.stderr
        self.enabled = self.stream.isatty()
        self.interval = interval
        self.shown = False
        self._shown_at = -interval

    def show(self, elapsed: float, status: str = "") -> None:
        if not self.enabled or elapsed < self.after or elapsed - self._shown_at < self.interval:
            return
        self._shown_at = elapsed
        self.shown = True
        state = f" ({status})" if status else ""
        self.stream.write(f"\r\033[K  waiting for {self.label} ... {elapsed:.0f} s{state}")
        self.stream.flush()

    def close(self) -> None:
        if self.shown:
            self.stream.write("\r\033[K")
            self.stream.flush()

    def __enter__(self) -> Waiting:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()
