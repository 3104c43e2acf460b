"""Issuance of registered credential types by authorised issuers: the one path for them.

What it owns: :func:`issue_authorised`: one credential of a registered type
(:mod:`orgbook.projections.credential_types`) about a registered organisation
(``CA-BC:BC1234567``), by a registered authority, which

* is refused (:class:`Forbidden`, with the reason, and nothing logged) unless an authorisation
  is in force (:func:`orgbook.projections.authorisations.authorising_entry`);
* validates the claims against the type's registered subject schema
  (:class:`InvalidRecord`, 422, every problem with a JSON pointer under ``/claims``);
* is idempotent on the issuer's event id: the same event id and claims give back the credential
  already logged (nothing new is logged); the same event id with other content is a
  :class:`Conflict`;
* takes ``validUntil`` from the type's ``expires`` (unless given), carries ``credentialSchema``
  (the type's), ``onBehalfOf`` for a delegation, status-list entries (revocable and
  suspendable like every credential);
* supersedes the current credential of the same supersession key (the issuer's, this type's,
  the organisation's and the type's key members): a ``credential.superseded`` entry, as
  registry records do; an older one arriving late is logged as history, superseded at once;

logs the ``credential.issued`` entry (the usual payload shape), projects it with
:mod:`orgbook.projections.write` in the same transaction, then signs a checkpoint.

What it must not do: decide coverage itself (:mod:`orgbook.verification.authorisation` through
the projection), or log anything when refusing.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, select

from orgbook.core.canonical import canonicalize
from orgbook.core.credential_types import slug_of
from orgbook.core.credentials import CREDENTIALS_V2_CONTEXT, credential_id, subject_id
from orgbook.core.credentials import sign_credential as sign
from orgbook.core.errors import BadInput, Conflict, Forbidden, InvalidRecord, NotFound
from orgbook.core.schemas.registered import validate_registered
from orgbook.core.time import as_utc, format_time
from orgbook.issuer import statuslists
from orgbook.issuer.authorisations import AuthorisationRecord, authorising_entry
from orgbook.issuer.keys import IssuerKeys
from orgbook.issuer.plan import LATE_REASON
from orgbook.ledger.store import Ledger
from orgbook.projections.credential_types import RegisteredType, latest_type, type_by_id
from orgbook.projections.tables import (
    credential_document,
    credentials,
    credentials_with_entry,
    issuers,
    organisations,
)
from orgbook.projections.write import Batch, valid_until_of

__all__ = ["Issued", "issue_authorised", "resolve_type", "type_slug"]


def type_slug(vc_type: str) -> str:
    """The stored type slug of a VC type: ``BusinessLicenceCredential`` → ``business-licence``."""
    return slug_of(vc_type)


class Issued:
    """What :func:`issue_authorised` did: the signed credential, its entry index, the
    authorisation that covered it (None when an event id was replayed), whether it was logged
    now (``created``) and the credential it superseded, if any."""

    def __init__(
        self,
        credential: dict[str, Any],
        index: int,
        by: AuthorisationRecord | None,
        *,
        created: bool = True,
        superseded: str | None = None,
        credential_type: str | None = None,
    ) -> None:
        self.credential = credential
        self.index = index
        self.authorisation = by
        self.created = created
        self.superseded = superseded
        self.credential_type = credential_type


def _replayed(
    conn: Connection,
    issuer_id: str,
    event_id: str,
    vc_type: str,
    organisation: str,
    claims: Mapping[str, Any],
) -> Issued | None:
    """The credential already logged for this issuer's event id, if the same; else Conflict."""
    row = conn.execute(
        select(
            credentials.c.id,
            credentials.c.organisation_id,
            credentials.c.ledger_index,
            credential_document.label("document"),
        )
        .select_from(credentials_with_entry)
        .where(credentials.c.issuer_id == issuer_id, credentials.c.event_id == event_id)
    ).first()
    if row is None:
        return None
    document = json.loads(bytes(row.document))
    subject = {k: v for k, v in document.get("credentialSubject", {}).items() if k != "id"}
    if (
        vc_type in document.get("type", [])
        and row.organisation_id == organisation
        and subject == dict(claims)
    ):
        return Issued(document, int(row.ledger_index), None, created=False)
    raise Conflict(
        f"event id {event_id!r} was used already for another credential ({row.id})",
        field="eventId",
    )


