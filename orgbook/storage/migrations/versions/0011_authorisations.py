"""Authorisations on the ledger: who may issue which credential type, where and when.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-10

A new projection, ``authorisations`` (one row per ``authorisation.granted`` ledger entry, with
the ``authorisation.withdrawn`` entry that ended it), which the issuance path and the trust
registry queries (TRQP) read. A ledger older than this release has no such entries, so the
table starts empty; ``orgbook ledger replay`` rebuilds it from the entries. Downgrade drops the
table; the entries stay on the ledger (an older release ignores kinds it does not know).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if sa.inspect(op.get_bind()).has_table("authorisations"):  # made at start-up
        return
    op.create_table(
        "authorisations",
        sa.Column("id", sa.String(64), nullable=False),
        sa.Column("ledger_index", sa.BigInteger(), nullable=False),
        sa.Column("issuer_did", sa.String(300), nullable=False),
        sa.Column("credential_type", sa.String(200), nullable=False),
        sa.Column("credential_type_id", sa.Text(), nullable=True),
        sa.Column("jurisdictions", sa.Text(), nullable=False),
        sa.Column("valid_from", sa.DateTime(timezone=True), nullable=False),
        sa.Column("valid_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("on_behalf_of", sa.String(300), nullable=True),
        sa.Column("granted_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("withdrawn_index", sa.BigInteger(), nullable=True),
        sa.Column("withdrawn_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("ledger_index"),
    )
    op.create_index(
        "ix_authorisations_issuer_type", "authorisations", ["issuer_did", "credential_type"]
    )


def downgrade() -> None:
    op.drop_index("ix_authorisations_issuer_type", table_name="authorisations")
    op.drop_table("authorisations")
