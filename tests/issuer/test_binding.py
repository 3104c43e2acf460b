"""Binding a business's DID (issue 19 item 1), end to end through the issuer API, both backends.

A challenge is handed out, the business signs it with its DID key, the registry issues a UNTP
Digital Identity Anchor on the ledger; a wrong key, an expired or reused challenge, another
domain are refused with a problem+json and nothing is logged; a new DID supersedes the old
anchor; ending the binding revokes it; the profile shows the bound DID.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from orgbook.app import create_app
from orgbook.core.anchor import ANCHOR_CONTEXT, ANCHOR_SLUG, ANCHOR_TYPE
from orgbook.core.crypto import Ed25519Signer
from orgbook.core.did import LocalResolver, build_did_document, did_key_from_public_key
from orgbook.core.presentation import make_presentation
from orgbook.demo import issuer_did
from orgbook.issuer.keys import create_api_key, create_issuer
from orgbook.projections.audit import audit_projections
from orgbook.runtime.registry import Registry
from tests.factories import ALL_TYPES, PASSPHRASE, issue, new_registry
from tests.http import TestClient

API = "/api/v1/issuer/bindings"
ORG = "CA-BC:BC1234567"
PROBLEM = "application/problem+json"


def registration(number: str = "BC1234567", event: str = "reg-1") -> dict[str, Any]:
    return {
        "event_id": event,
        "kind": "registration",
        "jurisdiction": "CA-BC",
        "registration_number": number,
        "effective_date": "2021-02-03",
        "name": "Boulangerie Lévesque Ltée",
    }


def open_binding_registry(
    tmp_path: Path, db_url: str, *, public_url: str | None = None
) -> tuple[Registry, str]:
    """A registry whose BC issuer may issue anchors, with BC1234567 and BC7654321 registered."""
    if public_url is None:
        registry = new_registry(tmp_path, url=db_url)
    else:
        registry = new_registry(tmp_path, url=db_url, public_url=public_url)
    with registry.engine.begin() as conn:
        create_issuer(
            conn,
            registry.ledger,
            slug="bc-registries",
            did=issuer_did(registry.settings.public_url, "bc-registries"),
            name="BC Registries",
            jurisdiction="CA-BC",
            credential_types=(*ALL_TYPES, ANCHOR_SLUG),
            passphrase=PASSPHRASE,
        )
        key = create_api_key(conn, "bc-registries").key
        registry.ledger.sign_checkpoint(conn)
    outcomes = issue(registry, [registration(), registration("BC7654321", "reg-2")])
    assert all(o.status == "issued" for o in outcomes)
    return registry, key


@pytest.fixture
def setup(tmp_path: Path, db_url: str) -> Iterator[tuple[Registry, TestClient]]:
    registry, key = open_binding_registry(tmp_path, db_url)
    app = create_app(registry.settings, registry=registry)
    with TestClient(app) as client:
        client.headers["Authorization"] = f"Bearer {key}"
        yield registry, client
    registry.close()


def ledger_size(registry: Registry) -> int:
    with registry.engine.connect() as conn:
        return registry.ledger.size(conn)


def challenge(client: TestClient, org: str = ORG) -> dict[str, Any]:
    response = client.post(f"{API}/challenges", json={"organisation": org})
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


def proof(
    signer: Ed25519Signer, asked: dict[str, Any], *, holder: str | None = None, **kw: Any
) -> dict[str, Any]:
    return make_presentation(
        [],
        signer,
        challenge=kw.pop("challenge", asked["challenge"]),
        domain=kw.pop("domain", asked["domain"]),
        created=datetime.now(UTC),
        holder=holder,
        **kw,
    )


def bind(client: TestClient, signed: dict[str, Any], org: str = ORG) -> Any:
    return client.post(API, json={"organisation": org, "proof": signed})


def test_a_signed_challenge_binds_the_did(setup: tuple[Registry, TestClient]) -> None:
    registry, client = setup
    signer = Ed25519Signer.generate()
    did = did_key_from_public_key(signer.public_key)
    asked = challenge(client)
    assert asked["domain"] == "registry.test"
    response = bind(client, proof(signer, asked))
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["did"] == did
    anchor = body["credential"]
    assert anchor["@context"][1] == ANCHOR_CONTEXT
    assert anchor["type"] == ["VerifiableCredential", ANCHOR_TYPE]
    subject = anchor["credentialSubject"]
    assert subject["id"] == did
    assert subject["registeredId"] == "BC1234567"
    assert subject["name"] == "Boulangerie Lévesque Ltée"
    assert subject["type"] == ["RegisteredIdentity"]
    assert subject["idScheme"]["id"].startswith("http://registry.test/api/v1/organisations?")
    assert subject["registrationScopeList"] == [f"http://registry.test/api/v1/organisations/{ORG}"]
    # Logged like any credential, verifiable through the public API with its bundle.
    verified = client.post("/api/v1/verify", json=anchor).json()
    assert verified["valid"], verified
    assert {c["name"] for c in verified["checks"]} >= {"ledger_inclusion", "issuer_trusted"}
    profile = client.get(f"/api/v1/organisations/{ORG}").json()
    assert profile["boundDid"] == did
    # A replay rebuilds the same projections (the anchor is an ordinary credential.issued).
    with registry.engine.connect() as conn:
        report = audit_projections(conn, registry.ledger)
    assert report.ok, report.summary()


def test_wrong_key_expired_and_reused_challenges_are_refused(
    setup: tuple[Registry, TestClient],
) -> None:
    registry, client = setup
    signer, other = Ed25519Signer.generate(), Ed25519Signer.generate()
    size = ledger_size(registry)

    # Signed by another key than the holder DID's.
    asked = challenge(client)
    holder = did_key_from_public_key(signer.public_key)
    response = bind(client, proof(other, asked, holder=holder))
    assert response.status_code == 400
    assert response.headers["content-type"] == PROBLEM
    assert "refused" in response.json()["detail"]
    # The challenge was consumed by that attempt: single use.
    response = bind(client, proof(signer, asked))
    assert response.status_code == 409, response.text
    assert "already used" in response.json()["detail"]

    # Another domain.
    asked = challenge(client)
    response = bind(client, proof(signer, asked, domain="evil.example"))
    assert response.status_code == 400
    assert "domain" in response.json()["detail"]

    # A challenge the registry never gave.
    response = bind(client, proof(signer, {**asked, "challenge": "made-up"}))
    assert response.status_code == 400
    assert "unknown challenge" in response.json()["detail"]

    # An expired challenge.
    asked = challenge(client)
    from orgbook.issuer import binding

    with pytest.raises(Exception, match="expired"):
        binding.bind(
            registry,
            _issuer(registry),
            ORG,
            proof(signer, asked),
            resolver=LocalResolver(),
            now=datetime.now(UTC) + timedelta(minutes=11),
        )
    # Another organisation's challenge.
    asked = challenge(client, "CA-BC:BC7654321")
    response = bind(client, proof(signer, asked))
    assert response.status_code == 400
    assert "BC7654321" in response.json()["detail"]
    assert ledger_size(registry) == size  # nothing logged


def _issuer(registry: Registry) -> Any:
    from orgbook.issuer.keys import get_issuer

    with registry.engine.connect() as conn:
        return get_issuer(conn, "bc-registries")


def test_a_new_did_supersedes_and_ending_revokes(setup: tuple[Registry, TestClient]) -> None:
    _, client = setup
    first, second = Ed25519Signer.generate(), Ed25519Signer.generate()
    one = bind(client, proof(first, challenge(client))).json()
    again = bind(client, proof(first, challenge(client)))
    assert again.status_code == 409
    assert "already bound" in again.json()["detail"]
    two = bind(client, proof(second, challenge(client))).json()
    assert two["superseded"] == one["credentialId"]
    old = client.post("/api/v1/verify", json=one["credential"]).json()
    assert not old["valid"]
    assert next(c for c in old["checks"] if c["name"] == "status")["outcome"] == "fail"
    ended = client.post(f"{API}/{ORG}/end", json={"reason": "the business left the DID"})
    assert ended.status_code == 200, ended.text
    assert ended.json()["credentialId"] == two["credentialId"]
    assert not client.post("/api/v1/verify", json=two["credential"]).json()["valid"]
    assert client.get(f"/api/v1/organisations/{ORG}").json()["boundDid"] is None
    assert client.post(f"{API}/{ORG}/end", json={"reason": "again"}).status_code == 404


def test_did_web_is_resolved_and_scope_is_enforced(setup: tuple[Registry, TestClient]) -> None:
    _, client = setup
    signer = Ed25519Signer.generate()
    did = "did:web:business.example"
    document = build_did_document(did, [("key-1", signer.public_key, True)])
    client.app.state.did_resolver = LocalResolver({did: document})  # type: ignore[attr-defined]
    response = bind(client, proof(signer, challenge(client), holder=did))
    assert response.status_code == 201, response.text
    assert response.json()["credential"]["credentialSubject"]["id"] == did
    response = client.post(f"{API}/challenges", json={"organisation": "CA-NS:3300001"})
    assert response.status_code in (403, 404)
    del client.headers["Authorization"]
    assert client.post(f"{API}/challenges", json={"organisation": ORG}).status_code == 401
