"""Schema migrations (Alembic), configured in code so they work from an installed package.

What it owns: the Alembic configuration (script location inside the package, no ``alembic.ini``
needed), :func:`upgrade` (what ``orgbook db upgrade`` runs, and every server, command and test
calls at start-up), :func:`current_revision` and :func:`head_revision`. Comparing the database
with the table declarations (``orgbook db check``) is :func:`orgbook.storage.schema.schema_diff`:
it needs every table module, which sit above this one.

Rules:

* Revisions are frozen snapshots: a change to a table declared on ``metadata`` needs a new
  revision (``tests/deploy/test_migrations.py`` fails on any drift).
* Concurrent upgrades (several processes starting against one empty database) are serialised:
  PostgreSQL by a transaction-level advisory lock, SQLite by its ``BEGIN IMMEDIATE`` write lock;
  the migration runs in one transaction, so a failed upgrade leaves the schema as it was.
* A database created by ``metadata.create_all`` before migrations existed (tables, no
  ``alembic_version``) is adopted: stamped at the initial revision, then upgraded.

Backend objects that ``metadata`` does not describe (the FTS5 table on SQLite, the GIN token
index on PostgreSQL: :mod:`orgbook.search.sqlite`, :mod:`orgbook.search.postgres`)
are created by the migrations through those modules' own DDL functions and left out of
:func:`orgbook.storage.schema.schema_diff` (:func:`is_backend_object`).

Layering: the revisions call the search package's DDL and re-indexing functions, so this
package sits above :mod:`orgbook.search` and below everything that upgrades at start-up. The
revisions import no other live code (a revision is a frozen snapshot).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, inspect, text

__all__ = [
    "BACKEND_OBJECTS",
    "BASE_REVISION",
    "alembic_config",
    "current_revision",
    "head_revision",
    "is_backend_object",
    "migration_lock",
    "upgrade",
]

SCRIPT_LOCATION = Path(__file__).resolve().parent
BASE_REVISION = "0001"
"""The first release's schema; unversioned databases with orgbook tables are stamped with it."""

ADVISORY_LOCK_KEY = 0x6F7267626F6F6B  # "orgbook": one lock id for every orgbook migration

BACKEND_OBJECTS = ("search_name_fts", "search_name_tokens_gin", "search_term_trgm")
"""Names (and prefixes, for FTS5's shadow tables) of objects ``metadata`` does not declare."""


def is_backend_object(name: str | None) -> bool:
    return name is not None and name.startswith(BACKEND_OBJECTS)


def alembic_config(connection: Connection | None = None) -> Any:
    """An Alembic ``Config`` for the packaged scripts, bound to ``connection`` if given."""
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(SCRIPT_LOCATION))
    config.set_main_option("path_separator", "os")
    config.set_main_option("version_locations", str(SCRIPT_LOCATION / "versions"))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def head_revision() -> str:
    """The newest revision this code knows."""
    from alembic.script import ScriptDirectory

    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None
    return head


def known_revisions() -> frozenset[str]:
    """Every revision this code has a script for."""
    from alembic.script import ScriptDirectory

    scripts = ScriptDirectory.from_config(alembic_config())
    return frozenset(script.revision for script in scripts.walk_revisions())


def _refuse_unknown(before: str | None, head: str) -> None:
    """A database a newer release upgraded: say so, rather than Alembic's "can't locate"."""
    if before is not None and before not in known_revisions():
        from orgbook.core.errors import ConfigurationError

        raise ConfigurationError(
            f"the database schema is at revision {before}, which this release does not know "
            f"(its newest is {head}): a newer orgbook upgraded it; run that release or newer",
            field="database",
        )


def current_revision(conn: Connection) -> str | None:
    """The revision the database is at (``None``: never migrated)."""
    from alembic.migration import MigrationContext

    return MigrationContext.configure(conn).get_current_revision()


def migration_lock(conn: Connection) -> None:
    """Serialise schema changes until ``conn``'s transaction ends (SQLite: its write lock)."""
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": ADVISORY_LOCK_KEY})


def _unversioned_orgbook_schema(conn: Connection) -> bool:
    names = set(inspect(conn).get_table_names())
    return "alembic_version" not in names and "ledger_entries" in names


def upgrade(engine: Engine, revision: str = "head") -> tuple[str | None, str]:
    """Upgrade the database to ``revision``; return (revision before, revision after).

    Cheap when already at head (one query, no DDL); safe to run from several processes at once.
    """
    from alembic import command

    head = head_revision()
    with engine.execution_options(sqlite_begin="DEFERRED").connect() as conn:
        at = current_revision(conn)
        if revision in ("head", head) and at == head:
            return head, head
        _refuse_unknown(at, head)
    with engine.begin() as conn:
        migration_lock(conn)
        before = current_revision(conn)
        _refuse_unknown(before, head)
        if before is None and _unversioned_orgbook_schema(conn):
            command.stamp(alembic_config(conn), BASE_REVISION)
            before = BASE_REVISION
        command.upgrade(alembic_config(conn), revision)
        after = current_revision(conn)
    assert after is not None
    return before, after
