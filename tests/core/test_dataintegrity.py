"""Data Integrity ``eddsa-jcs-2022``: the W3C vectors byte for byte, tampering, sets, chains, junk.

The vectors are W3C vc-di-eddsa ``TestVectors/eddsa-jcs-2022`` (see tests/vectors/vc-di-eddsa).
"""

from __future__ import annotations

import copy
import hashlib
import json
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from orgbook.core.canonical import canonicalize
from orgbook.core.crypto import Ed25519Signer
from orgbook.core.dataintegrity import (
    ProofResult,
    add_proof,
    create_proof,
    hash_data,
    proof_configuration,
    unsecured,
    verify_proofs,
)
from orgbook.core.did import LocalResolver, resolve_verification_method
from orgbook.core.errors import BadInput, NotFound
from orgbook.core.multibase import b58encode, multibase_decode


def _stable_id(value: object, width: int) -> str:
    """A test id that is the same in every process (pytest-xdist compares them)."""
    return type(value).__name__ if type(value) is object else str(value)[:width]


VECTORS = Path(__file__).parent.parent / "vectors" / "vc-di-eddsa"
JCS = VECTORS / "eddsa-jcs-2022"
KEYPAIR = json.loads((VECTORS / "keyPair.json").read_text())
UNSIGNED: dict[str, Any] = json.loads((VECTORS / "unsigned.json").read_text())
SIGNED: dict[str, Any] = json.loads((JCS / "signedJCS.json").read_text())
PROOF_CONFIG: dict[str, Any] = json.loads((JCS / "proofConfigJCS.json").read_text())
VM = (
    "did:key:z6MkrJVnaZkeFzdQyMZu1cgjg7k1pZZ6pvBQ7XJPt4swbTQ2"
    "#z6MkrJVnaZkeFzdQyMZu1cgjg7k1pZZ6pvBQ7XJPt4swbTQ2"
)
CREATED = "2023-02-24T23:36:38Z"
NOW = datetime(2026, 11, 23, 12, 0, 0, tzinfo=UTC)


def _text(name: str) -> str:
    return (JCS / name).read_text()


def _vector_signer() -> Ed25519Signer:
    private = multibase_decode(KEYPAIR["privateKeyMultibase"])
    assert private[:2] == b"\x80\x26"  # multicodec ed25519-priv
    return Ed25519Signer.from_seed(private[2:])


SIGNER = _vector_signer()
OTHER = Ed25519Signer.from_seed(bytes(range(32)))


def _key(vm: str) -> bytes:
    return SIGNER.public_key


def _verify(document: Any, **options: Any) -> list[ProofResult]:
    options.setdefault("resolve_key", _key)
    return verify_proofs(document, **options)


def _single(document: Any, **options: Any) -> ProofResult:
    results = _verify(document, **options)
    assert len(results) == 1
    return results[0]


# --- the published vectors, step by step --------------------------------------------------------


def test_vector_key_pair() -> None:
    from orgbook.core.multibase import encode_multikey_ed25519

    assert encode_multikey_ed25519(SIGNER.public_key) == KEYPAIR["publicKeyMultibase"]


def test_vector_canonical_document_and_hash() -> None:
    canonical = canonicalize(UNSIGNED)
    assert canonical == (JCS / "canonDocJCS.txt").read_bytes()
    assert hashlib.sha256(canonical).hexdigest() == _text("docHashJCS.txt")


def test_vector_proof_configuration_and_hash() -> None:
    options = {k: v for k, v in PROOF_CONFIG.items() if k != "@context"}
    config = proof_configuration(UNSIGNED, options)
    assert config == PROOF_CONFIG
    canonical = canonicalize(config)
    assert canonical == (JCS / "proofCanonJCS.txt").read_bytes()
    assert hashlib.sha256(canonical).hexdigest() == _text("proofHashJCS.txt")


def test_vector_combined_hash_signature_and_proof_value() -> None:
    data = hash_data(UNSIGNED, PROOF_CONFIG)
    assert data.hex() == _text("combinedHashJCS.txt")
    signature = SIGNER.sign(data)
    assert signature.hex() == _text("sigHexJCS.txt")
    assert "z" + b58encode(signature) == _text("sigBTC58JCS.txt")


def test_vector_whole_signed_document() -> None:
    signed = add_proof(UNSIGNED, SIGNER, verification_method=VM, created=CREATED)
    assert signed == SIGNED
    assert list(signed["proof"]) == list(SIGNED["proof"])  # same member order as published
    assert signed["proof"]["proofValue"] == _text("sigBTC58JCS.txt")
    created = datetime(2023, 2, 24, 23, 36, 38, tzinfo=UTC)
    assert (
        create_proof(UNSIGNED, SIGNER, verification_method=VM, created=created) == (SIGNED["proof"])
    )


