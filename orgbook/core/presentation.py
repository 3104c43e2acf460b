"""W3C Verifiable Presentations 2.0 made by a business: holder binding by DID authentication.

What it owns: :func:`make_presentation` — a ``VerifiablePresentation`` whose ``holder`` is the
business's DID, holding credentials or orgbook bundles (each as it is), secured with an
``eddsa-jcs-2022`` Data Integrity proof of purpose ``authentication`` carrying the verifier's
``challenge`` and ``domain`` (so it cannot be replayed to another verifier or another request);
:func:`holder_method` (the verification method a DID signs with by default); and reading a
presentation's parts (:func:`is_presentation`, :func:`presented_items`, :func:`holder_of`).

The same document, with no credentials, is what a business signs to bind its DID to its
registration (``POST /api/v1/issuer/bindings``): the registry's challenge and domain.

What it must not do: verify (that is :mod:`orgbook.verification.presentation`), read the clock
(``created`` is a parameter) or hold keys (the ``signer`` is). No I/O.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from orgbook.core.crypto import Signer
from orgbook.core.dataintegrity import add_proof
from orgbook.core.did import did_key_from_public_key
from orgbook.core.errors import BadInput
from orgbook.core.schemas import CREDENTIALS_V2_CONTEXT

__all__ = [
    "PRESENTATION_TYPE",
    "PROOF_PURPOSE",
    "holder_method",
    "holder_of",
    "is_presentation",
    "make_presentation",
    "presented_items",
]

PRESENTATION_TYPE = "VerifiablePresentation"
PROOF_PURPOSE = "authentication"
MAX_ITEMS = 32


def holder_method(did: str, fragment: str | None = None) -> str:
    """The verification method ``did`` signs with: a did:key's own key, else ``#fragment``
    (default ``key-1``)."""
    if did.startswith("did:key:"):
        return f"{did}#{did[len('did:key:') :]}"
    return f"{did}#{fragment or 'key-1'}"


def make_presentation(
    items: Sequence[Mapping[str, Any]],
    signer: Signer,
    *,
    challenge: str,
    domain: str,
    created: str | datetime,
    holder: str | None = None,
    verification_method: str | None = None,
    presentation_id: str | None = None,
) -> dict[str, Any]:
    """A VP 2.0 holding ``items`` (credentials or bundles), signed by the holder's key.

    ``holder`` defaults to the ``did:key`` of ``signer``'s public key; ``verification_method``
    to :func:`holder_method` of the holder.
    """
    if not isinstance(challenge, str) or not challenge.strip():
        raise BadInput("the verifier's challenge is required", field="challenge")
    if not isinstance(domain, str) or not domain.strip():
        raise BadInput("the verifier's domain is required", field="domain")
    if len(items) > MAX_ITEMS:
        raise BadInput(f"at most {MAX_ITEMS} credentials or bundles", field="verifiableCredential")
    for item in items:
        if not isinstance(item, Mapping):
            raise BadInput("each presented item is a JSON object", field="verifiableCredential")
    did = holder or did_key_from_public_key(signer.public_key)
    if not did.startswith("did:"):
        raise BadInput("the holder is a DID", field="holder")
    vp: dict[str, Any] = {"@context": [CREDENTIALS_V2_CONTEXT], "type": [PRESENTATION_TYPE]}
    if presentation_id:
        vp["id"] = presentation_id
    vp["holder"] = did
    vp["verifiableCredential"] = [dict(item) for item in items]
    return add_proof(
        vp,
        signer,
        verification_method=verification_method or holder_method(did),
        proof_purpose=PROOF_PURPOSE,
        created=created,
        challenge=challenge,
        domain=domain,
    )


def is_presentation(value: Any) -> bool:
    """Whether ``value`` says it is a Verifiable Presentation (by its ``type``)."""
    if not isinstance(value, Mapping):
        return False
    kinds = value.get("type")
    return PRESENTATION_TYPE in (kinds if isinstance(kinds, list) else [kinds])


def holder_of(presentation: Mapping[str, Any]) -> str | None:
    """The holder's id (a string, or an object's ``id``), or None."""
    holder = presentation.get("holder")
    if isinstance(holder, Mapping):
        holder = holder.get("id")
    return holder if isinstance(holder, str) and holder else None


def presented_items(presentation: Mapping[str, Any]) -> list[Any]:
    """The presentation's ``verifiableCredential`` as a list (one object → one item)."""
    items = presentation.get("verifiableCredential")
    if items is None:
        return []
    return list(items) if isinstance(items, list) else [items]
