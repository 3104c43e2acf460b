"""The public ledger API: checkpoint, verifier key, entries, inclusion and consistency proofs.

What it owns: the ``/api/v1/ledger/…`` routes (the module-level :data:`routes`;
``router(settings)`` is what ``orgbook.app.create_app`` includes). Everything a third-party
verifier or witness needs to check the ledger without orgbook's code: the signed checkpoint (a
C2SP signed note, ``text/plain``), the ledger's verifier key, each entry exactly as hashed (its
RFC 8785 bytes: ``SHA-256(0x00 ‖ body)`` is the leaf hash), and RFC 9162 proofs in hex (or, for
inclusion, as a C2SP ``tlog-proof``).

Caching: entries and proofs for an explicit tree size never change (immutable); the checkpoint
and "latest" proofs get a short max-age. Reads only; the store is ``orgbook.ledger.store``.
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query, Request
from starlette.responses import Response

from orgbook.config import Settings
from orgbook.core.errors import BadInput, ConfigurationError, NotFound
from orgbook.http.caching import cached_json
from orgbook.http.deps import EngineDep, RegistryDep
from orgbook.http.ratelimit import rate_limited
from orgbook.http.routing import PooledRoute
from orgbook.ledger.cosignatures import checkpoint_with_cosignatures
from orgbook.ledger.note import Checkpoint, parse_note
from orgbook.ledger.store import MAX_ENTRIES_PER_READ, Ledger
from orgbook.storage.engine import reading
from orgbook.verification.bundle import format_tlog_proof
from orgbook.verifier.models import ConsistencyProofOut, EntriesOut, EntryOut, InclusionProofOut

__all__ = ["router", "routes"]

CHECKPOINT_MAX_AGE = 5
LATEST_MAX_AGE = 5
MAX_INDEX = 2**53 - 1
DEFAULT_PAGE = 100
TEXT = "text/plain; charset=utf-8"


def _latest_size(conn: object, ledger: Ledger) -> tuple[int, str]:
    note = ledger.latest_checkpoint(conn)  # type: ignore[arg-type]
    if note is None:
        raise NotFound("the ledger has no signed checkpoint yet")
    return Checkpoint.parse(parse_note(note).text).size, note


routes = APIRouter(
    route_class=PooledRoute,
    prefix="/api/v1/ledger",
    tags=["ledger"],
    dependencies=[rate_limited("read")],
)
"""Every route of this module, in the order of the OpenAPI document."""


@routes.get(
    "/checkpoint",
    summary="The latest signed checkpoint",
    description=(
        "A C2SP tlog-checkpoint signed note: origin, tree size, base64 root, a blank line, "
        "the ledger's signature (and any witness cosignatures)."
    ),
    responses={
        200: {
            "content": {
                "text/plain": {
                    "example": "registry.example/ledger\n352\noIHd…gLk=\n\n"
                    "— registry.example/ledger uLAU…gU=\n"
                }
            }
        }
    },
)
def checkpoint(request: Request, engine: EngineDep, registry: RegistryDep) -> Response:
    with reading(engine) as conn:
        note = checkpoint_with_cosignatures(conn, registry.ledger)
    return cached_json(
        request, note.encode(), immutable=False, max_age=CHECKPOINT_MAX_AGE, media_type=TEXT
    )


@routes.get(
    "/key",
    summary="The ledger's verifier key",
    description=(
        "The C2SP signed-note verifier key (`origin+keyhash+base64(0x01‖Ed25519 key)`) that "
        "checkpoints verify with. Obtain it once, out of band if you can, and pin it."
    ),
    responses={200: {"content": {"text/plain": {}}}},
)
def key(request: Request, registry: RegistryDep) -> Response:
    if not registry.ledger.verifiers:
        raise ConfigurationError("no ledger verifier key configured")
    vkey = registry.ledger.verifiers[0].vkey() + "\n"
    return cached_json(request, vkey.encode(), immutable=False, max_age=3600, media_type=TEXT)


@routes.get(
    "/entries",
    summary="A range of ledger entries",
    description=(
        f"Entries `[start, end)`, at most {MAX_ENTRIES_PER_READ} (default {DEFAULT_PAGE}): "
        "a longer range is cut short, and `end` in the answer says where it stopped (as "
        "RFC 6962 `get-entries` may); an `end` below `start` is an empty range. Immutable "
        "once the range is complete."
    ),
    response_model=EntriesOut,
)
def entries(
    request: Request,
    engine: EngineDep,
    registry: RegistryDep,
    start: Annotated[int, Query(ge=0, le=MAX_INDEX)] = 0,
    end: Annotated[int | None, Query(ge=0, le=MAX_INDEX)] = None,
) -> Response:
    stop = start + DEFAULT_PAGE if end is None else end
    # Cut short rather than refused: a client pages on with start=end.
    stop = max(start, min(stop, start + MAX_ENTRIES_PER_READ))
    with reading(engine) as conn:
        size = registry.ledger.size(conn)
        found = registry.ledger.entries(conn, start, min(stop, size)) if start < size else []
    body = EntriesOut(
        start=start,
        end=stop,
        tree_size=size,
        entries=[
            EntryOut(index=e.index, leaf_hash=e.leaf_hash.hex(), entry=e.entry.to_json())
            for e in found
        ],
    )
    return cached_json(request, body, immutable=stop <= size, max_age=LATEST_MAX_AGE)


@routes.get(
    "/entries/{index}",
    summary="One ledger entry, exactly as hashed",
    description=(
        "The body is the entry's RFC 8785 bytes: `SHA-256(0x00 ‖ body)` is its leaf hash "
        "(also the ETag). Immutable."
    ),
    responses={200: {"content": {"application/json": {}}}},
)
def entry(
    request: Request,
    engine: EngineDep,
    registry: RegistryDep,
    index: Annotated[int, Path(ge=0, le=MAX_INDEX)],
) -> Response:
    with reading(engine) as conn:
        stored = registry.ledger.entry(conn, index)
    return cached_json(
        request,
        stored.data,
        immutable=True,
        etag=f'"{stored.leaf_hash.hex()}"',
        headers={"X-Leaf-Hash": stored.leaf_hash.hex()},
    )


@routes.get(
    "/proof/inclusion",
    summary="An inclusion proof",
    description=(
        "RFC 9162 audit path of the entry at `index` (or with `leaf_hash`, hex) in the tree "
        "of `tree_size` entries (default: the latest checkpoint's; immutable when given). "
        "`format=tlog-proof` answers the C2SP tlog-proof text (needs a signed checkpoint "
        "at that size)."
    ),
    response_model=InclusionProofOut,
    responses={
        200: {
            "content": {
                "text/plain": {
                    "schema": {"type": "string"},
                    "example": "c2sp.org/tlog-proof@v1\nindex 6\n…\n\n<signed checkpoint>\n",
                }
            },
            "description": "The proof: JSON, or with `format=tlog-proof` the C2SP "
            "tlog-proof text (`text/plain`).",
        }
    },
)
def inclusion(
    request: Request,
    engine: EngineDep,
    registry: RegistryDep,
    index: Annotated[int | None, Query(ge=0, le=MAX_INDEX)] = None,
    leaf_hash: Annotated[str | None, Query(pattern=r"^[0-9a-f]{64}$")] = None,
    tree_size: Annotated[int | None, Query(ge=1, le=MAX_INDEX)] = None,
    format: Literal["json", "tlog-proof"] = "json",
) -> Response:
    if (index is None) == (leaf_hash is None):
        raise BadInput("give exactly one of index and leaf_hash", field="index")
    ledger = registry.ledger
    with reading(engine) as conn:
        note: str | None
        if tree_size is None:
            size, note = _latest_size(conn, ledger)
        else:
            if tree_size > ledger.size(conn):
                raise NotFound(f"the ledger has fewer than {tree_size} entries")
            size, note = tree_size, ledger.checkpoint_at(conn, tree_size)
        if index is None:
            assert leaf_hash is not None
            index = ledger.index_of(conn, bytes.fromhex(leaf_hash))
        if index >= size:
            raise NotFound(f"entry {index} is not in the tree of size {size}", field="index")
        stored = ledger.entry(conn, index)
        proof = ledger.inclusion_proof(conn, index, size)
    immutable = tree_size is not None
    if format == "tlog-proof":
        if note is None:
            raise NotFound(f"no signed checkpoint at tree size {size}", field="tree_size")
        text = format_tlog_proof(index, proof, note)
        return cached_json(
            request, text.encode(), immutable=immutable, max_age=LATEST_MAX_AGE, media_type=TEXT
        )
    body = InclusionProofOut(
        index=index,
        tree_size=size,
        leaf_hash=stored.leaf_hash.hex(),
        proof=[h.hex() for h in proof],
        checkpoint=note,
    )
    return cached_json(request, body, immutable=immutable, max_age=LATEST_MAX_AGE)


@routes.get(
    "/proof/consistency",
    summary="A consistency proof",
    description=(
        "RFC 9162 proof that the tree of `from` entries is a prefix of the tree of `to` "
        "(default: the latest checkpoint's size; immutable when given). Empty when equal "
        "or from 0."
    ),
    response_model=ConsistencyProofOut,
)
def consistency(
    request: Request,
    engine: EngineDep,
    registry: RegistryDep,
    from_size: Annotated[int, Query(alias="from", ge=0, le=MAX_INDEX)],
    to_size: Annotated[int | None, Query(alias="to", ge=0, le=MAX_INDEX)] = None,
) -> Response:
    ledger = registry.ledger
    with reading(engine) as conn:
        if to_size is None:
            size, _ = _latest_size(conn, ledger)
        else:
            if to_size > ledger.size(conn):
                raise NotFound(f"the ledger has fewer than {to_size} entries", field="to")
            size = to_size
        if from_size > size:
            # No such proof exists, as for a `to` beyond the ledger: 404, not a bad request.
            raise NotFound(f"no consistency proof from {from_size} to {size}", field="from")
        proof = ledger.consistency_proof(conn, from_size, size)
    body = ConsistencyProofOut.model_validate(
        {"from": from_size, "to": size, "proof": [h.hex() for h in proof]}
    )
    return cached_json(request, body, immutable=to_size is not None, max_age=LATEST_MAX_AGE)


def router(settings: Settings) -> APIRouter:
    """:data:`routes` (``settings`` unused: routes read the application's, as dependencies)."""
    _ = settings
    return routes
