"""verify_credential: the report model, tampering with every part of a credential, its proof and
its status lists, other issuers' credentials, and malformed input that must never crash it."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from orgbook.core.credentials import CredentialType, subject_id
from orgbook.core.dataintegrity import add_proof
from orgbook.core.did import LocalResolver
from orgbook.core.errors import BadInput
from orgbook.core.multibase import b58decode, b58encode
from orgbook.verification.credential import (
    CHECK_NAMES,
    check_schema,
    check_signature,
    check_validity_period,
    registry_schema_bases,
    verify_credential,
)
from tests.core.test_credentials import (
    ISSUED,
    NOW,
    Issuer,
    fixed_signer,
    make_credential,
    make_issuer,
)
from tests.verification.support import ALL_PASS, VECTORS, failed, verify


def test_now_must_be_aware(issuer: Issuer, cred: dict[str, Any]) -> None:
    with pytest.raises(BadInput):
        verify_credential(cred, resolver=issuer.resolver, now=datetime(2026, 1, 1))


# --- a good credential --------------------------------------------------------------------------


def test_good_credential_passes_every_check(issuer: Issuer, cred: dict[str, Any]) -> None:
    report = verify(issuer, cred)
    assert {c.name: c.outcome for c in report.checks} == ALL_PASS
    assert report.valid
    assert report.check("validity_period").reason == (  # type: ignore[union-attr]
        "valid from 2019-03-14T00:00:00Z (now 2026-11-23T12:00:00Z)"
    )
    assert report.check("issuer_key").reason == f"signed with a key of the issuer {issuer.did}"  # type: ignore[union-attr]


# --- tampering with the credential --------------------------------------------------------------


def _set(doc: dict[str, Any], path: str, value: Any) -> None:
    *parents, last = path.split("/")
    target: Any = doc
    for part in parents:
        target = target[int(part)] if isinstance(target, list) else target[part]
    if isinstance(target, list):
        target[int(last)] = value
    else:
        target[last] = value


TAMPERING = [
    # (path, new value, the checks that must fail — exactly those)
    ("credentialSubject/legalName", "Maple Holdings Ltd.", {"signature"}),
    ("credentialSubject/id", subject_id("CA-BC", "BC0000001"), {"signature"}),
    ("credentialSubject/effectiveDate", "2001-01-01", {"signature"}),
    ("credentialSubject/alternateNames/0/language", "de", {"signature"}),
    ("id", "urn:uuid:00000000-0000-5000-8000-000000000000", {"signature"}),
    ("validFrom", "2020-01-01T00:00:00Z", {"signature"}),
    ("validFrom", "2030-01-01T00:00:00Z", {"signature", "validity_period"}),
    ("validUntil", "2026-01-01T00:00:00Z", {"signature", "validity_period"}),
    ("type", ["VerifiableCredential", "LegalNameCredential", "Extra"], {"signature"}),
    ("type", ["VerifiableCredential", "AddressCredential"], {"signature", "schema"}),
    (
        "credentialSchema",
        {
            "id": "https://orgbook.example/schemas/credentials/address/1.0.json",
            "type": "JsonSchema",
        },
        {"signature", "schema"},
    ),
    ("credentialSchema/type", "ShaclSchema", {"signature", "schema"}),
    ("credentialStatus/0/statusListIndex", "12", {"signature"}),
    ("credentialStatus/1/statusPurpose", "revocation", {"signature", "status"}),
]


@pytest.mark.parametrize(
    ("path", "value", "failing"), TAMPERING, ids=[f"{t[0]}={t[1]!r}"[:60] for t in TAMPERING]
)
def test_tampered_credential_fails_the_matching_checks(
    issuer: Issuer, cred: dict[str, Any], path: str, value: Any, failing: set[str]
) -> None:
    tampered = copy.deepcopy(cred)
    _set(tampered, path, value)
    report = verify(issuer, tampered)
    assert set(failed(report)) == failing, report.to_dict()
    assert not report.valid
    assert failed(report)["signature"] == "signature does not verify"


def test_tampered_issuer_fails_signature_key_and_status(
    issuer: Issuer, cred: dict[str, Any]
) -> None:
    other = make_issuer(label="other registry")
    resolver = LocalResolver({d.did: d.resolver.resolve(d.did) for d in (issuer, other)})
    tampered = copy.deepcopy(cred) | {"issuer": other.did}
    reasons = failed(verify(issuer, tampered, resolver=resolver))
    assert reasons == {
        "signature": "signature does not verify",
        "issuer_key": f"verification method {issuer.vm} belongs to {issuer.did}, "
        f"not to the issuer {other.did}",
        "status": f"revocation: status list issuer {issuer.did!r} "
        f"is not the credential's issuer {other.did!r}",
    }


def test_contexts_appended_after_signing_fail_the_schema(
    issuer: Issuer, cred: dict[str, Any]
) -> None:
    """eddsa-jcs-2022 signs only the proof's @context (vc-di-eddsa §3.3.2 step 4), so a context
    appended after signing still verifies; orgbook's schemas pin the context to catch it."""
    extended = cred | {"@context": [*cred["@context"], "https://attacker.example/ctx"]}
    report = verify(issuer, extended)
    assert report.check("signature").outcome == "pass"  # type: ignore[union-attr]
    assert set(failed(report)) == {"schema"}
    assert failed(report)["schema"].endswith(
        "/@context: ['https://www.w3.org/ns/credentials/v2'] was expected"
    )


