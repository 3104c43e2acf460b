"""What the projection audit compares: every served table, read in key order from each side.

Each :class:`Comparison` says how one projection's rows are read (stored and derived side, in
code-point key order on both backends) and, for a row that differs, which ledger entry it
derives from (its ``explain``). :data:`COMPARISONS` lists them all; the merge that walks both
sides and reports the first difference is :mod:`orgbook.projections.audit`. A new projection is
one more :class:`Comparison` here.
"""

from __future__ import annotations

from collections.abc import Callable, Generator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
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

from orgbook.core.canonical import loads_strict
from orgbook.core.errors import OrgBookError
from orgbook.core.statuslist import StatusList
from orgbook.core.time import as_utc
from orgbook.projections.authorisations import authorisations
from orgbook.projections.credential_types import credential_types
from orgbook.projections.status import LIST_SIZE
from orgbook.projections.tables import (
    credential_events,
    credentials,
    issuer_keys,
    issuers,
    organisation_names,
    organisations,
    relationships,
    status_list_versions,
    status_lists,
)
from orgbook.search import (
    search_name,
    search_number,
    search_org,
    search_prefix,
    search_tag,
    search_term,
)

__all__ = ["BATCH", "COMPARISONS", "Comparison", "Explanation", "Key", "Row", "Rows"]

BATCH = 2000
"""Rows fetched at a time from each side."""

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
    return as_utc(value) if isinstance(value, datetime) else value


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


def _explain_authorisation(
    scratch: Connection, key: Key, field: str, s: Any, d: Any
) -> Explanation:
    column = "withdrawn_index" if field.startswith("withdrawn") else "ledger_index"
    row = scratch.execute(
        select(authorisations.c.ledger_index, authorisations.c.withdrawn_index).where(
            authorisations.c.id == key["id"]
        )
    ).first()
    found = None if row is None else getattr(row, column)
    return Explanation(None if found is None else int(found), s, d)


def _explain_type(scratch: Connection, key: Key, field: str, s: Any, d: Any) -> Explanation:
    found = _scalar(
        scratch,
        select(credential_types.c.ledger_index).where(credential_types.c.id == key["id"]),
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
        authorisations,
        ("id",),
        _columns(authorisations, ("id",)),
        _explain_authorisation,
    ),
    Comparison(
        credential_types,
        ("id",),
        _columns(credential_types, ("id",)),
        _explain_type,
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
        ("valid_until",),
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
