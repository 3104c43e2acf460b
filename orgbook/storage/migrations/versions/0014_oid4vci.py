"""OpenID4VCI: credential offers, access tokens and nonces (issue 19 item 4).

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-13

Three new tables of the issuer's own state (:mod:`orgbook.issuer.oid4vci_store`):
``oid4vci_offers`` (hashed offer handles and pre-authorised codes, single use),
``oid4vci_tokens`` (hashed access tokens) and ``oid4vci_nonces`` (``c_nonce`` values, single
use). Not on the ledger: the credentials a wallet receives are. Downgrade drops them.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if sa.inspect(op.get_bind()).has_table("oid4vci_offers"):  # made at start-up
        return
    op.create_table(
        "oid4vci_offers",
        sa.Column("offer_hash", sa.String(64), nullable=False),
        sa.Column("code_hash", sa.String(64), nullable=False),
        sa.Column("issuer_id", sa.String(64), nullable=False),
        sa.Column("organisation_id", sa.String(200), nullable=False),
        sa.Column("configurations", sa.String(500), nullable=False),
        sa.Column("tx_code_hash", sa.String(64), nullable=True),
        sa.Column("tx_attempts", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["issuer_id"], ["issuers.id"]),
        sa.PrimaryKeyConstraint("offer_hash"),
        sa.UniqueConstraint("code_hash"),
    )
    op.create_index("ix_oid4vci_offers_issuer_id", "oid4vci_offers", ["issuer_id"], unique=False)
    op.create_table(
        "oid4vci_tokens",
        sa.Column("token_hash", sa.String(64), nullable=False),
        sa.Column("offer_hash", sa.String(64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("issued", sa.String(500), nullable=False),
        sa.ForeignKeyConstraint(["offer_hash"], ["oid4vci_offers.offer_hash"]),
        sa.PrimaryKeyConstraint("token_hash"),
    )
    op.create_index("ix_oid4vci_tokens_offer_hash", "oid4vci_tokens", ["offer_hash"], unique=False)
    op.create_table(
        "oid4vci_nonces",
        sa.Column("nonce", sa.String(64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("nonce"),
    )
    op.create_index("ix_oid4vci_nonces_expires_at", "oid4vci_nonces", ["expires_at"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_oid4vci_nonces_expires_at", table_name="oid4vci_nonces")
    op.drop_table("oid4vci_nonces")
    op.drop_index("ix_oid4vci_tokens_offer_hash", table_name="oid4vci_tokens")
    op.drop_table("oid4vci_tokens")
    op.drop_index("ix_oid4vci_offers_issuer_id", table_name="oid4vci_offers")
    op.drop_table("oid4vci_offers")
