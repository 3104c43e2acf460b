"""Authorisations on the ledger, on SQLite and PostgreSQL: issuance refused without one in
force, bundles verifying "as of issuance" (before a withdrawal yes, after no), the delegation
chain in the report, forged authorisations, replay rebuilding the table and the audit."""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import delete, select, update

from orgbook.core.crypto import Ed25519Signer
from orgbook.core.dataintegrity import add_proof
from orgbook.core.errors import Forbidden
from orgbook.issuer import authorised
from orgbook.issuer.governance import key_id_of
from orgbook.ledger.store import ledger_entries
from orgbook.projections.audit import audit_projections
from orgbook.projections.authorisations import authorisations, authorising_entry
from orgbook.projections.replay import replay
from orgbook.storage.engine import reading
from orgbook.verification.bundle import proven_entry_json
from tests.authorisations.scenario import (
    AGENCY,
    FEDERAL,
    LICENCE,
    LICENSING,
    T_EARLY,
    T_LATE,
    VENDOR,
    Scenario,
)


def _size(s: Scenario) -> int:
    with reading(s.registry.engine) as conn:
        return s.registry.ledger.size(conn)


def _audit(s: Scenario) -> str:
    with reading(s.registry.engine) as conn:
        return audit_projections(conn, s.registry.ledger).summary()


def test_a_credential_issued_before_the_withdrawal_keeps_verifying(scenario: Scenario) -> None:
    bundle = scenario.bundle(scenario.licence.credential["id"])
    assert bundle["authorisation"]["entry"]["index"] == scenario.licence_auth.index
    assert [w["entry"]["index"] for w in bundle["withdrawals"]] == [scenario.withdrawn_index]
    report = scenario.verify(bundle)
    assert report.valid, [c.to_dict() for c in report.failures]
    trusted = report.check("issuer_trusted")
    assert trusted is not None
    assert f"authorised to issue {LICENCE} by ledger entry {scenario.licence_auth.index}" in (
        trusted.reason
    )
    assert trusted.details["withdrawnAt"] == scenario.withdrawn_index


def test_the_registry_refuses_after_the_withdrawal_and_logs_nothing(scenario: Scenario) -> None:
    before = _size(scenario)
    with pytest.raises(Forbidden, match="not authorised to issue BusinessLicenceCredential"):
        scenario.issue(event_id="licence-2", now=T_LATE)
    assert _size(scenario) == before
    with reading(scenario.registry.engine) as conn:
        assert authorising_entry(conn, LICENSING, LICENCE, "CA-BC", T_EARLY) is not None
        assert authorising_entry(conn, LICENSING, LICENCE, "CA-BC", T_LATE) is None


