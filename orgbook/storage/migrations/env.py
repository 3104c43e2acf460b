"""Alembic's environment: always online, on the connection ``orgbook.storage.migrations`` passes in.

There is no ``alembic.ini`` and no URL here: :func:`orgbook.storage.migrations.upgrade` opens the
transaction (and takes the migration lock) and hands its connection over in
``config.attributes["connection"]``.
"""

from __future__ import annotations

from alembic import context

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError(
        "run migrations through orgbook.storage.migrations.upgrade (orgbook db upgrade)"
    )

context.configure(
    connection=connection,
    # The declared schema, for autogenerate: orgbook.storage.schema.metadata when the caller
    # passes it (attributes["target_metadata"]); upgrading does not need it.
    target_metadata=context.config.attributes.get("target_metadata"),
    transactional_ddl=True,
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
