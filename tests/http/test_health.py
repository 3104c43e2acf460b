"""Liveness and readiness probes."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import text

from orgbook.app import create_app
from orgbook.db import make_engine
from orgbook.http.health import ledger_tables
from tests.http import TestClient, make_app, make_settings


def test_healthz(tmp_path: Path) -> None:
    response = TestClient(make_app(tmp_path)).get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_readyz_when_the_database_is_there(tmp_path: Path) -> None:
    with TestClient(make_app(tmp_path)) as client:  # the lifespan creates the tables
        response = client.get("/readyz")
    assert response.status_code == 200, response.text
    assert response.json()["status"] == "ready"
    assert response.json()["checks"]["database"] == "ok"


def test_readyz_fails_when_the_database_points_nowhere(tmp_path: Path) -> None:
    settings = make_settings(
        tmp_path, database_url="postgresql://nobody@127.0.0.1:1/nothing?connect_timeout=2"
    )
    client = TestClient(create_app(settings))  # no lifespan: the database is not there
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert body["type"].endswith("/not-ready")
    assert body["check"] == "database"
    assert "127.0.0.1" not in response.text
    assert client.get("/healthz").status_code == 200  # alive, just not ready


def test_readyz_fails_when_the_ledger_tables_are_missing(tmp_path: Path) -> None:
    if not ledger_tables():
        return  # the ledger store does not declare tables yet
    engine = make_engine(f"sqlite:///{tmp_path / 'empty.sqlite3'}")
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE unrelated (x INTEGER)"))
    client = TestClient(create_app(make_settings(tmp_path), engine=engine))
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["check"] == "ledger"
    engine.dispose()


def test_given_engine_is_used_and_left_open(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'given.sqlite3'}")
    app = create_app(make_settings(tmp_path), engine=engine)
    assert app.state.engine is engine
    with TestClient(app) as client:
        assert client.get("/readyz").status_code == 200
    with engine.connect() as conn:  # still usable after shutdown
        assert conn.execute(text("SELECT 1")).scalar() == 1
    engine.dispose()
