"""W3C Data Integrity proofs with the ``eddsa-jcs-2022`` cryptosuite (EdDSA Cryptosuites v1.0).

What it owns: creating a ``DataIntegrityProof`` over a JSON document, adding it to the
document (a second proof makes a proof set; ``previousProof`` makes a chain), and verifying
every proof of a secured document into one :class:`ProofResult` each.

The algorithms follow the specification step by step (section numbers in the comments):

* transformation (3.3.3): the JCS (RFC 8785) bytes of the unsecured document;
* proof configuration (3.3.5): the proof options without ``proofValue``; when the document has
  an ``@context`` it is copied into the configuration (and into the proof);
* hashing (3.3.4): ``SHA-256(JCS(proofConfig)) ‖ SHA-256(JCS(document))``;
* serialisation (3.3.6): an Ed25519 signature over those 64 bytes, ``proofValue`` multibase
  base58btc (``z…``).

Proof sets and chains follow Data Integrity 1.0 §4.2/§4.5: a proof naming ``previousProof``
signs the document with ``proof`` set to the list of the proofs it names; a proof without one
signs the document without any ``proof`` (what interoperable implementations do).

What it must not do: fetch keys or documents (``resolve_key`` is a parameter), read the clock
(``now`` is a parameter), or raise on malformed input during verification: every problem
becomes ``ok=False`` with a precise ``reason``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from orgbook.core.canonical import canonicalize, canonicalize_trusted, merge_objects
from orgbook.core.crypto import Signer, verify_ed25519
from orgbook.core.errors import BadInput, OrgBookError
from orgbook.core.multibase import b58decode, multibase_encode
from orgbook.core.time import format_time, parse_time

__all__ = [
    "CRYPTOSUITE",
    "PROOF_TYPE",
    "ProofResult",
    "add_proof",
    "create_proof",
    "hash_data",
    "proof_configuration",
    "secure_canonical",
    "unsecured",
    "verify_proofs",
]

PROOF_TYPE = "DataIntegrityProof"
# Clocks differ: a proof made seconds ago on another machine must not read as "from the future".
CLOCK_SKEW = timedelta(minutes=5)
CRYPTOSUITE = "eddsa-jcs-2022"
_SIGNATURE_SIZE = 64
_KEY_SIZE = 32


# XML Schema 1.1 dateTimeStamp: a date-time that carries its time zone.
@dataclass(frozen=True, slots=True)
class ProofResult:
    """The verdict on one proof of a secured document."""

    ok: bool
    reason: str
    proof_id: str | None = None
    verification_method: str | None = None
    created: str | None = None
    purpose: str | None = None


# --- date-times ---------------------------------------------------------------------------------


def _datetime_text(value: str | datetime, name: str) -> str:
    if isinstance(value, datetime):
        return format_time(value, "trimmed")
    if isinstance(value, str):
        parse_time(value)  # validate only: the caller's text is signed as given
        return value
    raise BadInput(f"{name} must be a datetime or an RFC 3339 string")


# --- the cryptosuite's building blocks ---------------------------------------------------------


def unsecured(document: Mapping[str, Any]) -> dict[str, Any]:
    """A shallow copy of ``document`` without its ``proof``."""
    if not isinstance(document, Mapping):
        raise BadInput("a secured document is a JSON object")
    return {key: value for key, value in document.items() if key != "proof"}


def proof_configuration(document: Mapping[str, Any], options: Mapping[str, Any]) -> dict[str, Any]:
    """3.3.5 Proof Configuration: the options minus ``proofValue``, plus the document's context."""
    # 1. proofConfig is a clone of the options (proofValue is never part of it).
    config = {key: value for key, value in options.items() if key != "proofValue"}
    # 2. The type and cryptosuite must be this suite's.
    if config.get("type") != PROOF_TYPE or config.get("cryptosuite") != CRYPTOSUITE:
        raise BadInput(f"proof options are not {PROOF_TYPE} / {CRYPTOSUITE}")
    # 3. created, when present, must be a valid dateTimeStamp.
    if "created" in config:
        parse_time(config["created"])
    # 4. The document's @context, when it has one, is copied in.
    if "@context" in document:
        config["@context"] = document["@context"]
    return config