def test_a_credential_logged_after_the_withdrawal_fails(
    scenario: Scenario, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A registry that logged one anyway: the bundle fails, and so does the audit."""
    record = scenario.licence_auth
    monkeypatch.setattr(authorised, "authorising_entry", lambda *a, **k: record)
    late = scenario.issue(event_id="licence-late", now=T_LATE, valid_from=T_EARLY)
    bundle = scenario.bundle(scenario.licence.credential["id"])
    with reading(scenario.registry.engine) as conn:
        size = scenario.registry.ledger.size(conn)
        note = scenario.registry.ledger.latest_checkpoint(conn)
        entry = scenario.registry.ledger.entry(conn, late.index).entry
        proof = scenario.registry.ledger.inclusion_proof(conn, late.index, size)
    assert note is not None
    forged = {**bundle, "credential": late.credential, **proven_entry_json(entry, proof, note)}
    report = scenario.verify(forged)
    trusted = report.check("issuer_trusted")
    assert trusted is not None
    assert trusted.failed
    assert f"withdrawn at ledger entry {scenario.withdrawn_index}" in trusted.reason
    assert not report.valid
    assert f"entry {late.index}: a credential issued without an authorisation" in _audit(scenario)


def test_an_unauthorised_type_is_refused(scenario: Scenario) -> None:
    with pytest.raises(Forbidden, match="not authorised to issue PermitCredential"):
        scenario.issue(vc_type="PermitCredential", event_id="permit-1")


def test_the_wrong_jurisdiction_is_refused(scenario: Scenario) -> None:
    with pytest.raises(Forbidden, match="about organisations of"):
        scenario.issue(organisation=scenario.other_org, event_id="licence-x")
    bundle = scenario.bundle(scenario.vendor.credential["id"])
    moved = copy.deepcopy(bundle)
    moved["credential"]["credentialSubject"]["id"] = "urn:orgbook:org:CA-ON:1234567"
    trusted = scenario.verify(moved).check("issuer_trusted")
    assert trusted is not None
    assert trusted.failed
    assert "covers CA-BC, CA-AB, not CA-ON" in trusted.reason


def test_an_expired_authorisation_is_refused(scenario: Scenario) -> None:
    with pytest.raises(Forbidden, match="not authorised to issue VendorCredential"):
        scenario.issue(
            issuer_did=AGENCY,
            vc_type=VENDOR,
            event_id="vendor-2",
            on_behalf_of=FEDERAL,
            now=datetime(2027, 2, 1, tzinfo=UTC),
        )


def test_the_delegation_chain_is_in_the_report(scenario: Scenario) -> None:
    assert scenario.vendor.credential["onBehalfOf"] == FEDERAL
    report = scenario.verify(scenario.bundle(scenario.vendor.credential["id"]))
    assert report.valid, [c.to_dict() for c in report.failures]
    trusted = report.check("issuer_trusted")
    assert trusted is not None
    assert trusted.reason == (
        f"{AGENCY} on behalf of {FEDERAL} was authorised to issue {VENDOR} by ledger entry "
        f"{scenario.vendor_auth.index}"
    )
    assert trusted.details["onBehalfOf"] == FEDERAL
    assert trusted.details["authorisedBy"] == scenario.vendor_auth.index
    # Issuing in its own name, or on behalf of someone else, is not what was granted.
    with pytest.raises(Forbidden):
        scenario.issue(issuer_did=AGENCY, vc_type=VENDOR, event_id="vendor-3")


def test_a_forged_authorisation_is_refused(scenario: Scenario) -> None:
    """An authorisation on the ledger that the governance key did not sign."""
    registry = scenario.registry
    rogue = Ed25519Signer.generate()
    body = dict(scenario.licence_auth.authorisation.document)
    body.pop("proof")
    body["id"] = "urn:uuid:00000000-0000-4000-8000-000000000001"
    body["credentialType"] = "PermitCredential"
    signed = add_proof(
        body, rogue, verification_method=key_id_of(rogue.public_key), created=T_EARLY
    )
    with registry.engine.begin() as conn:
        entry = registry.ledger.append(
            conn, "authorisation.granted", {"authorisation": signed}, now=T_EARLY
        )
        registry.ledger.sign_checkpoint(conn, now=T_EARLY)
    # The live projection does not know it: no row, so the registry refuses.
    with pytest.raises(Forbidden):
        scenario.issue(vc_type="PermitCredential", event_id="permit-2")
    bundle = scenario.bundle(scenario.licence.credential["id"])
    with reading(registry.engine) as conn:
        note = registry.ledger.latest_checkpoint(conn)
        proof = registry.ledger.inclusion_proof(conn, entry.index, registry.ledger.size(conn))
    assert note is not None
    bundle["authorisation"] = proven_entry_json(entry, proof, note)
    bundle["credential"]["type"] = ["VerifiableCredential", "PermitCredential"]
    trusted = scenario.verify(bundle).check("issuer_trusted")
    assert trusted is not None
    assert trusted.failed
    assert "not signed by the registry's governance key" in trusted.reason
    # And replay does not project it (the audit derives the same table).
    assert _audit(scenario).startswith("projections sound")


def test_replay_rebuilds_the_authorisations(scenario: Scenario) -> None:
    registry = scenario.registry
    with reading(registry.engine) as conn:
        before = conn.execute(select(authorisations).order_by(authorisations.c.id)).all()
    assert len(before) == 2
    with registry.engine.begin() as conn:
        conn.execute(delete(authorisations))
        report = replay(conn, registry.ledger)
    assert report.unauthorised == ()
    with reading(registry.engine) as conn:
        after = conn.execute(select(authorisations).order_by(authorisations.c.id)).all()
    assert [tuple(r) for r in after] == [tuple(r) for r in before]
    assert _audit(scenario).startswith("projections sound")


def test_the_audit_catches_a_tampered_authorisation(scenario: Scenario) -> None:
    assert _audit(scenario).startswith("projections sound")
    auth_id = scenario.licence_auth.authorisation.id
    with scenario.registry.engine.begin() as conn:
        conn.execute(
            update(authorisations)
            .where(authorisations.c.id == auth_id)
            .values(withdrawn_index=None, withdrawn_at=None)
        )
    summary = _audit(scenario)
    assert summary.startswith(f"projections UNSOUND: authorisations[id='{auth_id}'].withdrawn")
    assert f"ledger entry {scenario.withdrawn_index} (authorisation.withdrawn)" in summary


def test_the_governance_key_is_sealed_and_published_once(scenario: Scenario) -> None:
    data_dir = Path(scenario.registry.settings.data_dir)
    sealed = (data_dir / "governance.key").read_bytes()
    assert sealed.startswith(b"-----BEGIN ENCRYPTED PRIVATE KEY-----")
    assert (data_dir / "governance.key").stat().st_mode & 0o777 == 0o600
    with reading(scenario.registry.engine) as conn:
        kinds = conn.execute(
            select(ledger_entries.c.kind).where(ledger_entries.c.kind.like("governance.%"))
        ).scalars()
        assert list(kinds) == ["governance.key.added"]


def test_a_valid_from_outside_the_authorisation_is_refused(scenario: Scenario) -> None:
    """In force when logged is not enough: the credential's validFrom must be covered too."""
    with pytest.raises(Forbidden, match="VendorCredential"):
        scenario.issue(
            issuer_did=AGENCY,
            vc_type=VENDOR,
            event_id="vendor-old",
            on_behalf_of=FEDERAL,
            valid_from=datetime(2025, 6, 1, tzinfo=UTC),
        )
    backdated = scenario.issue(
        issuer_did=AGENCY,
        vc_type=VENDOR,
        event_id="vendor-backdated",
        claims={"vendorNumber": "V-10"},
        on_behalf_of=FEDERAL,
        valid_from=datetime(2026, 1, 15, tzinfo=UTC),
        now=T_LATE,
    )
    report = scenario.verify(scenario.bundle(backdated.credential["id"]))
    assert report.valid, [c.to_dict() for c in report.failures]
