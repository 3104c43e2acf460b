"""The letter rules a search index is built with, stored beside it.

Search matches a query against names only if both were normalised with the same letter rules
(:class:`orgbook.search.normalise.Folding`: "Ł" → "L", "æ" → "ae" …). So the rules are data of
the index, in ``search_fold``, and every process that indexes or queries reads them from there:

* on PostgreSQL they are the server's own ``unaccent`` dictionary's
  (:func:`orgbook.search.postgres.server_folding`), captured when the table is made and
  again by every ``orgbook db upgrade`` (which re-indexes the organisations whose names the new
  rules fold differently: :func:`orgbook.search.reindex.refresh_folding`);
* on SQLite, and on a PostgreSQL server where this role may not create the extension, they are
  the rules shipped with orgbook (:data:`orgbook.search.normalise.UNACCENT`, a copy of
  PostgreSQL's ``unaccent.rules``).

The two are equal for PostgreSQL 15's rules (a CI test compares them letter by letter), so both
backends return the same results for the same data. A server whose ``unaccent`` rules differ
(another release, or rules edited by its administrator) folds as its rules say, and says so:
``orgbook db upgrade`` prints the change.

:func:`source_folding` says which of the two a database's index should be built with.
Readers cache the rules per engine and look again after :data:`RELOAD_SECONDS`. Re-indexing
when the rules change is :mod:`orgbook.search.reindex`'s.
"""

from __future__ import annotations

import threading
import time
import weakref

from sqlalchemy import Column, Connection, Table, Text, delete, select
from sqlalchemy.pool import Pool

from orgbook.search import postgres as search_pg
from orgbook.search.normalise import UNACCENT, Folding
from orgbook.storage.engine import metadata

__all__ = [
    "RELOAD_SECONDS",
    "folding_for",
    "read_folding",
    "remember_folding",
    "search_fold",
    "source_folding",
    "store_folding",
    "stored_folding",
]

RELOAD_SECONDS = 60.0

search_fold = Table(
    "search_fold",
    metadata,
    Column("letter", Text().with_variant(Text(collation="C"), "postgresql"), primary_key=True),
    Column("folded", Text, nullable=False),
)


def read_folding(conn: Connection) -> Folding | None:
    """The stored rules; None when there are none (an index made before revision 0008)."""
    rows = conn.execute(select(search_fold.c.letter, search_fold.c.folded)).all()
    return Folding({row.letter: row.folded for row in rows}) if rows else None


def stored_folding(conn: Connection) -> Folding:
    """The rules the index was built with: the stored ones, or else the shipped rules, which
    built every index before revision 0008."""
    return read_folding(conn) or UNACCENT


def store_folding(conn: Connection, folding: Folding) -> None:
    """Replace the stored rules (in the caller's transaction); re-indexing is the caller's."""
    if not folding.rules:
        raise ValueError("a folding with no rules cannot be stored")
    conn.execute(delete(search_fold))
    conn.execute(
        search_fold.insert(),
        [{"letter": letter, "folded": folded} for letter, folded in folding.rules.items()],
    )
    remember_folding(conn, folding)


# Keyed by the engine's pool: ``db.read_only(engine)`` and every other ``execution_options``
# view is a new Engine object over the same pool, so keying by the Engine missed on every
# read transaction and read the whole rules table once per search.
_CACHE: weakref.WeakKeyDictionary[Pool, tuple[Folding, float]] = weakref.WeakKeyDictionary()
_CACHE_LOCK = threading.Lock()


def remember_folding(conn: Connection, folding: Folding) -> None:
    with _CACHE_LOCK:
        _CACHE[conn.engine.pool] = (folding, time.monotonic())


def folding_for(conn: Connection) -> Folding:
    """The rules to normalise with on this database (cached per engine and its views)."""
    with _CACHE_LOCK:
        cached = _CACHE.get(conn.engine.pool)
    if cached is not None and time.monotonic() - cached[1] < RELOAD_SECONDS:
        return cached[0]
    folding = stored_folding(conn)
    remember_folding(conn, folding)
    return folding


def source_folding(conn: Connection) -> Folding:
    """The letter rules this database's index should be built with: the server's ``unaccent``
    rules on PostgreSQL (:func:`orgbook.search.postgres.server_folding`; the shipped ones where
    it cannot be used), the shipped rules on SQLite."""
    if conn.dialect.name == "postgresql":
        server = search_pg.server_folding(conn)
        if server is not None:
            return server
    return UNACCENT
