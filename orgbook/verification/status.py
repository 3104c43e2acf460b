"""The ``status`` check: revocation and suspension through Bitstring Status Lists (v1.0 §3.2).

What it owns: the verifier's side of W3C Bitstring Status List v1.0 — for each
``credentialStatus`` entry of a credential, fetch its status list credential (through the
caller's ``fetch_list``), verify the list's Data Integrity proof and that the credential's own
issuer signed it, check its type, purpose, validity period and the index, then read the entry's
bit (:func:`check_status_entries`, one :class:`StatusResult` per entry) — and the ``status``
check built on it (:func:`check_status`). The list format and the issuer's side are
:mod:`orgbook.core.statuslist`; whether the ledger logged the lists is
:mod:`orgbook.verification.transparency`.

What it must not do: fetch lists (``fetch_list`` is a parameter), read the clock (``now``) or
raise while checking: every problem is a :class:`StatusResult` with ``ok=False`` and a reason.

Memory: every credential of an issuer names the same few lists, so a verifier process remembers
lists it has verified (:class:`_VerifiedLists`, bounded, least recently used out first). The
memory is keyed by everything the outcome depends on — the URL, the list's RFC 8785 bytes
(so any change to the list, its proof included, is a new key), the keys its proofs' verification
methods resolve to *now*, the credential's issuer, purpose and status size — and holds the
interval of ``now`` in which the verification succeeds (proof ``created`` minus the allowed clock
skew and ``validFrom``, up to ``expires`` and ``validUntil``). A list is thus re-verified only when
it changes, and a remembered answer is exactly the one a new verification would give.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from orgbook.core.canonical import canonicalize
from orgbook.core.dataintegrity import CLOCK_SKEW, verify_proofs
from orgbook.core.did import DidResolver
from orgbook.core.errors import BadInput, OrgBookError
from orgbook.core.schemas import is_url
from orgbook.core.statuslist import (
    ENTRY_TYPE,
    LIST_CREDENTIAL_TYPE,
    LIST_TYPE,
    PURPOSES,
    StatusList,
)
from orgbook.core.time import parse_time, parse_time_or_none
from orgbook.verification.document import as_list, issuer_id
from orgbook.verification.keys import key_resolver
from orgbook.verification.report import Check

__all__ = ["StatusResult", "check_status", "check_status_entries"]


# --- each credentialStatus entry ---------------------------------------------------------------


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
            starts.append(parse_time(proof["created"]) - CLOCK_SKEW)
        if isinstance(proof, Mapping) and "expires" in proof:
            ends.append(parse_time(proof["expires"]))
    for name, bounds in (("validFrom", starts), ("validUntil", ends)):
        value = listing.get(name)
        if value is not None:
            parsed = parse_time_or_none(value)
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
    if LIST_CREDENTIAL_TYPE not in as_list(listing.get("type")):
        raise _Unusable(f"{url} is not a {LIST_CREDENTIAL_TYPE}")
    # The list must come from the credential's issuer, under a key of that issuer.
    list_issuer = issuer_id(listing)
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
        start = parse_time_or_none(valid_from) if isinstance(valid_from, str) else None
        if start is None:
            raise _Unusable("status list validFrom is not a date-time")
        if now < start:
            raise _Unusable(f"status list is not valid before {valid_from}")
    valid_until = listing.get("validUntil")
    if valid_until is not None:
        end = parse_time_or_none(valid_until) if isinstance(valid_until, str) else None
        if end is None:
            raise _Unusable("status list validUntil is not a date-time")
        if now >= end:
            raise _Unusable(f"status list expired at {valid_until}")
    subject = listing.get("credentialSubject")
    if not isinstance(subject, Mapping) or LIST_TYPE not in as_list(subject.get("type")):
        raise _Unusable(f"status list credentialSubject is not a {LIST_TYPE}")
    if purpose not in as_list(subject.get("statusPurpose")):
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


def check_status_entries(
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
    issuer = issuer_id(credential)
    resolve_key = _remembering(resolve_key)
    return [
        _check_entry(entry, issuer, fetch_list=fetch_list, resolve_key=resolve_key, now=now)
        for entry in entries
    ]


# --- the status check ----------------------------------------------------------------------------


def check_status(
    credential: Any,
    *,
    status_lists: Callable[[str], Mapping[str, Any]] | None,
    resolver: DidResolver,
    now: datetime,
) -> Check:
    """The ``status`` check: not revoked, not suspended (Bitstring Status List v1.0 §3.2).

    ``status_lists(url)`` returns a status list credential (None: skipped); list signatures
    are checked with keys from ``resolver``.
    """
    if not isinstance(credential, Mapping) or "credentialStatus" not in credential:
        return Check("status", "skip", "credential has no credentialStatus")
    if status_lists is None:
        return Check("status", "skip", "no status list source given; status not checked")
    results = check_status_entries(
        credential, fetch_list=status_lists, resolve_key=key_resolver(resolver), now=now
    )
    details = {
        "entries": [
            {
                "statusPurpose": r.purpose,
                "statusListIndex": r.index,
                "statusListCredential": r.list_credential,
                "set": r.set,
                "ok": r.ok,
                "reason": r.reason,
            }
            for r in results
        ]
    }
    if not results:
        return Check("status", "fail", "credentialStatus is empty", details)
    for result in results:
        if not result.ok:
            return Check(
                "status", "fail", f"{result.purpose or 'status'}: {result.reason}", details
            )
    for result in results:
        if result.set:
            return Check("status", "fail", result.reason, details)
    summary = "; ".join(r.reason for r in results)
    return Check("status", "pass", summary, details)
