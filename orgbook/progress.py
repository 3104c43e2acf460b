"""A small progress bar for long CLI work: count, rate and ETA on stderr.

Redraws in place on a terminal; prints a line every few seconds otherwise (logs, CI), so long
runs are never silent. No dependency, no work unless ``update`` is called.
"""

from __future__ import annotations

import sys
import time
from typing import TextIO


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
        self.count = 0
        self.done = 0

    def update(self, *, count: int, done: int | None = None, force: bool = False) -> None:
        self.count = count
        if done is not None:
            self.done = done
        now = time.monotonic()
        interval = 0.25 if self.tty else 5.0
        if self.enabled and (force or now - self.last_draw >= interval):
            self.last_draw = now
            self._draw(now)

    def line(self, now: float | None = None) -> str:
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

    def _draw(self, now: float) -> None:
        if self.tty:
            self.stream.write("\r\033[K" + self.line(now))
        else:
            self.stream.write(self.line(now) + "\n")
        self.stream.flush()

    def finish(self) -> None:
        if self.enabled:
            self._draw(time.monotonic())
            if self.tty:
                self.stream.write("\n")
            self.stream.flush()
