"""The persistent ledger: entries, complete-subtree hashes and signed checkpoints in SQL.

Owns the ledger tables and the only code that writes them. The same SQLAlchemy Core statements
run on SQLite (WAL) and PostgreSQL:

* ``ledger_entries(idx, leaf_hash, kind, timestamp, data)``: ``data`` is the entry's canonical
  leaf bytes, exactly; ``leaf_hash`` is ``SHA-256(0x00 ‖ data)``.
* ``ledger_nodes(level, idx, hash)``: every complete subtree hash (``orgbook.ledger.subtree``),
  written once, when its last leaf is appended; level 0 repeats the leaf hashes.
* ``ledger_head``: one row, the size and last leaf hash. Appends lock it (``FOR UPDATE`` on
  PostgreSQL; SQLite write transactions are ``BEGIN IMMEDIATE`` already), so appends are
  serialised, gap-free and chained.
* ``ledger_checkpoints(size, root, note, created_at)``: the signed checkpoints.
* ``ledger_meta(key, value)``: the ledger's origin, fixed by the first checkpoint.

Appends run inside the *caller's* transaction, so projections written in the same transaction
commit atomically with the entry, and a transaction that fails leaves the ledger untouched.
Proofs and roots read O(log n) stored nodes; nothing here loads all leaves.

This module must not commit, sign anything but checkpoints, or interpret payloads.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Column,
    Connection,
    Integer,
    LargeBinary,
    SmallInteger,
    String,
    Table,
    Text,
    insert,
    select,
    update,
)

from orgbook.core.errors import (
    BadInput,
    ConfigurationError,
    InconsistentCheckpoint,
    LedgerIntegrityError,
    NotFound,
    OrgBookError,
)
from orgbook.ledger import subtree
from orgbook.ledger.entry import GENESIS_PREV, Entry, format_timestamp
from orgbook.ledger.merkle import leaf_hash, node_hash, verify_consistency
from orgbook.ledger.note import (
    Checkpoint,
    NoteSigner,
    NoteVerifier,
    open_checkpoint,
    sign_checkpoint,
)
from orgbook.storage.engine import driver_placeholder, insert_ignoring_conflicts, metadata

__all__ = [
    "EMPTY_ROOT",
    "MAX_ENTRIES_PER_READ",
    "Ledger",
    "StoredEntry",
    "ledger_checkpoints",
    "ledger_entries",
    "ledger_head",
    "ledger_meta",
    "ledger_nodes",
    "stored_origin",
]

EMPTY_ROOT = bytes.fromhex("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
MAX_ENTRIES_PER_READ = 1000

# BIGINT everywhere, but INTEGER PRIMARY KEY on SQLite so idx is the rowid (no second index).
_Index = BigInteger().with_variant(Integer(), "sqlite")

ledger_entries = Table(
    "ledger_entries",
    metadata,
    Column("idx", _Index, primary_key=True, autoincrement=False),
    Column("leaf_hash", LargeBinary(32), nullable=False, unique=True),
    Column("kind", String(200), nullable=False),
    Column("timestamp", String(32), nullable=False),
    Column("data", LargeBinary, nullable=False),
)

ledger_nodes = Table(
    "ledger_nodes",
    metadata,
    Column("level", SmallInteger, primary_key=True, autoincrement=False),
    Column("idx", BigInteger, primary_key=True, autoincrement=False),
    Column("hash", LargeBinary(32), nullable=False),
    sqlite_with_rowid=False,
)

ledger_head = Table(
    "ledger_head",
    metadata,
    Column("id", SmallInteger, primary_key=True, autoincrement=False),
    Column("size", BigInteger, nullable=False),
    Column("last_hash", String(64), nullable=False),
    CheckConstraint("id = 1", name="ledger_head_one_row"),
)

ledger_checkpoints = Table(
    "ledger_checkpoints",
    metadata,
    Column("size", _Index, primary_key=True, autoincrement=False),
    Column("root", LargeBinary(32), nullable=False),
    Column("note", Text, nullable=False),
    Column("created_at", String(32), nullable=False),
)

ledger_meta = Table(
    "ledger_meta",
    metadata,
    Column("key", String(64), primary_key=True),
    Column("value", Text, nullable=False),
)


@dataclass(frozen=True, slots=True)
class StoredEntry:
    """An entry as stored: its index, leaf hash, exact leaf bytes and the parsed entry."""

    index: int
    leaf_hash: bytes
    data: bytes
    entry: Entry


def stored_origin(conn: Connection) -> str | None:
    """The origin recorded by the ledger's first checkpoint, if any."""
    value = conn.execute(select(ledger_meta.c.value).where(ledger_meta.c.key == "origin")).scalar()
    return None if value is None else str(value)


