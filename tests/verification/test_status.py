"""The ``status`` check: Bitstring Status List entries against signed, tampered and re-signed
lists (:func:`check_status_entries`), and what ``verify_credential`` reports of them."""

from __future__ import annotations

import gzip
from datetime import timedelta
from typing import Any

import pytest

from orgbook.core.credentials import CredentialType
from orgbook.core.crypto import Ed25519Signer
from orgbook.core.dataintegrity import add_proof, unsecured
from orgbook.core.errors import NotFound
from orgbook.core.statuslist import (
    MIN_ENTRIES,
    StatusList,
)
from orgbook.verification import status
from orgbook.verification.keys import key_resolver
from orgbook.verification.report import Check
from orgbook.verification.status import check_status, check_status_entries
from tests.core.test_credentials import (
    NOW,
    Issuer,
    make_credential,
    make_issuer,
)
from tests.core.test_statuslist import multibase_u
from tests.verification.support import failed, verify

# --- check_status_entries -------------------------------------------------------------------------


def _check(issuer: Issuer, cred: Any, **kwargs: Any) -> list[Any]:
    return check_status_entries(
        cred,
        fetch_list=kwargs.get("fetch_list", issuer.fetch),
        resolve_key=key_resolver(kwargs.get("resolver", issuer.resolver)),
        now=kwargs.get("now", NOW),
    )


def test_clear_bits_read_as_not_revoked_not_suspended() -> None:
    issuer = make_issuer()
    results = _check(issuer, make_credential(CredentialType.STATUS, issuer, index=7))
    assert [(r.purpose, r.index, r.set, r.ok) for r in results] == [
        ("revocation", 7, False, True),
        ("suspension", 7, False, True),
    ]
    assert results[0].reason.startswith("not revoked")
    assert results[1].reason.startswith("not suspended")


@pytest.mark.parametrize("purpose", ["revocation", "suspension"])
def test_set_bit_reads_as_revoked_or_suspended(purpose: str) -> None:
    issuer = make_issuer()
    cred = make_credential(CredentialType.STATUS, issuer, index=7)
    issuer.bits[purpose].set(7, 1)
    issuer.publish(purpose)
    by_purpose = {r.purpose: r for r in _check(issuer, cred)}
    assert by_purpose[purpose].set is True
    assert by_purpose[purpose].ok is True
    assert by_purpose[purpose].reason.startswith(
        "revoked" if purpose == "revocation" else "suspended"
    )
    other = "suspension" if purpose == "revocation" else "revocation"
    assert by_purpose[other].set is False
    # Neighbouring entries are untouched.
    assert all(
        r.set is False
        for r in _check(issuer, make_credential(CredentialType.STATUS, issuer, index=6))
    )


def test_list_resigned_by_another_key_of_another_did_is_refused() -> None:
    issuer = make_issuer()
    cred = make_credential(CredentialType.STATUS, issuer, index=7)
    mallory = make_issuer("key", label="mallory")
    issuer.publish("revocation", signer=mallory.signer, vm=mallory.vm)
    result = _check(issuer, cred)[0]
    assert result.ok is False
    assert result.set is None
    assert result.reason == f"status list is signed by {mallory.did!r}, not by its issuer"


def test_list_reissued_under_another_issuer_is_refused() -> None:
    issuer = make_issuer()
    cred = make_credential(CredentialType.STATUS, issuer, index=7)
    mallory = make_issuer("key", label="mallory")
    issuer.publish("revocation", signer=mallory.signer, vm=mallory.vm, issuer=mallory.did)
    result = _check(issuer, cred)[0]
    assert not result.ok
    assert "is not the credential's issuer" in result.reason


def test_tampered_encoded_list_fails_the_list_signature() -> None:
    issuer = make_issuer()
    cred = make_credential(CredentialType.STATUS, issuer, index=7)
    url = issuer.list_url("revocation")
    flipped = StatusList()
    flipped.set(7, 1)
    issuer.lists[url]["credentialSubject"]["encodedList"] = flipped.encode()
    result = _check(issuer, cred)[0]
    assert not result.ok
    assert result.reason == "status list signature does not verify: signature does not verify"


def test_unsigned_list_is_refused() -> None:
    issuer = make_issuer()
    cred = make_credential(CredentialType.STATUS, issuer)
    del issuer.lists[issuer.list_url("revocation")]["proof"]
    assert (
        _check(issuer, cred)[0].reason
        == "status list signature does not verify: document has no proof"
    )


