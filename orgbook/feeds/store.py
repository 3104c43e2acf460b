"""Tables of subscriptions and bulk data: subscribers and their webhook subscriptions.

There is no outbox table: a subscription *is* its outbox, a cursor over the ledger (the index of
the last entry it delivered or skipped). The worker derives the next delivery from the ledger and
the issuer's projections, so issuance writes nothing for subscribers and a restart loses
nothing: everything the worker knows is in these rows.

SQLAlchemy Core tables only; the logic lives in :mod:`orgbook.feeds.webhooks` and
:mod:`orgbook.feeds.delivery`.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, DateTime, Index, Integer, String, Table, Text

from orgbook.storage.engine import metadata

__all__ = ["subscribers", "subscriptions"]

# Subscriber API keys (``obs_<id>_<secret>``): shown once, stored as SHA-256, revocable.
subscribers = Table(
    "feed_subscribers",
    metadata,
    Column("id", String(32), primary_key=True),  # the public prefix of the key
    Column("name", Text, nullable=False),
    Column("secret_hash", String(64), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("revoked_at", DateTime(timezone=True), nullable=True),
)

subscriptions = Table(
    "feed_subscriptions",
    metadata,
    Column("id", String(40), primary_key=True),  # sub_<random>
    Column("subscriber_id", String(32), nullable=False, index=True),
    Column("url", Text, nullable=False),
    Column("filter", String(32), nullable=False),  # all | new-organisations | organisation | type
    Column("filter_value", String(200), nullable=True),
    # The HMAC key: kept (not hashed) because every delivery is signed with it.
    Column("secret", String(100), nullable=False),
    Column("status", String(16), nullable=False),  # active | paused
    Column("paused_reason", Text, nullable=True),
    Column("cursor", BigInteger, nullable=False),  # last ledger index delivered or skipped
    Column("last_success_index", BigInteger, nullable=True),
    Column("last_success_at", DateTime(timezone=True), nullable=True),
    Column("delivered", BigInteger, nullable=False, default=0),
    Column("attempts", Integer, nullable=False, default=0),  # consecutive failures
    Column("failing_since", DateTime(timezone=True), nullable=True),
    Column("last_error", Text, nullable=True),
    Column("last_attempt_at", DateTime(timezone=True), nullable=True),
    Column("next_attempt_at", DateTime(timezone=True), nullable=False),
    Column("lease_owner", String(64), nullable=True),
    Column("lease_until", DateTime(timezone=True), nullable=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Index("ix_feed_subscriptions_due", "status", "next_attempt_at"),
)
