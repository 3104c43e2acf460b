"""Presentations (issue 19 item 2): a business presents its bundles, signed with its bound DID.

Accepted through ``POST /api/v1/verify`` and ``orgbook verify``; refused, with the report saying
why, when replayed (another challenge), re-targeted (another domain), re-signed by another key,
held by a DID that is not the anchor's subject, with a revoked or superseded anchor, or holding
a credential about another organisation. The W3C VC 2.0 test suite's holder-binding
presentations are refused for the reason each one names.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from orgbook.app import create_app
from orgbook.cli import main
from orgbook.core.crypto import Ed25519Signer
from orgbook.core.dataintegrity import add_proof
from orgbook.core.did import LocalResolver, did_key_from_public_key
from orgbook.core.presentation import holder_method, make_presentation
from orgbook.projections.tables import credentials
from orgbook.runtime.registry import Registry
from orgbook.storage.engine import reading
from orgbook.verification.presentation import PresentedItem, verify_presentation
from orgbook.verification.report import Check, Report
from orgbook.verifier.bundles import bundle_for
from tests.http import TestClient
from tests.issuer.test_binding import API, ORG, challenge, open_binding_registry, proof

DOMAIN = "verifier.example"
NONCE = "n-0S6_WzA2Mj"


@pytest.fixture
def setup(tmp_path: Path, db_url: str) -> Iterator[tuple[Registry, TestClient, Ed25519Signer]]:
    registry, key = open_binding_registry(tmp_path, db_url)
    with TestClient(create_app(registry.settings, registry=registry)) as client:
        client.headers["Authorization"] = f"Bearer {key}"
        signer = Ed25519Signer.generate()
        response = client.post(
            API, json={"organisation": ORG, "proof": proof(signer, challenge(client))}
        )
        assert response.status_code == 201, response.text
        yield registry, client, signer
    registry.close()


def bundles(registry: Registry, org: str = ORG) -> list[dict[str, Any]]:
    """The current credentials' bundles of ``org`` (its anchor among them)."""
    with reading(registry.engine) as conn:
        ids = conn.execute(
            select(credentials.c.id).where(
                credentials.c.organisation_id == org, credentials.c.state == "current"
            )
        ).scalars()
        return [bundle_for(conn, registry.ledger, str(cid)) for cid in ids]


def present(signer: Ed25519Signer, items: list[dict[str, Any]], **kw: Any) -> dict[str, Any]:
    return make_presentation(
        items,
        signer,
        challenge=kw.pop("challenge", NONCE),
        domain=kw.pop("domain", DOMAIN),
        created=datetime.now(UTC),
        **kw,
    )


def verify(client: TestClient, vp: dict[str, Any], **params: str) -> dict[str, Any]:
    query = {"challenge": NONCE, "domain": DOMAIN, **params}
    response = client.post("/api/v1/verify", json=vp, params=query)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def failed(report: dict[str, Any]) -> dict[str, str]:
    return {c["name"]: c["reason"] for c in report["checks"] if c["outcome"] == "fail"}


def test_a_presentation_of_the_bound_business_is_accepted(
    setup: tuple[Registry, TestClient, Ed25519Signer],
) -> None:
    registry, client, signer = setup
    vp = present(signer, bundles(registry))
    report = verify(client, vp)
    assert report["valid"], report
    assert report["kind"] == "presentation"
    assert report["organisation"] == ORG
    assert report["holder"] == did_key_from_public_key(signer.public_key)
    assert [c["name"] for c in report["checks"]] == [
        "presentation",
        "holder_signature",
        "challenge",
        "domain",
        "holder_anchor",
        "same_organisation",
    ]
    assert len(report["items"]) >= 2
    assert all(item["valid"] for item in report["items"])
    assert "ledger_inclusion" in {c["name"] for c in report["items"][0]["checks"]}
    # The VC-API request shape carries the challenge and domain itself.
    wrapped = {"verifiablePresentation": vp, "options": {"challenge": NONCE, "domain": DOMAIN}}
    assert client.post("/api/v1/verify", json=wrapped).json()["valid"]


def test_replayed_retargeted_and_resigned_presentations_are_refused(
    setup: tuple[Registry, TestClient, Ed25519Signer],
) -> None:
    registry, client, signer = setup
    vp = present(signer, bundles(registry))
    assert "replayed" in failed(verify(client, vp, challenge="another-request"))["challenge"]
    assert "another verifier" in failed(verify(client, vp, domain="evil.example"))["domain"]
    no_challenge = client.post("/api/v1/verify", json=vp).json()
    assert {"challenge", "domain"} <= set(failed(no_challenge))
    assert not no_challenge["valid"]

    # Re-signed by another key, claiming the same holder: the signature does not verify.
    other = Ed25519Signer.generate()
    holder = did_key_from_public_key(signer.public_key)
    forged = present(other, bundles(registry), holder=holder)
    assert "signature does not verify" in failed(verify(client, forged))["holder_signature"]
    # Re-signed by another DID as holder: that DID is not the anchor's subject.
    stolen = present(other, bundles(registry))
    reason = failed(verify(client, stolen))["holder_anchor"]
    assert "is not the subject" in reason
    # A proof whose key is another DID's than the holder's.
    crossed = present(other, bundles(registry), holder=holder, verification_method=holder_method(
        did_key_from_public_key(other.public_key)))  # fmt: skip
    assert "another DID" in failed(verify(client, crossed))["holder_signature"]