def test_purpose_mismatch_is_refused() -> None:
    issuer = make_issuer()
    entries = [{**issuer.entries(3)[0], "statusListCredential": issuer.list_url("suspension")}]
    cred = make_credential(CredentialType.STATUS, issuer, status_entries=entries)
    result = _check(issuer, cred)[0]
    assert not result.ok
    assert result.reason == "status list purpose 'suspension' is not the entry's 'revocation'"


def test_index_beyond_the_list_is_an_error_not_a_clear_bit() -> None:
    issuer = make_issuer()
    cred = make_credential(CredentialType.STATUS, issuer, index=MIN_ENTRIES)
    result = _check(issuer, cred)[0]
    assert not result.ok
    assert result.reason == f"statusListIndex {MIN_ENTRIES} is beyond the list's {MIN_ENTRIES}"


def _resign(issuer: Issuer, purpose: str, **changes: Any) -> None:
    url = issuer.list_url(purpose)
    changed = unsecured(issuer.lists[url]) | changes
    issuer.lists[url] = add_proof(
        changed, issuer.signer, verification_method=issuer.vm, created="2025-06-01T00:00:00Z"
    )


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        (
            {"validFrom": "2027-01-01T00:00:00Z"},
            "status list is not valid before 2027-01-01T00:00:00Z",
        ),
        ({"validUntil": "2026-01-01T00:00:00Z"}, "status list expired at 2026-01-01T00:00:00Z"),
        ({"validFrom": "soon"}, "status list validFrom is not a date-time"),
        ({"validUntil": "later"}, "status list validUntil is not a date-time"),
        ({"type": ["VerifiableCredential"]}, "is not a BitstringStatusListCredential"),
    ],
)
def test_list_validity_and_type_are_checked(changes: dict[str, Any], reason: str) -> None:
    issuer = make_issuer()
    cred = make_credential(CredentialType.STATUS, issuer)
    _resign(issuer, "revocation", **changes)
    result = _check(issuer, cred)[0]
    assert not result.ok
    assert result.reason.endswith(reason)


def test_list_subject_is_checked() -> None:
    issuer = make_issuer()
    cred = make_credential(CredentialType.STATUS, issuer)
    url = issuer.list_url("revocation")
    subject = issuer.lists[url]["credentialSubject"]
    _resign(issuer, "revocation", credentialSubject=subject | {"type": "Other"})
    assert _check(issuer, cred)[0].reason == (
        "status list credentialSubject is not a BitstringStatusList"
    )
    _resign(issuer, "revocation", credentialSubject=subject | {"encodedList": "u" + "A" * 8})
    assert _check(issuer, cred)[0].reason.startswith(
        "status list encodedList: encodedList is not GZIP"
    )
    missing = {k: v for k, v in subject.items() if k != "encodedList"}
    _resign(issuer, "revocation", credentialSubject=missing)
    assert _check(issuer, cred)[0].reason == "status list encodedList is missing"
    short = multibase_u(gzip.compress(bytes(10)))
    _resign(issuer, "revocation", credentialSubject=subject | {"encodedList": short})
    assert "fewer than the minimum" in _check(issuer, cred)[0].reason


def test_fetch_failures_are_reported() -> None:
    issuer = make_issuer()
    cred = make_credential(CredentialType.STATUS, issuer)

    def not_found(url: str) -> Any:
        raise NotFound(f"nothing at {url}")

    def broken(url: str) -> Any:
        raise ConnectionError("boom")

    url = issuer.list_url("revocation")
    assert _check(issuer, cred, fetch_list=not_found)[0].reason == (
        f"status list {url} could not be fetched: nothing at {url}"
    )
    assert _check(issuer, cred, fetch_list=broken)[0].reason == (
        f"status list {url} could not be fetched: ConnectionError"
    )
    assert _check(issuer, cred, fetch_list=lambda u: ["x"])[0].reason == (
        f"status list {url} is not a JSON object"
    )
    other = issuer.fetch(issuer.list_url("suspension"))
    assert _check(issuer, cred, fetch_list=lambda u: other)[0].reason == (
        f"status list fetched from {url} has id {issuer.list_url('suspension')!r}"
    )


