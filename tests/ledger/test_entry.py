"""Ledger entries: the five members, their canonical leaf bytes and strict parsing."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime, timedelta, timezone

import pytest

from orgbook.core.canonical import canonicalize_reference
from orgbook.core.errors import BadInput
from orgbook.ledger.entry import GENESIS_PREV, KINDS, Entry, format_timestamp, is_kind

STAMP = "2026-11-23T12:00:00.000000Z"
PREV = "ab" * 32


def make(**changes: object) -> Entry:
    fields: dict[str, object] = {
        "index": 1,
        "timestamp": STAMP,
        "kind": "credential.issued",
        "payload": {"name": "Société Générale Ltée", "n": 3, "tags": ["a", None, True]},
        "prev": PREV,
    }
    fields.update(changes)
    return Entry(**fields)  # type: ignore[arg-type]


def test_to_json_has_exactly_the_five_members() -> None:
    entry = make()
    assert entry.to_json() == {
        "index": 1,
        "timestamp": STAMP,
        "kind": "credential.issued",
        "payload": entry.payload,
        "prev": PREV,
    }


def test_leaf_bytes_are_rfc8785_and_leaf_hash_is_rfc9162() -> None:
    entry = make()
    data = entry.leaf_bytes()
    assert data == canonicalize_reference(entry.to_json())
    assert entry.leaf_hash() == hashlib.sha256(b"\x00" + data).digest()


def test_round_trip_through_leaf_bytes() -> None:
    entry = make()
    again = Entry.from_leaf_bytes(entry.leaf_bytes())
    assert again == entry
    assert again.leaf_bytes() == entry.leaf_bytes()


def test_genesis_entry_has_zero_prev() -> None:
    entry = make(index=0, prev=GENESIS_PREV)
    assert Entry.from_leaf_bytes(entry.leaf_bytes()).prev == "0" * 64
    with pytest.raises(BadInput):
        make(index=0, prev=PREV)


@pytest.mark.parametrize(
    "changes",
    [
        {"index": -1},
        {"index": True},
        {"index": 1.0},
        {"index": 2**53},
        {"timestamp": "2026-11-23T12:00:00Z"},
        {"timestamp": "2026-11-23T12:00:00.000000+00:00"},
        {"timestamp": "2026-02-30T12:00:00.000000Z"},
        {"timestamp": 5},
        {"kind": "Credential.issued"},
        {"kind": "credential..issued"},
        {"kind": "credential.issued."},
        {"kind": "credential_issued"},
        {"kind": ""},
        {"payload": ["not", "an", "object"]},
        {"prev": "AB" * 32},
        {"prev": "ab" * 31},
        {"prev": None},
    ],
)
def test_bad_fields_are_refused(changes: dict[str, object]) -> None:
    with pytest.raises(BadInput):
        make(**changes)


def test_kinds_are_open_ended_but_well_formed() -> None:
    assert all(is_kind(k) for k in KINDS)
    assert "credential.history" in KINDS
    assert is_kind("witness.cosigned.anything")
    assert make(kind="future.kind").kind == "future.kind"
    assert not is_kind("a.B")


def test_format_timestamp() -> None:
    when = datetime(2026, 11, 23, 13, 0, 0, 5, tzinfo=timezone(timedelta(hours=1)))
    assert format_timestamp(when) == "2026-11-23T12:00:00.000005Z"
    with pytest.raises(BadInput):
        format_timestamp(datetime(2026, 1, 1))
    assert format_timestamp(datetime(2026, 1, 1, tzinfo=UTC)).endswith(".000000Z")


def test_parse_refuses_non_canonical_bytes() -> None:
    entry = make()
    value = json.loads(entry.leaf_bytes())
    spaced = json.dumps(value, ensure_ascii=False).encode()
    with pytest.raises(BadInput, match="canonical"):
        Entry.from_leaf_bytes(spaced)
    escaped = json.dumps(value, separators=(",", ":"), sort_keys=True).encode()  # \\u escapes
    with pytest.raises(BadInput, match="canonical"):
        Entry.from_leaf_bytes(escaped)


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"[]",
        b"not json",
        b'{"index":1,"index":1,"kind":"a","payload":{},"prev":"' + PREV.encode() + b'"}',
        b"\xff\xfe",
    ],
)
def test_parse_refuses_garbage(data: bytes) -> None:
    with pytest.raises(BadInput):
        Entry.from_leaf_bytes(data)


def test_parse_refuses_missing_or_extra_members() -> None:
    value = make().to_json()
    extra = dict(value, extra=1)
    with pytest.raises(BadInput, match="unexpected"):
        Entry.from_leaf_bytes(canonicalize_reference(extra))
    del value["prev"]
    with pytest.raises(BadInput, match="missing"):
        Entry.from_leaf_bytes(canonicalize_reference(value))


def test_with_leaf_bytes_embeds_canonical_members_byte_for_byte() -> None:
    from orgbook.core.canonical import Canonical, canonicalize

    credential = {"id": "urn:x", "name": "Société Générale Ltée", "n": [1, 2, {"z": None}]}
    payload = {"credential": Canonical.of(credential), "current": True, "eventId": "e-1"}
    entry, data = Entry.with_leaf_bytes(1, STAMP, "credential.issued", payload, PREV)
    assert entry.payload == {"credential": credential, "current": True, "eventId": "e-1"}
    assert data == entry.leaf_bytes() == canonicalize(entry.to_json())
    assert data == canonicalize_reference(entry.to_json())
    assert Entry.from_leaf_bytes(data) == entry


def test_with_leaf_bytes_without_fragments_is_leaf_bytes() -> None:
    entry = make()
    again, data = Entry.with_leaf_bytes(
        entry.index, entry.timestamp, entry.kind, entry.payload, entry.prev
    )
    assert again == entry
    assert data == entry.leaf_bytes()
