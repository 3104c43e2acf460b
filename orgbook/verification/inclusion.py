"""Ledger entries proven by inclusion: the ``ledger_inclusion`` check and :func:`why_unproven`.

What it owns: reading a bundle's ``{entry, proof}`` parts leniently (:data:`Part`: the proven
entry, or the :class:`BadInput` saying why it is unusable), whether an entry's leaf hash
``SHA-256(0x00 ‖ JCS(entry))`` is included at its index under a checkpoint's root (RFC 9162
§2.1.3.2), and two uses of it:

* ``ledger_inclusion`` — the credential's entry is ``credential.issued``, its payload credential
  is the presented one byte for byte (JCS), and it is included under the root the checkpoint
  *states* (whether the ledger signed it is the ``checkpoint`` check's question);
* :func:`why_unproven` — whether an entry that vouches for something (the issuer's
  registration, its keys, status entries) is proven: included under a checkpoint the ledger
  key signed.

What it must not do: I/O, or raise on what it is handed: every problem is a reason.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from orgbook.core.canonical import canonicalize
from orgbook.core.errors import BadInput, OrgBookError
from orgbook.ledger.merkle import verify_inclusion
from orgbook.ledger.note import Checkpoint
from orgbook.verification.bundle import ProvenEntry, parse_proven_entry
from orgbook.verification.checkpoint import LedgerTrust, stated_checkpoint
from orgbook.verification.report import Check

__all__ = [
    "Part",
    "check_ledger_inclusion",
    "included_leaf",
    "part_problem",
    "read_item",
    "read_part",
    "why_unproven",
]

Part = ProvenEntry | BadInput
"""A bundle part as parsed: the proven entry, or why it could not be read."""


def read_part(entry: object, proof: object, entry_field: str, proof_field: str) -> Part:
    """An entry and its tlog-proof as a :data:`Part` (never raises :class:`BadInput`)."""
    try:
        return parse_proven_entry(entry, proof, entry_field=entry_field, proof_field=proof_field)
    except BadInput as exc:
        return exc


def read_item(value: object, field: str) -> Part:
    """An ``{entry, proof}`` item at JSON pointer ``field`` as a :data:`Part`."""
    if not isinstance(value, Mapping):
        return BadInput("expected {entry, proof}", field=field)
    return read_part(value.get("entry"), value.get("proof"), f"{field}/entry", f"{field}/proof")


def part_problem(exc: BadInput) -> str:
    """Why a part is unusable, with the JSON pointer of the field at fault."""
    return f"{exc.detail} (at {exc.field})" if exc.field else exc.detail


def included_leaf(part: ProvenEntry, checkpoint: Checkpoint) -> tuple[bytes | None, str | None]:
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


def why_unproven(trust: LedgerTrust, part: Part) -> str | None:
    """Why ``part`` is not proven on the ledger (under a checkpoint it signed), or None."""
    if isinstance(part, BadInput):
        return part_problem(part)
    checkpoint = trust.checkpoint(part.note)
    if isinstance(checkpoint, str):
        return f"its checkpoint does not verify: {checkpoint}"
    return included_leaf(part, checkpoint)[1]


def check_ledger_inclusion(credential: Any, part: Part) -> Check:
    """3. The credential's ``credential.issued`` entry is included under the checkpoint's root."""
    if isinstance(part, BadInput):
        return Check("ledger_inclusion", "fail", f"ledger entry unusable: {part_problem(part)}")
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
        checkpoint = stated_checkpoint(part.note)
    except OrgBookError as exc:
        return Check(
            "ledger_inclusion", "fail", f"no checkpoint root to check against: {exc.detail}"
        )
    leaf, failure = included_leaf(part, checkpoint)
    if failure is not None or leaf is None:
        return Check("ledger_inclusion", "fail", failure or "the entry has no leaf hash")
    return Check(
        "ledger_inclusion",
        "pass",
        f"entry {entry.index} is included in the ledger at tree size {checkpoint.size} "
        f"({len(part.proof)}-hash RFC 9162 proof)",
        {"index": entry.index, "leafHash": leaf.hex(), "treeSize": checkpoint.size},
    )