@pytest.mark.parametrize(
    ("entry", "reason"),
    [
        ("x", "credentialStatus entry is not a JSON object"),
        (
            {"type": "StatusList2021Entry"},
            "unsupported credentialStatus type 'StatusList2021Entry'",
        ),
        ({"type": "BitstringStatusListEntry"}, "statusPurpose is missing"),
        ({"statusListIndex": 7}, "statusListIndex is not a base-10 integer string"),
        ({"statusListIndex": "-1"}, "statusListIndex is not a base-10 integer string"),
        ({"statusListIndex": "٣"}, "statusListIndex is not a base-10 integer string"),
        ({"statusListIndex": "9" * 40}, "statusListIndex is out of range"),
        ({"statusListCredential": "nope"}, "statusListCredential is not a URL"),
        ({"statusSize": 0}, "statusSize is not an integer from 1 to 8"),
    ],
)
def test_malformed_entries_are_reported(entry: Any, reason: str) -> None:
    issuer = make_issuer()
    good = issuer.entries(3)[0]
    if isinstance(entry, dict) and "type" not in entry:
        entry = {**good, **entry}
    cred = make_credential(CredentialType.STATUS, issuer) | {"credentialStatus": entry}
    [result] = _check(issuer, cred)
    assert not result.ok
    assert result.set is None
    assert result.reason == reason


def test_other_purposes_are_not_checked_and_no_status_is_empty() -> None:
    issuer = make_issuer()
    refresh = {**issuer.entries(3)[0], "statusPurpose": "refresh"}
    cred = make_credential(CredentialType.STATUS, issuer) | {"credentialStatus": [refresh]}
    [result] = _check(issuer, cred)
    assert result.ok
    assert result.set is None
    assert result.reason == "statusPurpose 'refresh' is not checked"
    assert _check(issuer, {"issuer": issuer.did}) == []
    assert _check(issuer, "not a credential") == []


TICK = timedelta(microseconds=1)


def _list_valid(issuer: Issuer, *, valid_from: str, valid_until: str) -> Any:
    _resign(issuer, "revocation", validFrom=valid_from, validUntil=valid_until)
    return make_credential(CredentialType.STATUS, issuer, index=5)


@pytest.mark.parametrize("remembered", [False, True], ids=["fresh", "remembered"])
def test_a_status_list_at_its_valid_until_is_expired(remembered: bool) -> None:
    issuer = make_issuer()
    cred = _list_valid(
        issuer, valid_from="2026-01-01T00:00:00Z", valid_until="2026-11-23T12:00:00Z"
    )
    status._VERIFIED.clear()
    if remembered:  # verified a moment before, so the process's memory answers at the boundary
        assert _check(issuer, cred, now=NOW - timedelta(seconds=1))[0].ok
    else:
        assert _check(issuer, cred, now=NOW - TICK)[0].ok
        status._VERIFIED.clear()
    result = _check(issuer, cred, now=NOW)[0]
    assert not result.ok
    assert result.reason == "status list expired at 2026-11-23T12:00:00Z"
    status._VERIFIED.clear()


@pytest.mark.parametrize("remembered", [False, True], ids=["fresh", "remembered"])
def test_a_status_list_is_valid_from_its_valid_from_on(remembered: bool) -> None:
    issuer = make_issuer()
    cred = _list_valid(
        issuer, valid_from="2026-11-23T12:00:00Z", valid_until="2027-01-01T00:00:00Z"
    )
    status._VERIFIED.clear()
    if remembered:  # verified later, then asked again just before validFrom
        assert _check(issuer, cred, now=NOW + timedelta(seconds=1))[0].ok
    result = _check(issuer, cred, now=NOW - TICK)[0]
    assert not result.ok
    assert result.reason == "status list is not valid before 2026-11-23T12:00:00Z"
    status._VERIFIED.clear()
    assert _check(issuer, cred, now=NOW)[0].ok
    status._VERIFIED.clear()


def test_a_remembered_status_list_is_valid_at_its_valid_from() -> None:
    issuer = make_issuer()
    cred = _list_valid(
        issuer, valid_from="2026-11-23T12:00:00Z", valid_until="2027-01-01T00:00:00Z"
    )
    status._VERIFIED.clear()
    assert _check(issuer, cred, now=NOW + timedelta(seconds=1))[0].ok  # now remembered
    assert _check(issuer, cred, now=NOW)[0].ok  # validFrom <= now, from memory too
    status._VERIFIED.clear()


