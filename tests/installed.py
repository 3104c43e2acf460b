"""The orgbook a user installs: the wheel built from this checkout, in a virtual environment of
its own (``scripts/install-wheel``), never the source tree.

``ORGBOOK_TEST_INSTALLED`` names that environment's python (``make test`` and ``.ci/run`` build
it once and set it). Without it, the first test that asks builds ``.venv/wheel`` itself, under a
file lock so parallel test workers build it once. Tests that start orgbook processes run
:func:`orgbook_argv`, with a working directory outside the checkout, so what they exercise is
what ``pip install .`` gives a user: its data files, its entry points, its dependencies.
"""

from __future__ import annotations

import fcntl
import functools
import os
import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


@functools.cache
def installed_python() -> str:
    """The python of the environment orgbook's wheel is installed in (built on first use)."""
    given = os.environ.get("ORGBOOK_TEST_INSTALLED")
    if given:
        if not Path(given).is_file():
            raise RuntimeError(f"ORGBOOK_TEST_INSTALLED={given}: no such python")
        return given
    venv = REPO / ".venv" / "wheel"
    venv.mkdir(parents=True, exist_ok=True)
    with (venv / ".lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        done = subprocess.run(
            [str(REPO / "scripts" / "install-wheel"), str(venv)],
            capture_output=True,
            text=True,
            check=False,
        )
    if done.returncode != 0:
        raise RuntimeError(f"scripts/install-wheel failed:\n{done.stderr[-4000:]}")
    return done.stdout.strip().splitlines()[-1]


def orgbook_argv(*args: str) -> list[str]:
    """``orgbook ARGS…`` as the installed package runs it."""
    return [installed_python(), "-m", "orgbook", *args]


def clean_env(**extra: str) -> dict[str, str]:
    """The environment without any ``ORGBOOK_*`` or ``PYTHONPATH`` of the test run, plus
    ``extra``: a process started with it sees only the installed package and what it is told."""
    env = {
        k: v for k, v in os.environ.items() if not k.startswith("ORGBOOK_") and k != "PYTHONPATH"
    }
    env.update(extra)
    return env
