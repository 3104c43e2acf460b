"""The issuer HTTP API end to end, on both backends: records, batches, status changes, keys."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from orgbook.app import create_app
from orgbook.runtime.registry import Registry
from tests.http import TestClient
from tests.issuer.test_service import (
    BC,
    NS,
    ORG,
    document,
    failed,
    ledger_entries,
    ledger_head,
    ledger_size,
    open_test_registry,
    rec,
    registration,
    verify,
)

API = "/api/v1/issuer"
PROBLEM = "application/problem+json"


@pytest.fixture
def setup(tmp_path: Path, db_url: str) -> Iterator[tuple[Registry, TestClient, dict[str, str]]]:
    registry, keys = open_test_registry(tmp_path, db_url)
    with TestClient(create_app(registry.settings, registry=registry)) as client:
        client.headers["Authorization"] = f"Bearer {keys[BC]}"
        yield registry, client, keys
    registry.close()


@pytest.fixture
def registry(setup: tuple[Registry, TestClient, dict[str, str]]) -> Registry:
    return setup[0]


@pytest.fixture
def client(setup: tuple[Registry, TestClient, dict[str, str]]) -> TestClient:
    return setup[1]


@pytest.fixture
def keys(setup: tuple[Registry, TestClient, dict[str, str]]) -> dict[str, str]:
    return setup[2]


def now() -> datetime:
    return datetime.now(UTC)


def issue(client: TestClient, record: dict[str, Any]) -> dict[str, Any]:
    response = client.post(f"{API}/records", json=record)
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


def by_type(client: TestClient, slug: str, **params: Any) -> list[dict[str, Any]]:
    response = client.get(f"{API}/credentials", params={"type": slug, **params})
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


# --- who am I -------------------------------------------------------------------------------------


def test_me(client: TestClient, keys: dict[str, str]) -> None:
    response = client.get(f"{API}/me")
    assert response.status_code == 200
    body = response.json()
    assert body["id"] == BC
    assert body["did"] == "did:web:registry.test:issuers:bc-registries"
    assert body["jurisdiction"] == "CA-BC"
    assert "legal-name" in body["credentialTypes"]
    assert keys[BC].startswith(f"obk_{body['apiKeyId']}_")
    assert response.headers["RateLimit-Limit"] == "1200"
    assert response.headers["Cache-Control"] == "no-store"


# --- one record -----------------------------------------------------------------------------------


def test_record_issued_then_unchanged(registry: Registry, client: TestClient) -> None:
    before = ledger_size(registry)
    body = issue(client, registration())
    assert body["status"] == "issued"
    assert body["eventId"] == "reg-1"
    assert body["index"] == 0
    assert body["problem"] is None
    assert len(body["credentials"]) == 3
    assert ledger_size(registry) == before + 3
    for cid in body["credentials"]:
        assert failed(verify(registry, document(registry, cid), now=now())) == []

    again = client.post(f"{API}/records", json=registration())
    assert again.status_code == 200
    assert again.json()["status"] == "unchanged"
    assert again.json()["credentials"] == []
    assert ledger_size(registry) == before + 3


def test_record_with_reused_event_id_is_409(registry: Registry, client: TestClient) -> None:
    issue(client, registration())
    before = ledger_size(registry)
    response = client.post(f"{API}/records", json=registration(name="Something Else Ltd."))
    assert response.status_code == 409
    assert response.headers["content-type"] == PROBLEM
    problem = response.json()
    assert problem["type"] == "https://orgbook.example/problems/conflict"
    assert problem["field"] == "/event_id"
    assert problem["instance"] == f"{API}/records"
    assert "request_id" in problem
    assert ledger_size(registry) == before


def test_invalid_record_is_422_with_pointer_and_every_error(
    registry: Registry, client: TestClient
) -> None:
    before = ledger_size(registry)
    bad = registration(effective_date="2021-13-45", address={"address_type": 7})
    del bad["name"]
    response = client.post(f"{API}/records", json=bad)
    assert response.status_code == 422
    assert response.headers["content-type"] == PROBLEM
    problem = response.json()
    assert problem["type"] == "https://orgbook.example/problems/invalid-record"
    assert problem["field"].startswith("/")
    paths = {error["path"] for error in problem["errors"]}
    assert "/name" in paths
    assert "/effective_date" in paths
    assert any(path.startswith("/address") for path in paths)
    assert problem["field"] in paths
    assert ledger_size(registry) == before


def test_body_that_is_not_a_record_object_is_422(client: TestClient) -> None:
    response = client.post(f"{API}/records", json=[registration()])
    assert response.status_code == 422
    assert response.json()["type"].endswith("/invalid-request")
    response = client.post(
        f"{API}/records", content=b"{not json", headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 422


def test_record_outside_jurisdiction_is_403(registry: Registry, client: TestClient) -> None:
    before = ledger_size(registry)
    response = client.post(f"{API}/records", json=registration(jurisdiction="CA-NS"))
    assert response.status_code == 403
    assert response.json()["type"].endswith("/forbidden")
    assert response.json()["field"] == "/jurisdiction"
    assert ledger_size(registry) == before


def test_name_change_supersedes_and_late_record_is_history(
    registry: Registry, client: TestClient
) -> None:
    first = issue(client, registration())
    (old_name,) = [c for c in by_type(client, "legal-name") if c["state"] == "current"]
    assert old_name["id"] in first["credentials"]

    newer = issue(client, rec("name_change", "ev-3", date="2024-01-01", name="Newer Ltd."))
    (new_name,) = newer["credentials"]
    names = {c["id"]: c for c in by_type(client, "legal-name")}
    assert names[old_name["id"]]["state"] == "superseded"
    assert names[old_name["id"]]["supersededBy"] == new_name
    assert names[new_name]["state"] == "current"

    late = client.post(
        f"{API}/records", json=rec("name_change", "ev-2", date="2023-01-01", name="Older Ltd.")
    )
    assert late.status_code == 200
    assert late.json()["status"] == "history"
    (late_id,) = late.json()["credentials"]
    assert [c["id"] for c in by_type(client, "legal-name", state="current")] == [new_name]

    detail = client.get(f"{API}/credentials/{late_id}").json()
    assert detail["state"] == "superseded"
    assert detail["supersededBy"] == new_name
    assert [e["kind"] for e in detail["history"]] == ["issued", "superseded"]
    assert detail["credential"]["credentialSubject"]["legalName"] == "Older Ltd."

    detail = client.get(f"{API}/credentials/{old_name['id']}").json()
    assert [(e["kind"], e["relatedCredential"]) for e in detail["history"]] == [
        ("issued", None),
        ("superseded", new_name),
    ]
    assert failed(verify(registry, detail["credential"], now=now())) == ["status"]


# --- batches --------------------------------------------------------------------------------------


def test_batch_issues_valid_and_rejects_invalid_with_index(
    registry: Registry, client: TestClient
) -> None:
    before = ledger_size(registry)
    records = [
        registration(),
        {"kind": "registration", "event_id": "broken"},
        rec("name_change", "ev-2", date="2023-01-01", name="Second Name Ltd."),
        registration("ns-1", jurisdiction="CA-NS", number="3300001"),
        "not a record",
        rec("status_change", "ev-3", date="2025-01-31", status="dissolved"),
    ]
    response = client.post(f"{API}/records/batch", json={"records": records})
    assert response.status_code == 200, response.text
    body = response.json()
    statuses = [o["status"] for o in body["outcomes"]]
    assert statuses == ["issued", "rejected", "issued", "rejected", "rejected", "issued"]
    assert [o["index"] for o in body["outcomes"]] == list(range(6))
    assert (body["issued"], body["history"], body["unchanged"], body["rejected"]) == (3, 0, 0, 3)
    assert body["credentials"] == 5
    rejected = {o["index"]: o["problem"] for o in body["outcomes"] if o["status"] == "rejected"}
    assert rejected[1]["status"] == 422
    assert rejected[1]["field"].startswith("/")
    assert rejected[3]["status"] == 403
    assert rejected[4]["status"] == 422
    # 3 + 1 + 1 issued, and the name and status supersede the registration's
    kinds = [entry.kind for entry in ledger_entries(registry, before)]
    assert kinds.count("credential.issued") == 5
    assert kinds.count("credential.superseded") == 2
    (status,) = by_type(client, "status", state="current")
    assert document(registry, status["id"])["credentialSubject"]["status"] == "dissolved"

    again = client.post(f"{API}/records/batch", json={"records": records}).json()
    assert [o["status"] for o in again["outcomes"]] == [
        "unchanged",
        "rejected",
        "unchanged",
        "rejected",
        "rejected",
        "unchanged",
    ]
    assert ledger_size(registry) == before + len(kinds)


@pytest.mark.parametrize(
    "body",
    [{"records": []}, {}, {"records": {"a": 1}}, [registration()]],
    ids=["empty", "missing", "not-a-list", "bare-list"],
)
def test_batch_shape_errors(registry: Registry, client: TestClient, body: Any) -> None:
    before = ledger_size(registry)
    response = client.post(f"{API}/records/batch", json=body)
    assert response.status_code == 422
    assert response.json()["type"].endswith("/invalid-request")
    assert ledger_size(registry) == before


def test_batch_limit(registry: Registry, client: TestClient) -> None:
    records = [{"kind": "x"}] * 1001
    response = client.post(f"{API}/records/batch", json={"records": records})
    assert response.status_code == 422
    assert response.json()["field"] == "/records"


def test_batch_of_1000_in_one_transaction(registry: Registry, client: TestClient) -> None:
    records = [
        registration(f"reg-{n}", number=f"BC{1000000 + n}", name=f"Company {n} Ltd.")
        for n in range(1000)
    ]
    before = ledger_size(registry)
    response = client.post(f"{API}/records/batch", json={"records": records})
    assert response.status_code == 200
    body = response.json()
    assert body["issued"] == 1000
    assert body["credentials"] == 3000
    assert ledger_size(registry) == before + 3000


# --- listing --------------------------------------------------------------------------------------


def test_credentials_listing_filters_and_cursor(client: TestClient) -> None:
    issue(client, registration())
    issue(client, registration("reg-2", number="BC0000002", name="Two Ltd."))
    issue(client, rec("name_change", "ev-9", date="2024-01-01", name="Renamed Ltd."))

    everything = client.get(f"{API}/credentials", params={"limit": 1000}).json()
    assert everything["nextCursor"] is None
    assert len(everything["items"]) == 7
    indices = [c["ledgerIndex"] for c in everything["items"]]
    assert indices == sorted(indices)

    pages: list[dict[str, Any]] = []
    cursor: int | None = None
    while True:
        params: dict[str, Any] = {"limit": 3}
        if cursor is not None:
            params["cursor"] = cursor
        page = client.get(f"{API}/credentials", params=params).json()
        pages.extend(page["items"])
        cursor = page["nextCursor"]
        if cursor is None:
            break
    assert pages == everything["items"]

    mine = client.get(f"{API}/credentials", params={"organisation": ORG}).json()["items"]
    assert {c["organisation"] for c in mine} == {ORG}
    assert len(mine) == 4
    current_names = by_type(client, "legal-name", organisation=ORG, state="current")
    assert len(current_names) == 1
    assert (
        by_type(client, "legal-name", state="superseded")[0]["supersededBy"]
        == (current_names[0]["id"])
    )


def test_credentials_listing_only_shows_own(client: TestClient, keys: dict[str, str]) -> None:
    issue(client, registration())
    other = client.get(f"{API}/credentials", headers={"Authorization": f"Bearer {keys[NS]}"})
    assert other.status_code == 200
    assert other.json() == {"items": [], "nextCursor": None}


@pytest.mark.parametrize(
    "params",
    [{"limit": 0}, {"limit": 1001}, {"type": "nickname"}, {"state": "gone"}, {"cursor": "x"}],
)
def test_credentials_listing_bad_parameters(client: TestClient, params: dict[str, Any]) -> None:
    response = client.get(f"{API}/credentials", params=params)
    assert response.status_code == 422
    assert response.json()["field"] in params


# --- revocation and suspension --------------------------------------------------------------------


def test_revoke_suspend_unsuspend_flow(registry: Registry, client: TestClient) -> None:
    cid = issue(client, registration())["credentials"][0]
    counted = ledger_size(registry)
    start = ledger_head(registry)

    response = client.post(f"{API}/credentials/{cid}/suspend", json={"reason": "under review"})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body == {
        "credential": cid,
        "action": "suspend",
        "ledgerIndex": start,
        "state": "current",
        "suspended": True,
    }
    assert failed(verify(registry, document(registry, cid), now=now())) == ["status"]
    again = client.post(f"{API}/credentials/{cid}/suspend", json={"reason": "again"})
    assert again.status_code == 409

    response = client.post(f"{API}/credentials/{cid}/unsuspend", json={"reason": "cleared"})
    assert response.status_code == 200
    assert response.json()["suspended"] is False
    assert failed(verify(registry, document(registry, cid), now=now())) == []

    start = ledger_head(registry)
    response = client.post(f"{API}/credentials/{cid}/revoke", json={"reason": "issued in error"})
    assert response.status_code == 200
    assert response.json()["state"] == "revoked"
    assert response.json()["ledgerIndex"] == start
    assert failed(verify(registry, document(registry, cid), now=now())) == ["status"]

    size = ledger_size(registry)
    for action in ("revoke", "suspend", "unsuspend"):
        response = client.post(f"{API}/credentials/{cid}/{action}", json={"reason": "again"})
        assert response.status_code == 409
        assert response.json()["type"].endswith("/conflict")
    assert ledger_size(registry) == size

    entries = ledger_entries(registry, counted)
    assert [e.kind for e in entries] == [
        "credential.suspended",
        "credential.unsuspended",
        "credential.revoked",
    ]
    assert entries[2].payload["reason"] == "issued in error"
    detail = client.get(f"{API}/credentials/{cid}").json()
    assert [e["kind"] for e in detail["history"]] == [
        "issued",
        "suspended",
        "unsuspended",
        "revoked",
    ]
    assert detail["history"][-1]["reason"] == "issued in error"


@pytest.mark.parametrize(
    "body",
    [{}, {"reason": ""}, {"reason": "   "}, {"reason": "x" * 1001}, {"reason": 5}],
    ids=["missing", "empty", "blank", "too-long", "not-a-string"],
)
def test_status_change_needs_a_reason(
    registry: Registry, client: TestClient, body: dict[str, Any]
) -> None:
    cid = issue(client, registration())["credentials"][0]
    before = ledger_size(registry)
    response = client.post(f"{API}/credentials/{cid}/revoke", json=body)
    assert response.status_code == 422
    assert response.json()["field"] == "/reason"
    assert ledger_size(registry) == before


def test_status_change_of_unknown_credential_is_404(registry: Registry, client: TestClient) -> None:
    before = ledger_size(registry)
    response = client.post(
        f"{API}/credentials/urn:uuid:00000000-0000-0000-0000-000000000000/revoke",
        json={"reason": "x"},
    )
    assert response.status_code == 404
    assert client.get(f"{API}/credentials/urn:uuid:nope").status_code == 404
    assert ledger_size(registry) == before


# --- signing keys ---------------------------------------------------------------------------------


def test_key_rotation(registry: Registry, client: TestClient) -> None:
    did = "did:web:registry.test:issuers:bc-registries"
    old = issue(client, registration())["credentials"]
    history = client.get(f"{API}/keys").json()
    assert history["did"] == did
    assert [(k["keyId"], k["active"]) for k in history["keys"]] == [(f"{did}#key-1", True)]
    assert history["keys"][0]["publicKeyMultibase"].startswith("z6Mk")

    before = ledger_head(registry)
    response = client.post(f"{API}/keys/rotate")
    assert response.status_code == 200, response.text
    rotated = response.json()
    assert rotated == {
        "keyId": f"{did}#key-2",
        "retired": [f"{did}#key-1"],
        "ledgerIndex": before,
    }
    with registry.engine.connect() as conn:
        entries = [s.entry for s in registry.ledger.entries(conn, before, before + 2)]
    assert [(e.kind, e.payload["keyId"]) for e in entries] == [
        ("issuer.key.added", f"{did}#key-2"),
        ("issuer.key.retired", f"{did}#key-1"),
    ]

    keys_after = client.get(f"{API}/keys").json()["keys"]
    assert [(k["keyId"], k["active"]) for k in keys_after] == [
        (f"{did}#key-1", False),
        (f"{did}#key-2", True),
    ]
    assert keys_after[0]["retiredIndex"] == before + 1
    assert keys_after[0]["addedIndex"] < keys_after[1]["addedIndex"] == before

    new = issue(client, rec("name_change", "ev-2", date="2023-01-01", name="New Ltd."))
    (new_id,) = new["credentials"]
    new_doc = document(registry, new_id)
    assert new_doc["proof"]["verificationMethod"] == f"{did}#key-2"
    assert failed(verify(registry, new_doc, now=now())) == []
    for cid in old:
        doc = document(registry, cid)
        assert doc["proof"]["verificationMethod"] == f"{did}#key-1"
        expected = ["status"] if doc["type"][1] == "LegalNameCredential" else []
        assert failed(verify(registry, doc, now=now())) == expected  # superseded name


# --- API keys ---------------------------------------------------------------------------------


def test_api_keys_create_list_revoke(registry: Registry, client: TestClient) -> None:
    before = ledger_size(registry)
    response = client.post(f"{API}/api-keys", json={"label": "nightly feed"})
    assert response.status_code == 201
    created = response.json()
    assert created["label"] == "nightly feed"
    assert created["apiKey"].startswith(f"obk_{created['id']}_")
    assert created["revokedAt"] is None

    new_key = {"Authorization": f"Bearer {created['apiKey']}"}
    assert client.get(f"{API}/me", headers=new_key).json()["apiKeyId"] == created["id"]

    listed = client.get(f"{API}/api-keys").json()["items"]
    assert created["id"] in [k["id"] for k in listed]
    assert all("apiKey" not in k for k in listed)

    response = client.delete(f"{API}/api-keys/{created['id']}")
    assert response.status_code == 200
    assert response.json()["id"] == created["id"]
    assert response.json()["revokedAt"] is not None
    assert client.get(f"{API}/me", headers=new_key).status_code == 401
    assert client.get(f"{API}/me").status_code == 200  # the other key still works
    again = client.delete(f"{API}/api-keys/{created['id']}")
    assert again.status_code == 409  # the first revocation time is kept
    listed = {k["id"]: k for k in client.get(f"{API}/api-keys").json()["items"]}
    assert listed[created["id"]]["revokedAt"] == response.json()["revokedAt"]

    assert client.post(f"{API}/api-keys").status_code == 201  # no body: no label
    assert client.delete(f"{API}/api-keys/nosuchkey000").status_code == 404
    assert ledger_size(registry) == before  # API keys are not public: nothing on the ledger


# --- OpenAPI ----------------------------------------------------------------------------------


def test_openapi_documents_the_issuer_api(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    paths = {p: ops for p, ops in spec["paths"].items() if p.startswith(API + "/")}
    assert set(paths) == {
        f"{API}/me",
        f"{API}/records",
        f"{API}/records/batch",
        f"{API}/credentials",
        f"{API}/credentials/{{credential_id}}",
        f"{API}/credentials/{{credential_id}}/revoke",
        f"{API}/credentials/{{credential_id}}/suspend",
        f"{API}/credentials/{{credential_id}}/unsuspend",
        f"{API}/keys",
        f"{API}/keys/rotate",
        f"{API}/api-keys",
        f"{API}/api-keys/{{api_key_id}}",
        f"{API}/bindings",
        f"{API}/bindings/challenges",
        f"{API}/bindings/{{organisation}}/end",
        f"{API}/oid4vci/offers",
    }
    for ops in paths.values():
        for op in ops.values():
            assert op["tags"] == ["issuer"]
            assert op["summary"]
            assert op["description"]
            assert op["security"] == [{"IssuerApiKey": []}]
    record_op = paths[f"{API}/records"]["post"]
    assert {"201", "200", "403", "409", "422"} <= set(record_op["responses"])
    assert "registration" in record_op["requestBody"]["content"]["application/json"]["examples"]
    assert spec["components"]["securitySchemes"]["IssuerApiKey"]["scheme"] == "bearer"
