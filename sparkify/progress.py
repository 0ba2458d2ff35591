"""What a run shows while it works: progress lines for long steps, drawn by tqdm (on a terminal only, so
logs and CI output stay clean), and warnings that a quiet run sums up."""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable, Sequence

from tqdm import tqdm

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
    """``[label] done/total (pct)`` rewritten in place on stderr, at most a few times a second.

    Silent when stderr is not a terminal or the step is small; the step's own
    log line (with its duration) follows when it ends. The line is cleared then.
    """

    def __init__(self, label: str, total: int, *, stream=None, min_total: int = 2000, interval: float = 0.25):
        stream = stream or sys.stderr
        self.enabled = total >= min_total and stream.isatty()
        self._bar = tqdm(
            total=total,
            desc=label,
            file=stream,
            disable=not self.enabled,
            mininterval=interval,
            leave=False,  # cleared at the end: the step's log line says how it went
            bar_format="  {desc} {n:,}/{total:,} ({percentage:.0f}%)",
        )

    def advance(self, count: int = 1) -> None:
        self._bar.update(count)

    def close(self) -> None:
        self._bar.close()

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()


class Waiting:
    """``waiting for <label> ... 12 s (STARTED)`` rewritten in place on stderr while one long step runs.

    Shown only on a terminal and only once the step has taken ``after`` seconds;
    cleared when it ends. The caller says how long it has waited (it polls).
    """

    def __init__(self, label: str, *, after: float = 2.0, stream=None, interval: float = 1.0):
        self.label = label
        self.after = after
        self.stream = stream or sys.stderr
        self.enabled = self.stream.isatty()
        self.interval = interval
        self.shown = False
        self._shown_at = -interval
        self._bar: tqdm | None = None  # made at the first line shown: nothing is written before

    def show(self, elapsed: float, status: str = "") -> None:
        if not self.enabled or elapsed < self.after or elapsed - self._shown_at < self.interval:
            return
        self._shown_at = elapsed
        self.shown = True
        if self._bar is None:
            self._bar = tqdm(file=self.stream, leave=False, bar_format="{desc}", mininterval=0)
        state = f" ({status})" if status else ""
        self._bar.set_description_str(f"  waiting for {self.label} ... {elapsed:.0f} s{state}")

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None

    def __enter__(self) -> Waiting:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()
