"""Liveness and readiness probes."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Engine, text

from orgbook.app import create_app
from orgbook.core.errors import PROBLEM_BASE
from orgbook.http.health import ExpectedSchema, schema_problem
from orgbook.storage import migrations
from orgbook.storage.engine import make_engine
from tests.http import TestClient, make_app, make_settings


def test_healthz(tmp_path: Path) -> None:
    response = TestClient(make_app(tmp_path)).get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_readyz_when_the_database_is_there(tmp_path: Path) -> None:
    with TestClient(make_app(tmp_path)) as client:  # the lifespan migrates the database
        response = client.get("/readyz")
    assert response.status_code == 200, response.text
    assert response.json() == {"status": "ready", "checks": {"database": "ok", "schema": "ok"}}


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


def _stamp(engine: Engine, revision: str) -> None:
    """Set the recorded revision by hand: what a database upgraded by another release shows."""
    with engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = :r"), {"r": revision})


def _probe(engine: Engine, tmp_path: Path) -> tuple[int, dict[str, object]]:
    """``GET /readyz`` of a replica already running: no lifespan, so no upgrade at start-up."""
    client = TestClient(create_app(make_settings(tmp_path), engine=engine))
    response = client.get("/readyz")
    if response.status_code != 200:
        assert response.headers["content-type"] == "application/problem+json"
    body: dict[str, object] = response.json()
    return response.status_code, body


def test_readyz_at_the_migration_head(engine: Engine, tmp_path: Path) -> None:
    status, body = _probe(engine, tmp_path)
    assert status == 200, body
    assert body["checks"] == {"database": "ok", "schema": "ok"}


def test_readyz_fails_when_the_schema_is_behind(engine: Engine, tmp_path: Path) -> None:
    head = migrations.head_revision()
    _stamp(engine, migrations.BASE_REVISION)
    status, body = _probe(engine, tmp_path)
    assert status == 503
    assert body["check"] == "schema"
    assert body["type"] == f"{PROBLEM_BASE}not-ready"
    assert body["detail"] == (
        f"Database at revision {migrations.BASE_REVISION}, this release expects {head}; "
        "run `orgbook db upgrade`."
    )
    migrations.upgrade(engine)  # what the operator runs: ready again
    assert _probe(engine, tmp_path)[0] == 200


def test_readyz_fails_when_a_newer_release_upgraded_the_database(
    engine: Engine, tmp_path: Path
) -> None:
    _stamp(engine, "9999")
    status, body = _probe(engine, tmp_path)
    assert status == 503
    assert body["check"] == "schema"
    detail = str(body["detail"])
    assert detail.startswith("Database at revision 9999, which this release does not know")
    assert f"expects {migrations.head_revision()}" in detail
    assert "orgbook db upgrade" not in detail  # upgrading cannot help: deploy the newer release


def test_readyz_fails_when_the_database_was_never_migrated(db_url: str, tmp_path: Path) -> None:
    engine = make_engine(db_url)  # answers, but has no alembic_version table
    try:
        with engine.begin() as conn:
            conn.execute(text("CREATE TABLE unrelated (x INTEGER)"))
        status, body = _probe(engine, tmp_path)
    finally:
        engine.dispose()
    assert status == 503
    assert body["check"] == "schema"
    assert body["detail"] == (
        f"Database has no schema revision, this release expects {migrations.head_revision()}; "
        "run `orgbook db upgrade`."
    )


def test_openapi_describes_the_readiness_checks(tmp_path: Path) -> None:
    readyz = make_app(tmp_path).openapi()["paths"]["/readyz"]["get"]
    description = readyz["description"]
    for term in ("`database`", "`schema`", migrations.head_revision(), "orgbook db upgrade"):
        assert term in description
    assert "503" in readyz["responses"]


def test_only_exactly_the_head_is_ready() -> None:
    expected = ExpectedSchema(head="0003", known=frozenset({"0001", "0002", "0003"}))
    assert schema_problem(["0003"], expected) is None
    for revisions in ([], ["0002"], ["0004"], ["0003", "0004"], ["0002", "0003"]):
        problem = schema_problem(revisions, expected)
        assert problem is not None, revisions
        assert "expects 0003" in problem
    assert schema_problem(["0002", "0003"], expected) == (
        "Database at revision 0002, 0003, this release expects 0003; run `orgbook db upgrade`."
    )


def test_given_engine_is_used_and_left_open(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'given.sqlite3'}")
    app = create_app(make_settings(tmp_path), engine=engine)
    assert app.state.engine is engine
    with TestClient(app) as client:
        assert client.get("/readyz").status_code == 200
    with engine.connect() as conn:  # still usable after shutdown
        assert conn.execute(text("SELECT 1")).scalar() == 1
    engine.dispose()
