"""Decentralized identifiers: ``did:key`` (Ed25519), ``did:web`` URLs and issuer DID documents.

What it owns:

* ``did:key`` for Ed25519 (multicodec ``0xed01``, ``did:key:z6Mk…``): encode, decode, and the
  DID document the did:key method defines (one Multikey verification method ``did#z6Mk…``);
* ``did:web`` ↔ HTTPS URL (``did:web:example.com`` → ``https://example.com/.well-known/did.json``,
  ``did:web:example.com:user:alice`` → ``https://example.com/user/alice/did.json``, the port as
  ``%3A``);
* issuer DID documents with current and retired keys: retired keys stay listed as verification
  methods (so credentials they signed still resolve) but leave ``assertionMethod``; the
  registry's ledger is the record of when each key was valid;
* the :class:`DidResolver` protocol with in-memory resolvers, and
  :func:`resolve_verification_method`, which checks a DID URL against its document.

What it must not do: network I/O. Fetching ``did:web`` documents over HTTPS lives in
``orgbook.verifier.did_web`` behind the same protocol.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable
from urllib.parse import urlsplit

from orgbook.core.errors import BadInput, NotFound
from orgbook.core.multibase import decode_multikey_ed25519, encode_multikey_ed25519

__all__ = [
    "DID_CONTEXT",
    "MULTIKEY_CONTEXT",
    "VERIFICATION_RELATIONSHIPS",
    "ChainResolver",
    "DidResolver",
    "LocalResolver",
    "VerificationMethod",
    "build_did_document",
    "did_key_from_public_key",
    "did_web_to_url",
    "public_key_from_did_key",
    "resolve_did_key",
    "resolve_verification_method",
    "url_to_did_web",
]

DID_CONTEXT = "https://www.w3.org/ns/did/v1"
MULTIKEY_CONTEXT = "https://w3id.org/security/multikey/v1"
VERIFICATION_RELATIONSHIPS = (
    "authentication",
    "assertionMethod",
    "capabilityInvocation",
    "capabilityDelegation",
)
_KEY_TYPES = ("Multikey", "Ed25519VerificationKey2020")

# RFC 1035/1123 host names: labels of letters, digits and inner hyphens; at least two labels
# (or "localhost" for development).
_LABEL = r"(?!-)[A-Za-z0-9-]{1,63}(?<!-)"
_HOST = re.compile(rf"(?:{_LABEL}\.)+{_LABEL}|localhost")
_PORT = re.compile(r"[0-9]{1,5}")
# A did:web path segment: unreserved characters or percent-encodings, never "." or "..".
_SEGMENT = re.compile(r"(?:[A-Za-z0-9._~-]|%[0-9A-Fa-f]{2})+")
_FRAGMENT = re.compile(r"[A-Za-z0-9._~!$&'()*+,;=:@/?-]+")


@dataclass(frozen=True, slots=True)
class VerificationMethod:
    """An Ed25519 key as a DID document lists it.

    ``retired_at`` is the verification method's ``revoked`` date-time when the document gives
    one (Controlled Identifiers 1.0); ``purposes`` the verification relationships naming it.
    """

    id: str
    controller: str
    public_key: bytes
    retired_at: str | None = None
    purposes: frozenset[str] = field(default_factory=frozenset)


@runtime_checkable
class DidResolver(Protocol):
    """Turns a DID into its DID document (a JSON object)."""

    def resolve(self, did: str) -> dict[str, Any]:
        """The DID document; :class:`NotFound` when this resolver does not know the DID."""
        ...


# --- did:key ------------------------------------------------------------------------------------


def did_key_from_public_key(public_key: bytes) -> str:
    """``did:key:z6Mk…`` for a raw 32-byte Ed25519 public key."""
    return "did:key:" + encode_multikey_ed25519(public_key)


def public_key_from_did_key(did: str) -> bytes:
    """The raw Ed25519 key of a ``did:key`` DID (a fragment, if any, must repeat the key)."""
    if not isinstance(did, str) or not did.startswith("did:key:"):
        raise BadInput("not a did:key DID")
    base, _, fragment = did.partition("#")
    multikey = base[len("did:key:") :]
    if fragment and fragment != multikey:
        raise BadInput("a did:key verification method fragment must repeat the key")
    return decode_multikey_ed25519(multikey)


def resolve_did_key(did: str) -> dict[str, Any]:
    """The DID document of an Ed25519 ``did:key`` (did:key method, document creation algorithm)."""
    if not isinstance(did, str) or "#" in did:
        raise BadInput("resolve a DID, not a DID URL")
    public_key = public_key_from_did_key(did)
    multikey = encode_multikey_ed25519(public_key)
    if did != "did:key:" + multikey:
        raise BadInput("not a did:key DID")
    vm_id = f"{did}#{multikey}"
    document: dict[str, Any] = {
        "@context": [DID_CONTEXT, MULTIKEY_CONTEXT],
        "id": did,
        "verificationMethod": [
            {"id": vm_id, "type": "Multikey", "controller": did, "publicKeyMultibase": multikey}
        ],
    }
    for relationship in VERIFICATION_RELATIONSHIPS:
        document[relationship] = [vm_id]
    return document


# --- did:web ------------------------------------------------------------------------------------


def _split_did_web(did: str) -> tuple[str, list[str]]:
    """(host[:port], path segments) of a did:web DID, validated."""
    if not isinstance(did, str) or not did.startswith("did:web:"):
        raise BadInput("not a did:web DID")
    if any(c in did for c in "#?/"):
        raise BadInput("a did:web DID has no path, query or fragment (use ':' between segments)")
    host_part, *segments = did[len("did:web:") :].split(":")
    host, sep, port = host_part.replace("%3a", "%3A").partition("%3A")
    if not _HOST.fullmatch(host):
        raise BadInput(f"did:web host {host!r} is not a domain name")
    if sep and (not _PORT.fullmatch(port) or not 0 < int(port) < 65536):
        raise BadInput(f"did:web port {port!r} is not a port number")
    for segment in segments:
        if not _SEGMENT.fullmatch(segment) or segment in {".", ".."}:
            raise BadInput(f"did:web path segment {segment!r} is not allowed")
    if segments[:1] == [".well-known"]:
        raise BadInput("a did:web path cannot start with .well-known")
    authority = f"{host.lower()}:{port}" if sep else host.lower()
    return authority, segments


def did_web_to_url(did: str) -> str:
    """The HTTPS URL of a ``did:web`` DID's document (did:web §3.2 Read)."""
    authority, segments = _split_did_web(did)
    path = "/".join(segments) if segments else ".well-known"
    return f"https://{authority}/{path}/did.json"


