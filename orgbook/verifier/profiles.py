"""Read queries of the public verifier: organisation profiles and stored credentials.

What it owns: turning the projection tables (``orgbook.projections.tables``) into the read
models the HTTP API serves — an organisation's profile (names with their dates, addresses,
status, relationships in both directions, every credential with its history, and its licences
and permits from :mod:`orgbook.verifier.licences`) and a credential's
signed document. Bundles are :mod:`orgbook.verifier.bundles`; status lists
:mod:`orgbook.verifier.status_lists`.

What it must not do: write, know about HTTP, or verify anything.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, or_, select

from orgbook.core.canonical import loads_strict
from orgbook.core.errors import NotFound
from orgbook.core.time import as_utc, format_time
from orgbook.projections.bindings import current_anchor
from orgbook.projections.tables import (
    credential_document,
    credential_events,
    credentials,
    credentials_with_entry,
    organisation_names,
    organisations,
    relationships,
)
from orgbook.verifier.licences import Licence, organisation_licences

__all__ = [
    "Address",
    "CredentialEvent",
    "CredentialSummary",
    "Licence",
    "NameRecord",
    "OrganisationProfile",
    "Relationship",
    "StoredCredential",
    "find_credential",
    "organisation_profile",
]


@dataclass(frozen=True, slots=True)
class NameRecord:
    name: str
    language: str | None
    valid_from: str
    valid_until: str | None
    current: bool
    alternate_names: tuple[Mapping[str, Any], ...]
    credential_id: str


@dataclass(frozen=True, slots=True)
class Address:
    address_type: str
    street_address: str | None
    address_locality: str | None
    address_region: str | None
    postal_code: str | None
    address_country: str | None
    effective_date: str | None
    credential_id: str


@dataclass(frozen=True, slots=True)
class Relationship:
    direction: str  # "outgoing": this organisation's credential; "incoming": the other's
    relationship_type: str
    organisation_id: str  # the other organisation
    organisation_name: str | None
    credential_id: str
    state: str


@dataclass(frozen=True, slots=True)
class CredentialEvent:
    kind: str
    at: str
    ledger_index: int
    reason: str | None
    related_credential_id: str | None


@dataclass(frozen=True, slots=True)
class CredentialSummary:
    id: str
    type: str
    state: str
    suspended: bool
    effective: str
    issuer: str
    ledger_index: int
    superseded_by: str | None
    history: tuple[CredentialEvent, ...]


@dataclass(frozen=True, slots=True)
class OrganisationProfile:
    id: str
    jurisdiction: str
    registration_number: str
    name: str
    status: str
    entity_type: str
    business_number: str | None
    issuer: str
    names: tuple[NameRecord, ...]
    addresses: tuple[Address, ...]
    relationships: tuple[Relationship, ...]
    credentials: tuple[CredentialSummary, ...]
    bound_did: str | None = None  # the DID its current Digital Identity Anchor binds
    licences: tuple[Licence, ...] = ()  # credentials of other authorities' registered types


@dataclass(frozen=True, slots=True)
class StoredCredential:
    id: str
    issuer_id: str
    organisation_id: str
    type: str
    state: str
    suspended: bool
    ledger_index: int
    document: bytes


def _stamp(value: datetime) -> str:
    return format_time(as_utc(value), "seconds")


def _date(value: datetime) -> str:
    return as_utc(value).date().isoformat()


# --- profiles -----------------------------------------------------------------------------------


def _names(conn: Connection, org_id: str) -> tuple[NameRecord, ...]:
    n, c = organisation_names, credentials
    # Whether a name is current comes from its credential's state (the source the ledger
    # projection keeps exact), not from the names table's own flag.
    rows = conn.execute(
        select(
            n.c.credential_id,
            n.c.name,
            n.c.language,
            n.c.alternate_names,
            n.c.valid_from,
            (c.c.state == "current").label("current"),
        )
        .join(c, c.c.id == n.c.credential_id)
        .where(n.c.organisation_id == org_id)
        .order_by(n.c.valid_from, n.c.credential_id)
    ).all()
    out: list[NameRecord] = []
    for i, row in enumerate(rows):
        later = [r for r in rows[i + 1 :] if as_utc(r.valid_from) > as_utc(row.valid_from)]
        until = None if row.current or not later else _date(later[0].valid_from)
        alternates = json.loads(row.alternate_names or "[]")
        out.append(
            NameRecord(
                name=row.name,
                language=row.language,
                valid_from=_date(row.valid_from),
                valid_until=until,
                current=bool(row.current),
                alternate_names=tuple(a for a in alternates if isinstance(a, dict)),
                credential_id=row.credential_id,
            )
        )
    # current names first, then former names, most recent first; a name issued again with
    # the same date (a re-sent record) is listed once
    current = [n for n in out if n.current]
    former = sorted((n for n in out if not n.current), key=lambda n: n.valid_from, reverse=True)
    seen = {(nm.name, nm.language, nm.valid_from) for nm in current}
    listed = list(current)
    for nm in former:
        if (nm.name, nm.language, nm.valid_from) not in seen:
            seen.add((nm.name, nm.language, nm.valid_from))
            listed.append(nm)
    return tuple(listed)


def _addresses(conn: Connection, org_id: str) -> tuple[Address, ...]:
    rows = conn.execute(
        select(credentials.c.id, credential_document)
        .select_from(credentials_with_entry)
        .where(
            credentials.c.organisation_id == org_id,
            credentials.c.type == "address",
            credentials.c.state == "current",
        )
    ).all()
    out: list[Address] = []
    for row in rows:
        subject = loads_strict(bytes(row.document)).get("credentialSubject", {})

        def text(name: str, s: Mapping[str, Any] = subject) -> str | None:
            value = s.get(name)
            return value if isinstance(value, str) else None

        out.append(
            Address(
                address_type=text("addressType") or "registered",
                street_address=text("streetAddress"),
                address_locality=text("addressLocality"),
                address_region=text("addressRegion"),
                postal_code=text("postalCode"),
                address_country=text("addressCountry"),
                effective_date=text("effectiveDate"),
                credential_id=row.id,
            )
        )
    return tuple(sorted(out, key=lambda a: a.address_type))


def _relationships(conn: Connection, org_id: str) -> tuple[Relationship, ...]:
    r, c = relationships, credentials
    rows = conn.execute(
        select(
            r.c.credential_id,
            r.c.organisation_id,
            r.c.related_organisation_id,
            r.c.relationship_type,
            r.c.related_name,
            c.c.state,
        )
        .join(c, c.c.id == r.c.credential_id)
        .where(or_(r.c.organisation_id == org_id, r.c.related_organisation_id == org_id))
    ).all()
    others = {
        row.related_organisation_id if row.organisation_id == org_id else row.organisation_id
        for row in rows
    }
    names: dict[str, str] = {}
    if others:
        query = select(organisations.c.id, organisations.c.name)
        for other in conn.execute(query.where(organisations.c.id.in_(others))):
            names[other.id] = other.name
    out: list[Relationship] = []
    for row in rows:
        outgoing = row.organisation_id == org_id
        other = row.related_organisation_id if outgoing else row.organisation_id
        out.append(
            Relationship(
                direction="outgoing" if outgoing else "incoming",
                relationship_type=row.relationship_type,
                organisation_id=other,
                organisation_name=names.get(other) or (row.related_name if outgoing else None),
                credential_id=row.credential_id,
                state=row.state,
            )
        )
    return tuple(
        sorted(
            out, key=lambda x: (x.direction != "outgoing", x.relationship_type, x.organisation_id)
        )
    )


def _credentials(conn: Connection, org_id: str) -> tuple[CredentialSummary, ...]:
    c = credentials
    rows = conn.execute(
        select(
            c.c.id,
            c.c.type,
            c.c.state,
            c.c.suspended,
            c.c.effective,
            c.c.issuer_id,
            c.c.ledger_index,
            c.c.superseded_by,
        )
        .where(c.c.organisation_id == org_id)
        .order_by(c.c.type, c.c.effective.desc(), c.c.ledger_index.desc())
    ).all()
    events: dict[str, list[CredentialEvent]] = defaultdict(list)
    ids = [row.id for row in rows]
    for start in range(0, len(ids), 500):
        for ev in conn.execute(
            select(credential_events)
            .where(credential_events.c.credential_id.in_(ids[start : start + 500]))
            .order_by(credential_events.c.ledger_index)
        ):
            events[ev.credential_id].append(
                CredentialEvent(
                    kind=ev.kind,
                    at=_stamp(ev.at),
                    ledger_index=int(ev.ledger_index),
                    reason=ev.reason,
                    related_credential_id=ev.related_credential_id,
                )
            )
    return tuple(
        CredentialSummary(
            id=row.id,
            type=row.type,
            state=row.state,
            suspended=bool(row.suspended),
            effective=_stamp(row.effective),
            issuer=row.issuer_id,
            ledger_index=int(row.ledger_index),
            superseded_by=row.superseded_by,
            history=tuple(events[row.id]),
        )
        for row in rows
    )


def organisation_profile(conn: Connection, org_id: str) -> OrganisationProfile:
    """The profile of ``org_id`` (``CA-BC:BC1287139``); :class:`NotFound` if there is none."""
    org = conn.execute(select(organisations).where(organisations.c.id == org_id)).first()
    if org is None:
        raise NotFound(f"No organisation {org_id}", field="id")
    return OrganisationProfile(
        id=org.id,
        jurisdiction=org.jurisdiction,
        registration_number=org.registration_number,
        name=org.name,
        status=org.status,
        entity_type=org.entity_type,
        business_number=org.business_number,
        issuer=org.issuer_id,
        names=_names(conn, org_id),
        addresses=_addresses(conn, org_id),
        relationships=_relationships(conn, org_id),
        credentials=_credentials(conn, org_id),
        bound_did=anchor.did if (anchor := current_anchor(conn, org_id)) else None,
        licences=organisation_licences(conn, org_id),
    )


# --- credentials and bundles --------------------------------------------------------------------


def find_credential(conn: Connection, credential_id: str) -> StoredCredential:
    """The stored credential; :class:`NotFound` if this registry did not issue it."""
    row = conn.execute(
        select(credentials, credential_document)
        .select_from(credentials_with_entry)
        .where(credentials.c.id == credential_id)
    ).first()
    if row is None:
        raise NotFound(f"No credential {credential_id}", field="id")
    return StoredCredential(
        id=row.id,
        issuer_id=row.issuer_id,
        organisation_id=row.organisation_id,
        type=row.type,
        state=row.state,
        suspended=bool(row.suspended),
        ledger_index=int(row.ledger_index),
        document=bytes(row.document),
    )
