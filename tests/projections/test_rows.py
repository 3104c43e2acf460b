"""Projection rows written through the driver are stored exactly as SQLAlchemy stores them.

``orgbook.storage.engine.insert_rows`` bypasses SQLAlchemy's per-row processing for speed but
applies each column type's own bind processor; the raw stored values (read back through the
driver, no SQLAlchemy result processing) must match those of ``conn.execute(insert, rows)``.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from sqlalchemy import Engine, Table, delete

from orgbook.issuer.store import ingested_events
from orgbook.projections.tables import (
    credential_events,
    credentials,
    organisation_names,
    organisations,
    relationships,
)
from orgbook.storage.engine import insert_rows

T = datetime(2021, 2, 3, 4, 5, 6, 789, tzinfo=UTC)
EAST = timezone(timedelta(hours=5, minutes=30))

ROWS: list[tuple[Table, list[dict[str, Any]]]] = [
    (
        credentials,
        [
            {
                "id": f"urn:uuid:{i}",
                "issuer_id": "bc",
                "organisation_id": "CA-BC:BC1",
                "type": "legal-name",
                "supersession_key": "CA-BC:BC1|legal-name",
                "state": "current",
                "suspended": i % 2 == 0,
                "effective": T + timedelta(days=i),
                "event_id": f"e-{i}",
                "ledger_index": 10 + i,
                "status_index": i,
                "superseded_by": None if i else "urn:uuid:9",
                "document_offset": 40 + i,
                "document_length": 1200 + i,
            }
            for i in range(3)
        ],
    ),
    (
        credential_events,
        [
            {
                "ledger_index": i,
                "credential_id": "urn:uuid:1",
                "kind": "issued",
                "at": at,
                "reason": None if i else "superseded",
                "related_credential_id": None,
            }
            for i, at in enumerate([T, T, T.astimezone(EAST), T.replace(microsecond=0)])
        ],
    ),
    (
        organisation_names,
        [
            {
                "credential_id": f"c{i}",
                "organisation_id": "CA-BC:BC1",
                "name": "Société Générale Ltée",
                "language": None if i else "fr",
                "alternate_names": "[]",
                "valid_from": T,
                "current": bool(i),
            }
            for i in range(2)
        ],
    ),
    (
        relationships,
        [
            {
                "credential_id": "c1",
                "organisation_id": "CA-BC:BC1",
                "related_organisation_id": "CA-BC:BC2",
                "relationship_type": "parent-of",
                "related_name": None,
            }
        ],
    ),
    (
        ingested_events,
        [
            {
                "issuer_id": "bc",
                "event_id": f"e-{i}",
                "record_hash": "ab" * 32,
                "outcome": "issued",
                "ledger_index": i or None,
            }
            for i in range(2)
        ],
    ),
    (
        organisations,
        [
            {
                "name": "",
                "status": "active",
                "entity_type": "",
                "business_number": None,
                "id": "CA-BC:BC1",
                "jurisdiction": "CA-BC",
                "registration_number": "BC1",
                "issuer_id": "bc",
                "created_index": 1,
                "updated_index": 2,
            }
        ],
    ),
]


def _raw(engine: Engine, table: Table) -> list[tuple[Any, ...]]:
    with engine.connect() as conn:
        key = ", ".join(conn.dialect.identifier_preparer.quote(c.name) for c in table.primary_key)
        rows = conn.exec_driver_sql(f"SELECT * FROM {table.name} ORDER BY {key}").fetchall()
    return [tuple(bytes(v) if isinstance(v, memoryview) else v for v in row) for row in rows]


@pytest.mark.parametrize(("table", "rows"), ROWS, ids=[t.name for t, _ in ROWS])
def test_driver_rows_are_stored_like_sqlalchemy_rows(
    engine: Engine, table: Table, rows: list[dict[str, Any]]
) -> None:
    with engine.begin() as conn:
        conn.execute(table.insert(), rows)
    expected = _raw(engine, table)
    with engine.begin() as conn:
        conn.execute(delete(table))
        # key order differs from row to row: columns are matched by name
        shuffled = [
            dict(reversed(list(row.items()))) if i % 2 else row for i, row in enumerate(rows)
        ]
        insert_rows(conn, table, shuffled)
    assert _raw(engine, table) == expected
    assert len(expected) == len(rows)
