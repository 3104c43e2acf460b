"""The projection audit: is what the API serves derived from the ledger? Reports the first row not.

The ledger audit (:mod:`orgbook.ledger.audit`) proves the ledger sound; the projections are
caches of it that anyone with write access to the database could edit. This module derives
every projection from the ledger alone into a scratch database (:mod:`orgbook.ledger.derive`,
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

A new projection is one more :class:`Comparison` in :data:`COMPARISONS`. Read-only on the
audited database; run inside the same snapshot as the ledger audit, after it passed.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Generator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import (
    Connection,
    DateTime,
    LargeBinary,
    Select,
    String,
    Table,
    func,
    select,
)

from orgbook.canonical import loads_strict
from orgbook.db import stored_utc
from orgbook.errors import OrgBookError
from orgbook.issuer.statuslists import LIST_SIZE
from orgbook.issuer.store import (
    credential_events,
    credentials,
    issuer_keys,
    issuers,
    organisation_names,
    organisations,
    relationships,
    search_pending,
    status_list_versions,
    status_lists,
)
from orgbook.ledger.derive import DerivationError, derive, scratch_engine
from orgbook.ledger.store import Ledger, ledger_entries
from orgbook.statuslist import StatusList
from orgbook.verifier.search import (
    search_name,
    search_number,
    search_org,
    search_prefix,
    search_tag,
    search_term,
)

__all__ = ["COMPARISONS", "Comparison", "Difference", "ProjectionReport", "audit_projections"]

BATCH = 2000
"""Rows fetched at a time from each side."""

Progress = Callable[[str, int, int], None]
"""Called with ("replay", entries done, entries) then ("compare", tables done, tables)."""

Row = tuple[Any, ...]
Rows = Generator[Row, None, None]
Key = dict[str, Any]


@dataclass(frozen=True, slots=True)
class Explanation:
    """Where a difference comes from: the ledger entry, and the values to show."""

    ledger_index: int | None
    stored: Any
    derived: Any
    note: str = ""
    part: str = ""  # which part of the field differs, e.g. "[13]" for a bit of a bitstring


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

Explain = Callable[[Connection, Key, str, Any, Any], Explanation]


@dataclass(frozen=True, slots=True)
class Comparison:
    """One projection table: compared on ``fields``, row by row in ``key`` order.

    ``absent``: a row missing on one side counts as this one (a status list never written is
    all zeros). ``extra_ok``: stored rows the ledger does not derive are allowed.
    ``search``: a search-index table; ``org`` its key column holding an organisation id. Rows
    of organisations whose search documents are pending are skipped (the whole table when it
    has no such column). ``stored``/``derived``: how a row is read from each
    side, when not just the table's columns. ``explain``: the ledger entry a row derives from.
    """

    table: Table
    key: tuple[str, ...]
    fields: tuple[str, ...]
    explain: Explain
    absent: Mapping[str, Any] | None = None
    extra_ok: bool = False
    search: bool = False
    org: str | None = None
    stored: Callable[[Connection], Rows] | None = None
    derived: Callable[[Connection], Rows] | None = None
    name: str = field(default="")

    @property
    def label(self) -> str:
        return self.name or self.table.name

    def rows(self, conn: Connection, *, stored: bool) -> Rows:
        custom = self.stored if stored else self.derived
        if custom is not None:
            return custom(conn)
        return _table_rows(conn, self.table, self.key, self.fields)


def _ordered(conn: Connection, column: Any) -> Any:
    """Code-point order on both backends (PostgreSQL's default collation is the locale's)."""
    if conn.dialect.name == "postgresql" and isinstance(column.type, String):
        return column.collate("C")
    return column


def _converters(columns: Sequence[Any]) -> list[tuple[int, Callable[[Any], Any]]]:
    found: list[tuple[int, Callable[[Any], Any]]] = []
    for position, column in enumerate(columns):
        if isinstance(column.type, DateTime):
            found.append((position, _datetime))
        elif isinstance(column.type, LargeBinary):
            found.append((position, _bytes))
    return found


def _datetime(value: Any) -> Any:
    return stored_utc(value) if isinstance(value, datetime) else value


def _bytes(value: Any) -> Any:
    return bytes(value) if isinstance(value, (memoryview, bytearray)) else value


def _stream(conn: Connection, query: Select[Any]) -> Rows:
    """Rows of ``query``, fetched a batch at a time, values comparable across backends."""
    columns = list(query.selected_columns)
    convert = _converters(columns)
    result = conn.execute(query.execution_options(yield_per=BATCH))
    try:
        for row in result:
            if convert:
                values = list(row)
                for position, fn in convert:
                    values[position] = fn(values[position])
                yield tuple(values)
            else:
                yield tuple(row)
    finally:
        result.close()


def _table_rows(conn: Connection, table: Table, key: Sequence[str], fields: Sequence[str]) -> Rows:
    query = select(*(table.c[name] for name in (*key, *fields))).order_by(
        *(_ordered(conn, table.c[name]) for name in key)
    )
    return _stream(conn, query)


# --- where a row comes from (the ledger entry named in a report) ------------------------------


def _scalar(conn: Connection, query: Select[Any]) -> int | None:
    value = conn.execute(query).scalar()
    return None if value is None else int(value)


def _last_event(conn: Connection, credential_id: str, kinds: Sequence[str]) -> int | None:
    return _scalar(
        conn,
        select(func.max(credential_events.c.ledger_index)).where(
            credential_events.c.credential_id == credential_id,
            credential_events.c.kind.in_(kinds),
        ),
    )


def _issued(conn: Connection, credential_id: str) -> int | None:
    return _scalar(
        conn, select(credentials.c.ledger_index).where(credentials.c.id == credential_id)
    )


_EVENT_KINDS = {
    "state": ("superseded", "revoked"),
    "superseded_by": ("superseded",),
    "current": ("superseded",),
    "suspended": ("suspended", "unsuspended"),
}


def _credential_entry(conn: Connection, credential_id: str, field: str) -> int | None:
    """The event that set ``field`` of the credential, else the entry that issued it."""
    kinds = _EVENT_KINDS.get(field)
    found = _last_event(conn, credential_id, kinds) if kinds else None
    return found if found is not None else _issued(conn, credential_id)


def _explain_credential(scratch: Connection, key: Key, field: str, s: Any, d: Any) -> Explanation:
    credential_id = str(key.get("id", key.get("credential_id")))
    return Explanation(_credential_entry(scratch, credential_id, field), s, d)


def _explain_event(scratch: Connection, key: Key, field: str, s: Any, d: Any) -> Explanation:
    return Explanation(int(key["ledger_index"]), s, d)


_ORG_FIELD_TYPES = {
    "name": "legal-name",
    "sort_key": "legal-name",
    "status": "status",
    "active": "status",
    "entity_type": "registration",
    "business_number": "business-number",
}


def _explain_organisation(scratch: Connection, key: Key, field: str, s: Any, d: Any) -> Explanation:
    """The current credential the field comes from, else the organisation's latest credential."""
    org_id = str(key.get("id", key.get("org_id")))
    query = select(func.max(credentials.c.ledger_index)).where(
        credentials.c.organisation_id == org_id
    )
    found = None
    if field in _ORG_FIELD_TYPES:
        found = _scalar(
            scratch,
            query.where(
                credentials.c.type == _ORG_FIELD_TYPES[field], credentials.c.state == "current"
            ),
        )
    return Explanation(found if found is not None else _scalar(scratch, query), s, d)


