"""Granting and withdrawing authorisations: the registry's side of "who may issue what".

What it owns: :func:`grant` (an ``authorisation.granted`` entry: an ``IssuerAuthorisation``
object ``{id, type, issuer, credentialType, credentialTypeId?, jurisdictions, validFrom,
validUntil?, onBehalfOf?}`` secured with an ``eddsa-jcs-2022`` proof by the governance key),
:func:`withdraw` (an ``authorisation.withdrawn`` entry: an ``AuthorisationWithdrawal``
``{id, type, authorisation, withdrawnAt, reason?}``, signed the same way), each projected in the
same transaction (:mod:`orgbook.projections.authorisations`) with a checkpoint signed after it;
and, re-exported for the issuance path, :func:`authorising_entry` (the authorisation in force).
Nothing is edited in place: a change is a withdrawal and a new grant.

Both parties must be registered issuers (``issuer.registered``; an authority may be registered
with no registry record types): the authorised issuer and, for a delegation, the authority on
whose behalf it issues.

What it must not do: decide whether a credential is covered (that is
:mod:`orgbook.verification.authorisation`, which verifiers run too), or touch the key file
itself (:mod:`orgbook.issuer.governance`).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, select

from orgbook.core.dataintegrity import add_proof
from orgbook.core.errors import BadInput, Conflict, NotFound
from orgbook.core.time import format_time
from orgbook.issuer.governance import governance_key
from orgbook.ledger.store import Ledger
from orgbook.projections.authorisations import (
    AuthorisationRecord,
    authorisations,
    authorisations_of,
    authorising_entry,
    record_granted,
    record_withdrawn,
)
from orgbook.projections.tables import issuers
from orgbook.verification.authorisation import (
    AUTHORISATION_TYPE,
    GRANTED,
    WITHDRAWAL_TYPE,
    WITHDRAWN,
    Authorisation,
)

__all__ = [
    "AuthorisationRecord",
    "authorisations_of",
    "authorising_entry",
    "grant",
    "withdraw",
]


def _utc(now: datetime | None) -> datetime:
    return (now or datetime.now(UTC)).astimezone(UTC)


def _registered(conn: Connection, did: str, what: str) -> None:
    if conn.execute(select(issuers.c.id).where(issuers.c.did == did)).first() is None:
        raise NotFound(
            f"{did} is not a registered authority: register it first (orgbook authority register)",
            field=what,
        )


def grant(
    conn: Connection,
    ledger: Ledger,
    *,
    data_dir: Path,
    passphrase: bytes,
    issuer_did: str,
    credential_type: str,
    jurisdictions: Sequence[str],
    valid_from: datetime | None = None,
    valid_until: datetime | None = None,
    on_behalf_of: str | None = None,
    credential_type_id: str | None = None,
    now: datetime | None = None,
) -> AuthorisationRecord:
    """Authorise ``issuer_did`` to issue ``credential_type`` (a VC type name) about
    organisations of ``jurisdictions`` from ``valid_from`` (default now) until ``valid_until``,
    optionally on behalf of ``on_behalf_of``. In the caller's transaction."""
    at = _utc(now)
    _registered(conn, issuer_did, "issuer")
    if on_behalf_of is not None:
        _registered(conn, on_behalf_of, "onBehalfOf")
        if on_behalf_of == issuer_did:
            raise BadInput("an authority does not issue on its own behalf", field="onBehalfOf")
    body: dict[str, Any] = {
        "id": uuid.uuid4().urn,
        "type": AUTHORISATION_TYPE,
        "issuer": issuer_did,
        "credentialType": credential_type,
        "jurisdictions": list(dict.fromkeys(jurisdictions)),
        "validFrom": format_time(_utc(valid_from) if valid_from else at, "trimmed"),
    }
    if credential_type_id is not None:
        body["credentialTypeId"] = credential_type_id
    if valid_until is not None:
        body["validUntil"] = format_time(_utc(valid_until), "trimmed")
    if on_behalf_of is not None:
        body["onBehalfOf"] = on_behalf_of
    Authorisation.parse(body)  # BadInput naming the member at fault, before anything is signed
    key = governance_key(conn, ledger, data_dir, passphrase, now=at)
    signed = add_proof(body, key.signer, verification_method=key.key_id, created=at)
    entry = ledger.append(conn, GRANTED, {"authorisation": signed}, now=at)
    auth = record_granted(conn, entry)
    ledger.sign_checkpoint(conn, now=at)
    return AuthorisationRecord(entry.index, auth, at)


def withdraw(
    conn: Connection,
    ledger: Ledger,
    authorisation_id: str,
    *,
    data_dir: Path,
    passphrase: bytes,
    reason: str | None = None,
    now: datetime | None = None,
) -> int:
    """Withdraw an authorisation; the ``authorisation.withdrawn`` entry's index. Credentials
    logged before it stay authorised; the registry logs none after it."""
    at = _utc(now)
    row = conn.execute(
        select(authorisations.c.ledger_index, authorisations.c.withdrawn_index).where(
            authorisations.c.id == authorisation_id
        )
    ).first()
    if row is None:
        raise NotFound(f"no authorisation {authorisation_id!r}", field="authorisation")
    if row.withdrawn_index is not None:
        raise Conflict(
            f"authorisation {authorisation_id} was already withdrawn at ledger entry "
            f"{row.withdrawn_index}",
            field="authorisation",
        )
    body: dict[str, Any] = {
        "id": uuid.uuid4().urn,
        "type": WITHDRAWAL_TYPE,
        "authorisation": authorisation_id,
        "withdrawnAt": format_time(at, "trimmed"),
    }
    if reason:
        body["reason"] = reason
    key = governance_key(conn, ledger, data_dir, passphrase, now=at)
    signed = add_proof(body, key.signer, verification_method=key.key_id, created=at)
    entry = ledger.append(conn, WITHDRAWN, {"withdrawal": signed}, now=at)
    record_withdrawn(conn, entry)
    ledger.sign_checkpoint(conn, now=at)
    return entry.index
