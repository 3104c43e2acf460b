"""The UNTP Digital Identity Anchor: the credential binding a business's DID to its registration.

What it owns: the published UNTP names orgbook follows (UNTP Digital Identity Anchor **0.6.0**,
``https://test.uncefact.org/vocabulary/untp/dia/0.6.0/``: the JSON-LD context, the VC type
``DigitalIdentityAnchor``, the subject type ``RegisteredIdentity``, the ``IdentifierScheme`` and
the JSON Schema URL), :func:`build_anchor` (the unsigned VC 2.0 credential: ``credentialSubject.id``
the business's DID, its ``registeredId``, ``name``, ``idScheme`` and ``registrationScopeList`` at
resolvable URLs of the registry), and reading one back (:func:`is_anchor`, :func:`anchor_subject`).

What it must not do: sign, read the clock, hold keys or touch a database (``valid_from``, the
URLs and ids are parameters; issuing it is :mod:`orgbook.issuer.binding`). No I/O.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import quote

from orgbook.core.errors import BadInput
from orgbook.core.schemas import CREDENTIALS_V2_CONTEXT

__all__ = [
    "ANCHOR_CONTEXT",
    "ANCHOR_SCHEMA",
    "ANCHOR_SLUG",
    "ANCHOR_TYPE",
    "ANCHOR_VERSION",
    "EXTRA_TYPE_SLUGS",
    "anchor_subject",
    "build_anchor",
    "is_anchor",
    "organisation_url",
    "scheme_url",
]

ANCHOR_VERSION = "0.6.0"
ANCHOR_CONTEXT = "https://test.uncefact.org/vocabulary/untp/dia/0.6.0/"
ANCHOR_SCHEMA = "https://test.uncefact.org/vocabulary/untp/dia/untp-dia-schema-0.6.0.json"
ANCHOR_TYPE = "DigitalIdentityAnchor"
ANCHOR_SLUG = "identity-anchor"
SUBJECT_TYPE = "RegisteredIdentity"
SCHEME_TYPE = "IdentifierScheme"
REGISTER_TYPE = "Business"

EXTRA_TYPE_SLUGS: Mapping[str, str] = {ANCHOR_TYPE: ANCHOR_SLUG}
"""Credential types orgbook issues that are not registry records' (:class:`CredentialType`):
VC type → the slug an issuer is registered for (``issuer.registered`` ``credentialTypes``)."""


def organisation_url(public_url: str, organisation: str) -> str:
    """The organisation's profile at the registry: ``{public_url}/api/v1/organisations/{id}``."""
    return f"{public_url.rstrip('/')}/api/v1/organisations/{quote(organisation, safe=':')}"


def scheme_url(public_url: str, jurisdiction: str) -> str:
    """The register as an identifier scheme: the registry's search within that jurisdiction."""
    return f"{public_url.rstrip('/')}/api/v1/organisations?jurisdiction={quote(jurisdiction)}"


def build_anchor(
    *,
    issuer: str,
    issuer_name: str | None,
    credential_id: str,
    holder_did: str,
    organisation: str,
    name: str,
    register_name: str,
    public_url: str,
    valid_from: str,
    status_entries: Sequence[Mapping[str, Any]] = (),
) -> dict[str, Any]:
    """The unsigned UNTP Digital Identity Anchor binding ``holder_did`` to ``organisation``.

    ``organisation`` is orgbook's id (``CA-BC:BC1234567``): its registration number becomes
    ``registeredId``, its jurisdiction's register the ``idScheme``.
    """
    if not isinstance(holder_did, str) or not holder_did.startswith("did:"):
        raise BadInput("the business's identifier must be a DID", field="did")
    jurisdiction, sep, number = organisation.partition(":")
    if not sep or not jurisdiction or not number:
        raise BadInput("an organisation id is JURISDICTION:NUMBER", field="organisation")
    credential: dict[str, Any] = {
        "@context": [CREDENTIALS_V2_CONTEXT, ANCHOR_CONTEXT],
        "id": credential_id,
        "type": ["VerifiableCredential", ANCHOR_TYPE],
        "issuer": {"id": issuer, "name": issuer_name} if issuer_name else issuer,
        "validFrom": valid_from,
        "credentialSchema": {"id": ANCHOR_SCHEMA, "type": "JsonSchema"},
    }
    if status_entries:
        credential["credentialStatus"] = [dict(entry) for entry in status_entries]
    credential["credentialSubject"] = {
        "id": holder_did,
        "type": [SUBJECT_TYPE],
        "name": name,
        "registeredId": number,
        "idScheme": {
            "type": [SCHEME_TYPE],
            "id": scheme_url(public_url, jurisdiction),
            "name": register_name,
        },
        "registerType": REGISTER_TYPE,
        "registrationScopeList": [organisation_url(public_url, organisation)],
    }
    return credential


def is_anchor(credential: Any) -> bool:
    """Whether ``credential`` says it is a Digital Identity Anchor (by its ``type``)."""
    if not isinstance(credential, Mapping):
        return False
    kinds = credential.get("type")
    return ANCHOR_TYPE in (kinds if isinstance(kinds, list) else [kinds])


def anchor_subject(credential: Any) -> Mapping[str, Any] | None:
    """The anchor's ``credentialSubject`` (a JSON object), or None."""
    if not is_anchor(credential):
        return None
    subject = credential.get("credentialSubject")
    return subject if isinstance(subject, Mapping) else None
