"""OpenID for Verifiable Credential Issuance 1.0, pre-authorised code flow: a business's wallet.

What it owns, for the routes of :mod:`orgbook.issuer.oid4vci_api`:

* the metadata (:mod:`orgbook.issuer.oid4vci_metadata`'s, re-exported): :func:`issuer_metadata`
  (``/.well-known/openid-credential-issuer``, the
  credential configurations in :data:`CONFIGURATIONS`, format ``ldp_vc`` signed
  ``eddsa-jcs-2022``, a ``jwt`` proof of possession signed ``EdDSA``) and
  :func:`authorization_server_metadata` (the registry is its own authorisation server:
  ``/.well-known/oauth-authorization-server`` with the token endpoint, anonymous pre-authorised
  code access);
* :func:`create_offer` — for the issuer API, acting for the business's representative: a
  credential offer for an organisation of the issuer's jurisdiction, with a random handle (the
  secret in the offer's URLs: ``credential_offer_uri`` and the page with the QR code), a
  single-use pre-authorised code derived from the handle, optionally a 6-digit transaction code
  (PIN), valid :data:`OFFER_TTL`; only SHA-256 hashes of the secrets are stored
  (:mod:`orgbook.issuer.oid4vci_store`); :func:`offer_by_handle` gives the offer back to whoever
  holds the handle while it is unused and unexpired;
* :func:`exchange_code` — the token endpoint: ``grant_type`` pre-authorised code (the code used
  once, committed before anything else; a wrong PIN counts, :data:`MAX_TX_ATTEMPTS` burn the
  code) → a Bearer access token valid :data:`TOKEN_TTL`, stored hashed;
* :func:`new_nonce` — the nonce endpoint's ``c_nonce`` (single use, :data:`NONCE_TTL`);
* :func:`issue_credential` — the credential endpoint: the access token, the configuration (one
  credential per configuration and token), the ``jwt`` proof (``typ`` ``openid4vci-proof+jwt``,
  ``EdDSA``, ``aud`` the credential issuer, a fresh ``iat``, the key as ``jwk`` or as a
  ``did:key`` ``kid``, checked by :mod:`orgbook.issuer.oid4vci_proof`; then an unused
  ``nonce`` of this registry)
  → a UNTP Digital Identity Anchor whose ``credentialSubject.id`` is the wallet key's did:key,
  issued, logged and superseding like any DID binding (:func:`orgbook.issuer.binding.issue_anchor`).

Refusals are :class:`Oid4vciError` — the OAuth 2.0 / OpenID4VCI error codes (``invalid_grant``,
``invalid_request``, ``invalid_token``, ``invalid_proof``, ``invalid_nonce``,
``unknown_credential_configuration``…) as JSON, 400 or 401, never a 500; nothing is logged.

What it must not do: route or parse HTTP (the API does), or sign anything but through the
binding's issuance. Why the anchor: its subject is the wallet key's DID, so the wallet's key
*is* the holder that orgbook's verifiers check in a presentation (``orgbook present`` signed
with that key, verified by ``orgbook verify`` and ``POST /api/v1/verify``).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote

from sqlalchemy import Connection, select, update

from orgbook.core.anchor import ANCHOR_TYPE
from orgbook.core.errors import BadInput, Conflict, OrgBookError
from orgbook.core.time import as_utc
from orgbook.issuer.binding import check_anchor_issuer, issue_anchor
from orgbook.issuer.keys import Issuer, get_issuer
from orgbook.issuer.oid4vci_metadata import (
    CONFIGURATIONS,
    CREDENTIAL_PATH,
    NONCE_PATH,
    OFFER_PAGE_PATH,
    OFFER_PATH,
    OFFER_SCHEME,
    PRE_AUTHORIZED_GRANT,
    PROOF_TYP,
    TOKEN_PATH,
    authorization_server_metadata,
    base_url,
    issuer_metadata,
)
from orgbook.issuer.oid4vci_proof import Oid4vciError, check_proof, requested
from orgbook.issuer.oid4vci_store import oid4vci_nonces, oid4vci_offers, oid4vci_tokens
from orgbook.projections.bindings import current_anchor
from orgbook.projections.tables import credential_document, credentials, credentials_with_entry
from orgbook.runtime.registry import Registry

__all__ = [
    "CONFIGURATIONS",
    "CREDENTIAL_PATH",
    "MAX_TX_ATTEMPTS",
    "NONCE_PATH",
    "NONCE_TTL",
    "OFFER_PAGE_PATH",
    "OFFER_PATH",
    "OFFER_TTL",
    "PRE_AUTHORIZED_GRANT",
    "PROOF_TYP",
    "TOKEN_PATH",
    "TOKEN_TTL",
    "CreatedOffer",
    "Oid4vciError",
    "authorization_server_metadata",
    "create_offer",
    "exchange_code",
    "issue_credential",
    "issuer_metadata",
    "new_nonce",
    "offer_by_handle",
]

OFFER_TTL = timedelta(minutes=15)
TOKEN_TTL = timedelta(minutes=5)
NONCE_TTL = timedelta(minutes=5)
MAX_TX_ATTEMPTS = 3


@dataclass(frozen=True, slots=True)
class CreatedOffer:
    """A new credential offer: the secrets are only here, once (the database holds hashes)."""

    handle: str
    pre_authorized_code: str
    tx_code: str | None
    organisation: str
    configurations: tuple[str, ...]
    expires: datetime
    offer: dict[str, Any]
    offer_uri: str
    link: str
    page: str


def _utc(now: datetime | None) -> datetime:
    return (now or datetime.now(UTC)).astimezone(UTC)


def _sha256(value: str) -> str:
    return hashlib.sha256(value.encode("utf-8")).hexdigest()


def _code_of(handle: str) -> str:
    """The pre-authorised code of an offer: derived from its handle, so neither is stored."""
    digest = hmac.new(handle.encode(), b"orgbook oid4vci pre-authorized_code", "sha256").digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def _tx_hash(code_hash: str, tx_code: str) -> str:
    return hmac.new(code_hash.encode(), tx_code.encode("utf-8"), "sha256").hexdigest()


# --- offers -------------------------------------------------------------------------------------


def _offer_document(
    public_url: str, code: str, configurations: Sequence[str], tx_code: bool
) -> dict[str, Any]:
    grant: dict[str, Any] = {"pre-authorized_code": code}
    if tx_code:
        grant["tx_code"] = {
            "input_mode": "numeric",
            "length": 6,
            "description": "The PIN the registry gave the business's representative",
        }
    return {
        "credential_issuer": base_url(public_url),
        "credential_configuration_ids": list(configurations),
        "grants": {PRE_AUTHORIZED_GRANT: grant},
    }


def _urls(public_url: str, handle: str) -> tuple[str, str, str]:
    """(credential_offer_uri, the openid-credential-offer:// link, the offer's page)."""
    base = base_url(public_url)
    uri = base + OFFER_PATH + handle
    link = OFFER_SCHEME + "?credential_offer_uri=" + quote(uri, safe="")
    return uri, link, base + OFFER_PAGE_PATH + handle


def create_offer(
    registry: Registry,
    issuer: Issuer,
    organisation: str,
    configurations: Sequence[str] = (ANCHOR_TYPE,),
    *,
    tx_code: bool = False,
    now: datetime | None = None,
) -> CreatedOffer:
    """A new credential offer for ``organisation``'s wallet, stored (hashed)."""
    at = _utc(now)
    chosen = tuple(dict.fromkeys(configurations))
    if not chosen:
        raise BadInput("offer at least one credential configuration", field="configurations")
    for config_id in chosen:
        if config_id not in CONFIGURATIONS:
            raise BadInput(
                f"unknown credential configuration {config_id!r}: one of "
                + ", ".join(sorted(CONFIGURATIONS)),
                field="configurations",
            )
    handle = secrets.token_urlsafe(32)
    code = _code_of(handle)
    code_hash = _sha256(code)
    pin = f"{secrets.randbelow(10**6):06d}" if tx_code else None
    with registry.engine.begin() as conn:
        for config_id in chosen:
            check_anchor_issuer(issuer, conn, organisation, CONFIGURATIONS[config_id].type_slug)
        conn.execute(
            oid4vci_offers.insert().values(
                offer_hash=_sha256(handle),
                code_hash=code_hash,
                issuer_id=issuer.id,
                organisation_id=organisation,
                configurations=",".join(chosen),
                tx_code_hash=_tx_hash(code_hash, pin) if pin is not None else None,
                tx_attempts=0,
                created_at=at,
                expires_at=at + OFFER_TTL,
                used_at=None,
            )
        )
    public_url = registry.settings.public_url
    uri, link, page = _urls(public_url, handle)
    return CreatedOffer(
        handle=handle,
        pre_authorized_code=code,
        tx_code=pin,
        organisation=organisation,
        configurations=chosen,
        expires=at + OFFER_TTL,
        offer=_offer_document(public_url, code, chosen, pin is not None),
        offer_uri=uri,
        link=link,
        page=page,
    )


@dataclass(frozen=True, slots=True)
class OpenOffer:
    """An unused, unexpired offer, found by its handle (for its URI and its page)."""

    organisation: str
    configurations: tuple[str, ...]
    expires: datetime
    offer: dict[str, Any]
    offer_uri: str
    link: str
    tx_code: bool


def offer_by_handle(
    registry: Registry, handle: str, *, now: datetime | None = None
) -> OpenOffer | None:
    """The offer whose handle is ``handle``, while its code is unused and unexpired; or None."""
    if not handle or len(handle) > 100:
        return None
    at = _utc(now)
    with registry.engine.connect() as conn:
        row = conn.execute(
            select(oid4vci_offers).where(oid4vci_offers.c.offer_hash == _sha256(handle))
        ).first()
    if row is None or row.used_at is not None or as_utc(row.expires_at) <= at:
        return None
    public_url = registry.settings.public_url
    configurations = tuple(str(row.configurations).split(","))
    uri, link, _ = _urls(public_url, handle)
    pin = row.tx_code_hash is not None
    return OpenOffer(
        organisation=str(row.organisation_id),
        configurations=configurations,
        expires=as_utc(row.expires_at),
        offer=_offer_document(public_url, _code_of(handle), configurations, pin),
        offer_uri=uri,
        link=link,
        tx_code=pin,
    )


# --- token endpoint -----------------------------------------------------------------------------


def _grant_error(description: str) -> Oid4vciError:
    return Oid4vciError("invalid_grant", description)


def exchange_code(
    registry: Registry, form: Mapping[str, str], *, now: datetime | None = None
) -> dict[str, Any]:
    """The token response for a pre-authorised code (RFC 6749 section 5.1)."""
    at = _utc(now)
    grant_type = form.get("grant_type")
    if not grant_type:
        raise Oid4vciError("invalid_request", "grant_type is required")
    if grant_type != PRE_AUTHORIZED_GRANT:
        raise Oid4vciError(
            "unsupported_grant_type", f"only {PRE_AUTHORIZED_GRANT} is supported here"
        )
    code = form.get("pre-authorized_code")
    if not code or len(code) > 200:
        raise Oid4vciError("invalid_request", "pre-authorized_code is required")
    tx_code = form.get("tx_code")
    code_hash = _sha256(code)
    with registry.engine.begin() as conn:
        row = conn.execute(
            select(oid4vci_offers).where(oid4vci_offers.c.code_hash == code_hash).with_for_update()
        ).first()
        if row is None:
            raise _grant_error("unknown pre-authorized_code")
        if row.used_at is not None:
            raise _grant_error("this pre-authorized_code was already used")
        if as_utc(row.expires_at) <= at:
            raise _grant_error("this pre-authorized_code has expired: ask for a new offer")
        if row.tx_code_hash is not None:
            if not tx_code:
                raise Oid4vciError("invalid_request", "this offer needs its tx_code (the PIN)")
            if not hmac.compare_digest(_tx_hash(code_hash, tx_code[:20]), row.tx_code_hash):
                attempts = int(row.tx_attempts) + 1
                values: dict[str, Any] = {"tx_attempts": attempts}
                if attempts >= MAX_TX_ATTEMPTS:
                    values["used_at"] = at
                conn.execute(
                    update(oid4vci_offers)
                    .where(oid4vci_offers.c.offer_hash == row.offer_hash)
                    .values(**values)
                )
                # Committed on the way out: the count holds whatever the caller does next.
                error = _grant_error("wrong tx_code")
            else:
                error = None
        else:
            error = None
        if error is None:
            conn.execute(
                update(oid4vci_offers)
                .where(oid4vci_offers.c.offer_hash == row.offer_hash)
                .values(used_at=at)
            )
            token = secrets.token_urlsafe(32)
            conn.execute(
                oid4vci_tokens.insert().values(
                    token_hash=_sha256(token),
                    offer_hash=row.offer_hash,
                    created_at=at,
                    expires_at=at + TOKEN_TTL,
                    issued="",
                )
            )
    if error is not None:
        raise error
    return {
        "access_token": token,
        "token_type": "Bearer",
        "expires_in": int(TOKEN_TTL.total_seconds()),
    }


# --- nonce endpoint -----------------------------------------------------------------------------


def new_nonce(registry: Registry, *, now: datetime | None = None) -> dict[str, Any]:
    """A fresh ``c_nonce`` (OpenID4VCI 1.0 section 7), stored for single use."""
    at = _utc(now)
    nonce = secrets.token_urlsafe(32)
    with registry.engine.begin() as conn:
        conn.execute(
            oid4vci_nonces.insert().values(
                nonce=nonce, created_at=at, expires_at=at + NONCE_TTL, used_at=None
            )
        )
    return {"c_nonce": nonce}


# --- credential endpoint ------------------------------------------------------------------------


def _token_error(description: str) -> Oid4vciError:
    return Oid4vciError("invalid_token", description, status=401)


def _bearer(authorization: str | None) -> str:
    if not authorization:
        raise Oid4vciError("invalid_token", "an access token is required (Bearer)", status=401)
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer" or not token.strip() or len(token) > 200:
        raise _token_error("the Authorization header must be 'Bearer <access token>'")
    return token.strip()


def _consume_nonce(registry: Registry, nonce: str, at: datetime) -> None:
    """Use the nonce, committed at once (single use, whatever follows)."""
    with registry.engine.begin() as conn:
        row = conn.execute(
            select(oid4vci_nonces).where(oid4vci_nonces.c.nonce == nonce).with_for_update()
        ).first()
        if row is None:
            raise Oid4vciError("invalid_nonce", "unknown nonce: ask the nonce endpoint for one")
        if row.used_at is not None:
            raise Oid4vciError("invalid_nonce", "this nonce was already used: ask for a new one")
        if as_utc(row.expires_at) <= at:
            raise Oid4vciError("invalid_nonce", "this nonce has expired: ask for a new one")
        conn.execute(
            update(oid4vci_nonces).where(oid4vci_nonces.c.nonce == nonce).values(used_at=at)
        )


def _claim_token(registry: Registry, token: str, config_id: str, at: datetime) -> Any:
    """The offer of an access token, once ``config_id`` is marked issued with it (committed)."""
    with registry.engine.begin() as conn:
        row = conn.execute(
            select(oid4vci_tokens)
            .where(oid4vci_tokens.c.token_hash == _sha256(token))
            .with_for_update()
        ).first()
        if row is None:
            raise _token_error("unknown access token")
        if as_utc(row.expires_at) <= at:
            raise _token_error("the access token has expired")
        offer = conn.execute(
            select(oid4vci_offers).where(oid4vci_offers.c.offer_hash == row.offer_hash)
        ).one()
        offered = str(offer.configurations).split(",")
        if config_id not in offered:
            raise Oid4vciError(
                "invalid_credential_request",
                f"the offer behind this access token is for {', '.join(offered)}",
            )
        issued = [c for c in str(row.issued).split(",") if c]
        if config_id in issued:
            raise _token_error(f"this access token was already used for {config_id}")
        conn.execute(
            update(oid4vci_tokens)
            .where(oid4vci_tokens.c.token_hash == row.token_hash)
            .values(issued=",".join([*issued, config_id]))
        )
    return offer


def _anchor_document(conn: Connection, credential_id: str) -> dict[str, Any]:
    raw = conn.execute(
        select(credential_document)
        .select_from(credentials_with_entry)
        .where(credentials.c.id == credential_id)
    ).scalar_one()
    document: dict[str, Any] = json.loads(bytes(raw))
    return document


def issue_credential(
    registry: Registry,
    authorization: str | None,
    body: Any,
    *,
    now: datetime | None = None,
) -> dict[str, Any]:
    """The credential response (OpenID4VCI 1.0 section 8.3) for a credential request."""
    at = _utc(now)
    token = _bearer(authorization)
    audience = base_url(registry.settings.public_url)
    with registry.engine.connect() as conn:
        found = conn.execute(
            select(oid4vci_tokens.c.expires_at).where(oid4vci_tokens.c.token_hash == _sha256(token))
        ).first()
    if found is None:
        raise _token_error("unknown access token")
    if as_utc(found.expires_at) <= at:
        raise _token_error("the access token has expired")
    config_id, proof = requested(body)
    did, nonce = check_proof(proof, audience, at)
    _consume_nonce(registry, nonce, at)
    offer = _claim_token(registry, token, config_id, at)
    with registry.engine.connect() as conn:
        issuer = get_issuer(conn, str(offer.issuer_id))
    organisation = str(offer.organisation_id)
    try:
        bound = issue_anchor(registry, issuer, organisation, did, "oid4vci:" + nonce, at)
        credential = dict(bound.credential or {})
    except Conflict as err:
        # The wallet's key is already the organisation's bound DID: its current anchor.
        with registry.engine.connect() as conn:
            current = current_anchor(conn, organisation)
            if current is None or current.did != did:
                raise Oid4vciError("credential_request_denied", err.detail) from None
            credential = _anchor_document(conn, current.credential_id)
    except OrgBookError as err:
        raise Oid4vciError("credential_request_denied", err.detail) from None
    return {"credentials": [{"credential": credential}]}
