"""The search index's tables: their DDL, and the backend indexes that hang off them.

What it owns: the ``search_*`` tables (a projection, rebuilt from the ledger like every other
one; :data:`SEARCH_TABLES` lists them, with :mod:`orgbook.search.fold`'s ``search_fold``),
:func:`ensure_search_schema`, and the backend-specific indexes beside them — the token index
over names (SQLite's FTS5 table, :mod:`orgbook.search.sqlite`; PostgreSQL's GIN index,
:mod:`orgbook.search.postgres`) and PostgreSQL's ``pg_trgm`` vocabulary index. These are made
by ``metadata.create_all()`` (table events) and, for migrations, restores and ``orgbook db
upgrade``, by the public functions below, so no caller names a backend module.

What it must not do: write or read index rows (:mod:`orgbook.search.writer`,
:mod:`orgbook.search.rows`). Every column that is ordered or compared by range is
``COLLATE "C"`` on PostgreSQL: both backends sort in code-point order.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Connection,
    DateTime,
    Engine,
    Index,
    Integer,
    PrimaryKeyConstraint,
    SmallInteger,
    String,
    Table,
    Text,
    event,
)

from orgbook.search import fold as search_fold
from orgbook.search import postgres as search_pg
from orgbook.search import sqlite as search_sqlite
from orgbook.storage.engine import is_sqlite, metadata

__all__ = [
    "SEARCH_TABLES",
    "create_term_index",
    "create_token_index",
    "drop_token_index",
    "ensure_search_schema",
    "rebuild_token_index",
    "search_name",
    "search_number",
    "search_org",
    "search_prefix",
    "search_tag",
    "search_term",
    "term_index_exists",
]

# Every column that is ordered or compared by range sorts in code-point order on PostgreSQL too.
_Key = Text().with_variant(Text(collation="C"), "postgresql")
_Id = BigInteger().with_variant(Integer(), "sqlite")  # INTEGER PRIMARY KEY = the SQLite rowid

search_org = Table(
    "search_org",
    metadata,
    Column("org_id", _Key, primary_key=True),
    Column("jurisdiction", String(32), nullable=False),
    Column("registration_number", Text, nullable=False),
    Column("business_number", Text, nullable=True),
    Column("status", String(32), nullable=False),
    Column("active", Boolean, nullable=False),
    Column("entity_type", String(64), nullable=False),
    Column("name", Text, nullable=False),  # current name, for display
    Column("sort_key", _Key, nullable=False),  # normalise(current name)
    Index("search_org_sort", "sort_key", "org_id"),
    Index("search_org_jurisdiction_sort", "jurisdiction", "sort_key", "org_id"),
)

search_name = Table(
    "search_name",
    metadata,
    Column("id", _Id, primary_key=True, autoincrement=True),
    Column("org_id", _Key, nullable=False, index=True),
    Column("kind", _Key, nullable=False),
    Column("name", Text, nullable=False),
    Column("norm", _Key, nullable=False),
    Column("core", _Key, nullable=False, index=True),
)

# Word-start keys: one row per (name, word among its first 8) — prefix search and autocomplete
# are ordered range scans of this primary key.
search_prefix = Table(
    "search_prefix",
    metadata,
    Column("is_start", SmallInteger, nullable=False),
    Column("key", _Key, nullable=False),
    Column("org_id", _Key, nullable=False),
    PrimaryKeyConstraint("is_start", "key", "org_id"),
    sqlite_with_rowid=False,
)

search_number = Table(
    "search_number",
    metadata,
    Column("key", _Key, nullable=False),
    Column("org_id", _Key, nullable=False),
    PrimaryKeyConstraint("key", "org_id"),
    sqlite_with_rowid=False,
)

search_tag = Table(  # credential types ("c") and issuers ("i") of an organisation, for filters
    "search_tag",
    metadata,
    Column("org_id", _Key, nullable=False),
    Column("kind", String(1), nullable=False),
    Column("value", Text, nullable=False),
    # Held only until then (every credential giving it expires; the latest validUntil, UTC);
    # NULL: held until revoked.
    Column("valid_until", DateTime(timezone=True), nullable=True),
    PrimaryKeyConstraint("org_id", "kind", "value"),
    sqlite_with_rowid=False,
)

# The vocabulary for typo correction: append-only (ids only grow, so readers load increments).
search_term = Table(
    "search_term",
    metadata,
    Column("id", _Id, primary_key=True, autoincrement=True),
    Column("term", Text, nullable=False, unique=True),
    sqlite_autoincrement=True,
)

SEARCH_TABLES = (
    search_org,
    search_name,
    search_prefix,
    search_number,
    search_tag,
    search_term,
    search_fold.search_fold,
)


def create_token_index(conn: Connection) -> None:
    """Create the backend's token index over ``search_name`` (idempotent): the FTS5 table on
    SQLite, the GIN index on PostgreSQL."""
    if is_sqlite(conn):
        search_sqlite.create_objects(conn)
    elif conn.dialect.name == "postgresql":
        search_pg.create_objects(conn)


def drop_token_index(conn: Connection) -> None:
    """Drop SQLite's FTS5 table (a table of its own; PostgreSQL's index goes with its table)."""
    if is_sqlite(conn):
        search_sqlite.drop_objects(conn)


def rebuild_token_index(conn: Connection) -> None:
    """Rebuild SQLite's FTS5 index from the ``search_name`` rows, after they were written behind
    its back (a restore). PostgreSQL maintains its own index: nothing to do."""
    if is_sqlite(conn):
        search_sqlite.rebuild(conn)


def create_term_index(conn: Connection) -> bool:
    """PostgreSQL: create ``pg_trgm`` (if this role may) and the trigram index on
    ``search_term`` (idempotent). False, with a warning, when the extension is not available;
    False on SQLite, which scans the vocabulary in memory."""
    if conn.dialect.name != "postgresql":
        return False
    return search_pg.create_term_index(conn)


def term_index_exists(conn: Connection) -> bool:
    """Whether this database has the trigram vocabulary index (never on SQLite)."""
    return conn.dialect.name == "postgresql" and search_pg.term_index_exists(conn)


def _create_backend_objects(target: Table, connection: Connection, **_: Any) -> None:
    create_token_index(connection)


def _create_term_index(target: Table, connection: Connection, **_: Any) -> None:
    create_term_index(connection)


def _store_source_folding(target: Table, connection: Connection, **_: Any) -> None:
    search_fold.store_folding(connection, search_fold.source_folding(connection))


def _drop_backend_objects(target: Table, connection: Connection, **_: Any) -> None:
    drop_token_index(connection)


# Declarations, like the tables: metadata.create_all() makes the FTS5 table / GIN index too.
event.listen(search_name, "after_create", _create_backend_objects)
event.listen(search_name, "before_drop", _drop_backend_objects)
event.listen(search_term, "after_create", _create_term_index)
event.listen(search_fold.search_fold, "after_create", _store_source_folding)


def ensure_search_schema(engine: Engine) -> None:
    """Create the search tables and their backend-specific index (idempotent)."""
    metadata.create_all(engine, tables=list(SEARCH_TABLES))
    with engine.begin() as conn:
        create_token_index(conn)
        create_term_index(conn)
