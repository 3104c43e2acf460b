"""Every error is RFC 9457 problem+json: orgbook errors, validation, unknown routes, foreign
exceptions, and even a route that answers an error in a format of its own."""

from __future__ import annotations

import inspect
import logging
import re
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI, Query
from pydantic import BaseModel
from sqlalchemy.exc import OperationalError
from starlette.responses import HTMLResponse, JSONResponse, PlainTextResponse

from orgbook.core import errors
from orgbook.core.errors import PROBLEM_BASE, OrgBookError
from tests.http import TestClient, make_app

PROBLEM = "application/problem+json"

ERROR_CLASSES = sorted(
    (
        cls
        for cls in vars(errors).values()
        if inspect.isclass(cls) and issubclass(cls, OrgBookError)
    ),
    key=lambda cls: cls.__name__,
)

# Pinned: changing a status is an API change and must show up here.
EXPECTED_STATUS = {
    "OrgBookError": 500,
    "BadInput": 400,
    "CanonicalizationError": 400,
    "InvalidRecord": 422,
    "PayloadTooLarge": 413,
    "Unauthorized": 401,
    "Forbidden": 403,
    "NotFound": 404,
    "Conflict": 409,
    "RateLimited": 429,
    "VerificationError": 422,
    "MalformedNote": 400,
    "LedgerIntegrityError": 500,
    "InconsistentCheckpoint": 409,
    "ConfigurationError": 500,
    "UpstreamError": 502,
}


class Item(BaseModel):
    name: str
    count: int


def shell(tmp_path: Path) -> FastAPI:
    app = make_app(tmp_path)
    by_name = {cls.__name__: cls for cls in ERROR_CLASSES}

    @app.get("/t/raise/{name}")
    async def raise_named(name: str) -> None:
        raise by_name[name]("it went wrong", field="/x")

    @app.post("/t/items")
    async def post_item(item: Item, limit: int = Query(10, ge=1)) -> Item:
        return item

    @app.get("/t/boom")
    async def boom() -> None:
        raise ValueError("secret internal detail /etc/passwd")

    @app.get("/t/sync-boom")
    def sync_boom() -> None:
        raise KeyError("another secret")

    @app.get("/t/db-down")
    async def db_down() -> None:
        raise OperationalError("SELECT 1", {}, Exception("connection refused at 10.0.0.5"))

    @app.get("/t/plain-error")
    async def plain_error() -> PlainTextResponse:
        return PlainTextResponse("teapot", status_code=418)

    @app.get("/t/json-error")
    async def json_error() -> JSONResponse:
        return JSONResponse({"detail": "home-made"}, status_code=400)

    @app.get("/t/html-error")
    async def html_error() -> HTMLResponse:
        return HTMLResponse("<h1>Introuvable</h1>", status_code=404)

    return app


@pytest.fixture
def client(tmp_path: Path) -> TestClient:
    return TestClient(shell(tmp_path))


