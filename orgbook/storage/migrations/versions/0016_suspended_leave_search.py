"""A suspended credential no longer gives its organisation a search tag.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-06

Search's type and issuer filters and facets (``search_tag``) counted an organisation under a
credential's type and issuer while the credential was suspended; a suspended licence is not a
licence to show. ``orgbook.projections.searchdocs.reindex`` now builds the tags from current
credentials that are not suspended, and issuance re-indexes on suspension and unsuspension.

Upgrade: the tags of every organisation holding a suspended current credential are derived
again as ``reindex`` derives them (the types and issuers of its current, unsuspended credentials,
each with the latest ``validUntil`` of the credentials giving it, NULL once one does not
expire; with no such credential, the organisation's registering issuer alone); ``orgbook ledger
audit`` compares the two. Nothing else changes. Downgrade: nothing (the old index counted more
than it should, and the next re-index of an organisation writes it the new way regardless).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None

_credentials = sa.table(
    "credentials",
    sa.column("organisation_id", sa.String),
    sa.column("type", sa.String),
    sa.column("issuer_id", sa.String),
    sa.column("state", sa.String),
    sa.column("suspended", sa.Boolean),
    sa.column("valid_until", sa.DateTime(timezone=True)),
)
_organisations = sa.table(
    "organisations", sa.column("id", sa.String), sa.column("issuer_id", sa.String)
)
_tags = sa.table(
    "search_tag",
    sa.column("org_id", sa.Text),
    sa.column("kind", sa.String),
    sa.column("value", sa.Text),
    sa.column("valid_until", sa.DateTime(timezone=True)),
)


def upgrade() -> None:
    bind = op.get_bind()
    c = _credentials
    suspended = sa.select(c.c.organisation_id).where(
        c.c.state == "current", c.c.suspended.is_(True)
    )
    org_ids = sorted({row[0] for row in bind.execute(suspended.distinct())})
    for start in range(0, len(org_ids), 500):
        _retag(bind, org_ids[start : start + 500])


def _retag(bind: Any, chunk: list[str]) -> None:
    c, o, t = _credentials, _organisations, _tags
    registered = dict(bind.execute(sa.select(o.c.id, o.c.issuer_id).where(o.c.id.in_(chunk))).all())
    until: dict[tuple[str, str, str], datetime | None] = {}
    for org_id, slug, issuer_id, stored in bind.execute(
        sa.select(c.c.organisation_id, c.c.type, c.c.issuer_id, c.c.valid_until).where(
            c.c.organisation_id.in_(chunk), c.c.state == "current", c.c.suspended.is_(False)
        )
    ):
        when = None if stored is None else _utc(stored)
        for key in ((org_id, "c", slug), (org_id, "i", issuer_id)):
            if key not in until:
                until[key] = when
                continue
            seen = until[key]  # the latest; None (does not expire) wins
            if seen is not None and (when is None or when > seen):
                until[key] = when
    for org_id in chunk:
        if org_id in registered and not any(k[0] == org_id and k[1] == "i" for k in until):
            until[(org_id, "i", registered[org_id])] = None
    bind.execute(sa.delete(t).where(t.c.org_id.in_(chunk)))
    rows = [
        {"org_id": org_id, "kind": kind, "value": value, "valid_until": when}
        for (org_id, kind, value), when in sorted(until.items())
        if org_id in registered
    ]
    if rows:
        bind.execute(sa.insert(t), rows)


def _utc(value: datetime) -> datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        return value.replace(tzinfo=UTC)  # SQLite returns UTC without its zone
    return value.astimezone(UTC)


def downgrade() -> None:
    pass
