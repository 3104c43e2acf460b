"""Read models derived from the ledger: the search index and a full rebuild (``ledger replay``).

``reindex`` refreshes the search documents of organisations a batch touched, from the
projection tables, inside the issuing transaction. ``replay`` drops every projection and
rebuilds it from the ledger entries alone, which is what makes the ledger the source of truth.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

from sqlalchemy import Connection, delete, func, select, update

from orgbook.canonical import canonicalize
from orgbook.db import insert_ignoring_conflicts
from orgbook.issuer.keys import Issuer, list_issuers
from orgbook.issuer.statuslists import PUBLISHED_KIND, record_published
from orgbook.issuer.store import (
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
from orgbook.ledger.store import Ledger

__all__ = ["ReplayReport", "flush_pending", "mark_pending", "pending_count", "reindex", "replay"]


def reindex(conn: Connection, org_ids: Sequence[str]) -> None:
    """Rebuild the search documents of ``org_ids`` from the projections."""
    from orgbook.verifier.search import NameEntry, OrgDoc, upsert_orgs

    if not org_ids:
        return
    docs = []
    for start in range(0, len(org_ids), 500):
        chunk = list(org_ids[start : start + 500])
        orgs = conn.execute(select(organisations).where(organisations.c.id.in_(chunk))).all()
        names: dict[str, list[Any]] = defaultdict(list)
        for row in conn.execute(
            select(
                organisation_names.c.organisation_id,
                organisation_names.c.name,
                organisation_names.c.language,
                organisation_names.c.alternate_names,
                organisation_names.c.valid_from,
                organisation_names.c.current,
            )
            .where(organisation_names.c.organisation_id.in_(chunk))
            .order_by(organisation_names.c.valid_from)
        ):
            names[row.organisation_id].append(row)
        kinds: dict[str, set[str]] = defaultdict(set)
        issuers: dict[str, set[str]] = defaultdict(set)
        for cred in conn.execute(
            select(credentials.c.organisation_id, credentials.c.type, credentials.c.issuer_id)
            .where(credentials.c.organisation_id.in_(chunk), credentials.c.state == "current")
            .distinct()
        ):
            kinds[cred.organisation_id].add(cred.type)
            issuers[cred.organisation_id].add(cred.issuer_id)
        for org in orgs:
            entries: list[NameEntry] = []
            for row in names[org.id]:
                entries.append(
                    NameEntry(
                        name=row.name,
                        kind="current" if row.current else "former",
                        language=row.language,
                        valid_from=row.valid_from.date().isoformat() if row.valid_from else None,
                    )
                )
                for alt in json.loads(row.alternate_names or "[]") if row.current else []:
                    entries.append(
                        NameEntry(name=alt["name"], kind="alternate", language=alt.get("language"))
                    )
            if not entries and org.name:
                entries.append(NameEntry(name=org.name, kind="current"))
            docs.append(
                OrgDoc(
                    org_id=org.id,
                    jurisdiction=org.jurisdiction,
                    registration_number=org.registration_number,
                    business_number=org.business_number,
                    names=entries,
                    status=org.status,
                    entity_type=org.entity_type,
                    issuers=sorted(issuers[org.id] or {org.issuer_id}),
                    credential_types=sorted(kinds[org.id]),
                )
            )
    upsert_orgs(conn, docs)


def mark_pending(conn: Connection, org_ids: Sequence[str]) -> None:
    """Record that the search documents of ``org_ids`` are due (idempotent), in the caller's
    transaction: the batch that changed them commits the mark with the change."""
    rows = [{"organisation_id": org_id} for org_id in dict.fromkeys(org_ids)]
    insert_ignoring_conflicts(conn, search_pending, rows)


def pending_count(conn: Connection) -> int:
    """How many organisations wait for their search documents."""
    return int(conn.execute(select(func.count()).select_from(search_pending)).scalar_one())


def flush_pending(
    conn: Connection,
    *,
    chunk: int = 2000,
    progress: Callable[[int], None] | None = None,
) -> int:
    """Index every organisation marked by :func:`mark_pending` and clear the marks.

    One transaction per ``chunk`` organisations (``conn`` must not be in a transaction), so the
    work is resumable: a crash leaves the rest marked. Returns how many were indexed.

    Each chunk first locks every issuer row (in id order, as issuance locks its own): two
    feeds ending at once, or a feed's flush and an API batch re-indexing the same organisation,
    would otherwise rewrite the same search rows concurrently (on PostgreSQL, a duplicate key).
    """
    done = 0
    while True:
        with conn.begin():
            conn.execute(select(issuers.c.id).order_by(issuers.c.id).with_for_update()).all()
            org_ids = list(
                conn.execute(
                    select(search_pending.c.organisation_id)
                    .order_by(search_pending.c.organisation_id)
                    .limit(chunk)
                ).scalars()
            )
            if not org_ids:
                return done
            reindex(conn, org_ids)
            for start in range(0, len(org_ids), 500):
                conn.execute(
                    delete(search_pending).where(
                        search_pending.c.organisation_id.in_(org_ids[start : start + 500])
                    )
                )
        done += len(org_ids)
        if progress is not None:
            progress(done)


@dataclass(frozen=True, slots=True)
class ReplayReport:
    entries: int
    organisations: int
    credentials: int

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
    record of signed status-list versions (``statuslist.published``) and the search index come
    back exactly as issuance wrote them; issuers, their sealed keys, API keys
    and ingestion bookkeeping are not projections and are kept. Runs in the caller's transaction.
    """
    from orgbook.issuer.service import Issuance, _Plan

    issuer_by_did = {issuer.did: issuer for issuer in list_issuers(conn)}
    old_orgs = set(conn.execute(select(organisations.c.id)).scalars())
    for table in _PROJECTIONS:
        conn.execute(delete(table))
    writer = Issuance(conn.engine, ledger, passphrase=b"", public_url="", index_search=False)
    size = ledger.size(conn)
    count = 0
    status_index: dict[str, tuple[str, int]] = {}  # credential id -> (issuer id, index)
    # Per issuer: the plan, and its ledger items' indices and leaf bytes (parallel lists).
    plans: dict[str, tuple[_Plan, list[int], list[bytes]]] = {}
    issuers_by_id = {issuer.id: issuer for issuer in issuer_by_did.values()}

    def plan_for(issuer: Issuer) -> tuple[_Plan, list[int], list[bytes]]:
        return plans.setdefault(issuer.id, (_Plan(), [], []))

    def flush() -> None:
        for issuer_id, (plan, indices, data) in plans.items():
            writer.write_projections(conn, issuers_by_id[issuer_id], plan, indices, data)
        plans.clear()

    for start in range(0, size, batch_size):
        for stored in ledger.entries(conn, start, min(start + batch_size, size)):
            entry = stored.entry
            payload = entry.payload
            at = _timestamp(entry.timestamp)
            if entry.kind == "credential.issued":
                credential = payload["credential"]
                issuer = issuer_by_did[_issuer_did(credential)]
                plan, indices, data = plan_for(issuer)
                cid = _replay_issued(plan, indices, entry.index, payload, issuer, at)
                data.append(stored.data)
                status_index[cid] = (issuer.id, plan.credential_rows[-1]["status_index"])
            elif entry.kind == "credential.superseded":
                old, new = payload["credential"], payload["supersededBy"]
                issuer_id, index = status_index[old]
                plan, indices, data = plan_for(issuers_by_id[issuer_id])
                position = len(indices)
                indices.append(entry.index)
                data.append(stored.data)
                plan.superseded.append((old, new))
                plan.revoke_bits.append(index)
                plan.events.append((position, old, "superseded", at, payload.get("reason"), new))
            elif entry.kind in _STATUS_KINDS:
                flush()
                issuer_id, index = status_index[payload["credential"]]
                _replay_status(conn, entry.kind, payload, issuer_id, index, entry.index, at)
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
    from orgbook.verifier.search import delete_org

    for org_id in old_orgs - set(new_orgs):
        delete_org(conn, org_id)
    conn.execute(delete(search_pending))  # every document was just rebuilt
    return ReplayReport(entries=count, organisations=len(new_orgs), credentials=len(status_index))


