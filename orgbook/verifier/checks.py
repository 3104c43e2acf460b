"""Ledger checks of a credential and :func:`verify_bundle`: credential checks + ledger checks.

What it owns: one small function per ledger check, each returning an
:class:`orgbook.verify.Check` with one precise reason, and :func:`verify_bundle`, which runs
:func:`orgbook.verify.verify_credential` (schema, signature, issuer_key, validity_period,
status) with keys learnt from the ledger, then these, in this order:

1. ``issuer_trusted`` — the bundle's ``issuer.registered`` entry is proven on the ledger, names
   the credential's issuer and lists the credential's type, before the credential's entry;
2. ``key_valid_at_issuance`` — every proof's verification method was added for that issuer
   (``issuer.key.added``) before the credential's entry and not retired
   (``issuer.key.retired``) before it: ledger order, never clocks;
2b. ``status_logged`` — revocation transparency: each status list served was logged on the
   ledger (``statuslist.published``, its SHA-256), its bit for the credential agrees with the
   credential's revocation, suspension and supersession entries as of that entry, and
   ``status`` fails when those entries say revoked or suspended, whatever a list says;
3. ``ledger_inclusion`` — the entry is ``credential.issued``, its payload credential is the
   presented one byte for byte (JCS), and its leaf hash ``SHA-256(0x00 ‖ JCS(entry))`` is included
   at its index under the checkpoint's root (RFC 9162 §2.1.3.2);
4. ``checkpoint`` — the checkpoint is a C2SP signed note by the ledger key, for its origin;
5. ``consistency`` — the checkpoint is consistent with a newer one (RFC 9162 §2.1.4.2), or equal;
6. ``witnesses`` — at least k of the known witnesses cosigned the checkpoint.

The inclusion check uses the root the checkpoint *states*; the checkpoint check says whether
the ledger signed it. So a forged signature fails only ``checkpoint``, and a ledger that signed a
root that does not include the entry fails only ``ledger_inclusion``. Entries that vouch for the
issuer and its keys count only when proven under a checkpoint the ledger key signed.

What it must not do: I/O, read the clock, or raise on what it is handed: every problem becomes
a failing check.
"""

from __future__ import annotations

import copy
import functools
import hashlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from orgbook.canonical import canonicalize
from orgbook.credentials import CredentialType
from orgbook.did import (
    DID_CONTEXT,
    MULTIKEY_CONTEXT,
    VERIFICATION_RELATIONSHIPS,
)
from orgbook.errors import BadInput, NotFound, OrgBookError, VerificationError
from orgbook.ledger.merkle import verify_consistency, verify_inclusion
from orgbook.ledger.note import (
    Checkpoint,
    CosignatureVerifier,
    NoteVerifier,
    open_note,
    parse_note,
    verify_cosignatures,
)
from orgbook.verifier.bundle import (
    ProvenEntry,
    check_envelope,
    parse_proven_entry,
    parse_tlog_proof,
)
from orgbook.verify import Check, Report, verify_credential

__all__ = [
    "LEDGER_CHECK_NAMES",
    "LedgerTrust",
    "check_checkpoint",
    "check_consistency",
    "check_issuer_trusted",
    "check_key_valid_at_issuance",
    "check_ledger_inclusion",
    "check_status_logged",
    "check_witnesses",
    "consistency_failure",
    "key_failure",
    "open_ledger_checkpoint",
    "verify_bundle",
]

LEDGER_CHECK_NAMES = (
    "issuer_trusted",
    "key_valid_at_issuance",
    "status_logged",
    "ledger_inclusion",
    "checkpoint",
    "consistency",
    "witnesses",
)

Part = ProvenEntry | BadInput
"""A bundle part as parsed: the proven entry, or why it could not be read."""


# --- checkpoints --------------------------------------------------------------------------------


