"""The witness's decisions, pure: given what it last cosigned and a request, cosign or refuse.

Owns C2SP ``tlog-witness`` ``add-checkpoint`` request parsing (``old <size>``, ≤ 63 base64
consistency-proof lines, a blank line, the signed checkpoint) and the rules a witness applies
before cosigning, in the order the spec lists them:

1. the origin must be a configured log (404 otherwise);
2. the checkpoint must carry a valid signature by a configured key of that log (403);
3. the old size must not exceed the checkpoint size (400);
4. (orgbook's addition) a checkpoint at a size the witness already cosigned must have the same
   root — two signed roots for one size are a split view (409, evidence kept);
5. the old size must equal the size of the latest checkpoint cosigned for the origin, or 0
   (409, the body being that size, ``text/x.tlog.size``);
6. same size: the roots must be identical (409, evidence kept);
7. the RFC 9162 consistency proof from the old size must verify (422, evidence kept).

Then the checkpoint is cosigned (``cosignature/v1``, the timestamp a parameter). The caller (the
store) runs :func:`evaluate` and persists its outcome in one transaction, as the spec requires.

Also: :func:`check_older` (a polled registry shows a checkpoint *smaller* than the one cosigned)
and :func:`require_witnesses`, the k-of-n cosignature check verifiers use.

Must not: do I/O, read the clock, or know about HTTP or SQL.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from orgbook.core.errors import BadInput, OrgBookError, VerificationError
from orgbook.ledger.merkle import verify_consistency
from orgbook.ledger.note import (
    Checkpoint,
    CosignatureSigner,
    CosignatureVerifier,
    NoteSignature,
    NoteVerifier,
    open_checkpoint,
    parse_note,
)
from orgbook.verification.report import Check

__all__ = [
    "EMPTY_ROOT",
    "MAX_PROOF_LINES",
    "TLOG_SIZE_MEDIA_TYPE",
    "Accept",
    "AddCheckpoint",
    "Evidence",
    "LogConfig",
    "Refusal",
    "RefusalKind",
    "Witnessed",
    "check_older",
    "cosign",
    "evaluate",
    "format_add_checkpoint",
    "origin_hash",
    "parse_add_checkpoint",
    "require_witnesses",
]

MAX_PROOF_LINES = 63
TLOG_SIZE_MEDIA_TYPE = "text/x.tlog.size"
EMPTY_ROOT = hashlib.sha256(b"").digest()
_MAX_SIZE = 2**64 - 1

RefusalKind = Literal[
    "unknown-log", "bad-signature", "bad-request", "old-size-mismatch", "fork", "inconsistent"
]


def origin_hash(origin: str) -> str:
    """A URL-safe name for a log: lowercase hex SHA-256 of its origin line."""
    return hashlib.sha256(origin.encode("utf-8")).hexdigest()


# --- requests -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class AddCheckpoint:
    """An ``add-checkpoint`` request: old size, consistency proof and the signed checkpoint."""

    old_size: int
    proof: tuple[bytes, ...]
    note: str
    checkpoint: Checkpoint
    """The checkpoint body as stated; its signatures are checked by :func:`evaluate`."""


def _decimal(text: str, what: str) -> int:
    if not text.isascii() or not text.isdigit() or (len(text) > 1 and text[0] == "0"):
        raise BadInput(f"{what} is not a decimal without leading zeros")
    value = int(text)
    if value > _MAX_SIZE:
        raise BadInput(f"{what} does not fit in 64 bits")
    return value


def parse_add_checkpoint(body: bytes | str) -> AddCheckpoint:
    """Parse an ``add-checkpoint`` body; :class:`BadInput` (HTTP 400) says what is wrong."""
    if isinstance(body, bytes | bytearray):
        try:
            text = bytes(body).decode("utf-8")
        except UnicodeDecodeError:
            raise BadInput("request body is not UTF-8") from None
    else:
        text = body
    head, sep, note = text.partition("\n\n")
    if not sep:
        raise BadInput("no blank line between the old size and proof and the checkpoint")
    lines = head.split("\n")
    first = lines[0]
    if not first.startswith("old "):
        raise BadInput("the first line must be 'old <size>'")
    old_size = _decimal(first[4:], "old size")
    proof_lines = lines[1:]
    if len(proof_lines) > MAX_PROOF_LINES:
        raise BadInput(f"more than {MAX_PROOF_LINES} consistency proof lines")
    proof: list[bytes] = []
    for number, line in enumerate(proof_lines, 1):
        try:
            raw = base64.b64decode(line.encode("ascii"), validate=True)
        except (binascii.Error, ValueError, UnicodeEncodeError):
            raise BadInput(f"consistency proof line {number} is not base64") from None
        if len(raw) != 32:
            raise BadInput(f"consistency proof line {number} is not a 32-byte hash")
        proof.append(raw)
    parsed = parse_note(note)  # MalformedNote is a BadInput
    checkpoint = Checkpoint.parse(parsed.text)
    return AddCheckpoint(old_size, tuple(proof), note, checkpoint)


def format_add_checkpoint(old_size: int, proof: Sequence[bytes], note: str) -> str:
    """The request body a log (or a test) sends to ``add-checkpoint``."""
    lines = [f"old {old_size}", *(base64.b64encode(h).decode("ascii") for h in proof)]
    return "\n".join(lines) + "\n\n" + note


# --- state and outcomes -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class LogConfig:
    """A log the witness follows: its origin, trusted keys and (for polling) its registry URL."""

    origin: str
    keys: tuple[NoteVerifier, ...]
    url: str | None = None


@dataclass(frozen=True, slots=True)
class Witnessed:
    """A checkpoint the witness cosigned: the log-signed note as received and the cosignature."""

    origin: str
    size: int
    root: bytes
    note: str
    cosignature: str
    """The witness's signature line (``— name base64…\\n``)."""
    cosigned_at: int


