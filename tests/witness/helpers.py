"""Ledgers for witness tests: a real ``Ledger`` on SQLite, and a fork with the same key."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import Engine

from orgbook.core.crypto import Ed25519Signer
from orgbook.ledger.note import CosignatureSigner, NoteSigner
from orgbook.ledger.store import Ledger
from orgbook.storage.engine import make_engine
from orgbook.storage.migrations import upgrade
from orgbook.witness.core import format_add_checkpoint

ORIGIN = "registry.test/ledger"
NOW = datetime(2026, 11, 23, 12, 0, 0, tzinfo=UTC)


class TestLog:
    """A ledger with its engine; ``grow(n)`` appends n entries and signs a checkpoint."""

    __test__ = False

    def __init__(self, path: Path, signer: NoteSigner, tag: str = "main") -> None:
        self.engine: Engine = make_engine(f"sqlite:///{path}")
        upgrade(self.engine)
        self.ledger = Ledger(origin=signer.name, signer=signer)
        self.tag = tag

    def grow(self, n: int) -> str:
        with self.engine.begin() as conn:
            start = self.ledger.size(conn)
            items = [("test.entry", {"n": start + i, "tag": self.tag}) for i in range(n)]
            self.ledger.append_many(conn, items, now=NOW)
            return self.ledger.sign_checkpoint(conn, now=NOW)

    @property
    def size(self) -> int:
        with self.engine.connect() as conn:
            return self.ledger.size(conn)

    def request(self, old_size: int, note: str | None = None) -> str:
        """An add-checkpoint body from ``old_size`` to the latest checkpoint."""
        with self.engine.connect() as conn:
            note = note or self.ledger.latest_checkpoint(conn)
            assert note is not None
            size = int(note.split("\n")[1])
            proof = self.ledger.consistency_proof(conn, old_size, size) if old_size <= size else []
        return format_add_checkpoint(old_size, proof, note)

    def close(self) -> None:
        self.engine.dispose()


def log_signer() -> NoteSigner:
    return NoteSigner(ORIGIN, Ed25519Signer.generate())


def witness_signer(name: str = "witness.test/w1") -> CosignatureSigner:
    return CosignatureSigner(name, Ed25519Signer.generate())
