"""Writing the served tables for ledger entries: one code path for issuance and ``ledger replay``.

What a ledger entry changes in the projections is decided here and only here:

* ``credential.issued``: the credential's row (which locates its signed bytes in the entry),
  its ``issued`` event, and what its subject says about the organisation (names, relationships,
  name, status, entity type, business number of the organisation's row);
* ``credential.superseded``: the superseded credential's state, its event, its revocation bit,
  and its name no longer current;
* ``credential.revoked`` / ``suspended`` / ``unsuspended``: :func:`status_changed`;
* then the search documents of the organisations touched (:mod:`orgbook.projections.searchdocs`).

Issuance (:mod:`orgbook.issuer.service`) gathers a batch's changes in a :class:`Batch` while it
plans and signs, appends the entries and calls :meth:`Batch.write` in the same transaction, right
after the append; ``ledger replay`` (:mod:`orgbook.projections.replay`) fills a :class:`Batch`
from the entries it reads and calls the same method. So a replayed projection is, row for row,
what issuance wrote: the projection audit compares the two.

What it must not do: append to the ledger, sign anything, or decide which credentials a record
produces (the issuer's).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import Connection, bindparam, select, update

from orgbook.core.credentials import organisation_id
from orgbook.core.time import parse_time_or_none
from orgbook.projections import searchdocs
from orgbook.projections.status import set_bits
from orgbook.projections.tables import (
    credential_events,
    credentials,
    locate_document,
    organisation_names,
    organisations,
    relationships,
)
from orgbook.storage.engine import insert_rows

__all__ = [
    "STATUS_KINDS",
    "Batch",
    "SearchUpdate",
    "chunks",
    "status_changed",
    "valid_until_of",
]

SearchUpdate = Literal["now", "defer", "skip"]
"""What :meth:`Batch.write` does with the touched organisations' search documents: refresh
them now, mark them for a bulk feed's end (``search_pending``), or nothing (``ledger replay``
re-indexes everything at its end)."""

STATUS_KINDS = {
    "credential.revoked": "revoked",
    "credential.suspended": "suspended",
    "credential.unsuspended": "unsuspended",
}
"""Ledger entry kinds that change a credential's status, and the event each one records."""


def valid_until_of(credential: Mapping[str, Any]) -> datetime | None:
    """A signed credential's ``validUntil`` as aware UTC (None: absent or not a date-time).
    Issuance and ``ledger replay`` both take it from the credential itself, so they store the
    same value."""
    return parse_time_or_none(credential.get("validUntil"))


# (position of the entry in the batch, credential id, kind, at, reason, related credential id)
Event = tuple[int, str, str, datetime, str | None, str | None]


