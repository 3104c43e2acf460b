"""Binding challenges: what a business signs to bind its DID to its registration (issue 19).

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-10

A new table of the issuer service's own state, ``binding_challenges`` (the challenge, issuer,
organisation, domain, expiry and when it was used). Not a projection: the Digital Identity
Anchor credentials a binding issues are on the ledger like any credential. Downgrade drops it.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if sa.inspect(op.get_bind()).has_table("binding_challenges"):
        return
    op.create_table(
        "binding_challenges",
        sa.Column("challenge", sa.String(64), nullable=False),
        sa.Column("issuer_id", sa.String(64), nullable=False),
        sa.Column("organisation_id", sa.String(200), nullable=False),
        sa.Column("domain", sa.String(255), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["issuer_id"], ["issuers.id"]),
        sa.PrimaryKeyConstraint("challenge"),
    )
    op.create_index(
        "ix_binding_challenges_issuer_id", "binding_challenges", ["issuer_id"], unique=False
    )


def downgrade() -> None:
    op.drop_index("ix_binding_challenges_issuer_id", table_name="binding_challenges")
    op.drop_table("binding_challenges")
