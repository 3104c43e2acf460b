"""The VC-API verifier's challenges: ``POST /challenges`` hands them out, a verification uses them.

What it owns: the ``vcapi_challenges`` table (the random challenge, when it was made, when it
expires, when a presentation verification first used it) and :func:`create_challenge` /
:func:`use_challenge` over it. A challenge is single use: the first ``POST
/presentations/verify`` naming it consumes it, whatever the verification finds; a second one is a
replay. SQLAlchemy Core only.

What it must not do: verify anything (:mod:`orgbook.verifier.vcapi` does), or put challenges on
the ledger (they are this verifier's own state, like the issuer's binding challenges).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal

from sqlalchemy import Column, DateTime, Engine, String, Table, select, update

from orgbook.core.time import as_utc
from orgbook.storage.engine import metadata

__all__ = ["CHALLENGE_TTL", "Use", "create_challenge", "use_challenge", "vcapi_challenges"]

CHALLENGE_TTL = timedelta(minutes=10)

vcapi_challenges = Table(
    "vcapi_challenges",
    metadata,
    Column("challenge", String(64), primary_key=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("expires_at", DateTime(timezone=True), nullable=False, index=True),
    Column("used_at", DateTime(timezone=True), nullable=True),
)


@dataclass(frozen=True, slots=True)
class Use:
    """What using a challenge found: ``fresh`` (now used), ``used`` before, ``expired``, or
    ``unknown`` (not one this verifier made: the caller's own)."""

    outcome: Literal["fresh", "used", "expired", "unknown"]
    at: datetime | None = None  # when it was first used, or when it expired


def create_challenge(engine: Engine, *, now: datetime | None = None) -> tuple[str, datetime]:
    """A new random challenge, stored; with when it expires. Expired ones are swept here."""
    at = (now or datetime.now(UTC)).astimezone(UTC)
    value = secrets.token_urlsafe(32)
    with engine.begin() as conn:
        conn.execute(
            vcapi_challenges.delete().where(vcapi_challenges.c.expires_at < at - CHALLENGE_TTL)
        )
        conn.execute(
            vcapi_challenges.insert().values(
                challenge=value, created_at=at, expires_at=at + CHALLENGE_TTL, used_at=None
            )
        )
    return value, at + CHALLENGE_TTL


def use_challenge(engine: Engine, value: str, *, now: datetime | None = None) -> Use:
    """Use ``value`` once (committed at once, whatever the verification finds)."""
    at = (now or datetime.now(UTC)).astimezone(UTC)
    if len(value) > 64:
        return Use("unknown")
    with engine.begin() as conn:
        row = conn.execute(
            select(vcapi_challenges).where(vcapi_challenges.c.challenge == value).with_for_update()
        ).first()
        if row is None:
            return Use("unknown")
        if row.used_at is not None:
            return Use("used", as_utc(row.used_at))
        conn.execute(
            update(vcapi_challenges).where(vcapi_challenges.c.challenge == value).values(used_at=at)
        )
    expires = as_utc(row.expires_at)
    return Use("expired", expires) if expires <= at else Use("fresh")
