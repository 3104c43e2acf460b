"""The registry's side of witnessing over HTTP: ``POST /api/v1/ledger/cosignatures``.

A witness pushes the registry's checkpoint with its cosignature/v1 line(s) appended; the ones
by a witness in ``ORGBOOK_WITNESSES`` that verify are kept. The rules and the table
(``ledger_cosignatures``, in the migrated schema) are :mod:`orgbook.ledger.cosignatures`; this
is their HTTP route, served with the other ledger endpoints (:mod:`orgbook.verifier.ledger_api`).
The witness keys are read once per application, when it is made (:func:`install`).

Must not: sign anything, or trust a cosignature it has not verified.
"""

from __future__ import annotations

from fastapi import APIRouter, FastAPI, Request
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool

from orgbook.config import Settings
from orgbook.core.errors import BadInput, PayloadTooLarge
from orgbook.http.deps import EngineDep, RegistryDep
from orgbook.http.ratelimit import rate_limited
from orgbook.http.routing import PooledRoute
from orgbook.ledger.cosignatures import configured_witnesses, store_cosignatures
from orgbook.ledger.note import Checkpoint, CosignatureVerifier, parse_note

__all__ = ["CosignaturesOut", "install", "router", "routes", "witnesses_of"]

MAX_NOTE_BYTES = 64 * 1024


class CosignaturesOut(BaseModel):
    size: int
    stored: list[str]


routes = APIRouter(
    route_class=PooledRoute,
    prefix="/api/v1/ledger",
    tags=["ledger"],
    dependencies=[rate_limited("read")],
)
"""``POST /api/v1/ledger/cosignatures``: a witness pushes its cosignature."""


def install(app: FastAPI, settings: Settings) -> None:
    """Read the witness keys (``ORGBOOK_WITNESSES``) once, as the application is made: a bad key
    fails ``create_app``, not a witness's push."""
    _ = settings
    app.state.witnesses = configured_witnesses()


def witnesses_of(app: FastAPI) -> tuple[CosignatureVerifier, ...]:
    """The application's witness keys (read by :func:`install`, or else on first use)."""
    witnesses = getattr(app.state, "witnesses", None)
    if not isinstance(witnesses, tuple):
        witnesses = app.state.witnesses = configured_witnesses()
    return witnesses


@routes.post(
    "/cosignatures",
    summary="Push a witness cosignature",
    description=(
        "The body (`text/plain`) is the registry's signed checkpoint with the witness's "
        "cosignature/v1 line(s) appended (the checkpoint followed by a tlog-witness "
        "`add-checkpoint` response). Cosignatures by the witnesses in `ORGBOOK_WITNESSES` "
        "that verify are kept and served with the checkpoint. 409: the checkpoint is not "
        "the one this registry signed at that size."
    ),
    response_model=CosignaturesOut,
)
async def push(request: Request, engine: EngineDep, registry: RegistryDep) -> CosignaturesOut:
    witnesses = witnesses_of(request.app)
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_NOTE_BYTES:
            raise PayloadTooLarge(f"a cosigned checkpoint is at most {MAX_NOTE_BYTES} bytes")
    try:
        text = bytes(body).decode("utf-8")
    except UnicodeDecodeError:
        raise BadInput("the body is not UTF-8") from None

    def store() -> list[str]:
        with engine.begin() as conn:
            return store_cosignatures(conn, registry.ledger, text, witnesses)

    stored = await run_in_threadpool(store)
    size = Checkpoint.parse(parse_note(text).text).size
    return CosignaturesOut(size=size, stored=stored)


def router(settings: Settings) -> APIRouter:
    """:data:`routes` (``settings`` unused; the witness keys are the application's, set by
    :func:`install`)."""
    _ = settings
    return routes