def url_to_did_web(url: str) -> str:
    """The ``did:web`` DID served at ``url`` (the inverse of :func:`did_web_to_url`).

    Accepts the document URL (``…/.well-known/did.json``, ``…/did.json``) or the base URL
    (``https://example.com``, ``https://example.com/user/alice``).
    """
    if not isinstance(url, str):
        raise BadInput("a URL is a string")
    parts = urlsplit(url)
    if parts.scheme != "https":
        raise BadInput("did:web documents are served over https")
    if parts.query or parts.fragment or "@" in parts.netloc:
        raise BadInput("a did:web URL has no query, fragment or user information")
    try:
        port = parts.port
    except ValueError as exc:
        raise BadInput(f"invalid port in {url!r}") from exc
    host = parts.hostname or ""
    path = parts.path
    if path.endswith("/did.json"):
        path = path[: -len("/did.json")]
    stripped = path.removeprefix("/").removesuffix("/")
    segments = stripped.split("/") if stripped else []
    if "" in segments:
        raise BadInput(f"empty path segment in {url!r}")
    if segments == [".well-known"]:
        segments = []
    did = "did:web:" + host.lower() + (f"%3A{port}" if port is not None else "")
    did += "".join(":" + segment for segment in segments)
    _split_did_web(did)  # validate what we produced
    return did


# --- DID documents ------------------------------------------------------------------------------


def build_did_document(
    did: str,
    keys: Sequence[tuple[str, bytes, bool]],
    *,
    also_known_as: Sequence[str] | None = None,
) -> dict[str, Any]:
    """An issuer's DID document: every key a Multikey verification method ``{did}#{fragment}``.

    Active keys are referenced from every verification relationship; retired keys
    (``active=False``) stay in ``verificationMethod`` so credentials they signed still resolve,
    but are in no relationship, so nothing new verifies with them for ``assertionMethod``.
    """
    if not isinstance(did, str) or not did.startswith("did:") or "#" in did:
        raise BadInput("a DID document needs a DID (no fragment)")
    methods: list[dict[str, Any]] = []
    active: list[str] = []
    seen: set[str] = set()
    for fragment, public_key, is_active in keys:
        if not isinstance(fragment, str) or not _FRAGMENT.fullmatch(fragment):
            raise BadInput(f"invalid key id fragment {fragment!r}")
        if fragment in seen:
            raise BadInput(f"duplicate key id fragment {fragment!r}")
        seen.add(fragment)
        vm_id = f"{did}#{fragment}"
        methods.append(
            {
                "id": vm_id,
                "type": "Multikey",
                "controller": did,
                "publicKeyMultibase": encode_multikey_ed25519(public_key),
            }
        )
        if is_active:
            active.append(vm_id)
    document: dict[str, Any] = {"@context": [DID_CONTEXT, MULTIKEY_CONTEXT], "id": did}
    if also_known_as:
        document["alsoKnownAs"] = list(also_known_as)
    document["verificationMethod"] = methods
    for relationship in VERIFICATION_RELATIONSHIPS:
        document[relationship] = list(active)
    return document


