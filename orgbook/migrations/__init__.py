"""Schema migrations (Alembic), configured in code so they work from an installed package.

What it owns: the Alembic configuration (script location inside the package, no ``alembic.ini``
needed), :func:`upgrade` (what ``orgbook db upgrade`` and :func:`orgbook.db.create_all` run),
:func:`current_revision`, :func:`head_revision` and :func:`schema_diff` (Alembic's autogenerate
comparison of the database against :data:`orgbook.db.metadata`).

Rules:

* Revisions are frozen snapshots: a change to a table declared on ``metadata`` needs a new
  revision (``tests/deploy/test_migrations.py`` fails on any drift).
* Concurrent upgrades (several processes starting against one empty database) are serialised:
  PostgreSQL by a transaction-level advisory lock, SQLite by its ``BEGIN IMMEDIATE`` write lock;
  the migration runs in one transaction, so a failed upgrade leaves the schema as it was.
* A database created by ``metadata.create_all`` before migrations existed (tables, no
  ``alembic_version``) is adopted: stamped at the initial revision, then upgraded.

Backend objects that ``metadata`` does not describe (the FTS5 table on SQLite, the GIN token
index on PostgreSQL: :mod:`orgbook.verifier.search_sqlite`, :mod:`orgbook.verifier.search_pg`)
are created by the migrations through those modules' own DDL functions and left out of
:func:`schema_diff`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, UniqueConstraint, inspect, text

__all__ = [
    "BACKEND_OBJECTS",
    "BASE_REVISION",
    "alembic_config",
    "current_revision",
    "head_revision",
    "is_backend_object",
    "migration_lock",
    "schema_diff",
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
        from orgbook.errors import ConfigurationError

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


def _include(obj: Any, name: str | None, type_: str, reflected: bool, compare_to: Any) -> bool:
    del obj, compare_to
    return not (reflected and type_ in ("table", "index") and is_backend_object(name))


def schema_diff(conn: Connection) -> list[Any]:
    """Alembic's differences between the database and ``metadata`` (empty: they agree)."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from orgbook.db import import_table_modules, metadata

    import_table_modules()
    context = MigrationContext.configure(
        conn,
        opts={"include_object": _include, "compare_type": True, "compare_server_default": True},
    )
    return [d for d in compare_metadata(context, metadata) if not _redundant_unique(d)]


def _redundant_unique(diff: Any) -> bool:
    """A UNIQUE constraint over exactly the primary key: PostgreSQL folds it into the key.

    ``metadata.create_all`` gives the same database, so it is no difference between the
    migrations and the declarations (``ingest_progress`` declares one).
    """
    if not (isinstance(diff, tuple) and diff[0] == "add_constraint"):
        return False
    from orgbook.db import metadata

    constraint = diff[1]
    if not isinstance(constraint, UniqueConstraint) or constraint.table is None:
        return False
    declared = metadata.tables.get(constraint.table.name)
    if declared is None:
        return False
    key = {c.name for c in declared.primary_key.columns}
    return {c.name for c in constraint.columns} == key
