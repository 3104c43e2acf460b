"""Search: a ``pg_trgm`` index on the typo-correction vocabulary (PostgreSQL only).

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-23

On PostgreSQL, typo correction finds vocabulary words by ``LIKE`` patterns served by a GIN
``gin_trgm_ops`` index on ``search_term.term`` (``orgbook.search.postgres.similar_terms``)
instead of each process scanning the vocabulary in memory. The upgrade creates the ``pg_trgm``
extension if it is missing and this role may (it is a trusted extension: the database owner
may), then the index. If the role may not, the upgrade still succeeds, with a warning: search
keeps scanning in memory, with the same results, until an administrator runs ``CREATE
EXTENSION pg_trgm``; ``orgbook db upgrade`` then creates the missing index (it checks for it
on every run, on PostgreSQL). Nothing to do on SQLite. Downgrade drops the index and leaves
the extension.
"""

from __future__ import annotations

from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        from orgbook.search import create_term_index

        create_term_index(bind)  # warns and leaves search scanning if pg_trgm cannot be made


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP INDEX IF EXISTS search_term_trgm")
