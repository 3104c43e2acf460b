"""Reading a presented document's fields that several checks need: issuer, proofs, type.

What it owns: the one way verification reads a credential's (or a status list's) ``issuer``
id, the verification methods its proofs name, and its credential type, from any parsed JSON
value, so that the credential checks, the ledger checks and the status checks agree on what a
document says.

What it must not do: raise on anything it is handed (a missing or malformed field reads as
None or nothing), or judge the fields (the checks do).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from orgbook.core.anchor import EXTRA_TYPE_SLUGS
from orgbook.core.credentials import CredentialType

__all__ = ["as_list", "credential_type", "issuer_id", "proof_methods", "registered_slug"]


def as_list(value: Any) -> list[Any]:
    """A JSON-LD member that may be one value or a list, as a list (absent: empty)."""
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def issuer_id(document: Any) -> str | None:
    """The document's ``issuer`` (a string, or an object's ``id``), or None."""
    if not isinstance(document, Mapping):
        return None
    issuer = document.get("issuer")
    if isinstance(issuer, Mapping):
        issuer = issuer.get("id")
    return issuer if isinstance(issuer, str) else None


def proof_methods(document: Any) -> list[tuple[str, str | None]]:
    """(verificationMethod, created) of every proof that names a verification method."""
    if not isinstance(document, Mapping):
        return []
    found: list[tuple[str, str | None]] = []
    for proof in as_list(document.get("proof")):
        if isinstance(proof, Mapping) and isinstance(proof.get("verificationMethod"), str):
            created = proof.get("created")
            found.append(
                (proof["verificationMethod"], created if isinstance(created, str) else None)
            )
    return found


def credential_type(credential: Any) -> tuple[CredentialType | None, str]:
    """(orgbook's credential type or None, the VC type to name in reasons).

    The VC type is orgbook's when the credential is one of its types, else the last type other
    than ``VerifiableCredential`` (or that, when it is the only one).
    """
    types = credential.get("type") if isinstance(credential, Mapping) else None
    names = [t for t in as_list(types) if isinstance(t, str)]
    ours = CredentialType.from_vc_type(names)
    if ours is not None:
        return ours, ours.vc_type
    other = next(
        (t for t in reversed(names) if t != "VerifiableCredential"), "VerifiableCredential"
    )
    return None, other


def registered_slug(credential: Any) -> str | None:
    """The slug an issuer's ``issuer.registered`` entry lists (``credentialTypes``) for this
    credential's type: a registry record type's, or another type orgbook issues under a
    registration (the Digital Identity Anchor); None for a type only an authorisation covers."""
    types = credential.get("type") if isinstance(credential, Mapping) else None
    names = [t for t in as_list(types) if isinstance(t, str)]
    ours = CredentialType.from_vc_type(names)
    if ours is not None:
        return ours.slug
    return next((EXTRA_TYPE_SLUGS[t] for t in names if t in EXTRA_TYPE_SLUGS), None)
