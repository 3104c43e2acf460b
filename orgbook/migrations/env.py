"""Alembic's environment: always online, on the connection ``orgbook.migrations`` passes in.

There is no ``alembic.ini`` and no URL here: :func:`orgbook.migrations.upgrade` opens the
transaction (and takes the migration lock) and hands its connection over in
``config.attributes["connection"]``.
"""

from __future__ import annotations

from alembic import context

from orgbook.db import import_table_modules, metadata

import_table_modules()

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run migrations through orgbook.migrations.upgrade (orgbook db upgrade)")

context.configure(
    connection=connection,
    target_metadata=metadata,
    transactional_ddl=True,
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
