"""TRQP v2.0 over HTTP: authorised, not authorised, unknown, as of a past time, with evidence
an outside verifier checks by inclusion proof; malformed input is a problem, never a 500."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from orgbook.verification.bundle_checks import verify_bundle
from orgbook.verifier.trqp import registry_did
from tests.authorisations.scenario import (
    AGENCY,
    FEDERAL,
    LICENCE,
    LICENSING,
    NOW,
    VENDOR,
    Scenario,
)
from tests.factories import PUBLIC_URL

PROBLEM = "application/problem+json"
REGISTRY = registry_did(PUBLIC_URL)


def ask(http: TestClient, path: str, **body: Any) -> Any:
    query = {"authority_id": REGISTRY, "action": "issue", **body}
    return http.post(path, json=query)


def test_authorised_now_and_as_of_a_past_time(http: TestClient, scenario: Scenario) -> None:
    answer = ask(http, "/authorization", entity_id=AGENCY, resource=VENDOR).json()
    assert answer["authorized"] is True
    assert answer["time_requested"] is None
    assert f"on behalf of {FEDERAL}" in answer["message"]
    assert answer["evidence"]["ledgerIndex"] == scenario.vendor_auth.index

    past = {"time": "2026-02-01T00:00:00Z", "jurisdiction": "CA-BC"}
    answer = ask(http, "/authorization", entity_id=LICENSING, resource=LICENCE, context=past)
    assert answer.status_code == 200
    body = answer.json()
    assert body["authorized"] is True
    assert body["time_requested"] == body["time_evaluated"] == "2026-02-01T00:00:00Z"
    assert body["context"] == past
    assert body["message"].endswith(f"authorised by ledger entry {scenario.licence_auth.index}")


def test_not_authorised_after_the_withdrawal(http: TestClient, scenario: Scenario) -> None:
    later = {"time": "2026-03-15T00:00:00Z"}
    body = ask(http, "/authorization", entity_id=LICENSING, resource=LICENCE, context=later).json()
    assert body["authorized"] is False
    assert f"withdrawn at ledger entry {scenario.withdrawn_index}" in body["message"]
    assert body["evidence"]["withdrawals"][0]["entry"]["index"] == scenario.withdrawn_index
    before = {"time": "2025-12-01T00:00:00Z"}
    body = ask(http, "/authorization", entity_id=LICENSING, resource=LICENCE, context=before).json()
    assert body["authorized"] is False
    assert "no authorisation" in body["message"]


def test_not_authorised_for_another_type_or_jurisdiction(http: TestClient) -> None:
    body = ask(http, "/authorization", entity_id=AGENCY, resource="PermitCredential").json()
    assert body["authorized"] is False
    context = {"jurisdiction": "CA-ON"}
    body = ask(http, "/authorization", entity_id=AGENCY, resource=VENDOR, context=context).json()
    assert body["authorized"] is False
    assert "covers CA-BC, CA-AB, not CA-ON" in body["message"]
    body = ask(http, "/authorization", entity_id=AGENCY, resource=VENDOR, action="revoke").json()
    assert body["authorized"] is False


def test_unknown_entity_and_authority_are_404(http: TestClient) -> None:
    answer = ask(http, "/authorization", entity_id="did:web:nowhere.example", resource=LICENCE)
    assert answer.status_code == 404
    assert answer.headers["content-type"] == PROBLEM
    assert "unknown entity" in answer.json()["detail"]
    answer = http.post(
        "/authorization",
        json={"entity_id": AGENCY, "authority_id": "did:web:other.example", "resource": VENDOR},
    )
    assert answer.status_code == 404
    assert "is not this trust registry" in answer.json()["detail"]


@pytest.mark.parametrize(
    "body",
    [
        {"entity_id": AGENCY},
        {"entity_id": 7, "authority_id": REGISTRY},
        {"entity_id": AGENCY, "authority_id": REGISTRY, "context": {"time": "yesterday"}},
        {"entity_id": AGENCY, "authority_id": REGISTRY, "context": "now"},
        [],
    ],
)
def test_malformed_input_is_a_problem(http: TestClient, body: Any) -> None:
    for path in ("/authorization", "/recognition"):
        answer = http.post(path, json=body)
        assert answer.status_code in (400, 422), answer.text
        assert answer.headers["content-type"] == PROBLEM
    answer = http.post(
        "/authorization", content=b"{not json", headers={"content-type": "application/json"}
    )
    assert answer.status_code in (400, 422)


def test_recognition(http: TestClient, scenario: Scenario) -> None:
    body = ask(http, "/recognition", entity_id=FEDERAL).json()
    assert body["recognized"] is True
    assert body["evidence"]["registration"]["entry"]["kind"] == "issuer.registered"
    past = {"time": "2025-01-01T00:00:00Z"}
    body = ask(http, "/recognition", entity_id=FEDERAL, context=past).json()
    assert body["recognized"] is False


def test_the_evidence_verifies_offline(http: TestClient, scenario: Scenario) -> None:
    """The answer's entries are what a bundle carries: a verifier checks the authorisation by
    inclusion proof and the governance key, without trusting the server."""
    evidence = ask(http, "/authorization", entity_id=AGENCY, resource=VENDOR).json()["evidence"]
    bundle = scenario.bundle(scenario.vendor.credential["id"])
    bundle["authorisation"] = evidence["authorisation"]
    bundle["governance"] = evidence["governance"]
    report = verify_bundle(bundle, ledger_keys=scenario.registry.ledger.verifiers, now=NOW)
    assert report.valid, [c.to_dict() for c in report.failures]
    assert evidence["checkpoint"] in evidence["authorisation"]["proof"]