def test_vector_signed_document_verifies() -> None:
    result = _single(SIGNED, now=NOW, expected_purpose="assertionMethod")
    assert result == ProofResult(True, "verified", None, VM, CREATED, "assertionMethod")


def test_vector_verifies_through_did_key_resolution() -> None:
    resolver = LocalResolver()
    result = _single(
        SIGNED, resolve_key=lambda vm: resolve_verification_method(resolver, vm).public_key
    )
    assert result.ok, result.reason


def test_inputs_are_not_mutated() -> None:
    before = copy.deepcopy(UNSIGNED)
    add_proof(UNSIGNED, SIGNER, verification_method=VM, created=CREATED)
    assert before == UNSIGNED
    signed_before = copy.deepcopy(SIGNED)
    _verify(SIGNED)
    assert signed_before == SIGNED
    assert unsecured(SIGNED) == UNSIGNED
    assert "proof" in SIGNED


# --- tampering ----------------------------------------------------------------------------------


def _tampered(path: tuple[str, ...], value: Any) -> dict[str, Any]:
    doc = copy.deepcopy(SIGNED)
    target = doc
    for key in path[:-1]:
        target = target[key]
    if value is _DELETE:
        del target[path[-1]]
    else:
        target[path[-1]] = value
    return doc


_DELETE = object()

DOCUMENT_TAMPERS = [
    (("id",), "urn:uuid:00000000-0000-0000-0000-000000000000"),
    (("type",), ["VerifiableCredential"]),
    (("name",), "Alumni Credential "),
    (("description",), _DELETE),
    (("issuer",), "https://vc.example/issuers/5679"),
    (("validFrom",), "2023-01-01T00:00:01Z"),
    (("validUntil",), "2030-01-01T00:00:00Z"),
    (("credentialSubject", "id"), "did:example:abcdefgi"),
    (("credentialSubject", "alumniOf"), "The School of Examples!"),
    (("credentialSubject",), _DELETE),
]


@pytest.mark.parametrize(("path", "value"), DOCUMENT_TAMPERS, ids=lambda x: _stable_id(x, 30))
def test_document_tamper_fails(path: tuple[str, ...], value: Any) -> None:
    result = _single(_tampered(path, value))
    assert not result.ok
    assert result.reason == "signature does not verify"


PROOF_TAMPERS = [
    ("created", "2023-02-24T23:36:39Z", "signature does not verify"),
    ("created", _DELETE, "signature does not verify"),
    ("proofPurpose", "authentication", "signature does not verify"),
    ("verificationMethod", VM + "x", "signature does not verify"),
    ("nonce", "1234", "signature does not verify"),
    ("expires", "2099-01-01T00:00:00Z", "signature does not verify"),
    ("@context", ["https://www.w3.org/ns/credentials/v2"], "signature does not verify"),
    (
        "@context",
        ["https://www.w3.org/ns/credentials/examples/v2"],
        "document @context does not start with the proof's @context",
    ),
    ("type", "Ed25519Signature2020", "unknown proof type 'Ed25519Signature2020'"),
    ("type", _DELETE, "proof is missing 'type'"),
    ("cryptosuite", "eddsa-rdfc-2022", "unknown cryptosuite 'eddsa-rdfc-2022'"),
    ("cryptosuite", "x", "unknown cryptosuite 'x'"),
    ("cryptosuite", _DELETE, "proof is missing 'cryptosuite'"),
    # One base58 character less still decodes to 64 bytes here; ten less cannot.
    ("proofValue", SIGNED["proof"]["proofValue"][:-1], "signature does not verify"),
    ("proofValue", SIGNED["proof"]["proofValue"][:-10], "proofValue is not a 64-byte Ed25519"),
    ("proofValue", SIGNED["proof"]["proofValue"] + "2", "proofValue is not a 64-byte Ed25519"),
    ("proofValue", "z" + "0" * 87, "proofValue is not multibase base58btc"),
    ("proofValue", SIGNED["proof"]["proofValue"][1:], "proofValue is not multibase base58btc"),
    ("proofValue", "u" + "A" * 86, "proofValue is not multibase base58btc"),
    ("proofValue", "z" + b58encode(bytes(64)), "signature does not verify"),
    ("proofValue", _DELETE, "proof is missing 'proofValue'"),
]


@pytest.mark.parametrize(
    ("field", "value", "reason"), PROOF_TAMPERS, ids=lambda x: _stable_id(x, 24)
)
def test_proof_tamper_fails(field: str, value: Any, reason: str) -> None:
    result = _single(_tampered(("proof", field), value))
    assert not result.ok
    assert result.reason.startswith(reason), result.reason


def test_garbled_signature_bytes() -> None:
    signature = bytearray(multibase_decode(SIGNED["proof"]["proofValue"]))
    for index in (0, 32, 63):
        garbled = bytearray(signature)
        garbled[index] ^= 0x80
        doc = _tampered(("proof", "proofValue"), "z" + b58encode(bytes(garbled)))
        assert _single(doc).reason == "signature does not verify"