def _type_for(
    conn: Connection, vc_type: str, type_id: str | None, by: AuthorisationRecord
) -> RegisteredType:
    found: RegisteredType | None = None
    if type_id is not None:
        found = type_by_id(conn, type_id)
    elif by.authorisation.credential_type_id:
        found = type_by_id(conn, by.authorisation.credential_type_id)
    found = found or (latest_type(conn, vc_type) if type_id is None else None)
    if found is None or found.definition.vc_type != vc_type:
        raise NotFound(
            f"no credential type {type_id or vc_type} is registered: define it first "
            "(orgbook authority define-type)",
            field="type",
        )
    return found


def resolve_type(
    conn: Connection, name: str, *, field: str = "type", registered: bool = False
) -> tuple[str, str | None]:
    """``(VC type, type id or None)`` of a type named by its VC type (its latest registered
    version then) or by a registered type's id URL (that version); :class:`NotFound` for a URL
    that names no registered type, and with ``registered`` for a VC type that names none too
    (else :func:`issue_authorised` decides: an unauthorised type is refused first)."""
    if name.startswith(("http://", "https://")):
        found = type_by_id(conn, name)
        if found is None:
            raise NotFound(f"no credential type {name} is registered", field=field)
        return found.definition.vc_type, name
    if registered and latest_type(conn, name) is None:
        raise NotFound(
            f"no credential type {name} is registered: define it first "
            "(orgbook authority define-type)",
            field=field,
        )
    return name, None


def _check_claims(registered: RegisteredType, subject: Mapping[str, Any]) -> None:
    problems = validate_registered(
        registered.definition.id, registered.definition.schema, dict(subject)
    )
    if not problems:
        return
    errors = [{"path": "/claims" + p.path, "message": p.message} for p in problems]
    more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
    raise InvalidRecord(
        f"claims do not match {registered.definition.id}: {errors[0]['path']}: "
        f"{errors[0]['message']}{more}",
        field=errors[0]["path"],
        errors=errors,
    )


