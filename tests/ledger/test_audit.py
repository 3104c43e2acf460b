"""The audit re-derives everything and names the first bad entry for every kind of tampering."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import Connection, Engine, delete, insert, select, update

from orgbook.ledger.audit import AuditReport, audit
from orgbook.ledger.entry import GENESIS_PREV, Entry
from orgbook.ledger.merkle import leaf_hash
from orgbook.ledger.note import NoteSigner
from orgbook.ledger.store import (
    Ledger,
    ledger_checkpoints,
    ledger_entries,
    ledger_head,
    ledger_nodes,
)

ORIGIN = "orgbook.example/ledger"
SIZE = 50


@pytest.fixture
def signer() -> NoteSigner:
    return NoteSigner.generate(ORIGIN)


@pytest.fixture
def ledger(engine: Engine, signer: NoteSigner) -> Ledger:
    ledger = Ledger(origin=ORIGIN, signer=signer)
    with engine.begin() as conn:
        ledger.sign_checkpoint(conn)  # size 0
        ledger.append_many(conn, [("credential.issued", {"n": i}) for i in range(20)])
        ledger.sign_checkpoint(conn)  # size 20
        ledger.append_many(conn, [("credential.revoked", {"n": i}) for i in range(20, SIZE)])
        ledger.sign_checkpoint(conn)  # size 50
    return ledger


def run(engine: Engine, ledger: Ledger, **kwargs: Any) -> AuditReport:
    with engine.connect() as conn:
        return audit(conn, ledger, **kwargs)


def flip(value: bytes, at: int = 5) -> bytes:
    return value[:at] + bytes([value[at] ^ 0x01]) + value[at + 1 :]


def row(conn: Connection, index: int) -> Any:
    return conn.execute(select(ledger_entries).where(ledger_entries.c.idx == index)).one()


def test_a_sound_ledger_passes(engine: Engine, ledger: Ledger, signer: NoteSigner) -> None:
    seen: list[tuple[int, int]] = []
    report = run(engine, ledger, batch_size=7, progress=lambda d, t: seen.append((d, t)))
    assert report.ok, report.reason
    assert report.first_bad_index is None
    assert report.size == SIZE
    with engine.connect() as conn:
        assert report.root == ledger.root(conn)
    assert report.checked_checkpoint
    assert report.checkpoints == 3
    assert seen[-1] == (SIZE, SIZE)
    assert "sound" in report.summary()
    # With only the verifier key (as an outside auditor would have it).
    outsider = Ledger(origin=ORIGIN, verifiers=[signer.verifier()])
    assert run(engine, outsider).ok


def test_the_empty_ledger_is_sound(engine: Engine) -> None:
    report = run(engine, Ledger(origin=ORIGIN))
    assert report.ok
    assert report.size == 0
    assert not report.checked_checkpoint


def set_entry(conn: Connection, index: int, **values: Any) -> None:
    conn.execute(update(ledger_entries).where(ledger_entries.c.idx == index).values(**values))


def set_node(conn: Connection, level: int, idx: int, value: bytes) -> None:
    conn.execute(
        update(ledger_nodes)
        .where(ledger_nodes.c.level == level, ledger_nodes.c.idx == idx)
        .values(hash=value)
    )


def node(conn: Connection, level: int, idx: int) -> bytes:
    return bytes(
        conn.execute(
            select(ledger_nodes.c.hash).where(
                ledger_nodes.c.level == level, ledger_nodes.c.idx == idx
            )
        ).scalar_one()
    )


def tamper_data(conn: Connection) -> None:
    set_entry(conn, 13, data=flip(bytes(row(conn, 13).data), 40))


def tamper_leaf_hash(conn: Connection) -> None:
    set_entry(conn, 13, leaf_hash=flip(bytes(row(conn, 13).leaf_hash)))


def tamper_leaf_node(conn: Connection) -> None:
    set_node(conn, 0, 13, flip(node(conn, 0, 13)))


def tamper_inner_node(conn: Connection) -> None:
    set_node(conn, 3, 2, flip(node(conn, 3, 2)))  # covers entries [16, 24)


def tamper_delete_node(conn: Connection) -> None:
    conn.execute(delete(ledger_nodes).where(ledger_nodes.c.level == 1, ledger_nodes.c.idx == 6))


def tamper_delete_entry(conn: Connection) -> None:
    conn.execute(delete(ledger_entries).where(ledger_entries.c.idx == 13))


def tamper_swap(conn: Connection) -> None:
    a, b = row(conn, 13), row(conn, 27)
    set_entry(conn, 13, leaf_hash=b"\x00" * 32)  # step aside for the unique leaf_hash
    set_entry(conn, 27, leaf_hash=a.leaf_hash, data=a.data, kind=a.kind)
    set_entry(conn, 13, leaf_hash=b.leaf_hash, data=b.data, kind=b.kind)


def tamper_rewrite_consistently(conn: Connection) -> None:
    """Rewrite entry 13 with a valid, canonical entry and fix its own hashes: the chain breaks."""
    old = Entry.from_leaf_bytes(bytes(row(conn, 13).data))
    forged = Entry(13, old.timestamp, old.kind, {"n": 13, "forged": True}, old.prev)
    h = forged.leaf_hash()
    set_entry(conn, 13, data=forged.leaf_bytes(), leaf_hash=h)
    set_node(conn, 0, 13, h)


def tamper_non_canonical(conn: Connection) -> None:
    """Same JSON value, different bytes (a space), with every hash of it recomputed."""
    data = bytes(row(conn, 13).data).replace(b'"index":13', b'"index": 13')
    set_entry(conn, 13, data=data, leaf_hash=leaf_hash(data))
    set_node(conn, 0, 13, leaf_hash(data))


def tamper_head(conn: Connection) -> None:
    conn.execute(update(ledger_head).values(last_hash="ab" * 32))


def tamper_extra_entry(conn: Connection) -> None:
    conn.execute(
        insert(ledger_entries).values(
            idx=SIZE + 3, leaf_hash=b"\x07" * 32, kind="x", timestamp="t", data=b"{}"
        )
    )


def tamper_extra_node(conn: Connection) -> None:
    conn.execute(insert(ledger_nodes).values(level=2, idx=40, hash=b"\x07" * 32))


def tamper_truncate(conn: Connection) -> None:
    """Drop the last ten entries and everything about them, as if they never were."""
    last = Entry.from_leaf_bytes(bytes(row(conn, 39).data))
    conn.execute(delete(ledger_entries).where(ledger_entries.c.idx >= 40))
    for level in range(7):
        conn.execute(
            delete(ledger_nodes).where(
                ledger_nodes.c.level == level, ledger_nodes.c.idx >= 40 >> level
            )
        )
    conn.execute(update(ledger_head).values(size=40, last_hash=last.leaf_hash().hex()))


TAMPERING: list[tuple[Callable[[Connection], None], int | None, str]] = [
    (tamper_data, 13, "leaf hash"),
    (tamper_leaf_hash, 13, "leaf hash"),
    (tamper_leaf_node, 13, "level 0, index 13"),
    (tamper_inner_node, 16, "level 3, index 2"),
    (tamper_delete_node, 12, "missing"),
    (tamper_delete_entry, 13, "missing"),
    (tamper_swap, 13, "says it is entry 27"),
    (tamper_rewrite_consistently, 12, "level 1, index 6"),
    (tamper_non_canonical, 13, "canonical"),
    (tamper_head, SIZE - 1, "head"),
    (tamper_extra_entry, SIZE, "beyond the head"),
    (tamper_extra_node, SIZE, "beyond the ledger"),
    (tamper_truncate, 40, "entries were lost"),
]


@pytest.mark.parametrize(
    ("tamper", "index", "why"), TAMPERING, ids=[t[0].__name__ for t in TAMPERING]
)
def test_tampering_is_found_at_the_right_index(
    engine: Engine,
    ledger: Ledger,
    tamper: Callable[[Connection], None],
    index: int | None,
    why: str,
) -> None:
    with engine.begin() as conn:
        tamper(conn)
    report = run(engine, ledger, batch_size=8)
    assert not report.ok
    assert report.first_bad_index == index, report.reason
    assert why in report.reason
    assert "UNSOUND" in report.summary()


def test_a_rewritten_entry_breaks_the_chain_if_the_tree_is_rebuilt(
    engine: Engine, ledger: Ledger
) -> None:
    """Rewrite entry 13 and recompute every node and the head: the chain still gives it away."""
    with engine.begin() as conn:
        tamper_rewrite_consistently(conn)
        hashes = [bytes(row(conn, i).leaf_hash) for i in range(SIZE)]
        conn.execute(delete(ledger_nodes))
        conn.execute(update(ledger_head).values(size=0, last_hash=GENESIS_PREV))
        rebuilt = Ledger(origin=ORIGIN)
        rows = rebuilt._completed_nodes(conn, 0, hashes)
        dicts = [{"level": lv, "idx": i, "hash": h} for lv, i, h in rows]
        conn.execute(insert(ledger_nodes), dicts)
        conn.execute(update(ledger_head).values(size=SIZE, last_hash=hashes[-1].hex()))
    report = run(engine, ledger)
    assert report.first_bad_index == 14
    assert "chain" in report.reason


@pytest.mark.parametrize("at", ["signature", "root"])
def test_checkpoint_tampering(engine: Engine, ledger: Ledger, at: str) -> None:
    with engine.begin() as conn:
        note = ledger.checkpoint_at(conn, 20)
        assert note is not None
        if at == "signature":
            head, sig = note.rsplit(" ", 1)
            forged = head + " " + ("B" if sig[10] != "B" else "C").join([sig[:10], sig[11:]])
        else:
            lines = note.split("\n")
            lines[2] = lines[2][:5] + ("A" if lines[2][5] != "A" else "B") + lines[2][6:]
            forged = "\n".join(lines)
        conn.execute(
            update(ledger_checkpoints).where(ledger_checkpoints.c.size == 20).values(note=forged)
        )
    report = run(engine, ledger)
    assert not report.ok
    assert report.first_bad_index is None
    assert "checkpoint at size 20" in report.reason
    assert "checkpoint" in report.summary()


def test_checkpoint_from_an_unknown_key(engine: Engine, ledger: Ledger) -> None:
    stranger = Ledger(origin=ORIGIN, verifiers=[NoteSigner.generate(ORIGIN).verifier()])
    report = run(engine, stranger)
    assert not report.ok
    assert "known key" in report.reason


def test_checkpoint_row_root_tampering(engine: Engine, ledger: Ledger) -> None:
    with engine.begin() as conn:
        conn.execute(
            update(ledger_checkpoints)
            .where(ledger_checkpoints.c.size == SIZE)
            .values(root=b"\x01" * 32)
        )
    report = run(engine, ledger)
    assert not report.ok
    assert "does not match the signed note" in report.reason