def test_wrong_key() -> None:
    result = _single(SIGNED, resolve_key=lambda vm: OTHER.public_key)
    assert (result.ok, result.reason) == (False, "signature does not verify")


def test_document_context_changed() -> None:
    doc = _tampered(("@context",), ["https://www.w3.org/ns/credentials/v2"])
    assert _single(doc).reason == "document @context does not start with the proof's @context"
    doc = _tampered(("@context",), _DELETE)
    assert _single(doc).reason == "document @context does not start with the proof's @context"


def test_extra_trailing_document_context_is_allowed_by_the_spec() -> None:
    # eddsa-jcs-2022 Verify Proof step 4: the proof's @context must be a prefix of the
    # document's, and then replaces it for hashing.
    doc = copy.deepcopy(SIGNED)
    doc["@context"] = [*doc["@context"], "https://example.org/extra/v1"]
    assert _single(doc).ok


def test_proof_without_context_is_checked_against_the_document_context() -> None:
    proof = create_proof(UNSIGNED, SIGNER, verification_method=VM, created=CREATED)
    doc = dict(UNSIGNED, proof={k: v for k, v in proof.items() if k != "@context"})
    # Proof Configuration copies the document's @context in, so the signature still verifies.
    assert _single(doc).ok


def test_document_without_context() -> None:
    plain = {"hello": "world", "n": [1, 2, 3]}
    signed = add_proof(plain, SIGNER, verification_method=VM, created=CREATED)
    assert "@context" not in signed["proof"]
    assert _single(signed).ok
    signed["n"] = [1, 2]
    assert _single(signed).reason == "signature does not verify"


# --- purpose, challenge, domain, time -----------------------------------------------------------


def _with_options(**options: Any) -> dict[str, Any]:
    return add_proof(UNSIGNED, SIGNER, verification_method=VM, created=CREATED, **options)


def test_expected_purpose() -> None:
    signed = _with_options(proof_purpose="authentication")
    assert _single(signed, expected_purpose="authentication").ok
    result = _single(signed, expected_purpose="assertionMethod")
    assert result.reason == "proofPurpose 'authentication' is not the expected 'assertionMethod'"
    assert result.purpose == "authentication"


def test_challenge_and_domain() -> None:
    signed = _with_options(challenge="abc123", domain="verifier.example")
    assert signed["proof"]["challenge"] == "abc123"
    assert _single(signed, challenge="abc123", domain="verifier.example").ok
    assert _single(signed).ok
    assert _single(signed, challenge="abc124").reason == "challenge mismatch"
    assert _single(signed, domain="other.example").reason == "domain mismatch"
    assert _single(SIGNED, challenge="abc123").reason == "challenge mismatch"
    assert _single(SIGNED, domain="verifier.example").reason == "domain mismatch"


def test_domain_as_list_in_the_proof() -> None:
    doc = _tampered(("proof", "domain"), ["a.example"])
    assert _single(doc, domain="a.example").reason == "signature does not verify"
    assert _single(doc, domain="b.example").reason == "domain mismatch"


def _signed_with_domain(domain: Any) -> dict[str, Any]:
    """A proof really signed over ``domain`` (a list is not what :func:`add_proof` types)."""
    return _with_options(domain=domain)


def test_a_domain_list_holding_only_the_expected_domain_verifies() -> None:
    assert _single(_signed_with_domain(["a.example"]), domain="a.example").ok
    assert _single(_signed_with_domain(["a.example", "a.example"]), domain="a.example").ok
    assert _single(_signed_with_domain(["a.example"]), domain="b.example").reason == (
        "domain mismatch"
    )


@pytest.mark.parametrize(
    "domains",
    [
        ["a.example", "b.example"],
        ["b.example", "a.example"],
        ["a.example", "a.example", "evil.example"],
    ],
)
def test_a_domain_list_with_other_domains_besides_the_expected_one_is_refused(
    domains: list[str],
) -> None:
    # Issue 20: a proof made for several audiences is not one made for this verifier.
    signed = _signed_with_domain(domains)
    assert _single(signed).ok  # the signature itself is good
    assert _single(signed, domain="a.example").reason == "domain mismatch"


@pytest.mark.parametrize("domain", [[], [1], ["a.example", None], {"a.example": 1}, 7])
def test_a_domain_that_is_neither_a_string_nor_a_list_of_strings_is_refused(domain: Any) -> None:
    assert _single(_signed_with_domain(domain), domain="a.example").reason == (
        "domain must be a string or list"
    )


