"""Binding a business's DID to its registration: challenges, proofs, Digital Identity Anchors.

What it owns, for the issuer API (:mod:`orgbook.issuer.binding_api`):

* :func:`create_challenge` — a random, single-use challenge for one organisation of the calling
  issuer's jurisdiction, valid :data:`CHALLENGE_TTL`, with the registry's domain; stored
  (:mod:`orgbook.issuer.binding_store`);
* :func:`bind` — the business's signed proof (a VP 2.0 with no credentials, holder = its DID,
  proof purpose ``authentication``, the challenge and the domain; :mod:`orgbook.core.presentation`)
  checked against the challenge (consumed first, whatever follows: one attempt per challenge),
  then a UNTP Digital Identity Anchor (:mod:`orgbook.core.anchor`) signed with the issuer's active
  key, appended to the ledger as ``credential.issued`` and written to the projections like any
  credential; the organisation's previous anchor (another DID) is superseded in the same
  transaction;
* :func:`issue_anchor` — the anchor itself, for a DID whose control was proved another way (an
  OpenID4VCI wallet's proof of possession, :mod:`orgbook.issuer.oid4vci`), and
  :func:`check_anchor_issuer` — may this issuer issue anchors about that organisation;
* :func:`unbind` — the binding ends: the current anchor is revoked (the service's revocation);
* :func:`current_binding` — the organisation's current anchor (its DID), for profiles.

Refusals are :class:`~orgbook.core.errors.OrgBookError` (problem+json 4xx) and write nothing to
the ledger: an unknown, expired or used challenge, another issuer's or organisation's challenge,
a proof that does not verify, a key that is not the DID's.

What it must not do: authenticate callers (the API does), or fetch DID documents itself (did:web
goes through the resolver it is given).
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import Connection, select, update

from orgbook.core.anchor import ANCHOR_SLUG, build_anchor
from orgbook.core.canonical import Canonical, canonicalize
from orgbook.core.credentials import credential_id, sign_credential
from orgbook.core.did import DidResolver
from orgbook.core.errors import BadInput, Conflict, Forbidden, NotFound
from orgbook.core.presentation import holder_of, is_presentation, presented_items
from orgbook.core.time import as_utc, format_time
from orgbook.issuer import statuslists
from orgbook.issuer.binding_store import binding_challenges
from orgbook.issuer.keys import Issuer, IssuerKeys, get_issuer
from orgbook.issuer.service import Issuance, _lock_issuer
from orgbook.projections.bindings import current_anchor
from orgbook.projections.tables import organisations
from orgbook.projections.write import Batch, valid_until_of
from orgbook.runtime.registry import Registry
from orgbook.verification.presentation import check_holder_signature
from orgbook.verification.report import Check

__all__ = [
    "CHALLENGE_TTL",
    "Binding",
    "Challenge",
    "bind",
    "check_anchor_issuer",
    "create_challenge",
    "current_binding",
    "issue_anchor",
    "registry_domain",
    "unbind",
]

CHALLENGE_TTL = timedelta(minutes=10)


@dataclass(frozen=True, slots=True)
class Challenge:
    challenge: str
    domain: str
    organisation: str
    expires: datetime


@dataclass(frozen=True, slots=True)
class Binding:
    """A business's DID bound to its organisation by a Digital Identity Anchor."""

    organisation: str
    did: str
    credential_id: str
    ledger_index: int | None = None
    superseded: str | None = None
    credential: Mapping[str, Any] | None = None


def _utc(now: datetime | None) -> datetime:
    return (now or datetime.now(UTC)).astimezone(UTC)


def registry_domain(public_url: str) -> str:
    """The domain a business's proof names: the host of the registry's public URL."""
    return urlsplit(public_url).netloc or public_url


def _check_issuer(issuer: Issuer, conn: Connection, organisation: str) -> Any:
    if ANCHOR_SLUG not in issuer.credential_types:
        raise Forbidden(
            f"issuer {issuer.id!r} is not registered to issue {ANCHOR_SLUG} credentials",
            field="organisation",
        )
    org = conn.execute(select(organisations).where(organisations.c.id == organisation)).first()
    if org is None:
        raise NotFound(f"no organisation {organisation}", field="organisation")
    if org.jurisdiction != issuer.jurisdiction:
        raise Forbidden(
            f"issuer {issuer.id!r} registers organisations in {issuer.jurisdiction}, "
            f"not {org.jurisdiction}",
            field="organisation",
        )
    return org


