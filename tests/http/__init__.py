"""Tests of the HTTP application shell, and helpers for tests that drive the app.

``TestClient`` is imported here with Starlette's "use httpx2" deprecation warning silenced: the
suite turns warnings into errors and this environment has httpx, not httpx2.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

from fastapi import FastAPI

from orgbook.app import create_app
from orgbook.config import Settings, get_settings

with warnings.catch_warnings():
    warnings.simplefilter("ignore", UserWarning)
    from fastapi.testclient import TestClient


def make_settings(tmp_path: Path, **overrides: Any) -> Settings:
    """Settings for a test: a SQLite file under ``tmp_path``, nothing from the environment."""
    return get_settings(environ={}, data_dir=tmp_path, **overrides)


def make_app(tmp_path: Path, **overrides: Any) -> FastAPI:
    return create_app(make_settings(tmp_path, **overrides))


__all__ = ["TestClient", "make_app", "make_settings"]
