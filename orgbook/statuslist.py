"""W3C Bitstring Status List v1.0: revocation and suspension of credentials.

What it owns: the bitstring (:class:`StatusList`: at least 131,072 entries, index 0 the
left-most bit, GZIP then multibase base64url ``u…``), the ``BitstringStatusListEntry`` a
credential carries (:func:`status_entry`), the unsigned ``BitstringStatusListCredential``
(:func:`build_status_list_credential`), and the verifier's side (:func:`check_status`), which
trusts a status list only after verifying its Data Integrity proof and that the credential's
own issuer signed it.

What it must not do: fetch lists (``fetch_list`` is a parameter), read the clock (``now``) or
raise while checking: every problem is a :class:`StatusResult` with ``ok=False`` and a reason.
Decoding caps the decompressed size, so a small gzip bomb cannot exhaust memory.

Speed: every credential of an issuer names the same few lists, so a verifier process remembers
lists it has verified (:class:`_VerifiedLists`, bounded, least recently used out first). The
memory is keyed by everything the outcome depends on — the URL, the list's RFC 8785 bytes
(so any change to the list, its proof included, is a new key), the keys its proofs' verification
methods resolve to *now*, the credential's issuer, purpose and status size — and holds the
interval of ``now`` in which the verification succeeds (proof ``created`` minus the allowed clock
skew and ``validFrom``, up to ``expires`` and ``validUntil``). A list is thus re-verified only when
it changes, and a remembered answer is exactly the one a new verification would give.
"""

from __future__ import annotations

import gzip
import threading
import zlib
from collections import OrderedDict
from collections.abc import Callable, Hashable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from orgbook.canonical import canonicalize
from orgbook.dataintegrity import CLOCK_SKEW, parse_datetime, verify_proofs
from orgbook.errors import BadInput, OrgBookError
from orgbook.multibase import multibase_decode, multibase_encode
from orgbook.schemas import CREDENTIALS_V2_CONTEXT, is_url, parse_date_time