@functools.lru_cache(maxsize=1024)
def _stated_checkpoint(note: str) -> Checkpoint:
    """The checkpoint a note states, signature unchecked; :class:`BadInput` if it does not parse.

    Remembered per note text (a pure parse into a frozen value; failures are not remembered).
    """
    return Checkpoint.parse(parse_note(note).text)


def open_ledger_checkpoint(note: str, ledger_keys: Sequence[NoteVerifier]) -> Checkpoint:
    """The checkpoint, verified: signed by a ledger key whose name is the checkpoint's origin.

    Raises :class:`BadInput` (malformed) or :class:`~orgbook.errors.VerificationError`.
    """
    if not ledger_keys:
        raise VerificationError("no ledger key given to check it against")
    parsed, verified = open_note(note, ledger_keys)
    checkpoint = Checkpoint.parse(parsed.text)
    names = {key.name for key in verified}
    if checkpoint.origin not in names:
        raise VerificationError(
            f"checkpoint origin {checkpoint.origin!r} is not the ledger's "
            f"({', '.join(sorted(names))})"
        )
    return checkpoint


@functools.lru_cache(maxsize=1024)
def _opened(note: str, keys: tuple[NoteVerifier, ...]) -> Checkpoint | str:
    """:func:`open_ledger_checkpoint` or its reason, remembered per (note text, ledger keys).

    A pure function of its arguments (the note's bytes and the keys decide the signature check),
    so remembering it across verifications changes no answer: a verifier that sees the same
    checkpoint in every bundle verifies its signature once.
    """
    try:
        return open_ledger_checkpoint(note, keys)
    except OrgBookError as exc:
        return exc.detail


class LedgerTrust:
    """Which checkpoints the ledger signed, remembered per note text (one verification each)."""

    __slots__ = ("keys",)

    def __init__(self, ledger_keys: Sequence[NoteVerifier]) -> None:
        self.keys = tuple(ledger_keys)

    def checkpoint(self, note: str) -> Checkpoint | str:
        """The verified checkpoint, or the reason it does not verify."""
        return _opened(note, self.keys)

    def unproven(self, part: Part) -> str | None:
        """Why ``part`` is not proven on the ledger, or None when it is."""
        if isinstance(part, BadInput):
            return _bad_part(part)
        checkpoint = self.checkpoint(part.note)
        if isinstance(checkpoint, str):
            return f"its checkpoint does not verify: {checkpoint}"
        return _inclusion_failure(part, checkpoint)


def _bad_part(exc: BadInput) -> str:
    return f"{exc.detail} (at {exc.field})" if exc.field else exc.detail


def _inclusion_failure(part: ProvenEntry, checkpoint: Checkpoint) -> str | None:
    return _included_leaf(part, checkpoint)[1]


def _included_leaf(part: ProvenEntry, checkpoint: Checkpoint) -> tuple[bytes | None, str | None]:
    """(the entry's leaf hash, why it is not included under the checkpoint or None)."""
    entry = part.entry
    if part.index != entry.index:
        return None, f"the tlog-proof is for index {part.index} but the entry says {entry.index}"
    if entry.index >= checkpoint.size:
        return None, f"entry {entry.index} is beyond the checkpoint's tree size {checkpoint.size}"
    try:
        leaf = entry.leaf_hash()
    except OrgBookError as exc:
        return None, f"the entry has no canonical form: {exc.detail}"
    if not verify_inclusion(leaf, entry.index, checkpoint.size, part.proof, checkpoint.root):
        return leaf, (
            f"entry {entry.index} (leaf hash {leaf.hex()[:16]}…) is not included under the "
            f"checkpoint root at tree size {checkpoint.size}: the entry or the inclusion path was "
            "altered"
        )
    return leaf, None


