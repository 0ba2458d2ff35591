"""SIGTERM (a scheduler stopping the job, kill) unwinds like Ctrl-C: rolled back, temporary folder removed.

The scripts install ``on_sigterm`` (sparkify/cli.py); a step that must not be
cut in two (making the run's temporary folder, which nothing would remove if
the stop came between its creation and its owner) runs inside ``held()``: a
SIGTERM arriving then takes effect when the block ends. Masking the signal
would not do: DuckDB's threads would still receive it.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager


class Terminated(BaseException):
    """SIGTERM: unwinds like KeyboardInterrupt."""


_holding = 0
_pending = False
received = False  # a SIGTERM came (DuckDB reports the stop of a query it was running as "interrupted")


def on_sigterm(signum, frame) -> None:
    global _pending, received
    received = True
    if _holding:
        _pending = True
        return
    raise Terminated()


@contextmanager
def held() -> Iterator[None]:
    """Run a block that a SIGTERM must not cut in two; the stop takes effect when it ends."""
    global _holding, _pending
    _holding += 1
    try:
        yield
    finally:
        _holding -= 1
        if not _holding and _pending:
            _pending = False
            raise Terminated()