@dataclass(frozen=True, slots=True)
class Evidence:
    """Two checkpoints, both signed by the log, that cannot both be true: a split view."""

    origin: str
    known_note: str
    presented_note: str
    old_size: int
    proof: tuple[bytes, ...]

    def to_json(self) -> dict[str, Any]:
        return {
            "origin": self.origin,
            "known": self.known_note,
            "presented": self.presented_note,
            "old_size": self.old_size,
            "proof": [base64.b64encode(h).decode("ascii") for h in self.proof],
        }


@dataclass(frozen=True, slots=True)
class Refusal:
    """Why the witness will not cosign: an HTTP status as tlog-witness prescribes, a reason."""

    status: int
    kind: RefusalKind
    reason: str
    known_size: int | None = None
    evidence: Evidence | None = None


@dataclass(frozen=True, slots=True)
class Accept:
    """The checkpoint passed every check and may be cosigned and recorded."""

    checkpoint: Checkpoint
    note: str


# --- the rules ----------------------------------------------------------------------------------


def _verify_log_signature(note: str, log: LogConfig) -> Checkpoint | Refusal:
    try:
        checkpoint, _ = open_checkpoint(note, log.keys, origin=log.origin)
    except VerificationError:
        return Refusal(403, "bad-signature", f"no valid signature by a known key of {log.origin}")
    except OrgBookError as exc:
        return Refusal(400, "bad-request", exc.detail)
    return checkpoint