def check_checkpoint(
    note: str | None, ledger_keys: Sequence[NoteVerifier], *, trust: LedgerTrust | None = None
) -> Check:
    """4. The checkpoint is signed by the ledger key (C2SP signed-note) and is for its origin."""
    if note is None:
        return Check("checkpoint", "fail", "no checkpoint: the tlog-proof does not parse")
    if not ledger_keys:
        return Check(
            "checkpoint",
            "fail",
            "no ledger key given: the checkpoint cannot be checked (pass the ledger's verifier "
            "key, e.g. --ledger-key)",
        )
    checkpoint = (trust or LedgerTrust(ledger_keys)).checkpoint(note)
    if isinstance(checkpoint, str):
        return Check("checkpoint", "fail", f"checkpoint not signed by the ledger key: {checkpoint}")
    return Check(
        "checkpoint",
        "pass",
        f"signed by {checkpoint.origin} at tree size {checkpoint.size}",
        {"origin": checkpoint.origin, "size": checkpoint.size, "root": checkpoint.root.hex()},
    )


# --- inclusion ----------------------------------------------------------------------------------


def check_ledger_inclusion(credential: Any, part: Part) -> Check:
    """3. The credential's ``credential.issued`` entry is included under the checkpoint's root."""
    if isinstance(part, BadInput):
        return Check("ledger_inclusion", "fail", f"ledger entry unusable: {_bad_part(part)}")
    entry = part.entry
    if entry.kind != "credential.issued":
        return Check(
            "ledger_inclusion",
            "fail",
            f"entry {entry.index} is a {entry.kind} entry, not credential.issued",
        )
    logged = entry.payload.get("credential")
    try:
        same = canonicalize(logged) == canonicalize(credential)
    except OrgBookError:
        same = False
    if not same:
        return Check(
            "ledger_inclusion",
            "fail",
            f"the presented credential differs from the one logged in entry {entry.index}",
        )
    try:
        checkpoint = _stated_checkpoint(part.note)
    except OrgBookError as exc:
        return Check(
            "ledger_inclusion", "fail", f"no checkpoint root to check against: {exc.detail}"
        )
    leaf, failure = _included_leaf(part, checkpoint)
    if failure is not None or leaf is None:
        return Check("ledger_inclusion", "fail", failure or "the entry has no leaf hash")
    return Check(
        "ledger_inclusion",
        "pass",
        f"entry {entry.index} is included in the ledger at tree size {checkpoint.size} "
        f"({len(part.proof)}-hash RFC 9162 proof)",
        {"index": entry.index, "leafHash": leaf.hex(), "treeSize": checkpoint.size},
    )


# --- consistency --------------------------------------------------------------------------------


def consistency_failure(a: Checkpoint, b: Checkpoint, proof: Sequence[bytes] | None) -> str | None:
    """Why checkpoints ``a`` and ``b`` are not one append-only history, or None if they are.

    ``proof`` is the RFC 9162 consistency proof from the smaller tree to the larger.
    """
    if a.origin != b.origin:
        return f"checkpoints of different ledgers ({a.origin!r}, {b.origin!r})"
    old, new = (a, b) if a.size <= b.size else (b, a)
    if old.size == new.size:
        if old.root == new.root:
            return None
        return f"two different roots for tree size {old.size}: the ledger forked"
    if proof is None:
        return f"no consistency proof from tree size {old.size} to {new.size}"
    if not verify_consistency(old.size, new.size, old.root, new.root, proof):
        return (
            f"the tree at size {new.size} is not an append-only extension of the tree at size "
            f"{old.size}: history was rewritten"
        )
    return None


def check_consistency(
    note: str | None,
    newer_note: str | None,
    proof: Sequence[bytes] | None,
    ledger_keys: Sequence[NoteVerifier],
    *,
    trust: LedgerTrust | None = None,
) -> Check:
    """5. The bundle's checkpoint and a newer one (verified) are one append-only history."""
    if newer_note is None:
        return Check("consistency", "skip", "no newer checkpoint given to compare with")
    if note is None:
        return Check("consistency", "fail", "the bundle has no readable checkpoint")
    newer = (trust or LedgerTrust(ledger_keys)).checkpoint(newer_note)
    if isinstance(newer, str):
        return Check("consistency", "fail", f"the newer checkpoint does not verify: {newer}")
    try:
        stated = _stated_checkpoint(note)
    except OrgBookError as exc:
        return Check("consistency", "fail", f"the bundle's checkpoint does not parse: {exc.detail}")
    failure = consistency_failure(stated, newer, proof)
    if failure is not None:
        return Check("consistency", "fail", failure)
    if stated.size == newer.size:
        reason = f"the checkpoint is the latest one (tree size {newer.size})"
    else:
        reason = f"tree size {stated.size} is consistent with the newer checkpoint at {newer.size}"
    return Check("consistency", "pass", reason, {"size": stated.size, "newerSize": newer.size})


