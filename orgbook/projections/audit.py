"""The projection audit: is what the API serves derived from the ledger? Reports the first row not.

The ledger audit (:mod:`orgbook.ledger.audit`) proves the ledger sound; the projections are
caches of it that anyone with write access to the database could edit. This module derives
every projection from the ledger alone into a scratch database (:mod:`orgbook.projections.derive`,
the same code as ``orgbook ledger replay``) and compares it with the stored one, table by table
(:data:`COMPARISONS`), both streamed in key order (code-point order on both backends) so memory
stays bounded whatever the size. The first difference is reported with the table, the row's
key, the differing field, both values, and the ledger entry the row derives from.

What is compared, and what is not:

* credentials (state, suspension, supersession, where the signed document lies in its entry…),
  their history, organisations, names, relationships, issuers and their public keys, the
  status-list bits and the bits of the signed copy a verifier is served, and the search index
  (documents, names, prefix, number and filter keys; the typo vocabulary must hold every derived
  word, extra old spellings are allowed since it is append-only);
* not compared: what is not on the ledger (sealed private keys, API keys, ingestion
  bookkeeping, the SQLite FTS5 token index, which SQLite maintains from ``search_name``), and
  ``organisations.created_index``/``updated_index``, bookkeeping that records the last index of
  the batch that wrote the row (a replay batches differently) and is never served;
* organisations listed in ``search_pending`` (a bulk feed defers their search documents to its
  end) are left out of the search comparisons and counted in the report.

A new projection is one more :class:`Comparison` in :data:`COMPARISONS`
(:mod:`orgbook.projections.comparisons`, re-exported here). Read-only on the audited database;
run inside the same snapshot as the ledger audit, after it passed.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, select

from orgbook.ledger.store import Ledger, ledger_entries
from orgbook.projections.comparisons import COMPARISONS, Comparison, Explanation, Row, Rows
from orgbook.projections.derive import DerivationError, derive, scratch_engine
from orgbook.projections.tables import search_pending

__all__ = ["COMPARISONS", "Comparison", "Difference", "ProjectionReport", "audit_projections"]

Progress = Callable[[str, int, int], None]
"""Called with ("replay", entries done, entries) then ("compare", tables done, tables)."""


@dataclass(frozen=True, slots=True)
class Difference:
    """The first stored row or field that is not what the ledger derives."""

    table: str
    key: tuple[tuple[str, Any], ...]
    field: str  # a column, or "row" when the row is missing or not derived at all
    stored: Any  # None for a row the ledger derives that is not stored
    derived: Any  # None for a stored row the ledger does not derive
    ledger_index: int | None
    ledger_kind: str | None
    note: str = ""

    def describe(self) -> str:
        key = ", ".join(f"{name}={value!r}" for name, value in self.key)
        where = f"{self.table}[{key}]"
        if self.field == "row":
            what = (
                "is missing (the ledger derives it)"
                if self.stored is None
                else "is stored but no ledger entry derives it"
            )
        else:
            what = f".{self.field} is {_show(self.stored)}, the ledger gives {_show(self.derived)}"
        note = f" ({self.note})" if self.note else ""
        if self.ledger_index is None:
            source = ""
        else:
            source = f"; derived from ledger entry {self.ledger_index} ({self.ledger_kind})"
        return f"{where}{'' if what.startswith('.') else ' '}{what}{note}{source}"


@dataclass(frozen=True, slots=True)
class ProjectionReport:
    """``ok``, or the first difference (or why nothing could be derived)."""

    ok: bool
    tables: tuple[tuple[str, int], ...]  # (table, rows compared), in comparison order
    difference: Difference | None = None
    reason: str = ""
    pending: int = 0  # organisations whose search documents are deferred, not compared

    @property
    def rows(self) -> int:
        return sum(count for _, count in self.tables)

    def summary(self) -> str:
        """One line for people."""
        if self.ok:
            pending = (
                f"; {self.pending:,} organisation(s) with deferred search documents not compared"
                if self.pending
                else ""
            )
            return (
                f"projections sound: {self.rows:,} rows in {len(self.tables)} tables "
                f"re-derived from the ledger and equal{pending}"
            )
        if self.difference is not None:
            return f"projections UNSOUND: {self.difference.describe()}"
        return f"projections UNSOUND: {self.reason}"


# --- comparisons -----------------------------------------------------------------------------


# --- the merge -------------------------------------------------------------------------------


class _Found(Exception):
    def __init__(self, key: Row, field: str, stored: Any, derived: Any) -> None:
        super().__init__(field)
        self.key = key
        self.field = field
        self.stored = stored
        self.derived = derived


def _compare(comparison: Comparison, stored: Rows, derived: Rows, skip: frozenset[str]) -> int:
    """Rows compared; raises :class:`_Found` at the first difference."""
    width = len(comparison.key)
    fields = comparison.fields
    absent = comparison.absent
    org = comparison.key.index(comparison.org) if comparison.org else None
    count = 0

    def against_absent(row: Row, row_is_stored: bool) -> None:
        if absent is None:
            if row_is_stored:
                raise _Found(row[:width], "row", row, None)
            raise _Found(row[:width], "row", None, row)
        for offset, name in enumerate(fields):
            value = row[width + offset]
            if value != absent[name]:
                if row_is_stored:
                    raise _Found(row[:width], name, value, absent[name])
                raise _Found(row[:width], name, absent[name], value)

    s = next(stored, None)
    d = next(derived, None)
    while s is not None or d is not None:
        if org is not None:
            if s is not None and s[org] in skip:
                s = next(stored, None)
                continue
            if d is not None and d[org] in skip:
                d = next(derived, None)
                continue
        count += 1
        if s is not None and d is not None and s == d:
            s, d = next(stored, None), next(derived, None)
            continue
        if s is None or (d is not None and d[:width] < s[:width]):
            assert d is not None
            against_absent(d, row_is_stored=False)
            d = next(derived, None)
        elif d is None or s[:width] < d[:width]:
            if not comparison.extra_ok:
                against_absent(s, row_is_stored=True)
            s = next(stored, None)
        else:
            for offset, name in enumerate(fields):
                if s[width + offset] != d[width + offset]:
                    raise _Found(s[:width], name, s[width + offset], d[width + offset])
            s, d = next(stored, None), next(derived, None)
    return count


def _difference(
    comparison: Comparison, found: _Found, conn: Connection, scratch: Connection
) -> Difference:
    key = dict(zip(comparison.key, found.key, strict=True))
    if found.field == "row":
        stored, derived = found.stored, found.derived
        explanation = (
            comparison.explain(scratch, key, "row", stored, derived)
            if derived is not None
            else Explanation(None, stored, derived)
        )
    else:
        explanation = comparison.explain(scratch, key, found.field, found.stored, found.derived)
    kind = None
    if explanation.ledger_index is not None:
        kind = conn.execute(
            select(ledger_entries.c.kind).where(ledger_entries.c.idx == explanation.ledger_index)
        ).scalar()
    return Difference(
        table=comparison.label,
        key=tuple(key.items()),
        field=found.field + explanation.part,
        stored=explanation.stored,
        derived=explanation.derived,
        ledger_index=explanation.ledger_index,
        ledger_kind=None if kind is None else str(kind),
        note=explanation.note,
    )


def compare(
    conn: Connection,
    scratch: Connection,
    comparisons: Sequence[Comparison] = COMPARISONS,
    *,
    progress: Progress | None = None,
) -> ProjectionReport:
    """Compare the stored projections (``conn``) with the derived ones (``scratch``)."""
    pending = frozenset(
        str(org) for org in conn.execute(select(search_pending.c.organisation_id)).scalars()
    )
    counts: list[tuple[str, int]] = []
    for done, comparison in enumerate(comparisons):
        if comparison.search and comparison.org is None and pending:
            continue  # the deferred documents' words are not in the vocabulary yet
        stored = comparison.rows(conn, stored=True)
        derived = comparison.rows(scratch, stored=False)
        try:
            counts.append((comparison.label, _compare(comparison, stored, derived, pending)))
        except _Found as found:
            stored.close()
            derived.close()
            difference = _difference(comparison, found, conn, scratch)
            return ProjectionReport(
                ok=False, tables=tuple(counts), difference=difference, pending=len(pending)
            )
        if progress is not None:
            progress("compare", done + 1, len(comparisons))
    return ProjectionReport(ok=True, tables=tuple(counts), pending=len(pending))


def audit_projections(
    conn: Connection,
    ledger: Ledger,
    *,
    scratch_dir: str | Path | None = None,
    progress: Progress | None = None,
) -> ProjectionReport:
    """Derive every projection from ``conn``'s ledger and compare; never raises for a fault."""

    def replayed(done: int, total: int) -> None:
        if progress is not None:
            progress("replay", done, total)

    with scratch_engine(scratch_dir) as engine, engine.connect() as scratch:
        try:
            derive(conn, ledger, scratch, progress=replayed)
        except DerivationError as exc:
            return ProjectionReport(ok=False, tables=(), reason=exc.detail)
        report = compare(conn, scratch, progress=progress)
        scratch.rollback()  # thrown away: no point committing it
        return report


def _show(value: Any) -> str:
    if isinstance(value, bytes):
        text = value.hex()
        return f"0x{text[:32]}…" if len(text) > 32 else f"0x{text}"
    if isinstance(value, datetime):
        return value.isoformat().replace("+00:00", "Z")
    if isinstance(value, str) and len(value) > 120:
        return json.dumps(value[:120] + "…", ensure_ascii=False)
    return json.dumps(value, ensure_ascii=False) if isinstance(value, str) else repr(value)
