"""OpenID4VCI 1.0 metadata: what the registry offers wallets, and where its endpoints are.

What it owns: the endpoints' paths, the credential configurations (:data:`CONFIGURATIONS`, one
per credential type a wallet can receive: format ``ldp_vc``, W3C VC 2.0 signed
``eddsa-jcs-2022``, a ``jwt`` proof of possession signed ``EdDSA``), the Credential Issuer
Metadata (:func:`issuer_metadata`, ``/.well-known/openid-credential-issuer``) and the OAuth 2.0
Authorization Server Metadata of the pre-authorised codes (:func:`authorization_server_metadata`:
the registry is its own authorisation server).

What it must not do: read or write anything (pure functions of the registry's public URL).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from orgbook.core.anchor import ANCHOR_CONTEXT, ANCHOR_SLUG, ANCHOR_TYPE
from orgbook.core.credentials import CREDENTIALS_V2_CONTEXT

__all__ = [
    "CONFIGURATIONS",
    "CREDENTIAL_PATH",
    "NONCE_PATH",
    "OFFER_PAGE_PATH",
    "OFFER_PATH",
    "OFFER_SCHEME",
    "PRE_AUTHORIZED_GRANT",
    "PROOF_ALGS",
    "PROOF_TYP",
    "TOKEN_PATH",
    "Configuration",
    "authorization_server_metadata",
    "base_url",
    "issuer_metadata",
]

PRE_AUTHORIZED_GRANT = "urn:ietf:params:oauth:grant-type:pre-authorized_code"
PROOF_TYP = "openid4vci-proof+jwt"
PROOF_ALGS = ("EdDSA",)
"""Ed25519 only: the wallet's key becomes a did:key that signs eddsa-jcs-2022 presentations."""
TOKEN_PATH = "/oid4vci/token"  # noqa: S105 - a path, not a secret
NONCE_PATH = "/oid4vci/nonce"
CREDENTIAL_PATH = "/oid4vci/credential"
OFFER_PATH = "/oid4vci/offers/"
OFFER_PAGE_PATH = "/wallet-offers/"
OFFER_SCHEME = "openid-credential-offer://"


@dataclass(frozen=True, slots=True)
class Configuration:
    """One credential configuration the registry offers wallets."""

    id: str
    type_slug: str
    vc_type: str
    contexts: tuple[str, ...]
    names: Mapping[str, str]
    description: Mapping[str, str]


CONFIGURATIONS: Mapping[str, Configuration] = {
    ANCHOR_TYPE: Configuration(
        id=ANCHOR_TYPE,
        type_slug=ANCHOR_SLUG,
        vc_type=ANCHOR_TYPE,
        contexts=(CREDENTIALS_V2_CONTEXT, ANCHOR_CONTEXT),
        names={"en": "Digital Identity Anchor", "fr": "Ancre d'identité numérique"},
        description={
            "en": "Binds this wallet's key (its did:key) to the organisation's registration.",
            "fr": "Lie la clé de ce portefeuille (son did:key) à l'immatriculation de "
            "l'organisation.",
        },
    ),
}
"""Credential configuration id → what it issues (OpenID4VCI ``credential_configuration_id``)."""


def base_url(public_url: str) -> str:
    """The credential issuer's identifier: the registry's public URL, no trailing slash."""
    return public_url.rstrip("/")


def issuer_metadata(public_url: str) -> dict[str, Any]:
    """The Credential Issuer Metadata (OpenID4VCI 1.0 section 12.2)."""
    base = base_url(public_url)
    configurations: dict[str, Any] = {}
    for config in CONFIGURATIONS.values():
        configurations[config.id] = {
            "format": "ldp_vc",
            "scope": config.id,
            "cryptographic_binding_methods_supported": ["did:key", "jwk"],
            "credential_signing_alg_values_supported": ["eddsa-jcs-2022"],
            "proof_types_supported": {
                "jwt": {"proof_signing_alg_values_supported": list(PROOF_ALGS)}
            },
            "credential_definition": {
                "@context": list(config.contexts),
                "type": ["VerifiableCredential", config.vc_type],
            },
            "credential_metadata": {
                "display": [
                    {"name": name, "locale": locale, "description": config.description[locale]}
                    for locale, name in config.names.items()
                ]
            },
        }
    return {
        "credential_issuer": base,
        "credential_endpoint": base + CREDENTIAL_PATH,
        "nonce_endpoint": base + NONCE_PATH,
        "display": [{"name": "orgbook", "locale": "en"}, {"name": "orgbook", "locale": "fr"}],
        "credential_configurations_supported": configurations,
    }


def authorization_server_metadata(public_url: str) -> dict[str, Any]:
    """RFC 8414 metadata: the registry is the authorisation server of its pre-authorised codes."""
    base = base_url(public_url)
    return {
        "issuer": base,
        "token_endpoint": base + TOKEN_PATH,
        "grant_types_supported": [PRE_AUTHORIZED_GRANT],
        "response_types_supported": [],
        "token_endpoint_auth_methods_supported": ["none"],
        "pre-authorized_grant_anonymous_access_supported": True,
    }
