"""The progress line shows on a terminal only, so logs and CI output stay clean."""

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
    text = stream.getvalue()
    assert "\r  reading files 1/5,000 (0%)" in text
    assert "reading files 5,000/5,000 (100%)" in text
    assert text.endswith("\r\033[K")


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
    assert stream.getvalue() == (
        "\r\033[K  waiting for COPY staging_events FROM ... ... 2 s (STARTED)"
        "\r\033[K  waiting for COPY staging_events FROM ... ... 4 s (STARTED)"
        "\r\033[K"
    )
    piped = io.StringIO()
    with Waiting("SELECT 1", after=0, stream=piped) as waiting:
        waiting.show(10.0, "STARTED")
    assert piped.getvalue() == ""
