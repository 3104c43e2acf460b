"""Credential types as data: every ``type.registered`` entry, projected.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-12

A new projection, ``credential_types`` (one row per registered type version, with its signed
definition), which issuance, ``GET /api/v1/credential-types`` and ``/types/…`` read. A ledger
older than this release has no such entries, so the table starts empty; the six registry types
are registered on the ledger the first time a type is defined (``orgbook authority
define-type``), signed by the governance key; ``orgbook ledger replay`` rebuilds the table from
the entries. Downgrade drops the table; the entries stay on the ledger.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if sa.inspect(op.get_bind()).has_table("credential_types"):  # made at start-up
        return
    op.create_table(
        "credential_types",
        sa.Column("id", sa.String(300), nullable=False),
        sa.Column("ledger_index", sa.BigInteger(), nullable=False),
        sa.Column("vc_type", sa.String(200), nullable=False),
        sa.Column("slug", sa.String(32), nullable=False),
        sa.Column("version", sa.String(20), nullable=False),
        sa.Column("registered_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("document", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("ledger_index"),
    )
    op.create_index("ix_credential_types_vc_type", "credential_types", ["vc_type"])


def downgrade() -> None:
    op.drop_index("ix_credential_types_vc_type", table_name="credential_types")
    op.drop_table("credential_types")
