"""The witness's HTTP interface: C2SP tlog-witness ``add-checkpoint`` plus read-only views.

Routes (``create_witness_app(store, signer)``):

* ``POST /add-checkpoint``: the tlog-witness call. 200 with the cosignature line
  (``text/plain``); 409 with the latest cosigned size (``text/x.tlog.size``) on an old-size
  mismatch or two roots for one size; 400/403/404/422 as the spec says, as problem+json.
* ``GET /checkpoints``: the latest cosigned checkpoint of every log (JSON).
* ``GET /checkpoints/{origin_hash}``: the latest checkpoint cosigned for the log whose origin
  hashes (SHA-256, hex) to ``origin_hash``, with the witness's cosignature appended
  (``text/plain``, a signed note).
* ``GET /refusals``: recorded split-view evidence (JSON), ``?origin=`` to filter.
* ``GET /key``: the witness's cosignature/v1 verifier key.

Thin: decisions are :mod:`orgbook.witness.core`'s, state is :mod:`orgbook.witness.store`'s.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from starlette.responses import JSONResponse, Response

from orgbook.core.errors import NotFound, OrgBookError, PayloadTooLarge
from orgbook.http.problems import install_problem_handlers
from orgbook.ledger.note import CosignatureSigner, add_signatures, parse_note
from orgbook.witness.core import TLOG_SIZE_MEDIA_TYPE, Refusal, origin_hash, parse_add_checkpoint
from orgbook.witness.store import Cosigned, WitnessStore

__all__ = ["MAX_REQUEST_BYTES", "cosigned_note", "create_witness_app", "refusal_response"]

MAX_REQUEST_BYTES = 64 * 1024
TEXT = "text/plain; charset=utf-8"


class _Refused(OrgBookError):
    """A refusal that is not a 409, sent as problem+json with the spec's status."""

    slug = "witness-refused"
    title = "Checkpoint refused"

    def __init__(self, refusal: Refusal) -> None:
        super().__init__(refusal.reason, kind=refusal.kind)
        self.status = refusal.status  # type: ignore[misc]


def refusal_response(refusal: Refusal) -> Response:
    """409 as tlog-witness prescribes: the latest cosigned size, ``text/x.tlog.size``."""
    return Response(
        f"{refusal.known_size or 0}\n", status_code=409, media_type=TLOG_SIZE_MEDIA_TYPE
    )


def cosigned_note(note: str, cosignature_line: str) -> str:
    """The log's checkpoint with the witness's cosignature line appended."""
    sig = parse_note("x\n\n" + cosignature_line).signatures[0]
    return add_signatures(note, [sig])


def create_witness_app(store: WitnessStore, signer: CosignatureSigner) -> FastAPI:
    app = FastAPI(title="orgbook witness", docs_url="/docs", redoc_url=None)
    install_problem_handlers(app)

    @app.post(
        "/add-checkpoint",
        summary="C2SP tlog-witness add-checkpoint",
        responses={
            200: {"content": {"text/plain": {}}},
            409: {"content": {TLOG_SIZE_MEDIA_TYPE: {}}},
        },
    )
    async def add_checkpoint(request: Request) -> Response:
        body = bytearray()
        async for chunk in request.stream():
            body += chunk
            if len(body) > MAX_REQUEST_BYTES:
                raise PayloadTooLarge(f"an add-checkpoint request is at most {MAX_REQUEST_BYTES}")
        parsed = parse_add_checkpoint(bytes(body))  # BadInput → 400
        outcome = store.submit(parsed, signer)
        if isinstance(outcome, Cosigned):
            return Response(outcome.line, media_type=TEXT)
        if outcome.status == 409:
            return refusal_response(outcome)
        raise _Refused(outcome)

    @app.get("/checkpoints", summary="The latest cosigned checkpoint of every log")
    def checkpoints() -> JSONResponse:
        body: list[dict[str, Any]] = [
            {
                "origin": w.origin,
                "origin_hash": origin_hash(w.origin),
                "size": w.size,
                "cosigned_at": w.cosigned_at,
                "checkpoint": cosigned_note(w.note, w.cosignature),
            }
            for w in store.all_latest()
        ]
        return JSONResponse(body, headers={"Cache-Control": "no-cache"})

    @app.get("/checkpoints/{hash_hex}", summary="The latest checkpoint cosigned for one log")
    def checkpoint(hash_hex: str) -> Response:
        for w in store.all_latest():
            if origin_hash(w.origin) == hash_hex.lower():
                return Response(
                    cosigned_note(w.note, w.cosignature),
                    media_type=TEXT,
                    headers={"Cache-Control": "no-cache"},
                )
        raise NotFound("no checkpoint cosigned for that log")

    @app.get("/refusals", summary="Split-view evidence: checkpoints the witness refused")
    def refusals(origin: str | None = None) -> JSONResponse:
        return JSONResponse([r.to_json() for r in store.refusals(origin)])

    @app.get("/key", summary="The witness's cosignature/v1 verifier key")
    def key() -> Response:
        return Response(signer.vkey() + "\n", media_type=TEXT)

    return app