def test_expiry_and_future_creation() -> None:
    signed = _with_options(expires="2024-01-01T00:00:00Z")
    assert _single(signed, now=datetime(2023, 6, 1, tzinfo=UTC)).ok
    result = _single(signed, now=datetime(2024, 1, 1, tzinfo=UTC))
    assert result.reason == "proof expired at 2024-01-01T00:00:00Z"
    # SIGNED was created at 2023-02-24T23:36:38Z; five minutes of clock skew are tolerated.
    assert _single(SIGNED, now=datetime(2023, 2, 24, 23, 31, 37, tzinfo=UTC)).reason == (
        "created is in the future (2023-02-24T23:36:38Z)"
    )
    assert _single(SIGNED, now=datetime(2023, 2, 24, 23, 31, 38, tzinfo=UTC)).ok
    assert _single(SIGNED, now=datetime(2023, 2, 24, 23, 36, 38, tzinfo=UTC)).ok
    # Without a clock only the format is checked.
    assert _single(signed).ok
    assert _single(SIGNED, now=datetime(2030, 1, 1)).reason == "now must be timezone-aware"


@pytest.mark.parametrize(
    ("field", "value", "reason"),
    [
        ("created", "2023-02-24", "created is not a valid date-time"),
        ("created", "2023-02-24T23:36:38", "created is not a valid date-time"),
        ("created", "2023-02-30T23:36:38Z", "created is not a valid date-time"),
        ("created", 1677281798, "created is not a valid date-time"),
        ("expires", "tomorrow", "expires is not a valid date-time"),
    ],
)
def test_bad_dates(field: str, value: Any, reason: str) -> None:
    assert _single(_tampered(("proof", field), value), now=NOW).reason == reason


def test_create_proof_rejects_bad_options() -> None:
    with pytest.raises(BadInput):
        create_proof(["not", "a", "dict"], SIGNER, verification_method=VM, created=CREATED)  # type: ignore[arg-type]
    with pytest.raises(BadInput):
        create_proof(UNSIGNED, SIGNER, verification_method=VM, created="yesterday")
    with pytest.raises(BadInput):
        create_proof(UNSIGNED, SIGNER, verification_method=VM, created=datetime(2023, 1, 1))
    with pytest.raises(BadInput):
        create_proof(UNSIGNED, SIGNER, verification_method="", created=CREATED)
    with pytest.raises(BadInput):
        create_proof(UNSIGNED, SIGNER, verification_method=VM, created=CREATED, previous_proof="x")
    with pytest.raises(BadInput):
        create_proof({"x": float("nan")}, SIGNER, verification_method=VM, created=CREATED)


# --- proof sets and chains ----------------------------------------------------------------------

VM_A = "did:web:issuer.example#key-a"
VM_B = "did:web:issuer.example#key-b"
KEYS = {VM_A: SIGNER.public_key, VM_B: OTHER.public_key}


def _keys(vm: str) -> bytes:
    try:
        return KEYS[vm]
    except KeyError:
        raise NotFound(f"no key {vm}") from None


def test_proof_set() -> None:
    one = add_proof(UNSIGNED, SIGNER, verification_method=VM_A, created=CREATED)
    two = add_proof(one, OTHER, verification_method=VM_B, created="2023-02-25T00:00:00Z")
    assert isinstance(two["proof"], list)
    assert len(two["proof"]) == 2
    assert two["proof"][0] == one["proof"]
    results = verify_proofs(two, resolve_key=_keys)
    assert [r.ok for r in results] == [True, True]
    assert [r.verification_method for r in results] == [VM_A, VM_B]
    three = add_proof(two, SIGNER, verification_method=VM_A, created=CREATED, proof_id="urn:p3")
    assert [r.ok for r in verify_proofs(three, resolve_key=_keys)] == [True, True, True]
    # Proofs in a set are independent: dropping one leaves the other valid.
    alone = dict(two, proof=[two["proof"][1]])
    assert verify_proofs(alone, resolve_key=_keys)[0].ok


def test_proof_set_one_bad_member() -> None:
    one = add_proof(UNSIGNED, SIGNER, verification_method=VM_A, created=CREATED)
    two = add_proof(one, OTHER, verification_method=VM_B, created=CREATED)
    two["proof"][1]["cryptosuite"] = "ecdsa-jcs-2019"
    results = verify_proofs(two, resolve_key=_keys)
    assert [r.ok for r in results] == [True, False]
    assert results[1].reason == "unknown cryptosuite 'ecdsa-jcs-2019'"


def _chain() -> dict[str, Any]:
    one = add_proof(UNSIGNED, SIGNER, verification_method=VM_A, created=CREATED, proof_id="urn:p1")
    return add_proof(
        one,
        OTHER,
        verification_method=VM_B,
        created="2023-02-25T00:00:00Z",
        proof_id="urn:p2",
        previous_proof="urn:p1",
    )


def test_proof_chain() -> None:
    chain = _chain()
    assert chain["proof"][1]["previousProof"] == "urn:p1"
    results = verify_proofs(chain, resolve_key=_keys)
    assert [(r.ok, r.proof_id) for r in results] == [(True, "urn:p1"), (True, "urn:p2")]
    # The chained proof signs the document with proof = [the proofs it names].
    inner = dict(UNSIGNED, proof=[chain["proof"][0]])
    config = proof_configuration(
        inner, {k: v for k, v in chain["proof"][1].items() if k != "proofValue"}
    )
    signature = multibase_decode(chain["proof"][1]["proofValue"])
    from orgbook.core.crypto import verify_ed25519

    assert verify_ed25519(OTHER.public_key, signature, hash_data(inner, config))