def hash_data(document: Mapping[str, Any], proof_config: Mapping[str, Any]) -> bytes:
    """3.3.3 + 3.3.4: ``SHA-256(JCS(proofConfig)) ‖ SHA-256(JCS(document))`` (64 bytes)."""
    transformed = canonicalize(document)
    canonical_config = canonicalize(proof_config)
    return hashlib.sha256(canonical_config).digest() + hashlib.sha256(transformed).digest()


def _proof_list(value: Any) -> list[Any]:
    if value is None:
        return []
    if isinstance(value, list):
        return list(value)
    return [value]


def _matching_proofs(all_proofs: list[Any], previous: str | list[str]) -> list[Any]:
    wanted = [previous] if isinstance(previous, str) else list(previous)
    matching: list[Any] = []
    for proof_id in wanted:
        found = [p for p in all_proofs if isinstance(p, Mapping) and p.get("id") == proof_id]
        if not found:
            raise BadInput(f"previousProof {proof_id!r} is not in the document's proof set")
        matching.extend(found)
    return matching


# --- creating proofs ----------------------------------------------------------------------------


def create_proof(
    document: Mapping[str, Any],
    signer: Signer,
    *,
    verification_method: str,
    created: str | datetime,
    proof_purpose: str = "assertionMethod",
    expires: str | datetime | None = None,
    challenge: str | None = None,
    domain: str | None = None,
    proof_id: str | None = None,
    previous_proof: str | list[str] | None = None,
) -> dict[str, Any]:
    """3.3.1 Create Proof: the ``DataIntegrityProof`` object for ``document`` (not attached).

    ``document`` may already carry proofs; they are left out of what is signed unless named in
    ``previous_proof`` (a chain), in which case the named proofs are signed with the document.
    """
    if not isinstance(document, Mapping):
        raise BadInput("only a JSON object can be secured")
    if not isinstance(verification_method, str) or not verification_method:
        raise BadInput("verification_method must be a non-empty URL string")
    if not isinstance(proof_purpose, str) or not proof_purpose:
        raise BadInput("proof_purpose must be a non-empty string")
    # 1. proof is a clone of the proof options.
    proof: dict[str, Any] = {"type": PROOF_TYPE}
    if proof_id is not None:
        proof["id"] = proof_id
    proof["cryptosuite"] = CRYPTOSUITE
    proof["created"] = _datetime_text(created, "created")
    if expires is not None:
        proof["expires"] = _datetime_text(expires, "expires")
    proof["verificationMethod"] = verification_method
    proof["proofPurpose"] = proof_purpose
    if challenge is not None:
        proof["challenge"] = challenge
    if domain is not None:
        proof["domain"] = domain
    if previous_proof is not None:
        if not isinstance(previous_proof, str | list) or not all(
            isinstance(item, str) for item in _proof_list(previous_proof)
        ):
            raise BadInput("previous_proof must be a proof id or a list of proof ids")
        proof["previousProof"] = (
            previous_proof if isinstance(previous_proof, str) else list(previous_proof)
        )

    # Data Integrity §4.2: the document as signed carries only the proofs this one chains to.
    input_document = unsecured(document)
    if previous_proof is not None:
        input_document["proof"] = _matching_proofs(
            _proof_list(document.get("proof")), previous_proof
        )
    # 2. The document's @context goes into the proof.
    if "@context" in input_document:
        context = input_document["@context"]
        proof["@context"] = list(context) if isinstance(context, list) else context
    # 3.–6. configuration, transformation, hashing, signature.
    config = proof_configuration(input_document, proof)
    signature = signer.sign(hash_data(input_document, config))
    # 7. proofValue is the signature, multibase base58btc.
    proof["proofValue"] = multibase_encode(signature, "base58btc")
    return proof


def add_proof(
    document: Mapping[str, Any],
    signer: Signer,
    *,
    verification_method: str,
    created: str | datetime,
    proof_purpose: str = "assertionMethod",
    expires: str | datetime | None = None,
    challenge: str | None = None,
    domain: str | None = None,
    proof_id: str | None = None,
    previous_proof: str | list[str] | None = None,
) -> dict[str, Any]:
    """A new document with a proof added: ``proof`` becomes a list when one was already there."""
    proof = create_proof(
        document,
        signer,
        verification_method=verification_method,
        created=created,
        proof_purpose=proof_purpose,
        expires=expires,
        challenge=challenge,
        domain=domain,
        proof_id=proof_id,
        previous_proof=previous_proof,
    )
    secured = dict(document)
    existing = _proof_list(document.get("proof"))
    secured["proof"] = [*existing, proof] if existing else proof
    return secured


