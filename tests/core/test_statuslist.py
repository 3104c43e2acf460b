"""W3C Bitstring Status List v1.0: the bitstring, its encoding, entries, list credentials and
``check_status`` against signed, tampered and re-signed lists."""

from __future__ import annotations

import base64
import gzip
from datetime import timedelta
from typing import Any

import pytest

from orgbook import statuslist
from orgbook.credentials import CredentialType
from orgbook.dataintegrity import add_proof, unsecured
from orgbook.errors import BadInput, NotFound
from orgbook.schemas import validate_data_model
from orgbook.statuslist import (
    MIN_ENTRIES,
    StatusList,
    build_status_list_credential,
    check_status,
    status_entry,
)
from orgbook.verify import key_resolver
from tests.core.test_credentials import NOW, Issuer, make_credential, make_issuer

# The example encodedList of Bitstring Status List v1.0 (an empty list of 131,072 entries).
SPEC_EXAMPLE = "uH4sIAAAAAAAAA-3BMQEAAADCoPVPbQwfoAAAAAAAAAAAAAAAAAAAAIC3AYbSVKsAQAAA"


def _u(data: bytes) -> str:
    return "u" + base64.urlsafe_b64encode(data).rstrip(b"=").decode()


# --- the bitstring ------------------------------------------------------------------------------


def test_new_list_is_empty_and_at_least_16kib() -> None:
    sl = StatusList()
    assert len(sl) == MIN_ENTRIES == 131_072
    assert sl.to_bytes() == bytes(16_384)
    assert all(sl.get(i) == 0 for i in (0, 1, 4095, MIN_ENTRIES - 1))


def test_index_zero_is_the_left_most_bit() -> None:
    sl = StatusList()
    sl.set(0, True)
    sl.set(7, 1)
    sl.set(9, 1)
    raw = sl.to_bytes()
    assert raw[0] == 0b1000_0001
    assert raw[1] == 0b0100_0000
    assert (sl.get(0), sl.get(1), sl.get(7), sl.get(8), sl.get(9)) == (1, 0, 1, 0, 1)
    sl.set(7, False)
    assert raw[0] != sl.to_bytes()[0]
    assert sl.get(7) == 0


def test_multi_bit_statuses() -> None:
    sl = StatusList(status_size=2)
    sl.set(0, 3)
    sl.set(1, 2)
    assert sl.to_bytes()[0] == 0b1110_0000
    assert (sl.get(0), sl.get(1), sl.get(2)) == (3, 2, 0)
    with pytest.raises(BadInput):
        sl.set(2, 4)


@pytest.mark.parametrize("index", [-1, MIN_ENTRIES, True, "3", 1.0])
def test_index_out_of_range(index: Any) -> None:
    with pytest.raises(BadInput):
        StatusList().get(index)


@pytest.mark.parametrize(
    ("size", "status_size"), [(MIN_ENTRIES - 1, 1), (MIN_ENTRIES, 0), (MIN_ENTRIES, 9)]
)
def test_too_small_or_odd_lists_are_refused(size: int, status_size: int) -> None:
    with pytest.raises(BadInput):
        StatusList(size, status_size)


def test_encode_round_trip_and_determinism() -> None:
    sl = StatusList()
    for i in (0, 5, 1000, MIN_ENTRIES - 1):
        sl.set(i, 1)
    encoded = sl.encode()
    assert encoded.startswith("u")
    assert "=" not in encoded
    assert encoded == sl.encode()  # no timestamp in the GZIP header
    back = StatusList.decode(encoded)
    assert back == sl
    assert [i for i in range(MIN_ENTRIES) if back.get(i)] == [0, 5, 1000, MIN_ENTRIES - 1]


def test_from_bytes_is_the_list_whose_bits_those_are() -> None:
    sl = StatusList()
    for i in (0, 7, 8, 4097, MIN_ENTRIES - 1):
        sl.set(i, 1)
    raw = sl.to_bytes()
    back = StatusList.from_bytes(raw)
    assert back == sl
    assert back.encode() == sl.encode()
    back.set(3, 1)  # a copy: the caller's bytes and the original list are untouched
    assert sl.get(3) == 0
    assert raw == sl.to_bytes()
    two_bit = StatusList.from_bytes(raw, status_size=2)
    assert len(two_bit) == len(sl) // 2
    with pytest.raises(BadInput):
        StatusList.from_bytes(raw, status_size=9)


def test_decodes_the_spec_example() -> None:
    sl = StatusList.decode(SPEC_EXAMPLE)
    assert len(sl) == MIN_ENTRIES
    assert sl.to_bytes() == bytes(16_384)


def test_decodes_lists_from_other_gzip_writers() -> None:
    raw = bytearray(20_000)
    raw[0] = 0x80
    encoded = _u(gzip.compress(bytes(raw), compresslevel=1, mtime=1_700_000_000))
    sl = StatusList.decode(encoded)
    assert len(sl) == 160_000
    assert sl.get(0) == 1