def _explain_issuer(scratch: Connection, key: Key, field: str, s: Any, d: Any) -> Explanation:
    if field == "next_status_index":
        last = _scalar(
            scratch,
            select(func.max(credentials.c.ledger_index)).where(
                credentials.c.issuer_id == key["id"]
            ),
        )
        if last is not None:
            return Explanation(last, s, d, "the issuer's last issued credential")
    found = _scalar(scratch, select(issuers.c.ledger_index).where(issuers.c.id == key["id"]))
    return Explanation(found, s, d)


def _explain_key(scratch: Connection, key: Key, field: str, s: Any, d: Any) -> Explanation:
    row = scratch.execute(
        select(issuer_keys.c.added_index, issuer_keys.c.retired_index).where(
            issuer_keys.c.key_id == key["key_id"]
        )
    ).first()
    if row is None:
        return Explanation(None, s, d)
    retired = field in ("active", "retired_at", "retired_index") and row.retired_index is not None
    return Explanation(int(row.retired_index if retired else row.added_index), s, d)


_ZERO_LIST = bytes(LIST_SIZE // 8)
_PURPOSE_EVENTS = {
    "revocation": ("superseded", "revoked"),
    "suspension": ("suspended", "unsuspended"),
}


def _first_bit(a: bytes, b: bytes) -> int | None:
    for position in range(max(len(a), len(b))):
        x = a[position] if position < len(a) else 0
        y = b[position] if position < len(b) else 0
        if x != y:
            diff = x ^ y
            return position * 8 + (8 - diff.bit_length())
    return None


def _bit(bits: Any, position: int) -> int | None:
    if not isinstance(bits, bytes):
        return None
    if position // 8 >= len(bits):
        return 0
    return (bits[position // 8] >> (7 - position % 8)) & 1


def _explain_status_list(scratch: Connection, key: Key, field: str, s: Any, d: Any) -> Explanation:
    """Names the first differing bit, its credential and the entry that set (or cleared) it."""
    if not isinstance(s, bytes) or not isinstance(d, bytes):
        return Explanation(None, s, d)
    position = _first_bit(s, d)
    if position is None:
        return Explanation(None, s, d)
    index = int(key["list_number"]) * LIST_SIZE + position
    credential_id = scratch.execute(
        select(credentials.c.id).where(
            credentials.c.issuer_id == key["issuer_id"], credentials.c.status_index == index
        )
    ).scalar()
    shown_s, shown_d, part = _bit(s, position), _bit(d, position), f"[{position}]"
    if credential_id is None:
        return Explanation(None, shown_s, shown_d, f"status index {index}: no credential", part)
    kinds = _PURPOSE_EVENTS.get(str(key["purpose"]), ())
    entry = _last_event(scratch, credential_id, kinds) if kinds else None
    return Explanation(
        entry if entry is not None else _issued(scratch, credential_id),
        shown_s,
        shown_d,
        f"status index {index}, credential {credential_id}",
        part,
    )


def _served_bits(signed: Any, version: Any, signed_version: Any, bits: bytes) -> Any:
    """The bits a verifier is served: the signed copy's when it is current, else the stored
    bits (the next request re-signs them)."""
    if signed is None or signed_version != version:
        return bits
    try:
        document = loads_strict(bytes(signed))
        encoded = document["credentialSubject"]["encodedList"]
        return StatusList.decode(encoded).to_bytes()
    except (OrgBookError, KeyError, TypeError) as exc:
        return f"(the signed copy cannot be read: {exc})"


def _stored_status_lists(conn: Connection) -> Rows:
    t = status_lists
    key = (_ordered(conn, t.c.issuer_id), _ordered(conn, t.c.purpose), t.c.list_number)
    columns = (t.c.bits, t.c.signed, t.c.version, t.c.signed_version)
    query = select(t.c.issuer_id, t.c.purpose, t.c.list_number, *columns).order_by(*key)
    for issuer_id, purpose, number, bits, signed, version, signed_version in _stream(conn, query):
        yield issuer_id, purpose, number, bits, _served_bits(signed, version, signed_version, bits)


def _derived_status_lists(conn: Connection) -> Rows:
    for issuer_id, purpose, number, bits in _table_rows(
        conn, status_lists, ("issuer_id", "purpose", "list_number"), ("bits",)
    ):
        yield issuer_id, purpose, number, bits, bits


def _explain_version(scratch: Connection, key: Key, field: str, s: Any, d: Any) -> Explanation:
    found = _scalar(
        scratch,
        select(status_list_versions.c.ledger_index).where(
            status_list_versions.c.digest == key["digest"]
        ),
    )
    return Explanation(found, s, d)


def _columns(table: Table, key: Sequence[str], skip: Sequence[str] = ()) -> tuple[str, ...]:
    return tuple(c.name for c in table.columns if c.name not in key and c.name not in skip)


COMPARISONS: tuple[Comparison, ...] = (
    Comparison(issuers, ("id",), _columns(issuers, ("id",)), _explain_issuer),
    Comparison(
        issuer_keys,
        ("key_id",),
        _columns(issuer_keys, ("key_id",), ("sealed_private_key",)),
        _explain_key,
    ),
    Comparison(credentials, ("id",), _columns(credentials, ("id",)), _explain_credential),
    Comparison(
        credential_events,
        ("ledger_index",),
        _columns(credential_events, ("ledger_index",)),
        _explain_event,
    ),
    Comparison(
        organisations,
        ("id",),
        _columns(organisations, ("id",), ("created_index", "updated_index")),
        _explain_organisation,
    ),
    Comparison(
        organisation_names,
        ("credential_id",),
        _columns(organisation_names, ("credential_id",)),
        _explain_credential,
    ),
    Comparison(
        relationships,
        ("credential_id",),
        _columns(relationships, ("credential_id",)),
        _explain_credential,
    ),
    Comparison(
        status_lists,
        ("issuer_id", "purpose", "list_number"),
        ("bits", "signed"),
        _explain_status_list,
        absent={"bits": _ZERO_LIST, "signed": _ZERO_LIST},
        stored=_stored_status_lists,
        derived=_derived_status_lists,
    ),
    Comparison(
        status_list_versions,
        ("digest",),
        _columns(status_list_versions, ("digest",)),
        _explain_version,
    ),
    Comparison(
        search_org,
        ("org_id",),
        _columns(search_org, ("org_id",)),
        _explain_organisation,
        search=True,
        org="org_id",
    ),
    Comparison(
        search_name,
        ("org_id", "norm"),
        ("kind", "name", "core"),
        _explain_organisation,
        search=True,
        org="org_id",
    ),
    Comparison(
        search_prefix,
        ("is_start", "key", "org_id"),
        (),
        _explain_organisation,
        search=True,
        org="org_id",
    ),
    Comparison(
        search_number, ("key", "org_id"), (), _explain_organisation, search=True, org="org_id"
    ),
    Comparison(
        search_tag,
        ("org_id", "kind", "value"),
        (),
        _explain_organisation,
        search=True,
        org="org_id",
    ),
    Comparison(
        search_term,
        ("term",),
        (),
        lambda scratch, key, field, s, d: Explanation(None, s, d),
        extra_ok=True,
        search=True,
    ),
)
"""Every projection the API serves, in the order they are compared."""


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