@dataclass(slots=True)
class Batch:
    """What a run of one issuer's ledger entries changes in the projections, gathered before
    one round of inserts. Entries are referred to by their position in the run; :meth:`write`
    is given each position's ledger index and leaf bytes once they are known."""

    credential_rows: list[dict[str, Any]] = field(default_factory=list)
    events: list[Event] = field(default_factory=list)
    superseded: list[tuple[str, str]] = field(default_factory=list)  # (old id, new id)
    revoke_bits: list[int] = field(default_factory=list)
    name_rows: list[dict[str, Any]] = field(default_factory=list)
    relationship_rows: list[dict[str, Any]] = field(default_factory=list)
    org_updates: dict[str, dict[str, Any]] = field(default_factory=dict)
    # credential id -> position of the entry that issued it
    positions: dict[str, int] = field(default_factory=dict)

    def issued(
        self,
        position: int,
        *,
        credential_id: str,
        issuer_id: str,
        organisation: str,
        jurisdiction: str,
        registration_number: str,
        type_slug: str,
        subject: Mapping[str, Any],
        supersession_key: str,
        current: bool,
        effective: datetime,
        valid_until: datetime | None,
        event_id: str,
        status_index: int,
        superseded_by: str | None,
        document: bytes,
        at: datetime,
    ) -> None:
        """A ``credential.issued`` entry at ``position``; ``document`` is the credential's
        canonical bytes (located in the entry's leaf bytes when written); ``valid_until`` its
        ``validUntil`` (:func:`valid_until_of`)."""
        self.positions[credential_id] = position
        self.events.append((position, credential_id, "issued", at, None, None))
        self.credential_rows.append(
            {
                "id": credential_id,
                "issuer_id": issuer_id,
                "organisation_id": organisation,
                "type": type_slug,
                "supersession_key": supersession_key,
                "state": "current" if current else "superseded",
                "suspended": False,
                "effective": effective,
                "valid_until": valid_until,
                "event_id": event_id,
                "status_index": status_index,
                "superseded_by": superseded_by,
                "document": document,
            }
        )
        self._subject(
            credential_id,
            organisation,
            jurisdiction,
            registration_number,
            type_slug,
            subject,
            effective,
            current,
        )

    def supersede(
        self,
        position: int,
        credential_id: str,
        *,
        by: str,
        status_index: int,
        at: datetime,
        reason: str | None,
        row_written: bool = False,
    ) -> None:
        """A ``credential.superseded`` entry at ``position``: ``credential_id`` (status index
        ``status_index``) is superseded by ``by``. ``row_written``: its row is planned in this
        batch as superseded already (a record older than the current one), nothing to update."""
        if not row_written:
            self.superseded.append((credential_id, by))
        self.revoke_bits.append(status_index)
        self.events.append((position, credential_id, "superseded", at, reason, by))

    def _subject(
        self,
        cid: str,
        org_id: str,
        jurisdiction: str,
        registration_number: str,
        slug: str,
        subject: Mapping[str, Any],
        effective: datetime,
        is_current: bool,
    ) -> None:
        """What a credential's subject says about its organisation: names, relationships and
        the organisation's row."""
        org = self.org_updates.setdefault(
            org_id,
            {
                "id": org_id,
                "jurisdiction": jurisdiction,
                "registration_number": registration_number,
            },
        )
        if slug == "legal-name":
            self.name_rows.append(
                {
                    "credential_id": cid,
                    "organisation_id": org_id,
                    "name": subject["legalName"],
                    "language": subject.get("language"),
                    "alternate_names": json.dumps(
                        subject.get("alternateNames") or [], ensure_ascii=False, sort_keys=True
                    ),
                    "valid_from": effective,
                    "current": is_current,
                }
            )
            if is_current:
                org["name"] = subject["legalName"]
        elif slug == "registration" and is_current:
            org["entity_type"] = (subject.get("entityType") or {}).get("code", "")
            org.setdefault("name", subject.get("registeredName", ""))
        elif slug == "status" and is_current:
            org["status"] = subject["status"]
        elif slug == "business-number" and is_current:
            org["business_number"] = subject["businessNumber"]
        elif slug == "relationship":
            related = subject["relatedOrganisation"]
            self.relationship_rows.append(
                {
                    "credential_id": cid,
                    "organisation_id": org_id,
                    "related_organisation_id": organisation_id(
                        str(related["jurisdiction"]), str(related["registeredId"])
                    ),
                    "relationship_type": subject["relationshipType"],
                    "related_name": related.get("name"),
                }
            )

    def write(
        self,
        conn: Connection,
        issuer_id: str,
        indices: Sequence[int],
        leaf_bytes: Sequence[bytes],
        *,
        search: SearchUpdate = "now",
    ) -> None:
        """Write the batch, its entries being at ``indices`` with those ``leaf_bytes`` (the
        credentials' documents are located in them), in the caller's transaction."""
        for row in self.credential_rows:
            position = self.positions[row["id"]]
            row["ledger_index"] = indices[position]
            offset, length = locate_document(leaf_bytes[position], row.pop("document"))
            row["document_offset"] = offset
            row["document_length"] = length
        insert_rows(conn, credentials, self.credential_rows)
        if self.superseded:
            conn.execute(
                update(credentials)
                .where(credentials.c.id == bindparam("old_id"))
                .values(state="superseded", superseded_by=bindparam("new_id")),
                [{"old_id": old, "new_id": new} for old, new in self.superseded],
            )
            old_ids = [old for old, _ in self.superseded]
            for chunk in chunks(old_ids, 500):
                conn.execute(
                    update(organisation_names)
                    .where(organisation_names.c.credential_id.in_(chunk))
                    .values(current=False)
                )
        if self.events:
            insert_rows(
                conn,
                credential_events,
                [
                    {
                        "ledger_index": indices[pos],
                        "credential_id": cid,
                        "kind": kind,
                        "at": when,
                        "reason": reason,
                        "related_credential_id": related,
                    }
                    for pos, cid, kind, when, reason, related in self.events
                ],
            )
        if self.revoke_bits:
            set_bits(conn, issuer_id, "revocation", self.revoke_bits, True)
        if self.name_rows:
            # A name superseded within this same batch is not current either (the UPDATE above
            # only reached rows that were already stored).
            superseded_now = {old for old, _ in self.superseded}
            for row in self.name_rows:
                if row["credential_id"] in superseded_now:
                    row["current"] = False
            insert_rows(conn, organisation_names, self.name_rows)
        if self.relationship_rows:
            insert_rows(conn, relationships, self.relationship_rows)
        _upsert_organisations(conn, issuer_id, self.org_updates, indices[-1])
        if search == "defer":
            searchdocs.mark_pending(conn, list(self.org_updates))
        elif search == "now":
            searchdocs.reindex(conn, list(self.org_updates))