def test_a_status_list_signed_for_another_purpose_than_assertion_is_refused() -> None:
    issuer = make_issuer()
    cred = make_credential(CredentialType.STATUS, issuer, index=5)
    url = issuer.list_url("revocation")
    issuer.lists[url] = add_proof(
        unsecured(issuer.lists[url]),
        issuer.signer,
        verification_method=issuer.vm,
        created="2025-06-01T00:00:00Z",
        proof_purpose="authentication",
    )
    status._VERIFIED.clear()
    result = _check(issuer, cred)[0]
    assert not result.ok
    assert result.reason == (
        "status list signature does not verify: proofPurpose 'authentication' is not the "
        "expected 'assertionMethod'"
    )
    status._VERIFIED.clear()


def test_a_remembered_status_list_is_not_used_past_its_proofs_expiry() -> None:
    issuer = make_issuer()
    cred = make_credential(CredentialType.STATUS, issuer, index=5)
    url = issuer.list_url("revocation")
    issuer.lists[url] = add_proof(
        unsecured(issuer.lists[url]),
        issuer.signer,
        verification_method=issuer.vm,
        created="2025-06-01T00:00:00Z",
        expires="2026-11-23T12:00:00Z",
    )
    status._VERIFIED.clear()
    assert _check(issuer, cred, now=NOW - timedelta(seconds=1))[0].ok  # now remembered
    result = _check(issuer, cred, now=NOW)[0]
    assert not result.ok
    assert result.reason == (
        "status list signature does not verify: proof expired at 2026-11-23T12:00:00Z"
    )
    status._VERIFIED.clear()


# --- the status check of verify_credential --------------------------------------------------------


def test_status_skips_without_a_source_or_entries(issuer: Issuer, cred: dict[str, Any]) -> None:
    report = verify(issuer, cred, status_lists=None)
    assert report.check("status") == Check(
        "status", "skip", "no status list source given; status not checked"
    )
    assert report.valid
    bare = make_credential(CredentialType.LEGAL_NAME, issuer, status_entries=())
    assert verify(issuer, bare).check("status").reason == "credential has no credentialStatus"  # type: ignore[union-attr]


def test_revoked_and_suspended(cred: dict[str, Any]) -> None:
    issuer = make_issuer()
    cred = make_credential(CredentialType.LEGAL_NAME, issuer, index=11)
    issuer.bits["suspension"].set(11, 1)
    issuer.publish("suspension")
    url = issuer.list_url("suspension")
    assert failed(verify(issuer, cred)) == {"status": f"suspended (index 11 of {url})"}
    issuer.bits["revocation"].set(11, 1)
    issuer.publish("revocation")
    url = issuer.list_url("revocation")
    assert failed(verify(issuer, cred)) == {"status": f"revoked (index 11 of {url})"}


def test_status_list_tampering_fails_status_only() -> None:
    issuer = make_issuer()
    cred = make_credential(CredentialType.LEGAL_NAME, issuer, index=11)
    url = issuer.list_url("revocation")
    revoked = StatusList()
    revoked.set(11, 1)
    issuer.lists[url]["credentialSubject"]["encodedList"] = revoked.encode()
    assert failed(verify(issuer, cred)) == {
        "status": "revocation: status list signature does not verify: signature does not verify"
    }
    mallory = Ed25519Signer.from_seed(bytes(32))
    issuer.publish("revocation", signer=mallory)  # issuer's method id, the wrong key
    assert failed(verify(issuer, cred)) == {
        "status": "revocation: status list signature does not verify: signature does not verify"
    }


def _status_check(issuer: Issuer, cred: Any) -> Check:
    return check_status(cred, status_lists=issuer.fetch, resolver=issuer.resolver, now=NOW)


def test_the_status_check_reports_every_entry_in_its_details() -> None:
    issuer = make_issuer()
    cred = make_credential(CredentialType.STATUS, issuer, index=7)
    check = _status_check(issuer, cred)
    revocation, suspension = (issuer.list_url(p) for p in ("revocation", "suspension"))
    entries = check.details["entries"]
    assert [dict(e) for e in entries] == [
        {
            "statusPurpose": "revocation",
            "statusListIndex": 7,
            "statusListCredential": revocation,
            "set": False,
            "ok": True,
            "reason": entries[0]["reason"],
        },
        {
            "statusPurpose": "suspension",
            "statusListIndex": 7,
            "statusListCredential": suspension,
            "set": False,
            "ok": True,
            "reason": entries[1]["reason"],
        },
    ]
    assert check.outcome == "pass"
    assert check.reason == f"{entries[0]['reason']}; {entries[1]['reason']}"


