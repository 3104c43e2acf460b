"""Issuer keys: the ``issuer_key`` and ``key_valid_at_issuance`` checks, and the key history.

What it owns: which key signed what, decided two ways, one per verification path:

* ``issuer_key`` (a plain credential) — each proof's verification method belongs to the
  credential's issuer and is an ``assertionMethod`` key of the issuer's DID document, as the
  caller's :class:`~orgbook.core.did.DidResolver` serves it (a key retired after signing passes
  and is reported); :func:`key_resolver` and :class:`RememberingResolver` serve Data Integrity
  and the status check from that same resolver;
* ``key_valid_at_issuance`` (a bundle) — every proof's key was added for the issuer
  (``issuer.key.added``) before the credential's ledger entry and not retired
  (``issuer.key.retired``) before it: ledger order, never clocks. :func:`key_failure` is the
  one answer to "was this key the issuer's when that was signed", asked for the credential and
  for each status list (:func:`status_list_key_failure`); :class:`LedgerResolver` is the
  issuer's DID document as the ledger's key history tells it, nothing else.

Only entries proven under a checkpoint the ledger key signed count (:func:`key_events`).

What it must not do: I/O (the resolver is a parameter), read the clock, or raise on what a check
is handed: every problem becomes a failing check or a reason.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from orgbook.core.did import (
    DID_CONTEXT,
    MULTIKEY_CONTEXT,
    VERIFICATION_RELATIONSHIPS,
    DidResolver,
    VerificationMethod,
    resolve_verification_method,
)
from orgbook.core.errors import NotFound, OrgBookError, UpstreamError
from orgbook.core.time import format_time, parse_time_or_none
from orgbook.verification.bundle import ProvenEntry
from orgbook.verification.checkpoint import LedgerTrust
from orgbook.verification.document import issuer_id, proof_methods
from orgbook.verification.inclusion import Part, why_unproven
from orgbook.verification.report import Check

__all__ = [
    "KeyEvents",
    "LedgerResolver",
    "RememberingResolver",
    "check_issuer_key",
    "check_key_valid_at_issuance",
    "check_keys_at_issuance",
    "key_events",
    "key_failure",
    "key_resolver",
    "ledger_documents",
    "status_list_key_failure",
]


# --- keys from the issuer's DID document ---------------------------------------------------------


class RememberingResolver:
    """``resolver`` with each DID resolved once: one verification asks for the issuer's
    document for its signature, its issuer key and every status list it names.

    Lives for one :func:`~orgbook.verification.credential.verify_credential` call, so a
    document that changes is seen by the next verification. Callers only read the documents
    (``resolve_verification_method`` does), so the one copy is shared; failures are not
    remembered.
    """

    __slots__ = ("_documents", "_resolver")

    def __init__(self, resolver: DidResolver) -> None:
        self._resolver = resolver
        self._documents: dict[str, dict[str, Any]] = {}

    def resolve(self, did: str) -> dict[str, Any]:
        found = self._documents.get(did)
        if found is None:
            found = self._documents[did] = self._resolver.resolve(did)
        return found


def key_resolver(resolver: DidResolver) -> Callable[[str], bytes]:
    """``resolve_key`` for Data Integrity: the Ed25519 key a DID URL names, via ``resolver``."""

    def resolve_key(verification_method: str) -> bytes:
        return _resolve_method(resolver, verification_method).public_key

    return resolve_key


def _resolve_method(resolver: DidResolver, vm_id: str) -> VerificationMethod:
    try:
        return resolve_verification_method(resolver, vm_id)
    except OrgBookError:
        raise
    except Exception as exc:  # a caller's resolver: whatever it raises is its failure
        raise UpstreamError(f"DID resolution failed ({type(exc).__name__})") from exc


def check_issuer_key(credential: Any, *, resolver: DidResolver) -> Check:
    """3. Each proof's key is the issuer's own ``assertionMethod`` key in its DID document."""
    if not isinstance(credential, Mapping):
        return Check("issuer_key", "fail", "credential is not a JSON object")
    issuer = issuer_id(credential)
    if issuer is None:
        return Check("issuer_key", "fail", "credential has no issuer id")
    methods = proof_methods(credential)
    if not methods:
        return Check("issuer_key", "fail", "no proof names a verification method")
    notes: list[str] = []
    keys: list[dict[str, Any]] = []
    for vm_id, created in methods:
        controller = vm_id.partition("#")[0]
        if controller != issuer:
            return Check(
                "issuer_key",
                "fail",
                f"verification method {vm_id} belongs to {controller}, not to the issuer {issuer}",
            )
        try:
            method = _resolve_method(resolver, vm_id)
        except OrgBookError as exc:
            return Check("issuer_key", "fail", f"issuer key {vm_id} not found: {exc.detail}")
        key = {"id": vm_id, "retiredAt": method.retired_at, "purposes": sorted(method.purposes)}
        keys.append(key)
        if method.retired_at is not None:
            retired = parse_time_or_none(method.retired_at)
            signed = parse_time_or_none(created) if created else None
            if retired is None or signed is None or signed >= retired:
                return Check(
                    "issuer_key",
                    "fail",
                    f"key {vm_id} was retired at {method.retired_at}, "
                    f"before the proof was created ({created})",
                    {"keys": keys},
                )
            notes.append(f"key {vm_id} was retired at {method.retired_at}, after signing")
        elif "assertionMethod" not in method.purposes:
            return Check(
                "issuer_key",
                "fail",
                f"key {vm_id} is not an assertionMethod key of {issuer} (retired or never "
                "authorised)",
                {"keys": keys},
            )
    reason = f"signed with a key of the issuer {issuer}"
    return Check("issuer_key", "pass", "; ".join([reason, *notes]), {"keys": keys})


# --- keys learnt from the ledger ------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class KeyEvents:
    """The key history the ledger proves: what was added and retired, at which index and time."""

    added: Mapping[str, tuple[int, str, str, str]]  # key id -> (index, did, multikey, timestamp)
    retired: Mapping[str, tuple[int, str]]  # key id -> (index, timestamp)
    unproven: Mapping[str, str]  # key id (or "") -> why its entry is not proven


def key_events(parts: Sequence[Part], trust: LedgerTrust) -> KeyEvents:
    """The key history the ``issuer.key.*`` entries among ``parts`` prove (earliest wins)."""
    added: dict[str, tuple[int, str, str, str]] = {}
    retired: dict[str, tuple[int, str]] = {}
    unproven: dict[str, str] = {}
    for part in parts:
        key_id = ""
        if isinstance(part, ProvenEntry):
            raw = part.entry.payload.get("keyId")
            key_id = raw if isinstance(raw, str) else ""
        failure = why_unproven(trust, part)
        if failure is not None:
            unproven.setdefault(key_id, failure)
            continue
        assert isinstance(part, ProvenEntry)
        entry, payload = part.entry, part.entry.payload
        if entry.kind == "issuer.key.added":
            did, multikey = payload.get("did"), payload.get("publicKeyMultibase")
            if key_id and isinstance(did, str) and isinstance(multikey, str):
                found = added.get(key_id)
                if found is None or entry.index < found[0]:
                    added[key_id] = (entry.index, did, multikey, entry.timestamp)
        elif entry.kind == "issuer.key.retired" and key_id:
            found_retired = retired.get(key_id)
            if found_retired is None or entry.index < found_retired[0]:
                retired[key_id] = (entry.index, entry.timestamp)
    return KeyEvents(added, retired, unproven)


def key_failure(
    events: KeyEvents,
    vm: str,
    did: str | None,
    *,
    index: int | None = None,
    at: datetime | None = None,
    what: str = "the credential's entry",
) -> str | None:
    """Why key ``vm`` was not a key of ``did`` when something was signed, or None if it was.

    The one answer every verification path gives, from the ledger's key history: the key was
    added (``issuer.key.added``) for ``did`` before ``index`` (ledger order) and not retired
    (``issuer.key.retired``) before it; without an index, the same as of the time ``at``
    (the entries' timestamps), for what the ledger does not order, such as a status list signed
    before status lists were logged.
    """
    found = events.added.get(vm)
    if found is None:
        why = events.unproven.get(vm) or events.unproven.get("")
        if why is not None:
            return f"the ledger entry adding key {vm} is not proven: {why}"
        return f"key {vm} was never added on the ledger for {did}"
    added_at, key_did, _, added_stamp = found
    if key_did != did:
        return f"key {vm} was added for {key_did}, not the issuer {did}"
    retired = events.retired.get(vm)
    if index is not None:
        if added_at >= index:
            return f"key {vm} was added at ledger index {added_at}, after {what} {index}"
        if retired is not None and retired[0] < index:
            return f"key {vm} was retired at ledger index {retired[0]}, before {what} {index}"
    elif at is not None:
        added_time = _entry_time(added_stamp)
        if added_time is not None and at < added_time:
            return f"key {vm} was added at {added_stamp}, after {what} ({_stamp(at)})"
        retired_time = _entry_time(retired[1]) if retired is not None else None
        # Same instant: not "after" (timestamps are coarser than the ledger's order).
        if retired is not None and (retired_time is None or at > retired_time):
            return f"key {vm} was retired at {retired[1]}, before {what} ({_stamp(at)})"
    if vm in events.unproven and retired is None:
        return f"a ledger entry about key {vm} is not proven: {events.unproven[vm]}"
    return None


def _entry_time(stamp: str) -> datetime | None:
    return parse_time_or_none(stamp)


def _stamp(at: datetime) -> str:
    return format_time(at, "iso")


def check_key_valid_at_issuance(
    credential: Any, keys: Sequence[Part], entry_index: int | None, trust: LedgerTrust
) -> Check:
    """2. Each proof's key was added before the credential's entry and not retired before it."""
    return check_keys_at_issuance(credential, key_events(keys, trust), entry_index)


def check_keys_at_issuance(credential: Any, events: KeyEvents, entry_index: int | None) -> Check:
    """:func:`check_key_valid_at_issuance` with the key history already read."""
    name = "key_valid_at_issuance"
    methods = [vm for vm, _ in proof_methods(credential)]
    if not methods:
        return Check(name, "fail", "no proof names a verification method")
    if entry_index is None:
        return Check(name, "fail", "the credential's ledger entry is unusable: no issuance index")
    did = issuer_id(credential)
    notes: list[str] = []
    for vm in methods:
        failure = key_failure(events, vm, did, index=entry_index)
        if failure is not None:
            return Check(name, "fail", failure)
        retired = events.retired.get(vm)
        later = f", retired later at {retired[0]}" if retired is not None else ""
        notes.append(f"key {vm} added at ledger index {events.added[vm][0]}{later}")
    return Check(
        name, "pass", f"valid at the credential's entry {entry_index}: " + "; ".join(notes)
    )


class LedgerResolver:
    """The issuer's DID document as the ledger's key history tells it; nothing else.

    Every key the ledger proves was added for a DID is listed; *when* it was valid is
    :func:`key_failure`'s question, asked for the credential (at its entry) and for each
    status list (when it was signed). No DID document served by anyone stands in for the
    ledger: that is what made ``--online`` and the API disagree once a key had rotated.
    """

    __slots__ = ("_documents",)

    def __init__(self, documents: Mapping[str, dict[str, Any]]) -> None:
        self._documents = documents

    def resolve(self, did: str) -> dict[str, Any]:
        ours = self._documents.get(did) if isinstance(did, str) else None
        if ours is None:
            if isinstance(did, str) and did.startswith("did:key:"):
                from orgbook.core.did import resolve_did_key

                return resolve_did_key(did)
            raise NotFound(f"no ledger-proven keys for {did!r}")
        return copy.deepcopy(ours)


def ledger_documents(events: KeyEvents) -> dict[str, dict[str, Any]]:
    """A DID document per issuer DID: every key the ledger proves was added for it.

    All are listed for assertions: *when* a key was valid is ``key_valid_at_issuance``'s
    question, answered in ledger order.
    """
    documents: dict[str, dict[str, Any]] = {}
    for key_id, (_, did, multikey, _) in events.added.items():
        if not key_id.startswith(did + "#"):
            continue
        doc = documents.setdefault(
            did,
            {
                "@context": [DID_CONTEXT, MULTIKEY_CONTEXT],
                "id": did,
                "verificationMethod": [],
                **{relationship: [] for relationship in VERIFICATION_RELATIONSHIPS},
            },
        )
        doc["verificationMethod"].append(
            {"id": key_id, "type": "Multikey", "controller": did, "publicKeyMultibase": multikey}
        )
        for relationship in VERIFICATION_RELATIONSHIPS:
            doc[relationship].append(key_id)
    return documents


def status_list_key_failure(
    url: str, listing: Mapping[str, Any], events: KeyEvents, index: int | None
) -> str | None:
    """Why a status list's signing key was not its issuer's key when it was signed, or None.

    When the ledger logged the list (``index``), ledger order decides; otherwise the proof's
    ``created`` time against the key entries' timestamps.
    """
    issuer = issuer_id(listing)
    what = "the status list was signed" if index is None else "the status list's entry"
    # A proof that names no verification method is the status check's to report.
    for vm, created in proof_methods(listing):
        at = _entry_time(created) if created is not None else None
        if index is None and (at is None or at.tzinfo is None):
            continue
        failure = key_failure(events, vm, issuer, index=index, at=at, what=what)
        if failure is not None:
            return f"status list {url}: {failure}"
    return None
