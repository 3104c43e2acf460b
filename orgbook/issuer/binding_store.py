"""The registry's binding challenges: what a business signs to prove it controls a DID.

What it owns: the ``binding_challenges`` table — one row per challenge the issuer API handed
out (``POST /api/v1/issuer/bindings/challenges``): the random challenge, the issuer and the
organisation it is for, the domain the proof must name, when it expires and when it was used
(single use). SQLAlchemy Core only.

What it must not do: decide anything (that is :mod:`orgbook.issuer.binding`). A challenge is not
on the ledger: the Digital Identity Anchor it leads to is.
"""

from __future__ import annotations

from sqlalchemy import Column, DateTime, ForeignKey, String, Table

from orgbook.projections.tables import issuers
from orgbook.storage.engine import metadata

__all__ = ["binding_challenges"]

binding_challenges = Table(
    "binding_challenges",
    metadata,
    Column("challenge", String(64), primary_key=True),
    Column("issuer_id", String(64), ForeignKey(issuers.c.id), nullable=False, index=True),
    Column("organisation_id", String(200), nullable=False),
    Column("domain", String(255), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("expires_at", DateTime(timezone=True), nullable=False),
    Column("used_at", DateTime(timezone=True), nullable=True),
)
