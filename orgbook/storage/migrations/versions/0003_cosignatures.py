"""Witness cosignatures: the registry's ``ledger_cosignatures`` table.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23

The table of ``orgbook.ledger.cosignatures`` as it was when added (a frozen snapshot): one row
per (checkpoint size, witness key), the latest verified cosignature/v1 line.

A table already there is adopted, not re-created: before this revision existed, the cosignature
endpoint created it on the first push, from the same declaration.

Downgrading drops the stored cosignatures; witnesses push them again for the checkpoints they
cosign next, not for the ones before.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

_Size = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    if sa.inspect(op.get_bind()).has_table("ledger_cosignatures"):
        return
    op.create_table(
        "ledger_cosignatures",
        sa.Column("size", _Size, autoincrement=False, nullable=False),
        sa.Column("witness", sa.String(length=500), nullable=False),
        sa.Column("key_hash", sa.LargeBinary(length=4), nullable=False),
        sa.Column("line", sa.Text(), nullable=False),
        sa.Column("timestamp", sa.BigInteger(), nullable=False),
        sa.Column("received_at", sa.String(length=32), nullable=False),
        sa.PrimaryKeyConstraint("size", "witness", "key_hash"),
    )


def downgrade() -> None:
    op.drop_table("ledger_cosignatures")