def _parse_stored(index: int, stored_hash: bytes, data: bytes) -> StoredEntry:
    data = bytes(data)
    stored_hash = bytes(stored_hash)
    if leaf_hash(data) != stored_hash:
        raise LedgerIntegrityError(
            f"entry {index}: stored leaf hash does not match its data", index=index
        )
    try:
        entry = Entry.from_leaf_bytes(data)
    except BadInput as exc:
        raise LedgerIntegrityError(f"entry {index}: {exc.detail}", index=index) from exc
    if entry.index != index:
        raise LedgerIntegrityError(
            f"entry {index}: stored under index {index} but says {entry.index}", index=index
        )
    return StoredEntry(index, stored_hash, data, entry)


@functools.cache
def _latest_note() -> Any:
    return select(ledger_checkpoints.c.note).order_by(ledger_checkpoints.c.size.desc()).limit(1)


class Ledger:
    """The ledger of one origin, over the tables above. Holds no state between calls."""

    def __init__(
        self,
        *,
        origin: str,
        signer: NoteSigner | None = None,
        verifiers: Sequence[NoteVerifier] = (),
    ) -> None:
        if not isinstance(origin, str) or not origin or "\n" in origin:
            raise ConfigurationError("the ledger origin is a non-empty single line")
        self.origin = origin
        self.signer = signer
        known = list(verifiers)
        if signer is not None and all(v.key_hash != signer.key_hash for v in known):
            known.append(signer.verifier())
        self.verifiers: tuple[NoteVerifier, ...] = tuple(known)

    def __repr__(self) -> str:
        return f"Ledger(origin={self.origin!r})"

    # --- appending --------------------------------------------------------------------------

    def _lock_head(self, conn: Connection) -> tuple[int, str]:
        """The (size, last leaf hash hex), with the head row locked until the transaction ends."""
        query = (
            select(ledger_head.c.size, ledger_head.c.last_hash)
            .where(ledger_head.c.id == 1)
            .with_for_update()
        )
        row = conn.execute(query).first()
        if row is None:
            insert_ignoring_conflicts(
                conn, ledger_head, {"id": 1, "size": 0, "last_hash": GENESIS_PREV}
            )
            row = conn.execute(query).one()
        return int(row.size), str(row.last_hash)

    def append(
        self,
        conn: Connection,
        kind: str,
        payload: Mapping[str, Any],
        *,
        now: datetime | None = None,
    ) -> Entry:
        """Append one entry inside the caller's transaction; returns it with its index."""
        return self.append_many(conn, [(kind, payload)], now=now)[0]

    def append_many(
        self,
        conn: Connection,
        items: Sequence[tuple[str, Mapping[str, Any]]],
        *,
        now: datetime | None = None,
        leaf_bytes: list[bytes] | None = None,
    ) -> list[Entry]:
        """Append entries in order, in one batch, inside the caller's transaction.

        ``leaf_bytes``, when given, receives each entry's stored bytes, in order.

        A payload member may be an :class:`orgbook.core.canonical.Canonical` (a value with its
        canonical bytes): the leaf embeds the bytes, the returned entry holds the value.

        Everything (entries, the subtree hashes they complete, the head) is written with a few
        multi-row statements; nothing is visible to others until the caller commits, and
        nothing is left behind if the transaction rolls back.
        """
        if not items:
            return []
        size, prev = self._lock_head(conn)
        # The clock is read after the lock, so timestamps never go backwards between batches.
        stamp = format_timestamp(now if now is not None else datetime.now(UTC))
        entries: list[Entry] = []
        entry_rows: list[tuple[int, bytes, str, str, bytes]] = []
        hashes: list[bytes] = []
        for offset, (kind, payload) in enumerate(items):
            # Payload members may be pre-canonicalised (orgbook.core.canonical.Canonical).
            entry, data = Entry.with_leaf_bytes(size + offset, stamp, kind, payload, prev)
            h = leaf_hash(data)
            entries.append(entry)
            hashes.append(h)
            entry_rows.append((entry.index, h, kind, stamp, data))
            prev = h.hex()
        if leaf_bytes is not None:
            leaf_bytes.extend(row[4] for row in entry_rows)
        node_rows = self._completed_nodes(conn, size, hashes)
        # Driver-level executemany: SQLAlchemy's per-row parameter processing was a third of
        # the cost of a bulk append. Same statements on both backends, only the placeholder
        # differs.
        mark = driver_placeholder(conn)
        conn.exec_driver_sql(
            f"INSERT INTO {ledger_entries.name} (idx, leaf_hash, kind, timestamp, data) "
            f"VALUES ({mark}, {mark}, {mark}, {mark}, {mark})",
            entry_rows,
        )
        conn.exec_driver_sql(
            f"INSERT INTO {ledger_nodes.name} (level, idx, hash) VALUES ({mark}, {mark}, {mark})",
            node_rows,
        )
        result = conn.execute(
            update(ledger_head)
            .where(ledger_head.c.id == 1, ledger_head.c.size == size)
            .values(size=size + len(entries), last_hash=prev)
        )
        if result.rowcount != 1:  # the lock makes this impossible; refuse rather than fork
            raise LedgerIntegrityError("the ledger head moved during an append", index=size)
        return entries

    def _completed_nodes(
        self, conn: Connection, size: int, hashes: Sequence[bytes]
    ) -> list[tuple[int, int, bytes]]:
        """Every subtree hash the new leaves complete, from the stored frontier (one read)."""
        front = subtree.frontier(size)
        found = self._lookup(conn, front)
        stack: list[tuple[int, bytes]] = []
        for node in front:
            h = found.get(node)
            if h is None:
                start, _ = subtree.node_range(node)
                raise LedgerIntegrityError(
                    f"stored subtree hash (level {node[0]}, index {node[1]}) is missing",
                    index=start,
                )
            stack.append((node[0], h))
        rows: list[tuple[int, int, bytes]] = []
        for offset, h in enumerate(hashes):
            idx = size + offset
            level = 0
            rows.append((0, idx, h))
            while stack and stack[-1][0] == level:
                _, left = stack.pop()
                h = node_hash(left, h)
                level += 1
                idx >>= 1
                rows.append((level, idx, h))
            stack.append((level, h))
        return rows

    # --- reading ----------------------------------------------------------------------------

    def _lookup(self, conn: Connection, nodes: Sequence[subtree.Node]) -> dict[subtree.Node, bytes]:
        """Many nodes in one point-lookup query, ``(level = ? AND idx = ?) OR …``.

        Plain driver SQL: building the equivalent SQLAlchemy expression cost more than the
        query itself (docs/performance.md), and a row-value ``IN (VALUES …)`` makes SQLite scan.
        """
        if not nodes:
            return {}
        mark = driver_placeholder(conn)
        term = f"(level = {mark} AND idx = {mark})"
        sql = f"SELECT level, idx, hash FROM {ledger_nodes.name} WHERE " + " OR ".join(
            [term] * len(nodes)
        )
        params = tuple(v for node in nodes for v in node)
        rows = conn.exec_driver_sql(sql, params)
        return {(int(r[0]), int(r[1])): bytes(r[2]) for r in rows}

    def size(self, conn: Connection) -> int:
        """The number of entries."""
        value = conn.execute(select(ledger_head.c.size).where(ledger_head.c.id == 1)).scalar()
        return 0 if value is None else int(value)

    def _tree_size(self, conn: Connection, size: int | None) -> int:
        current = self.size(conn)
        if size is None:
            return current
        if type(size) is not int or not 0 <= size <= current:
            raise BadInput(f"tree size must be in [0, {current}]", field="size")
        return size

    def root(self, conn: Connection, size: int | None = None) -> bytes:
        """The Merkle Tree Hash of the first ``size`` entries (default: all), O(log n) reads."""
        size = self._tree_size(conn, size)
        if size == 0:
            return EMPTY_ROOT
        return subtree.assemble([(0, size)], lambda nodes: self._lookup(conn, nodes))[0]

    def entry(self, conn: Connection, index: int) -> StoredEntry:
        """Entry ``index``; :class:`NotFound` if there is none."""
        if type(index) is not int or index < 0:
            raise BadInput("entry index must be a non-negative integer", field="index")
        row = conn.execute(
            select(ledger_entries.c.leaf_hash, ledger_entries.c.data).where(
                ledger_entries.c.idx == index
            )
        ).first()
        if row is None:
            raise NotFound(f"no ledger entry {index}")
        return _parse_stored(index, row.leaf_hash, row.data)

    def entries(self, conn: Connection, start: int, end: int) -> list[StoredEntry]:
        """Entries ``[start, end)`` that exist, at most :data:`MAX_ENTRIES_PER_READ`."""
        if type(start) is not int or type(end) is not int or not 0 <= start <= end:
            raise BadInput("entry range must satisfy 0 <= start <= end", field="start")
        if end - start > MAX_ENTRIES_PER_READ:
            raise BadInput(f"at most {MAX_ENTRIES_PER_READ} entries per read", field="end")
        rows = conn.execute(
            select(ledger_entries.c.idx, ledger_entries.c.leaf_hash, ledger_entries.c.data)
            .where(ledger_entries.c.idx >= start, ledger_entries.c.idx < end)
            .order_by(ledger_entries.c.idx)
        )
        return [_parse_stored(int(r.idx), r.leaf_hash, r.data) for r in rows]

    def index_of(self, conn: Connection, leaf_hash: bytes) -> int:
        """The index of the entry with this leaf hash; :class:`NotFound` if there is none."""
        if not isinstance(leaf_hash, bytes) or len(leaf_hash) != 32:
            raise BadInput("a leaf hash is 32 bytes", field="leaf_hash")
        value = conn.execute(
            select(ledger_entries.c.idx).where(ledger_entries.c.leaf_hash == leaf_hash)
        ).scalar()
        if value is None:
            raise NotFound("no ledger entry with this leaf hash")
        return int(value)

    def inclusion_proof(self, conn: Connection, index: int, size: int | None = None) -> list[bytes]:
        """RFC 9162 inclusion proof of entry ``index`` in the tree of ``size`` (default: all)."""
        size = self._tree_size(conn, size)
        ranges = subtree.inclusion_ranges(index, size)
        return subtree.assemble(ranges, lambda nodes: self._lookup(conn, nodes))

    def consistency_proof(
        self, conn: Connection, old_size: int, new_size: int | None = None
    ) -> list[bytes]:
        """RFC 9162 consistency proof from ``old_size`` to ``new_size`` (default: all)."""
        new_size = self._tree_size(conn, new_size)
        ranges = subtree.consistency_ranges(old_size, new_size)
        return subtree.assemble(ranges, lambda nodes: self._lookup(conn, nodes))

    # --- checkpoints ------------------------------------------------------------------------

    def _latest_row(self, conn: Connection) -> Any:
        return conn.execute(
            select(ledger_checkpoints).order_by(ledger_checkpoints.c.size.desc()).limit(1)
        ).first()

    def open_checkpoint(self, note: str) -> Checkpoint:
        """Verify a checkpoint of this ledger against its known keys and parse it."""
        if not self.verifiers:
            raise ConfigurationError("no ledger verifier key configured to check checkpoints")
        checkpoint, _ = open_checkpoint(note, self.verifiers, origin=self.origin)
        return checkpoint

    def _claim_origin(self, conn: Connection) -> None:
        insert_ignoring_conflicts(conn, ledger_meta, {"key": "origin", "value": self.origin})
        origin = stored_origin(conn)
        if origin != self.origin:
            raise ConfigurationError(
                f"this database holds the ledger {origin!r}, not {self.origin!r}"
            )

    def sign_checkpoint(self, conn: Connection, *, now: datetime | None = None) -> str:
        """Sign, store and return the checkpoint of the current tree.

        Returns the stored one when the ledger has not grown. Refuses
        (:class:`InconsistentCheckpoint`) to sign a tree that is not an append-only extension
        of the latest checkpoint it signed, checked with an RFC 9162 consistency proof.
        """
        if self.signer is None:
            raise ConfigurationError("signing a checkpoint needs the ledger's signing key")
        size, _ = self._lock_head(conn)
        self._claim_origin(conn)
        root = self.root(conn, size)
        latest = self._latest_row(conn)
        if latest is not None:
            try:
                old = self.open_checkpoint(latest.note)
            except OrgBookError as exc:
                raise LedgerIntegrityError(
                    f"the stored checkpoint at size {latest.size} does not verify: {exc.detail}"
                ) from exc
            if old.size != int(latest.size) or old.root != bytes(latest.root):
                raise LedgerIntegrityError(
                    f"the stored checkpoint row at size {latest.size} contradicts its note"
                )
            if old.size > size:
                raise InconsistentCheckpoint(
                    f"the ledger has {size} entries but a checkpoint was signed at {old.size}"
                )
            proof = self.consistency_proof(conn, old.size, size)
            if not verify_consistency(old.size, size, old.root, root, proof):
                raise InconsistentCheckpoint(
                    f"the ledger at size {size} is not an extension of the checkpoint signed "
                    f"at size {old.size}: refusing to sign a rewritten history"
                )
            if old.size == size:
                return str(latest.note)
        note = sign_checkpoint(Checkpoint(self.origin, size, root), [self.signer])
        stamp = format_timestamp(now if now is not None else datetime.now(UTC))
        conn.execute(
            insert(ledger_checkpoints).values(size=size, root=root, note=note, created_at=stamp)
        )
        return note

    def latest_checkpoint(self, conn: Connection) -> str | None:
        """The signed note of the latest checkpoint, or None before the first."""
        # Read on every verification and checkpoint request: one column, one statement built
        # once (building it and its cache key each time cost as much as running it).
        value = conn.execute(_latest_note()).scalar()
        return None if value is None else str(value)

    def checkpoint_at(self, conn: Connection, size: int) -> str | None:
        """The signed checkpoint at exactly ``size``, if one was signed."""
        value = conn.execute(
            select(ledger_checkpoints.c.note).where(ledger_checkpoints.c.size == size)
        ).scalar()
        return None if value is None else str(value)
