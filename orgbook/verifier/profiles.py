"""Read queries of the public verifier: organisation profiles, credentials, bundles, status.

What it owns: turning the projection tables (``orgbook.issuer.store``) and the ledger
(``orgbook.ledger.store``) into the read models the HTTP API serves — an organisation's profile
(names with their dates, addresses, status, relationships in both directions, every credential
with its history), a credential's signed document, a bundle under a signed checkpoint, and the
status list credentials a server-side verification needs.

What it must not do: write (except the status-list signature cache, through
``orgbook.issuer.statuslists``), know about HTTP, or verify anything.
"""

from __future__ import annotations

import functools
import json
import re
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine, Select, bindparam, or_, select

from orgbook.canonical import loads_strict
from orgbook.db import reading, stored_utc
from orgbook.errors import NotFound
from orgbook.issuer.store import (
    credential_document,
    credential_events,
    credentials,
    credentials_with_entry,
    issuer_keys,
    issuers,
    organisation_names,
    organisations,
    relationships,
    status_lists,
)
from orgbook.ledger.note import Checkpoint, parse_note
from orgbook.ledger.store import Ledger
from orgbook.verifier.bundle import build_bundle

__all__ = [
    "Address",
    "CredentialEvent",
    "CredentialSummary",
    "NameRecord",
    "OrganisationProfile",
    "Relationship",
    "StoredCredential",
    "bundle_for",
    "cached_status_list",
    "cached_status_lists",
    "find_credential",
    "organisation_profile",
    "status_list_for_url",
]

_STATUS_PATH = re.compile(r"/issuers/([a-z0-9-]{1,64})/status/(revocation|suspension)/(\d{1,9})$")


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
    return stored_utc(value).strftime("%Y-%m-%dT%H:%M:%SZ")


def _date(value: datetime) -> str:
    return stored_utc(value).date().isoformat()


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
        later = [r for r in rows[i + 1 :] if stored_utc(r.valid_from) > stored_utc(row.valid_from)]
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
    # current names first, then former names, most recent first
    current = [n for n in out if n.current]
    former = sorted((n for n in out if not n.current), key=lambda n: n.valid_from, reverse=True)
    return (*current, *former)


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


def bundle_for(
    conn: Connection, ledger: Ledger, credential_id: str, *, tree_size: int | None = None
) -> dict[str, Any]:
    """The bundle of a credential under the latest checkpoint (or the one at ``tree_size``)."""
    stored = find_credential(conn, credential_id)
    note = (
        ledger.latest_checkpoint(conn)
        if tree_size is None
        else ledger.checkpoint_at(conn, tree_size)
    )
    if note is None:
        where = "yet" if tree_size is None else f"at tree size {tree_size}"
        raise NotFound(f"the ledger has no signed checkpoint {where}", field="tree_size")
    size = Checkpoint.parse(parse_note(note).text).size
    # Witness cosignatures received so far travel with the bundle, so a verifier that requires
    # k of n witnesses can check it offline.
    from orgbook.ledger.note import add_signatures
    from orgbook.ledger.witness_api import cosignatures_at

    cosigned = cosignatures_at(conn, size)
    if cosigned:
        note = add_signatures(note, cosigned)
    if stored.ledger_index >= size:
        raise NotFound(
            f"credential {credential_id} (entry {stored.ledger_index}) is not in the checkpoint "
            f"at tree size {size}",
            field="tree_size",
        )
    entry = ledger.entry(conn, stored.ledger_index).entry
    proof = ledger.inclusion_proof(conn, entry.index, size)

    issuer_index = conn.execute(
        select(issuers.c.ledger_index).where(issuers.c.id == stored.issuer_id)
    ).scalar_one()
    key_indices: list[int] = []
    for added, retired in conn.execute(
        select(issuer_keys.c.added_index, issuer_keys.c.retired_index).where(
            issuer_keys.c.issuer_id == stored.issuer_id
        )
    ):
        key_indices += [int(i) for i in (added, retired) if i is not None and i < size]

    def proven(index: int) -> tuple[Any, list[bytes]]:
        return ledger.entry(conn, index).entry, ledger.inclusion_proof(conn, index, size)

    logged = entry.payload.get("credential")
    credential = logged if isinstance(logged, Mapping) else {}
    return build_bundle(
        credential=credential,
        entry=entry,
        proof=proof,
        checkpoint_note=note,
        issuer=proven(int(issuer_index)) if issuer_index < size else None,
        issuer_keys=[proven(i) for i in sorted(set(key_indices))],
        status_lists=[proven(i) for i in _published_indices(conn, credential, size)],
        status_events=[proven(i) for i in _status_event_indices(conn, credential_id, size)],
    )


_STATUS_EVENT_KINDS = ("revoked", "suspended", "unsuspended", "superseded")


def _status_event_indices(conn: Connection, credential_id: str, size: int) -> list[int]:
    """Ledger indices of the credential's revocation, suspension and supersession entries.

    Found through ``credential_events`` (indexed by credential), but what a verifier reads is
    each ledger entry itself, proven under the checkpoint: the row only says where to look.
    """
    rows = conn.execute(
        select(credential_events.c.ledger_index).where(
            credential_events.c.credential_id == credential_id,
            credential_events.c.kind.in_(_STATUS_EVENT_KINDS),
            credential_events.c.ledger_index < size,
        )
    ).scalars()
    return sorted(int(i) for i in rows)


