"""Revision 0006: a credential's signed document is stored once, in its ledger entry.

Real issued data on both backends: downgrading to 0005 puts the documents back in the
``document`` column (as that release stored them), upgrading locates them in their entries
again, and the registry reads the same bytes, which verify, before and after.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from sqlalchemy import Engine, inspect, select, text

from orgbook.core.errors import LedgerIntegrityError
from orgbook.issuer.sample import generate_feed
from orgbook.issuer.service import Issuance
from orgbook.projections.tables import credential_document, credentials, credentials_with_entry
from orgbook.storage import migrations
from orgbook.storage.schema import schema_diff
from orgbook.verifier.profiles import find_credential
from tests.factories import add_issuers, new_registry


def _documents(engine: Engine) -> dict[str, bytes]:
    with engine.connect() as conn:
        rows = conn.execute(
            select(credentials.c.id, credential_document).select_from(credentials_with_entry)
        )
        return {row.id: bytes(row.document) for row in rows}


def _registry(tmp_path: Path, db_url: str) -> Any:
    registry = new_registry(tmp_path, url=db_url if db_url.startswith("postgresql") else None)
    add_issuers(registry)
    records = list(generate_feed(15, seed=4, jurisdictions=("CA-BC",)))
    Issuance(registry).submit("bc-registries", records)
    return registry


def test_down_to_0005_and_back_keeps_every_document(tmp_path: Path, db_url: str) -> None:
    registry = _registry(tmp_path, db_url)
    engine = registry.engine
    before = _documents(engine)
    assert len(before) > 20
    with engine.begin() as conn:
        command.downgrade(migrations.alembic_config(conn), "0005")
    with engine.connect() as conn:
        columns = {c["name"] for c in inspect(conn).get_columns("credentials")}
        assert "document" in columns
        assert "document_offset" not in columns
        stored = {
            row.id: bytes(row.document)
            for row in conn.execute(text("SELECT id, document FROM credentials"))
        }
    assert stored == before  # what release 0005 held in the column

    assert migrations.upgrade(engine) == ("0005", migrations.head_revision())
    assert _documents(engine) == before
    with engine.connect() as conn:
        assert schema_diff(conn) == []
        some = next(iter(before))
        assert find_credential(conn, some).document == before[some]
        assert json.loads(before[some])["id"] == some
    registry.close()


def test_a_document_its_entry_does_not_hold_stops_the_upgrade(tmp_path: Path, db_url: str) -> None:
    registry = _registry(tmp_path, db_url)
    engine = registry.engine
    with engine.begin() as conn:
        command.downgrade(migrations.alembic_config(conn), "0005")
    with engine.begin() as conn:
        some = conn.execute(text("SELECT id FROM credentials LIMIT 1")).scalar_one()
        conn.execute(
            text("UPDATE credentials SET document = :doc WHERE id = :id"),
            {"doc": b'{"tampered":true}', "id": some},
        )
    with pytest.raises(LedgerIntegrityError):
        migrations.upgrade(engine)
    with engine.connect() as conn:
        assert migrations.current_revision(conn) == "0005"  # nothing half-done
        columns = {c["name"] for c in inspect(conn).get_columns("credentials")}
        assert "document" in columns
        assert "document_offset" not in columns  # the transaction took the new columns back
    registry.close()
