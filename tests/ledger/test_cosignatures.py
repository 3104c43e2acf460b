"""Witness cosignatures kept by the registry, on SQLite and PostgreSQL.

The table is part of the migrated schema: nothing creates it on the first push any more.
"""

from __future__ import annotations

import pytest
from sqlalchemy import Engine, func, select

from orgbook.core.errors import Conflict, Forbidden, VerificationError
from orgbook.ledger.cosignatures import (
    checkpoint_with_cosignatures,
    cosignatures_at,
    ledger_cosignatures,
    store_cosignatures,
)
from orgbook.ledger.note import CosignatureSigner, NoteSigner, add_signatures, verify_cosignatures
from orgbook.ledger.store import Ledger
from tests.witness.helpers import NOW, log_signer, witness_signer

T0 = int(NOW.timestamp())


def _signed(engine: Engine, ledger: Ledger, n: int) -> str:
    with engine.begin() as conn:
        ledger.append_many(conn, [("test.entry", {"n": i}) for i in range(n)], now=NOW)
        return ledger.sign_checkpoint(conn, now=NOW)


def _cosigned(note: str, witness: CosignatureSigner, timestamp: int) -> str:
    return add_signatures(note, [witness.cosign(note.split("\n\n")[0] + "\n", timestamp)])


@pytest.fixture
def ledger() -> Ledger:
    signer: NoteSigner = log_signer()
    return Ledger(origin=signer.name, signer=signer)


def test_a_fresh_database_has_the_table_and_no_cosignatures(engine: Engine, ledger: Ledger) -> None:
    note = _signed(engine, ledger, 3)
    with engine.connect() as conn:
        assert cosignatures_at(conn, 3) == []
        assert checkpoint_with_cosignatures(conn, ledger) == note


def test_the_newest_valid_cosignature_per_witness_is_kept(engine: Engine, ledger: Ledger) -> None:
    w1, w2 = witness_signer("witness.test/w1"), witness_signer("witness.test/w2")
    witnesses = [w1.verifier(), w2.verifier()]
    note = _signed(engine, ledger, 5)
    with engine.begin() as conn:
        assert store_cosignatures(conn, ledger, _cosigned(note, w1, T0), witnesses) == [w1.name]
        assert store_cosignatures(conn, ledger, _cosigned(note, w2, T0), witnesses) == [w2.name]
        # A newer cosignature replaces the stored one; an older one does not come back.
        store_cosignatures(conn, ledger, _cosigned(note, w1, T0 + 60), witnesses)
        store_cosignatures(conn, ledger, _cosigned(note, w1, T0 + 30), witnesses)
    with engine.connect() as conn:
        served = checkpoint_with_cosignatures(conn, ledger)
        rows = conn.execute(select(func.count()).select_from(ledger_cosignatures)).scalar()
    assert rows == 2
    assert verify_cosignatures(served, witnesses) == {w1.name: T0 + 60, w2.name: T0}


def test_refused_pushes_store_nothing(engine: Engine, ledger: Ledger) -> None:
    w1, stranger = witness_signer("witness.test/w1"), witness_signer("witness.test/stranger")
    note = _signed(engine, ledger, 2)
    with engine.begin() as conn:
        with pytest.raises(Forbidden):
            store_cosignatures(conn, ledger, _cosigned(note, w1, T0), [])
        with pytest.raises(VerificationError):
            store_cosignatures(conn, ledger, _cosigned(note, stranger, T0), [w1.verifier()])
        forged = note.replace(note.split("\n")[2], "A" * 43 + "=")  # another root, same size
        with pytest.raises(Conflict):
            store_cosignatures(conn, ledger, _cosigned(forged, w1, T0), [w1.verifier()])
    with engine.connect() as conn:
        assert conn.execute(select(ledger_cosignatures)).first() is None
