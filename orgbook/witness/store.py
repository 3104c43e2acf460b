"""The witness's state: configured logs, cosigned checkpoints, refusals, and its key at rest.

Tables live on their own ``MetaData`` (a witness database holds no ledger), made through
:func:`orgbook.storage.engine.make_engine`, so SQLite (WAL, ``BEGIN IMMEDIATE``) by default:

* ``witness_logs(origin, keys, url, added_at)``: the logs it follows and their verifier keys;
* ``witness_checkpoints(origin, size, root, note, cosignature, cosigned_at)``: every checkpoint
  it cosigned (the latest per origin is the one with the largest size);
* ``witness_refusals(id, origin, kind, reason, known_size, old_size, known_note,
  presented_note, proof, at)``: refused checkpoints that are evidence of a split view.

:meth:`WitnessStore.submit` checks and records in one write transaction (the log's row is
locked first), so two concurrent requests cannot roll the witness back (tlog-witness).

The key: ``<data-dir>/witness.key`` holds the Ed25519 seed sealed with
:func:`orgbook.core.keystore.seal_seed` (mode 0600); ``witness.vkey`` the public cosignature/v1
verifier key, whose name is the witness's name.
"""

from __future__ import annotations

import base64
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

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
    delete,
    insert,
    select,
    update,
)

from orgbook.core.crypto import Ed25519Signer
from orgbook.core.errors import BadInput, ConfigurationError, NotFound
from orgbook.core.keystore import seal_seed, unseal_seed, write_key_file
from orgbook.ledger.entry import format_timestamp
from orgbook.ledger.note import CosignatureSigner, CosignatureVerifier, NoteVerifier
from orgbook.storage.engine import make_engine
from orgbook.witness.core import (
    Accept,
    AddCheckpoint,
    LogConfig,
    Refusal,
    Witnessed,
    cosign,
    evaluate,
)

__all__ = [
    "KEY_FILE",
    "VKEY_FILE",
    "Cosigned",
    "RefusalRecord",
    "WitnessStore",
    "load_or_create_witness_key",
    "witness_metadata",
]

KEY_FILE = "witness.key"
VKEY_FILE = "witness.vkey"
DB_FILE = "witness.sqlite3"

witness_metadata = MetaData()

witness_logs = Table(
    "witness_logs",
    witness_metadata,
    Column("origin", String(500), primary_key=True),
    Column("keys", Text, nullable=False),
    Column("url", Text, nullable=True),
    Column("added_at", String(32), nullable=False),
)

witness_checkpoints = Table(
    "witness_checkpoints",
    witness_metadata,
    Column("origin", String(500), primary_key=True),
    Column("size", BigInteger, primary_key=True, autoincrement=False),
    Column("root", LargeBinary(32), nullable=False),
    Column("note", Text, nullable=False),
    Column("cosignature", Text, nullable=False),
    Column("cosigned_at", BigInteger, nullable=False),
)

witness_refusals = Table(
    "witness_refusals",
    witness_metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("origin", String(500), nullable=False, index=True),
    Column("kind", String(32), nullable=False),
    Column("reason", Text, nullable=False),
    Column("known_size", BigInteger, nullable=True),
    Column("old_size", BigInteger, nullable=False),
    Column("known_note", Text, nullable=False),
    Column("presented_note", Text, nullable=False),
    Column("proof", Text, nullable=False),
    Column("at", String(32), nullable=False),
)


@dataclass(frozen=True, slots=True)
class Cosigned:
    """A checkpoint the witness has just cosigned and recorded."""

    witnessed: Witnessed

    @property
    def line(self) -> str:
        return self.witnessed.cosignature


@dataclass(frozen=True, slots=True)
class RefusalRecord:
    """A recorded refusal: the evidence of a split view, as served at ``GET /refusals``."""

    id: int
    origin: str
    kind: str
    reason: str
    known_size: int | None
    old_size: int
    known_note: str
    presented_note: str
    proof: tuple[str, ...]
    at: str

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "origin": self.origin,
            "kind": self.kind,
            "reason": self.reason,
            "known_size": self.known_size,
            "old_size": self.old_size,
            "known": self.known_note,
            "presented": self.presented_note,
            "proof": list(self.proof),
            "at": self.at,
        }


def _witnessed(row: Any) -> Witnessed:
    return Witnessed(
        origin=str(row.origin),
        size=int(row.size),
        root=bytes(row.root),
        note=str(row.note),
        cosignature=str(row.cosignature),
        cosigned_at=int(row.cosigned_at),
    )


def _log_config(row: Any) -> LogConfig:
    keys = tuple(NoteVerifier.from_vkey(k) for k in str(row.keys).split())
    return LogConfig(str(row.origin), keys, row.url)


