"""The persistent ledger on SQLite and PostgreSQL: appends, reads, proofs, checkpoints."""

from __future__ import annotations

import itertools
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, delete, func, select, update

from orgbook.core.errors import (
    BadInput,
    ConfigurationError,
    InconsistentCheckpoint,
    LedgerIntegrityError,
    NotFound,
)
from orgbook.ledger import merkle
from orgbook.ledger.entry import GENESIS_PREV
from orgbook.ledger.note import NoteSigner, open_checkpoint
from orgbook.ledger.store import (
    EMPTY_ROOT,
    Ledger,
    ledger_checkpoints,
    ledger_entries,
    ledger_head,
    ledger_nodes,
)

ORIGIN = "orgbook.example/ledger"


@pytest.fixture
def signer() -> NoteSigner:
    return NoteSigner.generate(ORIGIN)


@pytest.fixture
def ledger(signer: NoteSigner) -> Ledger:
    return Ledger(origin=ORIGIN, signer=signer)


def payload(i: int) -> dict[str, Any]:
    return {"credential": {"id": f"urn:uuid:{i}", "name": f"Organisation n° {i}"}, "n": i}


def leaf_hashes(engine: Engine, ledger: Ledger) -> list[bytes]:
    with engine.connect() as conn:
        size = ledger.size(conn)
        out: list[bytes] = []
        for start in range(0, size, 1000):
            out += [s.leaf_hash for s in ledger.entries(conn, start, min(size, start + 1000))]
        return out


def test_empty_ledger(engine: Engine, ledger: Ledger) -> None:
    with engine.begin() as conn:
        assert ledger.size(conn) == 0
        assert ledger.root(conn) == EMPTY_ROOT == merkle.root_hash([])
        assert ledger.latest_checkpoint(conn) is None
        assert ledger.entries(conn, 0, 10) == []
        assert ledger.append_many(conn, []) == []
        with pytest.raises(NotFound):
            ledger.entry(conn, 0)


def test_append_chains_and_stores_exact_bytes(
    engine: Engine, ledger: Ledger, now: datetime
) -> None:
    with engine.begin() as conn:
        first = ledger.append(conn, "issuer.registered", {"did": "did:web:x.example"}, now=now)
        batch = ledger.append_many(
            conn, [("credential.issued", payload(i)) for i in range(5)], now=now
        )
    assert first.index == 0
    assert first.prev == GENESIS_PREV
    assert first.timestamp == "2026-11-23T12:00:00.000000Z"
    assert [e.index for e in batch] == [1, 2, 3, 4, 5]
    chain = [first, *batch]
    for before, after in itertools.pairwise(chain):
        assert after.prev == before.leaf_hash().hex()
    with engine.connect() as conn:
        assert ledger.size(conn) == 6
        for e in chain:
            stored = ledger.entry(conn, e.index)
            assert stored.entry == e
            assert stored.data == e.leaf_bytes()
            assert stored.leaf_hash == e.leaf_hash() == merkle.leaf_hash(stored.data)
            assert ledger.index_of(conn, stored.leaf_hash) == e.index
        raw = conn.execute(select(ledger_entries.c.data).where(ledger_entries.c.idx == 3)).scalar()
        assert bytes(raw) == batch[2].leaf_bytes()
        head = conn.execute(select(ledger_head.c.last_hash)).scalar()
        assert head == batch[-1].leaf_hash().hex()


def test_reads_are_bounded_and_checked(engine: Engine, ledger: Ledger) -> None:
    with engine.begin() as conn:
        ledger.append_many(conn, [("credential.issued", payload(i)) for i in range(30)])
    with engine.connect() as conn:
        assert [s.index for s in ledger.entries(conn, 10, 20)] == list(range(10, 20))
        assert [s.index for s in ledger.entries(conn, 25, 100)] == list(range(25, 30))
        with pytest.raises(BadInput):
            ledger.entries(conn, 0, 1001)
        with pytest.raises(BadInput):
            ledger.entries(conn, 5, 4)
        with pytest.raises(NotFound):
            ledger.entry(conn, 30)
        with pytest.raises(NotFound):
            ledger.index_of(conn, b"\x00" * 32)
        with pytest.raises(BadInput):
            ledger.index_of(conn, b"short")
        with pytest.raises(BadInput):
            ledger.root(conn, 31)
        with pytest.raises(BadInput):
            ledger.inclusion_proof(conn, 30)
        with pytest.raises(BadInput):
            ledger.consistency_proof(conn, 31)