def test_the_status_check_fails_on_an_empty_or_malformed_status() -> None:
    issuer = make_issuer()
    cred = make_credential(CredentialType.STATUS, issuer)
    empty = _status_check(issuer, cred | {"credentialStatus": []})
    assert (empty.outcome, empty.reason) == ("fail", "credentialStatus is empty")
    assert empty.details == {"entries": []}
    broken = _status_check(issuer, cred | {"credentialStatus": "x"})
    assert (broken.outcome, broken.reason) == (
        "fail",
        "status: credentialStatus entry is not a JSON object",
    )
    assert broken.details["entries"][0]["ok"] is False
    issuer.bits["revocation"].set(0, 1)
    issuer.publish("revocation")
    status._VERIFIED.clear()
    revoked = _status_check(issuer, make_credential(CredentialType.STATUS, issuer, index=0))
    assert revoked.outcome == "fail"
    assert revoked.reason.startswith("revoked")
    assert revoked.details["entries"][0]["set"] is True
    status._VERIFIED.clear()


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"statusSize": 9}, "statusSize is not an integer from 1 to 8"),
        ({"statusSize": True}, "statusSize is not an integer from 1 to 8"),
        ({"statusListIndex": "1" * 13}, "statusListIndex is out of range"),
    ],
)
def test_entry_field_limits(changes: dict[str, Any], reason: str) -> None:
    issuer = make_issuer()
    entry = {**issuer.entries(3)[0], **changes}
    cred = make_credential(CredentialType.STATUS, issuer) | {"credentialStatus": entry}
    [result] = _check(issuer, cred)
    assert (result.ok, result.reason) == (False, reason)


def test_an_entry_at_the_field_limits_is_read() -> None:
    # Twelve digits and a status size of 8 are within the limits: the list decides from there.
    issuer = make_issuer()
    for changes in ({"statusListIndex": "0" * 11 + "3"}, {"statusSize": 8}):
        entry = {**issuer.entries(3)[0], **changes}
        cred = make_credential(CredentialType.STATUS, issuer) | {"credentialStatus": entry}
        [result] = _check(issuer, cred)
        assert result.reason not in (
            "statusListIndex is out of range",
            "statusSize is not an integer from 1 to 8",
        ), changes
        assert result.index == 3 or changes.get("statusSize") == 8


def test_each_entrys_fields_are_reported_as_far_as_they_were_read() -> None:
    issuer = make_issuer()
    cred = make_credential(CredentialType.STATUS, issuer)
    broken = _status_check(issuer, cred | {"credentialStatus": "x"})
    assert [dict(e) for e in broken.details["entries"]] == [
        {
            "statusPurpose": None,
            "statusListIndex": None,
            "statusListCredential": None,
            "set": None,
            "ok": False,
            "reason": "credentialStatus entry is not a JSON object",
        }
    ]
    good = issuer.entries(3)[0]
    refresh = {**good, "statusPurpose": "refresh"}
    [other] = _check(issuer, cred | {"credentialStatus": [refresh]})
    assert (other.purpose, other.index, other.list_credential, other.set, other.ok) == (
        "refresh",
        3,
        good["statusListCredential"],
        None,
        True,
    )

    def unreachable(url: str) -> Any:
        raise NotFound("gone")

    [failed_fetch] = _check(issuer, cred | {"credentialStatus": [good]}, fetch_list=unreachable)
    assert (failed_fetch.purpose, failed_fetch.index, failed_fetch.list_credential) == (
        good["statusPurpose"],
        3,
        good["statusListCredential"],
    )
    assert (failed_fetch.set, failed_fetch.ok) == (None, False)


def test_a_multi_bit_status_entry_is_read_at_its_own_size() -> None:
    # statusSize 2: entry 5 is bits 10-11 of the list, not bit 5.
    issuer = make_issuer()
    issuer.bits["revocation"] = StatusList(status_size=2)
    issuer.bits["revocation"].set(5, 2)
    issuer.publish("revocation")
    status._VERIFIED.clear()
    entry = {**issuer.entries(5)[0], "statusSize": 2}
    cred = make_credential(CredentialType.STATUS, issuer) | {"credentialStatus": [entry]}
    [result] = _check(issuer, cred)
    assert (result.purpose, result.index, result.ok, result.set) == ("revocation", 5, True, True)
    status._VERIFIED.clear()
