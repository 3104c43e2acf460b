"""``orgbook ledger replay``: projections rebuilt from the ledger equal what issuance wrote.

The ledger is the source of truth (DESIGN principle 2): dropping every projection and replaying
the entries must give back the same organisations, credentials, history, names, relationships,
status-list bits and search index.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import Connection, text

from orgbook.issuer.service import Issuance
from orgbook.projections.replay import replay
from orgbook.runtime.registry import Registry
from tests.factories import build_registry

TABLES = {
    # organisations: created/updated_index are bookkeeping (the batch's last index) and differ.
    "organisations": (
        "id, jurisdiction, registration_number, name, status, entity_type, "
        "business_number, issuer_id",
        "id",
    ),
    "credentials": ("*", "id"),
    "credential_events": ("*", "ledger_index"),
    "organisation_names": ("*", "credential_id"),
    "relationships": ("*", "credential_id"),
    "status_lists": ("issuer_id, purpose, list_number, bits", "issuer_id, purpose, list_number"),
    "search_org": ("*", "org_id"),
}


def snapshot(conn: Connection) -> dict[str, list[Any]]:
    tables = {
        table: [
            tuple(row) for row in conn.execute(text(f"SELECT {cols} FROM {table} ORDER BY {order}"))
        ]
        for table, (cols, order) in TABLES.items()
    }
    # A list with no bit set is the same whether or not a row (and a signed copy) exists for it.
    tables["status_lists"] = [row for row in tables["status_lists"] if any(row[3])]
    return tables


def _revoke_and_suspend(registry: Registry) -> None:
    with registry.engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT id, issuer_id FROM credentials WHERE state = 'current' ORDER BY id LIMIT 3"
            )
        ).all()
    issuance: Any = Issuance(registry)
    issuance.change_status(rows[0].issuer_id, rows[0].id, "revoke", reason="issued in error")
    issuance.change_status(rows[1].issuer_id, rows[1].id, "suspend", reason="under review")
    issuance.change_status(rows[2].issuer_id, rows[2].id, "suspend", reason="under review")
    issuance.change_status(rows[2].issuer_id, rows[2].id, "unsuspend", reason="review done")


def test_replay_rebuilds_exactly_what_issuance_wrote(tmp_path: Path) -> None:
    registry = build_registry(tmp_path, 120)
    _revoke_and_suspend(registry)
    with registry.engine.connect() as conn:
        before = snapshot(conn)
    assert len(before["credentials"]) > 500
    assert any(row for row in before["credentials"] if "revoked" in row)
    with registry.engine.begin() as conn:
        report = replay(conn, registry.ledger)
    with registry.engine.connect() as conn:
        after = snapshot(conn)
        size = registry.ledger.size(conn)
    assert report.entries == size
    for table in TABLES:
        assert after[table] == before[table], table


def test_one_current_name_per_organisation_even_when_renamed_within_a_batch(tmp_path: Path) -> None:
    # Regression: a name superseded in the batch that issued it stayed marked current, so search
    # showed a former name as the organisation's name.
    registry = build_registry(tmp_path, 150, batch=5000)
    with registry.engine.connect() as conn:
        doubles = conn.execute(
            text(
                "SELECT organisation_id FROM organisation_names WHERE current "
                "GROUP BY organisation_id HAVING COUNT(*) > 1"
            )
        ).all()
        mismatched = conn.execute(
            text(
                "SELECT COUNT(*) FROM organisations o JOIN organisation_names n "
                "ON n.organisation_id = o.id AND n.current WHERE n.name <> o.name"
            )
        ).scalar_one()
    assert doubles == []
    assert mismatched == 0


def test_status_lists_are_signed_as_they_change(tmp_path: Path) -> None:
    # Verifier replicas hold no key: they serve the signed copy the issuer stores with each change.
    registry = build_registry(tmp_path, 40)
    _revoke_and_suspend(registry)
    with registry.engine.connect() as conn:
        rows = conn.execute(
            text("SELECT issuer_id, purpose, version, signed_version, signed FROM status_lists")
        ).all()
    assert {row.purpose for row in rows} == {"revocation", "suspension"}
    assert all(row.signed is not None and row.signed_version == row.version for row in rows)
