"""Revocation transparency: anyone who can write to the database cannot un-revoke a credential.

Every signed status-list version is logged on the ledger (``statuslist.published``, its SHA-256)
in the transaction that signs it; a verifier checks that the list it was served is one the
ledger recorded and that its bit agrees with the credential's ledger entries, and the verify
endpoint decides revocation from those entries, not from the editable ``credentials`` row.

Each tamper below made ``POST /api/v1/verify`` and ``orgbook verify --online`` answer *valid*
before; now they say revoked, and why.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, update

from orgbook.app import create_app
from orgbook.core.canonical import canonicalize, loads_strict
from orgbook.core.credentials import sign_credential
from orgbook.core.statuslist import StatusList
from orgbook.issuer.keys import IssuerKeys
from orgbook.issuer.sample import generate_feed
from orgbook.issuer.service import Issuance
from orgbook.issuer.statuslists import LIST_SIZE, PUBLISHED_KIND
from orgbook.projections.replay import replay
from orgbook.projections.tables import credentials, status_list_versions, status_lists
from orgbook.runtime.registry import Registry
from orgbook.storage.engine import reading
from orgbook.verification.transparency import signed_list_digest
from orgbook.verifier.bundles import bundle_for
from orgbook.verifier.client import RegistryClient
from orgbook.verifier.offline import verify_document
from tests.factories import PASSPHRASE, PUBLIC_URL, add_issuers, issue, new_registry

ISSUER = "bc-registries"
T0 = datetime(2020, 5, 1, tzinfo=UTC)
T1 = datetime(2021, 5, 1, tzinfo=UTC)
LATER = datetime(2031, 1, 1, tzinfo=UTC)


@pytest.fixture
def registry(tmp_path: Path) -> Iterator[Registry]:
    reg = new_registry(tmp_path)
    add_issuers(reg, now=T0)
    issue(reg, list(generate_feed(4, seed=5, jurisdictions=("CA-BC",))), now=T0)
    yield reg
    reg.close()


@pytest.fixture
def client(registry: Registry) -> Iterator[TestClient]:
    settings = dataclasses.replace(
        registry.settings, rate_limit_per_minute=0, verify_rate_limit_per_minute=0
    )
    with TestClient(create_app(settings, registry=registry), base_url=PUBLIC_URL) as test_client:
        yield test_client


def checks(report: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {c["name"]: c for c in report["checks"]}


def a_current(registry: Registry) -> tuple[str, int]:
    with reading(registry.engine) as conn:
        row = conn.execute(
            select(credentials.c.id, credentials.c.status_index)
            .where(credentials.c.issuer_id == ISSUER, credentials.c.state == "current")
            .order_by(credentials.c.ledger_index)
        ).first()
    assert row is not None
    return str(row.id), int(row.status_index)


def revoke(registry: Registry, cid: str) -> None:
    issuance: Any = Issuance(registry)
    issuance.change_status(ISSUER, cid, "revoke", reason="struck off", now=T1)


def untamper_row_and_clear_bit(registry: Registry, cid: str, index: int) -> None:
    """What a database writer does: the credential back to current, its bit cleared."""
    number, position = divmod(index, LIST_SIZE)
    key = (
        status_lists.c.issuer_id == ISSUER,
        status_lists.c.purpose == "revocation",
        status_lists.c.list_number == number,
    )
    with registry.engine.begin() as conn:
        conn.execute(update(credentials).where(credentials.c.id == cid).values(state="current"))
        row = conn.execute(select(status_lists.c.bits, status_lists.c.version).where(*key)).one()
        bits = bytearray(row.bits)
        bits[position // 8] &= ~(0x80 >> (position % 8)) & 0xFF
        conn.execute(
            update(status_lists).where(*key).values(bits=bytes(bits), version=row.version + 1)
        )


def every_verdict(
    registry: Registry, client: TestClient, bundle: dict[str, Any]
) -> dict[str, dict[str, Any]]:
    """The API's report for the bundle and for its plain credential, and --online's."""
    online = verify_document(
        bundle,
        now=LATER,
        ledger_keys=registry.ledger.verifiers,
        online=RegistryClient(PUBLIC_URL, client),
    )
    return {
        "api bundle": client.post("/api/v1/verify", json=bundle).json(),
        "api credential": client.post("/api/v1/verify", json=bundle["credential"]).json(),
        "online": online.to_dict(),
    }


def test_a_revocation_undone_in_the_database_and_re_signed_is_still_revoked(
    registry: Registry, client: TestClient
) -> None:
    cid, index = a_current(registry)
    with reading(registry.engine) as conn:
        bundle = bundle_for(conn, registry.ledger, cid)  # downloaded before the revocation
    revoke(registry, cid)
    untamper_row_and_clear_bit(registry, cid, index)
    # The server re-signs the list it now holds (and, doing so, logs it).
    listing = client.get(f"/issuers/{ISSUER}/status/revocation/{index // LIST_SIZE}").json()
    assert StatusList.decode(listing["credentialSubject"]["encodedList"]).get(index) == 0

    for path, report in every_verdict(registry, client, bundle).items():
        found = checks(report)
        assert not report["valid"], path
        assert found["status"]["outcome"] == "fail", path
        assert found["status"]["reason"].startswith("revoked (ledger entry "), (path, found)
        assert found["status_logged"]["outcome"] == "fail", path
        assert "disagrees with the ledger" in found["status_logged"]["reason"], path
        assert "revoked" in found["status_logged"]["reason"], path
    page = client.post("/verify", data={"document": json.dumps(bundle)}, params={"lang": "en"})
    assert "Not valid: at least one check failed" in page.text


def test_a_status_list_the_ledger_never_recorded(registry: Registry, client: TestClient) -> None:
    cid, index = a_current(registry)
    with reading(registry.engine) as conn:
        bundle = bundle_for(conn, registry.ledger, cid)
    revoke(registry, cid)
    untamper_row_and_clear_bit(registry, cid, index)
    # A writer who also holds the issuer's passphrase signs the cleared list outside the
    # issuer's code path, so nothing logs it, and stores it as the current signature.
    number = index // LIST_SIZE
    key = (
        status_lists.c.issuer_id == ISSUER,
        status_lists.c.purpose == "revocation",
        status_lists.c.list_number == number,
    )
    with registry.engine.begin() as conn:
        row = conn.execute(select(status_lists).where(*key)).one()
        old = loads_strict(bytes(row.signed))
        old.pop("proof")
        old["credentialSubject"]["encodedList"] = StatusList.from_bytes(bytes(row.bits)).encode()
        key_id, signer = IssuerKeys.active(conn, ISSUER, PASSPHRASE)
        forged = sign_credential(old, signer, verification_method=key_id, created=T1)
        conn.execute(
            update(status_lists)
            .where(*key)
            .values(signed=canonicalize(forged), signed_version=row.version)
        )
    digest = signed_list_digest(canonicalize(forged))
    for path, report in every_verdict(registry, client, bundle).items():
        found = checks(report)
        assert not report["valid"], path
        assert found["status_logged"]["outcome"] == "fail", path
        reason = found["status_logged"]["reason"]
        assert f"(sha256 {digest[:16]}…) not recorded on the ledger" in reason, (path, reason)
        assert found["status"]["reason"].startswith("revoked (ledger entry "), path


def test_every_signed_version_is_logged_and_replay_rebuilds_the_record(
    registry: Registry, client: TestClient
) -> None:
    cid, _ = a_current(registry)
    revoke(registry, cid)
    with reading(registry.engine) as conn:
        recorded = conn.execute(select(status_list_versions)).all()
        signed = conn.execute(select(status_lists.c.signed)).scalars().all()
        entries = [
            stored.entry
            for stored in registry.ledger.entries(conn, 0, registry.ledger.size(conn))
            if stored.entry.kind == PUBLISHED_KIND
        ]
    # Each signed list is logged: its digest, in an entry of the ledger.
    assert {signed_list_digest(bytes(s)) for s in signed if s is not None} <= {
        r.digest for r in recorded
    }
    assert sorted((e.index, e.payload["digest"]) for e in entries) == sorted(
        (r.ledger_index, r.digest) for r in recorded
    )
    assert all(e.payload["keyId"].endswith("#key-1") for e in entries)
    with registry.engine.begin() as conn:
        conn.execute(status_list_versions.delete())
        replay(conn, registry.ledger)
    with reading(registry.engine) as conn:
        assert sorted(conn.execute(select(status_list_versions)).all()) == sorted(recorded)
    # After the replay the lists are signed again when served, and logged again.
    bundle = client.get(f"/api/v1/credentials/{cid}/bundle").json()
    report = client.post("/api/v1/verify", json=bundle).json()
    found = checks(report)
    assert found["status"]["outcome"] == "fail"
    assert "revoked" in found["status"]["reason"]
    assert found["status_logged"]["outcome"] == "pass", found["status_logged"]


def test_an_old_bundle_without_the_status_member_still_verifies(
    registry: Registry, client: TestClient
) -> None:
    cid, _ = a_current(registry)
    with reading(registry.engine) as conn:
        bundle = bundle_for(conn, registry.ledger, cid)
    assert "status" in bundle
    del bundle["status"]  # as bundles were made before revocation transparency
    offline = verify_document(bundle, now=LATER, ledger_keys=registry.ledger.verifiers)
    assert offline.report.valid
    skipped = offline.report.check("status_logged")
    assert skipped is not None
    assert skipped.outcome == "skip"
    # Online and through the API, the registry's current entries are checked all the same.
    for path, report in every_verdict(registry, client, bundle).items():
        assert report["valid"], path
        assert checks(report)["status_logged"]["outcome"] == "pass", path
