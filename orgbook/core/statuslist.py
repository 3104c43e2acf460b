"""W3C Bitstring Status List v1.0: the format of revocation and suspension lists.

What it owns: the bitstring (:class:`StatusList`: at least 131,072 entries, index 0 the
left-most bit, GZIP then multibase base64url ``u…``), the ``BitstringStatusListEntry`` a
credential carries (:func:`status_entry`) and the unsigned ``BitstringStatusListCredential``
(:func:`build_status_list_credential`). The verifier's side — checking a credential's status
against signed lists — is :mod:`orgbook.verification.status`.

What it must not do: fetch, sign or verify lists. Decoding caps the decompressed size, so a
small gzip bomb cannot exhaust memory.
"""

from __future__ import annotations

import gzip
import zlib
from typing import Any, Literal

from orgbook.core.errors import BadInput
from orgbook.core.multibase import multibase_decode, multibase_encode
from orgbook.core.schemas import CREDENTIALS_V2_CONTEXT, is_url
from orgbook.core.time import parse_time_or_none

__all__ = [
    "MIN_ENTRIES",
    "PURPOSES",
    "StatusList",
    "build_status_list_credential",
    "status_entry",
]

MIN_ENTRIES = 131_072  # Bitstring Status List v1.0 §2.1: at least 16 KiB of bits (herd privacy)
MAX_DECODED_BYTES = 16 * 1024 * 1024  # 134M one-bit entries; anything bigger is refused
MAX_ENCODED_CHARS = 8 * 1024 * 1024
PURPOSES = ("revocation", "suspension")
ENTRY_TYPE = "BitstringStatusListEntry"
LIST_CREDENTIAL_TYPE = "BitstringStatusListCredential"
LIST_TYPE = "BitstringStatusList"

Purpose = Literal["revocation", "suspension"]


class StatusList:
    """A bitstring of ``size`` entries of ``status_size`` bits each, all zero at first."""

    __slots__ = ("_bits", "size", "status_size")

    def __init__(self, size: int = MIN_ENTRIES, status_size: int = 1) -> None:
        if not isinstance(status_size, int) or not 1 <= status_size <= 8:
            raise BadInput("status_size is 1 to 8 bits")
        if not isinstance(size, int) or size < MIN_ENTRIES:
            raise BadInput(f"a status list has at least {MIN_ENTRIES} entries")
        if size * status_size > MAX_DECODED_BYTES * 8:
            raise BadInput("status list too large")
        self.size = size
        self.status_size = status_size
        self._bits = bytearray((size * status_size + 7) // 8)

    def _check_index(self, index: int) -> None:
        if not isinstance(index, int) or isinstance(index, bool) or not 0 <= index < self.size:
            raise BadInput(f"status index {index!r} outside 0..{self.size - 1}")

    def get(self, index: int) -> int:
        """The status value at ``index`` (0 or 1 for one-bit lists)."""
        self._check_index(index)
        value = 0
        start = index * self.status_size
        for bit in range(start, start + self.status_size):
            value = (value << 1) | ((self._bits[bit >> 3] >> (7 - (bit & 7))) & 1)
        return value

    def set(self, index: int, value: int | bool) -> None:
        """Set the status value at ``index``; the left-most bit of the string is index 0."""
        self._check_index(index)
        value = int(value)
        if not 0 <= value < (1 << self.status_size):
            raise BadInput(f"status value {value} does not fit in {self.status_size} bits")
        start = index * self.status_size
        for offset in range(self.status_size):
            bit = start + offset
            mask = 1 << (7 - (bit & 7))
            if (value >> (self.status_size - 1 - offset)) & 1:
                self._bits[bit >> 3] |= mask
            else:
                self._bits[bit >> 3] &= ~mask & 0xFF

    def to_bytes(self) -> bytes:
        return bytes(self._bits)

    def encode(self) -> str:
        """``encodedList``: GZIP (no timestamp, so it is reproducible), then multibase ``u…``."""
        return multibase_encode(gzip.compress(bytes(self._bits), mtime=0), "base64url")

    @classmethod
    def decode(
        cls,
        encoded: str,
        *,
        status_size: int = 1,
        min_entries: int = MIN_ENTRIES,
        max_bytes: int = MAX_DECODED_BYTES,
    ) -> StatusList:
        """Parse an ``encodedList``; :class:`BadInput` for anything that is not one.

        Rejects other multibase encodings, bad base64url, data that is not one complete GZIP
        member, more than ``max_bytes`` once decompressed, and lists shorter than
        ``min_entries``.
        """
        if not isinstance(encoded, str):
            raise BadInput("encodedList is not a string")
        if len(encoded) > MAX_ENCODED_CHARS:
            raise BadInput("encodedList is too long")
        if not encoded.startswith("u"):
            raise BadInput("encodedList is not multibase base64url ('u…')")
        compressed = multibase_decode(encoded)
        raw = _gunzip(compressed, max_bytes)
        if not isinstance(status_size, int) or not 1 <= status_size <= 8:
            raise BadInput("status_size is 1 to 8 bits")
        size = len(raw) * 8 // status_size
        if size < min_entries:
            raise BadInput(f"status list has {size} entries, fewer than the minimum {min_entries}")
        return cls.from_bytes(raw, status_size=status_size)

    @classmethod
    def from_bytes(cls, raw: bytes, *, status_size: int = 1) -> StatusList:
        """The list whose bitstring is ``raw`` (as :meth:`to_bytes` returns it), copied."""
        if not isinstance(status_size, int) or not 1 <= status_size <= 8:
            raise BadInput("status_size is 1 to 8 bits")
        made = cls.__new__(cls)
        made.size = len(raw) * 8 // status_size
        made.status_size = status_size
        made._bits = bytearray(raw)
        return made

    def __len__(self) -> int:
        return self.size

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, StatusList):
            return NotImplemented
        return (self.size, self.status_size, self._bits) == (
            other.size,
            other.status_size,
            other._bits,
        )

    __hash__ = None  # type: ignore[assignment]  # mutable

    def __repr__(self) -> str:
        return f"StatusList(size={self.size}, status_size={self.status_size})"


