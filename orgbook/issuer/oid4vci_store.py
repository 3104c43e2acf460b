"""The registry's OpenID4VCI state: credential offers, access tokens and nonces.

What it owns: three tables, SQLAlchemy Core only, none of them on the ledger (the credential a
wallet receives is):

* ``oid4vci_offers`` — one row per credential offer the issuer API made for an organisation:
  the SHA-256 of the offer's handle (the secret in the offer's URL) and of its pre-authorised
  code (never the secrets themselves), the issuer and organisation, the credential
  configuration ids offered, the hashed transaction code (PIN) if any with the failed attempts,
  when it expires and when the code was redeemed (single use);
* ``oid4vci_tokens`` — one row per access token the token endpoint gave (its SHA-256), the offer
  it came from, when it expires and the configurations already issued with it (one credential
  per configuration);
* ``oid4vci_nonces`` — the ``c_nonce`` values the nonce endpoint gave, when they expire and
  when a proof used one (single use).

What it must not do: decide anything (that is :mod:`orgbook.issuer.oid4vci`).
"""

from __future__ import annotations

from sqlalchemy import Column, DateTime, ForeignKey, Integer, String, Table

from orgbook.projections.tables import issuers
from orgbook.storage.engine import metadata

__all__ = ["oid4vci_nonces", "oid4vci_offers", "oid4vci_tokens"]

oid4vci_offers = Table(
    "oid4vci_offers",
    metadata,
    Column("offer_hash", String(64), primary_key=True),
    Column("code_hash", String(64), nullable=False, unique=True),
    Column("issuer_id", String(64), ForeignKey(issuers.c.id), nullable=False, index=True),
    Column("organisation_id", String(200), nullable=False),
    Column("configurations", String(500), nullable=False),
    Column("tx_code_hash", String(64), nullable=True),
    Column("tx_attempts", Integer, nullable=False, default=0),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("expires_at", DateTime(timezone=True), nullable=False),
    Column("used_at", DateTime(timezone=True), nullable=True),
)

oid4vci_tokens = Table(
    "oid4vci_tokens",
    metadata,
    Column("token_hash", String(64), primary_key=True),
    Column(
        "offer_hash",
        String(64),
        ForeignKey(oid4vci_offers.c.offer_hash),
        nullable=False,
        index=True,
    ),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("expires_at", DateTime(timezone=True), nullable=False),
    Column("issued", String(500), nullable=False, default=""),
)

oid4vci_nonces = Table(
    "oid4vci_nonces",
    metadata,
    Column("nonce", String(64), primary_key=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("expires_at", DateTime(timezone=True), nullable=False, index=True),
    Column("used_at", DateTime(timezone=True), nullable=True),
)