def test_schema_failure_reason_points_at_the_field(issuer: Issuer) -> None:
    subject = {"legalName": "", "effectiveDate": "2024-02-30"}
    cred = make_credential(CredentialType.LEGAL_NAME, issuer, subject=subject)
    check = verify(issuer, cred).check("schema")
    assert check is not None
    assert check.outcome == "fail"
    assert check.reason.startswith(
        "does not match schema https://orgbook.example/schemas/credentials/legal-name/1.0.json: "
        "/credentialSubject/effectiveDate: "
    )
    paths = {p["path"] for p in check.details["problems"]}
    assert paths == {"/credentialSubject/legalName", "/credentialSubject/effectiveDate"}


# --- tampering with the proof -------------------------------------------------------------------

PROOF_TAMPERING = [
    ("type", "Ed25519Signature2020", "unknown proof type 'Ed25519Signature2020'", set()),
    ("cryptosuite", "eddsa-rdfc-2022", "unknown cryptosuite 'eddsa-rdfc-2022'", set()),
    ("cryptosuite", "ecdsa-jcs-2019", "unknown cryptosuite 'ecdsa-jcs-2019'", set()),
    ("created", "2025-06-01T09:30:01Z", "signature does not verify", set()),
    ("created", "2027-01-01T00:00:00Z", "created is in the future (2027-01-01T00:00:00Z)", set()),
    ("created", "June 1st", "created is not a valid date-time", {"schema"}),
    (
        "proofPurpose",
        "authentication",
        "proofPurpose 'authentication' is not the expected 'assertionMethod'",
        set(),
    ),
    (
        "@context",
        ["https://www.w3.org/ns/credentials/v2", "https://x.example"],
        "document @context does not start with the proof's @context",
        set(),
    ),
    (
        "proofValue",
        "z" + "1" * 10,
        "proofValue is not a 64-byte Ed25519 signature (10 bytes)",
        set(),
    ),
    ("proofValue", "uAAAA", "proofValue is not multibase base58btc", set()),
    ("proofValue", "z0OIl", "proofValue is not multibase base58btc", set()),
    ("proofValue", 42, "'proofValue' must be a non-empty string", {"schema"}),
    ("expires", "2026-01-01T00:00:00Z", "proof expired at 2026-01-01T00:00:00Z", set()),
]


@pytest.mark.parametrize(
    ("field", "value", "reason", "also"),
    PROOF_TAMPERING,
    ids=[f"{t[0]}={t[1]!r}"[:50] for t in PROOF_TAMPERING],
)
def test_tampered_proof_fails_signature(
    issuer: Issuer, cred: dict[str, Any], field: str, value: Any, reason: str, also: set[str]
) -> None:
    tampered = copy.deepcopy(cred)
    tampered["proof"][field] = value
    reasons = failed(verify(issuer, tampered))
    assert reasons.keys() == {"signature", *also}
    assert reasons["signature"] == reason


