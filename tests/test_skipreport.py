"""The run's closing statement on skipped tests (tests/skipreport.py), in a real pytest run."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.skipreport import statement

ROOT = Path(__file__).resolve().parent.parent

CONFTEST = """
from tests import skipreport


def pytest_terminal_summary(terminalreporter, config):
    skipreport.collect(terminalreporter, config)


def pytest_unconfigure(config):
    skipreport.announce(config)
"""

TESTS = """
import pytest


def test_runs():
    pass


@pytest.mark.parametrize("n", [1, 2, 3])
def test_needs_a_server(n):
    pytest.skip("PostgreSQL not configured")


@pytest.mark.skipif(True, reason="Chromium not installed")
def test_needs_a_browser():
    pass
"""


def _run(tmp_path: Path, *args: str) -> list[str]:
    (tmp_path / "conftest.py").write_text(CONFTEST)
    (tmp_path / "test_sample.py").write_text(TESTS)
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "-o",
            "addopts=",
            "--rootdir",
            str(tmp_path),
            *args,
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"},
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout.strip().splitlines()


def test_the_last_lines_say_how_many_were_skipped_and_why(tmp_path: Path) -> None:
    assert _run(tmp_path)[-3:] == [
        "orgbook: 4 of 5 tests SKIPPED (80 %): this run did not test everything. By reason:",
        "  3  PostgreSQL not configured",
        "  1  Chromium not installed",
    ]


def test_under_xdist_the_controller_says_it_once(tmp_path: Path) -> None:
    lines = _run(tmp_path, "-n", "2")
    assert lines[-3].startswith("orgbook: 4 of 5 tests SKIPPED")
    assert sum("SKIPPED (" in line for line in lines) == 1


def test_a_run_without_skips_says_so() -> None:
    assert statement([], 12) == ["orgbook: no test skipped (12 run)."]
