"""Authorisations as the ledger projects them: who may issue which type, where, and when.

What it owns: the ``authorisations`` table (one row per ``authorisation.granted`` entry, with
the ``authorisation.withdrawn`` entry that ended it, if any), the code that writes it for a
grant or a withdrawal (the registry when it logs one, and ``orgbook ledger replay``, alike),
the queries the issuance path and the trust registry (TRQP) answer from
(:func:`authorising_entry`, :func:`authorisations_of`), and :class:`AuthorisationState`: the
replay's memory of the governance keys and authorisations so far, which re-checks every
authorised issuance against the authorisations in force at its index (what ``orgbook ledger
audit`` reports).

The rules (what an authorisation covers, its proof) are
:mod:`orgbook.verification.authorisation`'s; this module only stores and selects.

What it must not do: sign anything or hold keys (granting is
:mod:`orgbook.issuer.authorisations`), or append to the ledger.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Column,
    Connection,
    DateTime,
    Index,
    String,
    Table,
    Text,
    select,
    update,
)

from orgbook.core.errors import BadInput
from orgbook.core.time import as_utc
from orgbook.ledger.entry import Entry
from orgbook.ledger.store import ledger_entries
from orgbook.storage.engine import metadata
from orgbook.verification.authorisation import (
    GOVERNANCE_KINDS,
    GRANTED,
    WITHDRAWN,
    Authorisation,
    GovernanceKeys,
    decide,
    entry_time,
    governance_failure,
    withdrawal_target,
)
from orgbook.verification.document import as_list, issuer_id, registered_slug

__all__ = [
    "AUTHORISATION_KINDS",
    "AuthorisationRecord",
    "AuthorisationState",
    "authorisations",
    "authorisations_of",
    "authorising_entry",
    "bundle_indices",
    "governance_entries",
    "ledger_entry",
    "record_granted",
    "record_withdrawn",
]

AUTHORISATION_KINDS = (GRANTED, WITHDRAWN)

authorisations = Table(
    "authorisations",
    metadata,
    Column("id", String(64), primary_key=True),  # urn:uuid:…
    Column("ledger_index", BigInteger, nullable=False, unique=True),
    Column("issuer_did", String(300), nullable=False),
    Column("credential_type", String(200), nullable=False),  # the VC type name
    Column("credential_type_id", Text, nullable=True),
    Column("jurisdictions", Text, nullable=False),  # JSON list, e.g. ["CA-BC"]
    Column("valid_from", DateTime(timezone=True), nullable=False),
    Column("valid_until", DateTime(timezone=True), nullable=True),
    Column("on_behalf_of", String(300), nullable=True),
    Column("granted_at", DateTime(timezone=True), nullable=False),
    Column("withdrawn_index", BigInteger, nullable=True),
    Column("withdrawn_at", DateTime(timezone=True), nullable=True),
    Index("ix_authorisations_issuer_type", "issuer_did", "credential_type"),
)


@dataclass(frozen=True, slots=True)
class AuthorisationRecord:
    """One authorisation: its ``authorisation.granted`` entry index and time, the parsed
    object (``authorisation.document`` is the signed JSON), and its withdrawal if any."""

    index: int
    authorisation: Authorisation
    granted_at: datetime
    withdrawn_index: int | None = None
    withdrawn_at: datetime | None = None

    def withdrawn_by(self, at: datetime) -> bool:
        """Whether it had been withdrawn at time ``at``."""
        return self.withdrawn_at is not None and self.withdrawn_at <= at

    def to_json(self) -> dict[str, Any]:
        return {
            "ledgerIndex": self.index,
            "authorisation": dict(self.authorisation.document),
            "withdrawnAt": None if self.withdrawn_index is None else self.withdrawn_index,
        }


def ledger_entry(conn: Connection, index: int) -> Entry:
    """The ledger entry at ``index``, read from its stored leaf bytes."""
    data = conn.execute(
        select(ledger_entries.c.data).where(ledger_entries.c.idx == index)
    ).scalar_one()
    return Entry.from_leaf_bytes(bytes(data))


def governance_entries(conn: Connection) -> list[Entry]:
    """Every ``governance.key.*`` entry (a handful), in ledger order."""
    rows = conn.execute(
        select(ledger_entries.c.data)
        .where(ledger_entries.c.kind.in_(GOVERNANCE_KINDS))
        .order_by(ledger_entries.c.idx)
    ).scalars()
    return [Entry.from_leaf_bytes(bytes(data)) for data in rows]


def record_granted(conn: Connection, entry: Entry) -> Authorisation:
    """Project an ``authorisation.granted`` entry; :class:`BadInput` if it holds none."""
    auth = Authorisation.parse(entry.payload.get("authorisation"))
    conn.execute(
        authorisations.insert().values(
            id=auth.id,
            ledger_index=entry.index,
            issuer_did=auth.issuer,
            credential_type=auth.credential_type,
            credential_type_id=auth.credential_type_id,
            jurisdictions=json.dumps(list(auth.jurisdictions)),
            valid_from=auth.valid_from,
            valid_until=auth.valid_until,
            on_behalf_of=auth.on_behalf_of,
            granted_at=entry_time(entry),
        )
    )
    return auth


def record_withdrawn(conn: Connection, entry: Entry) -> None:
    """Project an ``authorisation.withdrawn`` entry (the first withdrawal counts)."""
    target = withdrawal_target(entry)
    if target is None:
        raise BadInput(f"entry {entry.index} names no authorisation to withdraw")
    conn.execute(
        update(authorisations)
        .where(authorisations.c.id == target, authorisations.c.withdrawn_index.is_(None))
        .values(withdrawn_index=entry.index, withdrawn_at=entry_time(entry))
    )


def _record(conn: Connection, row: Any) -> AuthorisationRecord:
    entry = ledger_entry(conn, int(row.ledger_index))
    return AuthorisationRecord(
        int(row.ledger_index),
        Authorisation.parse(entry.payload.get("authorisation")),
        as_utc(row.granted_at),
        None if row.withdrawn_index is None else int(row.withdrawn_index),
        None if row.withdrawn_at is None else as_utc(row.withdrawn_at),
    )


def authorisations_of(
    conn: Connection, issuer_did: str | None = None, vc_type: str | None = None
) -> list[AuthorisationRecord]:
    """Every authorisation (of ``issuer_did``, for ``vc_type``), withdrawn ones too, in ledger
    order."""
    query = select(authorisations).order_by(authorisations.c.ledger_index)
    if issuer_did is not None:
        query = query.where(authorisations.c.issuer_did == issuer_did)
    if vc_type is not None:
        query = query.where(authorisations.c.credential_type == vc_type)
    return [_record(conn, row) for row in conn.execute(query).all()]


def authorising_entry(
    conn: Connection,
    issuer_did: str,
    vc_type: str,
    jurisdiction: str,
    at: datetime,
    *,
    on_behalf_of: str | None = None,
    any_delegation: bool = False,
) -> AuthorisationRecord | None:
    """The authorisation in force at ``at`` (in force, not withdrawn by then) letting
    ``issuer_did`` issue ``vc_type`` about an organisation of ``jurisdiction``, on behalf of
    ``on_behalf_of`` (None: in its own name) unless ``any_delegation``; the latest granted
    first. None when there is none."""
    for record in reversed(authorisations_of(conn, issuer_did, vc_type)):
        auth = record.authorisation
        if record.withdrawn_by(at) or record.granted_at > at:
            continue
        if not any_delegation and auth.on_behalf_of != on_behalf_of:
            continue
        if auth.refuses(issuer=issuer_did, vc_types=[vc_type], jurisdiction=jurisdiction, at=at):
            continue
        return record
    return None


@dataclass(slots=True)
class AuthorisationState:
    """What a replay has seen so far of governance keys and authorisations, to re-check each
    authorised issuance against the authorisations in force at its index.

    ``registered``: issuer DID → the registry type slugs its ``issuer.registered`` lists (a
    credential of one of those is trusted the legacy way and not re-checked here).
    ``unauthorised``: (entry index, reason) of every issuance no authorisation covered.
    """

    registered: Mapping[str, frozenset[str]] = field(default_factory=dict)
    governance: list[Entry] = field(default_factory=list)
    granted: dict[tuple[str, str], list[Entry]] = field(default_factory=dict)
    withdrawals: list[Entry] = field(default_factory=list)
    unauthorised: list[tuple[int, str]] = field(default_factory=list)
    _keys: GovernanceKeys | None = None

    def keys(self) -> GovernanceKeys:
        if self._keys is None:
            self._keys = GovernanceKeys.from_entries(self.governance)
        return self._keys

    def see(self, conn: Connection, entry: Entry) -> bool:
        """Take in a governance or authorisation entry (writing its projection); False for
        other kinds. An authorisation the governance key did not sign is not projected."""
        if entry.kind in GOVERNANCE_KINDS:
            self.governance.append(entry)
            self._keys = None
            return True
        if entry.kind == GRANTED:
            raw = entry.payload.get("authorisation")
            try:
                auth = Authorisation.parse(raw)
            except BadInput:
                return True
            if governance_failure(raw, self.keys(), entry.index) is None:
                record_granted(conn, entry)
                self.granted.setdefault((auth.issuer, auth.credential_type), []).append(entry)
            return True
        if entry.kind == WITHDRAWN:
            body = entry.payload.get("withdrawal")
            if governance_failure(body, self.keys(), entry.index) is None:
                self.withdrawals.append(entry)
                record_withdrawn(conn, entry)
            return True
        return False

    def check_issued(self, entry: Entry) -> None:
        """Re-check a ``credential.issued`` entry: a registry type its issuer is registered
        for, or an authorisation in force at its index; else noted in ``unauthorised``."""
        credential = entry.payload.get("credential")
        did = issuer_id(credential)
        types = (
            [t for t in as_list(credential.get("type")) if isinstance(t, str)]
            if isinstance(credential, Mapping)
            else []
        )
        slug = registered_slug(credential)
        if did is not None and slug is not None and slug in self.registered.get(did, ()):
            return
        reason = f"no authorisation for {did} to issue {', '.join(types) or 'it'}"
        for vc_type in types:
            for granted in reversed(self.granted.get((did or "", vc_type), [])):
                check = decide(
                    credential,
                    entry.index,
                    entry_time(entry),
                    granted,
                    self.keys(),
                    self.withdrawals,
                )
                if check.passed:
                    return
                reason = check.reason
        self.unauthorised.append((entry.index, reason))


def bundle_indices(
    conn: Connection, credential: Any, entry_index: int, size: int
) -> tuple[int, list[int], list[int]] | None:
    """The ledger indices a bundle of ``credential`` (logged at ``entry_index``) carries under
    a checkpoint of tree size ``size`` when an authorisation covers it: the
    ``authorisation.granted`` entry, the governance key entries, and the withdrawals of that
    authorisation within the tree. None when none covers it (a registry type: the bundle's
    ``issuer.registered`` entry vouches for it)."""
    did = issuer_id(credential)
    if did is None or not isinstance(credential, Mapping):
        return None
    types = [t for t in as_list(credential.get("type")) if isinstance(t, str)]
    rows = conn.execute(
        select(authorisations.c.ledger_index, authorisations.c.withdrawn_index)
        .where(
            authorisations.c.issuer_did == did,
            authorisations.c.credential_type.in_(types),
            authorisations.c.ledger_index < entry_index,
        )
        .order_by(authorisations.c.ledger_index.desc())
    ).all()
    if not rows:
        return None
    governance = [e for e in governance_entries(conn) if e.index < size]
    keys = GovernanceKeys.from_entries(governance)
    issued = ledger_entry(conn, entry_index)
    for row in rows:
        withdrawn = row.withdrawn_index
        withdrawals = [] if withdrawn is None else [ledger_entry(conn, int(withdrawn))]
        granted = ledger_entry(conn, int(row.ledger_index))
        check = decide(credential, entry_index, entry_time(issued), granted, keys, withdrawals)
        if check.passed:
            within = [e.index for e in withdrawals if e.index < size]
            return granted.index, [e.index for e in governance], within
    return None
