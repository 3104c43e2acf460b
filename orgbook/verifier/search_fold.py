"""The letter rules a search index is built with, stored beside it.

Search matches a query against names only if both were normalised with the same letter rules
(:class:`orgbook.verifier.normalise.Folding`: "Ł" → "L", "æ" → "ae" …). So the rules are data of
the index, in ``search_fold``, and every process that indexes or queries reads them from there:

* on PostgreSQL they are the server's own ``unaccent`` dictionary's
  (:func:`orgbook.verifier.search_pg.server_folding`), captured when the table is made and
  again by every ``orgbook db upgrade`` (which re-indexes the organisations whose names the new
  rules fold differently: :func:`orgbook.verifier.search.refresh_folding`);
* on SQLite, and on a PostgreSQL server where this role may not create the extension, they are
  the rules shipped with orgbook (:data:`orgbook.verifier.normalise.UNACCENT`, a copy of
  PostgreSQL's ``unaccent.rules``).

The two are equal for PostgreSQL 15's rules (a CI test compares them letter by letter), so both
backends return the same results for the same data. A server whose ``unaccent`` rules differ
(another release, or rules edited by its administrator) folds as its rules say, and says so:
``orgbook db upgrade`` prints the change.

Readers cache the rules per engine and look again after :data:`RELOAD_SECONDS`.
"""

from __future__ import annotations

import threading
import time
import weakref

from sqlalchemy import Column, Connection, Table, Text, delete, select
from sqlalchemy.pool import Pool

from orgbook.db import metadata
from orgbook.verifier.normalise import UNACCENT, Folding

__all__ = ["RELOAD_SECONDS", "folding_for", "read", "remember", "search_fold", "store", "stored"]

RELOAD_SECONDS = 60.0

search_fold = Table(
    "search_fold",
    metadata,
    Column("letter", Text().with_variant(Text(collation="C"), "postgresql"), primary_key=True),
    Column("folded", Text, nullable=False),
)


def read(conn: Connection) -> Folding | None:
    """The stored rules; None when there are none (an index made before revision 0008)."""
    rows = conn.execute(select(search_fold.c.letter, search_fold.c.folded)).all()
    return Folding({row.letter: row.folded for row in rows}) if rows else None


def stored(conn: Connection) -> Folding:
    """The rules the index was built with: the stored ones, or else the shipped rules, which
    built every index before revision 0008."""
    return read(conn) or UNACCENT


def store(conn: Connection, folding: Folding) -> None:
    """Replace the stored rules (in the caller's transaction); re-indexing is the caller's."""
    if not folding.rules:
        raise ValueError("a folding with no rules cannot be stored")
    conn.execute(delete(search_fold))
    conn.execute(
        search_fold.insert(),
        [{"letter": letter, "folded": folded} for letter, folded in folding.rules.items()],
    )
    remember(conn, folding)


# Keyed by the engine's pool: ``db.read_only(engine)`` and every other ``execution_options``
# view is a new Engine object over the same pool, so keying by the Engine missed on every
# read transaction and read the whole rules table once per search.
_CACHE: weakref.WeakKeyDictionary[Pool, tuple[Folding, float]] = weakref.WeakKeyDictionary()
_CACHE_LOCK = threading.Lock()


def remember(conn: Connection, folding: Folding) -> None:
    with _CACHE_LOCK:
        _CACHE[conn.engine.pool] = (folding, time.monotonic())


def folding_for(conn: Connection) -> Folding:
    """The rules to normalise with on this database (cached per engine and its views)."""
    with _CACHE_LOCK:
        cached = _CACHE.get(conn.engine.pool)
    if cached is not None and time.monotonic() - cached[1] < RELOAD_SECONDS:
        return cached[0]
    folding = stored(conn)
    remember(conn, folding)
    return folding
