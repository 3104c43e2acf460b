"""The assembled application: metadata, OpenAPI, area routers, no work at import time."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from fastapi import APIRouter, FastAPI

import orgbook.app
from orgbook import __version__
from orgbook.config import Settings
from tests.http import TestClient, make_app

TAGS = {
    "organisations",
    "credentials",
    "verify",
    "ledger",
    "issuers",
    "issuer",
    "subscriptions",
    "trust-registry",
    "statistics",
    "vc-api",
    "wallets",
    "health",
}


def test_openapi_and_docs(tmp_path: Path) -> None:
    client = TestClient(make_app(tmp_path))
    schema = client.get("/openapi.json").json()
    assert schema["info"]["title"] == "orgbook"
    assert schema["info"]["version"] == __version__
    assert "problem+json" in schema["info"]["description"]
    assert {tag["name"] for tag in schema["tags"]} == TAGS
    assert "Problem" in schema["components"]["schemas"]
    assert client.get("/docs").status_code == 200


def test_settings_and_engine_on_app_state(tmp_path: Path) -> None:
    app = make_app(tmp_path)
    assert isinstance(app.state.settings, Settings)
    assert app.state.engine.url.database.endswith("orgbook.sqlite3")


def test_area_router_is_included(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    received: list[Settings] = []

    def router(settings: Settings) -> APIRouter:
        received.append(settings)
        api = APIRouter(prefix="/api/v1/fake", tags=["organisations"])

        @api.get("")
        async def fake() -> dict[str, str]:
            return {"area": "fake"}

        return api

    monkeypatch.setattr(orgbook.app, "AREA_ROUTERS", (router,))
    monkeypatch.setattr(orgbook.app, "AREA_INSTALLERS", ())
    app = make_app(tmp_path)
    assert received == [app.state.settings]
    client = TestClient(app)
    assert client.get("/api/v1/fake").json() == {"area": "fake"}
    operation = client.get("/openapi.json").json()["paths"]["/api/v1/fake"]["get"]
    assert "application/problem+json" in operation["responses"]["default"]["content"]


def test_area_install_is_called(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:

    def install(app: FastAPI, settings: Settings) -> None:
        @app.get("/installed")
        async def installed() -> dict[str, bool]:
            return {"installed": True}

    monkeypatch.setattr(orgbook.app, "AREA_INSTALLERS", (install,))
    assert TestClient(make_app(tmp_path)).get("/installed").json() == {"installed": True}


def test_importing_the_shell_does_no_work(tmp_path: Path) -> None:
    modules = ", ".join(
        f"orgbook.{name}"
        for name in (
            "config",
            "runtime.logging",
            "app",
            "http.problems",
            "http.middleware",
            "http.ratelimit",
            "http.caching",
            "http.deps",
            "http.health",
        )
    )
    env = {**os.environ, "ORGBOOK_MAX_BODY_BYTES": "not a number"}  # would fail if read
    env["PYTHONPATH"] = str(Path(__file__).parents[2])
    subprocess.run(
        [sys.executable, "-W", "error", "-c", f"import {modules}"],
        cwd=tmp_path,
        env=env,
        check=True,
    )
    assert list(tmp_path.iterdir()) == []
