"""Subscriptions and bulk data: webhook subscribers and subscriptions.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23

The tables of ``orgbook.feeds.store`` as they were when added (a frozen snapshot). A
subscription is its own outbox: a cursor over the ledger, so no outbox table.

Tables already there are adopted, not re-created: before this revision existed,
``orgbook.storage.engine.create_all`` created them directly (work in progress), and a database made
by
``metadata.create_all`` and stamped at 0001 has them too.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    present = set(sa.inspect(op.get_bind()).get_table_names())
    if "feed_subscribers" not in present:
        _subscribers()
    if "feed_subscriptions" not in present:
        _subscriptions()


def _subscribers() -> None:
    op.create_table(
        "feed_subscribers",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("secret_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )


def _subscriptions() -> None:
    op.create_table(
        "feed_subscriptions",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("subscriber_id", sa.String(length=32), nullable=False),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("filter", sa.String(length=32), nullable=False),
        sa.Column("filter_value", sa.String(length=200), nullable=True),
        sa.Column("secret", sa.String(length=100), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("paused_reason", sa.Text(), nullable=True),
        sa.Column("cursor", sa.BigInteger(), nullable=False),
        sa.Column("last_success_index", sa.BigInteger(), nullable=True),
        sa.Column("last_success_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("delivered", sa.BigInteger(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("failing_since", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("last_attempt_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("lease_owner", sa.String(length=64), nullable=True),
        sa.Column("lease_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        "ix_feed_subscriptions_due", "feed_subscriptions", ["status", "next_attempt_at"]
    )
    op.create_index(
        op.f("ix_feed_subscriptions_subscriber_id"), "feed_subscriptions", ["subscriber_id"]
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_feed_subscriptions_subscriber_id"), table_name="feed_subscriptions")
    op.drop_index("ix_feed_subscriptions_due", table_name="feed_subscriptions")
    op.drop_table("feed_subscriptions")
    op.drop_table("feed_subscribers")