@pytest.mark.parametrize(
    "field", ["type", "cryptosuite", "verificationMethod", "proofPurpose", "proofValue"]
)
def test_missing_proof_field_fails(issuer: Issuer, cred: dict[str, Any], field: str) -> None:
    tampered = copy.deepcopy(cred)
    del tampered["proof"][field]
    reasons = failed(verify(issuer, tampered))
    assert field in reasons["signature"]
    expected = {"signature", "issuer_key"} if field == "verificationMethod" else {"signature"}
    if field == "type":
        expected.add("schema")  # VC 2.0 §4.12: a proof has a type
    assert reasons.keys() == expected


def test_flipped_and_truncated_signatures(issuer: Issuer, cred: dict[str, Any]) -> None:
    raw = b58decode(cred["proof"]["proofValue"][1:])
    flipped = bytes([raw[0] ^ 1]) + raw[1:]
    for value, reason in [
        ("z" + b58encode(flipped), "signature does not verify"),
        ("z" + b58encode(raw[:63]), "proofValue is not a 64-byte Ed25519 signature (63 bytes)"),
        ("z" + b58encode(raw + b"\0"), "proofValue is not a 64-byte Ed25519 signature (65 bytes)"),
        (cred["proof"]["proofValue"][:-3], None),
    ]:
        tampered = copy.deepcopy(cred)
        tampered["proof"]["proofValue"] = value
        reasons = failed(verify(issuer, tampered))
        assert reasons.keys() == {"signature"}
        if reason:
            assert reasons["signature"] == reason


def test_proof_removed_or_emptied(issuer: Issuer, cred: dict[str, Any]) -> None:
    bare = {k: v for k, v in cred.items() if k != "proof"}
    reasons = failed(verify(issuer, bare))
    assert reasons == {
        "signature": "document has no proof",
        "issuer_key": "no proof names a verification method",
    }
    assert failed(verify(issuer, cred | {"proof": []}))["signature"] == "proof set is empty"


def test_a_second_proof_by_a_stranger_fails_issuer_key(
    issuer: Issuer, cred: dict[str, Any]
) -> None:
    stranger = make_issuer("key", label="stranger")
    both = add_proof(cred, stranger.signer, verification_method=stranger.vm, created=ISSUED)
    report = verify(issuer, both)
    assert report.check("signature").outcome == "pass"  # type: ignore[union-attr]
    assert failed(report) == {
        "issuer_key": f"verification method {stranger.vm} belongs to {stranger.did}, "
        f"not to the issuer {issuer.did}"
    }


def test_signed_by_another_key_claiming_the_issuers_method(
    issuer: Issuer, cred: dict[str, Any]
) -> None:
    forger = fixed_signer("forger")
    unsigned = {k: v for k, v in cred.items() if k != "proof"}
    forged = add_proof(unsigned, forger, verification_method=issuer.vm, created=ISSUED)
    assert failed(verify(issuer, forged)) == {"signature": "signature does not verify"}


# --- other issuers, malformed input -------------------------------------------------------------


def test_verifies_the_w3c_eddsa_jcs_2022_vector() -> None:
    """A credential signed by another conformant implementation (vc-di-eddsa example B.2)."""
    doc = json.loads((VECTORS / "vc-di-eddsa" / "eddsa-jcs-2022" / "signedJCS.json").read_text())
    report = verify_credential(doc, resolver=LocalResolver(), now=NOW)
    outcomes = {c.name: c.outcome for c in report.checks}
    assert outcomes["schema"] == "pass"
    assert outcomes["signature"] == "pass"
    assert outcomes["validity_period"] == "pass"
    # Its issuer is an https URL, not the did:key that signed: not the issuer's key.
    assert failed(report).keys() == {"issuer_key"}
    doc["credentialSubject"]["alumniOf"] = "Another School"
    assert verify_credential(doc, resolver=LocalResolver(), now=NOW).check("signature").reason == (  # type: ignore[union-attr]
        "signature does not verify"
    )


@pytest.mark.parametrize(
    "value",
    [
        None,
        0,
        1.5,
        "credential",
        [],
        [{}],
        {},
        {"proof": None},
        {"proof": "z123"},
        {"@context": 5, "type": {}, "issuer": [], "credentialSubject": "x", "proof": [None, 3]},
        {
            "issuer": {"id": {"nested": True}},
            "validFrom": 20240101,
            "proof": {"verificationMethod": 7},
        },
        {"credentialStatus": [None, {"type": "BitstringStatusListEntry", "statusListIndex": []}]},
        {"credentialSchema": [{"id": None}], "validUntil": None, "type": [None]},
    ],
)
def test_malformed_input_never_raises(issuer: Issuer, value: Any) -> None:
    report = verify_credential(value, resolver=issuer.resolver, status_lists=issuer.fetch, now=NOW)
    assert not report.valid
    assert report.check("signature").outcome == "fail"  # type: ignore[union-attr]
    assert all("could not complete" not in c.reason for c in report.checks)
    json.dumps(report.to_dict())