def issue_authorised(
    conn: Connection,
    ledger: Ledger,
    *,
    issuer_did: str,
    vc_type: str,
    organisation: str,
    claims: Mapping[str, Any],
    event_id: str,
    passphrase: bytes,
    public_url: str,
    valid_from: datetime | None = None,
    valid_until: datetime | None = None,
    on_behalf_of: str | None = None,
    type_id: str | None = None,
    now: datetime | None = None,
) -> Issued:
    """Issue one ``vc_type`` credential about ``organisation`` (``CA-BC:BC1234567``) with
    subject ``claims``, in the caller's transaction (``type_id``: a registered version of the
    type; default the authorisation's, else the latest)."""
    at = (now or datetime.now(UTC)).astimezone(UTC)
    issued_from = (valid_from or at).astimezone(UTC)
    row = conn.execute(select(issuers).where(issuers.c.did == issuer_did)).first()
    if row is None:
        raise NotFound(f"{issuer_did} is not a registered authority", field="issuer")
    if not isinstance(event_id, str) or not 1 <= len(event_id) <= 200:
        raise BadInput("an event id is 1-200 characters", field="eventId")
    if not isinstance(claims, Mapping) or "id" in claims:
        raise BadInput(
            "claims are an object without id (the organisation is the subject)", field="claims"
        )
    if valid_until is not None and valid_until.astimezone(UTC) <= issued_from:
        raise BadInput("validUntil must be after validFrom", field="validUntil")
    jurisdiction, _, number = organisation.partition(":")
    if not number:
        raise BadInput("an organisation is named JURISDICTION:NUMBER", field="organisation")
    found = conn.execute(
        select(organisations.c.id).where(organisations.c.id == organisation)
    ).first()
    if found is None:
        raise NotFound(f"organisation {organisation} is not in the register", field="organisation")
    again = _replayed(conn, str(row.id), event_id, vc_type, organisation, claims)
    if again is not None:
        return again
    # In force now (when the entry is logged) and at the credential's validFrom: what a verifier
    # checks (orgbook.verification.authorisation.decide).
    by = authorising_entry(conn, issuer_did, vc_type, jurisdiction, at, on_behalf_of=on_behalf_of)
    if by is None or by.authorisation.refuses(
        issuer=issuer_did, vc_types=[vc_type], jurisdiction=jurisdiction, at=issued_from
    ):
        behalf = f" on behalf of {on_behalf_of}" if on_behalf_of else ""
        raise Forbidden(
            f"{issuer_did} is not authorised to issue {vc_type}{behalf} about organisations of "
            f"{jurisdiction} at {format_time(issued_from, 'trimmed')}",
            field="type",
        )
    registered = _type_for(conn, vc_type, type_id, by)
    definition = registered.definition
    subject = {"id": subject_id(jurisdiction, number), **dict(claims)}
    _check_claims(registered, subject)
    until = valid_until or definition.valid_until(issued_from)
    slug = definition.slug
    key = (
        definition.supersession_values(subject)[0],
        slug,
        *definition.supersession_values(subject)[1:],
    )
    skey = "|".join(key)
    cid = credential_id(issuer_did, event_id, slug)
    previous = conn.execute(
        select(credentials.c.id, credentials.c.effective, credentials.c.status_index).where(
            credentials.c.issuer_id == str(row.id),
            credentials.c.type == slug,
            credentials.c.supersession_key == skey,
            credentials.c.state == "current",
        )
    ).first()
    current = previous is None or as_utc(previous.effective) <= issued_from
    status_index = statuslists.allocate(conn, str(row.id), 1)
    unsigned: dict[str, Any] = {
        "@context": [CREDENTIALS_V2_CONTEXT],
        "id": cid,
        "type": ["VerifiableCredential", vc_type],
        "issuer": {"id": issuer_did, "name": row.name},
        "validFrom": format_time(issued_from, "trimmed"),
    }
    if until is not None:
        unsigned["validUntil"] = format_time(until.astimezone(UTC), "trimmed")
    if on_behalf_of is not None:
        unsigned["onBehalfOf"] = on_behalf_of
    unsigned["credentialSchema"] = {"id": definition.credential_schema, "type": "JsonSchema"}
    unsigned["credentialSubject"] = subject
    unsigned["credentialStatus"] = statuslists.entries(
        public_url.rstrip("/"), str(row.id), status_index
    )
    key_id, signer = IssuerKeys.active(conn, str(row.id), passphrase)
    signed = sign(unsigned, signer, verification_method=key_id, created=at)
    items: list[tuple[str, dict[str, Any]]] = [
        (
            "credential.issued",
            {
                "credential": signed,
                "organisation": organisation,
                "type": slug,
                "eventId": event_id,
                "current": current,
                "supersessionKey": list(key),
            },
        )
    ]
    batch = Batch()
    batch.issued(
        0,
        credential_id=cid,
        issuer_id=str(row.id),
        organisation=organisation,
        jurisdiction=jurisdiction,
        registration_number=number,
        type_slug=slug,
        subject=dict(claims),
        supersession_key=skey,
        current=current,
        effective=issued_from,
        valid_until=valid_until_of(signed),
        event_id=event_id,
        status_index=status_index,
        superseded_by=None if current or previous is None else str(previous.id),
        document=canonicalize(signed),
        at=at,
    )
    if previous is not None:
        old, new = (str(previous.id), cid) if current else (cid, str(previous.id))
        reason = "superseded" if current else LATE_REASON
        items.append(
            (
                "credential.superseded",
                {
                    "credential": old,
                    "supersededBy": new,
                    "organisation": organisation,
                    "reason": reason,
                },
            )
        )
        batch.supersede(
            1,
            old,
            by=new,
            status_index=int(previous.status_index) if current else status_index,
            at=at,
            reason=reason,
            row_written=not current,
        )
    data: list[bytes] = []
    entries = ledger.append_many(conn, items, now=at, leaf_bytes=data)
    batch.write(conn, str(row.id), [e.index for e in entries], data)
    ledger.sign_checkpoint(conn, now=at)
    return Issued(
        signed,
        entries[0].index,
        by,
        superseded=str(previous.id) if previous is not None and current else None,
        credential_type=definition.id,
    )