def test_bad_kinds_and_payloads_leave_nothing_behind(engine: Engine, ledger: Ledger) -> None:
    with engine.begin() as conn:
        ledger.append(conn, "credential.issued", payload(0))
    for kind, body in [("Not A Kind", {}), ("credential.issued", {"x": float("nan")})]:
        with pytest.raises(BadInput), engine.begin() as conn:
            ledger.append_many(conn, [("credential.issued", payload(1)), (kind, body)])
    with engine.connect() as conn:
        assert ledger.size(conn) == 1


def test_proofs_and_roots_match_merkle_at_every_size(engine: Engine, ledger: Ledger) -> None:
    sizes = [1, 1, 2, 3, 1, 8, 5, 16, 1, 27]  # odd batch shapes exercise the frontier
    for count in sizes:
        with engine.begin() as conn:
            ledger.append_many(conn, [("credential.issued", payload(i)) for i in range(count)])
    hashes = leaf_hashes(engine, ledger)
    total = sum(sizes)
    assert len(hashes) == total
    with engine.connect() as conn:
        roots = [ledger.root(conn, n) for n in range(total + 1)]
        assert roots[-1] == ledger.root(conn)
        for size in range(total + 1):
            assert roots[size] == merkle.root_hash(hashes[:size]), size
        for size in (1, 2, 7, 8, 9, 31, 32, 33, total):
            for index in range(size):
                proof = ledger.inclusion_proof(conn, index, size)
                assert proof == merkle.inclusion_proof(index, hashes[:size])
                assert merkle.verify_inclusion(hashes[index], index, size, proof, roots[size])
            for old in range(size + 1):
                proof = ledger.consistency_proof(conn, old, size)
                assert proof == merkle.consistency_proof(old, hashes[:size])
                assert merkle.verify_consistency(old, size, roots[old], roots[size], proof)
        # every complete subtree is stored exactly once
        count = conn.execute(select(func.count()).select_from(ledger_nodes)).scalar()
        assert count == 2 * total - bin(total).count("1")


def test_exception_mid_transaction_leaves_the_ledger_unchanged(
    engine: Engine, ledger: Ledger
) -> None:
    with engine.begin() as conn:
        ledger.append_many(conn, [("credential.issued", payload(i)) for i in range(10)])
        before = (ledger.size(conn), ledger.root(conn))

    class Boom(Exception):
        pass

    def interrupted() -> None:
        with engine.begin() as conn:
            ledger.append_many(conn, [("credential.issued", payload(i)) for i in range(7)])
            ledger.append(conn, "credential.revoked", {"id": "urn:uuid:1"})
            assert ledger.size(conn) == 18  # visible inside the transaction…
            raise Boom

    with pytest.raises(Boom):
        interrupted()
    with engine.begin() as conn:  # …and gone after the rollback
        assert (ledger.size(conn), ledger.root(conn)) == before
        assert conn.execute(select(func.count()).select_from(ledger_entries)).scalar() == 10
        assert conn.execute(select(func.count()).select_from(ledger_nodes)).scalar() == 18
        nxt = ledger.append(conn, "credential.issued", payload(99))
        assert nxt.index == 10


