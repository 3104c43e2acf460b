"""Progress bars as a person sees them: in a log (not a terminal) and on a terminal."""

from __future__ import annotations

import io

from orgbook.runtime.progress import Progress


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_a_log_gets_the_final_line_once() -> None:
    out = io.StringIO()
    bar = Progress("ingest feed.jsonl", total=100, unit="records", stream=out)
    bar.update(count=10, done=10)  # the first line comes at once
    bar.update(count=100, done=100, force=True)
    bar.finish()
    lines = out.getvalue().splitlines()
    assert len(lines) == 2, lines
    assert "100.0%" in lines[-1]
    assert "100 records" in lines[-1]


def test_a_log_gets_a_final_line_when_the_last_update_was_not_printed() -> None:
    out = io.StringIO()
    bar = Progress("search index", total=50, unit="organisations", stream=out)
    bar.update(count=1, done=1)
    bar.update(count=50, done=50)  # within the interval: not printed
    bar.finish()
    lines = out.getvalue().splitlines()
    assert len(lines) == 2, lines
    assert "50 organisations" in lines[-1]


def test_a_disabled_bar_writes_nothing() -> None:
    out = _Terminal()
    bar = Progress("audit", total=10, stream=out, enabled=False)
    bar.update(count=10, done=10, force=True)
    bar.finish()
    assert out.getvalue() == ""


def test_a_terminal_gets_a_redrawn_bar_that_ends_at_the_total() -> None:
    out = _Terminal()
    bar = Progress("replay", total=200, unit="entries", stream=out)
    for n in (50, 100, 200):
        bar.update(count=n, done=n)
    bar.finish()
    text = out.getvalue()
    assert "replay" in text
    assert "200 entries" in text
    assert "100%" in text
    assert "\x1b[" in text  # drawn in place, with terminal control sequences
