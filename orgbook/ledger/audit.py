"""``orgbook ledger audit``: re-derive the ledger from its stored bytes; report the first fault.

The audit trusts nothing it reads: it streams the entries in index order, in batches (bounded
memory), and for each one

1. re-derives the leaf hash from the stored bytes and compares it with the stored ``leaf_hash``;
2. parses the bytes strictly: exactly the RFC 8785 form of ``{index, timestamp, kind, payload,
   prev}``, with ``index`` equal to its position, and the stored ``kind`` and ``timestamp``
   columns (what queries select entries by) equal to the hashed entry's;
3. checks the hash chain: ``prev`` is the previous leaf hash (64 zeros for entry 0);
4. recomputes every complete subtree hash the entry completes (a frontier of O(log n) hashes)
   and compares it with the stored node, level 0 included;
5. when the position reaches a stored checkpoint's size: verifies the checkpoint's signature,
   that its row matches its note, and that its root equals the root recomputed from the entries.
   Every checkpoint matching the one recomputed tree also proves them mutually consistent.

At the end: no entries or nodes beyond the head, the head's last hash, no checkpoint beyond the
ledger. The report names the first bad entry index (``None`` when the fault is a checkpoint
rather than an entry) and why. A bad subtree hash is reported at the first entry it covers.

Read-only. Run it inside one snapshot (a SQLite read transaction, or PostgreSQL REPEATABLE READ)
so concurrent appends cannot look like faults.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from sqlalchemy import ColumnElement, Connection, and_, func, or_, select

from orgbook.core.errors import BadInput, OrgBookError
from orgbook.ledger.entry import GENESIS_PREV, Entry
from orgbook.ledger.merkle import leaf_hash, node_hash
from orgbook.ledger.note import Checkpoint, NoteVerifier, open_checkpoint, parse_note
from orgbook.ledger.store import (
    EMPTY_ROOT,
    Ledger,
    ledger_checkpoints,
    ledger_entries,
    ledger_head,
    ledger_nodes,
)
from orgbook.ledger.subtree import fold

__all__ = ["DEFAULT_BATCH", "AuditReport", "audit"]

DEFAULT_BATCH = 4096

Progress = Callable[[int, int], None]
"""Called after each batch with (entries checked, entries in the ledger)."""


@dataclass(frozen=True, slots=True)
class AuditReport:
    """The outcome: ``ok``, or the first bad entry index (None for a checkpoint) and why."""

    ok: bool
    size: int
    root: bytes
    first_bad_index: int | None
    reason: str
    checked_checkpoint: bool
    checkpoints: int = 0

    def summary(self) -> str:
        """One line for people."""
        if self.ok:
            return (
                f"ledger sound: {self.size} entries, root {self.root.hex()}, "
                f"{self.checkpoints} checkpoint(s) verified"
                + ("" if self.checked_checkpoint else " (checkpoint signatures NOT checked)")
            )
        where = "checkpoint" if self.first_bad_index is None else f"entry {self.first_bad_index}"
        return f"ledger UNSOUND at {where}: {self.reason}"


class _Fault(Exception):
    def __init__(self, index: int | None, reason: str) -> None:
        super().__init__(reason)
        self.index = index
        self.reason = reason


def _node_fault(level: int, idx: int, what: str) -> _Fault:
    start, end = idx << level, (idx + 1) << level
    return _Fault(
        start,
        f"stored subtree hash (level {level}, index {idx}) over entries [{start}, {end}) {what}",
    )


def _completed_nodes_query(start: int, end: int) -> ColumnElement[bool]:
    """Nodes whose last leaf is in ``[start, end)``: at level l, idx in [start>>l, end>>l)."""
    clauses = []
    for level in range(end.bit_length() + 1):
        lo, hi = start >> level, (end >> level) - 1
        if lo <= hi:
            clauses.append(and_(ledger_nodes.c.level == level, ledger_nodes.c.idx.between(lo, hi)))
    return or_(*clauses)


class _Auditor:
    def __init__(
        self,
        conn: Connection,
        ledger: Ledger,
        verifiers: Sequence[NoteVerifier],
        batch: int,
        progress: Progress | None,
    ) -> None:
        self.conn = conn
        self.ledger = ledger
        known: dict[tuple[str, bytes, bytes], NoteVerifier] = {}
        for v in (*verifiers, *ledger.verifiers):
            known.setdefault((v.name, v.key_hash, v.public_key), v)
        self.verifiers = list(known.values())
        self.batch = batch
        self.progress = progress
        self.stack: list[tuple[int, bytes]] = []
        self.checked_checkpoint = False
        self.checkpoints = 0

    def root(self) -> bytes:
        return fold([h for _, h in self.stack]) if self.stack else EMPTY_ROOT

    def run(self) -> tuple[int, bytes]:
        conn = self.conn
        head = conn.execute(
            select(ledger_head.c.size, ledger_head.c.last_hash).where(ledger_head.c.id == 1)
        ).first()
        size, last_hash = (0, GENESIS_PREV) if head is None else (int(head[0]), str(head[1]))
        sizes = [
            int(s)
            for s in conn.execute(
                select(ledger_checkpoints.c.size).order_by(ledger_checkpoints.c.size)
            ).scalars()
        ]
        pending = iter(sizes)
        next_cp = next(pending, None)
        while next_cp == 0:
            self.check_checkpoint(0)
            next_cp = next(pending, None)

        pos, prev = 0, GENESIS_PREV
        while pos < size:
            rows = conn.execute(
                select(
                    ledger_entries.c.idx,
                    ledger_entries.c.leaf_hash,
                    ledger_entries.c.data,
                    ledger_entries.c.kind,
                    ledger_entries.c.timestamp,
                )
                .where(ledger_entries.c.idx >= pos, ledger_entries.c.idx < size)
                .order_by(ledger_entries.c.idx)
                .limit(self.batch)
            ).all()
            if not rows:
                raise _Fault(pos, f"entry {pos} is missing (the head says {size} entries)")
            end = pos + len(rows)
            nodes = {
                (int(r[0]), int(r[1])): bytes(r[2])
                for r in conn.execute(
                    select(ledger_nodes.c.level, ledger_nodes.c.idx, ledger_nodes.c.hash).where(
                        _completed_nodes_query(pos, end)
                    )
                )
            }
            for row in rows:
                if int(row[0]) != pos:
                    raise _Fault(pos, f"entry {pos} is missing")
                prev = self.check_entry(
                    pos, bytes(row[1]), bytes(row[2]), prev, nodes, (row[3], row[4])
                )
                pos += 1
                while next_cp == pos:
                    self.check_checkpoint(pos)
                    next_cp = next(pending, None)
            if self.progress is not None:
                self.progress(pos, size)

        self.check_tail(size, last_hash, prev, next_cp)
        return size, self.root()

    def check_entry(
        self,
        pos: int,
        stored_hash: bytes,
        data: bytes,
        prev: str,
        nodes: dict[tuple[int, int], bytes],
        columns: tuple[object, object],
    ) -> str:
        # 1. The leaf hash, from the bytes.
        h = leaf_hash(data)
        if h != stored_hash:
            raise _Fault(pos, "the stored leaf hash does not match the entry's bytes")
        # 2. Exactly a canonical entry, at its own position.
        try:
            entry = Entry.from_leaf_bytes(data)
        except BadInput as exc:
            raise _Fault(pos, f"not a well-formed canonical ledger entry: {exc.detail}") from exc
        if entry.index != pos:
            raise _Fault(pos, f"the entry at position {pos} says it is entry {entry.index}")
        for name, stored, hashed in zip(
            ("kind", "timestamp"), columns, (entry.kind, entry.timestamp), strict=True
        ):
            if stored != hashed:
                raise _Fault(
                    pos,
                    f"the stored {name} column is {stored!r} but the entry's bytes say {hashed!r}",
                )
        # 3. The hash chain.
        if entry.prev != prev:
            raise _Fault(pos, "prev is not the previous entry's leaf hash: the chain is broken")
        # 4. Every subtree hash this leaf completes.
        level, idx, node = 0, pos, h
        self.check_node(nodes, 0, pos, h)
        stack = self.stack
        while stack and stack[-1][0] == level:
            node = node_hash(stack.pop()[1], node)
            level += 1
            idx >>= 1
            self.check_node(nodes, level, idx, node)
        stack.append((level, node))
        return h.hex()

    @staticmethod
    def check_node(nodes: dict[tuple[int, int], bytes], level: int, idx: int, h: bytes) -> None:
        stored = nodes.get((level, idx))
        if stored is None:
            raise _node_fault(level, idx, "is missing")
        if stored != h:
            raise _node_fault(level, idx, "does not match the entries")

    def check_checkpoint(self, size: int) -> None:
        # 5. Signature, row against note, root against the recomputed tree.
        row = self.conn.execute(
            select(ledger_checkpoints.c.root, ledger_checkpoints.c.note).where(
                ledger_checkpoints.c.size == size
            )
        ).one()
        what = f"the checkpoint at size {size}"
        try:
            if self.verifiers:
                checkpoint, _ = open_checkpoint(
                    str(row[1]), self.verifiers, origin=self.ledger.origin
                )
                verified = True
            else:
                checkpoint = Checkpoint.parse(parse_note(str(row[1])).text)
                verified = False
        except OrgBookError as exc:
            raise _Fault(None, f"{what} does not verify: {exc.detail}") from exc
        if checkpoint.size != size or checkpoint.root != bytes(row[0]):
            raise _Fault(None, f"{what}: the stored row does not match the signed note")
        root = self.root()
        if checkpoint.root != root:
            raise _Fault(
                None,
                f"{what} signs root {checkpoint.root.hex()} but entries [0, {size}) give "
                f"{root.hex()}: the history was rewritten or the checkpoint altered",
            )
        self.checkpoints += 1
        self.checked_checkpoint = verified

    def check_tail(self, size: int, last_hash: str, prev: str, next_cp: int | None) -> None:
        conn = self.conn
        if prev != last_hash:
            raise _Fault(max(size - 1, 0), "the head's last leaf hash does not match the entries")
        beyond = conn.execute(
            select(func.min(ledger_entries.c.idx)).where(
                or_(ledger_entries.c.idx >= size, ledger_entries.c.idx < 0)
            )
        ).scalar()
        if beyond is not None:
            raise _Fault(size, f"entry {beyond} lies beyond the head (size {size})")
        stored = conn.execute(select(func.count()).select_from(ledger_nodes)).scalar() or 0
        expected = 2 * size - bin(size).count("1")
        if stored != expected:
            extra = conn.execute(
                select(ledger_nodes.c.level, ledger_nodes.c.idx)
                .where(
                    or_(
                        ledger_nodes.c.level < 0,
                        ledger_nodes.c.level > 63,
                        ledger_nodes.c.idx < 0,
                        *(
                            and_(ledger_nodes.c.level == level, ledger_nodes.c.idx >= size >> level)
                            for level in range(64)
                        ),
                    )
                )
                .limit(1)
            ).first()
            where = "" if extra is None else f" (level {extra[0]}, index {extra[1]})"
            raise _Fault(
                size, f"{stored - expected} stored subtree hash(es) beyond the ledger{where}"
            )
        if next_cp is not None:
            raise _Fault(
                size,
                f"a checkpoint was signed at size {next_cp} but the ledger has only {size} "
                "entries: entries were lost",
            )


def audit(
    conn: Connection,
    ledger: Ledger,
    verifiers: Sequence[NoteVerifier] = (),
    *,
    batch_size: int = DEFAULT_BATCH,
    progress: Progress | None = None,
) -> AuditReport:
    """Audit the stored ledger end to end; never raises for a fault it finds, reports it."""
    if batch_size < 1:
        raise BadInput("batch size must be positive", field="batch_size")
    auditor = _Auditor(conn, ledger, verifiers, batch_size, progress)
    try:
        size, root = auditor.run()
    except _Fault as fault:
        return AuditReport(
            ok=False,
            size=ledger.size(conn),
            root=b"",
            first_bad_index=fault.index,
            reason=fault.reason,
            checked_checkpoint=auditor.checked_checkpoint,
            checkpoints=auditor.checkpoints,
        )
    return AuditReport(
        ok=True,
        size=size,
        root=root,
        first_bad_index=None,
        reason="every entry, subtree hash and checkpoint re-derived and consistent",
        checked_checkpoint=auditor.checked_checkpoint,
        checkpoints=auditor.checkpoints,
    )
