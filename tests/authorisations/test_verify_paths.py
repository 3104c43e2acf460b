"""The three verifiers share the authorisation check: ``orgbook verify`` offline on a bundle
file, ``POST /api/v1/verify`` and the report's delegation chain in both."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from orgbook import cli
from orgbook.app import create_app
from tests.authorisations.scenario import AGENCY, FEDERAL, Scenario, build
from tests.factories import PUBLIC_URL


@pytest.fixture(scope="module")
def scenario(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Scenario]:
    built = build(tmp_path_factory.mktemp("paths"))
    yield built
    built.registry.close()


def test_orgbook_verify_offline_shows_the_chain(
    scenario: Scenario, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "bundle.json"
    path.write_text(json.dumps(scenario.bundle(scenario.vendor.credential["id"])))
    vkey = scenario.registry.ledger.verifiers[0].vkey()
    code = cli.main(["verify", str(path), "--ledger-key", vkey])
    out, err = capsys.readouterr()
    assert code == 0, out + err
    assert f"✓ issuer_trusted: {AGENCY} on behalf of {FEDERAL} was authorised" in out
    assert out.rstrip().endswith("VALID bundle")


def test_post_verify_decides_from_the_authorisation(scenario: Scenario) -> None:
    settings = dataclasses.replace(
        scenario.registry.settings, rate_limit_per_minute=0, verify_rate_limit_per_minute=0
    )
    app = create_app(settings, registry=scenario.registry)
    with TestClient(app, base_url=PUBLIC_URL) as http:
        bundle = scenario.bundle(scenario.licence.credential["id"])
        report = http.post("/api/v1/verify", json=bundle).json()
        assert report["valid"] is True, report
        trusted = next(c for c in report["checks"] if c["name"] == "issuer_trusted")
        assert trusted["details"]["authorisedBy"] == scenario.licence_auth.index
        assert trusted["details"]["withdrawnAt"] == scenario.withdrawn_index
        # Without its authorisation parts, the authority is trusted for no type.
        for name in ("authorisation", "governance", "withdrawals"):
            del bundle[name]
        report = http.post("/api/v1/verify", json=bundle).json()
        trusted = next(c for c in report["checks"] if c["name"] == "issuer_trusted")
        assert trusted["outcome"] == "fail"
        assert "is registered for no types" in trusted["reason"]