def test_revoked_or_superseded_anchor_and_other_organisation_are_refused(
    setup: tuple[Registry, TestClient, Ed25519Signer],
) -> None:
    registry, client, signer = setup
    theirs = bundles(registry, "CA-BC:BC7654321")
    mixed = present(signer, [*bundles(registry), *theirs])
    reason = failed(verify(client, mixed))["same_organisation"]
    assert "CA-BC:BC7654321" in reason
    assert "not the holder's organisation" in reason

    vp = present(signer, bundles(registry))
    ended = client.post(f"{API}/{ORG}/end", json={"reason": "binding ended"})
    assert ended.status_code == 200
    reason = failed(verify(client, vp))["holder_anchor"]
    assert "not valid" in reason
    assert "status" in reason

    # A new binding to another DID: the old anchor is superseded, the old presentation refused.
    newer = Ed25519Signer.generate()
    client.post(API, json={"organisation": ORG, "proof": proof(newer, challenge(client))})
    assert not verify(client, vp)["valid"]
    assert verify(client, present(newer, bundles(registry)))["valid"]


def test_orgbook_present_and_verify(
    setup: tuple[Registry, TestClient, Ed25519Signer],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    registry, client, _ = setup
    monkeypatch.setenv("ORGBOOK_KEY_PASSPHRASE", "a business passphrase")
    key = tmp_path / "business.key"
    # A new key, bound through the issuer API with the command's own proof.
    asked = challenge(client)
    argv = ["present", "--key", str(key), "--new-key", "--challenge", asked["challenge"]]
    assert main([*argv, "--domain", asked["domain"], "--out", str(tmp_path / "p.json")]) == 0
    did = capsys.readouterr().err.split(": ")[-1].strip()
    signed = json.loads((tmp_path / "p.json").read_text())
    response = client.post(API, json={"organisation": ORG, "proof": signed})
    assert response.status_code == 201, response.text
    assert response.json()["did"] == did

    files = []
    for number, bundle in enumerate(bundles(registry)):
        files.append(tmp_path / f"b{number}.json")
        files[-1].write_text(json.dumps(bundle))
    vkey = registry.ledger.verifiers[0].vkey()
    argv = ["present", "--key", str(key), "--challenge", NONCE, "--domain", DOMAIN]
    assert main([*argv, *map(str, files), "--out", str(tmp_path / "vp.json")]) == 0
    verify_argv = ["verify", str(tmp_path / "vp.json"), "--ledger-key", vkey]
    assert main([*verify_argv, "--challenge", NONCE, "--domain", DOMAIN]) == 0
    out = capsys.readouterr().out
    assert out.strip().endswith("VALID presentation")
    assert "✓ holder_anchor" in out
    assert main([*verify_argv, "--challenge", "other", "--domain", DOMAIN, "--json"]) == 1
    body = json.loads(capsys.readouterr().out)
    assert not body["valid"]
    assert [c["name"] for c in body["checks"] if c["outcome"] == "fail"] == ["challenge"]


# --- the W3C VC 2.0 test suite's holder-binding presentations ------------------------------------


def _signed_fixture(vectors: Path, name: str, signer: Ed25519Signer) -> dict[str, Any]:
    vp = json.loads((vectors / "vc-data-model-2.0" / name).read_text())
    did = did_key_from_public_key(signer.public_key)
    if "holder" in vp:  # the fixtures' holders are did:key / did:example: sign as ours
        vp["holder"] = did if vp["holder"].startswith("did:key:") else vp["holder"]
    return add_proof(
        vp,
        signer,
        verification_method=holder_method(did),
        proof_purpose="authentication",
        created=datetime.now(UTC),
        challenge=NONCE,
        domain=DOMAIN,
    )


def _item(value: Any) -> PresentedItem:
    """The fixtures' credentials are self-asserted: taken as verified, about no organisation."""
    return PresentedItem("credential", value, None, Report((Check("signature", "pass", "ok"),)))


@pytest.mark.parametrize(
    ("name", "check", "reason"),
    [
        ("presentation-self-asserted-vc-no-holder.json", "presentation", "names no holder"),
        ("presentation-self-asserted-vc-holder-mismatch.json", "holder_signature", "another DID"),
        ("presentation-self-asserted-vc-issuer-mismatch.json", "holder_anchor", "no Digital"),
        ("presentation-self-asserted-vc-ok.json", "holder_anchor", "no Digital Identity"),
    ],
)
def test_w3c_holder_binding_fixtures_are_refused(
    vectors: Path, name: str, check: str, reason: str
) -> None:
    signer = Ed25519Signer.generate()
    vp = _signed_fixture(vectors, name, signer)
    report = verify_presentation(
        vp,
        challenge=NONCE,
        domain=DOMAIN,
        resolver=LocalResolver(),
        now=datetime.now(UTC),
        verify_item=_item,
    )
    assert not report.valid
    found = report.check(check)
    assert found is not None
    assert found.failed
    assert reason in found.reason


def test_the_web_page_verifies_a_presentation(
    setup: tuple[Registry, TestClient, Ed25519Signer],
) -> None:
    registry, client, signer = setup
    vp = present(signer, bundles(registry))
    body = {"verifiablePresentation": vp, "options": {"challenge": NONCE, "domain": DOMAIN}}
    page = client.post("/verify", data={"document": json.dumps(body)})
    assert page.status_code == 200
    assert "holder_anchor" in page.text
    assert "report-valid" in page.text
    body["options"]["challenge"] = "replayed"
    page = client.post("/verify", data={"document": json.dumps(body)})
    assert "report-invalid" in page.text
