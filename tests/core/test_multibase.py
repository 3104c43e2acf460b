"""base58btc, multibase and Ed25519 Multikey: known values, round trips, strict rejection."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from orgbook.core.errors import BadInput
from orgbook.core.multibase import (
    b58decode,
    b58encode,
    decode_multikey_ed25519,
    encode_multikey_ed25519,
    multibase_decode,
    multibase_encode,
)

# draft-msporny-base58 / Bitcoin test values.
B58 = [
    (b"", ""),
    (b"\x00", "1"),
    (b"\x00\x00\x00", "111"),
    (b"\x00\x00\x01", "112"),
    (b"\x61", "2g"),
    (b"Hello World!", "2NEpo7TZRRrLZSi2U"),
    (
        b"The quick brown fox jumps over the lazy dog.",
        "USm3fpXnKG5EUBx2ndxBDMPVciP5hGey2Jh4NDv6gmeo1LkMeiKrLJUUBk6Z",
    ),
    (bytes.fromhex("0000287fb4cd"), "11233QC4"),
]


@pytest.mark.parametrize(("raw", "text"), B58)
def test_base58btc_known_values(raw: bytes, text: str) -> None:
    assert b58encode(raw) == text
    assert b58decode(text) == raw


@given(st.binary(max_size=80))
def test_base58_round_trip(data: bytes) -> None:
    assert b58decode(b58encode(data)) == data
    assert multibase_decode(multibase_encode(data)) == data
    assert multibase_decode(multibase_encode(data, "base64url")) == data


@pytest.mark.parametrize("bad", ["0", "O", "I", "l", "abc+", "z z", "é"])
def test_base58_rejects_characters_outside_alphabet(bad: str) -> None:
    with pytest.raises(BadInput, match="base58btc character"):
        b58decode(bad)


def test_base58_length_limit() -> None:
    with pytest.raises(BadInput, match="longer than"):
        b58decode("2" * 5000)


def test_multibase_prefixes() -> None:
    assert multibase_encode(b"Hello World!") == "z2NEpo7TZRRrLZSi2U"
    assert multibase_encode(b"\xfb\xff", "base64url") == "u-_8"
    assert multibase_encode(b"ab", "base64url") == "uYWI"
    assert multibase_decode("uYWI") == b"ab"
    assert multibase_decode("u") == b""
    assert multibase_decode("z") == b""


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("", "empty"),
        ("mYWI=", "prefix"),
        ("fdeadbeef", "prefix"),
        ("ZabC", "prefix"),
        ("uYWI=", "unpadded"),
        ("uYW+", "base64url character"),
        ("uYW/", "base64url character"),
        ("uY", "impossible length"),
        ("uYWJ", "non-canonical"),
        ("z0OIl", "base58btc character"),
    ],
)
def test_multibase_decode_rejects(value: str, message: str) -> None:
    with pytest.raises(BadInput, match=message):
        multibase_decode(value)


def test_multibase_rejects_non_strings_and_unknown_bases() -> None:
    with pytest.raises(BadInput):
        multibase_decode(b"zabc")  # type: ignore[arg-type]
    with pytest.raises(BadInput):
        multibase_encode(b"x", "base32")  # type: ignore[arg-type]


def test_multikey_vector_key() -> None:
    key = decode_multikey_ed25519("z6MkrJVnaZkeFzdQyMZu1cgjg7k1pZZ6pvBQ7XJPt4swbTQ2")
    assert len(key) == 32
    assert encode_multikey_ed25519(key) == "z6MkrJVnaZkeFzdQyMZu1cgjg7k1pZZ6pvBQ7XJPt4swbTQ2"
    raw = multibase_decode("z6MkrJVnaZkeFzdQyMZu1cgjg7k1pZZ6pvBQ7XJPt4swbTQ2")
    assert raw[:2] == b"\xed\x01"
    assert raw[2:] == key


@given(st.binary(min_size=32, max_size=32))
def test_multikey_round_trip(key: bytes) -> None:
    text = encode_multikey_ed25519(key)
    assert text.startswith("z6Mk")
    assert decode_multikey_ed25519(text) == key


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (multibase_encode(b"\xed\x01" + bytes(31)), "not 31"),
        (multibase_encode(b"\xed\x01" + bytes(33)), "not 33"),
        (multibase_encode(b"\x80\x26" + bytes(32)), "0xed01"),  # an Ed25519 *private* key
        (multibase_encode(b"\xec\x01" + bytes(32)), "0xed01"),  # X25519
        (multibase_encode(b"\xed\x01" + bytes(32), "base64url"), "base58btc"),
        ("6MkrJVnaZkeFzdQyMZu1cgjg7k1pZZ6pvBQ7XJPt4swbTQ2", "base58btc"),
        ("z6Mk0", "base58btc character"),
    ],
)
def test_multikey_rejects(value: str, message: str) -> None:
    with pytest.raises(BadInput, match=message):
        decode_multikey_ed25519(value)


def test_multikey_encode_rejects_wrong_length() -> None:
    with pytest.raises(BadInput, match="32 bytes"):
        encode_multikey_ed25519(bytes(33))
