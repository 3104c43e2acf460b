"""Request ids, body limits, security headers and CORS by path."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI, Request
from starlette.responses import HTMLResponse

from orgbook.runtime.logging import request_id_var
from tests.http import TestClient, make_app

PROBLEM = "application/problem+json"
ORIGIN = "https://verifier.example"


def shell(tmp_path: Path, **overrides: Any) -> FastAPI:
    app = make_app(tmp_path, max_body_bytes=1000, **overrides)
    log = logging.getLogger("tests.http.route")

    @app.post("/api/v1/echo")
    async def echo(body: dict[str, Any]) -> dict[str, Any]:
        return body

    @app.post("/api/v1/raw")
    async def raw(request: Request) -> dict[str, int]:
        size = 0
        async for chunk in request.stream():
            size += len(chunk)
        return {"size": size}

    @app.get("/api/v1/whoami")
    async def whoami() -> dict[str, str | None]:
        log.info("serving whoami")
        return {"request_id": request_id_var.get()}

    @app.post("/api/v1/issuer/things")
    async def issuer_thing() -> dict[str, str]:
        return {"ok": "yes"}

    @app.get("/page")
    async def page() -> HTMLResponse:
        return HTMLResponse("<p>bonjour</p>")

    return app


@pytest.fixture
def client(tmp_path: Path) -> TestClient:
    return TestClient(shell(tmp_path))


# --- request ids -----------------------------------------------------------------------------


def test_request_id_generated_echoed_and_bound_to_logs(
    client: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    from orgbook.runtime.logging import RequestIdFilter

    handler_filter = RequestIdFilter()
    caplog.handler.addFilter(handler_filter)
    with caplog.at_level(logging.INFO, logger="tests.http.route"):
        response = client.get("/api/v1/whoami")
    rid = response.headers["x-request-id"]
    assert len(rid) == 32
    assert response.json() == {"request_id": rid}
    record = next(r for r in caplog.records if r.getMessage() == "serving whoami")
    assert getattr(record, "request_id", None) == rid
    assert request_id_var.get() is None  # reset after the request


def test_sane_request_id_is_kept(client: TestClient) -> None:
    response = client.get("/api/v1/whoami", headers={"X-Request-ID": "lb-7f3a:42"})
    assert response.headers["x-request-id"] == "lb-7f3a:42"
    assert response.json() == {"request_id": "lb-7f3a:42"}


@pytest.mark.parametrize("bad", ["", "has space", "x" * 129, "semi;colon", "é"])
def test_insane_request_id_is_replaced(client: TestClient, bad: str) -> None:
    response = client.get("/api/v1/whoami", headers=[(b"x-request-id", bad.encode("utf-8"))])
    assert response.headers["x-request-id"] != bad
    assert len(response.headers["x-request-id"]) == 32


def test_every_request_gets_a_different_id(client: TestClient) -> None:
    ids = {client.get("/healthz").headers["x-request-id"] for _ in range(5)}
    assert len(ids) == 5


def test_errors_carry_the_request_id_too(client: TestClient) -> None:
    response = client.get("/nowhere", headers={"X-Request-ID": "abc123"})
    assert response.headers["x-request-id"] == "abc123"
    assert response.json()["request_id"] == "abc123"


# --- body size limit ---------------------------------------------------------------------------


def test_declared_content_length_over_the_limit_is_413_before_reading(
    client: TestClient,
) -> None:
    response = client.post("/api/v1/echo", content=b"x" * 1001)
    assert response.status_code == 413
    assert response.headers["content-type"] == PROBLEM
    body = response.json()
    assert body["type"].endswith("/payload-too-large")
    assert body["request_id"] == response.headers["x-request-id"]


def test_body_at_the_limit_passes(client: TestClient) -> None:
    payload = b'{"a": "' + b"x" * 991 + b'"}'
    assert len(payload) == 1000
    response = client.post(
        "/api/v1/echo", content=payload, headers={"content-type": "application/json"}
    )
    assert response.status_code == 200


def chunks(total: int, size: int = 100) -> Iterator[bytes]:
    for _ in range(total // size):
        yield b"x" * size


@pytest.mark.parametrize("path", ["/api/v1/echo", "/api/v1/raw"])
def test_streamed_body_without_content_length_is_cut_off(client: TestClient, path: str) -> None:
    response = client.post(path, content=chunks(5000), headers={"content-type": "application/json"})
    assert response.status_code == 413
    assert response.headers["content-type"] == PROBLEM
    assert response.json()["status"] == 413


def test_small_streamed_body_passes(client: TestClient) -> None:
    response = client.post("/api/v1/raw", content=chunks(500))
    assert response.status_code == 200
    assert response.json() == {"size": 500}


# --- security headers ------------------------------------------------------------------------


def test_html_pages_get_security_headers(client: TestClient) -> None:
    response = client.get("/page")
    assert "frame-ancestors 'none'" in response.headers["content-security-policy"]
    assert response.headers["x-frame-options"] == "DENY"
    assert response.headers["x-content-type-options"] == "nosniff"
    assert "referrer-policy" in response.headers


def test_json_gets_only_nosniff(client: TestClient) -> None:
    response = client.get("/healthz")
    assert response.headers["x-content-type-options"] == "nosniff"
    assert "content-security-policy" not in response.headers


def test_api_docs_get_their_own_csp(client: TestClient) -> None:
    for path in ("/docs", "/redoc"):
        response = client.get(path)
        assert response.status_code == 200
        csp = response.headers["content-security-policy"]
        assert "script-src 'self';" in csp  # no CDN, no inline script
        assert "http" not in csp


def test_hsts_only_behind_https(tmp_path: Path) -> None:
    plain = TestClient(shell(tmp_path))
    assert "strict-transport-security" not in plain.get("/healthz").headers
    secure = TestClient(shell(tmp_path, public_url="https://orgbook.example"))
    assert secure.get("/healthz").headers["strict-transport-security"] == "max-age=31536000"


# --- CORS ------------------------------------------------------------------------------------


def preflight(client: TestClient, path: str, method: str = "POST") -> Any:
    return client.options(
        path,
        headers={
            "Origin": ORIGIN,
            "Access-Control-Request-Method": method,
            "Access-Control-Request-Headers": "content-type",
        },
    )


def test_preflight_on_a_public_path_is_allowed(client: TestClient) -> None:
    response = preflight(client, "/api/v1/echo")
    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == "*"
    assert "POST" in response.headers["access-control-allow-methods"]


def test_simple_request_on_a_public_path_exposes_headers(client: TestClient) -> None:
    response = client.get("/api/v1/whoami", headers={"Origin": ORIGIN})
    assert response.headers["access-control-allow-origin"] == "*"
    exposed = response.headers["access-control-expose-headers"]
    assert "X-Request-ID" in exposed
    assert "ETag" in exposed
    assert "Retry-After" in exposed


def test_preflight_on_an_issuer_path_is_not_allowed(client: TestClient) -> None:
    response = preflight(client, "/api/v1/issuer/things")
    assert "access-control-allow-origin" not in response.headers
    assert response.status_code == 405
    assert response.headers["content-type"] == PROBLEM
    simple = client.post("/api/v1/issuer/things", headers={"Origin": ORIGIN})
    assert "access-control-allow-origin" not in simple.headers


def test_issuer_cors_only_for_configured_origins(tmp_path: Path) -> None:
    client = TestClient(shell(tmp_path, issuer_cors_origins="https://admin.example"))
    allowed = client.options(
        "/api/v1/issuer/things",
        headers={
            "Origin": "https://admin.example",
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization",
        },
    )
    assert allowed.status_code == 200
    assert allowed.headers["access-control-allow-origin"] == "https://admin.example"
    refused = preflight(client, "/api/v1/issuer/things")
    assert refused.status_code == 400
    assert refused.headers["content-type"] == PROBLEM  # even Starlette's CORS refusal
    assert "access-control-allow-origin" not in refused.headers


def test_public_cors_can_be_restricted(tmp_path: Path) -> None:
    client = TestClient(shell(tmp_path, cors_origins="https://only.example"))
    assert preflight(client, "/api/v1/echo").status_code == 400
    ok = client.get("/api/v1/whoami", headers={"Origin": "https://only.example"})
    assert ok.headers["access-control-allow-origin"] == "https://only.example"


def test_request_ids_are_unique_hex_and_need_no_system_call_each(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import os

    from orgbook.http.middleware import new_request_id

    first = new_request_id()  # draws this process's prefix if not drawn yet

    def no_urandom(n: int) -> bytes:
        raise AssertionError("a request id read the kernel's random source")

    monkeypatch.setattr(os, "urandom", no_urandom)
    ids = [new_request_id() for _ in range(10_000)]
    assert len(set(ids)) == len(ids)
    assert first not in ids
    assert all(len(i) == 32 and int(i, 16) >= 0 for i in ids)
