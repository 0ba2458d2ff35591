"""The progress line (tqdm) shows on a terminal only, so logs and CI output stay clean."""

import io

from sparkify.progress import Progress


class Terminal(io.StringIO):
    def isatty(self):
        return True


def test_progress_is_shown_on_a_terminal_and_cleared_at_the_end():
    stream = Terminal()
    with Progress("reading files", 5000, stream=stream, interval=0) as progress:
        for _ in range(5000):
            progress.advance()
    shown = stream.getvalue().split("\r")
    assert "  reading files 1/5,000 (0%)" in shown
    assert "  reading files 5,000/5,000 (100%)" in shown
    assert shown[-2].strip() == "" and shown[-1] == ""  # cleared at the end (tqdm writes blanks over it)


def test_no_progress_when_not_a_terminal_or_small():
    piped = io.StringIO()
    with Progress("reading files", 5000, stream=piped, interval=0) as progress:
        progress.advance(5000)
    small = Terminal()
    with Progress("reading files", 10, stream=small, interval=0) as progress:
        progress.advance(10)
    assert piped.getvalue() == "" and small.getvalue() == ""


def test_waiting_line_shows_after_a_while_on_a_terminal_only():
    from sparkify.progress import Waiting

    stream = Terminal()
    with Waiting("COPY staging_events FROM ...", after=2.0, stream=stream, interval=1.0) as waiting:
        waiting.show(0.5, "SUBMITTED")  # too early
        waiting.show(2.5, "STARTED")
        waiting.show(3.0, "STARTED")  # within the interval
        waiting.show(4.0, "STARTED")
    shown = [line for line in stream.getvalue().split("\r") if line.strip()]
    assert shown == [
        "  waiting for COPY staging_events FROM ... ... 2 s (STARTED)",
        "  waiting for COPY staging_events FROM ... ... 4 s (STARTED)",
    ]
    assert stream.getvalue().endswith(" \r")  # cleared when it ends
    piped = io.StringIO()
    with Waiting("SELECT 1", after=0, stream=piped) as waiting:
        waiting.show(10.0, "STARTED")
    assert piped.getvalue() == ""
