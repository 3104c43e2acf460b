"""The witness polling a registry: fetch its checkpoint and proof, cosign, push the cosignature.

For each followed log that has a URL:

1. ``GET <url>/api/v1/ledger/checkpoint`` (the signed note, perhaps with others' cosignatures);
2. if it is larger than the latest cosigned, ``GET <url>/api/v1/ledger/proof/consistency?
   from=<cosigned size>&to=<its size>`` and submit exactly what ``add-checkpoint`` would get
   (same rules, same store transaction); if smaller, fetch the proof from its size to the
   cosigned one and keep evidence when it does not verify (a registry showing a rolled-back or
   forked ledger);
3. after cosigning, ``POST <url>/api/v1/ledger/cosignatures`` with the checkpoint and the
   cosignature appended, so the registry serves it to verifiers.

The HTTP client is a parameter (``httpx.Client``; tests pass a Starlette ``TestClient``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import httpx

from orgbook.core.errors import OrgBookError, UpstreamError
from orgbook.ledger.note import Checkpoint, CosignatureSigner, parse_note
from orgbook.witness.core import AddCheckpoint, LogConfig, Refusal, check_older
from orgbook.witness.server import cosigned_note
from orgbook.witness.store import Cosigned, WitnessStore

__all__ = ["PollResult", "poll_all", "poll_log"]

CHECKPOINT_PATH = "/api/v1/ledger/checkpoint"
CONSISTENCY_PATH = "/api/v1/ledger/proof/consistency"
COSIGNATURES_PATH = "/api/v1/ledger/cosignatures"


@dataclass(frozen=True, slots=True)
class PollResult:
    """One poll of one log: ``cosigned``, ``unchanged``, ``stale``, ``refused`` or ``error``."""

    origin: str
    outcome: str
    size: int | None = None
    detail: str = ""
    pushed: bool = False


def _get(client: httpx.Client, url: str, **params: int) -> httpx.Response:
    try:
        response = client.get(url, params=params or None)
    except httpx.HTTPError as exc:
        raise UpstreamError(f"GET {url} failed ({type(exc).__name__})") from exc
    if response.status_code != 200:
        raise UpstreamError(f"GET {url} answered {response.status_code}")
    return response


def _proof(client: httpx.Client, base: str, old: int, new: int) -> list[bytes]:
    body = _get(client, base + CONSISTENCY_PATH, **{"from": old, "to": new}).json()
    proof = body.get("proof") if isinstance(body, dict) else None
    if not isinstance(proof, list) or not all(isinstance(h, str) for h in proof):
        raise UpstreamError("the registry's consistency proof is not a list of hex hashes")
    try:
        return [bytes.fromhex(h) for h in proof]
    except ValueError:
        raise UpstreamError("the registry's consistency proof is not hex") from None


def _push(client: httpx.Client, base: str, note: str) -> bool:
    try:
        response = client.post(
            base + COSIGNATURES_PATH,
            content=note.encode("utf-8"),
            headers={"Content-Type": "text/plain; charset=utf-8"},
        )
    except httpx.HTTPError:
        return False
    return response.status_code == 200


def poll_log(
    store: WitnessStore,
    signer: CosignatureSigner,
    log: LogConfig,
    client: httpx.Client,
    *,
    push: bool = True,
    now: datetime | None = None,
) -> PollResult:
    """Poll one log (it must have a URL); never raises on what the registry answers."""
    if not log.url:
        return PollResult(log.origin, "error", detail="no URL configured for this log")
    base = log.url.rstrip("/")
    try:
        note = _get(client, base + CHECKPOINT_PATH).text
        checkpoint = Checkpoint.parse(parse_note(note).text)
        if checkpoint.origin != log.origin:
            raise UpstreamError(f"the registry serves the log {checkpoint.origin!r}")
        latest = store.latest(log.origin)
        known = latest.size if latest is not None else 0
        if latest is not None and checkpoint.size < known:
            proof = _proof(client, base, checkpoint.size, known)
            same = store.at_size(log.origin, checkpoint.size)
            refusal = check_older(note, proof, log, latest, same)
            if refusal is None:
                return PollResult(log.origin, "stale", checkpoint.size, "an older checkpoint")
            store.record_refusal(refusal, now=now)
            return PollResult(log.origin, "refused", checkpoint.size, refusal.reason)
        if latest is not None and checkpoint.size == known and checkpoint.root == latest.root:
            pushed = push and _push(client, base, cosigned_note(note, latest.cosignature))
            return PollResult(log.origin, "unchanged", known, pushed=pushed)
        proof = _proof(client, base, known, checkpoint.size) if checkpoint.size > known else []
        outcome = store.submit(
            AddCheckpoint(known, tuple(proof), note, checkpoint), signer, now=now
        )
    except (OrgBookError, ValueError) as exc:
        detail = exc.detail if isinstance(exc, OrgBookError) else str(exc)
        return PollResult(log.origin, "error", detail=detail)
    if isinstance(outcome, Refusal):
        return PollResult(log.origin, "refused", checkpoint.size, outcome.reason)
    assert isinstance(outcome, Cosigned)
    pushed = push and _push(client, base, cosigned_note(note, outcome.line))
    return PollResult(log.origin, "cosigned", checkpoint.size, pushed=pushed)


def poll_all(
    store: WitnessStore,
    signer: CosignatureSigner,
    client: httpx.Client,
    *,
    push: bool = True,
    now: datetime | None = None,
) -> list[PollResult]:
    """Poll every followed log that has a URL."""
    return [
        poll_log(store, signer, log, client, push=push, now=now) for log in store.logs() if log.url
    ]