# --- issuer and keys ----------------------------------------------------------------------------


def _issuer_did(credential: Any) -> str | None:
    if not isinstance(credential, Mapping):
        return None
    issuer = credential.get("issuer")
    if isinstance(issuer, Mapping):
        issuer = issuer.get("id")
    return issuer if isinstance(issuer, str) else None


def _verification_methods(credential: Any) -> list[str]:
    if not isinstance(credential, Mapping):
        return []
    raw = credential.get("proof")
    proofs = raw if isinstance(raw, list) else [raw]
    return [
        p["verificationMethod"]
        for p in proofs
        if isinstance(p, Mapping) and isinstance(p.get("verificationMethod"), str)
    ]


def _type_slug(credential: Any) -> tuple[str | None, str]:
    """(orgbook type slug or None, the VC type to name in reasons)."""
    types = credential.get("type") if isinstance(credential, Mapping) else None
    names = [t for t in (types if isinstance(types, list) else [types]) if isinstance(t, str)]
    ours = CredentialType.from_vc_type(names)
    if ours is not None:
        return ours.slug, ours.vc_type
    other = next(
        (t for t in reversed(names) if t != "VerifiableCredential"), "VerifiableCredential"
    )
    return None, other


def check_issuer_trusted(
    credential: Any, issuer: Part | None, entry_index: int | None, trust: LedgerTrust
) -> Check:
    """1. The issuer was registered on the ledger for this credential type before issuing it."""
    did = _issuer_did(credential)
    if did is None:
        return Check("issuer_trusted", "fail", "credential has no issuer id")
    if issuer is None:
        return Check("issuer_trusted", "fail", "the bundle carries no issuer.registered entry")
    failure = trust.unproven(issuer)
    if failure is not None:
        return Check(
            "issuer_trusted", "fail", f"the issuer's registration is not proven: {failure}"
        )
    assert isinstance(issuer, ProvenEntry)
    entry = issuer.entry
    if entry.kind != "issuer.registered":
        return Check(
            "issuer_trusted", "fail", f"entry {entry.index} is {entry.kind}, not issuer.registered"
        )
    body = entry.payload.get("issuer")
    body = body if isinstance(body, Mapping) else {}
    if body.get("did") != did:
        return Check(
            "issuer_trusted",
            "fail",
            f"the registration in entry {entry.index} is for {body.get('did')!r}, not {did}",
        )
    slug, vc_type = _type_slug(credential)
    allowed = body.get("credentialTypes")
    allowed = [t for t in allowed if isinstance(t, str)] if isinstance(allowed, list) else []
    if slug is None or slug not in allowed:
        return Check(
            "issuer_trusted",
            "fail",
            f"{did} is registered for {', '.join(allowed) or 'no types'}, not {vc_type}",
        )
    if entry_index is not None and entry.index >= entry_index:
        return Check(
            "issuer_trusted",
            "fail",
            f"{did} was registered at ledger index {entry.index}, after the credential's "
            f"entry {entry_index}",
        )
    name = body.get("name")
    who = f"{name} ({did})" if isinstance(name, str) else did
    return Check(
        "issuer_trusted",
        "pass",
        f"{who} was registered on the ledger at index {entry.index} to issue {vc_type}",
        {"issuer": body.get("id"), "did": did, "registeredAt": entry.index},
    )


