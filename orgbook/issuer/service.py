"""Issuance: registry records in, signed credentials on the ledger and in the projections out.

One call, :meth:`Issuance.submit`, takes a batch of registry records for one issuer and, in ONE
database transaction (so a crash leaves either all of it or none of it):

1. validates each record (bad ones are reported with their JSON-Schema path, the rest go on);
2. drops records whose registry event id was already processed (idempotency: same content →
   ``unchanged``; same id with other content → rejected, the registry must use a new id);
3. maps each record to credential drafts (:mod:`orgbook.issuer.mapping`);
4. orders them against what is already current for the same organisation and type: a newer one
   supersedes the current credential (``credential.superseded`` on the ledger, its revocation bit
   set with reason "superseded", history kept); an older one is issued as history, superseded at
   once by the newer credential that already exists;
5. builds and signs each credential (VC 2.0, ``eddsa-jcs-2022``) with the issuer's active key;
6. appends every issuance and supersession to the ledger (batched), writes the projections
   (credentials, history, organisations, names, relationships, status-list bits, search index)
   and signs a checkpoint.

Revocation, suspension and unsuspension go through the same ledger-then-projection path.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any, Literal

from sqlalchemy import Connection, DateTime, Engine, Table, bindparam, select, update

from orgbook.canonical import Canonical, canonicalize, is_fast_path_safe
from orgbook.credentials import CredentialType, build_credential, sign_credential_canonical
from orgbook.dataintegrity import format_datetime
from orgbook.db import stored_utc
from orgbook.errors import (
    BadInput,
    ConfigurationError,
    Conflict,
    Forbidden,
    InvalidRecord,
    NotFound,
    OrgBookError,
)
from orgbook.issuer import statuslists
from orgbook.issuer.keys import Issuer, IssuerKeys, get_issuer
from orgbook.issuer.mapping import CredentialDraft, map_record
from orgbook.issuer.recordcheck import parse_record_fast
from orgbook.issuer.records import Record
from orgbook.issuer.store import (
    credential_events,
    credentials,
    ingested_events,
    issuers,
    locate_document,
    organisation_names,
    organisations,
    relationships,
)
from orgbook.ledger.store import Ledger, _placeholder

__all__ = ["Issuance", "Outcome"]

OutcomeStatus = Literal["issued", "history", "unchanged", "rejected"]
_TYPES = {t.slug: t for t in CredentialType}


@dataclass(frozen=True, slots=True)
class Outcome:
    """What became of one submitted record."""

    index: int  # position in the batch (or line number in a bulk feed)
    event_id: str | None
    status: OutcomeStatus
    credentials: tuple[str, ...] = ()
    problem: Mapping[str, Any] | None = None

    def to_json(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "index": self.index,
            "eventId": self.event_id,
            "status": self.status,
            "credentials": list(self.credentials),
        }
        if self.problem is not None:
            body["problem"] = dict(self.problem)
        return body


@dataclass(slots=True)
class _Current:
    id: str
    effective: datetime
    status_index: int


@dataclass(slots=True)
class _Plan:
    """Everything one batch writes, gathered before the single round of inserts."""

    ledger_items: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    credential_rows: list[dict[str, Any]] = field(default_factory=list)
    # (ledger item position, credential id, kind, at, reason, related id)
    events: list[tuple[int, str, str, datetime, str | None, str | None]] = field(
        default_factory=list
    )
    superseded: list[tuple[str, str]] = field(default_factory=list)  # (old id, new id)
    revoke_bits: list[int] = field(default_factory=list)
    name_rows: list[dict[str, Any]] = field(default_factory=list)
    relationship_rows: list[dict[str, Any]] = field(default_factory=list)
    org_updates: dict[str, dict[str, Any]] = field(default_factory=dict)
    event_rows: list[dict[str, Any]] = field(default_factory=list)
    # credential id -> ledger item position (for the ledger index once appended)
    positions: dict[str, int] = field(default_factory=dict)
    created: str = ""  # the proofs' ``created``, formatted once per batch
    # Bulk feeds: mark the touched organisations for a later search reindex instead of now.
    defer_search: bool = False


def _utc(now: datetime | None) -> datetime:
    return (now or datetime.now(UTC)).astimezone(UTC)


@lru_cache(maxsize=4096)  # a record's drafts share its effective date
def _rfc3339(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _supersession_key(draft: CredentialDraft) -> str:
    return "|".join(draft.supersession_key)


def _record_hash(raw: Any) -> str:
    try:
        return hashlib.sha256(canonicalize(raw)).hexdigest()
    except OrgBookError:
        return hashlib.sha256(repr(raw).encode()).hexdigest()


class Issuance:
    """The issuer service's write path, bound to one database and ledger."""

    def __init__(
        self,
        engine: Engine,
        ledger: Ledger,
        *,
        passphrase: bytes,
        public_url: str,
        schema_base: str | None = None,
        index_search: bool = True,
    ) -> None:
        self.engine = engine
        self.ledger = ledger
        self.passphrase = passphrase
        self.public_url = public_url.rstrip("/")
        self.schema_base = schema_base
        self.index_search = index_search

    # --- records in ----------------------------------------------------------------------------

    def submit(
        self,
        issuer_id: str,
        records: Sequence[Any],
        *,
        now: datetime | None = None,
        numbers: Sequence[int] | None = None,
        checkpoint: bool = True,
        conn: Connection | None = None,
        defer_search: bool = False,
    ) -> list[Outcome]:
        """Issue credentials for a batch of records in one transaction; one outcome per record.

        ``defer_search`` (bulk feeds) marks the organisations touched in ``search_pending``
        instead of refreshing their search documents now; :func:`projections.flush_pending`
        indexes them later. Everything else (ledger, credentials, profiles) is current at once.
        """
        if conn is not None:
            return self._submit(
                conn, issuer_id, records, now, numbers, checkpoint, defer_search=defer_search
            )
        with self.engine.begin() as tx:
            return self._submit(
                tx, issuer_id, records, now, numbers, checkpoint, defer_search=defer_search
            )

    def _submit(
        self,
        conn: Connection,
        issuer_id: str,
        records: Sequence[Any],
        now: datetime | None,
        numbers: Sequence[int] | None,
        checkpoint: bool,
        *,
        defer_search: bool,
    ) -> list[Outcome]:
        at = _utc(now)
        _lock_issuer(conn, issuer_id)
        issuer = get_issuer(conn, issuer_id)
        numbers = list(numbers) if numbers is not None else list(range(len(records)))
        outcomes: dict[int, Outcome] = {}
        accepted: list[tuple[int, Record, str, list[CredentialDraft]]] = []

        # 1. validate and map each record on its own
        for pos, raw in enumerate(records):
            number = numbers[pos]
            event_id = raw.get("event_id") if isinstance(raw, Mapping) else None
            try:
                record = parse_record_fast(raw)  # jsonschema only for records it doubts
                self._check_scope(issuer, record)
                drafts = map_record(record, issuer_did=issuer.did, issuer_name=issuer.name)
                for draft in drafts:
                    if draft.type_slug not in issuer.credential_types:
                        raise Forbidden(
                            f"issuer {issuer.id!r} may not issue {draft.type_slug} credentials",
                            field="/kind",
                        )
            except ConfigurationError:
                # Not this record's fault (record schemas missing, …): every record would fail
                # the same way. Stop the batch; its transaction rolls back, nothing is rejected.
                raise
            except OrgBookError as exc:
                outcomes[pos] = Outcome(
                    number, _str_or_none(event_id), "rejected", problem=exc.problem()
                )
                continue
            accepted.append((pos, record, _record_hash(raw), drafts))

        # 2. idempotency on the registry's event id
        accepted = self._drop_seen(conn, issuer, accepted, numbers, outcomes)

        # 3–5. order against current credentials, build and sign
        keys = {_supersession_key(d) for _, _, _, drafts in accepted for d in drafts}
        current = self._current(conn, keys)
        plan = _Plan(created=format_datetime(at), defer_search=defer_search)
        if accepted:
            key_id, signer = IssuerKeys.active(conn, issuer.id, self.passphrase)
            first_index = statuslists.allocate(
                conn, issuer.id, sum(len(d) for _, _, _, d in accepted)
            )
            next_index = first_index
            for pos, record, digest, drafts in accepted:
                issued: list[str] = []
                status: OutcomeStatus = "issued"
                for draft in drafts:
                    cid, is_current = self._plan_credential(
                        plan, issuer, key_id, signer, record, draft, next_index, current, at
                    )
                    next_index += 1
                    issued.append(cid)
                    if not is_current:
                        status = "history"
                plan.event_rows.append(
                    {
                        "issuer_id": issuer.id,
                        "event_id": record.event_id,
                        "record_hash": digest,
                        "outcome": status,
                        "first": issued[0] if issued else None,
                    }
                )
                outcomes[pos] = Outcome(numbers[pos], record.event_id, status, tuple(issued))

        # 6. ledger, projections, checkpoint
        if plan.ledger_items:
            self._write(conn, issuer, plan, at)
            self._refresh_status_lists(conn, issuer.id, at)
        if checkpoint and plan.ledger_items:
            self.ledger.sign_checkpoint(conn, now=at)
        return [outcomes[pos] for pos in range(len(records))]

    @staticmethod
    def _check_scope(issuer: Issuer, record: Record) -> None:
        if record.jurisdiction != issuer.jurisdiction:
            raise Forbidden(
                f"issuer {issuer.id!r} registers organisations in {issuer.jurisdiction}, "
                f"not {record.jurisdiction}",
                field="/jurisdiction",
            )

    def _drop_seen(
        self,
        conn: Connection,
        issuer: Issuer,
        accepted: list[tuple[int, Record, str, list[CredentialDraft]]],
        numbers: Sequence[int],
        outcomes: dict[int, Outcome],
    ) -> list[tuple[int, Record, str, list[CredentialDraft]]]:
        if not accepted:
            return accepted
        ids = list({record.event_id for _, record, _, _ in accepted})
        seen: dict[str, str] = {}
        for chunk in _chunks(ids, 500):
            rows = conn.execute(
                select(ingested_events.c.event_id, ingested_events.c.record_hash).where(
                    ingested_events.c.issuer_id == issuer.id,
                    ingested_events.c.event_id.in_(chunk),
                )
            ).all()
            seen.update({row.event_id: row.record_hash for row in rows})
        fresh = []
        for item in accepted:
            pos, record, digest, _ = item
            previous = seen.get(record.event_id)
            if previous is None:
                seen[record.event_id] = digest
                fresh.append(item)
            elif previous == digest:
                outcomes[pos] = Outcome(numbers[pos], record.event_id, "unchanged")
            else:
                problem = Conflict(
                    f"event id {record.event_id!r} was already used for a different record",
                    field="/event_id",
                ).problem()
                outcomes[pos] = Outcome(numbers[pos], record.event_id, "rejected", problem=problem)
        return fresh

    def _current(self, conn: Connection, keys: Iterable[str]) -> dict[str, _Current]:
        found: dict[str, _Current] = {}
        for chunk in _chunks(sorted(keys), 500):
            rows = conn.execute(
                select(
                    credentials.c.id,
                    credentials.c.supersession_key,
                    credentials.c.effective,
                    credentials.c.status_index,
                ).where(credentials.c.supersession_key.in_(chunk), credentials.c.state == "current")
            ).all()
            for row in rows:
                found[row.supersession_key] = _Current(
                    row.id, stored_utc(row.effective), row.status_index
                )
        return found

    def _plan_credential(
        self,
        plan: _Plan,
        issuer: Issuer,
        key_id: str,
        signer: Any,
        record: Record,
        draft: CredentialDraft,
        status_index: int,
        current: dict[str, _Current],
        at: datetime,
    ) -> tuple[str, bool]:
        ctype = _TYPES[draft.type_slug]
        skey = _supersession_key(draft)
        cid = _credential_id(issuer.did, record.event_id, skey)
        unsigned = build_credential(
            credential_type=ctype,
            issuer=issuer.did,
            issuer_name=issuer.name,
            subject=draft.subject,
            subject_jurisdiction=record.jurisdiction,
            subject_number=record.registration_number,
            credential_id=cid,
            valid_from=_rfc3339(draft.effective),
            status_entries=statuslists.entries(self.public_url, issuer.id, status_index),
            **({"schema_base": self.schema_base} if self.schema_base else {}),
        )
        # Canonicalised once: the proof hashes, the ledger leaf and the stored document share it.
        # build_credential wraps the subject in string members and fixed ASCII names: once the
        # subject (the record's data) passes the guard, the whole credential is fast-path safe.
        signed, document = sign_credential_canonical(
            unsigned,
            signer,
            verification_method=key_id,
            created=plan.created,
            trusted=is_fast_path_safe(draft.subject),
        )
        previous = current.get(skey)
        is_current = previous is None or draft.effective >= previous.effective

        position = len(plan.ledger_items)
        plan.ledger_items.append(
            (
                "credential.issued",
                {
                    "credential": Canonical(signed, document),
                    "organisation": draft.organisation_id,
                    "type": draft.type_slug,
                    "eventId": record.event_id,
                    "current": is_current,
                    # What "the current one" means for this credential: replay needs it.
                    "supersessionKey": list(draft.supersession_key),
                },
            )
        )
        plan.positions[cid] = position
        plan.events.append((position, cid, "issued", at, None, None))
        plan.credential_rows.append(
            {
                "id": cid,
                "issuer_id": issuer.id,
                "organisation_id": draft.organisation_id,
                "type": draft.type_slug,
                "supersession_key": skey,
                "state": "current" if is_current else "superseded",
                "suspended": False,
                "effective": draft.effective,
                "event_id": record.event_id,
                "status_index": status_index,
                "superseded_by": None if is_current or previous is None else previous.id,
                "document": document,
            }
        )
        if is_current and previous is not None:
            self._plan_supersession(plan, previous, cid, draft, at)
        if not is_current and previous is not None:
            # An older record arrives late: kept as history, superseded by what is current.
            plan.revoke_bits.append(status_index)
            plan.ledger_items.append(
                (
                    "credential.superseded",
                    {
                        "credential": cid,
                        "supersededBy": previous.id,
                        "organisation": draft.organisation_id,
                        "reason": "a newer credential of this type was already current",
                    },
                )
            )
            plan.events.append(
                (
                    len(plan.ledger_items) - 1,
                    cid,
                    "superseded",
                    at,
                    "out-of-order record",
                    previous.id,
                )
            )
        if is_current:
            current[skey] = _Current(cid, draft.effective, status_index)
        self._plan_projections(plan, record, draft, cid, is_current)
        return cid, is_current

    @staticmethod
    def _plan_supersession(
        plan: _Plan, previous: _Current, new_id: str, draft: CredentialDraft, at: datetime
    ) -> None:
        plan.superseded.append((previous.id, new_id))
        plan.revoke_bits.append(previous.status_index)
        plan.ledger_items.append(
            (
                "credential.superseded",
                {
                    "credential": previous.id,
                    "supersededBy": new_id,
                    "organisation": draft.organisation_id,
                    "reason": "superseded",
                },
            )
        )
        plan.events.append(
            (len(plan.ledger_items) - 1, previous.id, "superseded", at, "superseded", new_id)
        )

    @staticmethod
    def _plan_projections(
        plan: _Plan, record: Record, draft: CredentialDraft, cid: str, is_current: bool
    ) -> None:
        subject = draft.subject
        org = plan.org_updates.setdefault(
            draft.organisation_id,
            {
                "id": draft.organisation_id,
                "jurisdiction": record.jurisdiction,
                "registration_number": record.registration_number,
            },
        )
        slug = draft.type_slug
        if slug == "legal-name":
            plan.name_rows.append(
                {
                    "credential_id": cid,
                    "organisation_id": draft.organisation_id,
                    "name": subject["legalName"],
                    "language": subject.get("language"),
                    "alternate_names": json.dumps(
                        subject.get("alternateNames") or [], ensure_ascii=False, sort_keys=True
                    ),
                    "valid_from": draft.effective,
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
            plan.relationship_rows.append(
                {
                    "credential_id": cid,
                    "organisation_id": draft.organisation_id,
                    "related_organisation_id": _org_id_from_subject(related),
                    "relationship_type": subject["relationshipType"],
                    "related_name": related.get("name"),
                }
            )

    def _write(self, conn: Connection, issuer: Issuer, plan: _Plan, at: datetime) -> None:
        data: list[bytes] = []
        entries = self.ledger.append_many(conn, plan.ledger_items, now=at, leaf_bytes=data)
        self.write_projections(conn, issuer, plan, [entry.index for entry in entries], data)

    def write_projections(
        self,
        conn: Connection,
        issuer: Issuer,
        plan: _Plan,
        indices: Sequence[int],
        leaf_bytes: Sequence[bytes],
    ) -> None:
        """Write what ``plan`` changes in the projections, its ledger items being at ``indices``
        with those ``leaf_bytes`` (the credentials' documents are located in them).

        Used by issuance (right after the append, same transaction) and by ``ledger replay``.
        """
        for row in plan.credential_rows:
            position = plan.positions[row["id"]]
            row["ledger_index"] = indices[position]
            offset, length = locate_document(leaf_bytes[position], row.pop("document"))
            row["document_offset"] = offset
            row["document_length"] = length
        _insert_rows(conn, credentials, plan.credential_rows)
        if plan.superseded:
            conn.execute(
                update(credentials)
                .where(credentials.c.id == bindparam("old_id"))
                .values(state="superseded", superseded_by=bindparam("new_id")),
                [{"old_id": old, "new_id": new} for old, new in plan.superseded],
            )
            old_ids = [old for old, _ in plan.superseded]
            for chunk in _chunks(old_ids, 500):
                conn.execute(
                    update(organisation_names)
                    .where(organisation_names.c.credential_id.in_(chunk))
                    .values(current=False)
                )
        if plan.events:
            _insert_rows(
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
                    for pos, cid, kind, when, reason, related in plan.events
                ],
            )
        if plan.revoke_bits:
            statuslists.set_bits(conn, issuer.id, "revocation", plan.revoke_bits, True)
        if plan.name_rows:
            # A name superseded within this same batch is not current either (the UPDATE above
            # only reached rows that were already stored).
            superseded_now = {old for old, _ in plan.superseded}
            for row in plan.name_rows:
                if row["credential_id"] in superseded_now:
                    row["current"] = False
            _insert_rows(conn, organisation_names, plan.name_rows)
        if plan.relationship_rows:
            _insert_rows(conn, relationships, plan.relationship_rows)
        for row in plan.event_rows:
            row["ledger_index"] = (
                indices[plan.positions[row.pop("first")]] if row.get("first") else None
            )
            row.pop("first", None)
        if plan.event_rows:
            _insert_rows(conn, ingested_events, plan.event_rows)
        last_index = indices[-1]
        self._upsert_organisations(conn, issuer, plan.org_updates, last_index)
        if self.index_search:
            from orgbook.issuer import projections

            if plan.defer_search:
                projections.mark_pending(conn, list(plan.org_updates))
            else:
                projections.reindex(conn, list(plan.org_updates))

    @staticmethod
    def _upsert_organisations(
        conn: Connection, issuer: Issuer, updates: dict[str, dict[str, Any]], index: int
    ) -> None:
        ids = list(updates)
        existing: set[str] = set()
        for chunk in _chunks(ids, 500):
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
                        "issuer_id": issuer.id,
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
            _insert_rows(conn, organisations, inserts)

    # --- revocation and suspension -----------------------------------------------------------

    def change_status(
        self,
        issuer_id: str,
        credential_id: str,
        action: Literal["revoke", "suspend", "unsuspend"],
        *,
        reason: str,
        now: datetime | None = None,
    ) -> int:
        """Revoke, suspend or unsuspend one credential; returns the ledger index of the event."""
        if not reason or not reason.strip():
            raise BadInput("a reason is required", field="reason")
        if len(reason) > 1000:
            raise BadInput("the reason is longer than 1000 characters", field="reason")
        at = _utc(now)
        with self.engine.begin() as conn:
            _lock_issuer(conn, issuer_id)
            row = conn.execute(select(credentials).where(credentials.c.id == credential_id)).first()
            if row is None:
                raise NotFound(f"no credential {credential_id!r}", field="credentialId")
            if row.issuer_id != issuer_id:
                raise Forbidden(
                    "this credential was issued by another issuer", field="credentialId"
                )
            if row.state == "revoked":
                raise Conflict("the credential is already revoked", field="credentialId")
            if action == "suspend" and row.suspended:
                raise Conflict("the credential is already suspended", field="credentialId")
            if action == "unsuspend" and not row.suspended:
                raise Conflict("the credential is not suspended", field="credentialId")
            kind = {
                "revoke": "credential.revoked",
                "suspend": "credential.suspended",
                "unsuspend": "credential.unsuspended",
            }[action]
            entry = self.ledger.append(
                conn,
                kind,
                {
                    "credential": credential_id,
                    "organisation": row.organisation_id,
                    "reason": reason.strip(),
                },
                now=at,
            )
            if action == "revoke":
                conn.execute(
                    update(credentials)
                    .where(credentials.c.id == credential_id)
                    .values(state="revoked")
                )
                statuslists.set_bits(conn, issuer_id, "revocation", [row.status_index], True)
            else:
                suspended = action == "suspend"
                conn.execute(
                    update(credentials)
                    .where(credentials.c.id == credential_id)
                    .values(suspended=suspended)
                )
                statuslists.set_bits(conn, issuer_id, "suspension", [row.status_index], suspended)
            conn.execute(
                credential_events.insert().values(
                    ledger_index=entry.index,
                    credential_id=credential_id,
                    kind=kind.split(".", 1)[1],
                    at=at,
                    reason=reason.strip(),
                )
            )
            if action == "revoke" and self.index_search:
                # The search document lists the types of current credentials (a filter): a
                # revoked one leaves it, as replaying the ledger would have it.
                from orgbook.issuer import projections

                projections.reindex(conn, [row.organisation_id])
            self._refresh_status_lists(conn, issuer_id, at)
            self.ledger.sign_checkpoint(conn, now=at)
            return entry.index

    def _refresh_status_lists(self, conn: Connection, issuer_id: str, at: datetime) -> None:
        # Signed now, in the same transaction: replicas without keys serve them as stored.
        statuslists.refresh_signed(
            conn,
            issuer_id=issuer_id,
            public_url=self.public_url,
            passphrase=self.passphrase,
            ledger=self.ledger,
            now=at,
        )


def _lock_issuer(conn: Connection, issuer_id: str) -> None:
    """Serialise one issuer's writers for the rest of the transaction.

    Everything after this reads state and writes from what it read: seen event ids, the current
    credential of each supersession key, the next status index, status-list bits, a
    credential's state. SQLite's ``BEGIN IMMEDIATE`` already serialises writers; on PostgreSQL
    (READ COMMITTED) concurrent batches otherwise shared status indices, and concurrent
    revocations of one credential each appended an entry.
    """
    conn.execute(select(issuers.c.id).where(issuers.c.id == issuer_id).with_for_update())


def _credential_id(issuer_did: str, event_id: str, key: str) -> str:
    from orgbook.credentials import credential_id

    return credential_id(issuer_did, event_id, key)


def _org_id_from_subject(related: Mapping[str, Any]) -> str:
    from orgbook.credentials import organisation_id

    return organisation_id(str(related["jurisdiction"]), str(related["registeredId"]))


def _str_or_none(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _insert_rows(conn: Connection, table: Table, rows: Sequence[Mapping[str, Any]]) -> None:
    """``conn.execute(table.insert(), rows)`` through the driver's ``executemany`` directly.

    SQLAlchemy's per-row parameter processing was most of the projections' cost. Each value still
    goes through its column type's own bind processor for this dialect (SQLite's ``DateTime``
    text, ``Boolean`` integers), so what is stored is exactly what ``execute`` stores. Every row
    must have the same keys, all of them columns (the tables' Python defaults are not applied).
    """
    if not rows:
        return
    dialect = conn.dialect
    names = list(rows[0])
    processors: list[tuple[int, Any]] = []
    for position, name in enumerate(names):
        column_type = table.c[name].type
        process = column_type.dialect_impl(dialect).bind_processor(dialect)
        if process is not None:
            if isinstance(column_type, DateTime):
                process = _memoised(process)  # a batch shares a few instants
            processors.append((position, process))
    params: list[tuple[Any, ...]] = []
    for row in rows:
        if len(row) != len(names):
            raise ValueError(f"rows for {table.name} have different columns")
        values = [row[name] for name in names]
        for position, process in processors:
            value = values[position]
            if value is not None:
                values[position] = process(value)
        params.append(tuple(values))
    quote = dialect.identifier_preparer.quote
    mark = _placeholder(conn)
    conn.exec_driver_sql(
        f"INSERT INTO {quote(table.name)} ({', '.join(quote(name) for name in names)}) "
        f"VALUES ({', '.join([mark] * len(names))})",
        params,
    )


def _memoised(process: Any) -> Any:
    # Keyed on the offset too: equal instants in other zones have other field values.
    seen: dict[Any, Any] = {}

    def run(value: Any) -> Any:
        key = (value, value.utcoffset())
        found = seen.get(key, seen)
        if found is seen:
            found = seen[key] = process(value)
        return found

    return run


def _chunks(items: Sequence[Any], size: int) -> Iterable[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


# Raised by parse_record; imported here so callers can catch it from one place.
_ = InvalidRecord