def check_anchor_issuer(
    issuer: Issuer, conn: Connection, organisation: str, type_slug: str = ANCHOR_SLUG
) -> Any:
    """The organisation's row, once ``issuer`` may issue ``type_slug`` (anchors) about it."""
    if type_slug != ANCHOR_SLUG:
        raise Forbidden(f"only {ANCHOR_SLUG} credentials are bound to a DID", field="type")
    return _check_issuer(issuer, conn, organisation)


def create_challenge(
    registry: Registry, issuer: Issuer, organisation: str, *, now: datetime | None = None
) -> Challenge:
    """A new single-use challenge for ``organisation``, stored."""
    at = _utc(now)
    domain = registry_domain(registry.settings.public_url)
    value = secrets.token_urlsafe(32)
    with registry.engine.begin() as conn:
        _check_issuer(issuer, conn, organisation)
        conn.execute(
            binding_challenges.insert().values(
                challenge=value,
                issuer_id=issuer.id,
                organisation_id=organisation,
                domain=domain,
                created_at=at,
                expires_at=at + CHALLENGE_TTL,
                used_at=None,
            )
        )
    return Challenge(value, domain, organisation, at + CHALLENGE_TTL)


def _proof_challenge(proof: Any) -> str:
    proofs = proof.get("proof") if isinstance(proof, Mapping) else None
    first = proofs[0] if isinstance(proofs, list) and proofs else proofs
    value = first.get("challenge") if isinstance(first, Mapping) else None
    if not isinstance(value, str) or not value or len(value) > 64:
        raise BadInput("the proof carries no challenge of this registry", field="proof.challenge")
    return value


def _consume(
    registry: Registry, issuer: Issuer, organisation: str, value: str, at: datetime
) -> str:
    """Use the challenge (committed at once: single use, whatever follows); its domain."""
    with registry.engine.begin() as conn:
        row = conn.execute(
            select(binding_challenges)
            .where(binding_challenges.c.challenge == value)
            .with_for_update()
        ).first()
        if row is None or row.issuer_id != issuer.id:
            raise BadInput("unknown challenge: ask for one first", field="proof.challenge")
        if row.used_at is not None:
            raise Conflict("this challenge was already used: ask for a new one", field="challenge")
        conn.execute(
            update(binding_challenges)
            .where(binding_challenges.c.challenge == value)
            .values(used_at=at)
        )
    if row.organisation_id != organisation:
        raise BadInput(
            f"this challenge was given for {row.organisation_id}, not {organisation}",
            field="organisation",
        )
    expires = as_utc(row.expires_at)
    if expires <= at:
        raise BadInput(
            f"the challenge expired at {format_time(expires, 'trimmed')}: ask for a new one",
            field="proof.challenge",
        )
    return str(row.domain)


def _refuse(check: Check) -> None:
    if check.failed:
        raise BadInput(f"the DID proof is refused: {check.reason}", field="proof")


def bind(
    registry: Registry,
    issuer: Issuer,
    organisation: str,
    proof: Any,
    *,
    resolver: DidResolver,
    now: datetime | None = None,
) -> Binding:
    """Check the business's signed ``proof`` and issue its Digital Identity Anchor."""
    at = _utc(now)
    if not is_presentation(proof) or presented_items(proof):
        raise BadInput(
            "the proof is a VerifiablePresentation with no credentials, signed by the DID",
            field="proof",
        )
    did = holder_of(proof)
    if did is None or not did.startswith("did:") or len(did) > 500:
        raise BadInput("the proof's holder is the business's DID", field="proof.holder")
    value = _proof_challenge(proof)
    with registry.engine.connect() as conn:
        _check_issuer(issuer, conn, organisation)
    domain = _consume(registry, issuer, organisation, value, at)
    _refuse(check_holder_signature(proof, resolver=resolver, now=at))
    signed = proof.get("proof")
    first = signed[0] if isinstance(signed, list) else signed
    named = first.get("domain") if isinstance(first, Mapping) else None
    if named != domain:
        raise BadInput(f"the proof names domain {named!r}, not {domain!r}", field="proof.domain")
    return issue_anchor(registry, issuer, organisation, did, value, at)


