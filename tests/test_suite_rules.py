"""Rules the suite keeps about itself (issue 20): a known bug is a failing assertion, never an
imperative ``pytest.xfail()`` (which can never fail loudly once the bug returns), and timings
live in bench/, not in assertions on the wall clock."""

from __future__ import annotations

import re
from pathlib import Path

TESTS = Path(__file__).resolve().parent
XFAIL_CALL = re.compile(r"\bpytest\.xfail\(")
CLOCK_ASSERT = re.compile(r"^\s*assert\b.*\b(time\.(monotonic|perf_counter|time)\(\)|elapsed)\b")


def _sources() -> list[tuple[Path, list[str]]]:
    return [
        (path, path.read_text(encoding="utf-8").splitlines())
        for path in sorted(TESTS.rglob("*.py"))
        if path != Path(__file__).resolve()
    ]


def test_no_imperative_xfail() -> None:
    found = [
        f"{path.relative_to(TESTS)}:{n}"
        for path, lines in _sources()
        for n, line in enumerate(lines, 1)
        if XFAIL_CALL.search(line)
    ]
    assert found == []


def test_no_assertion_on_the_wall_clock() -> None:
    found = [
        f"{path.relative_to(TESTS)}:{n}: {line.strip()}"
        for path, lines in _sources()
        for n, line in enumerate(lines, 1)
        if CLOCK_ASSERT.search(line)
    ]
    assert found == []
