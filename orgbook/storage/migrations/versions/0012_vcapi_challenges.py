"""VC-API challenges: what ``POST /challenges`` hands out for presentations (issue 19 item 3).

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-12

A new table of the verifier's own state, ``vcapi_challenges`` (the challenge, when it was made,
when it expires, when it was used: single use). Not on the ledger. Downgrade drops it.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if sa.inspect(op.get_bind()).has_table("vcapi_challenges"):
        return
    op.create_table(
        "vcapi_challenges",
        sa.Column("challenge", sa.String(64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("challenge"),
    )
    op.create_index(
        "ix_vcapi_challenges_expires_at", "vcapi_challenges", ["expires_at"], unique=False
    )


def downgrade() -> None:
    op.drop_index("ix_vcapi_challenges_expires_at", table_name="vcapi_challenges")
    op.drop_table("vcapi_challenges")
