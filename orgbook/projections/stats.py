"""Public statistics of the register, as of a signed checkpoint, cached per checkpoint.

What it owns: :func:`compute_stats` — organisations by jurisdiction, entity type and status;
credentials by type and by issuer; registrations and issuances per month; the ledger's size and
the latest checkpoint the figures are stated against — and :class:`StatsCache`, which keeps the
figures of the latest checkpoint and recomputes them only when a new checkpoint is signed (one
computation at a time: while one runs, others get the previous checkpoint's figures, which
still say which checkpoint they are of).

Every figure is one aggregate query (``GROUP BY`` in the database, no row reaches Python), read
in the same transaction as the checkpoint. The issuer signs a checkpoint in the transaction of
every issuance, so the projections read there are those of the checkpoint's tree.

What it must not do: write anything, or know about HTTP or pages (the verifier's stats routes
present these figures).
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, Engine, func, select
from sqlalchemy.sql.elements import ColumnElement

from orgbook.ledger.note import Checkpoint, parse_note
from orgbook.ledger.store import ledger_checkpoints, ledger_head
from orgbook.projections.tables import credential_events, credentials, issuers, organisations
from orgbook.storage.engine import reading

__all__ = ["CheckpointRef", "Count", "RegisterStats", "StatsCache", "compute_stats"]

MONTHS = 120
"""At most this many months per monthly series (the latest ones)."""


@dataclass(frozen=True, slots=True)
class Count:
    value: str  # a jurisdiction, entity type, status, credential type, issuer id or YYYY-MM
    count: int
    label: str | None = None  # an issuer's name; a registered credential type's English name
    names: dict[str, str] | None = None  # a registered credential type's names, by language


@dataclass(frozen=True, slots=True)
class CheckpointRef:
    origin: str
    tree_size: int
    root_hex: str
    note_sha256: str  # SHA-256 of the signed note's text (UTF-8), hex


@dataclass(frozen=True, slots=True)
class RegisterStats:
    checkpoint: CheckpointRef | None
    ledger_size: int
    computed_at: datetime
    organisations: int
    by_jurisdiction: list[Count]
    by_entity_type: list[Count]
    by_status: list[Count]
    credentials: int
    by_credential_type: list[Count]
    by_issuer: list[Count]
    registrations_per_month: list[Count]
    issuances_per_month: list[Count]


def _month(conn: Connection, column: Any) -> ColumnElement[str]:
    """``YYYY-MM`` of a timestamp column, in UTC, on either backend."""
    if conn.dialect.name == "postgresql":
        return func.to_char(func.timezone("UTC", column), "YYYY-MM")
    return func.substr(column, 1, 7)


def _grouped(conn: Connection, key: Any, *where: Any, table: Any = None) -> list[Count]:
    stmt = select(key.label("k"), func.count().label("n"))
    if table is not None:
        stmt = stmt.select_from(table)
    rows = conn.execute(stmt.where(*where).group_by(key)).all()
    found = [Count(str(row.k), int(row.n)) for row in rows if row.k is not None]
    return sorted(found, key=lambda c: (-c.count, c.value))


def _monthly(conn: Connection, column: Any, table: Any, *where: Any) -> list[Count]:
    month = _month(conn, column)
    stmt = (
        select(month.label("k"), func.count().label("n"))
        .select_from(table)
        .where(*where)
        .group_by(month)
    )
    rows = sorted((str(r.k), int(r.n)) for r in conn.execute(stmt).all() if r.k is not None)
    return [Count(k, n) for k, n in rows[-MONTHS:]]


def latest_checkpoint(conn: Connection) -> CheckpointRef | None:
    """The latest signed checkpoint, as the figures name it (one indexed read)."""
    note = conn.execute(
        select(ledger_checkpoints.c.note).order_by(ledger_checkpoints.c.size.desc()).limit(1)
    ).scalar_one_or_none()
    if note is None:
        return None
    parsed = Checkpoint.parse(parse_note(note).text)
    digest = hashlib.sha256(note.encode("utf-8")).hexdigest()
    return CheckpointRef(parsed.origin, parsed.size, parsed.root.hex(), digest)


def _named_types(conn: Connection, counts: list[Count]) -> list[Count]:
    """Credential types counted by slug, each named as its latest registered version names it
    (an authority's type has no name in the page's vocabulary)."""
    from orgbook.projections.credential_types import all_types

    names: dict[str, Mapping[str, str]] = {}
    for registered in all_types(conn):  # ledger order: the latest version wins
        names[registered.definition.slug] = registered.definition.name
    out = []
    for x in counts:
        named = names.get(x.value)
        label = (named.get("en") or None) if named else None
        out.append(Count(x.value, x.count, label, dict(named) if named else None))
    return out


def compute_stats(conn: Connection, *, now: datetime | None = None) -> RegisterStats:
    """Every figure, from the projections read by ``conn`` (one transaction)."""
    o, c, e = organisations, credentials, credential_events
    by_issuer = _grouped(conn, c.c.issuer_id)
    names = {row.id: row.name for row in conn.execute(select(issuers.c.id, issuers.c.name))}
    size = conn.execute(select(ledger_head.c.size)).scalar_one_or_none() or 0
    by_type = _named_types(conn, _grouped(conn, c.c.type))
    by_status = _grouped(conn, o.c.status)
    return RegisterStats(
        checkpoint=latest_checkpoint(conn),
        ledger_size=int(size),
        computed_at=now or datetime.now(UTC),
        organisations=sum(x.count for x in by_status),
        by_jurisdiction=_grouped(conn, o.c.jurisdiction),
        by_entity_type=_grouped(conn, o.c.entity_type, o.c.entity_type != ""),
        by_status=by_status,
        credentials=sum(x.count for x in by_type),
        by_credential_type=by_type,
        by_issuer=[Count(x.value, x.count, names.get(x.value)) for x in by_issuer],
        # a registration is its registration credential (a corrected one supersedes it: not
        # counted twice), by the month it took effect
        registrations_per_month=_monthly(
            conn, c.c.effective, c, c.c.type == "registration", c.c.state != "superseded"
        ),
        # an issuance is a credential.issued entry, by the month it was logged
        issuances_per_month=_monthly(conn, e.c.at, e, e.c.kind == "issued"),
    )


class StatsCache:
    """The figures of the latest checkpoint; recomputed only when the checkpoint changes."""

    def __init__(self, compute: Callable[[Connection], RegisterStats] = compute_stats) -> None:
        self._compute = compute
        self._lock = threading.Lock()
        self._latest: RegisterStats | None = None
        self.computations = 0

    @staticmethod
    def _key(checkpoint: CheckpointRef | None) -> str | None:
        return None if checkpoint is None else checkpoint.note_sha256

    def get(self, engine: Engine) -> RegisterStats:
        """The figures as of the latest checkpoint (one indexed read when they are cached)."""
        with reading(engine) as conn:
            key = self._key(latest_checkpoint(conn))
        held = self._latest
        if held is not None and self._key(held.checkpoint) == key:
            return held
        if held is not None and not self._lock.acquire(blocking=False):
            return held  # another request is computing the new checkpoint's figures
        if held is None:
            self._lock.acquire()
        try:
            held = self._latest
            if held is not None and self._key(held.checkpoint) == key:
                return held
            with reading(engine) as conn:
                if conn.dialect.name == "postgresql":  # one snapshot for every query
                    conn.exec_driver_sql("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
                fresh = self._compute(conn)
            self.computations += 1
            self._latest = fresh
            return fresh
        finally:
            self._lock.release()
