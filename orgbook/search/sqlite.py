"""SQLite side of organisation search: the FTS5 token index over normalised names.

The FTS5 table ``search_name_fts`` is an external-content index of ``search_name.norm`` (rowid =
``search_name.id``) with the ``ascii`` tokeniser: normalised names contain only alphanumerics
and single spaces, and ``ascii`` splits exactly on the spaces (non-ASCII letters are token
characters), so its tokens are those of :func:`orgbook.search.normalise.normalise`, the same
as the PostgreSQL index. ``detail='none'``: only token membership is asked, never positions.

This module only retrieves candidates; ranking is done in :mod:`orgbook.search.tiers`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import (
    Connection,
    Integer,
    Select,
    String,
    Table,
    bindparam,
    column,
    literal_column,
    select,
    table,
)

FTS_TABLE = "search_name_fts"

_CREATE = (
    f"CREATE VIRTUAL TABLE IF NOT EXISTS {FTS_TABLE} USING fts5("
    "norm, content='search_name', content_rowid='id', tokenize='ascii', detail='none')"
)


def create_objects(conn: Connection) -> None:
    """Create the FTS5 table (idempotent)."""
    conn.exec_driver_sql(_CREATE)


def drop_objects(conn: Connection) -> None:
    conn.exec_driver_sql(f"DROP TABLE IF EXISTS {FTS_TABLE}")


def rebuild(conn: Connection) -> None:
    """Rebuild the FTS5 index from the ``search_name`` rows (after they were written behind its
    back: the index is external-content)."""
    conn.exec_driver_sql(f"INSERT INTO {FTS_TABLE}({FTS_TABLE}) VALUES ('rebuild')")


def fts_add(conn: Connection, org_ids: Sequence[str]) -> None:
    """Index the ``search_name`` rows of ``org_ids`` (just inserted)."""
    marks = ",".join("?" * len(org_ids))
    conn.exec_driver_sql(
        f"INSERT INTO {FTS_TABLE}(rowid, norm) "
        f"SELECT id, norm FROM search_name WHERE org_id IN ({marks})",
        tuple(org_ids),
    )


def fts_remove(conn: Connection, rows: Sequence[tuple[int, str]]) -> None:
    """Un-index ``(id, norm)`` rows of ``search_name`` before they are deleted.

    An external-content FTS5 table must be told the values it indexed ('delete' command).
    """
    conn.exec_driver_sql(
        f"INSERT INTO {FTS_TABLE}({FTS_TABLE}, rowid, norm) VALUES ('delete', ?, ?)",
        list(rows),
    )


def match_query(groups: Sequence[Sequence[str]]) -> str:
    """The FTS5 expression: every group must match, any token of a group will do."""
    return " AND ".join(
        "(" + " OR ".join(f'"{token}"' for token in group) + ")" for group in groups
    )


def matching_names(name_table: Table, groups: Sequence[Sequence[str]]) -> Select[Any]:
    """``SELECT org_id, norm`` of the ``search_name`` rows that have a token of every group.

    Driven by the FTS5 table (a join, not ``id IN (…)``, which would materialise every match
    before a ``LIMIT`` could stop it).
    """
    fts = table(FTS_TABLE, column("rowid", Integer))
    match = literal_column(FTS_TABLE).bool_op("MATCH")(
        bindparam("fts_query", match_query(groups), type_=String)
    )
    return (
        select(name_table.c.org_id, name_table.c.norm)
        .select_from(fts.join(name_table, name_table.c.id == fts.c.rowid))
        .where(match)
    )