def test_checkpoints(engine: Engine, ledger: Ledger, signer: NoteSigner, now: datetime) -> None:
    with engine.begin() as conn:
        empty = ledger.sign_checkpoint(conn, now=now)
        checkpoint, _ = open_checkpoint(empty, [signer.verifier()], origin=ORIGIN)
        assert (checkpoint.size, checkpoint.root) == (0, EMPTY_ROOT)
        ledger.append_many(conn, [("credential.issued", payload(i)) for i in range(11)])
    with engine.begin() as conn:
        note = ledger.sign_checkpoint(conn, now=now + timedelta(seconds=1))
        checkpoint, _ = open_checkpoint(note, [signer.verifier()], origin=ORIGIN)
        assert checkpoint.size == 11
        assert checkpoint.root == ledger.root(conn)
        # no growth: the same note, not a new signature
        assert ledger.sign_checkpoint(conn) == note
        assert ledger.latest_checkpoint(conn) == note
        assert ledger.checkpoint_at(conn, 0) == empty
        assert ledger.checkpoint_at(conn, 5) is None
        ledger.append(conn, "credential.revoked", {"id": "urn:uuid:3"})
        newer = ledger.sign_checkpoint(conn)
        assert newer != note
        assert ledger.latest_checkpoint(conn) == newer
        assert conn.execute(select(func.count()).select_from(ledger_checkpoints)).scalar() == 3


def test_signing_needs_a_key_and_the_right_origin(engine: Engine, signer: NoteSigner) -> None:
    with engine.begin() as conn:
        with pytest.raises(ConfigurationError):
            Ledger(origin=ORIGIN).sign_checkpoint(conn)
        Ledger(origin=ORIGIN, signer=signer).sign_checkpoint(conn)
    other = NoteSigner.generate("other.example/log")
    with pytest.raises(ConfigurationError), engine.begin() as conn:
        Ledger(origin="other.example/log", signer=other).sign_checkpoint(conn)


def test_refuses_to_sign_a_rewritten_history(engine: Engine, ledger: Ledger) -> None:
    with engine.begin() as conn:
        ledger.append_many(conn, [("credential.issued", payload(i)) for i in range(9)])
        ledger.sign_checkpoint(conn)
    # Someone rebuilds the ledger with a different entry 4 (every hash recomputed), and more.
    with engine.begin() as conn:
        conn.execute(delete(ledger_entries))
        conn.execute(delete(ledger_nodes))
        conn.execute(update(ledger_head).values(size=0, last_hash=GENESIS_PREV))
        items = [("credential.issued", payload(i)) for i in range(12)]
        items[4] = ("credential.issued", {"forged": True})
        ledger.append_many(conn, items)
    with pytest.raises(InconsistentCheckpoint), engine.begin() as conn:
        ledger.sign_checkpoint(conn)
    # A truncated ledger is refused too.
    with engine.begin() as conn:
        conn.execute(delete(ledger_entries))
        conn.execute(delete(ledger_nodes))
        conn.execute(update(ledger_head).values(size=0, last_hash=GENESIS_PREV))
        ledger.append_many(conn, [("credential.issued", payload(i)) for i in range(5)])
    with pytest.raises(InconsistentCheckpoint), engine.begin() as conn:
        ledger.sign_checkpoint(conn)


def test_refuses_to_sign_over_an_altered_checkpoint(engine: Engine, ledger: Ledger) -> None:
    with engine.begin() as conn:
        ledger.append_many(conn, [("credential.issued", payload(i)) for i in range(3)])
        note = ledger.sign_checkpoint(conn)
        forged = note.replace("\n3\n", "\n2\n")
        conn.execute(update(ledger_checkpoints).values(note=forged))
        ledger.append(conn, "credential.issued", payload(3))
    with pytest.raises(LedgerIntegrityError), engine.begin() as conn:
        ledger.sign_checkpoint(conn)


def test_corrupt_entry_is_not_served(engine: Engine, ledger: Ledger) -> None:
    with engine.begin() as conn:
        ledger.append_many(conn, [("credential.issued", payload(i)) for i in range(3)])
        conn.execute(
            update(ledger_entries).where(ledger_entries.c.idx == 1).values(data=b'{"x":1}')
        )
    with pytest.raises(LedgerIntegrityError) as info, engine.connect() as conn:
        ledger.entry(conn, 1)
    assert info.value.index == 1


def test_origin_must_be_one_line() -> None:
    with pytest.raises(ConfigurationError):
        Ledger(origin="two\nlines")