def test_mutilated_credentials_never_raise(issuer: Issuer, cred: dict[str, Any]) -> None:
    garbage: list[Any] = [
        None,
        0,
        -1,
        True,
        "",
        "x" * 5000,
        [],
        {},
        [None],
        {"a": {"b": []}},
        2**70,
    ]
    for key in list(cred):
        for junk in garbage:
            report = verify(issuer, cred | {key: junk})
            assert not report.valid, key
            assert all("could not complete" not in c.reason for c in report.checks), (key, junk)
    for key in list(cred["proof"]):
        for junk in garbage:
            report = verify(issuer, cred | {"proof": cred["proof"] | {key: junk}})
            assert report.check("signature").outcome == "fail"  # type: ignore[union-attr]


def test_deeply_nested_input_is_reported(issuer: Issuer, cred: dict[str, Any]) -> None:
    deep: Any = "x"
    for _ in range(100_000):
        deep = [deep]
    report = verify(issuer, cred | {"credentialSubject": {"id": "urn:x", "deep": deep}})
    assert not report.valid


_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(
            st.sampled_from(
                [
                    "@context",
                    "type",
                    "id",
                    "issuer",
                    "validFrom",
                    "validUntil",
                    "credentialSubject",
                    "credentialSchema",
                    "credentialStatus",
                    "proof",
                    "verificationMethod",
                    "proofValue",
                    "cryptosuite",
                    "statusListIndex",
                    "statusListCredential",
                    "statusPurpose",
                    "x",
                ]
            )
            | st.text(max_size=8),
            children,
            max_size=6,
        )
    ),
    max_leaves=30,
)


@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(value=_json)
def test_random_json_never_raises(issuer: Issuer, value: Any) -> None:
    report = verify_credential(value, resolver=issuer.resolver, status_lists=issuer.fetch, now=NOW)
    assert not report.valid
    assert [c.name for c in report.checks] == list(ALL_PASS)
    assert all("could not complete" not in c.reason for c in report.checks)


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    key=st.sampled_from(
        [
            "issuer",
            "validFrom",
            "credentialSubject",
            "credentialStatus",
            "credentialSchema",
            "type",
            "proof",
        ]
    ),
    value=_json,
)
def test_random_field_values_never_raise(
    issuer: Issuer, cred: dict[str, Any], key: str, value: Any
) -> None:
    report = verify(issuer, cred | {key: value})
    assert all("could not complete" not in c.reason for c in report.checks)
    if value != cred[key]:
        assert not report.valid


def test_naive_dates_in_input_do_not_crash(issuer: Issuer, cred: dict[str, Any]) -> None:
    report = verify(issuer, cred | {"validFrom": "2020-01-01T00:00:00"})
    assert failed(report)["validity_period"] == "validFrom '2020-01-01T00:00:00' is not a date-time"
    assert report.check("schema").outcome == "fail"  # type: ignore[union-attr]
    assert datetime(2026, 1, 1, tzinfo=UTC) < NOW


# --- validity period boundaries (issue 20): validFrom <= now < validUntil ------------------------


def test_a_credential_at_its_valid_until_has_expired(issuer: Issuer) -> None:
    cred = make_credential(
        CredentialType.LEGAL_NAME, issuer, index=11, valid_until="2026-11-23T12:00:00Z"
    )
    before = verify(issuer, cred, now=NOW - timedelta(microseconds=1))
    assert before.check("validity_period").outcome == "pass"  # type: ignore[union-attr]
    assert before.valid
    at = verify(issuer, cred, now=NOW)
    assert failed(at) == {
        "validity_period": "expired at 2026-11-23T12:00:00Z (now 2026-11-23T12:00:00Z)"
    }
    assert not at.valid


