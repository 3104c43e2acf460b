"""The closing statement of a test run: how many tests were skipped, and why, grouped by reason.

pytest mentions skips only in its summary line, where a green run that skipped a tenth of the
suite (no PostgreSQL, no Chromium) looks like any other. ``tests/conftest.py`` wires these hooks:
:func:`collect` reads the reports in ``pytest_terminal_summary`` and :func:`announce` prints the
statement in ``pytest_unconfigure``, after everything pytest itself prints, where a person looks.
Under pytest-xdist only the controller (which receives every worker's reports) prints.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest

__all__ = ["STATEMENT", "announce", "collect", "statement"]

STATEMENT = pytest.StashKey[list[str]]()


def _reason(report: Any) -> str:
    longrepr = report.longrepr
    if isinstance(longrepr, tuple) and len(longrepr) == 3:
        reason = str(longrepr[2])
    else:
        reason = str(longrepr)
    return reason.removeprefix("Skipped: ").strip() or "no reason given"


def statement(skipped: list[Any], total: int, xfailed: int = 0) -> list[str]:
    """The lines to print for ``skipped`` reports out of ``total`` tests run or skipped."""
    if not skipped:
        lines = [f"orgbook: no test skipped ({total} run)."]
    else:
        reasons = Counter(_reason(report) for report in skipped)
        share = 100 * len(skipped) / total if total else 100.0
        lines = [
            f"orgbook: {len(skipped)} of {total} tests SKIPPED ({share:.0f} %): "
            "this run did not test everything. By reason:"
        ]
        width = len(str(max(reasons.values())))
        for reason, count in sorted(reasons.items(), key=lambda item: (-item[1], item[0])):
            lines.append(f"  {count:>{width}}  {reason}")
    if xfailed:
        lines.append(f"orgbook: {xfailed} test(s) expected to fail (xfail) did fail: see above.")
    return lines


def collect(terminalreporter: Any, config: pytest.Config) -> None:
    """Keep the statement for :func:`announce` (the reports are the controller's under xdist)."""
    stats = terminalreporter.stats
    skipped = list(stats.get("skipped", []))
    ran = sum(
        len([r for r in stats.get(key, []) if getattr(r, "when", None) == "call"])
        for key in ("passed", "failed", "xfailed", "xpassed")
    )
    errors = len(stats.get("error", []))
    total = ran + errors + len(skipped)
    config.stash[STATEMENT] = statement(skipped, total, len(stats.get("xfailed", [])))


def announce(config: pytest.Config) -> None:
    """Print the statement as the run's last lines (nothing on an xdist worker)."""
    lines = config.stash.get(STATEMENT, None)
    reporter = config.pluginmanager.get_plugin("terminalreporter")
    if not lines or reporter is None or hasattr(config, "workerinput"):
        return
    for line in lines:
        reporter.write_line(line, yellow=line.startswith("orgbook: ") and "SKIPPED" in line)
