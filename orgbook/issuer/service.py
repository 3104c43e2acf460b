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
6. appends every issuance and supersession to the ledger (batched), has the projections
   (credentials, history, organisations, names, relationships, status-list bits, search index)
   written for them (:mod:`orgbook.projections.write`, the code ``ledger replay`` runs too)
   and signs a checkpoint.

Revocation, suspension and unsuspension go through the same ledger-then-projection path.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from sqlalchemy import Connection, select

from orgbook.core.canonical import canonicalize
from orgbook.core.errors import (
    BadInput,
    ConfigurationError,
    Conflict,
    Forbidden,
    InvalidRecord,
    NotFound,
    OrgBookError,
)
from orgbook.core.time import format_time
from orgbook.issuer import statuslists
from orgbook.issuer.keys import Issuer, IssuerKeys, get_issuer
from orgbook.issuer.mapping import CredentialDraft, map_record
from orgbook.issuer.plan import (
    Placed,
    Plan,
    current_credentials,
    plan_credential,
    supersession_key,
)
from orgbook.issuer.records import Record, parse_record_fast
from orgbook.issuer.store import ingested_events
from orgbook.projections import searchdocs
from orgbook.projections.tables import credentials, issuers
from orgbook.projections.write import SearchUpdate, chunks, status_changed
from orgbook.runtime.registry import Registry
from orgbook.storage.engine import insert_rows

__all__ = ["Issuance", "Outcome"]

OutcomeStatus = Literal["issued", "history", "unchanged", "rejected"]


@dataclass(frozen=True, slots=True)
class Outcome:
    """What became of one submitted record."""

    index: int  # position in the batch (or line number in a bulk feed)
    event_id: str | None
    status: OutcomeStatus
    credentials: tuple[str, ...] = ()
    problem: Mapping[str, Any] | None = None

    @property
    def issued(self) -> int:
        """How many credentials this record issued (none when it was unchanged)."""
        return 0 if self.status == "unchanged" else len(self.credentials)

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


def _utc(now: datetime | None) -> datetime:
    return (now or datetime.now(UTC)).astimezone(UTC)


def _record_hash(raw: Any) -> str:
    try:
        return hashlib.sha256(canonicalize(raw)).hexdigest()
    except OrgBookError:
        return hashlib.sha256(repr(raw).encode()).hexdigest()


class Issuance:
    """The issuer service's write path, bound to one database and ledger."""

    def __init__(self, registry: Registry) -> None:
        """The write path of ``registry``, which must be open with its signing keys."""
        if registry.passphrase is None:
            raise ConfigurationError("this registry was opened without signing keys")
        self.registry = registry
        self.engine = registry.engine
        self.ledger = registry.ledger
        self.passphrase = registry.passphrase
        self.public_url = registry.settings.public_url.rstrip("/")
        self.schema_base = registry.settings.schema_base

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
        instead of refreshing their search documents now;
        :func:`orgbook.projections.searchdocs.flush_pending` indexes them later. Everything else
        (ledger, credentials, profiles) is current at once.
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
        keys = {supersession_key(d) for _, _, _, drafts in accepted for d in drafts}
        current = current_credentials(conn, keys)
        plan = Plan(
            created=format_time(at, "trimmed"),
            public_url=self.public_url,
            schema_base=self.schema_base,
            defer_search=defer_search,
        )
        if accepted:
            key_id, signer = IssuerKeys.active(conn, issuer.id, self.passphrase)
            first_index = statuslists.allocate(
                conn, issuer.id, sum(len(d) for _, _, _, d in accepted)
            )
            next_index = first_index
            for pos, record, digest, drafts in accepted:
                issued: list[str] = []  # every credential stating the record, new or current
                new: list[str] = []  # those this record issues
                placed: set[Placed] = set()
                for draft in drafts:
                    cid, where = plan_credential(
                        plan, issuer, key_id, signer, record, draft, next_index, current, at
                    )
                    next_index += 1
                    issued.append(cid)
                    placed.add(where)
                    if where != "unchanged":
                        new.append(cid)
                # a snapshot sent again under a new event id states only what is current
                status: OutcomeStatus = (
                    "history"
                    if "history" in placed
                    else "issued"
                    if new or not drafts
                    else "unchanged"
                )
                plan.event_rows.append(
                    {
                        "issuer_id": issuer.id,
                        "event_id": record.event_id,
                        "record_hash": digest,
                        "outcome": status,
                        # the ledger entry of the first credential this record issued
                        "first": new[0] if new else None,
                    }
                )
                # what it issued; for a snapshot sent again, the credentials stating it already
                named = issued if status == "unchanged" else new
                outcomes[pos] = Outcome(numbers[pos], record.event_id, status, tuple(named))

        # 6. ledger, projections, checkpoint
        if plan.ledger_items:
            self._write(conn, issuer, plan, at)
            self._refresh_status_lists(conn, issuer.id, at)
        elif plan.event_rows:  # only snapshots sent again: their event ids are still recorded
            for row in plan.event_rows:
                row.pop("first", None)
                row["ledger_index"] = None
            insert_rows(conn, ingested_events, plan.event_rows)
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
        for chunk in chunks(ids, 500):
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

    def _write(self, conn: Connection, issuer: Issuer, plan: Plan, at: datetime) -> None:
        """Append the batch's entries, then write what they change in the projections and the
        registry event ids seen, in the same transaction."""
        data: list[bytes] = []
        entries = self.ledger.append_many(conn, plan.ledger_items, now=at, leaf_bytes=data)
        indices = [entry.index for entry in entries]
        search: SearchUpdate = "defer" if plan.defer_search else "now"
        plan.projections.write(conn, issuer.id, indices, data, search=search)
        for row in plan.event_rows:
            first = row.pop("first", None)
            row["ledger_index"] = indices[plan.projections.positions[first]] if first else None
        insert_rows(conn, ingested_events, plan.event_rows)

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
            status_changed(
                conn,
                kind,
                credential_id=credential_id,
                issuer_id=issuer_id,
                status_index=row.status_index,
                ledger_index=entry.index,
                at=at,
                reason=reason.strip(),
            )
            # The search document lists the types and issuers of current credentials that are
            # not suspended (filters and facets): a revoked or suspended one leaves it, an
            # unsuspended one comes back, as replaying the ledger would have it.
            searchdocs.reindex(conn, [row.organisation_id])
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


def _str_or_none(value: Any) -> str | None:
    return value if isinstance(value, str) else None


# Raised by parse_record; imported here so callers can catch it from one place.
_ = InvalidRecord
