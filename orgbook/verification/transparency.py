"""Revocation transparency: the ``status_logged`` check, and ``status`` as the ledger says it.

What it owns: what ledger-proven status entries say of a credential (:class:`StatusLedger`,
from ``statuslist.published`` entries and the credential's ``credential.revoked``,
``credential.suspended``, ``credential.unsuspended`` and ``credential.superseded`` entries), and
two decisions made from it:

* ``status_logged`` (:func:`check_status_logged`) — each status list served was logged on the
  ledger (``statuslist.published``, the SHA-256 of its RFC 8785 bytes: :func:`list_digest`), and
  its bit for the credential agrees with the credential's status entries as of that entry;
* :func:`status_per_ledger` — the ``status`` check fails when those entries say revoked or
  suspended, whatever a list says.

Only entries proven under a checkpoint the ledger key signed count. Bundles from before
revocation transparency carry no status entries: then ``status_logged`` is skipped.

What it must not do: I/O, or raise on what it is handed: every problem is a failing check.
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from orgbook.core.canonical import canonicalize
from orgbook.core.errors import OrgBookError
from orgbook.verification.bundle import ProvenEntry
from orgbook.verification.checkpoint import LedgerTrust
from orgbook.verification.inclusion import Part, why_unproven
from orgbook.verification.report import Check

__all__ = [
    "StatusLedger",
    "check_status_logged",
    "list_digest",
    "signed_list_digest",
    "status_ledger",
    "status_per_ledger",
]

_REVOKING = ("credential.revoked", "credential.superseded")
_SUSPENDING = ("credential.suspended", "credential.unsuspended")


@dataclass(frozen=True, slots=True)
class StatusLedger:
    """What ledger-proven entries say about a credential's status and its lists."""

    published: Mapping[tuple[str, str], int]  # (list URL, digest) -> statuslist.published index
    latest: Mapping[str, int]  # list URL -> its latest statuslist.published index known
    events: tuple[tuple[int, str], ...]  # (index, kind) of the credential's status entries
    unproven: tuple[str, ...]
    known: bool  # whether any status member was handed over at all

    def revoked_before(self, index: int | None) -> tuple[int, str] | None:
        """The first revoking entry (below ``index``, or anywhere)."""
        return next(
            (
                (i, kind)
                for i, kind in self.events
                if kind in _REVOKING and (index is None or i < index)
            ),
            None,
        )

    def suspended_before(self, index: int | None) -> int | None:
        """The suspension in force (below ``index``, or anywhere): its entry, else None."""
        state: int | None = None
        for i, kind in self.events:
            if index is not None and i >= index:
                break
            if kind == "credential.suspended":
                state = i
            elif kind == "credential.unsuspended":
                state = None
        return state


def status_ledger(
    parts: Sequence[Part], trust: LedgerTrust, credential_id: Any, *, known: bool
) -> StatusLedger:
    """What the proven entries among ``parts`` say of the lists and of ``credential_id``.

    ``known``: whether the bundle (or the caller) handed over status entries at all.
    """
    published: dict[tuple[str, str], int] = {}
    latest: dict[str, int] = {}
    events: dict[int, str] = {}
    unproven: list[str] = []
    for part in parts:
        failure = why_unproven(trust, part)
        if failure is not None:
            unproven.append(failure)
            continue
        assert isinstance(part, ProvenEntry)
        entry, payload = part.entry, part.entry.payload
        if entry.kind == "statuslist.published":
            url, digest = payload.get("list"), payload.get("digest")
            if isinstance(url, str) and isinstance(digest, str):
                published[(url, digest)] = entry.index
                latest[url] = max(entry.index, latest.get(url, entry.index))
        elif entry.kind in _REVOKING + _SUSPENDING and payload.get("credential") == credential_id:
            events[entry.index] = entry.kind
    return StatusLedger(published, latest, tuple(sorted(events.items())), tuple(unproven), known)


@functools.lru_cache(maxsize=256)
def signed_list_digest(document: bytes) -> str:
    """The SHA-256 (hex) of a signed status list's RFC 8785 bytes: what ``statuslist.published``
    records (the issuer logs it with this function, a verifier compares with it)."""
    return hashlib.sha256(document).hexdigest()


def list_digest(listing: Mapping[str, Any]) -> str:
    """The SHA-256 (hex) of a status list's RFC 8785 bytes, as ``statuslist.published`` logs it;
    ``"?"`` when it has none."""
    try:
        return signed_list_digest(canonicalize(listing))
    except OrgBookError:
        return "?"