def test_chain_with_list_of_previous_proofs() -> None:
    one = add_proof(UNSIGNED, SIGNER, verification_method=VM_A, created=CREATED, proof_id="urn:p1")
    two = add_proof(one, OTHER, verification_method=VM_B, created=CREATED, proof_id="urn:p2")
    three = add_proof(
        two,
        SIGNER,
        verification_method=VM_A,
        created=CREATED,
        proof_id="urn:p3",
        previous_proof=["urn:p1", "urn:p2"],
    )
    assert [r.ok for r in verify_proofs(three, resolve_key=_keys)] == [True, True, True]


def test_chain_tampered_previous_proof_breaks_both() -> None:
    chain = _chain()
    chain["proof"][0]["created"] = "2023-02-24T23:36:39Z"
    results = verify_proofs(chain, resolve_key=_keys)
    assert [r.reason for r in results] == ["signature does not verify"] * 2


def test_chain_fails_when_previous_proof_fails_for_another_reason() -> None:
    chain = _chain()

    def keys(vm: str) -> bytes:
        if vm == VM_A:
            raise NotFound("key-a was never registered")
        return _keys(vm)

    results = verify_proofs(chain, resolve_key=keys)
    assert not results[0].ok
    assert results[0].reason == (
        f"cannot resolve verification method {VM_A!r}: key-a was never registered"
    )
    assert results[1].reason == "previous proof 'urn:p1' does not verify"


def test_chain_missing_previous_proof() -> None:
    chain = _chain()
    orphan = dict(chain, proof=[chain["proof"][1]])
    result = verify_proofs(orphan, resolve_key=_keys)[0]
    assert result.reason == "previousProof 'urn:p1' is not in the document's proof set"
    with pytest.raises(BadInput, match="urn:nope"):
        add_proof(
            chain, SIGNER, verification_method=VM_A, created=CREATED, previous_proof="urn:nope"
        )


def test_reordered_proof_set_still_verifies() -> None:
    chain = _chain()
    swapped = dict(chain, proof=list(reversed(chain["proof"])))
    assert [r.ok for r in verify_proofs(swapped, resolve_key=_keys)] == [True, True]


# --- malformed input never raises ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("document", "reason"),
    [
        (None, "document is not a JSON object"),
        ([SIGNED], "document is not a JSON object"),
        ("signed", "document is not a JSON object"),
        (42, "document is not a JSON object"),
        (UNSIGNED, "document has no proof"),
        (dict(UNSIGNED, proof="z123"), "proof is not a JSON object or a list of them"),
        (dict(UNSIGNED, proof=7), "proof is not a JSON object or a list of them"),
        (dict(UNSIGNED, proof=None), "proof is not a JSON object or a list of them"),
        (dict(UNSIGNED, proof=[]), "proof set is empty"),
        (dict(UNSIGNED, proof=["x"]), "proof is not a JSON object"),
        (dict(UNSIGNED, proof=[None]), "proof is not a JSON object"),
        (dict(UNSIGNED, proof={}), "proof is missing 'type'"),
    ],
    ids=lambda x: _stable_id(x, 20),
)
def test_malformed_documents(document: Any, reason: str) -> None:
    result = _single(document)
    assert (result.ok, result.reason) == (False, reason)


@pytest.mark.parametrize(
    ("field", "value", "reason"),
    [
        ("verificationMethod", _DELETE, "proof is missing 'verificationMethod'"),
        ("verificationMethod", 7, "'verificationMethod' must be a non-empty string"),
        ("verificationMethod", {"id": VM}, "'verificationMethod' must be a non-empty string"),
        ("proofPurpose", _DELETE, "proof is missing 'proofPurpose'"),
        ("proofPurpose", ["assertionMethod"], "'proofPurpose' must be a non-empty string"),
        ("proofValue", 12345, "'proofValue' must be a non-empty string"),
        ("proofValue", "", "'proofValue' must be a non-empty string"),
        ("proofValue", "z" + "2" * 5000, "proofValue is not multibase base58btc"),
        ("type", ["DataIntegrityProof"], "unknown proof type ['DataIntegrityProof']"),
        ("cryptosuite", None, "proof is missing 'cryptosuite'"),
        ("previousProof", 5, "previousProof must be a proof id or a list of proof ids"),
        ("previousProof", [None], "previousProof must be a proof id or a list of proof ids"),
        ("challenge", 5, "'challenge' must be a string"),
        ("id", ["urn:x"], "'id' must be a string"),
        ("@context", 5, "document @context does not start with the proof's @context"),
        ("@context", {"@vocab": "x"}, "document @context does not start"),
    ],
    ids=lambda x: _stable_id(x, 24),
)
def test_malformed_proof_fields(field: str, value: Any, reason: str) -> None:
    result = _single(_tampered(("proof", field), value))
    assert not result.ok
    assert result.reason.startswith(reason), result.reason


