"""Profiles, credentials and bundles from a real registry, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from orgbook.core.errors import NotFound
from orgbook.issuer.service import Issuance
from orgbook.projections.tables import credentials, organisation_names, organisations, relationships
from orgbook.runtime.registry import Registry
from orgbook.storage.engine import reading
from orgbook.verification.bundle_checks import verify_bundle
from orgbook.verifier.bundles import bundle_for
from orgbook.verifier.profiles import find_credential, organisation_profile
from orgbook.verifier.status_lists import status_list_for_url
from tests.factories import build_registry

NOW = datetime(2026, 11, 23, tzinfo=UTC)


@pytest.fixture
def registry(tmp_path: Path, db_url: str) -> Any:
    reg = build_registry(tmp_path, 40, url=db_url)
    yield reg
    reg.close()


def _one(registry: Registry, query: Any) -> Any:
    with reading(registry.engine) as conn:
        return conn.execute(query).first()


def test_names_current_first_then_former_with_dates(registry: Registry) -> None:
    n, c = organisation_names, credentials
    row = _one(
        registry,
        select(n.c.organisation_id)
        .join(c, c.c.id == n.c.credential_id)
        .where(c.c.state == "superseded"),
    )
    assert row is not None, "the sample feed has name changes"
    with reading(registry.engine) as conn:
        profile = organisation_profile(conn, row.organisation_id)
    current = [name for name in profile.names if name.current]
    former = [name for name in profile.names if not name.current]
    assert len(current) == 1
    assert profile.names[0] is current[0]
    assert current[0].name == profile.name
    assert former
    for name in former:
        assert name.valid_until is not None
        assert name.valid_from <= name.valid_until
    assert [f.valid_from for f in former] == sorted((f.valid_from for f in former), reverse=True)


def test_history_after_amendments_and_revocations(registry: Registry) -> None:
    row = _one(
        registry,
        select(credentials.c.id, credentials.c.organisation_id).where(
            credentials.c.state == "superseded"
        ),
    )
    superseded_id, org_id = row.id, row.organisation_id
    current = _one(
        registry,
        select(credentials.c.id, credentials.c.issuer_id).where(
            credentials.c.organisation_id == org_id, credentials.c.state == "current"
        ),
    )
    issuance: Any = Issuance(registry)
    issuance.change_status(current.issuer_id, current.id, "suspend", reason="audit", now=NOW)
    issuance.change_status(current.issuer_id, current.id, "revoke", reason="struck off", now=NOW)
    with reading(registry.engine) as conn:
        profile = organisation_profile(conn, org_id)
    by_id = {c.id: c for c in profile.credentials}
    old = by_id[superseded_id]
    assert old.state == "superseded"
    assert old.superseded_by is not None
    assert [e.kind for e in old.history] == ["issued", "superseded"]
    assert old.history[1].related_credential_id == old.superseded_by
    revoked = by_id[current.id]
    assert revoked.state == "revoked"
    assert revoked.suspended
    kinds = [(e.kind, e.reason) for e in revoked.history]
    assert kinds[-2:] == [("suspended", "audit"), ("revoked", "struck off")]
    assert revoked.history[-1].at == "2026-11-23T00:00:00Z"
    assert revoked.history[-1].ledger_index > revoked.history[0].ledger_index


def test_relationships_in_both_directions(registry: Registry) -> None:
    r = relationships
    with reading(registry.engine) as conn:
        known = {row[0] for row in conn.execute(select(organisations.c.id))}
        rows = conn.execute(select(r)).all()
    row = next((x for x in rows if x.related_organisation_id in known), None)
    assert row is not None, "the sample feed relates organisations it registered"
    with reading(registry.engine) as conn:
        mine = organisation_profile(conn, row.organisation_id)
        theirs = organisation_profile(conn, row.related_organisation_id)
    outgoing = [x for x in mine.relationships if x.credential_id == row.credential_id]
    incoming = [x for x in theirs.relationships if x.credential_id == row.credential_id]
    assert outgoing[0].direction == "outgoing"
    assert outgoing[0].organisation_id == row.related_organisation_id
    assert incoming[0].direction == "incoming"
    assert incoming[0].organisation_id == row.organisation_id
    assert incoming[0].relationship_type == row.relationship_type
    assert incoming[0].organisation_name == mine.name


def test_addresses_and_unknown_organisations(registry: Registry) -> None:
    row = _one(
        registry,
        select(credentials.c.organisation_id).where(
            credentials.c.type == "address", credentials.c.state == "current"
        ),
    )
    with reading(registry.engine) as conn:
        profile = organisation_profile(conn, row.organisation_id)
        assert profile.addresses
        assert all(a.address_type for a in profile.addresses)
        with pytest.raises(NotFound):
            organisation_profile(conn, "CA-BC:NOPE")
        with pytest.raises(NotFound):
            find_credential(conn, "urn:uuid:nope")


def test_every_bundle_verifies_and_pins_to_a_tree_size(registry: Registry) -> None:
    with reading(registry.engine) as conn:
        ids = [row[0] for row in conn.execute(select(credentials.c.id).limit(10))]
        size = registry.ledger.size(conn)
        for cid in ids:
            bundle = bundle_for(conn, registry.ledger, cid)
            report = verify_bundle(
                bundle, ledger_keys=registry.ledger.verifiers, now=datetime.now(UTC)
            )
            state = conn.execute(select(credentials.c.state).where(credentials.c.id == cid))
            if state.scalar_one() == "current":
                assert not report.failures, report.failures
            else:  # its bundle carries the ledger's supersession entry: revoked, even offline
                assert [c.name for c in report.failures] == ["status_logged"]
                assert "credential.superseded" in report.failures[0].reason
            assert bundle_for(conn, registry.ledger, cid, tree_size=size) == bundle
        with pytest.raises(NotFound):
            bundle_for(conn, registry.ledger, ids[0], tree_size=1)


def test_status_lists_for_verification(registry: Registry) -> None:
    base = registry.settings.public_url
    doc = status_list_for_url(
        registry.engine,
        f"{base}/issuers/bc-registries/status/revocation/0",
        public_url=base,
        passphrase=registry.passphrase,
    )
    assert doc["credentialSubject"]["statusPurpose"] == "revocation"
    # A replica without keys serves the cached signature.
    again = status_list_for_url(
        registry.engine,
        f"{base}/issuers/bc-registries/status/revocation/0",
        public_url=base,
        passphrase=None,
    )
    assert again == doc
    with pytest.raises(NotFound):
        status_list_for_url(
            registry.engine, "https://elsewhere.example/x", public_url=base, passphrase=None
        )
