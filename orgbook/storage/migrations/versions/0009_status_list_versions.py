"""Revocation transparency: every signed status list version is logged on the ledger.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-04

A new projection, ``status_list_versions`` (digest → the ``statuslist.published`` ledger entry
that logged it), lets a verifier tell a status list the ledger recorded from one a server made
up. The upgrade fills it from the ``statuslist.published`` entries already on the ledger (none
on a ledger older than this release; all of them after a downgrade and upgrade), then drops the
cached signature of every list whose signed bytes the ledger does not record (lists signed by an
older release): the first process holding the issuer's keys to serve or refresh such a list
re-signs it and logs it in the same transaction. Until then a replica without keys answers 404
for that list, rather than serve one no verifier could find on the ledger. Downgrade drops the
table; the entries stay on the ledger (an older release ignores a kind it does not know).
"""

from __future__ import annotations

import hashlib
import json

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    bind = op.get_bind()
    if not sa.inspect(bind).has_table("status_list_versions"):  # else made at start-up
        op.create_table(
            "status_list_versions",
            sa.Column("digest", sa.String(64), nullable=False),
            sa.Column("ledger_index", sa.BigInteger(), nullable=False),
            sa.Column("issuer_id", sa.String(64), nullable=False),
            sa.Column("purpose", sa.String(16), nullable=False),
            sa.Column("list_number", sa.Integer(), nullable=False),
            sa.PrimaryKeyConstraint("digest"),
            sa.UniqueConstraint("ledger_index"),
        )
        op.create_index(
            "ix_status_list_versions_list",
            "status_list_versions",
            ["issuer_id", "purpose", "list_number", "ledger_index"],
        )
    versions = sa.table(
        "status_list_versions",
        sa.column("digest", sa.String),
        sa.column("ledger_index", sa.BigInteger),
        sa.column("issuer_id", sa.String),
        sa.column("purpose", sa.String),
        sa.column("list_number", sa.Integer),
    )
    recorded = set(bind.execute(sa.text("SELECT digest FROM status_list_versions")).scalars())
    logged = bind.execute(
        sa.text("SELECT idx, data FROM ledger_entries WHERE kind = 'statuslist.published'")
    )
    for index, data in logged:
        payload = json.loads(bytes(data))["payload"]
        if payload["digest"] not in recorded:
            recorded.add(payload["digest"])
            bind.execute(
                versions.insert().values(
                    digest=payload["digest"],
                    ledger_index=int(index),
                    issuer_id=payload["issuer"],
                    purpose=payload["purpose"],
                    list_number=int(payload["number"]),
                )
            )
    cached = bind.execute(
        sa.text(
            "SELECT issuer_id, purpose, list_number, signed FROM status_lists "
            "WHERE signed IS NOT NULL"
        )
    ).all()
    for issuer_id, purpose, number, signed in cached:
        if hashlib.sha256(bytes(signed)).hexdigest() not in recorded:
            bind.execute(
                sa.text(
                    "UPDATE status_lists SET signed_version = NULL WHERE issuer_id = :i "
                    "AND purpose = :p AND list_number = :n"
                ),
                {"i": issuer_id, "p": purpose, "n": number},
            )


def downgrade() -> None:
    op.drop_index("ix_status_list_versions_list", table_name="status_list_versions")
    op.drop_table("status_list_versions")
