"""Revision 0009: the record of signed status-list versions, on ledgers that had none.

Real issued data on both backends: downgrading to 0008 drops the record, upgrading rebuilds it
from the ``statuslist.published`` entries on the ledger; a list an older release signed (and so
never logged) loses its cached signature, is signed and logged again when next served, and the
verify endpoint then finds it on the ledger.
"""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from alembic import command
from fastapi.testclient import TestClient
from sqlalchemy import Engine, inspect, select, update

from orgbook.app import create_app
from orgbook.core.canonical import canonicalize, loads_strict
from orgbook.core.credentials import sign_credential
from orgbook.issuer.keys import IssuerKeys
from orgbook.issuer.sample import generate_feed
from orgbook.issuer.service import Issuance
from orgbook.projections.tables import credentials, status_list_versions, status_lists
from orgbook.storage import migrations
from orgbook.verification.transparency import signed_list_digest
from tests.factories import PASSPHRASE, PUBLIC_URL, add_issuers, new_registry

ISSUER = "bc-registries"


def _versions(engine: Engine) -> list[Any]:
    with engine.connect() as conn:
        return sorted(tuple(row) for row in conn.execute(select(status_list_versions)))


def test_down_to_0008_and_back_rebuilds_the_record(tmp_path: Path, db_url: str) -> None:
    registry = new_registry(tmp_path, url=db_url if db_url.startswith("postgresql") else None)
    add_issuers(registry)
    Issuance(registry).submit(ISSUER, list(generate_feed(6, seed=2, jurisdictions=("CA-BC",))))
    engine = registry.engine
    before = _versions(engine)
    assert len(before) >= 2  # the revocation and suspension lists, signed at issuance
    with engine.begin() as conn:
        command.downgrade(migrations.alembic_config(conn), "0008")
        assert not inspect(conn).has_table("status_list_versions")
        # What a release before 0009 did: re-sign a list without logging it.
        row = conn.execute(
            select(status_lists).where(
                status_lists.c.issuer_id == ISSUER, status_lists.c.purpose == "revocation"
            )
        ).one()
        unsigned = loads_strict(bytes(row.signed))
        unsigned.pop("proof")
        key_id, signer = IssuerKeys.active(conn, ISSUER, PASSPHRASE)
        old = sign_credential(
            unsigned, signer, verification_method=key_id, created=datetime(2030, 1, 1, tzinfo=UTC)
        )
        conn.execute(
            update(status_lists)
            .where(status_lists.c.issuer_id == ISSUER, status_lists.c.purpose == "revocation")
            .values(signed=canonicalize(old))
        )

    assert migrations.upgrade(engine) == ("0008", migrations.head_revision())
    assert _versions(engine) == before  # rebuilt from the ledger's entries
    with engine.connect() as conn:
        stale = conn.execute(
            select(status_lists.c.purpose, status_lists.c.signed_version).where(
                status_lists.c.issuer_id == ISSUER
            )
        ).all()
    assert {purpose: version is None for purpose, version in stale} == {
        "revocation": True,  # signed but never logged: signed again when served
        "suspension": False,
    }

    settings = dataclasses.replace(
        registry.settings, rate_limit_per_minute=0, verify_rate_limit_per_minute=0
    )
    with TestClient(create_app(settings, registry=registry), base_url=PUBLIC_URL) as client:
        with engine.connect() as conn:
            cid = conn.execute(
                select(credentials.c.id).where(credentials.c.state == "current")
            ).scalar()
        report = client.post("/api/v1/verify", json=client.get(f"/api/v1/credentials/{cid}").json())
        checks = {c["name"]: c for c in report.json()["checks"]}
    assert report.json()["valid"], checks
    assert checks["status_logged"]["outcome"] == "pass"
    with engine.connect() as conn:
        signed = conn.execute(
            select(status_lists.c.signed).where(
                status_lists.c.issuer_id == ISSUER, status_lists.c.purpose == "revocation"
            )
        ).scalar_one()
    assert signed_list_digest(bytes(signed)) != signed_list_digest(canonicalize(old))
    assert signed_list_digest(bytes(signed)) in {row[0] for row in _versions(engine)}
    registry.close()
