"""Credentials: the signed document is stored once, in its ledger entry.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-23

``credentials.document`` repeated the signed credential's canonical bytes, which its
``credential.issued`` ledger entry already holds byte for byte (JCS composes: the credential is
a contiguous slice of the entry's leaf bytes). It is replaced by ``document_offset`` and
``document_length`` into the entry at ``ledger_index`` (``orgbook.projections.tables``
``credential_document``): a third less written per credential.

Upgrade (nothing to do on a table already in the new shape): adds the two columns, locates
every document in its entry (one pass, in chunks; a document not found in its entry stops the
upgrade with an integrity error: the database does not agree with its ledger, run
``orgbook ledger audit``), then drops ``document``.
Downgrade: puts the column back, filled from the entries.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

_CHUNK = 5000

_credentials = sa.table(
    "credentials",
    sa.column("id", sa.String),
    sa.column("ledger_index", sa.BigInteger),
    sa.column("document", sa.LargeBinary),
    sa.column("document_offset", sa.Integer),
    sa.column("document_length", sa.Integer),
)
_entries = sa.table(
    "ledger_entries", sa.column("idx", sa.BigInteger), sa.column("data", sa.LargeBinary)
)


def _locate(entry_data: bytes, document: bytes) -> tuple[int, int]:
    """(offset, length) of the credential's bytes in its entry's: the first occurrence (the
    credential is the payload's first member). A frozen copy of what
    ``orgbook.projections.tables.locate_document`` did when this revision was written."""
    offset = entry_data.find(document)
    if offset < 0:
        from orgbook.core.errors import LedgerIntegrityError

        raise LedgerIntegrityError("the credential is not in its ledger entry's bytes")
    return offset, len(document)


def upgrade() -> None:
    bind = op.get_bind()
    if "document" not in {c["name"] for c in sa.inspect(bind).get_columns("credentials")}:
        return  # made in today's shape (create_all of these declarations): nothing to move
    with op.batch_alter_table("credentials") as batch:
        batch.add_column(sa.Column("document_offset", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("document_length", sa.Integer(), nullable=True))
    query = (
        sa.select(_credentials.c.id, _credentials.c.document, _entries.c.data)
        .select_from(_credentials.join(_entries, _entries.c.idx == _credentials.c.ledger_index))
        .order_by(_credentials.c.id)
    )
    update = (
        sa.update(_credentials)
        .where(_credentials.c.id == sa.bindparam("b_id"))
        .values(document_offset=sa.bindparam("b_offset"), document_length=sa.bindparam("b_length"))
    )
    last = ""
    while True:
        rows = bind.execute(query.where(_credentials.c.id > last).limit(_CHUNK)).all()
        if not rows:
            break
        params: list[dict[str, Any]] = []
        for row in rows:
            offset, length = _locate(bytes(row.data), bytes(row.document))
            params.append({"b_id": row.id, "b_offset": offset, "b_length": length})
        bind.execute(update, params)
        last = rows[-1].id
    with op.batch_alter_table("credentials") as batch:
        batch.alter_column("document_offset", existing_type=sa.Integer(), nullable=False)
        batch.alter_column("document_length", existing_type=sa.Integer(), nullable=False)
        batch.drop_column("document")


def downgrade() -> None:
    bind = op.get_bind()
    with op.batch_alter_table("credentials") as batch:
        batch.add_column(sa.Column("document", sa.LargeBinary(), nullable=True))
    slice_ = sa.func.substr(
        _entries.c.data,
        _credentials.c.document_offset + 1,
        _credentials.c.document_length,
        type_=sa.LargeBinary,
    )
    bind.execute(
        sa.update(_credentials).values(
            document=sa.select(slice_)
            .where(_entries.c.idx == _credentials.c.ledger_index)
            .scalar_subquery()
        )
    )
    with op.batch_alter_table("credentials") as batch:
        batch.alter_column("document", existing_type=sa.LargeBinary(), nullable=False)
        batch.drop_column("document_length")
        batch.drop_column("document_offset")