class WitnessStore:
    """The witness database. Holds an engine, no other state between calls."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    @classmethod
    def open(cls, url_or_dir: str | Path) -> WitnessStore:
        """Open (creating the tables) a database URL, or ``witness.sqlite3`` in a directory."""
        text = str(url_or_dir)
        url = text if "://" in text else f"sqlite:///{(Path(text) / DB_FILE).resolve()}"
        engine = make_engine(url)
        witness_metadata.create_all(engine)
        return cls(engine)

    def close(self) -> None:
        self.engine.dispose()

    # --- logs -----------------------------------------------------------------------------

    def add_log(
        self,
        origin: str,
        keys: Sequence[NoteVerifier],
        url: str | None = None,
        *,
        now: datetime | None = None,
    ) -> LogConfig:
        """Follow ``origin`` with these keys (added to any it had); ``url`` replaces the old one."""
        if not origin or "\n" in origin:
            raise BadInput("a log origin is a non-empty single line", field="origin")
        if not keys:
            raise BadInput("a log needs at least one verifier key", field="vkey")
        stamp = format_timestamp(now or datetime.now(UTC))
        with self.engine.begin() as conn:
            row = conn.execute(
                select(witness_logs).where(witness_logs.c.origin == origin).with_for_update()
            ).first()
            if row is None:
                vkeys = list(dict.fromkeys(k.vkey() for k in keys))
                conn.execute(
                    insert(witness_logs).values(
                        origin=origin, keys="\n".join(vkeys), url=url, added_at=stamp
                    )
                )
            else:
                known = str(row.keys).split()
                vkeys = list(dict.fromkeys([*known, *(k.vkey() for k in keys)]))
                conn.execute(
                    update(witness_logs)
                    .where(witness_logs.c.origin == origin)
                    .values(keys="\n".join(vkeys), url=url if url is not None else row.url)
                )
        return LogConfig(origin, tuple(NoteVerifier.from_vkey(k) for k in vkeys), url)

    def remove_log(self, origin: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(delete(witness_logs).where(witness_logs.c.origin == origin))

    def logs(self) -> list[LogConfig]:
        with self.engine.connect() as conn:
            rows = conn.execute(select(witness_logs).order_by(witness_logs.c.origin))
            return [_log_config(row) for row in rows]

    def log(self, origin: str) -> LogConfig | None:
        with self.engine.connect() as conn:
            return self._log(conn, origin)

    def _log(self, conn: Connection, origin: str, *, lock: bool = False) -> LogConfig | None:
        query = select(witness_logs).where(witness_logs.c.origin == origin)
        row = conn.execute(query.with_for_update() if lock else query).first()
        return None if row is None else _log_config(row)

    # --- cosigned checkpoints -------------------------------------------------------------

    def _latest(self, conn: Connection, origin: str) -> Witnessed | None:
        row = conn.execute(
            select(witness_checkpoints)
            .where(witness_checkpoints.c.origin == origin)
            .order_by(witness_checkpoints.c.size.desc())
            .limit(1)
        ).first()
        return None if row is None else _witnessed(row)

    def _at(self, conn: Connection, origin: str, size: int) -> Witnessed | None:
        row = conn.execute(
            select(witness_checkpoints).where(
                witness_checkpoints.c.origin == origin, witness_checkpoints.c.size == size
            )
        ).first()
        return None if row is None else _witnessed(row)

    def latest(self, origin: str) -> Witnessed | None:
        """The latest checkpoint cosigned for ``origin``."""
        with self.engine.connect() as conn:
            return self._latest(conn, origin)

    def at_size(self, origin: str, size: int) -> Witnessed | None:
        with self.engine.connect() as conn:
            return self._at(conn, origin, size)

    def all_latest(self) -> list[Witnessed]:
        """The latest cosigned checkpoint of every followed log that has one."""
        found = []
        with self.engine.connect() as conn:
            for origin in conn.execute(select(witness_logs.c.origin)).scalars():
                latest = self._latest(conn, str(origin))
                if latest is not None:
                    found.append(latest)
        return found

    def submit(
        self,
        request: AddCheckpoint,
        signer: CosignatureSigner,
        *,
        now: datetime | None = None,
    ) -> Cosigned | Refusal:
        """Check ``request`` against the recorded state and record the outcome, atomically."""
        when = now or datetime.now(UTC)
        with self.engine.begin() as conn:
            origin = request.checkpoint.origin
            log = self._log(conn, origin, lock=True)  # serialises requests for one log
            latest = self._latest(conn, origin)
            same = self._at(conn, origin, request.checkpoint.size)
            decision = evaluate(request, log, latest, same)
            if isinstance(decision, Refusal):
                self._record_refusal(conn, decision, when)
                return decision
            return Cosigned(self._record_cosigned(conn, decision, signer, when))

    def record_refusal(self, refusal: Refusal, *, now: datetime | None = None) -> None:
        """Keep a refusal found outside :meth:`submit` (e.g. while polling)."""
        with self.engine.begin() as conn:
            self._record_refusal(conn, refusal, now or datetime.now(UTC))

    def _record_refusal(self, conn: Connection, refusal: Refusal, when: datetime) -> None:
        evidence = refusal.evidence
        if evidence is None:  # a stale client or a malformed request proves nothing
            return
        conn.execute(
            insert(witness_refusals).values(
                origin=evidence.origin,
                kind=refusal.kind,
                reason=refusal.reason,
                known_size=refusal.known_size,
                old_size=evidence.old_size,
                known_note=evidence.known_note,
                presented_note=evidence.presented_note,
                proof="\n".join(base64.b64encode(h).decode("ascii") for h in evidence.proof),
                at=format_timestamp(when),
            )
        )

    def _record_cosigned(
        self, conn: Connection, accepted: Accept, signer: CosignatureSigner, when: datetime
    ) -> Witnessed:
        timestamp = int(when.timestamp())
        line = cosign(accepted, signer, timestamp).line()
        checkpoint = accepted.checkpoint
        witnessed = Witnessed(
            checkpoint.origin, checkpoint.size, checkpoint.root, accepted.note, line, timestamp
        )
        values = {
            "root": checkpoint.root,
            "note": accepted.note,
            "cosignature": line,
            "cosigned_at": timestamp,
        }
        result = conn.execute(
            update(witness_checkpoints)
            .where(
                witness_checkpoints.c.origin == checkpoint.origin,
                witness_checkpoints.c.size == checkpoint.size,
            )
            .values(**values)
        )
        if result.rowcount == 0:
            conn.execute(
                insert(witness_checkpoints).values(
                    origin=checkpoint.origin, size=checkpoint.size, **values
                )
            )
        return witnessed

    # --- refusals -------------------------------------------------------------------------

    def refusals(self, origin: str | None = None) -> list[RefusalRecord]:
        query = select(witness_refusals).order_by(witness_refusals.c.id)
        if origin is not None:
            query = query.where(witness_refusals.c.origin == origin)
        with self.engine.connect() as conn:
            return [
                RefusalRecord(
                    id=int(r.id),
                    origin=str(r.origin),
                    kind=str(r.kind),
                    reason=str(r.reason),
                    known_size=None if r.known_size is None else int(r.known_size),
                    old_size=int(r.old_size),
                    known_note=str(r.known_note),
                    presented_note=str(r.presented_note),
                    proof=tuple(str(r.proof).split()),
                    at=str(r.at),
                )
                for r in conn.execute(query)
            ]


# --- the witness key ----------------------------------------------------------------------------


def load_or_create_witness_key(
    data_dir: Path, name: str | None, passphrase: bytes
) -> CosignatureSigner:
    """The witness's cosigning key: unsealed from ``witness.key``, or created on first use.

    ``name`` is required to create the key; afterwards it must match the published vkey's
    name (None: take it from there), since the key hash depends on it.
    """
    directory = Path(data_dir)
    key_path, vkey_path = directory / KEY_FILE, directory / VKEY_FILE
    if key_path.exists():
        if not vkey_path.exists():
            raise ConfigurationError(f"{vkey_path} is missing: it names the witness")
        try:
            published = CosignatureVerifier.from_vkey(vkey_path.read_text("utf-8").strip())
        except BadInput as exc:
            raise ConfigurationError(f"{vkey_path} is not a witness key: {exc.detail}") from exc
        if name is not None and name != published.name:
            raise ConfigurationError(
                f"this witness is named {published.name!r}, not {name!r} (the key hash "
                "depends on the name)"
            )
        seed = unseal_seed(key_path.read_bytes(), passphrase)
        signer = CosignatureSigner(published.name, Ed25519Signer.from_seed(seed))
        if signer.vkey() != published.vkey():
            raise ConfigurationError(f"{key_path} does not match {vkey_path}")
        return signer
    if vkey_path.exists():
        raise ConfigurationError(
            f"{vkey_path} exists but its private key {key_path} is missing: refusing to replace "
            "a published witness key"
        )
    if not name:
        raise ConfigurationError("a new witness needs a name (--name), e.g. witness.example/w1")
    directory.mkdir(parents=True, exist_ok=True)
    key = Ed25519Signer.generate()
    signer = CosignatureSigner(name, key)  # validates the name first
    write_key_file(key_path, seal_seed(key.seed, passphrase), 0o600)
    write_key_file(vkey_path, (signer.vkey() + "\n").encode("utf-8"), 0o644)
    return signer


def read_witness_vkey(data_dir: Path) -> CosignatureVerifier:
    path = Path(data_dir) / VKEY_FILE
    if not path.exists():
        raise NotFound(f"no witness key in {data_dir} (run orgbook witness key --name NAME)")
    return CosignatureVerifier.from_vkey(path.read_text("utf-8").strip())
