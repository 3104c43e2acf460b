"""VC-API ``POST /credentials/issue`` for authorised issuers: both backends."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from orgbook.core.credentials import SUBJECT_PREFIX
from orgbook.issuer.keys import create_api_key
from orgbook.storage.engine import reading
from tests import vcapi_spec
from tests.authorisations.scenario import FEDERAL, LICENCE, VENDOR, Scenario, build, client

# the response component is copied; the credential schemas it refers to are not (SOURCES.md)
RESPONSE = vcapi_spec.load("components/VerifiableCredentialResponse.yml")["components"]["schemas"][
    "VerifiableCredentialResponse"
]


@pytest.fixture
def scenario(db_url: str, tmp_path: Path) -> Iterator[Scenario]:
    built = build(tmp_path, url=db_url)
    yield built
    built.registry.close()


@pytest.fixture
def http(scenario: Scenario) -> Iterator[TestClient]:
    with client(scenario) as c:
        yield c


def _size(s: Scenario) -> int:
    with reading(s.registry.engine) as conn:
        return s.registry.ledger.size(conn)


def _key(s: Scenario, slug: str = "service-agency") -> dict[str, str]:
    with s.registry.engine.begin() as conn:
        return {"Authorization": f"Bearer {create_api_key(conn, slug).key}"}


def _request(s: Scenario, vc_type: str = VENDOR, **claims: Any) -> dict[str, Any]:
    subject = SUBJECT_PREFIX + s.bc_org
    return {
        "credential": {
            "@context": ["https://www.w3.org/ns/credentials/v2"],
            "type": ["VerifiableCredential", vc_type],
            "credentialSubject": {"id": subject, **(claims or {"vendorNumber": "V-20"})},
            "onBehalfOf": FEDERAL,
        },
        "options": {},
    }


def _resolvable(schema: Any) -> Any:
    """The published response schema without the credential schemas that are not copied."""
    found = {k: v for k, v in schema.items() if k != "properties"}
    found["properties"] = {"verifiableCredential": {"type": "object"}}
    found["required"] = ["verifiableCredential"]
    return found


def test_issues_a_credential_that_verifies(http: TestClient, scenario: Scenario) -> None:
    answer = http.post("/credentials/issue", json=_request(scenario), headers=_key(scenario))
    assert answer.status_code == 201, answer.text
    body = answer.json()
    # the issuer part of the VC-API OpenAPI is not copied (tests/vectors/vc-api/SOURCES.md);
    # the response component is, its credential schemas are not
    assert "verifiableCredential" in RESPONSE["properties"]
    vcapi_spec.check(body, _resolvable(RESPONSE))
    credential = body["verifiableCredential"]
    assert VENDOR in credential["type"]
    assert credential["credentialSubject"]["vendorNumber"] == "V-20"
    assert credential["proof"]["cryptosuite"] == "eddsa-jcs-2022"
    report = http.post("/api/v1/verify", json=credential).json()
    assert report["valid"], report
    verified = http.post("/credentials/verify", json={"verifiableCredential": credential})
    assert verified.status_code == 200, verified.text


def test_the_same_request_answers_the_same_credential(http: TestClient, scenario: Scenario) -> None:
    headers = _key(scenario)
    first = http.post("/credentials/issue", json=_request(scenario), headers=headers)
    assert first.status_code == 201, first.text
    size = _size(scenario)
    again = http.post("/credentials/issue", json=_request(scenario), headers=headers)
    assert again.status_code == 201
    assert again.json() == first.json()
    assert _size(scenario) == size
    # with an explicit credentialId: idempotent on it; reused with other claims, 409
    named = {**_request(scenario), "options": {"credentialId": "vendor-vcapi-1"}}
    one = http.post("/credentials/issue", json=named, headers=headers)
    assert one.status_code == 201, one.text
    assert http.post("/credentials/issue", json=named, headers=headers).json() == one.json()
    other = {**_request(scenario, vendorNumber="V-99"), "options": named["options"]}
    assert http.post("/credentials/issue", json=other, headers=headers).status_code == 409


def test_without_a_key_is_401(http: TestClient, scenario: Scenario) -> None:
    before = _size(scenario)
    answer = http.post("/credentials/issue", json=_request(scenario))
    assert answer.status_code == 401
    assert answer.headers["WWW-Authenticate"].startswith("Bearer")
    wrong = {"Authorization": "Bearer obk_nope_nope"}
    assert (
        http.post("/credentials/issue", json=_request(scenario), headers=wrong).status_code == 401
    )
    assert _size(scenario) == before


def test_an_unauthorised_type_is_403_and_nothing_is_logged(
    http: TestClient, scenario: Scenario
) -> None:
    before = _size(scenario)
    body = _request(scenario, LICENCE, licenceNumber="BL-9")
    answer = http.post("/credentials/issue", json=body, headers=_key(scenario))
    assert answer.status_code == 403
    assert "not authorised" in answer.json()["detail"]
    other = {**body, "credential": {**body["credential"], "issuer": "did:web:elsewhere"}}
    assert http.post("/credentials/issue", json=other, headers=_key(scenario)).status_code == 403
    assert _size(scenario) == before


def test_claims_against_the_schema_are_422_with_pointers(
    http: TestClient, scenario: Scenario
) -> None:
    before = _size(scenario)
    body = _request(scenario, vendorNumber=7, extra=1)  # type: ignore[arg-type]
    answer = http.post("/credentials/issue", json=body, headers=_key(scenario))
    assert answer.status_code == 422, answer.text
    paths = {e["path"] for e in answer.json()["errors"]}
    assert "/credential/credentialSubject/vendorNumber" in paths
    assert _size(scenario) == before


def test_an_unknown_organisation_is_404(http: TestClient, scenario: Scenario) -> None:
    body = _request(scenario)
    body["credential"]["credentialSubject"]["id"] = "CA-BC:NOSUCH0000"
    answer = http.post("/credentials/issue", json=body, headers=_key(scenario))
    assert answer.status_code == 404