def evaluate(
    request: AddCheckpoint,
    log: LogConfig | None,
    latest: Witnessed | None,
    same_size: Witnessed | None = None,
) -> Accept | Refusal:
    """Decide on ``request`` given the log's configuration and what was cosigned before.

    ``latest`` is the latest checkpoint cosigned for the origin; ``same_size`` one cosigned
    earlier at the request's checkpoint size, if any.
    """
    # 1. A known log.
    if log is None:
        return Refusal(404, "unknown-log", f"unknown log {request.checkpoint.origin!r}")
    # 2. Signed by the log.
    checked = _verify_log_signature(request.note, log)
    if isinstance(checked, Refusal):
        return checked
    checkpoint = checked
    known_size = latest.size if latest is not None else 0
    # 3. The old size is not beyond the checkpoint.
    if request.old_size > checkpoint.size:
        return Refusal(
            400,
            "bad-request",
            f"old size {request.old_size} is larger than the checkpoint size {checkpoint.size}",
            known_size,
        )
    # 4. Two roots for one size: whatever the old size says, this is a split view.
    if same_size is not None and same_size.root != checkpoint.root:
        return _fork(request, same_size, known_size)
    # 5. The old size must be what the witness last cosigned.
    if request.old_size != known_size:
        return Refusal(
            409,
            "old-size-mismatch",
            f"old size {request.old_size} is not the latest cosigned size {known_size}",
            known_size,
        )
    known_root = latest.root if latest is not None else EMPTY_ROOT
    # 6. Same size: same root.
    if request.old_size == checkpoint.size:
        if checkpoint.root != known_root:
            if latest is None:  # size 0 with a root that is not the empty tree's
                return Refusal(422, "bad-request", "a tree of size 0 has the empty root")
            return _fork(request, latest, known_size)
        return Accept(checkpoint, request.note)
    # 7. An append-only extension of what was cosigned.
    if not verify_consistency(
        request.old_size, checkpoint.size, known_root, checkpoint.root, list(request.proof)
    ):
        evidence = None
        if latest is not None:
            evidence = Evidence(
                log.origin, latest.note, request.note, request.old_size, request.proof
            )
        return Refusal(
            422,
            "inconsistent",
            f"the consistency proof from size {request.old_size} to {checkpoint.size} does not "
            "verify",
            known_size,
            evidence,
        )
    return Accept(checkpoint, request.note)


def _fork(request: AddCheckpoint, known: Witnessed, known_size: int) -> Refusal:
    return Refusal(
        409,
        "fork",
        f"the log signed two different roots for size {known.size}: a split view",
        known_size,
        Evidence(known.origin, known.note, request.note, request.old_size, request.proof),
    )


def check_older(
    note: str,
    proof: Sequence[bytes],
    log: LogConfig,
    latest: Witnessed,
    same_size: Witnessed | None = None,
) -> Refusal | None:
    """A polled log shows ``note``, smaller than ``latest``: stale (None) or a split view.

    ``proof`` is the log's consistency proof from the note's size to ``latest.size``.
    """
    checked = _verify_log_signature(note, log)
    if isinstance(checked, Refusal):
        return checked
    if checked.size >= latest.size:
        raise BadInput("check_older is for checkpoints smaller than the latest cosigned")
    request = AddCheckpoint(checked.size, tuple(proof), note, checked)
    if same_size is not None and same_size.root != checked.root:
        return _fork(request, same_size, latest.size)
    if verify_consistency(checked.size, latest.size, checked.root, latest.root, list(proof)):
        return None
    return Refusal(
        422,
        "inconsistent",
        f"the log's checkpoint at size {checked.size} is not a prefix of the one cosigned at "
        f"{latest.size}",
        latest.size,
        Evidence(log.origin, latest.note, note, checked.size, tuple(proof)),
    )


def cosign(accepted: Accept, signer: CosignatureSigner, timestamp: int) -> NoteSignature:
    """The witness's ``cosignature/v1`` on an accepted checkpoint at ``timestamp``."""
    return signer.cosign(accepted.checkpoint.body(), timestamp)


# --- verifiers ----------------------------------------------------------------------------------


def require_witnesses(
    note_text: str | None, witnesses: Sequence[CosignatureVerifier], k: int
) -> Check:
    """The ``witnesses`` check: at least ``k`` of ``witnesses`` cosigned the checkpoint.

    The same check bundles get (:func:`orgbook.verification.checkpoint.check_witnesses`), so a
    verifier can apply it to any checkpoint, e.g. one fetched from a registry or a tile server.
    """
    from orgbook.verification.checkpoint import check_witnesses

    return check_witnesses(note_text, witnesses, k)
