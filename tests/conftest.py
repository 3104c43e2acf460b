"""Shared fixtures: databases on both backends, vectors, a fixed clock.

``engine`` is parametrised over SQLite and PostgreSQL. PostgreSQL runs when
``ORGBOOK_TEST_PG_URL`` names a server (``.ci/run`` starts one with ``.ci/pg-start``); each test
gets a database of its own, created from scratch and dropped afterwards.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, text

from orgbook.storage.engine import make_engine
from orgbook.storage.migrations import upgrade
from tests import skipreport

VECTORS = Path(__file__).parent / "vectors"
FIXED_NOW = datetime(2026, 11, 23, 12, 0, 0, tzinfo=UTC)


def pg_admin_url() -> str | None:
    return os.environ.get("ORGBOOK_TEST_PG_URL") or None


def pytest_terminal_summary(
    terminalreporter: pytest.TerminalReporter, config: pytest.Config
) -> None:
    """How many tests were skipped and why: kept here, printed last (tests/skipreport.py)."""
    skipreport.collect(terminalreporter, config)


def pytest_unconfigure(config: pytest.Config) -> None:
    skipreport.announce(config)


@pytest.fixture
def vectors() -> Path:
    return VECTORS


@pytest.fixture
def now() -> datetime:
    return FIXED_NOW


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'orgbook.sqlite3'}"


@pytest.fixture
def pg_url() -> Iterator[str]:
    """The URL of a fresh, empty PostgreSQL database (with pg_trgm and unaccent)."""
    admin = pg_admin_url()
    if admin is None:
        pytest.skip("PostgreSQL not configured: set ORGBOOK_TEST_PG_URL (see .ci/pg-start)")
    name = f"orgbook_t_{uuid.uuid4().hex[:12]}"
    admin = admin.replace("postgresql://", "postgresql+psycopg://", 1)
    admin_engine = create_engine(admin, isolation_level="AUTOCOMMIT")
    try:
        with admin_engine.connect() as conn:
            conn.execute(text(f"CREATE DATABASE \"{name}\" TEMPLATE template0 ENCODING 'UTF8'"))
        base = admin.rsplit("/", 1)[0]
        url = f"{base}/{name}"
        ext_engine = create_engine(url, isolation_level="AUTOCOMMIT")
        with ext_engine.connect() as conn:
            conn.execute(text("CREATE EXTENSION IF NOT EXISTS pg_trgm"))
            conn.execute(text("CREATE EXTENSION IF NOT EXISTS unaccent"))
        ext_engine.dispose()
        yield url
    finally:
        with admin_engine.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin_engine.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A database URL on each backend in turn (PostgreSQL skipped when not configured)."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'orgbook.sqlite3'}"
    url: str = request.getfixturevalue("pg_url")
    return url


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    """An engine with every orgbook table created, on SQLite and on PostgreSQL."""
    eng = make_engine(db_url)
    upgrade(eng)
    yield eng
    eng.dispose()
