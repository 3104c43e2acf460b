"""Every table orgbook declares, imported by name: the schema as the code states it.

Each area declares its own tables on :data:`orgbook.storage.engine.metadata`; this module imports
every one of those modules explicitly (a renamed or missing one fails here, at import time), so
:data:`metadata` is complete wherever the whole schema matters:

* :func:`schema_diff`: the database against the declarations (``orgbook db check``, the
  migration tests): a table changed without a migration, or a schema changed by hand;
* :func:`tables`: every table in foreign-key order (backups, :mod:`orgbook.storage.backup`);
* Alembic's autogenerate, for writing a new revision.

Creating and upgrading the schema does not need it: that is the migrations'
(:func:`orgbook.storage.migrations.upgrade`). Sits at the top with the wiring: it imports the
areas' table modules.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, Table, UniqueConstraint

from orgbook.feeds import store as feeds_store
from orgbook.issuer import binding_store as issuer_binding_store
from orgbook.issuer import oid4vci_store as issuer_oid4vci_store
from orgbook.issuer import store as issuer_store
from orgbook.ledger import cosignatures as ledger_cosignatures
from orgbook.ledger import store as ledger_store
from orgbook.projections import authorisations as projection_authorisations
from orgbook.projections import credential_types as projection_credential_types
from orgbook.projections import tables as projection_tables
from orgbook.search import fold as search_fold
from orgbook.search import tables as search_tables
from orgbook.storage.engine import metadata
from orgbook.storage.migrations import is_backend_object
from orgbook.verifier import vcapi_store as verifier_vcapi_store

__all__ = ["TABLE_MODULES", "metadata", "schema_diff", "tables"]

TABLE_MODULES = (
    ledger_store,
    ledger_cosignatures,
    projection_tables,
    projection_authorisations,
    projection_credential_types,
    issuer_store,
    issuer_binding_store,
    issuer_oid4vci_store,
    search_tables,
    search_fold,
    feeds_store,
    verifier_vcapi_store,
)
"""The modules that declare tables: importing this module imported them all."""


def tables() -> list[Table]:
    """Every declared table, in foreign-key order (parents first)."""
    return list(metadata.sorted_tables)


def _include(obj: Any, name: str | None, type_: str, reflected: bool, compare_to: Any) -> bool:
    del obj, compare_to
    return not (reflected and type_ in ("table", "index") and is_backend_object(name))


def schema_diff(conn: Connection) -> list[Any]:
    """Alembic's differences between the database and :data:`metadata` (empty: they agree)."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

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
    constraint = diff[1]
    if not isinstance(constraint, UniqueConstraint) or constraint.table is None:
        return False
    declared = metadata.tables.get(constraint.table.name)
    if declared is None:
        return False
    key = {c.name for c in declared.primary_key.columns}
    return {c.name for c in constraint.columns} == key
