"""The issuer service's own state: what is not on the ledger and not a projection of it.

* ``api_keys``: hashed issuer API keys;
* ``ingested_events``: one row per registry event id an issuer has processed (idempotency);
* ``ingest_progress``: how far a bulk feed has been ingested (resumable feeds).

The issuers, their keys and every served table are projections of the ledger:
:mod:`orgbook.projections.tables`. SQLAlchemy Core tables only.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    DateTime,
    ForeignKey,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from orgbook.projections.tables import issuers
from orgbook.storage.engine import metadata

__all__ = ["api_keys", "ingest_progress", "ingested_events"]

api_keys = Table(
    "api_keys",
    metadata,
    Column("id", String(32), primary_key=True),  # the public prefix of the key
    Column("issuer_id", String(64), ForeignKey(issuers.c.id), nullable=False, index=True),
    Column("secret_hash", String(64), nullable=False),  # SHA-256 hex of the whole key
    Column("label", Text, nullable=False, default=""),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("revoked_at", DateTime(timezone=True), nullable=True),
)

# Idempotency: one row per registry event id an issuer has processed.
ingested_events = Table(
    "ingested_events",
    metadata,
    Column("issuer_id", String(64), primary_key=True),
    Column("event_id", String(200), primary_key=True),
    Column("record_hash", String(64), nullable=False),
    Column("outcome", String(16), nullable=False),  # issued | history | unchanged
    Column("ledger_index", BigInteger, nullable=True),
)

# Resumable bulk feeds: how far a given file has been ingested, committed with each batch.
ingest_progress = Table(
    "ingest_progress",
    metadata,
    Column("issuer_id", String(64), primary_key=True),
    Column("source", String(64), primary_key=True),  # SHA-256 of the file's identity
    Column("path", Text, nullable=False),
    Column("lines_done", BigInteger, nullable=False),
    Column("byte_offset", BigInteger, nullable=False),
    Column("issued", BigInteger, nullable=False, default=0),
    Column("rejected", BigInteger, nullable=False, default=0),
    Column("finished", Boolean, nullable=False, default=False),
    UniqueConstraint("issuer_id", "source"),
)
