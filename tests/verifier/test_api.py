"""The public verifier API against a real registry: search, profiles, credentials, bundles,
verify (valid, tampered, junk), issuers, DID documents, status lists, schemas, OpenAPI."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select

from orgbook.app import create_app
from orgbook.projections.tables import credentials, relationships
from orgbook.runtime.registry import Registry
from orgbook.storage.engine import reading
from orgbook.verifier import api, ledger_api
from tests.factories import build_registry

PROBLEM = "application/problem+json"


@pytest.fixture(scope="module")
def registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Registry]:
    reg = build_registry(tmp_path_factory.mktemp("api"), 30)
    yield reg
    reg.close()


@pytest.fixture(scope="module")
def client(registry: Registry) -> Iterator[TestClient]:
    settings = dataclasses.replace(
        registry.settings, rate_limit_per_minute=0, verify_rate_limit_per_minute=0
    )
    with TestClient(create_app(settings, registry=registry)) as test_client:
        yield test_client


def one(registry: Registry, query: Any) -> Any:
    with reading(registry.engine) as conn:
        return conn.execute(query).first()


def current_id(registry: Registry) -> str:
    row = one(registry, select(credentials.c.id).where(credentials.c.state == "current"))
    return str(row.id)


def outcomes(body: dict[str, Any]) -> dict[str, str]:
    return {c["name"]: c["outcome"] for c in body["checks"]}


# --- organisations ------------------------------------------------------------------------------


def test_search(client: TestClient, registry: Registry) -> None:
    response = client.get("/api/v1/organisations", params={"q": "ltd", "limit": 3})
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"hits", "total", "totalIsEstimate", "nextCursor", "facets"}
    assert len(body["hits"]) <= 3
    assert {"orgId", "name", "matchedName", "match"} <= set(body["hits"][0])
    assert response.headers["cache-control"].startswith("public, max-age=")
    assert client.get("/api/v1/organisations", params={"limit": 0}).status_code == 422
    bad = client.get("/api/v1/organisations", params={"cursor": "garbage"})
    assert bad.status_code == 400
    assert bad.headers["content-type"] == PROBLEM


def test_autocomplete(client: TestClient) -> None:
    response = client.get("/api/v1/organisations/autocomplete", params={"q": "b"})
    assert response.status_code == 200
    assert isinstance(response.json()["suggestions"], list)
    assert client.get("/api/v1/organisations/autocomplete").status_code == 422


def test_profile_and_not_found(client: TestClient, registry: Registry) -> None:
    row = one(registry, select(relationships))
    response = client.get(f"/api/v1/organisations/{row.organisation_id}")
    assert response.status_code == 200
    body = response.json()
    assert body["id"] == row.organisation_id
    assert {"names", "addresses", "relationships", "credentials"} <= set(body)
    assert body["relationships"][0]["direction"] in ("outgoing", "incoming")
    assert body["credentials"][0]["history"][0]["kind"] == "issued"
    etag = response.headers["etag"]
    again = client.get(
        f"/api/v1/organisations/{row.organisation_id}", headers={"If-None-Match": etag}
    )
    assert again.status_code == 304
    missing = client.get("/api/v1/organisations/CA-BC:NOPE")
    assert missing.status_code == 404
    assert missing.headers["content-type"] == PROBLEM
    assert missing.json()["type"].endswith("/not-found")


# --- credentials and bundles --------------------------------------------------------------------


def test_credential_is_immutable(client: TestClient, registry: Registry) -> None:
    cid = current_id(registry)
    response = client.get(f"/api/v1/credentials/{cid}")
    assert response.status_code == 200
    assert response.json()["id"] == cid
    assert "immutable" in response.headers["cache-control"]
    cached = client.get(
        f"/api/v1/credentials/{cid}", headers={"If-None-Match": response.headers["etag"]}
    )
    assert cached.status_code == 304
    assert client.get("/api/v1/credentials/urn:uuid:nope").status_code == 404


def test_bundle_latest_and_pinned(client: TestClient, registry: Registry) -> None:
    cid = current_id(registry)
    latest = client.get(f"/api/v1/credentials/{cid}/bundle")
    assert latest.status_code == 200
    assert "immutable" not in latest.headers["cache-control"]
    body = latest.json()
    assert body["type"] == "OrgBookBundle"
    size = int(body["proof"].split("\n\n", 1)[1].split("\n")[1])
    pinned = client.get(f"/api/v1/credentials/{cid}/bundle", params={"tree_size": size})
    assert pinned.json() == body
    # Even pinned to a tree size a bundle may still gain witness cosignatures: short max-age.
    assert "immutable" not in pinned.headers["cache-control"]
    assert "max-age=" in pinned.headers["cache-control"]
    assert (
        client.get(f"/api/v1/credentials/{cid}/bundle", params={"tree_size": 1}).status_code == 404
    )


# --- verify -------------------------------------------------------------------------------------


def test_verify_a_bundle(client: TestClient, registry: Registry) -> None:
    bundle = client.get(f"/api/v1/credentials/{current_id(registry)}/bundle").json()
    response = client.post("/api/v1/verify", json=bundle)
    assert response.status_code == 200
    body = response.json()
    assert body["valid"], body
    assert body["kind"] == "bundle"
    assert outcomes(body) == {
        "schema": "pass",
        "signature": "pass",
        "issuer_key": "pass",
        "issuer_trusted": "pass",
        "key_valid_at_issuance": "pass",
        "validity_period": "pass",
        "status": "pass",
        "status_logged": "pass",
        "ledger_inclusion": "pass",
        "checkpoint": "pass",
        "consistency": "pass",
        "witnesses": "skip",
    }


def test_verify_a_plain_credential_issued_here(client: TestClient, registry: Registry) -> None:
    cid = current_id(registry)
    credential = client.get(f"/api/v1/credentials/{cid}").json()
    body = client.post("/api/v1/verify", json=credential).json()
    assert body["valid"], body
    assert body["kind"] == "credential"
    assert outcomes(body)["ledger_inclusion"] == "pass"
    assert outcomes(body)["status"] == "pass"


def test_verify_a_superseded_credential(client: TestClient, registry: Registry) -> None:
    row = one(registry, select(credentials.c.id).where(credentials.c.state == "superseded"))
    credential = client.get(f"/api/v1/credentials/{row.id}").json()
    body = client.post("/api/v1/verify", json=credential).json()
    assert not body["valid"]
    failed = [c for c in body["checks"] if c["outcome"] == "fail"]
    assert [c["name"] for c in failed] == ["status"]
    assert "revocation" in failed[0]["reason"]


def test_verify_a_tampered_credential(client: TestClient, registry: Registry) -> None:
    credential = client.get(f"/api/v1/credentials/{current_id(registry)}").json()
    credential["validFrom"] = "1900-01-01T00:00:00Z"
    body = client.post("/api/v1/verify", json=credential).json()
    assert not body["valid"]
    failed = {c["name"] for c in body["checks"] if c["outcome"] == "fail"}
    assert failed == {"signature", "ledger_inclusion"}
    assert body["differsFromLogged"] == ["validFrom"]
    untouched = client.get(f"/api/v1/credentials/{current_id(registry)}").json()
    assert client.post("/api/v1/verify", json=untouched).json()["differsFromLogged"] == []


def test_verify_a_credential_from_elsewhere(client: TestClient) -> None:
    from orgbook.core.credentials import CredentialType, build_credential, sign_credential
    from orgbook.core.crypto import Ed25519Signer
    from orgbook.core.did import did_key_from_public_key

    signer = Ed25519Signer.from_seed(b"\x09" * 32)
    did = did_key_from_public_key(signer.public_key)
    unsigned = build_credential(
        credential_type=CredentialType.LEGAL_NAME,
        issuer=did,
        subject={"legalName": "Elsewhere Ltd.", "effectiveDate": "2020-01-01"},
        subject_jurisdiction="CA-ON",
        subject_number="1",
        credential_id="urn:uuid:00000000-0000-5000-8000-00000000000e",
        valid_from="2020-01-01T00:00:00Z",
    )
    credential = sign_credential(
        unsigned,
        signer,
        verification_method=f"{did}#{did.removeprefix('did:key:')}",
        created="2024-01-01T00:00:00Z",
    )
    body = client.post("/api/v1/verify", json=credential).json()
    checks = outcomes(body)
    assert checks["signature"] == "pass"
    assert checks["issuer_trusted"] == "fail"  # not an issuer registered here
    assert "ledger_inclusion" not in checks


@pytest.mark.parametrize(
    ("content", "status"),
    [
        (b"", 400),
        (b"not json", 400),
        (b"[1, 2]", 400),
        (b'"a string"', 400),
        (b"{}", 400),
        (b'{"a": 1, "a": 2}', 400),
        (b'{"n": 1e999}', 400),
        (b'{"n": ' + b"9" * 5000 + b"}", 400),
        (b"[" * 10_000 + b"]" * 10_000, 400),
        (b'{"x":' * 200 + b"1" + b"}" * 200, 400),
        (b'{"type": "OrgBookBundle", "version": "1", "credential": {}}', 400),
        (b'{"type": "OrgBookBundle", "version": 1, "credential": []}', 400),
        (b'{"type": "OrgBookBundle", "version": 1, "credential": {}, "entry": 5}', 400),
        (
            b'{"type": "OrgBookBundle", "version": 1, "credential": {}, "entry": {}, "proof": 1}',
            400,
        ),
        (b"\xff\xfe", 400),
        (b"x" * (2 * 1024 * 1024), 413),
    ],
)
def test_verify_refuses_junk_with_problems(client: TestClient, content: bytes, status: int) -> None:
    response = client.post(
        "/api/v1/verify", content=content, headers={"Content-Type": "application/json"}
    )
    assert response.status_code == status
    assert response.headers["content-type"] == PROBLEM
    assert "request_id" in response.json()


@pytest.mark.parametrize(
    "value",
    [
        {"@context": 5},
        {"@context": [], "type": 7, "proof": "x", "credentialStatus": [{}] * 20},
        {"type": ["VerifiableCredential"], "issuer": {"id": ["x"]}, "proof": [None, 1, {}]},
        {"@context": ["https://www.w3.org/ns/credentials/v2"], "id": "urn:uuid:" + "x" * 500},
    ],
)
def test_verify_answers_broken_credentials_with_a_report(client: TestClient, value: Any) -> None:
    response = client.post(
        "/api/v1/verify", content=json.dumps(value), headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 200
    assert response.json()["valid"] is False


# --- issuers, status lists, schemas -------------------------------------------------------------


def test_issuers_and_did_documents(client: TestClient) -> None:
    issuers = client.get("/api/v1/issuers").json()["issuers"]
    assert {i["id"] for i in issuers} == {"bc-registries", "ns-rjsc", "corporations-canada"}
    for path in ("/issuers/bc-registries/did.json", "/api/v1/issuers/bc-registries/did.json"):
        response = client.get(path)
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("application/did+json")
        assert response.json()["id"] == issuers[0]["did"] or response.json()["id"].endswith(
            "bc-registries"
        )
    assert client.get("/issuers/nobody/did.json").status_code == 404


def test_status_lists(client: TestClient) -> None:
    response = client.get("/issuers/bc-registries/status/revocation/0")
    assert response.status_code == 200
    assert response.json()["credentialSubject"]["statusPurpose"] == "revocation"
    assert response.headers["cache-control"] == "public, max-age=60"
    assert client.get("/issuers/bc-registries/status/other/0").status_code == 422
    assert client.get("/issuers/bc-registries/status/revocation/99").status_code == 404


def test_schemas(client: TestClient) -> None:
    for path in (
        "/schemas/credentials/registration/1.0.json",
        "/schemas/records/registration/1.0.json",
    ):
        response = client.get(path)
        assert response.status_code == 200
        assert response.json()["$id"].endswith(path.removeprefix("/schemas"))
        assert "immutable" in response.headers["cache-control"]
    assert client.get("/schemas/credentials/nope/1.0.json").status_code == 404
    assert client.get("/schemas/other/registration/1.0.json").status_code == 422


def test_every_route_is_documented(registry: Registry) -> None:
    app = FastAPI()
    app.include_router(api.router(registry.settings))
    app.include_router(ledger_api.router(registry.settings))
    schema = app.openapi()
    for path, methods in schema["paths"].items():
        for method, operation in methods.items():
            assert operation.get("summary"), f"{method} {path}"
            assert operation.get("tags"), f"{method} {path}"
    verify = schema["paths"]["/api/v1/verify"]["post"]
    assert set(verify["requestBody"]["content"]["application/json"]["examples"]) == {
        "credential",
        "bundle",
    }
