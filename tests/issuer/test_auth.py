"""Issuer API authentication: 401 with a Bearer challenge for any bad key, 403 across issuers,
and nothing written in any failing case."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from orgbook.app import create_app
from orgbook.issuer.keys import create_api_key, revoke_api_key
from orgbook.issuer.store import api_keys
from orgbook.runtime.registry import Registry
from tests.http import TestClient
from tests.issuer.test_service import (
    BC,
    NS,
    credential_row,
    ledger_size,
    open_test_registry,
    registration,
)

API = "/api/v1/issuer"
CID = "urn:uuid:00000000-0000-0000-0000-000000000000"

# Every route, with a body that would succeed for the right caller.
ROUTES: list[tuple[str, str, Any]] = [
    ("GET", "/me", None),
    ("POST", "/records", registration()),
    ("POST", "/records/batch", {"records": [registration()]}),
    ("GET", "/credentials", None),
    ("GET", f"/credentials/{CID}", None),
    ("POST", f"/credentials/{CID}/revoke", {"reason": "x"}),
    ("POST", f"/credentials/{CID}/suspend", {"reason": "x"}),
    ("POST", f"/credentials/{CID}/unsuspend", {"reason": "x"}),
    ("GET", "/keys", None),
    ("POST", "/keys/rotate", None),
    ("GET", "/api-keys", None),
    ("POST", "/api-keys", {"label": "x"}),
    ("DELETE", "/api-keys/abcdefghijkl", None),
]


@pytest.fixture
def setup(tmp_path: Path, db_url: str) -> Iterator[tuple[Registry, TestClient, dict[str, str]]]:
    registry, keys = open_test_registry(tmp_path, db_url)
    with TestClient(create_app(registry.settings, registry=registry)) as client:
        yield registry, client, keys
    registry.close()


def _call(client: TestClient, method: str, path: str, body: Any, headers: dict[str, str]) -> Any:
    return client.request(method, API + path, json=body, headers=headers)


def _revoked_key(registry: Registry) -> str:
    with registry.engine.begin() as conn:
        key = create_api_key(conn, BC, label="to revoke")
        revoke_api_key(conn, key.id)
    return key.key


BAD_HEADERS: dict[str, dict[str, str] | None] = {
    "missing": {},
    "empty-bearer": {"Authorization": "Bearer "},
    "basic": {"Authorization": "Basic dXNlcjpwYXNz"},
    "no-scheme": {"Authorization": "obk_abcdefghijkl_" + "a" * 43},
    "malformed": {"Authorization": "Bearer not-a-key"},
    "unknown": {"Authorization": "Bearer obk_abcdefghijkl_" + "a" * 43},
    "wrong-secret": None,  # filled in from a real key
    "revoked": None,
}


@pytest.mark.parametrize("case", list(BAD_HEADERS))
def test_bad_keys_are_401_on_every_route_and_write_nothing(
    setup: tuple[Registry, TestClient, dict[str, str]], case: str
) -> None:
    registry, client, keys = setup
    headers = BAD_HEADERS[case]
    if case == "wrong-secret":
        prefix = keys[BC].rsplit("_", 1)[0]
        headers = {"Authorization": f"Bearer {prefix}_{'b' * 43}"}
    elif case == "revoked":
        headers = {"Authorization": f"Bearer {_revoked_key(registry)}"}
    assert headers is not None
    before = ledger_size(registry)
    for method, path, body in ROUTES:
        response = _call(client, method, path, body, headers)
        assert response.status_code == 401, (method, path, response.text)
        assert response.headers["content-type"] == "application/problem+json"
        challenge = response.headers["WWW-Authenticate"]
        assert challenge.startswith("Bearer ")
        assert ('error="invalid_token"' in challenge) is (case != "missing")
        problem = response.json()
        assert problem["type"] == "https://orgbook.example/problems/unauthorized"
        assert "obk_" not in response.text  # the key is never echoed
        assert response.headers["Cache-Control"] == "no-store"
    assert ledger_size(registry) == before
    with registry.engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(api_keys)).scalar_one() == 3 + (
            case == "revoked"
        )


def test_revoked_key_stops_working(setup: tuple[Registry, TestClient, dict[str, str]]) -> None:
    registry, client, keys = setup
    headers = {"Authorization": f"Bearer {keys[BC]}"}
    assert client.get(f"{API}/me", headers=headers).status_code == 200
    with registry.engine.begin() as conn:
        revoke_api_key(conn, keys[BC].split("_")[1])
    before = ledger_size(registry)
    response = client.post(f"{API}/records", json=registration(), headers=headers)
    assert response.status_code == 401
    assert "revoked" in response.json()["detail"]
    assert ledger_size(registry) == before


def test_an_issuer_cannot_act_for_another(
    setup: tuple[Registry, TestClient, dict[str, str]],
) -> None:
    registry, client, keys = setup
    bc = {"Authorization": f"Bearer {keys[BC]}"}
    ns = {"Authorization": f"Bearer {keys[NS]}"}
    issued = client.post(f"{API}/records", json=registration(), headers=bc)
    assert issued.status_code == 201
    cid = issued.json()["credentials"][0]
    before = ledger_size(registry)

    # BC's record submitted with NS's key: outside NS's jurisdiction
    response = client.post(f"{API}/records", json=registration("reg-9"), headers=ns)
    assert response.status_code == 403
    assert response.json()["field"] == "/jurisdiction"
    batch = client.post(f"{API}/records/batch", json={"records": [registration("r")]}, headers=ns)
    assert batch.json()["outcomes"][0]["problem"]["status"] == 403

    # BC's credential: NS may neither change nor read it
    for action in ("revoke", "suspend", "unsuspend"):
        response = client.post(
            f"{API}/credentials/{cid}/{action}", json={"reason": "not mine"}, headers=ns
        )
        assert response.status_code == 403, action
        assert response.json()["type"].endswith("/forbidden")
    assert client.get(f"{API}/credentials/{cid}", headers=ns).status_code == 403

    # BC's API key: NS may not revoke it
    response = client.delete(f"{API}/api-keys/{keys[BC].split('_')[1]}", headers=ns)
    assert response.status_code == 403
    assert client.get(f"{API}/me", headers=bc).status_code == 200

    assert ledger_size(registry) == before
    assert credential_row(registry, cid).state == "current"
    assert not credential_row(registry, cid).suspended


def test_each_key_acts_for_its_own_issuer(
    setup: tuple[Registry, TestClient, dict[str, str]],
) -> None:
    _, client, keys = setup
    for issuer, key in keys.items():
        me = client.get(f"{API}/me", headers={"Authorization": f"Bearer {key}"}).json()
        assert me["id"] == issuer


def test_scheme_is_case_insensitive(setup: tuple[Registry, TestClient, dict[str, str]]) -> None:
    _, client, keys = setup
    response = client.get(f"{API}/me", headers={"Authorization": f"bearer {keys[BC]}"})
    assert response.status_code == 200


def test_issuer_api_is_rate_limited(tmp_path: Path, db_url: str) -> None:
    registry, keys = open_test_registry(tmp_path, db_url)
    settings = dataclasses.replace(registry.settings, issuer_rate_limit_per_minute=2)
    try:
        with TestClient(create_app(settings, registry=registry)) as client:
            headers = {"Authorization": f"Bearer {keys[BC]}"}
            assert client.get(f"{API}/me", headers=headers).status_code == 200
            assert client.get(f"{API}/me", headers={}).status_code == 401  # counts too
            before = ledger_size(registry)
            response = client.post(f"{API}/records", json=registration(), headers=headers)
            assert response.status_code == 429
            assert int(response.headers["Retry-After"]) >= 1
            assert response.headers["RateLimit-Limit"] == "2"
            assert ledger_size(registry) == before
    finally:
        registry.close()
