"""W3C Bitstring Status List v1.0: the bitstring, its encoding, entries and list credentials
(checking a credential's status against lists: tests/verification/test_status.py)."""

from __future__ import annotations

import base64
import gzip
import tracemalloc
import zlib
from typing import Any

import pytest

from orgbook.core.errors import BadInput
from orgbook.core.schemas import validate_data_model
from orgbook.core.statuslist import (
    MAX_DECODED_BYTES,
    MAX_ENCODED_CHARS,
    MIN_ENTRIES,
    StatusList,
    build_status_list_credential,
    status_entry,
)

# The example encodedList of Bitstring Status List v1.0 (an empty list of 131,072 entries).
SPEC_EXAMPLE = "uH4sIAAAAAAAAA-3BMQEAAADCoPVPbQwfoAAAAAAAAAAAAAAAAAAAAIC3AYbSVKsAQAAA"


def multibase_u(data: bytes) -> str:
    """``data`` as multibase base64url (``u…``), written here, not with the code under test."""
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


def test_clearing_a_status_clears_that_entry_only() -> None:
    sl = StatusList()
    for i in (9000, 9001, 9002):
        sl.set(i, 1)
    sl.set(9001, 0)
    assert (sl.get(8999), sl.get(9000), sl.get(9001), sl.get(9002)) == (0, 1, 0, 1)
    assert sl.to_bytes()[9000 // 8] == 0b1010_0000  # 9000 is the first bit of byte 1125


def test_multi_bit_statuses() -> None:
    sl = StatusList(status_size=2)
    sl.set(0, 3)
    sl.set(1, 2)
    assert sl.to_bytes()[0] == 0b1110_0000
    assert (sl.get(0), sl.get(1), sl.get(2)) == (3, 2, 0)
    with pytest.raises(BadInput) as err:
        sl.set(2, 4)
    assert err.value.detail == "status value 4 does not fit in 2 bits"


@pytest.mark.parametrize("index", [-1, MIN_ENTRIES, True, "3", 1.0])
def test_index_out_of_range(index: Any) -> None:
    with pytest.raises(BadInput) as err:
        StatusList().get(index)
    assert err.value.detail == f"status index {index!r} outside 0..131071"


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
    with pytest.raises(BadInput) as err:
        StatusList.from_bytes(raw, status_size=9)
    assert err.value.detail == "status_size is 1 to 8 bits"
    eight_bit = StatusList.from_bytes(raw, status_size=8)  # a status of up to 8 bits
    assert len(eight_bit) == len(sl) // 8
    assert (eight_bit.get(0), eight_bit.get(1)) == (0b1000_0001, 0b1000_0000)


def test_decodes_the_spec_example() -> None:
    sl = StatusList.decode(SPEC_EXAMPLE)
    assert len(sl) == MIN_ENTRIES
    assert sl.to_bytes() == bytes(16_384)


def test_decodes_lists_from_other_gzip_writers() -> None:
    raw = bytearray(20_000)
    raw[0] = 0x80
    encoded = multibase_u(gzip.compress(bytes(raw), compresslevel=1, mtime=1_700_000_000))
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
        (multibase_u(b"not gzip at all"), "not GZIP"),
        (multibase_u(gzip.compress(bytes(16_384), mtime=0)[:-9]), "truncated"),
        (multibase_u(gzip.compress(bytes(16_384), mtime=0) + b"junk"), "after the GZIP member"),
        (multibase_u(gzip.compress(bytes(100), mtime=0)), "fewer than the minimum"),
        (multibase_u(b"\x1f\x8b" + bytes(30)), "not GZIP"),
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
        StatusList.decode(multibase_u(bomb), max_bytes=1024 * 1024)
    assert "more than" in err.value.detail
    assert len(StatusList.decode(multibase_u(bomb))) == 4 * 1024 * 1024 * 8  # under the default cap


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


def test_a_multi_bit_status_entry_says_its_size() -> None:
    url = "https://registry.example/status/suspension/2"
    assert status_entry(url, 7, "suspension", status_size=2) == {
        "id": f"{url}#7",
        "type": "BitstringStatusListEntry",
        "statusPurpose": "suspension",
        "statusListIndex": "7",
        "statusListCredential": url,
        "statusSize": 2,
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


def test_status_entry_refusals_say_what_is_wrong() -> None:
    url = "https://x.example/l"
    for arguments, detail in (
        (("not a url", 1, "revocation"), "the status list credential URL is not a URL"),
        ((url, 1, "refresh"), "statusPurpose must be one of revocation, suspension"),
        ((url, -1, "revocation"), "statusListIndex is a non-negative integer"),
    ):
        with pytest.raises(BadInput) as err:
            status_entry(*arguments)  # type: ignore[arg-type]
        assert err.value.detail == detail


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


@pytest.mark.parametrize(
    ("changes", "detail", "field"),
    [
        ({"list_id": "not a url"}, "list_id must be a URL", None),
        ({"issuer": None}, "issuer must be a DID", None),
        ({"issuer": "https://registry.example"}, "issuer must be a DID", None),
        ({"purpose": "refresh"}, "statusPurpose must be one of revocation, suspension", None),
        (
            {"valid_from": "yesterday"},
            "valid_from must be an RFC 3339 date-time with a time zone",
            "valid_from",
        ),
        (
            {"valid_until": "2026-01-01T00:00:00"},
            "valid_until must be an RFC 3339 date-time with a time zone",
            "valid_until",
        ),
    ],
)
def test_status_list_credential_refusals_say_what_is_wrong(
    changes: dict[str, Any], detail: str, field: str | None
) -> None:
    arguments: dict[str, Any] = {
        "list_id": "https://registry.example/status/revocation/1",
        "issuer": "did:web:registry.example",
        "purpose": "revocation",
        "status_list": StatusList(),
        "valid_from": "2025-01-01T00:00:00Z",
        "valid_until": None,
        **changes,
    }
    with pytest.raises(BadInput) as err:
        build_status_list_credential(**arguments)
    assert (err.value.detail, err.value.field) == (detail, field)


# --- limits and reasons -------------------------------------------------------------------------


def test_status_sizes_and_list_sizes_at_their_limits() -> None:
    assert StatusList(MIN_ENTRIES, 8).get(MIN_ENTRIES - 1) == 0  # 8 bits is the largest status
    most = MAX_DECODED_BYTES * 8
    assert len(StatusList(most)) == most  # the largest list the decoder accepts
    assert len(StatusList(most // 2, 2)) == most // 2
    for size, status_size, detail in (
        (MIN_ENTRIES, 9, "status_size is 1 to 8 bits"),
        (MIN_ENTRIES - 1, 1, f"a status list has at least {MIN_ENTRIES} entries"),
        (most + 1, 1, "status list too large"),
        (most // 2 + 1, 2, "status list too large"),
    ):
        with pytest.raises(BadInput) as err:
            StatusList(size, status_size)
        assert err.value.detail == detail


def test_decoding_multi_bit_lists_checks_the_status_size() -> None:
    raw = bytes([0b1000_0001]) + bytes(16_383)
    encoded = multibase_u(gzip.compress(raw, mtime=0))
    eight_bit = StatusList.decode(encoded, status_size=8, min_entries=16_384)
    assert (len(eight_bit), eight_bit.status_size, eight_bit.get(0)) == (16_384, 8, 0b1000_0001)
    for status_size in (0, 9, 1.0):
        with pytest.raises(BadInput) as err:
            StatusList.decode(encoded, status_size=status_size)  # type: ignore[arg-type]
        assert err.value.detail == "status_size is 1 to 8 bits"


def test_a_list_one_byte_short_of_the_minimum_is_refused_with_its_size() -> None:
    encoded = multibase_u(gzip.compress(bytes(MIN_ENTRIES // 8 - 1), mtime=0))
    with pytest.raises(BadInput) as err:
        StatusList.decode(encoded)
    assert err.value.detail == "status list has 131064 entries, fewer than the minimum 131072"


def test_a_list_of_exactly_max_bytes_decodes_and_one_more_byte_does_not() -> None:
    raw = bytes(MIN_ENTRIES // 8)
    assert (
        len(StatusList.decode(multibase_u(gzip.compress(raw)), max_bytes=len(raw))) == MIN_ENTRIES
    )
    with pytest.raises(BadInput) as err:
        StatusList.decode(multibase_u(gzip.compress(raw + b"\0")), max_bytes=len(raw))
    assert err.value.detail == f"encodedList decompresses to more than {len(raw)} bytes"


def test_a_gzip_bomb_is_refused_without_inflating_it() -> None:
    bomb = multibase_u(gzip.compress(bytes(64 * 1024 * 1024)))  # 64 MiB of zeros
    tracemalloc.start()
    try:
        with pytest.raises(BadInput):
            StatusList.decode(bomb, max_bytes=1024 * 1024)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 8 * 1024 * 1024


def test_zlib_data_is_not_gzip() -> None:
    encoded = multibase_u(zlib.compress(bytes(MIN_ENTRIES // 8)))
    with pytest.raises(BadInput) as err:
        StatusList.decode(encoded)
    assert err.value.detail.startswith("encodedList is not GZIP data: ")


def test_an_encoded_list_of_the_longest_length_is_read() -> None:
    longest = "u" + "A" * (MAX_ENCODED_CHARS - 1)  # 6 MiB of zero bytes: not GZIP, but read
    with pytest.raises(BadInput) as err:
        StatusList.decode(longest)
    assert err.value.detail.startswith("encodedList is not GZIP data")
    with pytest.raises(BadInput) as err:
        StatusList.decode(longest + "A")
    assert err.value.detail == "encodedList is too long"


@pytest.mark.parametrize(
    ("encoded", "detail"),
    [
        (None, "encodedList is not a string"),
        ("z" + "1" * 10, "encodedList is not multibase base64url ('u…')"),
        (
            multibase_u(gzip.compress(bytes(16_384), mtime=0)[:-9]),
            "encodedList GZIP data is truncated",
        ),
        (
            multibase_u(gzip.compress(bytes(16_384), mtime=0) + b"junk"),
            "encodedList has data after the GZIP member",
        ),
        (
            multibase_u(gzip.compress(bytes(100), mtime=0)),
            "status list has 800 entries, fewer than the minimum 131072",
        ),
    ],
    ids=["not-a-string", "base58", "truncated", "trailing-data", "too-short"],
)
def test_bad_encodings_say_exactly_what_is_wrong(encoded: Any, detail: str) -> None:
    with pytest.raises(BadInput) as err:
        StatusList.decode(encoded)
    assert err.value.detail == detail