def _config_digest(
    context: Any, created: str, verification_method: str, proof_purpose: str
) -> tuple[bytes, dict[str, Any]]:
    """SHA-256(JCS(proofConfig)) and the proof without its value, as :func:`create_proof` makes
    them for a document with this ``@context`` (``...`` for none) and no ``previousProof``."""
    proof: dict[str, Any] = {
        "type": PROOF_TYPE,
        "cryptosuite": CRYPTOSUITE,
        "created": created,
        "verificationMethod": verification_method,
        "proofPurpose": proof_purpose,
    }
    document: dict[str, Any] = {}
    if context is not ...:
        proof["@context"] = list(context) if isinstance(context, list) else context
        document["@context"] = context
    config = proof_configuration(document, proof)
    return hashlib.sha256(canonicalize(config)).digest(), proof


_CONFIG_CACHE: dict[tuple[Any, ...], tuple[bytes, dict[str, Any]]] = {}


def _cached_config(
    context: Any, created: str, verification_method: str, proof_purpose: str
) -> tuple[bytes, dict[str, Any]]:
    # A bulk batch signs thousands of documents with one context, key and creation time.
    if context is ...:
        context_key: Any = ...
    elif isinstance(context, list) and all(type(item) is str for item in context):
        context_key = tuple(context)
    elif type(context) is str:
        context_key = context
    else:  # anything else is not cached
        return _config_digest(context, created, verification_method, proof_purpose)
    key = (context_key, type(context) is list, created, verification_method, proof_purpose)
    found = _CONFIG_CACHE.get(key)
    if found is None:
        if len(_CONFIG_CACHE) >= 64:
            _CONFIG_CACHE.clear()
        found = _CONFIG_CACHE[key] = _config_digest(
            context, created, verification_method, proof_purpose
        )
    return found


def secure_canonical(
    document: Mapping[str, Any],
    signer: Signer,
    *,
    verification_method: str,
    created: str | datetime,
    proof_purpose: str = "assertionMethod",
    trusted: bool = False,
) -> tuple[dict[str, Any], bytes]:
    """:func:`add_proof` for a document without a proof, plus the secured document's JCS bytes.

    The same proof as :func:`add_proof` (and the same bytes as ``canonicalize`` of its result),
    but the document is canonicalised once: its members before and after ``proof`` in JCS key
    order are canonicalised separately, the unsecured document's bytes (what is hashed) and the
    secured document's (what is stored) are both joined from them. The proof configuration's
    hash is computed once per context, creation time, method and purpose.

    ``trusted``: the caller vouches that the document has no floats and no object key outside
    the BMP (see :func:`orgbook.core.canonical.canonicalize_trusted`), so the guard's walk is
    skipped.
    """
    if not isinstance(document, Mapping):
        raise BadInput("only a JSON object can be secured")
    if "proof" in document:
        raise BadInput("the document already has a proof")
    if not isinstance(verification_method, str) or not verification_method:
        raise BadInput("verification_method must be a non-empty URL string")
    if not isinstance(proof_purpose, str) or not proof_purpose:
        raise BadInput("proof_purpose must be a non-empty string")
    # A string is validated by proof_configuration, on a cache miss (the cache key holds it).
    created_text = created if type(created) is str else _datetime_text(created, "created")
    config_hash, proof_options = _cached_config(
        document.get("@context", ...), created_text, verification_method, proof_purpose
    )
    # "proof" is ASCII, so Python's string order agrees with JCS's UTF-16 order around it.
    canon = canonicalize_trusted if trusted else canonicalize
    before = canon({k: v for k, v in document.items() if k < "proof"})
    after = canon({k: v for k, v in document.items() if k > "proof"})
    unsecured_bytes = merge_objects(before, after)
    signature = signer.sign(config_hash + hashlib.sha256(unsecured_bytes).digest())
    proof = dict(proof_options)
    if type(proof.get("@context")) is list:  # each proof its own list, as create_proof does
        proof["@context"] = list(proof["@context"])
    proof["proofValue"] = multibase_encode(signature, "base58btc")
    proof_bytes = canon(proof)
    secured = dict(document)
    secured["proof"] = proof
    return secured, merge_objects(before, b'{"proof":' + proof_bytes + b"}", after)


# --- verifying proofs ---------------------------------------------------------------------------