@dataclass(frozen=True, slots=True)
class _KeyEvents:
    """The key history the ledger proves: what was added and retired, at which index and time."""

    added: Mapping[str, tuple[int, str, str, str]]  # key id -> (index, did, multikey, timestamp)
    retired: Mapping[str, tuple[int, str]]  # key id -> (index, timestamp)
    unproven: Mapping[str, str]  # key id (or "") -> why its entry is not proven


def _key_events(parts: Sequence[Part], trust: LedgerTrust) -> _KeyEvents:
    added: dict[str, tuple[int, str, str, str]] = {}
    retired: dict[str, tuple[int, str]] = {}
    unproven: dict[str, str] = {}
    for part in parts:
        key_id = ""
        if isinstance(part, ProvenEntry):
            raw = part.entry.payload.get("keyId")
            key_id = raw if isinstance(raw, str) else ""
        failure = trust.unproven(part)
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
    return _KeyEvents(added, retired, unproven)


def key_failure(
    events: _KeyEvents,
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
    try:
        return datetime.fromisoformat(stamp.replace("Z", "+00:00"))
    except ValueError:
        return None


def _stamp(at: datetime) -> str:
    return at.isoformat().replace("+00:00", "Z")


def check_key_valid_at_issuance(
    credential: Any, keys: Sequence[Part], entry_index: int | None, trust: LedgerTrust
) -> Check:
    """2. Each proof's key was added before the credential's entry and not retired before it."""
    return _check_keys(credential, _key_events(keys, trust), entry_index)


def _check_keys(credential: Any, events: _KeyEvents, entry_index: int | None) -> Check:
    name = "key_valid_at_issuance"
    methods = _verification_methods(credential)
    if not methods:
        return Check(name, "fail", "no proof names a verification method")
    if entry_index is None:
        return Check(name, "fail", "the credential's ledger entry is unusable: no issuance index")
    did = _issuer_did(credential)
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


# --- revocation transparency -------------------------------------------------------------------

_REVOKING = ("credential.revoked", "credential.superseded")
_SUSPENDING = ("credential.suspended", "credential.unsuspended")


@dataclass(frozen=True, slots=True)
class _StatusLedger:
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


def _status_ledger(
    parts: Sequence[Part], trust: LedgerTrust, credential_id: Any, *, known: bool
) -> _StatusLedger:
    published: dict[tuple[str, str], int] = {}
    latest: dict[str, int] = {}
    events: dict[int, str] = {}
    unproven: list[str] = []
    for part in parts:
        failure = trust.unproven(part)
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
    return _StatusLedger(published, latest, tuple(sorted(events.items())), tuple(unproven), known)


@functools.lru_cache(maxsize=256)
def _digest_of(document: bytes) -> str:
    return hashlib.sha256(document).hexdigest()


def _digest(listing: Mapping[str, Any]) -> str:
    """The SHA-256 (hex) of a status list's RFC 8785 bytes, as ``statuslist.published`` logs it;
    ``"?"`` when it has none."""
    try:
        return _digest_of(canonicalize(listing))
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
    ledger: _StatusLedger,
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
        digest = _digest(listing)
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


def _ledger_status(status: Check, ledger: _StatusLedger) -> Check:
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


# --- witnesses ----------------------------------------------------------------------------------


def check_witnesses(
    note: str | None, witnesses: Sequence[CosignatureVerifier], min_witnesses: int
) -> Check:
    """6. At least ``min_witnesses`` of the known ``witnesses`` cosigned the checkpoint."""
    if not witnesses and min_witnesses <= 0:
        return Check("witnesses", "skip", "no witness policy given")
    if min_witnesses > len(witnesses):
        return Check(
            "witnesses",
            "fail",
            f"{min_witnesses} cosignatures required but only {len(witnesses)} witness keys known",
        )
    if note is None:
        return Check("witnesses", "fail", "no checkpoint to look for cosignatures on")
    try:
        cosigned = verify_cosignatures(note, list(witnesses))
    except OrgBookError as exc:
        return Check("witnesses", "fail", f"cosignatures unreadable: {exc.detail}")
    names = ", ".join(sorted(cosigned)) or "none"
    details = {"cosigned": dict(sorted(cosigned.items())), "required": min_witnesses}
    if len(cosigned) < min_witnesses:
        return Check(
            "witnesses",
            "fail",
            f"{len(cosigned)} of {len(witnesses)} known witnesses cosigned ({names}); "
            f"{min_witnesses} required",
            details,
        )
    return Check(
        "witnesses",
        "pass",
        f"{len(cosigned)} of {len(witnesses)} known witnesses cosigned ({names}); "
        f"{min_witnesses} required",
        details,
    )


# --- keys learnt from the ledger ----------------------------------------------------------------


class _LedgerResolver:
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
                from orgbook.did import resolve_did_key

                return resolve_did_key(did)
            raise NotFound(f"no ledger-proven keys for {did!r}")
        return copy.deepcopy(ours)


def _ledger_documents(events: _KeyEvents) -> dict[str, dict[str, Any]]:
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


# --- the whole bundle ---------------------------------------------------------------------------


def _part(entry: object, proof: object, entry_field: str, proof_field: str) -> Part:
    try:
        return parse_proven_entry(entry, proof, entry_field=entry_field, proof_field=proof_field)
    except BadInput as exc:
        return exc


def _item(value: object, field: str) -> Part:
    if not isinstance(value, Mapping):
        return BadInput("expected {entry, proof}", field=field)
    return _part(value.get("entry"), value.get("proof"), f"{field}/entry", f"{field}/proof")


def _note_of(proof: object) -> str | None:
    try:
        return parse_tlog_proof(proof)[2]
    except BadInput:
        return None


def _guard(name: str, run: Callable[[], Check]) -> Check:
    try:
        return run()
    except RecursionError:
        return Check(name, "fail", "input is nested too deeply")
    except Exception as exc:  # a bug in a check must not crash the verifier
        return Check(name, "fail", f"check could not complete ({type(exc).__name__})")


def _recording(
    fetch: Callable[[str], Mapping[str, Any]] | None, seen: dict[str, Mapping[str, Any]]
) -> Callable[[str], Mapping[str, Any]] | None:
    """``fetch``, keeping each status list it returns in ``seen`` (URL -> list)."""
    if fetch is None:
        return None

    def fetch_and_keep(url: str) -> Mapping[str, Any]:
        listing = fetch(url)
        if isinstance(listing, Mapping):
            seen[url] = listing
        return listing

    return fetch_and_keep


def _list_key_failure(
    url: str, listing: Mapping[str, Any], events: _KeyEvents, index: int | None
) -> str | None:
    """Why a status list's signing key was not its issuer's key when it was signed, or None.

    When the ledger logged the list (``index``), ledger order decides; otherwise the proof's
    ``created`` time against the key entries' timestamps.
    """
    issuer = _issuer_did(listing)
    raw = listing.get("proof")
    for proof in raw if isinstance(raw, list) else [raw]:
        if not isinstance(proof, Mapping) or not isinstance(proof.get("verificationMethod"), str):
            continue  # the status check reports an unusable proof
        vm = proof["verificationMethod"]
        created = proof.get("created")
        at = _entry_time(created) if isinstance(created, str) else None
        if index is None and (at is None or at.tzinfo is None):
            continue
        failure = key_failure(
            events, vm, issuer, index=index, at=at, what="the status list was signed"
        )
        if failure is not None:
            return f"status list {url}: {failure}"
    return None


def verify_bundle(
    bundle_obj: Any,
    *,
    ledger_keys: Sequence[NoteVerifier],
    now: datetime,
    witnesses: Sequence[CosignatureVerifier] = (),
    min_witnesses: int = 0,
    newer_checkpoint: str | None = None,
    consistency_proof: Sequence[bytes] | None = None,
    status_lists: Callable[[str], Mapping[str, Any]] | None = None,
    key_entries: Sequence[Any] = (),
    status_entries: Sequence[Any] | None = None,
) -> Report:
    """Verify a bundle (any parsed JSON value) against the ledger key; never raises on input.

    Keys come from the ledger's key history only: the bundle's ledger-proven ``issuer.key.*``
    entries plus ``key_entries`` (more ``{entry, proof}`` items, e.g. the registry's current
    ones under its latest checkpoint, so a status list signed by a key added after the bundle
    was made can be checked). A key must be valid when the credential (its entry) or the status
    list (its ``created``) was signed: :func:`key_failure`. ``status_lists(url)`` returns a
    status list credential (None: status skipped). ``newer_checkpoint`` with
    ``consistency_proof`` (from the smaller tree to the larger) enables the consistency check.
    """
    try:
        credential = check_envelope(bundle_obj)
    except BadInput as exc:
        return Report((Check("bundle", "fail", f"not a usable bundle: {_bad_part(exc)}"),))
    assert isinstance(bundle_obj, Mapping)
    main = _part(bundle_obj.get("entry"), bundle_obj.get("proof"), "/entry", "/proof")
    raw_issuer = bundle_obj.get("issuer")
    issuer = _item(raw_issuer, "/issuer") if raw_issuer is not None else None
    keys = [_item(v, f"/issuerKeys/{i}") for i, v in enumerate(bundle_obj.get("issuerKeys", []))]
    keys += [_item(v, f"(ledger key entry {i})") for i, v in enumerate(key_entries)]
    trust = LedgerTrust(ledger_keys)
    entry_index = main.entry.index if isinstance(main, ProvenEntry) else None
    note = _note_of(bundle_obj.get("proof"))

    raw_status = bundle_obj.get("status")
    raw_status = raw_status if isinstance(raw_status, Mapping) else {}
    status_parts = [
        _item(v, f"/status/{name}/{i}")
        for name in ("lists", "events")
        for i, v in enumerate(raw_status.get(name) or [])
    ]
    status_parts += [
        _item(v, f"(ledger status entry {i})") for i, v in enumerate(status_entries or ())
    ]
    status_ledger = _status_ledger(
        status_parts,
        trust,
        credential.get("id"),
        known="status" in bundle_obj or status_entries is not None,
    )

    events = _key_events(keys, trust)
    ledger_resolver = _LedgerResolver(_ledger_documents(events))
    fetched: dict[str, Mapping[str, Any]] = {}
    base = verify_credential(
        credential,
        resolver=ledger_resolver,
        status_lists=_recording(status_lists, fetched),
        now=now,
    )
    trusted = _guard(
        "issuer_trusted", lambda: check_issuer_trusted(credential, issuer, entry_index, trust)
    )
    key_valid = _guard(
        "key_valid_at_issuance", lambda: _check_keys(credential, events, entry_index)
    )
    status = base.check("status")
    logged = _guard(
        "status_logged",
        lambda: check_status_logged(credential, status_ledger, fetched, status),
    )
    if status is not None:
        status = _ledger_status(status, status_ledger)
        for url, listing in fetched.items():
            index = status_ledger.published.get((url, _digest(listing)))
            failure = _list_key_failure(url, listing, events, index)
            if failure is not None:
                status = Check("status", "fail", failure, status.details)
                break
    checks: list[Check] = []
    for check in base.checks:
        if check.name == "issuer_trusted":
            checks += [trusted, key_valid]
        elif check.name == "status" and status is not None:
            checks += [status, logged]
        else:
            checks.append(check)
    checks += [
        _guard("ledger_inclusion", lambda: check_ledger_inclusion(credential, main)),
        _guard("checkpoint", lambda: check_checkpoint(note, trust.keys, trust=trust)),
        _guard(
            "consistency",
            lambda: check_consistency(
                note, newer_checkpoint, consistency_proof, trust.keys, trust=trust
            ),
        ),
        _guard("witnesses", lambda: check_witnesses(note, witnesses, min_witnesses)),
    ]
    return Report(tuple(checks))