def test_a_credential_is_valid_from_its_valid_from_on(issuer: Issuer) -> None:
    cred = make_credential(
        CredentialType.LEGAL_NAME, issuer, index=11, valid_from="2026-11-23T12:00:00Z"
    )
    assert verify(issuer, cred, now=NOW).valid
    early = verify(issuer, cred, now=NOW - timedelta(microseconds=1))
    assert failed(early) == {
        "validity_period": (
            "not valid before 2026-11-23T12:00:00Z (now 2026-11-23T11:59:59.999999Z)"
        )
    }


# --- schemas named at the registry's own URL ------------------------------------------------


@pytest.mark.parametrize(
    ("did", "base"),
    [
        ("did:web:registry.test:issuers:bc-registries", "https://registry.test/schemas"),
        ("did:web:gov.example:orgbook:issuers:ns", "https://gov.example/orgbook/schemas"),
        ("did:web:127.0.0.1%3A8000:issuers:bc-registries", "http://127.0.0.1:8000/schemas"),
    ],
)
def test_the_schema_is_applied_where_the_issuers_registry_serves_it(
    issuer: Issuer, did: str, base: str
) -> None:
    """A registry names its schemas at its public URL (no ORGBOOK_SCHEMA_BASE): the offline
    check, told nothing, still applies them (it once passed them as "not one orgbook holds")."""
    cred = make_credential(
        CredentialType.LEGAL_NAME,
        issuer,
        subject={"legalName": "", "effectiveDate": "2024-02-01"},
        schema_base=base,
    )
    cred["issuer"] = did  # the signature is not this check's affair
    check = check_schema(cred)
    assert check.outcome == "fail"
    assert "/credentialSubject/legalName" in check.reason


@pytest.mark.parametrize(
    "did",
    [
        "did:web:registry.test",  # not a registry issuer's DID
        "did:web:elsewhere.test:issuers:bc-registries",  # another host than the schema's
        "did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK",
    ],
)
def test_a_schema_elsewhere_is_not_applied(issuer: Issuer, did: str) -> None:
    cred = make_credential(
        CredentialType.LEGAL_NAME,
        issuer,
        subject={"legalName": "", "effectiveDate": "2024-02-01"},
        schema_base="https://registry.test/schemas",
    )
    cred["issuer"] = did
    check = check_schema(cred)
    assert check.outcome == "pass"
    assert "is not one orgbook holds" in check.reason


# --- what each check tells its reader (issue 20: mutation testing of credential.py) -----------


def test_the_schema_check_says_which_schema_it_applied_or_why_none(
    issuer: Issuer, cred: dict[str, Any]
) -> None:
    legal_name = "https://orgbook.example/schemas/credentials/legal-name/1.0.json"
    applied = check_schema(cred)
    assert (applied.outcome, applied.reason) == (
        "pass",
        f"conforms to the VC 2.0 data model and {legal_name}",
    )
    unknown = cred | {"credentialSchema": {"id": "https://x.example/s.json", "type": "JsonSchema"}}
    assert check_schema(unknown).reason == (
        "conforms to the VC 2.0 data model; schema https://x.example/s.json is not one orgbook "
        "holds, so it was not applied"
    )
    bare = {k: v for k, v in cred.items() if k != "credentialSchema"}
    assert check_schema(bare).reason == "conforms to the VC 2.0 data model (no credentialSchema)"


def test_a_schema_failure_counts_the_other_problems_and_lists_them_all(issuer: Issuer) -> None:
    legal_name = "https://orgbook.example/schemas/credentials/legal-name/1.0.json"
    one = make_credential(
        CredentialType.LEGAL_NAME,
        issuer,
        subject={"legalName": "", "effectiveDate": "2024-02-01"},
    )
    check = check_schema(one)
    assert (check.outcome, check.reason) == (
        "fail",
        f"does not match schema {legal_name}: /credentialSubject/legalName: '' should be non-empty",
    )
    assert check.details == {
        "problems": [{"path": "/credentialSubject/legalName", "message": "'' should be non-empty"}]
    }
    two = make_credential(
        CredentialType.LEGAL_NAME,
        issuer,
        subject={"legalName": "", "effectiveDate": "2024-02-30"},
    )
    assert check_schema(two).reason == (
        f"does not match schema {legal_name}: "
        "/credentialSubject/effectiveDate: '2024-02-30' is not a 'date' (and 1 more)"
    )


