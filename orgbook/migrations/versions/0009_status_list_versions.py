"""Revocation transparency: every signed status list version is logged on the ledger.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-04

A new projection, ``status_list_versions`` (digest → the ``statuslist.published`` ledger entry
that logged it), lets a verifier tell a status list the ledger recorded from one a server made
up. Lists signed before this revision were never logged, so their cached signatures are
dropped (``signed_version`` set to NULL): the first process holding the issuer's keys to serve or
refresh a list re-signs it and logs it (``statuslist.published``) in the same transaction.
Until then a replica without keys answers 404 for that list, rather than serve one no verifier
could find on the ledger. Downgrade drops the table; the entries stay on the ledger (an older
release ignores a kind it does not know).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    bind = op.get_bind()
    if not sa.inspect(bind).has_table("status_list_versions"):  # else made at start-up
        op.create_table(
            "status_list_versions",
            sa.Column("digest", sa.String(64), nullable=False),
            sa.Column("ledger_index", sa.BigInteger(), nullable=False),
            sa.Column("issuer_id", sa.String(64), nullable=False),
            sa.Column("purpose", sa.String(16), nullable=False),
            sa.Column("list_number", sa.Integer(), nullable=False),
            sa.PrimaryKeyConstraint("digest"),
            sa.UniqueConstraint("ledger_index"),
        )
        op.create_index(
            "ix_status_list_versions_list",
            "status_list_versions",
            ["issuer_id", "purpose", "list_number", "ledger_index"],
        )
    op.execute(
        sa.text(
            "UPDATE status_lists SET signed_version = NULL WHERE signed IS NOT NULL AND NOT "
            "EXISTS (SELECT 1 FROM status_list_versions)"
        )
    )


def downgrade() -> None:
    op.drop_index("ix_status_list_versions_list", table_name="status_list_versions")
    op.drop_table("status_list_versions")