def test_uncanonicalizable_document() -> None:
    doc = _tampered(("credentialSubject", "gpa"), float("nan"))
    assert _single(doc).reason.startswith("document cannot be canonicalized")
    doc = _tampered(("credentialSubject", "big"), 2**60)
    assert _single(doc).reason.startswith("document cannot be canonicalized")


def test_resolver_failures_become_reasons() -> None:
    def missing(vm: str) -> bytes:
        raise NotFound("unknown DID")

    assert _single(SIGNED, resolve_key=missing).reason == (
        f"cannot resolve verification method {VM!r}: unknown DID"
    )
    assert _single(SIGNED, resolve_key=lambda vm: b"short").reason == (
        f"verification method {VM!r} is not a 32-byte Ed25519 key"
    )
    assert _single(SIGNED, resolve_key=lambda vm: None).reason.endswith("32-byte Ed25519 key")


_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=10),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner),
    max_leaves=20,
)
_proof_keys = st.sampled_from(
    [
        "type",
        "cryptosuite",
        "verificationMethod",
        "proofPurpose",
        "proofValue",
        "created",
        "expires",
        "@context",
        "previousProof",
        "id",
        "challenge",
        "domain",
    ]
)


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(_proof_keys, _json), _json)
def test_fuzzed_proofs_never_raise(mutation: dict[str, Any], junk: Any) -> None:
    doc = copy.deepcopy(SIGNED)
    doc["proof"].update(mutation)
    for candidate in (doc, dict(doc, proof=[doc["proof"], junk]), junk, {"proof": junk}):
        for result in _verify(candidate, now=NOW, challenge="c", domain="d"):
            assert isinstance(result, ProofResult)
            assert result.reason


# --- secure_canonical: add_proof with the document canonicalised once --------------------------


def test_secure_canonical_reproduces_the_w3c_vector() -> None:
    from orgbook.core.dataintegrity import secure_canonical

    secured, data = secure_canonical(
        UNSIGNED, _vector_signer(), verification_method=VM, created=CREATED
    )
    assert secured == SIGNED
    assert data == canonicalize(SIGNED)


_doc_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**53) + 1, 2**53 - 1) | st.text(max_size=10),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=6), children, max_size=4)
    ),
    max_leaves=20,
)


@settings(max_examples=200, deadline=None)
@given(
    st.dictionaries(st.text(max_size=8).filter(lambda k: k != "proof"), _doc_values, max_size=8),
    st.sampled_from([None, "https://www.w3.org/ns/credentials/v2", ["a", "b"]]),
    st.sampled_from([CREATED, NOW, NOW.replace(microsecond=120)]),
)
def test_secure_canonical_equals_add_proof(
    document: dict[str, Any], context: Any, created: Any
) -> None:
    from orgbook.core.canonical import canonicalize_reference
    from orgbook.core.dataintegrity import secure_canonical

    if context is not None:
        document = {"@context": context, **document}
    signer = _vector_signer()
    expected = add_proof(document, signer, verification_method=VM, created=created)
    secured, data = secure_canonical(document, signer, verification_method=VM, created=created)
    assert secured == expected
    assert list(secured) == list(expected)
    assert list(secured["proof"]) == list(expected["proof"])
    assert data == canonicalize_reference(expected)


def test_secure_canonical_refuses_what_add_proof_would_not_sign_alone() -> None:
    from orgbook.core.dataintegrity import secure_canonical

    with pytest.raises(BadInput):
        secure_canonical(SIGNED, _vector_signer(), verification_method=VM, created=CREATED)
    with pytest.raises(BadInput):
        secure_canonical(UNSIGNED, _vector_signer(), verification_method=VM, created="yesterday")
    with pytest.raises(BadInput):
        secure_canonical(UNSIGNED, _vector_signer(), verification_method="", created=CREATED)


# --- secure_canonical's proof configurations, made afresh (issue 20: mutation testing) ----------
#
# secure_canonical keeps each proof configuration it makes, by context, creation time, method
# and purpose. A verification method no earlier call used makes it build one afresh (a test run
# in a process that already signed with the same options would only read what it kept).


def _fresh_method() -> str:
    return f"did:web:issuer.example#key-{uuid.uuid4()}"


def _both(document: dict[str, Any], vm: str, **options: Any) -> tuple[Any, Any]:
    from orgbook.core.dataintegrity import secure_canonical

    signer = _vector_signer()
    expected = add_proof(document, signer, verification_method=vm, created=CREATED, **options)
    secured, data = secure_canonical(
        document, signer, verification_method=vm, created=CREATED, **options
    )
    assert data == canonicalize(secured)
    return secured, expected


