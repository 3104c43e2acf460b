"""OpenID4VCI credential requests and their proof of possession: the wallet's key, checked.

What it owns: :class:`Oid4vciError` (an OAuth 2.0 / OpenID4VCI error: its code, description and
HTTP status), :func:`requested` (a credential request's ``credential_configuration_id`` and its
one ``jwt`` proof, from ``proofs`` or the older ``proof``) and :func:`check_proof` (the proof JWT:
``typ`` ``openid4vci-proof+jwt``, ``alg`` ``EdDSA``, the key as a public Ed25519 ``jwk`` or as a
``did:key`` ``kid``, the signature, ``aud`` the credential issuer, a recent ``iat``, a ``nonce``;
checked with PyJWT) → the wallet key's did:key and the nonce it answered.

What it must not do: read or write anything: whether the nonce is one of the registry's, unused,
is :mod:`orgbook.issuer.oid4vci`'s to decide.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from orgbook.core.did import did_key_from_public_key, public_key_from_did_key
from orgbook.core.errors import OrgBookError
from orgbook.issuer.oid4vci_metadata import CONFIGURATIONS, PROOF_ALGS, PROOF_TYP

__all__ = ["PROOF_MAX_AGE", "Oid4vciError", "check_proof", "requested"]

PROOF_MAX_AGE = timedelta(minutes=5)
_MAX_JWT = 8192


class Oid4vciError(Exception):
    """An OAuth 2.0 / OpenID4VCI error response: ``{"error", "error_description"}``."""

    def __init__(self, error: str, description: str, *, status: int = 400) -> None:
        super().__init__(description)
        self.error = error
        self.description = description
        self.status = status

    def body(self) -> dict[str, str]:
        return {"error": self.error, "error_description": self.description}


def requested(body: Any) -> tuple[str, str]:
    """(credential_configuration_id, the one jwt proof) of a credential request."""
    if not isinstance(body, Mapping):
        raise Oid4vciError("invalid_credential_request", "the request is a JSON object")
    config_id = body.get("credential_configuration_id")
    if not isinstance(config_id, str) or not config_id:
        raise Oid4vciError("invalid_credential_request", "credential_configuration_id is required")
    if config_id not in CONFIGURATIONS:
        raise Oid4vciError(
            "unknown_credential_configuration",
            f"no credential configuration {config_id[:100]!r} here",
        )
    proofs = body.get("proofs")
    single = body.get("proof")
    if proofs is not None and single is not None:
        raise Oid4vciError("invalid_credential_request", "give proofs or proof, not both")
    if isinstance(proofs, Mapping):
        jwts = proofs.get("jwt")
        if set(proofs) != {"jwt"} or not isinstance(jwts, list) or len(jwts) != 1:
            raise Oid4vciError(
                "invalid_proof", "proofs must hold exactly one jwt proof (no batch issuance)"
            )
        token = jwts[0]
    elif isinstance(single, Mapping) and single.get("proof_type") == "jwt":
        token = single.get("jwt")
    else:
        raise Oid4vciError("invalid_proof", "a jwt proof of possession is required")
    if not isinstance(token, str) or not token or len(token) > _MAX_JWT:
        raise Oid4vciError("invalid_proof", "the jwt proof is not a compact JWT")
    return config_id, token


def _b64url(data: str) -> bytes:
    return base64.urlsafe_b64decode(data + "=" * (-len(data) % 4))


def _proof_key(header: Mapping[str, Any]) -> tuple[str, bytes]:
    """(the wallet's did:key, its raw Ed25519 key) named by the proof's header."""
    jwk = header.get("jwk")
    kid = header.get("kid")
    if (jwk is None) == (kid is None):
        raise Oid4vciError("invalid_proof", "the proof's header names its key by jwk or kid")
    try:
        if jwk is not None:
            if not isinstance(jwk, Mapping) or "d" in jwk:
                raise Oid4vciError("invalid_proof", "the jwk must be a public key")
            if jwk.get("kty") != "OKP" or jwk.get("crv") != "Ed25519":
                raise Oid4vciError("invalid_proof", "the jwk must be an Ed25519 (OKP) key")
            raw = _b64url(str(jwk.get("x", "")))
            if len(raw) != 32:
                raise Oid4vciError("invalid_proof", "the jwk's x is not a 32-byte key")
            return did_key_from_public_key(raw), raw
        if not isinstance(kid, str) or not kid.startswith("did:key:"):
            raise Oid4vciError("invalid_proof", "the kid must be a did:key DID URL")
        raw = public_key_from_did_key(kid)
        return kid.partition("#")[0], raw
    except (OrgBookError, ValueError) as err:
        if isinstance(err, Oid4vciError):
            raise
        raise Oid4vciError("invalid_proof", f"the proof's key cannot be read: {err}") from None


def check_proof(token: str, audience: str, at: datetime) -> tuple[str, str]:
    """(the wallet's did:key, the proof's nonce) once the proof's signature and claims hold."""
    try:
        header = jwt.get_unverified_header(token)
    except jwt.PyJWTError as err:
        raise Oid4vciError("invalid_proof", f"the jwt proof cannot be read: {err}") from None
    if header.get("typ") != PROOF_TYP:
        raise Oid4vciError("invalid_proof", f"the proof's typ must be {PROOF_TYP}")
    if header.get("alg") not in PROOF_ALGS:
        raise Oid4vciError(
            "invalid_proof", f"the proof's alg must be one of {', '.join(PROOF_ALGS)}"
        )
    did, raw = _proof_key(header)
    key = Ed25519PublicKey.from_public_bytes(raw)
    try:
        claims = jwt.decode(
            token,
            key,
            algorithms=list(PROOF_ALGS),
            audience=audience,
            options={"require": ["aud", "iat", "nonce"], "verify_exp": True},
            leeway=60,
        )
    except jwt.InvalidAudienceError:
        raise Oid4vciError("invalid_proof", f"the proof's aud must be {audience}") from None
    except jwt.InvalidSignatureError:
        raise Oid4vciError(
            "invalid_proof", "the proof's signature does not verify with its key"
        ) from None
    except jwt.MissingRequiredClaimError as err:
        if err.claim == "nonce":
            raise Oid4vciError("invalid_nonce", "the proof carries no nonce") from None
        raise Oid4vciError("invalid_proof", f"the proof has no {err.claim}") from None
    except jwt.PyJWTError as err:
        raise Oid4vciError("invalid_proof", f"the proof is refused: {err}") from None
    iat = claims["iat"]
    if not isinstance(iat, int | float) or at.timestamp() - float(iat) > PROOF_MAX_AGE.seconds:
        raise Oid4vciError("invalid_proof", "the proof's iat is not recent")
    nonce = claims["nonce"]
    if not isinstance(nonce, str) or not nonce or len(nonce) > 64:
        raise Oid4vciError("invalid_nonce", "the proof's nonce is not one of this registry")
    return did, nonce
