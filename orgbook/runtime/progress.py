"""Progress of long CLI work (ingest, indexing, audit, replay) on stderr.

What it owns: :class:`Progress`, one bar per long job. On a terminal it is a `rich`_ progress
bar (redrawn in place: bar, percentage, count, rate, time left); otherwise (logs, CI, a pipe)
it prints one plain line every few seconds, so long runs are never silent, and one final line,
never the same line twice.

What it must not do: any work unless ``update`` is called; write to stdout (that is the
command's output).

.. _rich: https://rich.readthedocs.io/
"""

from __future__ import annotations

import sys
import time
from typing import TextIO

from rich.console import Console
from rich.progress import (
    BarColumn,
    TaskID,
    TaskProgressColumn,
    TextColumn,
    TimeRemainingColumn,
)
from rich.progress import Progress as RichProgress

__all__ = ["Progress"]

PLAIN_INTERVAL = 5.0
"""Seconds between two plain lines when the output is not a terminal."""


def _duration(seconds: float) -> str:
    seconds = max(0, int(seconds))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes:02d}:{secs:02d}"


class Progress:
    """Progress of ``done`` out of ``total`` (bytes, lines…), with a count of items alongside."""

    def __init__(
        self,
        label: str,
        *,
        total: int | None = None,
        unit: str = "records",
        stream: TextIO | None = None,
        enabled: bool = True,
    ) -> None:
        self.label = label
        self.total = total
        self.unit = unit
        self.stream = stream or sys.stderr
        self.enabled = enabled
        self.tty = bool(getattr(self.stream, "isatty", lambda: False)())
        self.started = time.monotonic()
        self.last_draw = 0.0
        self.last_line: str | None = None
        self.count = 0
        self.done = 0
        self._rich: RichProgress | None = None
        self._task = TaskID(0)

    def update(self, *, count: int, done: int | None = None, force: bool = False) -> None:
        self.count = count
        if done is not None:
            self.done = done
        if not self.enabled:
            return
        if self.tty:
            self._draw_rich()
            return
        now = time.monotonic()
        if force or now - self.last_draw >= PLAIN_INTERVAL:
            self.last_draw = now
            self._draw_plain(now)

    def line(self, now: float | None = None) -> str:
        """The plain line: label, bar, fraction, count, rate and time left (or elapsed)."""
        elapsed = max((now or time.monotonic()) - self.started, 1e-9)
        rate = self.count / elapsed
        text = f"{self.label}: {self.count:,} {self.unit} ({rate:,.0f}/s, {_duration(elapsed)})"
        if self.total:
            fraction = min(self.done / self.total, 1.0)
            eta = elapsed * (1 - fraction) / fraction if fraction > 0 else 0.0
            width = 24
            filled = int(fraction * width)
            bar = "#" * filled + "-" * (width - filled)
            text = f"{self.label} [{bar}] {fraction:6.1%} {self.count:,} {self.unit}"
            text += f" {rate:,.0f}/s ETA {_duration(eta)}"
        return text

    def _draw_plain(self, now: float) -> None:
        text = self.line(now)
        # The count part decides whether this line says anything new (the rate moves anyway).
        state = f"{self.count}/{self.done}"
        if state == self.last_line:
            return
        self.last_line = state
        self.stream.write(text + "\n")
        self.stream.flush()

    def _draw_rich(self) -> None:
        if self._rich is None:
            console = Console(file=self.stream, force_terminal=True)
            self._rich = RichProgress(
                TextColumn("{task.description}"),
                BarColumn(),
                TaskProgressColumn(),
                TextColumn("{task.fields[count]:,} {task.fields[unit]}"),
                TextColumn("{task.fields[rate]:,.0f}/s"),
                TimeRemainingColumn(),
                console=console,
                transient=False,
            )
            self._task = self._rich.add_task(
                self.label, total=self.total, count=0, unit=self.unit, rate=0.0
            )
            self._rich.start()
        elapsed = max(time.monotonic() - self.started, 1e-9)
        self._rich.update(
            self._task,
            completed=self.done if self.total else self.count,
            count=self.count,
            rate=self.count / elapsed,
        )

    def finish(self) -> None:
        """The final state, once: the bar stops on a terminal; one last line otherwise (unless
        the last line printed already says it)."""
        if not self.enabled:
            return
        if self.tty:
            self._draw_rich()
            assert self._rich is not None
            self._rich.stop()
        else:
            self._draw_plain(time.monotonic())
        self.stream.flush()
