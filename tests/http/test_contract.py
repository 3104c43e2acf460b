"""The HTTP contract, one regression per disagreement found between the server and its OpenAPI.

Each test pins one fix of issue 14 §4 (found by hand or by ``test_schemathesis.py``): bounded
integers, RFC 3339 ``Z`` times, complete ``Allow`` on 405, 415 from ``/api/v1/verify``, the 413
and 429 answers declared, the ``text/plain`` proof declared, and parameters declared exactly as
the server checks them.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from orgbook.app import create_app
from orgbook.runtime.registry import Registry
from tests.factories import add_issuers, issue, new_registry
from tests.http import TestClient

PROBLEM = "application/problem+json"
RFC3339_Z = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$")
RECORD = {
    "event_id": "bc-2021-000123",
    "kind": "registration",
    "jurisdiction": "CA-BC",
    "registration_number": "BC1287139",
    "effective_date": "2021-02-03",
    "name": "Boulangerie Lévesque Ltée",
}


KEYS: dict[int, str] = {}
"""The issuer API key of each test registry, by ``id(registry)``."""


@pytest.fixture
def registry(tmp_path: Path) -> Iterator[Registry]:
    registry = new_registry(tmp_path)
    keys = add_issuers(registry, now=datetime(2000, 1, 1, tzinfo=UTC))
    KEYS[id(registry)] = keys["bc-registries"]
    issue(registry, [RECORD])
    with registry.engine.begin() as conn:
        registry.ledger.sign_checkpoint(conn)
    yield registry
    KEYS.pop(id(registry))
    registry.close()


def _client(registry: Registry, **settings: Any) -> TestClient:
    app = create_app(dataclasses.replace(registry.settings, **settings), registry=registry)
    client = TestClient(app)
    client.headers["Authorization"] = f"Bearer {KEYS[id(registry)]}"
    return client


@pytest.fixture
def client(registry: Registry) -> Iterator[TestClient]:
    with _client(registry) as client:
        yield client


@pytest.fixture
def openapi(client: TestClient) -> dict[str, Any]:
    document: dict[str, Any] = client.get("/openapi.json").json()
    return document


# --- integers are bounded, and declared so ---------------------------------------------------


@pytest.mark.parametrize("cursor", ["9223372036854775808", "9007199254740992", "-2"])
def test_issuer_cursor_out_of_range_is_422_not_500(client: TestClient, cursor: str) -> None:
    response = client.get("/api/v1/issuer/credentials", params={"cursor": cursor})
    assert response.status_code == 422
    assert response.headers["content-type"] == PROBLEM
    assert response.json()["field"] == "cursor"


def _integers(node: Any, where: str = "") -> Iterator[tuple[str, dict[str, Any]]]:
    if isinstance(node, dict):
        if node.get("type") == "integer":
            yield where, node
        for key, value in node.items():
            yield from _integers(value, f"{where}/{key}")
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from _integers(value, f"{where}/{i}")


def test_every_integer_parameter_and_body_member_is_bounded(openapi: dict[str, Any]) -> None:
    """Query, path and header parameters and request bodies: a minimum and a maximum each."""
    unbounded = []
    for path, item in openapi["paths"].items():
        for method, operation in item.items():
            inputs = [operation.get("parameters", []), operation.get("requestBody", {})]
            for where, schema in _integers(inputs):
                if "maximum" not in schema or "minimum" not in schema:
                    unbounded.append(f"{method.upper()} {path} {where}")
    for name, component in openapi["components"]["schemas"].items():
        if name.endswith(("In", "Request")):
            for where, schema in _integers(component):
                if "maximum" not in schema or "minimum" not in schema:
                    unbounded.append(f"#/components/schemas/{name}{where}")
    assert unbounded == []


def test_ledger_entry_index_is_declared_and_checked(client: TestClient) -> None:
    response = client.get("/api/v1/ledger/entries/2074294535548010112221184")
    assert response.status_code == 422
    assert response.json()["field"] == "index"


def test_last_event_id_of_unicode_digits_is_422_not_500(client: TestClient) -> None:
    # "²".isdigit() is true, int("²") raises: the header is now declared as ASCII digits.
    response = client.get(
        "/api/v1/feed/stream",
        params={"timeout": 1},
        headers={"Last-Event-ID": "²".encode("latin-1")},
    )
    assert response.status_code == 422
    assert response.headers["content-type"] == PROBLEM


# --- times are RFC 3339 UTC with Z -------------------------------------------------------------


def _times(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        for value in node.values():
            yield from _times(value)
    elif isinstance(node, list):
        for value in node:
            yield from _times(value)
    elif isinstance(node, str) and re.match(r"^\d{4}-\d{2}-\d{2}T", node):
        yield node


def test_issuer_api_times_are_rfc3339_utc(client: TestClient) -> None:
    created = client.post("/api/v1/issuer/api-keys", json={"label": "x"})
    assert created.status_code == 201
    key_id = created.json()["id"]
    answers = [
        created.json(),
        client.get("/api/v1/issuer/api-keys").json(),
        client.get("/api/v1/issuer/keys").json(),
        client.get("/api/v1/issuer/credentials").json(),
        client.delete(f"/api/v1/issuer/api-keys/{key_id}").json(),
    ]
    credential = answers[3]["items"][0]["id"]
    answers.append(client.get(f"/api/v1/issuer/credentials/{credential}").json())
    times = [t for answer in answers for t in _times(answer) if "credential" not in t]
    assert len(times) >= 6
    for answer in answers:
        answer.pop("credential", None)  # the signed document keeps its own (already …Z)
    assert [t for a in answers for t in _times(a) if not RFC3339_Z.match(t)] == []


# --- 405: Allow lists every method of the path --------------------------------------------------


@pytest.mark.parametrize(
    ("path", "allowed"),
    [
        ("/api/v1/issuer/api-keys", "GET, POST"),
        ("/api/v1/subscriptions", "GET, POST"),
        ("/api/v1/subscriptions/abc", "DELETE, GET"),
        ("/api/v1/verify", "POST"),
    ],
)
def test_405_allow_lists_every_method(client: TestClient, path: str, allowed: str) -> None:
    response = client.options(path)
    assert response.status_code == 405
    assert response.headers["allow"] == allowed
    assert response.headers["content-type"] == PROBLEM


# --- /api/v1/verify takes JSON only --------------------------------------------------------------


@pytest.mark.parametrize("content_type", ["text/plain", None, "application/x-www-form-urlencoded"])
def test_verify_refuses_a_body_not_sent_as_json(
    client: TestClient, content_type: str | None
) -> None:
    headers = {} if content_type is None else {"Content-Type": content_type}
    response = client.post("/api/v1/verify", content=b'{"@context": []}', headers=headers)
    assert response.status_code == 415
    assert response.headers["content-type"] == PROBLEM
    assert response.json()["type"].endswith("/unsupported-media-type")


def test_verify_takes_json_and_plus_json(client: TestClient) -> None:
    for media in ("application/json", "application/json; charset=utf-8", "application/ld+json"):
        response = client.post(
            "/api/v1/verify", content=b'{"@context": []}', headers={"Content-Type": media}
        )
        assert response.status_code == 200, media


def test_openapi_declares_415_413_and_429(openapi: dict[str, Any]) -> None:
    verify = openapi["paths"]["/api/v1/verify"]["post"]["responses"]
    assert {"413", "415", "429"} <= set(verify)
    for path, item in openapi["paths"].items():
        for method, operation in item.items():
            if "requestBody" in operation:
                assert "413" in operation["responses"], f"{method} {path}"
    limited = [
        ("/api/v1/organisations", "get"),
        ("/api/v1/ledger/checkpoint", "get"),
        ("/api/v1/issuer/records", "post"),
        ("/api/v1/feed", "get"),
        ("/issuers/{issuer_id}/did.json", "get"),
    ]
    for path, method in limited:
        answer = openapi["paths"][path][method]["responses"]["429"]
        assert "Retry-After" in answer["headers"], path
    assert "429" not in openapi["paths"]["/healthz"]["get"]["responses"]


def test_a_real_429_matches_its_declaration(registry: Registry) -> None:
    with _client(registry, rate_limit_per_minute=1) as client:
        declared = client.get("/openapi.json").json()
        client.get("/api/v1/ledger/checkpoint")
        refused = client.get("/api/v1/ledger/checkpoint")
    assert refused.status_code == 429
    answer = declared["paths"]["/api/v1/ledger/checkpoint"]["get"]["responses"]["429"]
    assert refused.headers["content-type"] in answer["content"]
    assert (
        int(refused.headers["retry-after"]) >= answer["headers"]["Retry-After"]["schema"]["minimum"]
    )


def test_inclusion_proof_text_is_declared(client: TestClient, openapi: dict[str, Any]) -> None:
    ok = openapi["paths"]["/api/v1/ledger/proof/inclusion"]["get"]["responses"]["200"]
    assert {"application/json", "text/plain"} <= set(ok["content"])
    text = client.get("/api/v1/ledger/proof/inclusion", params={"index": 0, "format": "tlog-proof"})
    assert text.status_code == 200
    assert text.headers["content-type"].startswith("text/plain")


# --- parameters declared as checked ---------------------------------------------------------


def test_ledger_entries_cut_short_instead_of_refused(client: TestClient) -> None:
    body = client.get("/api/v1/ledger/entries", params={"start": 0, "end": 9007199254740990})
    assert body.status_code == 200
    assert body.json()["end"] == 1000


def test_consistency_from_beyond_to_is_404(client: TestClient) -> None:
    response = client.get("/api/v1/ledger/proof/consistency", params={"from": 3, "to": 1})
    assert response.status_code == 404
    assert response.json()["field"] == "from"


@pytest.mark.parametrize("reason", ["\x85", "\u3000", " ", "\x1c\t", "ok", " kept "])
def test_status_reason_declared_as_checked(
    client: TestClient, openapi: dict[str, Any], reason: str
) -> None:
    """What the declared schema calls a valid reason is what the server accepts."""
    schema = openapi["components"]["schemas"]["StatusChangeRequest"]["properties"]["reason"]
    declared_valid = jsonschema.Draft202012Validator(schema).is_valid(reason)
    credential = client.get("/api/v1/issuer/credentials").json()["items"][0]["id"]
    response = client.post(
        f"/api/v1/issuer/credentials/{credential}/suspend", json={"reason": reason}
    )
    assert (response.status_code == 200) == declared_valid, response.text
    if declared_valid:
        client.post(f"/api/v1/issuer/credentials/{credential}/unsuspend", json={"reason": "x"})


@pytest.mark.parametrize(
    ("params", "status"),
    [
        ({"kind": "0" * 50}, 422),
        ({"type": "Not A Slug"}, 422),
        # slug-shaped, declared as such: registered types are data, so an unknown one is 400
        ({"type": "0000"}, 400),
        ({"organisation": "nope"}, 422),
        ({"issuer": "Bad Issuer"}, 422),
        ({"kind": "credential.issued", "type": "legal-name", "issuer": "bc-registries"}, 200),
    ],
)
def test_feed_filters_declared_as_checked(
    client: TestClient, params: dict[str, str], status: int
) -> None:
    assert client.get("/api/v1/feed", params=params).status_code == status


def test_feed_bounds_follow_the_settings(registry: Registry) -> None:
    with _client(registry, feed_max_wait_seconds=2, feed_stream_max_seconds=5) as client:
        declared = client.get("/openapi.json").json()
        too_long = client.get("/api/v1/feed", params={"wait": 3})
    parameters = {
        p["name"]: p["schema"] for p in declared["paths"]["/api/v1/feed"]["get"]["parameters"]
    }
    assert parameters["wait"]["maximum"] == 2
    stream = {
        p["name"]: p["schema"]
        for p in declared["paths"]["/api/v1/feed/stream"]["get"]["parameters"]
    }
    assert stream["timeout"]["maximum"] == 5
    assert too_long.status_code == 422
