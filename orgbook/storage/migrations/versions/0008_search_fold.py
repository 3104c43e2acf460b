"""Search: the letter rules the index is built with, from PostgreSQL's ``unaccent``.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-23

A new table, ``search_fold`` (letter → replacement), holds the accent-folding rules names and
queries are normalised with (:mod:`orgbook.search.fold`). On PostgreSQL they are
captured from the server's ``unaccent`` dictionary; the upgrade creates the extension if it is
missing and this role may (it is a trusted extension: the database owner may). Otherwise, and
on SQLite, they are the rules shipped with orgbook, which built every index before this
revision. Organisations whose names the captured rules fold differently are re-indexed
(:func:`orgbook.search.refresh_folding`); with PostgreSQL 15's rules there are none.
A table that start-up already made (a database from before this revision, run by this
release) is adopted. Downgrade drops the table (the older release folds with the shipped
rules again; ``orgbook ledger replay`` re-indexes if the server's rules differed).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

_Key = sa.Text().with_variant(sa.Text(collation="C"), "postgresql")


def upgrade() -> None:
    from orgbook.search import refresh_folding

    bind = op.get_bind()
    if not sa.inspect(bind).has_table("search_fold"):  # else made at start-up before this revision
        op.create_table(
            "search_fold",
            sa.Column("letter", _Key, nullable=False),
            sa.Column("folded", sa.Text(), nullable=False),
            sa.PrimaryKeyConstraint("letter"),
        )
    refresh_folding(bind)


def downgrade() -> None:
    op.drop_table("search_fold")
