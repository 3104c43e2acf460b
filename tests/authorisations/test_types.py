"""Credential types as data, and issuance of them through the issuer API: both backends."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from orgbook.core.errors import Conflict, InvalidRecord
from orgbook.issuer.credential_types import define_type
from orgbook.issuer.keys import create_api_key
from orgbook.projections.audit import audit_projections
from orgbook.projections.credential_types import all_types, credential_types
from orgbook.projections.replay import replay
from orgbook.projections.tables import credentials
from orgbook.storage.engine import reading
from orgbook.verification.bundle_checks import verify_bundle
from tests.authorisations.scenario import (
    LICENCE,
    T_EARLY,
    Scenario,
    definition,
)
from tests.factories import PASSPHRASE, PUBLIC_URL


def _size(s: Scenario) -> int:
    with reading(s.registry.engine) as conn:
        return s.registry.ledger.size(conn)


def _key(s: Scenario, slug: str) -> dict[str, str]:
    with s.registry.engine.begin() as conn:
        return {"Authorization": f"Bearer {create_api_key(conn, slug).key}"}


def test_types_are_listed_with_schemas_and_issuers(http: TestClient, scenario: Scenario) -> None:
    items = http.get("/api/v1/credential-types").json()["items"]
    by_type = {i["definition"]["vcType"]: i for i in items}
    # the six registry types were registered as data, with their shipped schema URLs
    assert by_type["LegalNameCredential"]["definition"]["credentialSchema"].endswith(
        "/credentials/legal-name/1.0.json"
    )
    vendor = by_type["VendorCredential"]
    assert vendor["issuers"][0]["onBehalfOf"] is not None
    assert vendor["definition"]["schema"]["required"] == ["id", "vendorNumber"]
    doc = http.get("/types/vendor/1.0").json()
    assert doc["definition"]["id"] == f"{PUBLIC_URL}/types/vendor/1.0"
    schema = http.get("/types/vendor/1.0/schema.json").json()
    assert schema["$id"] == f"{PUBLIC_URL}/types/vendor/1.0/schema.json"
    assert http.get("/types/nothing/1.0").status_code == 404


def test_issuer_api_refuses_schema_errors_and_unauthorised(
    http: TestClient, scenario: Scenario
) -> None:
    headers = _key(scenario, "service-agency")
    body = {"eventId": "v-1", "type": "VendorCredential", "organisation": scenario.bc_org}
    before = _size(scenario)
    bad = http.post(
        "/api/v1/issuer/credentials",
        json={
            **body,
            "claims": {"vendorNumber": 7, "extra": 1},
            "onBehalfOf": scenario.vendor.credential["onBehalfOf"],
        },
        headers=headers,
    )
    assert bad.status_code == 422, bad.text
    paths = {e["path"] for e in bad.json()["errors"]}
    assert "/claims/vendorNumber" in paths
    refused = http.post(
        "/api/v1/issuer/credentials",
        json={**body, "type": LICENCE, "claims": {"licenceNumber": "X"}},
        headers=headers,
    )
    assert refused.status_code == 403
    assert "not authorised" in refused.json()["detail"]
    assert _size(scenario) == before


def test_issuer_api_issues_idempotently_and_supersedes(
    http: TestClient, scenario: Scenario
) -> None:
    headers = _key(scenario, "service-agency")
    behalf = scenario.vendor.credential["onBehalfOf"]
    body = {
        "eventId": "v-2",
        "type": "VendorCredential",
        "organisation": scenario.bc_org,
        "claims": {"vendorNumber": "V-9", "category": "goods"},
        "onBehalfOf": behalf,
    }
    first = http.post("/api/v1/issuer/credentials", json=body, headers=headers)
    assert first.status_code == 201, first.text
    assert first.json()["superseded"] == scenario.vendor.credential["id"]
    size = _size(scenario)
    again = http.post("/api/v1/issuer/credentials", json=body, headers=headers)
    assert again.status_code == 200
    assert again.json()["credential"] == first.json()["credential"]
    assert _size(scenario) == size
    other = {**body, "claims": {"vendorNumber": "V-11"}}
    assert http.post("/api/v1/issuer/credentials", json=other, headers=headers).status_code == 409
    cid = first.json()["credential"]["id"]
    keys = scenario.registry.ledger.verifiers
    now = datetime.now(UTC)
    report = verify_bundle(scenario.bundle(cid), ledger_keys=keys, now=now)
    assert report.valid, [c.to_dict() for c in report.failures]
    old = verify_bundle(
        scenario.bundle(scenario.vendor.credential["id"]), ledger_keys=keys, now=now
    )
    assert not old.valid


def test_expiry_and_a_new_version(scenario: Scenario) -> None:
    with scenario.registry.engine.begin() as conn:
        v2 = define_type(
            conn,
            scenario.registry.ledger,
            definition("VendorCredential", "vendorNumber", version="2.0", expires="P1Y"),
            data_dir=Path(scenario.registry.settings.data_dir),
            passphrase=PASSPHRASE,
            public_url=PUBLIC_URL,
            now=T_EARLY,
        )
        with pytest.raises(Conflict):
            define_type(
                conn,
                scenario.registry.ledger,
                definition("VendorCredential", "vendorNumber", version="2.0"),
                data_dir=Path(scenario.registry.settings.data_dir),
                passphrase=PASSPHRASE,
                public_url=PUBLIC_URL,
            )
    issued = scenario.issue(
        issuer_did=scenario.vendor.credential["issuer"]["id"],
        vc_type="VendorCredential",
        claims={"vendorNumber": "V-20"},
        event_id="v-20",
        on_behalf_of=scenario.vendor.credential["onBehalfOf"],
        valid_from=datetime(2026, 2, 15, tzinfo=UTC),
    )
    assert issued.credential_type == v2.definition.id
    assert issued.credential["validUntil"] == "2027-02-15T00:00:00Z"
    assert issued.credential["credentialSchema"]["id"] == f"{v2.definition.id}/schema.json"
    with pytest.raises(InvalidRecord) as caught:
        scenario.issue(
            issuer_did=scenario.vendor.credential["issuer"]["id"],
            vc_type="VendorCredential",
            claims={"category": "x"},
            event_id="v-21",
            on_behalf_of=scenario.vendor.credential["onBehalfOf"],
        )
    assert caught.value.field == "/claims/vendorNumber"


def test_replay_rebuilds_types_and_credentials(scenario: Scenario) -> None:
    registry = scenario.registry
    with reading(registry.engine) as conn:
        before = [(t.definition.id, t.index) for t in all_types(conn)]
    assert len(before) == 8  # six registry types and two of the authorities'
    with registry.engine.begin() as conn:
        replay(conn, registry.ledger)
    with reading(registry.engine) as conn:
        assert [(t.definition.id, t.index) for t in all_types(conn)] == before
        assert audit_projections(conn, registry.ledger).summary().startswith("projections sound")
    with registry.engine.begin() as conn:
        conn.execute(credential_types.update().values(version="9.9"))
    with reading(registry.engine) as conn:
        assert "credential_types" in audit_projections(conn, registry.ledger).summary()


def test_a_feed_issues_through_the_cli(
    scenario: Scenario, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from orgbook import cli

    monkeypatch.setenv("ORGBOOK_KEY_PASSPHRASE", PASSPHRASE.decode())
    monkeypatch.setenv("ORGBOOK_PUBLIC_URL", PUBLIC_URL)

    feed = tmp_path / "feed.jsonl"
    line = {
        "eventId": "feed-1",
        "type": "VendorCredential",
        "organisation": scenario.bc_org,
        "claims": {"vendorNumber": "F-1"},
        "onBehalfOf": scenario.vendor.credential["onBehalfOf"],
    }
    bad = {**line, "eventId": "feed-2", "claims": {}}
    feed.write_text("\n".join(json.dumps(x) for x in (line, line, bad)) + "\n")
    settings = scenario.registry.settings
    args = ["--data-dir", str(settings.data_dir), "--db", settings.database_url]
    code = cli.main(["authority", "issue", "service-agency", str(feed), *args])
    assert code == 1  # one line refused (as orgbook ingest --authority); the others logged once
    with reading(scenario.registry.engine) as conn:
        events = conn.execute(
            select(credentials.c.event_id).where(credentials.c.event_id.like("feed-%"))
        ).scalars()
        assert list(events) == ["feed-1"]


def _absolute_refs(node: object) -> list[str]:
    if isinstance(node, dict):
        found: list[str] = []
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str) and "://" in value:
                found.append(value)
            else:
                found += _absolute_refs(value)
        return found
    if isinstance(node, list):
        return [ref for value in node for ref in _absolute_refs(value)]
    return []


def test_every_url_in_an_authority_credential_resolves_here(
    http: TestClient, scenario: Scenario
) -> None:
    """The credential's schema (and every $ref in it), status lists and issuer DID document
    are served by the registry at its public URL: no orgbook.example placeholder."""
    from urllib.parse import urldefrag

    credential = scenario.vendor.credential
    assert "orgbook.example" not in json.dumps(credential)
    urls = [credential["credentialSchema"]["id"]]
    urls += [entry["statusListCredential"] for entry in credential["credentialStatus"]]
    seen: set[str] = set()
    while urls:
        url = urldefrag(urls.pop())[0]
        if url in seen:
            continue
        seen.add(url)
        assert url.startswith(PUBLIC_URL + "/"), url
        answer = http.get(url[len(PUBLIC_URL) :])
        assert answer.status_code == 200, (url, answer.text)
        body = answer.json()
        text = json.dumps(body)
        if url.endswith("schema.json") or "/schemas/" in url:
            assert "$schema" in body or "$id" in body, url
            refs = _absolute_refs(body)
            assert refs or "/schemas/" in url
            assert all("orgbook.example" not in ref for ref in refs), refs
            urls += refs
        elif "/status/" in url:
            assert "BitstringStatusListCredential" in text
    assert any("/schemas/credentials/common/1.0.json" in url for url in seen)
    assert http.get("/issuers/service-agency/did.json").json()["id"] == credential["issuer"]["id"]


def test_registry_credentials_name_their_schemas_here(http: TestClient, scenario: Scenario) -> None:
    """With no ORGBOOK_SCHEMA_BASE, the six registry types' credentials name their schemas at
    the registry's public URL (they once named the unresolvable orgbook.example placeholder),
    the registry serves them, and the offline check, told nothing, applies them."""
    from orgbook.core.canonical import loads_strict
    from orgbook.projections.tables import credential_document, credentials_with_entry
    from orgbook.verification.credential import check_schema

    with scenario.registry.engine.connect() as conn:
        document = conn.execute(
            select(credential_document)
            .select_from(credentials_with_entry)
            .where(credentials.c.type == "registration")
            .limit(1)
        ).scalar_one()
        registration = loads_strict(bytes(document))
    schema_url = registration["credentialSchema"]["id"]
    assert schema_url == f"{PUBLIC_URL}/schemas/credentials/registration/1.0.json"
    served = http.get(schema_url[len(PUBLIC_URL) :])
    assert served.status_code == 200
    assert served.json()["title"]
    check = check_schema(registration)
    assert check.outcome == "pass"
    assert check.reason.endswith("credentials/registration/1.0.json")  # applied, by its $id