_STATUS_KINDS = {
    "credential.revoked": "revoked",
    "credential.suspended": "suspended",
    "credential.unsuspended": "unsuspended",
}


def _timestamp(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)


def _issuer_did(credential: Mapping[str, Any]) -> str:
    issuer = credential["issuer"]
    return str(issuer["id"] if isinstance(issuer, Mapping) else issuer)


def _status_index(credential: Mapping[str, Any]) -> int:
    from orgbook.issuer.statuslists import LIST_SIZE

    entry = credential["credentialStatus"][0]
    number = int(str(entry["statusListCredential"]).rsplit("/", 1)[1])
    return number * LIST_SIZE + int(entry["statusListIndex"])


def _replay_issued(
    plan: Any,
    indices: list[int],
    ledger_index: int,
    payload: Mapping[str, Any],
    issuer: Issuer,
    at: datetime,
) -> str:
    from orgbook.issuer.mapping import CredentialDraft
    from orgbook.issuer.service import Issuance

    credential = payload["credential"]
    cid = str(credential["id"])
    org_id = str(payload["organisation"])
    jurisdiction, number = org_id.split(":", 1)
    subject = {k: v for k, v in credential["credentialSubject"].items() if k != "id"}
    effective = _timestamp(credential["validFrom"])
    key = tuple(payload["supersessionKey"])
    draft = CredentialDraft(
        type_slug=str(payload["type"]),
        subject=subject,
        supersession_key=key,
        effective=effective,
        event_id=str(payload["eventId"]),
        organisation_id=org_id,
    )
    current = bool(payload["current"])
    position = len(indices)
    indices.append(ledger_index)
    plan.positions[cid] = position
    plan.events.append((position, cid, "issued", at, None, None))
    plan.credential_rows.append(
        {
            "id": cid,
            "issuer_id": issuer.id,
            "organisation_id": org_id,
            "type": draft.type_slug,
            "supersession_key": "|".join(key),
            "state": "current" if current else "superseded",
            "suspended": False,
            "effective": effective,
            "event_id": draft.event_id,
            "status_index": _status_index(credential),
            "superseded_by": None,
            "document": canonicalize(credential),
        }
    )
    record = SimpleNamespace(jurisdiction=jurisdiction, registration_number=number)
    Issuance._plan_projections(plan, record, draft, cid, current)  # type: ignore[arg-type]
    return cid


def _replay_status(
    conn: Connection,
    kind: str,
    payload: Mapping[str, Any],
    issuer_id: str,
    index: int,
    ledger_index: int,
    at: datetime,
) -> None:
    from orgbook.issuer.statuslists import set_bits

    cid = str(payload["credential"])
    action = _STATUS_KINDS[kind]
    if action == "revoked":
        conn.execute(update(credentials).where(credentials.c.id == cid).values(state="revoked"))
        set_bits(conn, issuer_id, "revocation", [index], True)
    else:
        suspended = action == "suspended"
        conn.execute(update(credentials).where(credentials.c.id == cid).values(suspended=suspended))
        set_bits(conn, issuer_id, "suspension", [index], suspended)
    conn.execute(
        credential_events.insert().values(
            ledger_index=ledger_index,
            credential_id=cid,
            kind=action,
            at=at,
            reason=payload.get("reason"),
        )
    )
