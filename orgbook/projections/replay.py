"""``ledger replay``: drop every projection and rebuild it from the ledger entries alone.

Which is what makes the ledger the source of truth: the rows come back through the same code
issuance writes them with (:mod:`orgbook.projections.write`), and the search documents through
:mod:`orgbook.projections.searchdocs`. The projection audit runs this against a scratch database
(:mod:`orgbook.projections.derive`).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, delete, select

from orgbook.core.canonical import canonicalize
from orgbook.core.credential_types import REGISTERED_KIND
from orgbook.core.time import parse_time
from orgbook.ledger.store import Ledger
from orgbook.projections.authorisations import AuthorisationState, authorisations
from orgbook.projections.credential_types import credential_types, record_type
from orgbook.projections.searchdocs import reindex
from orgbook.projections.status import LIST_SIZE, PUBLISHED_KIND, record_published
from orgbook.projections.tables import (
    credential_events,
    credentials,
    issuers,
    organisation_names,
    organisations,
    relationships,
    search_pending,
    status_list_versions,
    status_lists,
)
from orgbook.projections.write import STATUS_KINDS, Batch, status_changed, valid_until_of
from orgbook.search import delete_org
from orgbook.verification.authorisation import governance_failure

__all__ = ["ReplayReport", "replay"]


@dataclass(frozen=True, slots=True)
class ReplayReport:
    entries: int
    organisations: int
    credentials: int
    # (ledger index, reason) of each credential.issued entry no authorisation covered
    unauthorised: tuple[tuple[int, str], ...] = ()

    def summary(self) -> str:
        return (
            f"replayed {self.entries:,} ledger entries: {self.organisations:,} organisations, "
            f"{self.credentials:,} credentials"
        )


_PROJECTIONS = (
    credential_events,
    relationships,
    organisation_names,
    credentials,
    organisations,
    status_lists,
    status_list_versions,
    authorisations,
    credential_types,
)


def replay(
    conn: Connection,
    ledger: Ledger,
    *,
    batch_size: int = 1000,
    progress: Callable[[int, int], None] | None = None,
) -> ReplayReport:
    """Drop every projection and rebuild it from the ledger entries alone.

    Organisations, credentials and their history, names, relationships, status-list bits, the
    record of signed status-list versions (``statuslist.published``), the authorisations
    (``authorisation.granted``/``withdrawn``), the credential types
    (``type.registered``) and the search index come back exactly as
    issuance wrote them; every ``credential.issued`` entry is re-checked against the
    authorisations in force at its index (``unauthorised`` in the report); issuers, their sealed
    keys, API keys and ingestion bookkeeping are not projections and are kept. Runs in the
    caller's transaction.
    """
    issuer_rows = conn.execute(select(issuers.c.id, issuers.c.did, issuers.c.credential_types))
    issuer_by_did: dict[str, str] = {}
    registered: dict[str, frozenset[str]] = {}
    for row in issuer_rows:
        issuer_by_did[row.did] = row.id
        registered[row.did] = frozenset(json.loads(row.credential_types))
    authorised = AuthorisationState(registered)
    old_orgs = set(conn.execute(select(organisations.c.id)).scalars())
    for table in _PROJECTIONS:
        conn.execute(delete(table))
    size = ledger.size(conn)
    count = 0
    status_index: dict[str, tuple[str, int]] = {}  # credential id -> (issuer id, index)
    # Per issuer: its batch, and its entries' indices and leaf bytes (parallel lists).
    batches: dict[str, tuple[Batch, list[int], list[bytes]]] = {}

    def batch_for(issuer_id: str) -> tuple[Batch, list[int], list[bytes]]:
        return batches.setdefault(issuer_id, (Batch(), [], []))

    def flush() -> None:
        for issuer_id, (batch, indices, data) in batches.items():
            batch.write(conn, issuer_id, indices, data, search="skip")
        batches.clear()

    for start in range(0, size, batch_size):
        for stored in ledger.entries(conn, start, min(start + batch_size, size)):
            entry = stored.entry
            payload = entry.payload
            at = _timestamp(entry.timestamp)
            if authorised.see(conn, entry):
                pass  # governance keys and authorisations (orgbook.projections.authorisations)
            elif entry.kind == REGISTERED_KIND:
                # A type counts only when a governance key in force signed it.
                body = payload.get("credentialType")
                if governance_failure(body, authorised.keys(), entry.index) is None:
                    record_type(conn, entry)
            elif entry.kind == "credential.issued":
                authorised.check_issued(entry)
                credential = payload["credential"]
                issuer_id = issuer_by_did[_issuer_did(credential)]
                batch, indices, data = batch_for(issuer_id)
                cid = _replay_issued(batch, len(indices), payload, issuer_id, at)
                indices.append(entry.index)
                data.append(stored.data)
                status_index[cid] = (issuer_id, batch.credential_rows[-1]["status_index"])
            elif entry.kind == "credential.superseded":
                old, new = payload["credential"], payload["supersededBy"]
                issuer_id, index = status_index[old]
                batch, indices, data = batch_for(issuer_id)
                reason = payload.get("reason")
                batch.supersede(len(indices), old, by=new, status_index=index, at=at, reason=reason)
                indices.append(entry.index)
                data.append(stored.data)
            elif entry.kind in STATUS_KINDS:
                flush()
                issuer_id, index = status_index[payload["credential"]]
                status_changed(
                    conn,
                    entry.kind,
                    credential_id=str(payload["credential"]),
                    issuer_id=issuer_id,
                    status_index=index,
                    ledger_index=entry.index,
                    at=at,
                    reason=payload.get("reason"),
                )
            elif entry.kind == PUBLISHED_KIND:
                # The signed versions' record; the signatures themselves (a cache) are made
                # again, and logged again, when next served.
                record_published(conn, payload, entry.index)
            count += 1
        flush()
        if progress is not None:
            progress(min(start + batch_size, size), size)
    new_orgs = list(conn.execute(select(organisations.c.id)).scalars())
    for start in range(0, len(new_orgs), 1000):
        reindex(conn, new_orgs[start : start + 1000])
    for org_id in old_orgs - set(new_orgs):
        delete_org(conn, org_id)
    conn.execute(delete(search_pending))  # every document was just rebuilt
    return ReplayReport(
        entries=count,
        organisations=len(new_orgs),
        credentials=len(status_index),
        unauthorised=tuple(authorised.unauthorised),
    )


def _timestamp(text: str) -> datetime:
    return parse_time(text)


def _issuer_did(credential: Mapping[str, Any]) -> str:
    issuer = credential["issuer"]
    return str(issuer["id"] if isinstance(issuer, Mapping) else issuer)


def _status_index(credential: Mapping[str, Any]) -> int:
    entry = credential["credentialStatus"][0]
    number = int(str(entry["statusListCredential"]).rsplit("/", 1)[1])
    return number * LIST_SIZE + int(entry["statusListIndex"])


def _replay_issued(
    batch: Batch, position: int, payload: Mapping[str, Any], issuer_id: str, at: datetime
) -> str:
    """A ``credential.issued`` entry into ``batch`` at ``position``; the credential's id."""
    credential = payload["credential"]
    cid = str(credential["id"])
    org_id = str(payload["organisation"])
    jurisdiction, number = org_id.split(":", 1)
    current = bool(payload["current"])
    batch.issued(
        position,
        credential_id=cid,
        issuer_id=issuer_id,
        organisation=org_id,
        jurisdiction=jurisdiction,
        registration_number=number,
        type_slug=str(payload["type"]),
        subject={k: v for k, v in credential["credentialSubject"].items() if k != "id"},
        supersession_key="|".join(payload["supersessionKey"]),
        current=current,
        effective=_timestamp(credential["validFrom"]),
        valid_until=valid_until_of(credential),
        event_id=str(payload["eventId"]),
        status_index=_status_index(credential),
        superseded_by=None,
        document=canonicalize(credential),
        at=at,
    )
    return cid
