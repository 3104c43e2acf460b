"""Search: a ``pg_trgm`` index on the typo-correction vocabulary (PostgreSQL only).

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-23

On PostgreSQL, typo correction finds vocabulary words by ``LIKE`` patterns served by a GIN
``gin_trgm_ops`` index on ``search_term.term`` (``orgbook.verifier.search_pg.similar_terms``)
instead of each process scanning the vocabulary in memory. The upgrade creates the ``pg_trgm``
extension if it is missing and this role may (it is a trusted extension: the database owner
may), then the index. If the role may not, the upgrade still succeeds, with a warning: search
keeps scanning in memory, with the same results, until an administrator runs ``CREATE
EXTENSION pg_trgm``; ``orgbook db upgrade`` then creates the missing index (it checks for it
on every run, on PostgreSQL). Nothing to do on SQLite. Downgrade drops the index and leaves
the extension.
"""

from __future__ import annotations

import logging

from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

log = logging.getLogger("orgbook.migrations")

INDEX = "search_term_trgm"


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return
    from sqlalchemy.exc import DBAPIError

    if bind.exec_driver_sql("SELECT 1 FROM pg_extension WHERE extname = 'pg_trgm'").first() is None:
        try:
            with bind.begin_nested():
                bind.exec_driver_sql("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        except DBAPIError as exc:
            log.warning(
                "revision 0007: cannot create the pg_trgm extension (%s); typo correction "
                "keeps scanning the vocabulary in memory. See docs/operations.md.",
                str(exc.orig).strip().splitlines()[0] if exc.orig else exc,
            )
            return
    bind.exec_driver_sql(
        f"CREATE INDEX IF NOT EXISTS {INDEX} ON search_term USING gin (term gin_trgm_ops)"
        # no pending list: new words go straight into the index, so lookups never scan one
        " WITH (fastupdate = off)"
    )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"DROP INDEX IF EXISTS {INDEX}")
