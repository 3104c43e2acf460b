"""ETags, Cache-Control and 304 for immutable and changing resources."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from fastapi import FastAPI, Request
from starlette.responses import Response

from orgbook.http.caching import IMMUTABLE, cached_json, etag_for
from tests.http import TestClient, make_app

ENTRY = {"index": 7, "kind": "credential.issued", "timestamp": datetime(2026, 1, 2, tzinfo=UTC)}


def shell(tmp_path: Path) -> FastAPI:
    app = make_app(tmp_path)

    @app.get("/api/v1/test/entries/7")
    async def entry(request: Request) -> Response:
        return cached_json(request, ENTRY, immutable=True)

    @app.get("/api/v1/test/checkpoint")
    async def checkpoint(request: Request) -> Response:
        note = b"orgbook.example/ledger\n8\nAAAA\n"
        return cached_json(
            request, note, immutable=False, max_age=10, media_type="text/plain; charset=utf-8"
        )

    @app.get("/api/v1/status")
    async def status(request: Request) -> Response:
        return cached_json(request, {"bits": "u..."}, immutable=False)

    return app


@pytest.fixture
def client(tmp_path: Path) -> TestClient:
    return TestClient(shell(tmp_path))


def test_immutable_resource_headers(client: TestClient) -> None:
    response = client.get("/api/v1/test/entries/7")
    assert response.status_code == 200
    assert response.headers["cache-control"] == IMMUTABLE
    assert response.headers["etag"] == etag_for(response.content)
    assert response.headers["etag"].startswith('"')
    assert not response.headers["etag"].startswith("W/")
    assert response.json()["timestamp"] == "2026-01-02T00:00:00Z"


def test_if_none_match_gives_304_without_body(client: TestClient) -> None:
    tag = client.get("/api/v1/test/entries/7").headers["etag"]
    for header in (tag, f'"other", {tag}', f"W/{tag}", "*"):
        response = client.get("/api/v1/test/entries/7", headers={"If-None-Match": header})
        assert response.status_code == 304, header
        assert response.content == b""
        assert response.headers["etag"] == tag
        assert response.headers["cache-control"] == IMMUTABLE


def test_stale_etag_gets_the_body(client: TestClient) -> None:
    response = client.get("/api/v1/test/entries/7", headers={"If-None-Match": '"stale"'})
    assert response.status_code == 200
    assert response.json()["index"] == 7


def test_changing_resource_has_short_max_age(client: TestClient) -> None:
    response = client.get("/api/v1/test/checkpoint")
    assert response.headers["cache-control"] == "public, max-age=10"
    assert response.headers["content-type"] == "text/plain; charset=utf-8"
    assert response.text.startswith("orgbook.example/ledger\n")
    tag = response.headers["etag"]
    again = client.get("/api/v1/test/checkpoint", headers={"If-None-Match": tag})
    assert again.status_code == 304


def test_no_max_age_means_revalidate(client: TestClient) -> None:
    assert client.get("/api/v1/status").headers["cache-control"] == "no-cache"


def test_etag_is_stable_and_content_addressed() -> None:
    assert etag_for(b"abc") == etag_for(b"abc")
    assert etag_for(b"abc") != etag_for(b"abd")
    assert len(etag_for(b"abc")) == 34
