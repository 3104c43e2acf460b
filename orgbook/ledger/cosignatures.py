"""Witness cosignatures the registry keeps on its own checkpoints: storage and the rules.

Owns the table ``ledger_cosignatures(size, witness, key_hash, line, timestamp, received_at)``
(revision ``0003``): one row per (checkpoint size, witness key), the latest valid cosignature/v1
line that witness made on the registry's own checkpoint at that size, and:

* :func:`configured_witnesses`: the witness keys the registry accepts (``ORGBOOK_WITNESSES``,
  comma-separated cosignature/v1 verifier keys);
* :func:`store_cosignatures`: keep the valid cosignatures a witness pushed (a signed note: the
  checkpoint with the cosignature lines appended); a note whose text is *not* the registry's
  own checkpoint at that size is refused (409): the witness saw another ledger;
* :func:`cosignatures_at`, :func:`checkpoint_with_cosignatures`: what the ledger endpoints,
  bundles and static tiles serve.

The HTTP route is :mod:`orgbook.verifier.witness_api`. Statements run in the caller's
transaction. Must not: commit, sign anything, or keep a cosignature it has not verified.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime

from sqlalchemy import (
    BigInteger,
    Column,
    Connection,
    Integer,
    LargeBinary,
    String,
    Table,
    Text,
    select,
)
from sqlalchemy.dialects import postgresql, sqlite

from orgbook.core.errors import (
    BadInput,
    ConfigurationError,
    Conflict,
    Forbidden,
    NotFound,
    VerificationError,
)
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
from orgbook.storage.engine import metadata

__all__ = [
    "WITNESSES_ENV",
    "checkpoint_with_cosignatures",
    "configured_witnesses",
    "cosignatures_at",
    "ledger_cosignatures",
    "store_cosignatures",
]

WITNESSES_ENV = "ORGBOOK_WITNESSES"

_Size = BigInteger().with_variant(Integer(), "sqlite")

ledger_cosignatures = Table(
    "ledger_cosignatures",
    metadata,
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


def cosignatures_at(conn: Connection, size: int) -> list[NoteSignature]:
    """The stored cosignatures on the checkpoint at ``size``, by witness name."""
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
