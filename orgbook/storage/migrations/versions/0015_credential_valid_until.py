"""Credentials expire in search too: ``credentials.valid_until`` and ``search_tag.valid_until``.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-14

A credential of a type that expires (a business licence) carries ``validUntil``. The profile
showed it ``expired`` once that passed, but search counted the organisation under the type and
issuer until the credential was revoked. Now ``credentials.valid_until`` holds each credential's
``validUntil`` (NULL: none), and each ``search_tag`` row the latest ``validUntil`` of the
current credentials giving the organisation that type or issuer (NULL once one of them does not
expire); search filters and facets count a tag only before it.

Upgrade (nothing to do on tables already in the new shape): adds both columns, reads every
credential's ``validUntil`` from its signed bytes in its ledger entry (one pass, in chunks), then
fills the tags of the organisations that hold expiring credentials, as
``orgbook.projections.searchdocs.reindex`` does (``orgbook ledger audit`` compares the two).
Downgrade drops both columns.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None

_CHUNK = 5000

_credentials = sa.table(
    "credentials",
    sa.column("id", sa.String),
    sa.column("organisation_id", sa.String),
    sa.column("type", sa.String),
    sa.column("issuer_id", sa.String),
    sa.column("state", sa.String),
    sa.column("ledger_index", sa.BigInteger),
    sa.column("document_offset", sa.Integer),
    sa.column("document_length", sa.Integer),
    sa.column("valid_until", sa.DateTime(timezone=True)),
)
_entries = sa.table(
    "ledger_entries", sa.column("idx", sa.BigInteger), sa.column("data", sa.LargeBinary)
)
_tags = sa.table(
    "search_tag",
    sa.column("org_id", sa.Text),
    sa.column("kind", sa.String),
    sa.column("value", sa.Text),
    sa.column("valid_until", sa.DateTime(timezone=True)),
)

# An XML Schema dateTimeStamp (a frozen copy of what orgbook.core.time.parse_time accepted).
_STAMP = re.compile(
    r"(?P<base>-?\d{4,}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(?:\.(?P<fraction>\d+))?"
    r"(?P<tz>Z|[+-]\d{2}:\d{2})"
)


def _valid_until(document: bytes) -> datetime | None:
    """The credential's top-level ``validUntil`` as aware UTC; None when absent or not a real
    date-time stamp (as replay reads it)."""
    if b'"validUntil"' not in document:
        return None
    value = json.loads(document).get("validUntil")
    match = _STAMP.fullmatch(value) if isinstance(value, str) else None
    if match is None:
        return None
    fraction = (match["fraction"] or "")[:6].ljust(6, "0")
    tz = "+00:00" if match["tz"] == "Z" else match["tz"]
    try:
        return datetime.fromisoformat(f"{match['base']}.{fraction}{tz}").astimezone(UTC)
    except (ValueError, OverflowError):
        return None


def _columns(bind: Any, table: str) -> set[str]:
    return {c["name"] for c in sa.inspect(bind).get_columns(table)}


def upgrade() -> None:
    bind = op.get_bind()
    if "valid_until" not in _columns(bind, "credentials"):
        op.add_column("credentials", sa.Column("valid_until", sa.DateTime(timezone=True)))
        _fill_credentials(bind)
    if "valid_until" not in _columns(bind, "search_tag"):
        op.add_column("search_tag", sa.Column("valid_until", sa.DateTime(timezone=True)))
        _fill_tags(bind)


def _fill_credentials(bind: Any) -> None:
    c = _credentials
    document = sa.func.substr(
        _entries.c.data, c.c.document_offset + 1, c.c.document_length, type_=sa.LargeBinary
    )
    query = (
        sa.select(c.c.id, document)
        .select_from(c.join(_entries, _entries.c.idx == c.c.ledger_index))
        .order_by(c.c.id)
    )
    update = (
        sa.update(c).where(c.c.id == sa.bindparam("b_id")).values(valid_until=sa.bindparam("b_v"))
    )
    last = ""
    while True:
        rows = bind.execute(query.where(c.c.id > last).limit(_CHUNK)).all()
        if not rows:
            return
        params = []
        for cid, data in rows:
            until = _valid_until(bytes(data))
            if until is not None:
                params.append({"b_id": cid, "b_v": until})
        if params:
            bind.execute(update, params)
        last = rows[-1][0]


def _fill_tags(bind: Any) -> None:
    c = _credentials
    expiring = sa.select(c.c.organisation_id).where(
        c.c.state == "current", c.c.valid_until.is_not(None)
    )
    org_ids = sorted({row[0] for row in bind.execute(expiring.distinct())})
    for start in range(0, len(org_ids), 500):
        chunk = org_ids[start : start + 500]
        until: dict[tuple[str, str, str], datetime | None] = {}
        for org_id, slug, issuer_id, stored in bind.execute(
            sa.select(c.c.organisation_id, c.c.type, c.c.issuer_id, c.c.valid_until).where(
                c.c.organisation_id.in_(chunk), c.c.state == "current"
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
        params = [
            {"b_o": org_id, "b_k": kind, "b_v": value, "b_u": when}
            for (org_id, kind, value), when in sorted(until.items())
            if when is not None
        ]
        if params:
            t = _tags
            bind.execute(
                sa.update(t)
                .where(
                    t.c.org_id == sa.bindparam("b_o"),
                    t.c.kind == sa.bindparam("b_k"),
                    t.c.value == sa.bindparam("b_v"),
                )
                .values(valid_until=sa.bindparam("b_u")),
                params,
            )


def _utc(value: datetime) -> datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        return value.replace(tzinfo=UTC)  # SQLite returns UTC without its zone
    return value.astimezone(UTC)


def downgrade() -> None:
    # Plain DROP COLUMN (SQLite 3.35+): a batch copy would lose search_tag's WITHOUT ROWID.
    op.execute("ALTER TABLE search_tag DROP COLUMN valid_until")
    op.execute("ALTER TABLE credentials DROP COLUMN valid_until")