def _gunzip(data: bytes, max_bytes: int) -> bytes:
    """One whole GZIP member, decompressed to at most ``max_bytes``."""
    inflater = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)  # gzip header and trailer only
    try:
        raw = inflater.decompress(data, max_bytes + 1)
    except zlib.error as exc:
        raise BadInput(f"encodedList is not GZIP data: {exc}") from exc
    if len(raw) > max_bytes or inflater.unconsumed_tail:
        raise BadInput(f"encodedList decompresses to more than {max_bytes} bytes")
    if not inflater.eof:
        raise BadInput("encodedList GZIP data is truncated")
    if inflater.unused_data:
        raise BadInput("encodedList has data after the GZIP member")
    return raw


def status_entry(
    list_credential_url: str, index: int, purpose: Purpose, *, status_size: int = 1
) -> dict[str, Any]:
    """The ``BitstringStatusListEntry`` for entry ``index`` of the list at that URL."""
    if not is_url(list_credential_url):
        raise BadInput("the status list credential URL is not a URL")
    if purpose not in PURPOSES:
        raise BadInput(f"statusPurpose must be one of {', '.join(PURPOSES)}")
    if not isinstance(index, int) or isinstance(index, bool) or index < 0:
        raise BadInput("statusListIndex is a non-negative integer")
    entry: dict[str, Any] = {
        "id": f"{list_credential_url}#{index}",
        "type": ENTRY_TYPE,
        "statusPurpose": purpose,
        "statusListIndex": str(index),
        "statusListCredential": list_credential_url,
    }
    if status_size != 1:
        entry["statusSize"] = status_size
    return entry


def build_status_list_credential(
    *,
    list_id: str,
    issuer: str,
    purpose: Purpose,
    status_list: StatusList,
    valid_from: str,
    valid_until: str | None = None,
) -> dict[str, Any]:
    """The unsigned ``BitstringStatusListCredential`` publishing ``status_list``."""
    if not is_url(list_id):
        raise BadInput("list_id must be a URL")
    if not isinstance(issuer, str) or not issuer.startswith("did:"):
        raise BadInput("issuer must be a DID")
    if purpose not in PURPOSES:
        raise BadInput(f"statusPurpose must be one of {', '.join(PURPOSES)}")
    for name, value in (("valid_from", valid_from), ("valid_until", valid_until)):
        if value is not None and parse_time_or_none(value) is None:
            raise BadInput(f"{name} must be an RFC 3339 date-time with a time zone", field=name)
    credential: dict[str, Any] = {
        "@context": [CREDENTIALS_V2_CONTEXT],
        "id": list_id,
        "type": ["VerifiableCredential", LIST_CREDENTIAL_TYPE],
        "issuer": issuer,
        "validFrom": valid_from,
    }
    if valid_until is not None:
        credential["validUntil"] = valid_until
    credential["credentialSubject"] = {
        "id": f"{list_id}#list",
        "type": LIST_TYPE,
        "statusPurpose": purpose,
        "encodedList": status_list.encode(),
    }
    return credential
