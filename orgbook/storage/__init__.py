"""The database: engines and transactions, schema migrations, the declared schema, backups.

Its modules sit at three heights of the layers (``pyproject.toml``, ``[tool.importlinter]``):

* :mod:`~orgbook.storage.engine` (engines, the shared ``metadata``, transactions, bulk inserts)
  is below everything that stores rows: the ledger, search, the projections, the areas;
* :mod:`~orgbook.storage.migrations` (Alembic, configured in code) is above the search package,
  whose DDL and re-indexing its revisions call, and below whoever upgrades at start-up;
* :mod:`~orgbook.storage.schema` (every table module imported by name) and
  :mod:`~orgbook.storage.backup` are above every area that declares tables.

This ``__init__`` imports nothing, so the package as such belongs to no layer.
"""