def test_a_document_that_is_not_a_credential_fails_the_schema_with_every_problem() -> None:
    check = check_schema(
        {"@context": ["https://www.w3.org/ns/credentials/v2"], "type": ["VerifiableCredential"]}
    )
    assert check.outcome == "fail"
    problems = check.details["problems"]
    assert len(problems) >= 2
    assert check.reason == (
        f"not a conforming VC 2.0 credential: {problems[0]['path']}: {problems[0]['message']} "
        f"(and {len(problems) - 1} more)"
    )
    assert all(set(p) == {"path", "message"} for p in problems)


def test_the_signature_check_reports_each_proof(issuer: Issuer, cred: dict[str, Any]) -> None:
    check = check_signature(cred, resolver=issuer.resolver, now=NOW)
    assert (check.outcome, check.reason) == (
        "pass",
        f"proof verifies (eddsa-jcs-2022, {issuer.vm})",
    )
    assert check.details == {
        "proofs": [
            {
                "ok": True,
                "reason": "verified",
                "verificationMethod": issuer.vm,
                "created": ISSUED,
                "proofPurpose": "assertionMethod",
            }
        ]
    }


def test_two_proofs_are_counted_and_a_failing_one_is_named_by_its_place(
    issuer: Issuer, cred: dict[str, Any]
) -> None:
    stranger = make_issuer("key", label="stranger")
    unsigned = {k: v for k, v in cred.items() if k != "proof"}
    first = add_proof(unsigned, stranger.signer, verification_method=stranger.vm, created=ISSUED)
    both = add_proof(first, issuer.signer, verification_method=issuer.vm, created=ISSUED)
    check = check_signature(both, resolver=issuer.resolver, now=NOW)
    methods = ", ".join(sorted([issuer.vm, stranger.vm]))
    assert (check.outcome, check.reason) == ("pass", f"2 proofs verify (eddsa-jcs-2022, {methods})")
    assert [p["verificationMethod"] for p in check.details["proofs"]] == [stranger.vm, issuer.vm]
    twice = add_proof(cred, issuer.signer, verification_method=issuer.vm, created=ISSUED)
    assert check_signature(twice, resolver=issuer.resolver, now=NOW).reason == (
        f"2 proofs verify (eddsa-jcs-2022, {issuer.vm})"
    )
    for index in (0, 1):
        broken = copy.deepcopy(both)
        broken["proof"][index]["created"] = "2025-06-01T09:30:01Z"
        check = check_signature(broken, resolver=issuer.resolver, now=NOW)
        assert (check.outcome, check.reason) == (
            "fail",
            f"proof {index}: signature does not verify",
        )
        assert [p["ok"] for p in check.details["proofs"]] == [index != 0, index != 1]
    alone = copy.deepcopy(cred)
    alone["proof"]["created"] = "2025-06-01T09:30:01Z"
    assert check_signature(alone, resolver=issuer.resolver, now=NOW).reason == (
        "signature does not verify"
    )


STAMP_NOW = "2026-11-23T12:00:00Z"


@pytest.mark.parametrize(
    ("credential", "outcome", "reason"),
    [
        ({}, "pass", "no validity period stated"),
        (
            {"validUntil": "2030-01-01T00:00:00Z"},
            "pass",
            f"valid until 2030-01-01T00:00:00Z (now {STAMP_NOW})",
        ),
        (
            {"validFrom": "2020-01-01T00:00:00Z", "validUntil": "2030-01-01T00:00:00Z"},
            "pass",
            f"valid from 2020-01-01T00:00:00Z until 2030-01-01T00:00:00Z (now {STAMP_NOW})",
        ),
        (
            {"validFrom": "2020-01-01T00:00:00Z", "validUntil": "2021-01-01T00:00:00Z"},
            "fail",
            f"expired at 2021-01-01T00:00:00Z (now {STAMP_NOW})",
        ),
        (
            {"validFrom": "2030-01-01T00:00:00Z", "validUntil": "2031-01-01T00:00:00Z"},
            "fail",
            f"not valid before 2030-01-01T00:00:00Z (now {STAMP_NOW})",
        ),
    ],
    ids=["none", "until", "from-until", "expired", "not-yet"],
)
def test_the_validity_period_check_states_the_period_and_the_time(
    credential: dict[str, Any], outcome: str, reason: str
) -> None:
    check = check_validity_period(credential, now=NOW)
    assert (check.outcome, check.reason) == (outcome, reason)
    assert check.details == {
        "validFrom": credential.get("validFrom"),
        "validUntil": credential.get("validUntil"),
        "now": STAMP_NOW,
    }