def issue_anchor(
    registry: Registry, issuer: Issuer, organisation: str, did: str, challenge: str, at: datetime
) -> Binding:
    """Issue the anchor binding ``did`` (whose control was proved) to ``organisation``, logged.

    ``challenge`` is what the proof answered (a binding challenge, or an OpenID4VCI nonce): the
    event id is derived from it. The organisation's previous anchor is superseded; the same DID
    again is a :class:`Conflict`.
    """
    service = Issuance(registry)
    with registry.engine.begin() as conn:
        _lock_issuer(conn, issuer.id)
        issuer = get_issuer(conn, issuer.id)
        org = _check_issuer(issuer, conn, organisation)
        previous = current_anchor(conn, organisation)
        previous_index = previous.status_index if previous is not None else 0
        if previous is not None and previous.did == did:
            raise Conflict(f"{organisation} is already bound to {did}", field="proof.holder")
        key_id, signer = IssuerKeys.active(conn, issuer.id, registry.passphrase or b"")
        index = statuslists.allocate(conn, issuer.id, 1)
        event_id = "binding:" + hashlib.sha256(challenge.encode()).hexdigest()[:32]
        skey = (organisation, ANCHOR_SLUG)
        cid = credential_id(issuer.did, event_id, "|".join(skey))
        unsigned = build_anchor(
            issuer=issuer.did,
            issuer_name=issuer.name,
            credential_id=cid,
            holder_did=did,
            organisation=organisation,
            name=org.name or organisation,
            register_name=issuer.name,
            public_url=service.public_url,
            valid_from=format_time(at, "seconds"),
            status_entries=statuslists.entries(service.public_url, issuer.id, index),
        )
        signed = sign_credential(
            unsigned, signer, verification_method=key_id, created=format_time(at, "trimmed")
        )
        document = canonicalize(signed)
        items: list[tuple[str, dict[str, Any]]] = [
            (
                "credential.issued",
                {
                    "credential": Canonical(signed, document),
                    "organisation": organisation,
                    "type": ANCHOR_SLUG,
                    "eventId": event_id,
                    "current": True,
                    "supersessionKey": list(skey),
                },
            )
        ]
        batch = Batch()
        batch.issued(
            0,
            credential_id=cid,
            issuer_id=issuer.id,
            organisation=organisation,
            jurisdiction=org.jurisdiction,
            registration_number=org.registration_number,
            type_slug=ANCHOR_SLUG,
            subject={k: v for k, v in signed["credentialSubject"].items() if k != "id"},
            supersession_key="|".join(skey),
            current=True,
            effective=as_utc(at.replace(microsecond=0)),
            valid_until=valid_until_of(signed),
            event_id=event_id,
            status_index=index,
            superseded_by=None,
            document=document,
            at=at,
        )
        if previous is not None:
            items.append(
                (
                    "credential.superseded",
                    {
                        "credential": previous.credential_id,
                        "supersededBy": cid,
                        "organisation": organisation,
                        "reason": "superseded",
                    },
                )
            )
            batch.supersede(
                1,
                previous.credential_id,
                by=cid,
                status_index=previous_index,
                at=at,
                reason="superseded",
            )
        data: list[bytes] = []
        entries = registry.ledger.append_many(conn, items, now=at, leaf_bytes=data)
        batch.write(conn, issuer.id, [e.index for e in entries], data)
        service._refresh_status_lists(conn, issuer.id, at)
        registry.ledger.sign_checkpoint(conn, now=at)
    return Binding(
        organisation,
        did,
        cid,
        entries[0].index,
        previous.credential_id if previous else None,
        signed,
    )


def unbind(
    registry: Registry, issuer: Issuer, organisation: str, *, reason: str, now: datetime | None
) -> Binding:
    """End the organisation's binding: its current anchor is revoked with ``reason``."""
    with registry.engine.connect() as conn:
        current = current_binding(conn, organisation)
    if current is None:
        raise NotFound(f"{organisation} has no DID bound", field="organisation")
    index = Issuance(registry).change_status(
        issuer.id, current.credential_id, "revoke", reason=reason, now=now
    )
    return Binding(organisation, current.did, current.credential_id, index)


def current_binding(conn: Connection, organisation: str) -> Binding | None:
    """The organisation's current Digital Identity Anchor, or None."""
    found = current_anchor(conn, organisation)
    if found is None:
        return None
    return Binding(organisation, found.did, found.credential_id)