def _list_bits(status: Check | None) -> dict[str, tuple[str, bool | None]]:
    """List URL -> (purpose, the credential's bit in it) from the ``status`` check's details."""
    found: dict[str, tuple[str, bool | None]] = {}
    raw = status.details.get("entries") if status is not None else None
    for item in raw if isinstance(raw, list) else []:
        url, purpose = item.get("statusListCredential"), item.get("statusPurpose")
        if isinstance(url, str) and isinstance(purpose, str):
            bit = item.get("set")
            found[url] = (purpose, bit if isinstance(bit, bool) else None)
    return found


def check_status_logged(
    credential: Any,
    ledger: StatusLedger,
    fetched: Mapping[str, Mapping[str, Any]],
    status: Check | None,
) -> Check:
    """2b. The status lists served were logged, and agree with the ledger's status entries."""
    name = "status_logged"
    if ledger.unproven:
        return Check(name, "fail", f"a status entry is not proven: {ledger.unproven[0]}")
    if not ledger.known:
        return Check(
            name,
            "skip",
            "no status-list entries to check against (a bundle from before revocation "
            "transparency): whether the status lists were logged was not checked",
        )
    revoked = ledger.revoked_before(None)
    suspended = ledger.suspended_before(None)
    if not fetched:
        where = "the bundle's checkpoint" if status is None or status.outcome == "skip" else "now"
        if revoked is not None:
            return Check(
                name,
                "fail",
                f"revoked: the ledger records {revoked[1]} at entry {revoked[0]} (as of {where})",
            )
        if suspended is not None:
            return Check(
                name,
                "fail",
                f"suspended: the ledger records credential.suspended at entry {suspended} (as of "
                f"{where})",
            )
        if where == "now":
            return Check(
                name, "skip", "no status list could be read to compare with the ledger's entries"
            )
        recorded = ", ".join(str(i) for i in sorted(ledger.latest.values())) or "none"
        return Check(
            name,
            "pass",
            "the ledger entries carried record no revocation or suspension of this credential; "
            f"its status lists were logged at entries {recorded} (the lists themselves were not "
            "checked offline)",
        )
    bits = _list_bits(status)
    notes: list[str] = []
    for url, listing in fetched.items():
        digest = list_digest(listing)
        index = ledger.published.get((url, digest))
        if index is None:
            newest = ledger.latest.get(url)
            also = (
                f"; the ledger's latest version of it is entry {newest}"
                if newest is not None
                else ""
            )
            return Check(
                name,
                "fail",
                f"status list {url} (sha256 {digest[:16]}…) not recorded on the ledger{also}",
                {"list": url, "digest": digest},
            )
        purpose, bit = bits.get(url, ("", None))
        expected: bool | None = None
        if purpose == "revocation":
            expected = ledger.revoked_before(index) is not None
        elif purpose == "suspension":
            expected = ledger.suspended_before(index) is not None
        if bit is not None and expected is not None and bit != expected:
            said = "set" if bit else "clear"
            return Check(
                name,
                "fail",
                f"status list {url} (logged at entry {index}) disagrees with the ledger: the "
                f"credential's {purpose} bit is {said}, but the ledger's entries before it say "
                f"{'it is' if expected else 'it is not'} {_PURPOSE_STATE[purpose]}",
                {"list": url, "digest": digest, "loggedAt": index},
            )
        notes.append(f"{url.rsplit('/', 2)[-2]} list logged at entry {index}")
    return Check(
        name,
        "pass",
        "; ".join(notes) + "; the bits agree with the ledger's status entries",
    )


_PURPOSE_STATE = {"revocation": "revoked", "suspension": "suspended"}


def status_per_ledger(status: Check, ledger: StatusLedger) -> Check:
    """``status`` decided by the ledger's entries when they say revoked or suspended."""
    if not ledger.known or ledger.unproven or status.outcome == "skip":
        return status
    revoked = ledger.revoked_before(None)
    if revoked is not None:
        if status.failed and status.reason.startswith("revoked"):
            return status
        return Check(
            "status",
            "fail",
            f"revoked (ledger entry {revoked[0]}, {revoked[1]}), whatever its status list says",
            status.details,
        )
    suspended = ledger.suspended_before(None)
    if suspended is not None and not (status.failed and status.reason.startswith("suspended")):
        return Check(
            "status",
            "fail",
            f"suspended (ledger entry {suspended}, credential.suspended), whatever its status "
            "list says",
            status.details,
        )
    return status
