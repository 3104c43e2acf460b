"""Writing the search index: one organisation's rows in, or out, in the caller's transaction.

What it owns: :func:`upsert_orgs` (called by issuance, replay and the projections' re-index,
inside their transactions) and :func:`delete_org` — turning an :class:`OrgDoc` into its rows in
every ``search_*`` table (its names, word-start keys, number keys, filter tags, the vocabulary
words) and removing exactly those rows again, SQLite's FTS5 index included. Names and numbers
are normalised with the index's stored letter rules (:func:`orgbook.search.fold.folding_for`)
unless the caller passes others.

What it must not do: normalise text itself (:mod:`orgbook.search.normalise` does), rank, or
delete from the vocabulary (``search_term`` is append-only: readers load only what was added).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, Table, bindparam, delete, select
from sqlalchemy.dialects.postgresql import insert as pg_insert

from orgbook.search import sqlite as search_sqlite
from orgbook.search.fold import folding_for
from orgbook.search.model import OrgDoc
from orgbook.search.normalise import Folding, core_name, has_digit, word_starts
from orgbook.search.rows import CHUNK, KIND_RANK, IndexedName
from orgbook.search.tables import (
    search_name,
    search_number,
    search_org,
    search_prefix,
    search_tag,
    search_term,
)
from orgbook.storage.engine import insert_rows, is_sqlite

__all__ = ["delete_org", "number_keys", "upsert_orgs"]


def _index_names(doc: OrgDoc, fold: Folding) -> list[IndexedName]:
    """The distinct normalised names of ``doc``, best kind first where two normalise alike."""
    best: dict[str, IndexedName] = {}
    for entry in doc.names:
        rank = KIND_RANK[entry.kind]
        norm = fold.normalise(entry.name)
        if not norm:
            continue
        seen = best.get(norm)
        if seen is None or rank < seen.rank:
            best[norm] = IndexedName(rank, norm, entry.name)
    return list(best.values())


def _current_name(doc: OrgDoc) -> str:
    for entry in doc.names:
        if entry.kind == "current":
            return entry.name
    return doc.names[0].name if doc.names else ""


def number_keys(registration_number: str, business_number: str | None, fold: Folding) -> set[str]:
    keys = {fold.number_key(registration_number)}
    if business_number:
        bn = fold.number_key(business_number)
        keys.add(bn)
        if len(bn) > 9 and bn[:9].isdigit():
            keys.add(bn[:9])  # the BN root of a program account, e.g. 123456789rc0001
    keys.discard("")
    return keys


def upsert_orgs(conn: Connection, docs: Sequence[OrgDoc], fold: Folding | None = None) -> None:
    """Index ``docs`` in the caller's transaction, replacing what was indexed for those orgs;
    with ``fold``'s letter rules (default: the stored ones, :func:`folding_for`)."""
    fold = fold or folding_for(conn)
    latest: dict[str, OrgDoc] = {}
    for doc in docs:
        latest[doc.org_id] = doc
    items = list(latest.values())
    for start in range(0, len(items), CHUNK):
        chunk = items[start : start + CHUNK]
        _remove(conn, [doc.org_id for doc in chunk], fold)
        _insert(conn, chunk, fold)


def delete_org(conn: Connection, org_id: str) -> None:
    """Remove an organisation from the index (no error if it is not there)."""
    _remove(conn, [org_id], folding_for(conn))


def _remove(conn: Connection, org_ids: list[str], fold: Folding) -> None:
    n, o = search_name, search_org
    old_names = conn.execute(select(n.c.id, n.c.org_id, n.c.norm).where(n.c.org_id.in_(org_ids)))
    names = old_names.all()
    orgs = conn.execute(
        select(o.c.org_id, o.c.registration_number, o.c.business_number).where(
            o.c.org_id.in_(org_ids)
        )
    ).all()
    if not names and not orgs:
        return
    if names and is_sqlite(conn):
        search_sqlite.fts_remove(conn, [(row.id, row.norm) for row in names])
    prefix_rows = {
        (is_start, key, row.org_id) for row in names for is_start, _, key in word_starts(row.norm)
    }
    if prefix_rows:
        p = search_prefix
        conn.execute(
            delete(p).where(
                p.c.is_start == bindparam("b_s"),
                p.c.key == bindparam("b_k"),
                p.c.org_id == bindparam("b_o"),
            ),
            [{"b_s": s, "b_k": k, "b_o": org} for s, k, org in sorted(prefix_rows)],
        )
    number_rows = {
        (key, row.org_id)
        for row in orgs
        for key in number_keys(row.registration_number, row.business_number, fold)
    }
    if number_rows:
        num = search_number
        conn.execute(
            delete(num).where(num.c.key == bindparam("b_k"), num.c.org_id == bindparam("b_o")),
            [{"b_k": k, "b_o": org} for k, org in sorted(number_rows)],
        )
    conn.execute(delete(n).where(n.c.org_id.in_(org_ids)))
    conn.execute(delete(search_tag).where(search_tag.c.org_id.in_(org_ids)))
    conn.execute(delete(o).where(o.c.org_id.in_(org_ids)))


