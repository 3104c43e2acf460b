"""The registry's side of witnessing: receive, store and serve witness cosignatures.

Owns the table ``ledger_cosignatures(size, witness, key_hash, line, timestamp, received_at)``
(created on the first push, outside the migrated schema for now):
one row per (checkpoint size, witness key), the latest valid cosignature/v1 line that witness
made on the registry's own checkpoint at that size, and:

* :func:`configured_witnesses`: the witness keys the registry accepts (``ORGBOOK_WITNESSES``,
  comma-separated cosignature/v1 verifier keys);
* :func:`store_cosignatures`: keep the valid cosignatures a witness pushed (a signed note: the
  checkpoint with the cosignature lines appended); a note whose text is *not* the registry's
  own checkpoint at that size is refused (409): the witness saw another ledger;
* :func:`checkpoint_with_cosignatures`: the latest signed checkpoint with its stored
  cosignatures appended — what ``GET /api/v1/ledger/checkpoint`` serves;
* ``POST /api/v1/ledger/cosignatures`` (``router(settings)``).

Must not: sign anything, or trust a cosignature it has not verified.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime

from fastapi import APIRouter, Request
from pydantic import BaseModel
from sqlalchemy import (
    BigInteger,
    Column,
    Connection,
    Engine,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    inspect,
    select,
)
from sqlalchemy.dialects import postgresql, sqlite
from starlette.concurrency import run_in_threadpool

from orgbook.config import Settings
from orgbook.errors import (
    BadInput,
    ConfigurationError,
    Conflict,
    Forbidden,
    NotFound,
    PayloadTooLarge,
    VerificationError,
)
from orgbook.http.deps import EngineDep, RegistryDep
from orgbook.http.ratelimit import rate_limited
from orgbook.ledger.entry import format_timestamp
from orgbook.ledger.note import (
    Checkpoint,
    CosignatureVerifier,
    NoteSignature,
    add_signatures,
    parse_note,
    verify_cosignatures,
)
from orgbook.ledger.store import Ledger

__all__ = [
    "WITNESSES_ENV",
    "CosignaturesOut",
    "checkpoint_with_cosignatures",
    "configured_witnesses",
    "cosignature_metadata",
    "cosignatures_at",
    "ensure_table",
    "ledger_cosignatures",
    "router",
    "store_cosignatures",
]

WITNESSES_ENV = "ORGBOOK_WITNESSES"
MAX_NOTE_BYTES = 64 * 1024

_Size = BigInteger().with_variant(Integer(), "sqlite")

# Its own MetaData, created on first use (:func:`ensure_table`): not yet part of the shared
# schema that ``orgbook.migrations`` manages, which a new table must join through a revision.
cosignature_metadata = MetaData()

ledger_cosignatures = Table(
    "ledger_cosignatures",
    cosignature_metadata,
    Column("size", _Size, primary_key=True, autoincrement=False),
    Column("witness", String(500), primary_key=True),
    Column("key_hash", LargeBinary(4), primary_key=True),
    Column("line", Text, nullable=False),
    Column("timestamp", BigInteger, nullable=False),
    Column("received_at", String(32), nullable=False),
)


def configured_witnesses(
    environ: Mapping[str, str] | None = None,
) -> tuple[CosignatureVerifier, ...]:
    """The witness keys in ``ORGBOOK_WITNESSES``; :class:`ConfigurationError` if one is bad."""
    raw = (os.environ if environ is None else environ).get(WITNESSES_ENV, "")
    keys: list[CosignatureVerifier] = []
    for item in raw.split(","):
        item = item.strip()
        if not item:
            continue
        try:
            keys.append(CosignatureVerifier.from_vkey(item))
        except BadInput as exc:
            raise ConfigurationError(
                f"{WITNESSES_ENV}: {item!r} is not a cosignature/v1 verifier key: {exc.detail}",
                field=WITNESSES_ENV,
            ) from exc
    return tuple(keys)


def _has_table(conn: Connection) -> bool:
    return inspect(conn).has_table(ledger_cosignatures.name)


def cosignatures_at(conn: Connection, size: int) -> list[NoteSignature]:
    """The stored cosignatures on the checkpoint at ``size``, by witness name."""
    if not _has_table(conn):
        return []
    rows = conn.execute(
        select(ledger_cosignatures.c.line)
        .where(ledger_cosignatures.c.size == size)
        .order_by(ledger_cosignatures.c.witness, ledger_cosignatures.c.key_hash)
    )
    sigs: list[NoteSignature] = []
    for (line,) in rows:
        sigs.extend(parse_note("x\n\n" + str(line)).signatures)
    return sigs


def checkpoint_with_cosignatures(conn: Connection, ledger: Ledger) -> str:
    """The latest signed checkpoint with the witnesses' cosignatures appended.

    :class:`NotFound` before the first checkpoint. Cosignatures were verified when stored.
    """
    note = ledger.latest_checkpoint(conn)
    if note is None:
        raise NotFound("the ledger has no signed checkpoint yet")
    size = Checkpoint.parse(parse_note(note).text).size
    sigs = cosignatures_at(conn, size)
    return add_signatures(note, sigs) if sigs else note


def store_cosignatures(
    conn: Connection,
    ledger: Ledger,
    note_text: str,
    witnesses: Sequence[CosignatureVerifier],
    *,
    now: datetime | None = None,
) -> list[str]:
    """Keep the valid cosignatures in ``note_text`` on the registry's checkpoint; their names.

    1. The note must parse and state a checkpoint of this ledger (BadInput).
    2. The registry must have signed a checkpoint at that size (NotFound), with exactly that
       text (Conflict: the witness was shown another ledger — report it).
    3. At least one cosignature by a configured witness must verify (Forbidden when none are
       configured, VerificationError otherwise).
    """
    if not witnesses:
        raise Forbidden(f"this registry accepts no witness cosignatures ({WITNESSES_ENV} unset)")
    parsed = parse_note(note_text)
    checkpoint = Checkpoint.parse(parsed.text)
    if checkpoint.origin != ledger.origin:
        raise BadInput(f"a checkpoint of {checkpoint.origin!r}, not of {ledger.origin!r}")
    ours = ledger.checkpoint_at(conn, checkpoint.size)
    if ours is None:
        raise NotFound(f"this registry signed no checkpoint at size {checkpoint.size}")
    if parse_note(ours).text != parsed.text:
        raise Conflict(
            f"the cosigned checkpoint at size {checkpoint.size} is not the one this registry "
            "signed: the witness was shown a different ledger"
        )
    valid = verify_cosignatures(note_text, witnesses)
    if not valid:
        raise VerificationError("no valid cosignature by a configured witness")
    by_id = {(w.name, w.key_hash): w for w in witnesses}
    stamp = format_timestamp(now or datetime.now(UTC))
    stored: list[str] = []
    for sig in parsed.signatures:
        witness = by_id.get((sig.name, sig.key_hash))
        if witness is None or valid.get(witness.name) is None:
            continue
        timestamp = witness.verify(parsed.text, sig)
        if timestamp is None or timestamp != valid[witness.name]:
            continue  # not the newest valid one
        _upsert(conn, checkpoint.size, sig, timestamp, stamp)
        stored.append(witness.name)
    return sorted(set(stored))


def _upsert(conn: Connection, size: int, sig: NoteSignature, timestamp: int, stamp: str) -> None:
    values = {
        "size": size,
        "witness": sig.name,
        "key_hash": sig.key_hash,
        "line": sig.line(),
        "timestamp": timestamp,
        "received_at": stamp,
    }
    keys = [
        ledger_cosignatures.c.size,
        ledger_cosignatures.c.witness,
        ledger_cosignatures.c.key_hash,
    ]
    newer = ledger_cosignatures.c.timestamp < timestamp
    update = {"line": values["line"], "timestamp": timestamp, "received_at": stamp}
    if conn.dialect.name == "postgresql":
        pg = postgresql.insert(ledger_cosignatures).values(**values)
        conn.execute(pg.on_conflict_do_update(index_elements=keys, set_=update, where=newer))
    else:
        lite = sqlite.insert(ledger_cosignatures).values(**values)
        conn.execute(lite.on_conflict_do_update(index_elements=keys, set_=update, where=newer))


def ensure_table(engine: Engine) -> None:
    """Create ``ledger_cosignatures`` if missing (for callers outside ``create_app``)."""
    ledger_cosignatures.create(engine, checkfirst=True)


class CosignaturesOut(BaseModel):
    size: int
    stored: list[str]


def router(settings: Settings) -> APIRouter:
    """``POST /api/v1/ledger/cosignatures``: a witness pushes its cosignature."""
    witnesses = configured_witnesses()
    api = APIRouter(prefix="/api/v1/ledger", tags=["ledger"], dependencies=[rate_limited("read")])

    @api.post(
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
            ensure_table(engine)
            with engine.begin() as conn:
                return store_cosignatures(conn, registry.ledger, text, witnesses)

        stored = await run_in_threadpool(store)
        size = Checkpoint.parse(parse_note(text).text).size
        return CosignaturesOut(size=size, stored=stored)

    _ = settings
    return api
