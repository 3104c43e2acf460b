"""Multibase, base58btc and Ed25519 Multikey encodings: bytes to text and back, strictly.

What it owns: base58btc (Bitcoin alphabet, leading zero bytes as ``1``), the two multibase
prefixes orgbook uses (``z`` base58btc for proof values and keys, ``u`` base64url without padding
for status lists), and the Ed25519 public Multikey (multicodec ``0xed 0x01`` + 32 bytes, which
always renders as ``z6Mk…``).

Decoding is strict so one value has one text form: unknown prefixes, characters outside the
alphabet, padding and non-canonical base64url tails are rejected with :class:`BadInput`.
No I/O, no state.
"""

from __future__ import annotations

import base64
import binascii
import re
from typing import Literal

from orgbook.core.errors import BadInput

__all__ = [
    "ED25519_PUB_MULTICODEC",
    "b58decode",
    "b58encode",
    "decode_multikey_ed25519",
    "encode_multikey_ed25519",
    "multibase_decode",
    "multibase_encode",
]

B58_ALPHABET = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
_B58_INDEX = {char: i for i, char in enumerate(B58_ALPHABET)}
# Two base58 digits at a time (58² = 3,364 pairs): half the big-integer divisions.
_B58_PAIRS = tuple(a + b for a in B58_ALPHABET for b in B58_ALPHABET)
_B58_PAIR_BASE = 58 * 58
_B64URL = re.compile(r"[A-Za-z0-9_-]*")

# base58 decoding is quadratic in the length; orgbook's base58 values (keys, signatures) are short.
B58_MAX_CHARS = 4096

ED25519_PUB_MULTICODEC = b"\xed\x01"
ED25519_PUBLIC_KEY_SIZE = 32

Base = Literal["base58btc", "base64url"]


def b58encode(data: bytes) -> str:
    """Base58btc text of ``data``; each leading zero byte becomes a leading ``1``."""
    zeros = len(data) - len(data.lstrip(b"\0"))
    number = int.from_bytes(data, "big")
    pairs = _B58_PAIRS
    digits: list[str] = []
    while number:
        number, rem = divmod(number, _B58_PAIR_BASE)
        digits.append(pairs[rem])
    # The most significant pair may start with a zero digit ("1"): not part of the number.
    return "1" * zeros + "".join(reversed(digits)).lstrip("1")


def b58decode(text: str) -> bytes:
    """Bytes of base58btc ``text``; :class:`BadInput` on any character outside the alphabet."""
    if len(text) > B58_MAX_CHARS:
        raise BadInput(f"base58btc value longer than {B58_MAX_CHARS} characters")
    number = 0
    for position, char in enumerate(text):
        digit = _B58_INDEX.get(char)
        if digit is None:
            raise BadInput(f"invalid base58btc character {char!r} at position {position}")
        number = number * 58 + digit
    zeros = len(text) - len(text.lstrip("1"))
    body = number.to_bytes((number.bit_length() + 7) // 8, "big") if number else b""
    return b"\0" * zeros + body


def _b64url_decode(text: str) -> bytes:
    if "=" in text:
        raise BadInput("multibase base64url ('u') is unpadded: '=' is not allowed")
    if not _B64URL.fullmatch(text):
        raise BadInput("invalid base64url character in multibase value")
    if len(text) % 4 == 1:
        raise BadInput("base64url value has an impossible length")
    try:
        data = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError) as exc:
        raise BadInput(f"invalid base64url: {exc}") from exc
    # Unused trailing bits must be zero, so that each byte string has exactly one encoding.
    if _b64url_encode(data) != text:
        raise BadInput("non-canonical base64url encoding (trailing bits set)")
    return data


def _b64url_encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def multibase_encode(data: bytes, base: Base = "base58btc") -> str:
    """``z`` + base58btc, or ``u`` + base64url without padding."""
    if base == "base58btc":
        return "z" + b58encode(bytes(data))
    if base == "base64url":
        return "u" + _b64url_encode(bytes(data))
    raise BadInput(f"unsupported multibase encoding {base!r}")


def multibase_decode(value: str) -> bytes:
    """The bytes of a ``z…`` (base58btc) or ``u…`` (base64url, unpadded) multibase string."""
    if not isinstance(value, str):
        raise BadInput("a multibase value is a string")
    if not value:
        raise BadInput("empty multibase value")
    prefix, body = value[0], value[1:]
    if prefix == "z":
        return b58decode(body)
    if prefix == "u":
        return _b64url_decode(body)
    raise BadInput(f"unsupported multibase prefix {prefix!r} (expected 'z' or 'u')")


def encode_multikey_ed25519(public_key: bytes) -> str:
    """The ``publicKeyMultibase`` of an Ed25519 public key: ``z6Mk…``."""
    if len(public_key) != ED25519_PUBLIC_KEY_SIZE:
        raise BadInput(
            f"an Ed25519 public key is {ED25519_PUBLIC_KEY_SIZE} bytes, not {len(public_key)}"
        )
    return multibase_encode(ED25519_PUB_MULTICODEC + bytes(public_key), "base58btc")


def decode_multikey_ed25519(value: str) -> bytes:
    """The raw 32-byte key of an Ed25519 public Multikey; :class:`BadInput` for anything else."""
    if not isinstance(value, str) or not value.startswith("z"):
        raise BadInput("an Ed25519 Multikey is multibase base58btc ('z…')")
    raw = b58decode(value[1:])
    if not raw.startswith(ED25519_PUB_MULTICODEC):
        raise BadInput("not an Ed25519 public Multikey (multicodec prefix is not 0xed01)")
    key = raw[len(ED25519_PUB_MULTICODEC) :]
    if len(key) != ED25519_PUBLIC_KEY_SIZE:
        raise BadInput(
            f"an Ed25519 Multikey holds {ED25519_PUBLIC_KEY_SIZE} key bytes, not {len(key)}"
        )
    return key
