"""An organisation's index rows, read back: its names and its ``search_org`` row.

What it owns: :class:`IndexedName` (one distinct normalised name of an organisation, with the
rank of its kind), :data:`KIND_RANK`, and the by-organisation lookups that indexing, re-indexing,
the query tiers and autocomplete share (:func:`names_of`, :func:`orgs_of`, :func:`one_of`), in
chunks of :data:`CHUNK`. Package-internal: other packages use :mod:`orgbook.search`'s public
functions. What it must not do: write rows or rank them.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Text, any_, bindparam, select
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.sql.elements import ColumnElement

from orgbook.search.tables import search_name, search_org
from orgbook.storage.engine import is_sqlite

__all__ = ["CHUNK", "KIND_RANK", "IndexedName", "names_of", "one_of", "orgs_of"]

CHUNK = 500
"""Organisations written or read in one statement."""

KIND_RANK = {"current": 0, "alternate": 1, "former": 2}

_KEY_ARRAY = ARRAY(Text(collation="C"))


@dataclass(frozen=True, slots=True)
class IndexedName:
    rank: int  # 0 current, 1 alternate, 2 former
    norm: str
    display: str


def one_of(conn: Connection, column: Any, values: list[str]) -> ColumnElement[bool]:
    """``column IN values``; on PostgreSQL ``= ANY(array)``, one statement text whatever the
    number of values, so the driver prepares it once and the server stops re-planning it."""
    if is_sqlite(conn):
        condition: ColumnElement[bool] = column.in_(values)
    else:
        condition = column == any_(bindparam(None, values, type_=_KEY_ARRAY))
    return condition


def names_of(conn: Connection, org_ids: Iterable[str]) -> dict[str, list[IndexedName]]:
    ids = sorted(set(org_ids))
    out: dict[str, list[IndexedName]] = {org: [] for org in ids}
    n = search_name
    for start in range(0, len(ids), CHUNK):
        chunk = ids[start : start + CHUNK]
        rows = conn.execute(
            select(n.c.org_id, n.c.kind, n.c.name, n.c.norm).where(one_of(conn, n.c.org_id, chunk))
        )
        for row in rows:
            out[row.org_id].append(IndexedName(KIND_RANK[row.kind], row.norm, row.name))
    return out


def orgs_of(conn: Connection, org_ids: Iterable[str]) -> dict[str, Any]:
    ids = sorted(set(org_ids))
    if not ids:
        return {}
    rows = conn.execute(select(search_org).where(one_of(conn, search_org.c.org_id, ids)))
    return {row.org_id: row for row in rows}