@pytest.mark.parametrize(
    ("credential", "reason"),
    [
        (None, "credential is not a JSON object"),
        (["validFrom"], "credential is not a JSON object"),
        ({"validFrom": 20240101}, "validFrom 20240101 is not a date-time"),
        ({"validUntil": None}, "validUntil None is not a date-time"),
        (
            {"validFrom": "2020-01-01T00:00:00Z", "validUntil": "soon"},
            "validUntil 'soon' is not a date-time",
        ),
    ],
)
def test_a_validity_period_that_cannot_be_read_fails(credential: Any, reason: str) -> None:
    check = check_validity_period(credential, now=NOW)
    assert (check.outcome, check.reason) == ("fail", reason)


def test_now_must_carry_an_offset() -> None:
    class NoOffset(tzinfo):
        def utcoffset(self, dt: datetime | None) -> timedelta | None:
            return None

    for now in (datetime(2026, 1, 1, tzinfo=NoOffset()), "2026-01-01T00:00:00Z", None):
        with pytest.raises(BadInput) as caught:
            verify_credential({}, resolver=LocalResolver(), now=now)  # type: ignore[arg-type]
        assert caught.value.detail == "now must be a timezone-aware datetime"


def test_the_checks_run_in_order_with_the_callers_schema_base(issuer: Issuer) -> None:
    base = "https://schemas.registry.test/v1"
    cred = make_credential(
        CredentialType.LEGAL_NAME,
        issuer,
        index=11,
        subject={"legalName": "", "effectiveDate": "2024-02-01"},
        schema_base=base,
    )
    report = verify(issuer, cred)
    assert [c.name for c in report.checks] == list(CHECK_NAMES)
    assert report.check("schema").outcome == "pass"  # type: ignore[union-attr]
    assert "is not one orgbook holds" in report.check("schema").reason  # type: ignore[union-attr]
    applied = verify(issuer, cred, schema_base=base)
    assert failed(applied)["schema"].endswith(
        "/credentialSubject/legalName: '' should be non-empty"
    )


@pytest.mark.parametrize(
    ("issuer_value", "bases"),
    [
        (
            "did:web:registry.test:issuers:bc-registries",
            ("https://registry.test/schemas", "http://registry.test/schemas"),
        ),
        (
            {"id": "did:web:gov.example:orgbook:issuers:ns", "name": "NS"},
            ("https://gov.example/orgbook/schemas", "http://gov.example/orgbook/schemas"),
        ),
        (  # a registry whose own path holds "issuers": the last /issuers/ names the issuer
            "did:web:gov.example:issuers:orgbook:issuers:ns",
            (
                "https://gov.example/issuers/orgbook/schemas",
                "http://gov.example/issuers/orgbook/schemas",
            ),
        ),
        ("did:web:registry.test", ()),
        ("did:web:registry.test:registers:bc", ()),
        ("did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK", ()),
        ("https://registry.test/issuers/x", ()),
        ({"name": "no id"}, ()),
        ({"id": 7}, ()),
        (None, ()),
    ],
    ids=lambda v: str(v)[:40],
)
def test_registry_schema_bases(issuer_value: Any, bases: tuple[str, ...]) -> None:
    assert registry_schema_bases(issuer_value) == bases


def test_a_validity_date_nested_too_deeply_is_reported_by_its_check(
    issuer: Issuer, cred: dict[str, Any]
) -> None:
    deep: Any = "2020-01-01T00:00:00Z"
    for _ in range(100_000):
        deep = [deep]
    assert failed(verify(issuer, cred | {"validFrom": deep}))["validity_period"] == (
        "credential is nested too deeply"
    )


def test_every_schema_applied_is_named(cred: dict[str, Any]) -> None:
    # The common envelope's schema is the one orgbook holds that allows a list of schemas.
    common = "https://orgbook.example/schemas/credentials/common/1.0.json"
    listed = [{"id": common, "type": "JsonSchema"}, {"id": common, "type": "JsonSchema"}]
    check = check_schema(cred | {"credentialSchema": listed})
    assert (check.outcome, check.reason) == (
        "pass",
        f"conforms to the VC 2.0 data model and {common}, {common}",
    )