def _upsert_organisations(
    conn: Connection, issuer_id: str, updates: dict[str, dict[str, Any]], index: int
) -> None:
    ids = list(updates)
    existing: set[str] = set()
    for chunk in chunks(ids, 500):
        existing.update(
            conn.execute(select(organisations.c.id).where(organisations.c.id.in_(chunk)))
            .scalars()
            .all()
        )
    inserts = []
    # Updates grouped by the columns they change: one executemany per group, not one
    # UPDATE per organisation.
    groups: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    for org_id, values in updates.items():
        if org_id in existing:
            changes = {
                k: v
                for k, v in values.items()
                if k not in ("id", "jurisdiction", "registration_number")
            }
            changes["updated_index"] = index
            row = {f"v_{k}": v for k, v in changes.items()}
            row["b_id"] = org_id
            groups.setdefault(tuple(sorted(changes)), []).append(row)
        else:
            inserts.append(
                {
                    "name": "",
                    "status": "active",
                    "entity_type": "",
                    "business_number": None,
                    **values,
                    "issuer_id": issuer_id,
                    "created_index": index,
                    "updated_index": index,
                }
            )
    for columns, rows in groups.items():
        conn.execute(
            update(organisations)
            .where(organisations.c.id == bindparam("b_id"))
            .values({c: bindparam(f"v_{c}") for c in columns}),
            rows,
        )
    if inserts:
        # Same key set for every row, so executemany sends one statement.
        insert_rows(conn, organisations, inserts)


def status_changed(
    conn: Connection,
    kind: str,
    *,
    credential_id: str,
    issuer_id: str,
    status_index: int,
    ledger_index: int,
    at: datetime,
    reason: str | None,
) -> None:
    """A revocation, suspension or unsuspension entry (``kind``, one of :data:`STATUS_KINDS`):
    the credential's state, its status bit and its event. The caller re-indexes the
    organisation if the types of its current credentials changed (a revocation)."""
    action = STATUS_KINDS[kind]
    if action == "revoked":
        conn.execute(
            update(credentials).where(credentials.c.id == credential_id).values(state="revoked")
        )
        set_bits(conn, issuer_id, "revocation", [status_index], True)
    else:
        suspended = action == "suspended"
        conn.execute(
            update(credentials).where(credentials.c.id == credential_id).values(suspended=suspended)
        )
        set_bits(conn, issuer_id, "suspension", [status_index], suspended)
    conn.execute(
        credential_events.insert().values(
            ledger_index=ledger_index,
            credential_id=credential_id,
            kind=action,
            at=at,
            reason=reason,
        )
    )


def chunks(items: Sequence[Any], size: int) -> Iterable[Sequence[Any]]:
    """``items`` in slices of at most ``size`` (an ``IN (…)`` list's bound)."""
    for start in range(0, len(items), size):
        yield items[start : start + size]
