"""A registered type's schema is checked offline: the bundle of an authority's credential
carries the type's ``type.registered`` entry with its inclusion proof, and ``orgbook verify``,
``POST /api/v1/verify`` and :func:`verify_bundle` check the subject against it (both backends)."""

from __future__ import annotations

import copy
import dataclasses
import json
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from orgbook import cli
from orgbook.app import create_app
from tests.authorisations.scenario import Scenario
from tests.factories import PUBLIC_URL


def _schema(report: Any) -> Any:
    return report.check("schema")


def test_the_bundle_carries_the_type_and_the_subject_is_checked(scenario: Scenario) -> None:
    bundle = scenario.bundle(scenario.vendor.credential["id"])
    part = bundle["credentialType"]
    assert part["entry"]["kind"] == "type.registered"
    assert part["entry"]["payload"]["credentialType"]["vcType"] == "VendorCredential"
    report = scenario.verify(bundle)
    assert report.valid, [c.to_dict() for c in report.failures]
    schema = _schema(report)
    assert schema.passed
    assert f"{PUBLIC_URL}/types/vendor/1.0" in schema.reason
    assert schema.details["registeredAt"] == part["entry"]["index"]

    # a subject that violates the registered schema fails the schema check, with the pointer
    bad = copy.deepcopy(bundle)
    bad["credential"]["credentialSubject"]["vendorNumber"] = 7
    bad["credential"]["credentialSubject"]["surprise"] = True
    schema = _schema(scenario.verify(bad))
    assert schema.outcome == "fail"
    paths = [p["path"] for p in schema.details["problems"]]
    assert "/credentialSubject/vendorNumber" in paths
    assert "does not match the schema of" in schema.reason

    # a type entry that is not the one the ledger holds proves nothing
    forged = copy.deepcopy(bundle)
    forged["credentialType"]["entry"]["payload"]["credentialType"]["schema"] = {}
    schema = _schema(scenario.verify(forged))
    assert schema.outcome == "fail"
    assert "not proven on the ledger" in schema.reason


def test_registry_credentials_keep_their_shipped_schema_check(scenario: Scenario) -> None:
    from sqlalchemy import select

    from orgbook.projections.tables import credentials
    from orgbook.storage.engine import reading

    with reading(scenario.registry.engine) as conn:
        cid = conn.execute(
            select(credentials.c.id).where(credentials.c.type == "legal-name").limit(1)
        ).scalar_one()
    bundle = scenario.bundle(cid)
    assert "credentialType" not in bundle
    assert _schema(scenario.verify(bundle)).passed


def test_orgbook_verify_and_the_api_report_the_type_schema(
    scenario: Scenario, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bundle = scenario.bundle(scenario.vendor.credential["id"])
    path = tmp_path / "bundle.json"
    path.write_text(json.dumps(bundle))
    vkey = scenario.registry.ledger.verifiers[0].vkey()
    code = cli.main(["verify", str(path), "--ledger-key", vkey])
    out, err = capsys.readouterr()
    assert "✓ schema: conforms to the VC 2.0 data model and the schema of" in out, out + err
    bad = copy.deepcopy(bundle)
    bad["credential"]["credentialSubject"]["vendorNumber"] = 7
    path.write_text(json.dumps(bad))
    code = cli.main(["verify", str(path), "--ledger-key", vkey])
    out, err = capsys.readouterr()
    assert code != 0
    assert "✗ schema: does not match the schema of" in out, out + err
    assert "/credentialSubject/vendorNumber" in out

    settings = dataclasses.replace(
        scenario.registry.settings, rate_limit_per_minute=0, verify_rate_limit_per_minute=0
    )
    app = create_app(settings, registry=scenario.registry)
    with TestClient(app, base_url=PUBLIC_URL) as http:
        for body in (bundle, bundle["credential"]):
            report = http.post("/api/v1/verify", json=body).json()
            schema = next(c for c in report["checks"] if c["name"] == "schema")
            assert schema["outcome"] == "pass", report
            assert "/types/vendor/1.0" in schema["reason"]
        report = http.post("/api/v1/verify", json=bad).json()
        schema = next(c for c in report["checks"] if c["name"] == "schema")
        assert schema["outcome"] == "fail"
        assert schema["details"]["problems"][0]["path"] == "/credentialSubject/vendorNumber"