@pytest.mark.parametrize(
    "context",
    [
        None,
        "https://www.w3.org/ns/credentials/v2",
        ["https://www.w3.org/ns/credentials/v2", "https://example.org/v1"],
        ["https://www.w3.org/ns/credentials/v2", {"@vocab": "https://example.org/#"}],
        {"@vocab": "https://example.org/#"},
        [{"@vocab": "https://example.org/#"}],
        [],
    ],
    ids=["none", "string", "list", "list-with-object", "object", "list-of-objects", "empty-list"],
)
def test_secure_canonical_makes_a_new_configuration_as_add_proof_does(context: Any) -> None:
    document: dict[str, Any] = {"name": "x", "n": [1, 2]}
    if context is not None:
        document["@context"] = context
    for purpose in ("assertionMethod", "authentication"):
        secured, expected = _both(document, _fresh_method(), proof_purpose=purpose)
        assert secured == expected
        assert list(secured["proof"]) == list(expected["proof"])
        assert _single(secured, resolve_key=_key, expected_purpose=purpose).ok


def test_secure_canonical_tells_contexts_apart() -> None:
    """Documents signed with the same method, time and purpose but other contexts each get the
    configuration of their own context."""
    vm = _fresh_method()
    contexts: list[Any] = [
        "https://a.example/v1",
        "https://b.example/v1",
        ["https://a.example/v1"],
        {"@vocab": "https://a.example/#"},
        {"@vocab": "https://b.example/#"},
        ["https://a.example/v1", {"@vocab": "https://a.example/#"}],
        ["https://a.example/v1", {"@vocab": "https://b.example/#"}],
    ]
    for context in contexts:
        secured, expected = _both({"@context": context, "name": "x"}, vm)
        assert secured == expected, context
        assert _single(secured).ok


def test_secure_canonical_keeps_no_reference_to_the_callers_context() -> None:
    vm = _fresh_method()
    context = ["https://a.example/v1"]
    first, _ = _both({"@context": context, "name": "x"}, vm)
    context.append("https://changed.example/v1")  # the caller reuses its list
    second, expected = _both({"@context": ["https://a.example/v1"], "name": "y"}, vm)
    assert second == expected
    assert second["proof"]["@context"] == ["https://a.example/v1"]
    assert first["proof"]["@context"] == ["https://a.example/v1"]
    assert first["proof"]["@context"] is not second["proof"]["@context"]


def test_secure_canonical_canonicalises_floats_as_jcs_by_default() -> None:
    document = {"a": 1.0, "b": 0.5, "c": 1e21}
    secured, expected = _both(document, _fresh_method())
    assert secured == expected
    assert _single(secured).ok


def test_secure_canonical_says_why_it_refuses() -> None:
    from orgbook.core.dataintegrity import secure_canonical

    signer = _vector_signer()
    for document, options, message in [
        (["x"], {}, "only a JSON object can be secured"),
        (SIGNED, {}, "the document already has a proof"),
        (UNSIGNED, {"verification_method": ""}, "verification_method must be a non-empty URL"),
        (UNSIGNED, {"verification_method": 7}, "verification_method must be a non-empty URL"),
        (UNSIGNED, {"proof_purpose": ""}, "proof_purpose must be a non-empty string"),
        (UNSIGNED, {"proof_purpose": None}, "proof_purpose must be a non-empty string"),
        (UNSIGNED, {"created": 1677281798}, "created must be a datetime or an RFC 3339 string"),
    ]:
        kwargs: dict[str, Any] = {"verification_method": VM, "created": CREATED, **options}
        with pytest.raises(BadInput) as caught:
            secure_canonical(document, signer, **kwargs)  # type: ignore[arg-type]
        assert caught.value.detail == message or caught.value.detail.startswith(message)


def test_a_document_with_one_context_string_verifies() -> None:
    document = {"@context": "https://www.w3.org/ns/credentials/v2", "name": "x"}
    signed = add_proof(document, SIGNER, verification_method=VM, created=CREATED)
    assert signed["proof"]["@context"] == "https://www.w3.org/ns/credentials/v2"
    assert _single(signed).ok
    other = dict(signed, **{"@context": "https://www.w3.org/2018/credentials/v1"})
    assert _single(other).reason == "document @context does not start with the proof's @context"


def test_a_null_context_is_no_context_to_start_with() -> None:
    # A proof whose @context is null does not vouch for a document whose @context is null:
    # the document has no context values, so it cannot start with the proof's.
    signed = add_proof(
        {"@context": None, "name": "x"}, SIGNER, verification_method=VM, created=CREATED
    )
    assert signed["proof"]["@context"] is None
    assert _single(signed).reason == "document @context does not start with the proof's @context"


# --- what create_proof and its building blocks refuse, and keep (issue 20: mutation testing) ---