__all__ = [
    "MIN_ENTRIES",
    "PURPOSES",
    "StatusList",
    "StatusResult",
    "build_status_list_credential",
    "check_status",
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
        if value is not None and parse_date_time(value) is None:
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


# --- checking a credential's status ---------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class StatusResult:
    """One ``credentialStatus`` entry, checked.

    ``ok`` says whether the status could be established (list fetched, signed by the
    credential's issuer, valid, index in range); ``set`` is the bit then (True: revoked or
    suspended), None when it could not be read.
    """

    purpose: str | None
    index: int | None
    set: bool | None
    ok: bool
    reason: str
    list_credential: str | None = None


class _Unusable(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _issuer_id(document: Mapping[str, Any]) -> str | None:
    issuer = document.get("issuer")
    if isinstance(issuer, Mapping):
        issuer = issuer.get("id")
    return issuer if isinstance(issuer, str) else None


def _types(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _entry_fields(entry: Any) -> tuple[str, int, str, int]:
    """(purpose, index, list URL, status size) of a well-formed entry (Bitstring §3.2 step 1)."""
    if not isinstance(entry, Mapping):
        raise _Unusable("credentialStatus entry is not a JSON object")
    if entry.get("type") != ENTRY_TYPE:
        raise _Unusable(f"unsupported credentialStatus type {entry.get('type')!r}")
    purpose = entry.get("statusPurpose")
    if not isinstance(purpose, str):
        raise _Unusable("statusPurpose is missing")
    raw_index = entry.get("statusListIndex")
    if not isinstance(raw_index, str) or not raw_index.isascii() or not raw_index.isdigit():
        raise _Unusable("statusListIndex is not a base-10 integer string")
    if len(raw_index) > 12:
        raise _Unusable("statusListIndex is out of range")
    url = entry.get("statusListCredential")
    if not is_url(url):
        raise _Unusable("statusListCredential is not a URL")
    size = entry.get("statusSize", 1)
    if not isinstance(size, int) or isinstance(size, bool) or not 1 <= size <= 8:
        raise _Unusable("statusSize is not an integer from 1 to 8")
    assert isinstance(url, str)
    return purpose, int(raw_index), url, size


class _VerifiedLists:
    """Status lists verified in this process: key -> (list, when the verification holds)."""

    __slots__ = ("_entries", "_lock", "capacity")

    def __init__(self, capacity: int = 1024) -> None:
        self.capacity = capacity
        self._entries: OrderedDict[
            Hashable, tuple[StatusList, datetime | None, datetime | None]
        ] = OrderedDict()
        self._lock = threading.Lock()

    def recall(self, key: Hashable, now: datetime) -> StatusList | None:
        with self._lock:
            found = self._entries.get(key)
            if found is None:
                return None
            self._entries.move_to_end(key)
        status_list, start, end = found
        if (start is not None and now < start) or (end is not None and now >= end):
            return None
        return status_list

    def remember(
        self, key: Hashable, status_list: StatusList, start: datetime | None, end: datetime | None
    ) -> None:
        with self._lock:
            self._entries[key] = (status_list, start, end)
            self._entries.move_to_end(key)
            while len(self._entries) > self.capacity:
                self._entries.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


_VERIFIED = _VerifiedLists()


def _proofs(listing: Mapping[str, Any]) -> list[Any]:
    raw = listing.get("proof")
    return raw if isinstance(raw, list) else [raw]


def _memory_key(
    url: str,
    purpose: str,
    status_size: int,
    credential_issuer: str | None,
    listing: Mapping[str, Any],
    resolve_key: Callable[[str], bytes],
) -> Hashable | None:
    """What the list's verification depends on besides ``now``; None when it cannot be said
    cheaply (a malformed proof, a key that does not resolve: the full path reports those)."""
    methods = []
    for proof in _proofs(listing):
        method = proof.get("verificationMethod") if isinstance(proof, Mapping) else None
        if not isinstance(method, str):
            return None
        methods.append(method)
    try:
        keys = tuple((method, bytes(resolve_key(method))) for method in methods)
        document = canonicalize(listing)
    except Exception:  # the resolver is the caller's: whatever it raises, no shortcut
        return None
    return (url, purpose, status_size, credential_issuer, document, keys)


def _valid_while(listing: Mapping[str, Any]) -> tuple[datetime | None, datetime | None]:
    """The ``now`` interval [start, end) in which a list that verified still verifies."""
    starts: list[datetime] = []
    ends: list[datetime] = []
    for proof in _proofs(listing):
        if isinstance(proof, Mapping) and "created" in proof:
            starts.append(parse_datetime(proof["created"]) - CLOCK_SKEW)
        if isinstance(proof, Mapping) and "expires" in proof:
            ends.append(parse_datetime(proof["expires"]))
    for name, bounds in (("validFrom", starts), ("validUntil", ends)):
        value = listing.get(name)
        if value is not None:
            parsed = parse_date_time(value)
            if parsed is None:
                raise BadInput(f"status list {name} is not a date-time")
            bounds.append(parsed)
    return (max(starts) if starts else None), (min(ends) if ends else None)


def _remembering(resolve_key: Callable[[str], bytes]) -> Callable[[str], bytes]:
    """``resolve_key`` asked once per verification method (failures are asked again)."""
    known: dict[str, bytes] = {}

    def resolve(method: str) -> bytes:
        if method not in known:
            known[method] = resolve_key(method)
        return known[method]

    return resolve


def _verified_list(
    url: str,
    purpose: str,
    status_size: int,
    credential_issuer: str | None,
    *,
    fetch_list: Callable[[str], Mapping[str, Any]],
    resolve_key: Callable[[str], bytes],
    now: datetime,
) -> StatusList:
    """Bitstring Status List §3.2 steps 2-6: fetch, verify, validate and decode the list."""
    try:
        listing = fetch_list(url)
    except Exception as exc:  # the fetcher is the caller's; nothing it raises may escape
        detail = getattr(exc, "detail", None) or type(exc).__name__
        raise _Unusable(f"status list {url} could not be fetched: {detail}") from None
    if not isinstance(listing, Mapping):
        raise _Unusable(f"status list {url} is not a JSON object")
    key = _memory_key(url, purpose, status_size, credential_issuer, listing, resolve_key)
    remembered = _VERIFIED.recall(key, now) if key is not None else None
    if remembered is not None:
        return remembered
    status_list = _verify_list(
        url, purpose, status_size, credential_issuer, listing, resolve_key=resolve_key, now=now
    )
    if key is not None:
        try:
            start, end = _valid_while(listing)
        except OrgBookError:
            return status_list  # cannot happen for a list that verified; then just do not keep it
        _VERIFIED.remember(key, status_list, start, end)
    return status_list


def _verify_list(
    url: str,
    purpose: str,
    status_size: int,
    credential_issuer: str | None,
    listing: Mapping[str, Any],
    *,
    resolve_key: Callable[[str], bytes],
    now: datetime,
) -> StatusList:
    if listing.get("id", url) != url:
        raise _Unusable(f"status list fetched from {url} has id {listing.get('id')!r}")
    if LIST_CREDENTIAL_TYPE not in _types(listing.get("type")):
        raise _Unusable(f"{url} is not a {LIST_CREDENTIAL_TYPE}")
    # The list must come from the credential's issuer, under a key of that issuer.
    list_issuer = _issuer_id(listing)
    if list_issuer is None or list_issuer != credential_issuer:
        raise _Unusable(
            f"status list issuer {list_issuer!r} is not the credential's issuer "
            f"{credential_issuer!r}"
        )
    results = verify_proofs(
        listing, resolve_key=resolve_key, now=now, expected_purpose="assertionMethod"
    )
    bad = next((r for r in results if not r.ok), None)
    if bad is not None:
        raise _Unusable(f"status list signature does not verify: {bad.reason}")
    for result in results:
        signer_did = (result.verification_method or "").partition("#")[0]
        if signer_did != list_issuer:
            raise _Unusable(f"status list is signed by {signer_did!r}, not by its issuer")
    valid_from = listing.get("validFrom")
    if valid_from is not None:
        start = parse_date_time(valid_from) if isinstance(valid_from, str) else None
        if start is None:
            raise _Unusable("status list validFrom is not a date-time")
        if now < start:
            raise _Unusable(f"status list is not valid before {valid_from}")
    valid_until = listing.get("validUntil")
    if valid_until is not None:
        end = parse_date_time(valid_until) if isinstance(valid_until, str) else None
        if end is None:
            raise _Unusable("status list validUntil is not a date-time")
        if now >= end:
            raise _Unusable(f"status list expired at {valid_until}")
    subject = listing.get("credentialSubject")
    if not isinstance(subject, Mapping) or LIST_TYPE not in _types(subject.get("type")):
        raise _Unusable(f"status list credentialSubject is not a {LIST_TYPE}")
    if purpose not in _types(subject.get("statusPurpose")):
        raise _Unusable(
            f"status list purpose {subject.get('statusPurpose')!r} is not the entry's {purpose!r}"
        )
    encoded = subject.get("encodedList")
    if not isinstance(encoded, str):
        raise _Unusable("status list encodedList is missing")
    try:
        return StatusList.decode(encoded, status_size=status_size)
    except BadInput as exc:
        raise _Unusable(f"status list encodedList: {exc.detail}") from None


def _check_entry(
    entry: Any,
    credential_issuer: str | None,
    *,
    fetch_list: Callable[[str], Mapping[str, Any]],
    resolve_key: Callable[[str], bytes],
    now: datetime,
) -> StatusResult:
    purpose: str | None = None
    index: int | None = None
    url: str | None = None
    try:
        purpose, index, url, status_size = _entry_fields(entry)
        if purpose not in PURPOSES:
            return StatusResult(
                purpose, index, None, True, f"statusPurpose {purpose!r} is not checked", url
            )
        status_list = _verified_list(
            url,
            purpose,
            status_size,
            credential_issuer,
            fetch_list=fetch_list,
            resolve_key=resolve_key,
            now=now,
        )
        # §3.2 step 7: an index beyond the list is an error, not "not revoked".
        if index >= status_list.size:
            raise _Unusable(f"statusListIndex {index} is beyond the list's {status_list.size}")
        value = status_list.get(index)
    except _Unusable as problem:
        return StatusResult(purpose, index, None, False, problem.reason, url)
    flagged = value != 0
    state = (
        ("revoked" if flagged else "not revoked")
        if purpose == "revocation"
        else ("suspended" if flagged else "not suspended")
    )
    return StatusResult(purpose, index, flagged, True, f"{state} (index {index} of {url})", url)


def check_status(
    credential: Any,
    *,
    fetch_list: Callable[[str], Mapping[str, Any]],
    resolve_key: Callable[[str], bytes],
    now: datetime,
) -> list[StatusResult]:
    """Check every ``credentialStatus`` entry of ``credential``; never raises.

    For each entry: fetch its status list credential, verify the list's proof and that the
    credential's issuer signed it, check purpose, validity period and index, then read the
    entry's bit. An empty list means the credential has no status to check.
    """
    if not isinstance(credential, Mapping) or "credentialStatus" not in credential:
        return []
    raw = credential["credentialStatus"]
    entries = raw if isinstance(raw, list) else [raw]
    issuer = _issuer_id(credential)
    resolve_key = _remembering(resolve_key)
    return [
        _check_entry(entry, issuer, fetch_list=fetch_list, resolve_key=resolve_key, now=now)
        for entry in entries
    ]