# --- resolvers ----------------------------------------------------------------------------------


class LocalResolver:
    """DID documents held in memory (plus ``did:key``, which needs no lookup)."""

    __slots__ = ("_documents",)

    def __init__(self, documents: Mapping[str, Mapping[str, Any]] | None = None) -> None:
        self._documents = {did: copy.deepcopy(dict(doc)) for did, doc in (documents or {}).items()}

    def add(self, document: Mapping[str, Any]) -> None:
        """Hold ``document`` under its ``id``."""
        did = document.get("id")
        if not isinstance(did, str):
            raise BadInput("a DID document has a string 'id'")
        self._documents[did] = copy.deepcopy(dict(document))

    def resolve(self, did: str) -> dict[str, Any]:
        if isinstance(did, str) and did.startswith("did:key:"):
            return resolve_did_key(did)
        try:
            return copy.deepcopy(self._documents[did])
        except (KeyError, TypeError):
            raise NotFound(f"unknown DID {did!r}") from None


class ChainResolver:
    """Asks each resolver in turn; the first that knows the DID answers."""

    __slots__ = ("_resolvers",)

    def __init__(self, *resolvers: DidResolver) -> None:
        self._resolvers = resolvers

    def resolve(self, did: str) -> dict[str, Any]:
        for resolver in self._resolvers:
            try:
                return resolver.resolve(did)
            except NotFound:
                continue
        raise NotFound(f"no resolver knows DID {did!r}")


# --- verification methods -----------------------------------------------------------------------


def _absolute(did: str, value: str) -> str:
    return did + value if value.startswith("#") else value


def resolve_verification_method(resolver: DidResolver, vm_id: str) -> VerificationMethod:
    """The Ed25519 key behind the DID URL ``vm_id``, checked against its DID document.

    :class:`NotFound` when the document does not list the method; :class:`BadInput` when it
    does but the method is not an Ed25519 Multikey (or Ed25519VerificationKey2020 with
    ``publicKeyMultibase``) controlled by the DID, or the document's ``id`` is another DID.
    """
    if not isinstance(vm_id, str) or not vm_id.startswith("did:"):
        raise BadInput("a verification method id is a DID URL")
    did, sep, fragment = vm_id.partition("#")
    if not sep or not fragment:
        raise BadInput(f"verification method {vm_id!r} has no fragment")
    document = resolver.resolve(did)
    if not isinstance(document, Mapping):
        raise BadInput(f"the DID document of {did!r} is not a JSON object")
    if document.get("id") != did:
        raise BadInput(f"the DID document of {did!r} has id {document.get('id')!r}")

    method: Mapping[str, Any] | None = None
    purposes: set[str] = set()
    listed = document.get("verificationMethod", [])
    candidates = [m for m in listed if isinstance(m, Mapping)] if isinstance(listed, list) else []
    for relationship in (*VERIFICATION_RELATIONSHIPS, "keyAgreement"):
        entries = document.get(relationship, [])
        if not isinstance(entries, list):
            continue
        for entry in entries:
            if isinstance(entry, str) and _absolute(did, entry) == vm_id:
                purposes.add(relationship)
            elif isinstance(entry, Mapping) and _absolute(did, str(entry.get("id", ""))) == vm_id:
                purposes.add(relationship)
                candidates.append(entry)  # embedded verification method
    for candidate in candidates:
        if _absolute(did, str(candidate.get("id", ""))) == vm_id:
            method = candidate
            break
    if method is None:
        raise NotFound(f"verification method {vm_id!r} is not in the DID document")

    kind = method.get("type")
    if kind not in _KEY_TYPES:
        raise BadInput(f"verification method {vm_id!r} has unsupported type {kind!r}")
    if method.get("controller") != did:
        raise BadInput(f"verification method {vm_id!r} is not controlled by {did!r}")
    multikey = method.get("publicKeyMultibase")
    if not isinstance(multikey, str):
        raise BadInput(f"verification method {vm_id!r} has no publicKeyMultibase")
    public_key = decode_multikey_ed25519(multikey)
    revoked = method.get("revoked")
    return VerificationMethod(
        id=vm_id,
        controller=did,
        public_key=public_key,
        retired_at=revoked if isinstance(revoked, str) else None,
        purposes=frozenset(purposes),
    )