def _bulk_insert(
    conn: Connection, table: Table, columns: tuple[str, ...], rows: list[tuple[Any, ...]]
) -> None:
    """Insert ``rows`` (tuples in ``columns`` order); straight to the driver on SQLite, where
    SQLAlchemy's per-row parameter processing would cost more than the insert itself."""
    if not rows:
        return
    if is_sqlite(conn):
        marks = ", ".join("?" * len(columns))
        sql = f"INSERT INTO {table.name} ({', '.join(columns)}) VALUES ({marks})"
        conn.exec_driver_sql(sql, rows)
    else:
        conn.execute(table.insert(), [dict(zip(columns, row, strict=True)) for row in rows])


_ORG_COLUMNS = (
    "org_id",
    "jurisdiction",
    "registration_number",
    "business_number",
    "status",
    "active",
    "entity_type",
    "name",
    "sort_key",
)


def _insert(conn: Connection, docs: list[OrgDoc], fold: Folding) -> None:
    org_rows: list[tuple[Any, ...]] = []
    name_rows: list[tuple[Any, ...]] = []
    prefix_rows: list[tuple[Any, ...]] = []
    number_rows: list[tuple[Any, ...]] = []
    tag_rows: list[dict[str, Any]] = []
    terms: set[str] = set()
    kinds = ("current", "alternate", "former")
    for doc in docs:
        org_id = doc.org_id
        current = _current_name(doc)
        org_rows.append(
            (
                org_id,
                doc.jurisdiction.upper(),
                doc.registration_number,
                doc.business_number,
                doc.status,
                doc.status == "active",
                doc.entity_type,
                current,
                fold.normalise(current),
            )
        )
        keys: set[tuple[int, str]] = set()
        for nm in _index_names(doc, fold):
            name_rows.append((org_id, kinds[nm.rank], nm.display, nm.norm, core_name(nm.norm)))
            keys.update((is_start, key) for is_start, _, key in word_starts(nm.norm))
            terms.update(nm.norm.split(" "))
        prefix_rows.extend((s, k, org_id) for s, k in keys)
        number_rows.extend(
            (k, org_id) for k in number_keys(doc.registration_number, doc.business_number, fold)
        )
        until = {(kind, value): when for kind, value, when in doc.expiries}
        tag_rows.extend(
            {
                "org_id": org_id,
                "kind": kind,
                "value": value,
                "valid_until": until.get((kind, value)),
            }
            for kind, values in (("c", doc.credential_types), ("i", doc.issuers))
            for value in sorted(set(values))
        )
    _bulk_insert(conn, search_org, _ORG_COLUMNS, org_rows)
    _bulk_insert(conn, search_name, ("org_id", "kind", "name", "norm", "core"), name_rows)
    if name_rows and is_sqlite(conn):
        search_sqlite.fts_add(conn, [doc.org_id for doc in docs])
    _bulk_insert(conn, search_prefix, ("is_start", "key", "org_id"), prefix_rows)
    _bulk_insert(conn, search_number, ("key", "org_id"), number_rows)
    if any(row["valid_until"] is not None for row in tag_rows):
        insert_rows(conn, search_tag, tag_rows)  # through the column type: valid_until is a time
    else:  # the common case; also a search_tag from before valid_until (migrations 0005, 0008)
        tags = [(row["org_id"], row["kind"], row["value"]) for row in tag_rows]
        _bulk_insert(conn, search_tag, ("org_id", "kind", "value"), tags)
    words = sorted(t for t in terms if not has_digit(t))  # numbers are matched exactly
    if not words:
        return
    if is_sqlite(conn):
        sql = "INSERT OR IGNORE INTO search_term (term) VALUES (?)"
        conn.exec_driver_sql(sql, [(t,) for t in words])
    else:
        conn.execute(
            pg_insert(search_term).on_conflict_do_nothing(index_elements=["term"]),
            [{"term": t} for t in words],
        )