def _published_indices(conn: Connection, credential: Mapping[str, Any], size: int) -> list[int]:
    """The ``statuslist.published`` entry of the latest logged version of each status list
    ``credential`` names (below tree size ``size``)."""
    from orgbook.issuer.store import status_list_versions

    v = status_list_versions.c
    found: list[int] = []
    for url in status_urls(credential):
        match = _STATUS_PATH.search(url)
        if match is None:
            continue
        index = conn.execute(
            select(v.ledger_index)
            .where(
                v.issuer_id == match.group(1),
                v.purpose == match.group(2),
                v.list_number == int(match.group(3)),
                v.ledger_index < size,
            )
            .order_by(v.ledger_index.desc())
            .limit(1)
        ).scalar()
        if index is not None:
            found.append(int(index))
    return sorted(set(found))


# --- status lists for server-side verification --------------------------------------------------


def _parse_status_url(url: str, public_url: str) -> tuple[str, str, int]:
    base = public_url.rstrip("/")
    match = _STATUS_PATH.match(url[len(base) :]) if url.startswith(base + "/") else None
    if match is None:
        raise NotFound(f"{url} is not a status list of this registry")
    return match.group(1), match.group(2), int(match.group(3))


def cached_status_list(conn: Connection, url: str, *, public_url: str) -> dict[str, Any] | None:
    """The signed status list at ``url`` when its cached signature is current, else None."""
    issuer_id, purpose, number = _parse_status_url(url, public_url)
    row = conn.execute(
        select(status_lists.c.signed, status_lists.c.signed_version, status_lists.c.version).where(
            status_lists.c.issuer_id == issuer_id,
            status_lists.c.purpose == purpose,
            status_lists.c.list_number == number,
        )
    ).first()
    if row is None or row.signed is None or row.signed_version != row.version:
        return None
    document: dict[str, Any] = loads_strict(bytes(row.signed))
    return document


def cached_status_lists(
    conn: Connection, urls: Iterable[str], *, public_url: str
) -> dict[str, dict[str, Any]]:
    """:func:`cached_status_list` of several URLs in one query: URL -> the signed list, for
    those whose cached signature is current (other URLs, and this registry's unknown lists,
    are left out). Callers must not change the documents: they may be shared."""
    wanted: dict[tuple[str, str, int], str] = {}
    for url in urls:
        try:
            wanted[_parse_status_url(url, public_url)] = url
        except NotFound:
            continue
    if not wanted:
        return {}
    rows = conn.execute(
        _status_lists_query(),
        {
            "issuers": sorted({issuer for issuer, _, _ in wanted}),
            "numbers": sorted({number for _, _, number in wanted}),
        },
    ).all()
    found: dict[str, dict[str, Any]] = {}
    for row in rows:
        at = wanted.get((row.issuer_id, row.purpose, int(row.list_number)))
        if at is not None and row.signed is not None and row.signed_version == row.version:
            found[at] = _parsed_list(bytes(row.signed))
    return found


@functools.cache
def _status_lists_query() -> Select[Any]:
    s = status_lists.c
    return select(
        s.issuer_id, s.purpose, s.list_number, s.signed, s.signed_version, s.version
    ).where(
        s.issuer_id.in_(bindparam("issuers", expanding=True)),
        s.list_number.in_(bindparam("numbers", expanding=True)),
    )


@functools.lru_cache(maxsize=256)
def _parsed_list(signed: bytes) -> dict[str, Any]:
    """A signed status list parsed once per distinct signed bytes (they change when re-signed)."""
    document: dict[str, Any] = loads_strict(signed)
    return document


def status_list_for_url(
    engine: Engine,
    url: str,
    *,
    public_url: str,
    passphrase: bytes | None,
    ledger: Ledger | None = None,
) -> dict[str, Any]:
    """The signed status list credential this registry serves at ``url``.

    The cached signature when it is current (a read transaction); otherwise signed anew when
    this process holds the keys and the ledger (a write transaction that logs the new version,
    ``statuslist.published``, and signs a checkpoint over it when it can, so a verifier can
    prove it at once). :class:`NotFound` for a URL that is not one of this registry's lists, or
    a stale list on a replica without keys.
    """
    from orgbook.issuer.statuslists import signed_list

    issuer_id, purpose, number = _parse_status_url(url, public_url)
    with reading(engine) as conn:
        cached = cached_status_list(conn, url, public_url=public_url)
    if cached is not None:
        return cached
    if passphrase is None or ledger is None:
        raise NotFound(f"no current signed status list at {url} on this replica")
    with engine.begin() as conn:
        size = ledger.size(conn)
        signed = signed_list(
            conn,
            issuer_id=issuer_id,
            purpose=purpose,
            number=number,
            public_url=public_url,
            passphrase=passphrase,
            ledger=ledger,
        )
        if ledger.signer is not None and ledger.size(conn) != size:
            ledger.sign_checkpoint(conn)
        return signed


def status_urls(credential: Mapping[str, Any]) -> Iterable[str]:
    """The ``statusListCredential`` URLs a credential names."""
    raw = credential.get("credentialStatus")
    for entry in raw if isinstance(raw, list) else [raw]:
        if isinstance(entry, Mapping) and isinstance(entry.get("statusListCredential"), str):
            yield entry["statusListCredential"]
