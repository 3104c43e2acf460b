"""The VC-API verifier routes (issue 19 item 3), both backends: ``POST /credentials/verify``,
``POST /presentations/verify`` and ``POST /challenges``, every request and answer checked
against the specification's published OpenAPI (tests/vectors/vc-api/, SOURCES.md there).

A challenge from ``POST /challenges`` is single use (a replayed presentation fails its
``challenge`` check) and expires; a credential that does not verify answers 400 with the same
result shape; orgbook's per-check report comes only when asked for.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from orgbook.app import create_app
from orgbook.core.crypto import Ed25519Signer
from orgbook.runtime.registry import Registry
from orgbook.verifier.vcapi_store import create_challenge
from tests.http import TestClient
from tests.issuer.test_binding import API, ORG, challenge, open_binding_registry, proof
from tests.vcapi_spec import check, response_schema, schema
from tests.verifier.test_presentation import DOMAIN, bundles, present

SPEC = "verifier.yml"
CREDENTIAL_OPTIONS = schema(
    "components/VerifyCredentialOptions.yml", "/components/schemas/VerifyCredentialOptions"
)
PRESENTATION_OPTIONS = schema(
    "components/VerifyPresentationOptions.yml", "/components/schemas/VerifyPresentationOptions"
)


@pytest.fixture
def setup(tmp_path: Path, db_url: str) -> Iterator[tuple[Registry, TestClient, Ed25519Signer]]:
    registry, key = open_binding_registry(tmp_path, db_url)
    with TestClient(create_app(registry.settings, registry=registry)) as client:
        signer = Ed25519Signer.generate()
        client.headers["Authorization"] = f"Bearer {key}"
        response = client.post(
            API, json={"organisation": ORG, "proof": proof(signer, challenge(client))}
        )
        assert response.status_code == 201, response.text
        del client.headers["Authorization"]  # the VC-API verifier routes are public
        yield registry, client, signer
    registry.close()


def verify_credential(client: TestClient, body: dict[str, Any], **params: str) -> Any:
    if "options" in body:
        check(body["options"], CREDENTIAL_OPTIONS)
    return client.post("/credentials/verify", json=body, params=params)


def verify_presentation(client: TestClient, body: dict[str, Any]) -> Any:
    check(body["options"], PRESENTATION_OPTIONS)
    return client.post("/presentations/verify", json=body)


def test_a_credential_verifies_in_the_specification_shape(
    setup: tuple[Registry, TestClient, Ed25519Signer],
) -> None:
    registry, client, _ = setup
    credential = bundles(registry)[0]["credential"]
    response = verify_credential(client, {"verifiableCredential": credential})
    assert response.status_code == 200, response.text
    body = response.json()
    check(body, response_schema(SPEC, "/credentials/verify", "200"))
    assert body == {"verified": True, "warnings": [], "errors": []}
    # Every option the specification defines
    options = {"returnResults": True, "returnCredential": True, "returnProblemDetails": True}
    body = verify_credential(client, {"verifiableCredential": credential, "options": options})
    verbose = body.json()
    check(verbose, response_schema(SPEC, "/credentials/verify", "200"))
    assert verbose["credential"] == credential
    assert verbose["results"]["proof"][0]["valid"] is True
    assert verbose["results"]["validFrom"]["input"] == credential["validFrom"]
    assert all(s["valid"] for s in verbose["results"]["credentialStatus"])


def test_a_tampered_credential_is_400_with_the_failed_checks_as_problem_details(
    setup: tuple[Registry, TestClient, Ed25519Signer],
) -> None:
    registry, client, _ = setup
    tampered = copy.deepcopy(bundles(registry)[0]["credential"])
    tampered["validFrom"] = "1999-01-01T00:00:00Z"
    response = verify_credential(client, {"verifiableCredential": tampered})
    assert response.status_code == 400
    body = response.json()
    check(body, response_schema(SPEC, "/credentials/verify", "200"))
    assert body["verified"] is False
    signature = next(e for e in body["errors"] if e["title"] == "signature")
    assert signature["type"] == "https://w3id.org/security#PROOF_VERIFICATION_ERROR"
    assert signature["detail"]
    # orgbook's own report, when asked for
    full = verify_credential(client, {"verifiableCredential": tampered}, report="orgbook").json()
    assert full["orgbookReport"]["valid"] is False
    assert "ledger_inclusion" in {c["name"] for c in full["orgbookReport"]["checks"]}


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"verifiableCredential": "not an object"},
        {"verifiableCredential": {}, "options": {"unknownOption": True}},
        {"verifiableCredential": {}, "options": {"returnResults": "yes"}},
        {"verifiableCredential": {}, "extra": 1},
    ],
    ids=["empty", "not-object", "unknown-option", "option-type", "extra-member"],
)
def test_a_request_not_in_the_specification_shape_is_a_problem(
    setup: tuple[Registry, TestClient, Ed25519Signer], body: dict[str, Any]
) -> None:
    _, client, _ = setup
    response = client.post("/credentials/verify", json=body)
    assert response.status_code == 400
    assert response.headers["content-type"].startswith("application/problem+json")


def test_challenges_are_single_use_for_presentations(
    setup: tuple[Registry, TestClient, Ed25519Signer],
) -> None:
    registry, client, signer = setup
    made = client.post("/challenges")
    assert made.status_code == 200
    check(made.json(), response_schema(SPEC, "/challenges", "200"))
    nonce = made.json()["challenge"]
    vp = present(signer, bundles(registry), challenge=nonce)
    body = {"verifiablePresentation": vp, "options": {"challenge": nonce, "domain": DOMAIN}}
    first = verify_presentation(client, body)
    assert first.status_code == 200, first.text
    result = first.json()
    check(result, response_schema(SPEC, "/presentations/verify", "200"))
    assert result["errors"] == []
    assert result["warnings"] == []
    assert {"holder_signature", "challenge", "domain", "holder_anchor"} <= set(result["checks"])
    assert any(name.startswith("item 1: ") for name in result["checks"])
    # The same presentation again: its challenge was used
    again = verify_presentation(client, body)
    assert again.status_code == 400
    replayed = again.json()
    check(replayed, response_schema(SPEC, "/presentations/verify", "200"))
    assert any(e.startswith("challenge: ") and "already used" in e for e in replayed["errors"])


def test_an_expired_challenge_and_another_domain_are_refused(
    setup: tuple[Registry, TestClient, Ed25519Signer],
) -> None:
    registry, client, signer = setup
    old, _ = create_challenge(registry.engine, now=datetime.now(UTC) - timedelta(minutes=11))
    vp = present(signer, bundles(registry), challenge=old)
    expired = verify_presentation(
        client, {"verifiablePresentation": vp, "options": {"challenge": old, "domain": DOMAIN}}
    )
    assert expired.status_code == 400
    assert any("expired" in e for e in expired.json()["errors"])
    nonce = client.post("/challenges").json()["challenge"]
    vp = present(signer, bundles(registry), challenge=nonce)
    body = {
        "verifiablePresentation": vp,
        "options": {"challenge": nonce, "domain": "evil.example", "returnPresentation": True},
    }
    retargeted = verify_presentation(client, body)
    assert retargeted.status_code == 400
    result = retargeted.json()
    check(result, response_schema(SPEC, "/presentations/verify", "200"))
    assert any(e.startswith("domain: ") for e in result["errors"])
    assert result["presentation"] == vp


def test_the_callers_own_challenge_is_accepted_with_a_warning(
    setup: tuple[Registry, TestClient, Ed25519Signer],
) -> None:
    registry, client, signer = setup
    vp = present(signer, bundles(registry), challenge="my-own-nonce")
    body = {
        "verifiablePresentation": vp,
        "options": {"challenge": "my-own-nonce", "domain": DOMAIN},
    }
    response = client.post("/presentations/verify", json=body, params={"report": "orgbook"})
    assert response.status_code == 200, response.text
    result = response.json()
    assert result["warnings"]
    assert "POST /challenges" in result["warnings"][0]
    assert result["orgbookReport"]["kind"] == "presentation"


def test_the_routes_are_in_the_openapi_document_as_the_specification_names_them(
    setup: tuple[Registry, TestClient, Ed25519Signer],
) -> None:
    _, client, _ = setup
    paths = client.get("/openapi.json").json()["paths"]
    for path in ("/credentials/verify", "/presentations/verify", "/challenges"):
        assert "post" in paths[path], path
        assert "200" in paths[path]["post"]["responses"]
