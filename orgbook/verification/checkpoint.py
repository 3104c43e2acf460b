"""Checkpoints: signed by the ledger key, consistent with a newer one, cosigned by witnesses.

What it owns: opening a C2SP signed-note checkpoint against the ledger's keys
(:func:`open_ledger_checkpoint`, remembered per note text and keys in :class:`LedgerTrust`),
reading the checkpoint a note or a bundle *states* without checking its signature
(:func:`stated_checkpoint`, :func:`bundle_checkpoint`), and three bundle checks:

* ``checkpoint`` — the checkpoint is a C2SP signed note by the ledger key, for its origin;
* ``consistency`` — the checkpoint is consistent with a newer one (RFC 9162 §2.1.4.2), or equal
  (:func:`consistency_failure` is the same question for any two checkpoints);
* ``witnesses`` — at least k of the known witnesses cosigned the checkpoint.

What it must not do: I/O, read the clock, or raise on what a check is handed: every problem
becomes a failing check (the ``open``/``stated`` helpers raise :class:`BadInput` or
:class:`~orgbook.core.errors.VerificationError`, as documented).
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from typing import Any

from orgbook.core.errors import OrgBookError, VerificationError
from orgbook.ledger.merkle import verify_consistency
from orgbook.ledger.note import (
    Checkpoint,
    CosignatureVerifier,
    NoteVerifier,
    open_note,
    parse_note,
    verify_cosignatures,
)
from orgbook.verification.bundle import parse_tlog_proof
from orgbook.verification.report import Check

__all__ = [
    "LedgerTrust",
    "bundle_checkpoint",
    "check_checkpoint",
    "check_consistency",
    "check_witnesses",
    "consistency_failure",
    "open_ledger_checkpoint",
    "stated_checkpoint",
]


@functools.lru_cache(maxsize=1024)
def stated_checkpoint(note: str) -> Checkpoint:
    """The checkpoint a note states, signature unchecked; :class:`BadInput` if it does not parse.

    Remembered per note text (a pure parse into a frozen value; failures are not remembered).
    """
    return Checkpoint.parse(parse_note(note).text)


def open_ledger_checkpoint(note: str, ledger_keys: Sequence[NoteVerifier]) -> Checkpoint:
    """The checkpoint, verified: signed by a ledger key whose name is the checkpoint's origin.

    Raises :class:`BadInput` (malformed) or :class:`~orgbook.core.errors.VerificationError`.
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


def bundle_checkpoint(bundle: Mapping[str, Any]) -> Checkpoint | None:
    """The checkpoint a bundle's tlog-proof states, signature unchecked; None when unreadable."""
    try:
        return stated_checkpoint(parse_tlog_proof(bundle.get("proof"))[2])
    except OrgBookError:
        return None


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
        stated = stated_checkpoint(note)
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
