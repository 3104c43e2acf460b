"""Bulk feeds index search once per organisation: the ``search_pending`` table.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23

The table of ``orgbook.issuer.store`` as it was when added (a frozen snapshot): one row per
organisation whose search document a bulk feed deferred; ``orgbook ingest`` indexes and clears
them when a feed ends (or when the next one starts, after a crash).

A table already there is adopted, not re-created (``create_all`` made tables that were not in a
revision yet directly, while this one was work in progress). Downgrading drops the marks:
run ``orgbook ingest`` on a finished feed first (it flushes them), or ``orgbook ledger replay``
afterwards, so no organisation stays out of search.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if sa.inspect(op.get_bind()).has_table("search_pending"):
        return
    op.create_table(
        "search_pending",
        sa.Column("organisation_id", sa.String(length=200), nullable=False),
        sa.PrimaryKeyConstraint("organisation_id"),
    )


def downgrade() -> None:
    op.drop_table("search_pending")