@pytest.mark.parametrize(
    ("document", "options", "message"),
    [
        (["x"], {}, "only a JSON object can be secured"),
        (
            UNSIGNED,
            {"verification_method": ""},
            "verification_method must be a non-empty URL string",
        ),
        (UNSIGNED, {"proof_purpose": ""}, "proof_purpose must be a non-empty string"),
        (UNSIGNED, {"proof_purpose": 7}, "proof_purpose must be a non-empty string"),
        (UNSIGNED, {"created": 1677281798}, "created must be a datetime or an RFC 3339 string"),
        (UNSIGNED, {"expires": 1677281798}, "expires must be a datetime or an RFC 3339 string"),
        (
            UNSIGNED,
            {"previous_proof": 5},
            "previous_proof must be a proof id or a list of proof ids",
        ),
        (
            UNSIGNED,
            {"previous_proof": [1]},
            "previous_proof must be a proof id or a list of proof ids",
        ),
    ],
    ids=[
        "not-object",
        "no-method",
        "no-purpose",
        "purpose-number",
        "created",
        "expires",
        "previous-number",
        "previous-list-of-number",
    ],
)
def test_create_proof_says_why_it_refuses(
    document: Any, options: dict[str, Any], message: str
) -> None:
    kwargs: dict[str, Any] = {"verification_method": VM, "created": CREATED, **options}
    with pytest.raises(BadInput) as caught:
        create_proof(document, SIGNER, **kwargs)
    assert caught.value.detail == message


def test_create_proof_writes_a_datetime_to_the_microsecond_trimmed() -> None:
    created = datetime(2026, 11, 23, 12, 0, 0, 120000, tzinfo=UTC)
    proof = create_proof(UNSIGNED, SIGNER, verification_method=VM, created=created, expires=created)
    assert proof["created"] == proof["expires"] == "2026-11-23T12:00:00.12Z"


def test_create_proof_keeps_no_reference_to_the_callers_lists() -> None:
    one = add_proof(UNSIGNED, SIGNER, verification_method=VM_A, created=CREATED, proof_id="urn:p1")
    document = copy.deepcopy(one)
    previous = ["urn:p1"]
    proof = create_proof(
        document, OTHER, verification_method=VM_B, created=CREATED, previous_proof=previous
    )
    previous.append("urn:changed")
    document["@context"].append("https://changed.example/v1")
    assert proof["previousProof"] == ["urn:p1"]
    assert proof["@context"] == UNSIGNED["@context"]


def test_unsecured_and_proof_configuration_say_why_they_refuse() -> None:
    with pytest.raises(BadInput) as caught:
        unsecured(["x"])  # type: ignore[arg-type]
    assert caught.value.detail == "a secured document is a JSON object"
    options = {k: v for k, v in PROOF_CONFIG.items() if k != "@context"}
    for wrong in ({"cryptosuite": "ecdsa-jcs-2019"}, {"type": "Ed25519Signature2020"}):
        with pytest.raises(BadInput) as caught:
            proof_configuration(UNSIGNED, options | wrong)
        assert caught.value.detail == "proof options are not DataIntegrityProof / eddsa-jcs-2022"
    # proofValue is never part of the configuration.
    assert proof_configuration(UNSIGNED, options | {"proofValue": "z1"}) == PROOF_CONFIG


def test_a_chained_proof_failing_with_the_proof_it_names_keeps_its_own_fields() -> None:
    chain = _chain()

    def keys(vm: str) -> bytes:  # the first proof's key is unknown: it fails, the second with it
        if vm == VM_B:
            return OTHER.public_key
        raise NotFound("key-a was never registered")

    second = verify_proofs(chain, resolve_key=keys)[1]
    assert second == ProofResult(
        False,
        "previous proof 'urn:p1' does not verify",
        "urn:p2",
        VM_B,
        "2023-02-25T00:00:00Z",
        "assertionMethod",
    )
    assert second.ok is False


def test_a_failure_goes_down_a_chain_of_three_proofs() -> None:
    # p3 names p2, which names p1; only p1 fails itself (its key is unknown). p2 fails with it
    # on the first pass over the results, p3 only on a second: the chain is followed to its end.
    three = add_proof(
        _chain(),
        OTHER,
        verification_method=VM_B,
        created=CREATED,
        proof_id="urn:p3",
        previous_proof="urn:p2",
    )

    def keys(vm: str) -> bytes:
        if vm == VM_B:
            return OTHER.public_key
        raise NotFound("key-a was never registered")

    assert [r.ok for r in verify_proofs(three, resolve_key=_keys)] == [True, True, True]
    results = verify_proofs(three, resolve_key=keys)
    assert [(r.ok, r.reason) for r in results] == [
        (False, f"cannot resolve verification method {VM_A!r}: key-a was never registered"),
        (False, "previous proof 'urn:p1' does not verify"),
        (False, "previous proof 'urn:p2' does not verify"),
    ]