class _Reject(Exception):
    """One proof fails; ``reason`` says why. Internal: never leaves this module."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _string_field(proof: Mapping[str, Any], name: str) -> str:
    if name not in proof:
        raise _Reject(f"proof is missing {name!r}")
    value = proof[name]
    if not isinstance(value, str) or not value:
        raise _Reject(f"{name!r} must be a non-empty string")
    return value


def _optional_text(proof: Mapping[str, Any], name: str) -> str | None:
    value = proof.get(name)
    return value if isinstance(value, str) else None


def _check_time(proof: Mapping[str, Any], now: datetime | None) -> None:
    created_at = expires_at = None
    if "created" in proof:
        try:
            created_at = parse_time(proof["created"])
        except BadInput:
            raise _Reject("created is not a valid date-time") from None
    if "expires" in proof:
        try:
            expires_at = parse_time(proof["expires"])
        except BadInput:
            raise _Reject("expires is not a valid date-time") from None
    if now is None:
        return
    if now.tzinfo is None:
        raise _Reject("now must be timezone-aware")
    if created_at is not None and created_at > now + CLOCK_SKEW:
        raise _Reject(f"created is in the future ({proof['created']})")
    if expires_at is not None and expires_at <= now:
        raise _Reject(f"proof expired at {proof['expires']}")


def _check_domain(proof: Mapping[str, Any], domain: str | None) -> None:
    if domain is None:
        return
    value = proof.get("domain")
    if isinstance(value, str):
        values = {value}
    elif isinstance(value, list) and value and all(isinstance(v, str) for v in value):
        values = set(value)
    else:
        raise _Reject("domain mismatch" if value is None else "domain must be a string or list")
    if values != {domain}:
        raise _Reject("domain mismatch")


def _signature(proof: Mapping[str, Any]) -> bytes:
    value = _string_field(proof, "proofValue")
    if not value.startswith("z"):
        raise _Reject("proofValue is not multibase base58btc")
    try:
        signature = b58decode(value[1:])
    except BadInput:
        raise _Reject("proofValue is not multibase base58btc") from None
    if len(signature) != _SIGNATURE_SIZE:
        raise _Reject(f"proofValue is not a 64-byte Ed25519 signature ({len(signature)} bytes)")
    return signature


def _context_prefix(document: Mapping[str, Any], proof_context: Any) -> None:
    """3.3.2 step 4.1: the document's @context starts with the proof's, in the same order."""
    expected = proof_context if isinstance(proof_context, list) else [proof_context]
    actual = document.get("@context")
    actual = actual if isinstance(actual, list) else [actual] if actual is not None else []
    if actual[: len(expected)] != expected:
        raise _Reject("document @context does not start with the proof's @context")


def _verify_one(
    document: Mapping[str, Any],
    proof: Any,
    all_proofs: list[Any],
    *,
    resolve_key: Callable[[str], bytes],
    now: datetime | None,
    expected_purpose: str | None,
    challenge: str | None,
    domain: str | None,
) -> None:
    """Raise :class:`_Reject` with the first reason ``proof`` fails; return when it verifies."""
    if not isinstance(proof, Mapping):
        raise _Reject("proof is not a JSON object")
    # Data Integrity 4.4 step 4: type, verificationMethod and proofPurpose must be there.
    proof_type = proof.get("type")
    if proof_type != PROOF_TYPE:
        if proof_type is None:
            raise _Reject("proof is missing 'type'")
        raise _Reject(f"unknown proof type {proof_type!r}")
    suite = proof.get("cryptosuite")
    if suite != CRYPTOSUITE:
        if suite is None:
            raise _Reject("proof is missing 'cryptosuite'")
        raise _Reject(f"unknown cryptosuite {suite!r}")
    method = _string_field(proof, "verificationMethod")
    purpose = _string_field(proof, "proofPurpose")
    # Steps 5–7: purpose, domain and challenge as the verifier expects them.
    if expected_purpose is not None and purpose != expected_purpose:
        raise _Reject(f"proofPurpose {purpose!r} is not the expected {expected_purpose!r}")
    _check_domain(proof, domain)
    if challenge is not None and proof.get("challenge") != challenge:
        raise _Reject("challenge mismatch")
    _check_time(proof, now)
    for name in ("id", "challenge"):
        if name in proof and not isinstance(proof[name], str):
            raise _Reject(f"{name!r} must be a string")

    # Data Integrity 4.5 step 3: the document as signed carries the proofs this one chains to.
    input_document = unsecured(document)
    if "previousProof" in proof:
        previous = proof["previousProof"]
        if not isinstance(previous, str | list) or not all(
            isinstance(item, str) for item in _proof_list(previous)
        ):
            raise _Reject("previousProof must be a proof id or a list of proof ids")
        try:
            input_document["proof"] = _matching_proofs(all_proofs, previous)
        except BadInput as exc:
            raise _Reject(exc.detail) from None

    # 3.3.2 Verify Proof (eddsa-jcs-2022).
    # 2.–3. proofOptions is the proof without proofValue; proofBytes its decoded value.
    signature = _signature(proof)
    options = {key: value for key, value in proof.items() if key != "proofValue"}
    # 4. A proof-local @context must prefix the document's, and then stands in for it.
    if "@context" in options:
        _context_prefix(input_document, options["@context"])
        input_document["@context"] = options["@context"]
    # 5.–7. transformation, proof configuration, hashing.
    try:
        config = proof_configuration(input_document, options)
        data = hash_data(input_document, config)
    except BadInput as exc:  # CanonicalizationError included
        raise _Reject(f"document cannot be canonicalized: {exc.detail}") from None
    # 8. The signature, with the key the verification method names.
    try:
        public_key = resolve_key(method)
    except OrgBookError as exc:
        raise _Reject(f"cannot resolve verification method {method!r}: {exc.detail}") from None
    if not isinstance(public_key, bytes | bytearray) or len(public_key) != _KEY_SIZE:
        raise _Reject(f"verification method {method!r} is not a 32-byte Ed25519 key")
    if not verify_ed25519(bytes(public_key), signature, data):
        raise _Reject("signature does not verify")


def verify_proofs(
    document: Any,
    *,
    resolve_key: Callable[[str], bytes],
    now: datetime | None = None,
    expected_purpose: str | None = None,
    challenge: str | None = None,
    domain: str | None = None,
) -> list[ProofResult]:
    """Verify every proof of ``document``; one :class:`ProofResult` per proof, in order.

    Never raises on malformed input. ``resolve_key(verification_method)`` returns the raw
    Ed25519 public key or raises an :class:`OrgBookError`, whose detail becomes the reason.
    Time checks (``created`` not in the future, ``expires`` not reached) need ``now``; without
    it only the format of those fields is checked. A proof whose ``previousProof`` names a
    proof that fails, fails too.
    """
    if not isinstance(document, Mapping):
        return [ProofResult(False, "document is not a JSON object")]
    if "proof" not in document:
        return [ProofResult(False, "document has no proof")]
    raw = document["proof"]
    if not isinstance(raw, Mapping | list):
        return [ProofResult(False, "proof is not a JSON object or a list of them")]
    all_proofs = _proof_list(raw)
    if not all_proofs:
        return [ProofResult(False, "proof set is empty")]

    results: list[ProofResult] = []
    for proof in all_proofs:
        fields: dict[str, Any] = {}
        if isinstance(proof, Mapping):
            fields = {
                "proof_id": _optional_text(proof, "id"),
                "verification_method": _optional_text(proof, "verificationMethod"),
                "created": _optional_text(proof, "created"),
                "purpose": _optional_text(proof, "proofPurpose"),
            }
        try:
            _verify_one(
                document,
                proof,
                all_proofs,
                resolve_key=resolve_key,
                now=now,
                expected_purpose=expected_purpose,
                challenge=challenge,
                domain=domain,
            )
        except _Reject as reject:
            results.append(ProofResult(False, reject.reason, **fields))
        else:
            results.append(ProofResult(True, "verified", **fields))
    return _propagate_chain_failures(all_proofs, results)


def _propagate_chain_failures(
    all_proofs: list[Any], results: list[ProofResult]
) -> list[ProofResult]:
    """A chained proof verifies only if every proof it names verifies (until nothing changes)."""
    changed = True
    while changed:
        changed = False
        failed_ids = {r.proof_id for r in results if not r.ok and r.proof_id is not None}
        for index, (proof, result) in enumerate(zip(all_proofs, results, strict=True)):
            if not result.ok or not isinstance(proof, Mapping):
                continue
            previous = _proof_list(proof.get("previousProof"))
            broken = [p for p in previous if p in failed_ids]
            if broken:
                results[index] = ProofResult(
                    False,
                    f"previous proof {broken[0]!r} does not verify",
                    result.proof_id,
                    result.verification_method,
                    result.created,
                    result.purpose,
                )
                changed = True
    return results