def assert_problem(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM
    body: dict[str, Any] = response.json()
    assert body["status"] == status
    assert body["type"].startswith(PROBLEM_BASE)
    assert body["title"]
    assert body["request_id"] == response.headers["x-request-id"]
    return body


def test_error_classes_are_all_pinned() -> None:
    assert {cls.__name__ for cls in ERROR_CLASSES} >= set(EXPECTED_STATUS)
    for cls in ERROR_CLASSES:
        if cls.__name__ in EXPECTED_STATUS:
            assert cls.status == EXPECTED_STATUS[cls.__name__], cls


@pytest.mark.parametrize("cls", ERROR_CLASSES, ids=lambda cls: cls.__name__)
def test_each_error_class_maps_to_its_status(client: TestClient, cls: type[OrgBookError]) -> None:
    response = client.get(f"/t/raise/{cls.__name__}")
    body = assert_problem(response, cls.status)
    assert body["type"] == PROBLEM_BASE + cls.slug
    assert body["title"] == cls.title
    assert body["detail"] == "it went wrong"
    assert body["field"] == "/x"
    assert body["instance"] == f"/t/raise/{cls.__name__}"
    if cls.status == 429:
        assert response.headers["retry-after"] == "1"


def test_validation_error_names_first_field_and_lists_all(client: TestClient) -> None:
    response = client.post("/t/items?limit=0", json={"name": 3, "count": "many"})
    body = assert_problem(response, 422)
    assert body["type"] == PROBLEM_BASE + "invalid-request"
    fields = [(e["in"], e["field"]) for e in body["errors"]]
    assert ("body", "/name") in fields
    assert ("body", "/count") in fields
    assert ("query", "limit") in fields
    assert body["field"] == fields[0][1]
    assert all("input" not in e for e in body["errors"])  # inputs are never echoed


def test_missing_nested_field_is_a_json_pointer(client: TestClient) -> None:
    body = assert_problem(client.post("/t/items", json={"name": "x"}), 422)
    assert body["field"] == "/count"
    assert body["detail"].startswith("body /count:")


def test_malformed_json_is_a_422_problem(client: TestClient) -> None:
    response = client.post(
        "/t/items", content=b'{"name": ', headers={"content-type": "application/json"}
    )
    body = assert_problem(response, 422)
    assert body["errors"][0]["type"] == "json_invalid"
    assert body["field"] == "body"


def test_unknown_route_is_a_404_problem(client: TestClient) -> None:
    body = assert_problem(client.get("/api/v1/no-such-thing"), 404)
    assert body["type"] == PROBLEM_BASE + "not-found"
    assert body["instance"] == "/api/v1/no-such-thing"


def test_wrong_method_is_a_405_problem_with_allow(client: TestClient) -> None:
    response = client.delete("/healthz")
    body = assert_problem(response, 405)
    assert body["type"] == PROBLEM_BASE + "method-not-allowed"
    assert response.headers["allow"] == "GET"


@pytest.mark.parametrize("path", ["/t/boom", "/t/sync-boom"])
def test_unhandled_exception_is_a_500_without_internals(
    client: TestClient, path: str, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.ERROR):
        response = client.get(path)
    body = assert_problem(response, 500)
    assert body["type"] == PROBLEM_BASE + "internal"
    assert "secret" not in response.text
    assert "Traceback" not in response.text
    logged = [r for r in caplog.records if r.exc_info]
    assert logged, "the exception is logged with its traceback"
    assert getattr(logged[0], "request_id", None) in (None, body["request_id"])


def test_database_unavailable_is_a_503_without_internals(client: TestClient) -> None:
    response = client.get("/t/db-down")
    body = assert_problem(response, 503)
    assert response.headers["retry-after"] == "5"
    assert "10.0.0.5" not in response.text
    assert "SELECT" not in body["detail"]


@pytest.mark.parametrize(("path", "status"), [("/t/plain-error", 418), ("/t/json-error", 400)])
def test_a_home_made_error_response_is_turned_into_a_problem(
    client: TestClient, path: str, status: int
) -> None:
    body = assert_problem(client.get(path), status)
    assert "home-made" not in body.get("detail", "")


def test_html_error_pages_are_left_to_the_web_page(client: TestClient) -> None:
    response = client.get("/t/html-error")
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("text/html")
    assert "Introuvable" in response.text


def test_no_route_of_the_assembled_app_answers_an_error_outside_problem_json(
    tmp_path: Path,
) -> None:
    """Sweep every route (the areas' routers included) with garbage and without credentials."""
    app = make_app(tmp_path, rate_limit_per_minute=0, verify_rate_limit_per_minute=0)
    seen = 0
    with TestClient(app) as client:
        for template, operations in app.openapi()["paths"].items():
            path = re.sub(r"\{[^}]+\}", "0", template)
            if path.endswith("/stream"):
                continue  # Server-Sent Events stay open by design; their errors are tested apart
            for method in sorted({m.upper() for m in operations} | {"PATCH"}):
                response = client.request(
                    method,
                    path + "?limit=-1&page=-1",
                    content=b'{"not": json',
                    headers={"content-type": "application/json"},
                )
                seen += 1
                if response.status_code >= 400 and method != "HEAD":
                    ctype = response.headers["content-type"]
                    assert ctype == PROBLEM or ctype.startswith("text/html"), (method, path)
                    if ctype == PROBLEM:
                        assert response.json()["status"] == response.status_code
    assert seen >= 4