@pytest.mark.parametrize(
    ("encoded", "reason"),
    [
        (None, "not a string"),
        ("", "multibase"),
        ("z" + "1" * 10, "base64url"),
        ("u!!!", "base64url"),
        ("uAAA=", "'='"),
        (_u(b"not gzip at all"), "not GZIP"),
        (_u(gzip.compress(bytes(16_384), mtime=0)[:-9]), "truncated"),
        (_u(gzip.compress(bytes(16_384), mtime=0) + b"junk"), "after the GZIP member"),
        (_u(gzip.compress(bytes(100), mtime=0)), "fewer than the minimum"),
        (_u(b"\x1f\x8b" + bytes(30)), "not GZIP"),
    ],
)
def test_bad_encodings_are_bad_input(encoded: Any, reason: str) -> None:
    with pytest.raises(BadInput) as err:
        StatusList.decode(encoded)
    assert reason in err.value.detail


def test_gzip_bomb_is_capped() -> None:
    bomb = gzip.compress(bytes(4 * 1024 * 1024))  # 4 MiB of zeros in ~4 KiB
    assert len(bomb) < 10_000
    with pytest.raises(BadInput) as err:
        StatusList.decode(_u(bomb), max_bytes=1024 * 1024)
    assert "more than" in err.value.detail
    assert len(StatusList.decode(_u(bomb))) == 4 * 1024 * 1024 * 8  # under the default cap


# --- entries and list credentials ---------------------------------------------------------------


def test_status_entry_shape() -> None:
    url = "https://registry.example/status/revocation/1"
    assert status_entry(url, 94567, "revocation") == {
        "id": f"{url}#94567",
        "type": "BitstringStatusListEntry",
        "statusPurpose": "revocation",
        "statusListIndex": "94567",
        "statusListCredential": url,
    }


@pytest.mark.parametrize(
    ("url", "index", "purpose"),
    [
        ("not a url", 1, "revocation"),
        ("https://x.example/l", -1, "revocation"),
        ("https://x.example/l", 1, "refresh"),
        ("https://x.example/l", True, "suspension"),
    ],
)
def test_status_entry_rejects(url: str, index: Any, purpose: Any) -> None:
    with pytest.raises(BadInput):
        status_entry(url, index, purpose)


def test_status_list_credential_shape() -> None:
    sl = StatusList()
    cred = build_status_list_credential(
        list_id="https://registry.example/status/suspension/1",
        issuer="did:web:registry.example",
        purpose="suspension",
        status_list=sl,
        valid_from="2025-01-01T00:00:00Z",
        valid_until="2026-01-01T00:00:00Z",
    )
    assert cred["type"] == ["VerifiableCredential", "BitstringStatusListCredential"]
    assert cred["validUntil"] == "2026-01-01T00:00:00Z"
    assert cred["credentialSubject"] == {
        "id": "https://registry.example/status/suspension/1#list",
        "type": "BitstringStatusList",
        "statusPurpose": "suspension",
        "encodedList": sl.encode(),
    }
    assert validate_data_model(cred) == []
    with pytest.raises(BadInput):
        build_status_list_credential(
            list_id="https://registry.example/l",
            issuer="did:web:r.example",
            purpose="suspension",
            status_list=sl,
            valid_from="yesterday",
        )


# --- check_status -------------------------------------------------------------------------------


def _check(issuer: Issuer, cred: Any, **kwargs: Any) -> list[Any]:
    return check_status(
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
    short = _u(gzip.compress(bytes(10)))
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
    assert _check(issuer, cred, fetch_list=lambda u: other)[0].reason.startswith(
        f"status list fetched from {url} has id"
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


# --- validity boundaries (issue 20): validFrom <= now < validUntil, fresh or remembered ----------

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
    statuslist._VERIFIED.clear()
    if remembered:  # verified a moment before, so the process's memory answers at the boundary
        assert _check(issuer, cred, now=NOW - timedelta(seconds=1))[0].ok
    else:
        assert _check(issuer, cred, now=NOW - TICK)[0].ok
        statuslist._VERIFIED.clear()
    result = _check(issuer, cred, now=NOW)[0]
    assert not result.ok
    assert result.reason == "status list expired at 2026-11-23T12:00:00Z"
    statuslist._VERIFIED.clear()


@pytest.mark.parametrize("remembered", [False, True], ids=["fresh", "remembered"])
def test_a_status_list_is_valid_from_its_valid_from_on(remembered: bool) -> None:
    issuer = make_issuer()
    cred = _list_valid(
        issuer, valid_from="2026-11-23T12:00:00Z", valid_until="2027-01-01T00:00:00Z"
    )
    statuslist._VERIFIED.clear()
    if remembered:  # verified later, then asked again just before validFrom
        assert _check(issuer, cred, now=NOW + timedelta(seconds=1))[0].ok
    result = _check(issuer, cred, now=NOW - TICK)[0]
    assert not result.ok
    assert result.reason == "status list is not valid before 2026-11-23T12:00:00Z"
    statuslist._VERIFIED.clear()
    assert _check(issuer, cred, now=NOW)[0].ok
    statuslist._VERIFIED.clear()
