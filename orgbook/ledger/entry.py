"""Ledger entries: ``{index, timestamp, kind, payload, prev}``, their leaf bytes and leaf hash.

Owns the one shape of a ledger entry and the one path to its leaf bytes: the RFC 8785 canonical
JSON of exactly those five members (``orgbook.core.canonical``), hashed as an RFC 9162 leaf
(``SHA-256(0x00 ‖ bytes)``). ``prev`` is the previous entry's leaf hash in lowercase hex (64
zeros for entry 0), so the entries also form a hash chain. Parsing stored bytes back is strict:
anything that is not exactly the canonical form of a well-formed entry is refused.

Pure: no I/O, no storage, no clock (timestamps are passed in).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Any

from orgbook.core.canonical import Canonical, canonicalize, loads_strict
from orgbook.core.errors import BadInput
from orgbook.core.time import format_time
from orgbook.ledger.merkle import leaf_hash as _leaf_hash

__all__ = [
    "FIELDS",
    "GENESIS_PREV",
    "KINDS",
    "Entry",
    "format_timestamp",
    "is_kind",
]

FIELDS = frozenset({"index", "timestamp", "kind", "payload", "prev"})
GENESIS_PREV = "0" * 64
"""The ``prev`` of entry 0: there is no previous leaf."""

KINDS = frozenset(
    {
        "issuer.registered",
        "issuer.key.added",
        "issuer.key.retired",
        "issuer.updated",
        "credential.issued",
        "credential.superseded",
        "credential.revoked",
        "credential.suspended",
        "credential.unsuspended",
        # A record older than the current one, kept as history rather than made current.
        "credential.history",
    }
)
"""The kinds orgbook writes today. Kinds are open-ended: any name matching ``_KIND`` is valid."""

MAX_INDEX = 2**53 - 1  # JCS integers are exact only up to 2^53 - 1
_KIND = re.compile(r"[a-z]+(?:\.[a-z]+)*")
_HEX64 = re.compile(r"[0-9a-f]{64}")
_TIMESTAMP = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z")
_TIMESTAMP_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"


def is_kind(kind: object) -> bool:
    """Whether ``kind`` is a well-formed entry kind (``a.b.c``, lowercase ASCII letters)."""
    return isinstance(kind, str) and len(kind) <= 200 and _KIND.fullmatch(kind) is not None


def format_timestamp(when: datetime) -> str:
    """RFC 3339 UTC with microseconds, ``2026-11-23T12:00:00.000000Z``; naive times refused."""
    if when.tzinfo is None or when.utcoffset() is None:
        raise BadInput("ledger timestamps need a timezone-aware time", field="timestamp")
    return format_time(when, "microseconds")


def _valid_timestamp(value: object) -> bool:
    return isinstance(value, str) and _valid_timestamp_text(value)


@lru_cache(maxsize=256)  # a batch shares one timestamp, and strptime is slow
def _valid_timestamp_text(value: str) -> bool:
    if _TIMESTAMP.fullmatch(value) is None:
        return False
    try:
        datetime.strptime(value, _TIMESTAMP_FORMAT)
    except ValueError:
        return False
    return True


@dataclass(frozen=True, slots=True)
class Entry:
    """One ledger entry. ``payload`` is any JSON object; it is stored whole in the leaf."""

    index: int
    timestamp: str
    kind: str
    payload: Mapping[str, Any]
    prev: str

    def __post_init__(self) -> None:
        if type(self.index) is not int or not 0 <= self.index <= MAX_INDEX:
            raise BadInput("entry index must be an integer in [0, 2^53)", field="index")
        if not _valid_timestamp(self.timestamp):
            raise BadInput(
                "entry timestamp must be RFC 3339 UTC with microseconds (…T…:…:….ffffffZ)",
                field="timestamp",
            )
        if not is_kind(self.kind):
            raise BadInput(
                f"entry kind {self.kind!r} must match ^[a-z]+(\\.[a-z]+)*$", field="kind"
            )
        if not isinstance(self.payload, Mapping):
            raise BadInput("entry payload must be a JSON object", field="payload")
        if not isinstance(self.prev, str) or _HEX64.fullmatch(self.prev) is None:
            raise BadInput("entry prev must be 64 lowercase hex digits", field="prev")
        if self.index == 0 and self.prev != GENESIS_PREV:
            raise BadInput("entry 0 has no previous leaf: prev must be 64 zeros", field="prev")

    def to_json(self) -> dict[str, Any]:
        """The entry as a JSON object: exactly ``{index, timestamp, kind, payload, prev}``."""
        return {
            "index": self.index,
            "timestamp": self.timestamp,
            "kind": self.kind,
            "payload": self.payload,
            "prev": self.prev,
        }

    def leaf_bytes(self) -> bytes:
        """The RFC 8785 canonical bytes of :meth:`to_json`: what the ledger stores and hashes."""
        return canonicalize(self.to_json())

    @classmethod
    def with_leaf_bytes(
        cls, index: int, timestamp: str, kind: str, payload: Mapping[str, Any], prev: str
    ) -> tuple[Entry, bytes]:
        """The entry and its :meth:`leaf_bytes`, reusing canonical bytes already computed.

        Members of ``payload`` may be :class:`orgbook.core.canonical.Canonical`: their bytes are
        embedded in the leaf as they are (JCS composes) and the entry holds their values. The
        bytes are exactly ``leaf_bytes()`` of the returned entry.
        """
        plain = payload
        if any(type(item) is Canonical for item in payload.values()):
            plain = {
                key: item.value if type(item) is Canonical else item
                for key, item in payload.items()
            }
        entry = cls(index, timestamp, kind, plain, prev)
        data = canonicalize(
            {"index": index, "timestamp": timestamp, "kind": kind, "payload": payload, "prev": prev}
        )
        return entry, data

    def leaf_hash(self) -> bytes:
        """``SHA-256(0x00 ‖ leaf_bytes)``, the RFC 9162 leaf hash."""
        return _leaf_hash(self.leaf_bytes())

    @classmethod
    def from_leaf_bytes(cls, data: bytes) -> Entry:
        """Parse stored leaf bytes; :class:`BadInput` unless they are exactly a canonical entry."""
        if not isinstance(data, bytes | bytearray | memoryview):
            raise BadInput("leaf data must be bytes")
        raw = bytes(data)
        value = loads_strict(raw)  # CanonicalizationError (a BadInput) on malformed JSON
        if not isinstance(value, dict):
            raise BadInput("a ledger entry is a JSON object")
        if set(value) != FIELDS:
            missing = sorted(FIELDS - set(value))
            extra = sorted(set(value) - FIELDS)
            raise BadInput(f"ledger entry members wrong (missing {missing}, unexpected {extra})")
        entry = cls(
            index=value["index"],
            timestamp=value["timestamp"],
            kind=value["kind"],
            payload=value["payload"],
            prev=value["prev"],
        )
        if entry.leaf_bytes() != raw:
            raise BadInput("leaf data is not in RFC 8785 canonical form")
        return entry
