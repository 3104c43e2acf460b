"""The first release's schema: ledger, issuer projections, search index.

Revision ID: 0001
Revises:
Create Date: 2026-11-23

Every table ``orgbook.storage.engine.metadata`` declared at the first release, written out (a
revision is a
frozen snapshot: it must not follow later changes to the table declarations), plus the search
index's backend objects, created by the search modules' own DDL functions: the FTS5 table on
SQLite, the GIN token index on PostgreSQL.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

_Index = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_Key = sa.Text().with_variant(sa.Text(collation="C"), "postgresql")


def upgrade() -> None:
    op.create_table(
        "credential_events",
        sa.Column("ledger_index", sa.BigInteger(), nullable=False),
        sa.Column("credential_id", sa.String(length=100), nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("related_credential_id", sa.String(length=100), nullable=True),
        sa.PrimaryKeyConstraint("ledger_index"),
    )
    op.create_index(
        op.f("ix_credential_events_credential_id"),
        "credential_events",
        ["credential_id"],
        unique=False,
    )
    op.create_table(
        "credentials",
        sa.Column("id", sa.String(length=100), nullable=False),
        sa.Column("issuer_id", sa.String(length=64), nullable=False),
        sa.Column("organisation_id", sa.String(length=200), nullable=False),
        sa.Column("type", sa.String(length=32), nullable=False),
        sa.Column("supersession_key", sa.Text(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("suspended", sa.Boolean(), nullable=False),
        sa.Column("effective", sa.DateTime(timezone=True), nullable=False),
        sa.Column("event_id", sa.Text(), nullable=False),
        sa.Column("ledger_index", sa.BigInteger(), nullable=False),
        sa.Column("status_index", sa.BigInteger(), nullable=False),
        sa.Column("superseded_by", sa.String(length=100), nullable=True),
        sa.Column("document", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        "ix_credentials_issuer", "credentials", ["issuer_id", "ledger_index"], unique=False
    )
    op.create_index(
        "ix_credentials_key_state", "credentials", ["supersession_key", "state"], unique=False
    )
    op.create_index("ix_credentials_org", "credentials", ["organisation_id", "type"], unique=False)
    op.create_table(
        "ingest_progress",
        sa.Column("issuer_id", sa.String(length=64), nullable=False),
        sa.Column("source", sa.String(length=64), nullable=False),
        sa.Column("path", sa.Text(), nullable=False),
        sa.Column("lines_done", sa.BigInteger(), nullable=False),
        sa.Column("byte_offset", sa.BigInteger(), nullable=False),
        sa.Column("issued", sa.BigInteger(), nullable=False),
        sa.Column("rejected", sa.BigInteger(), nullable=False),
        sa.Column("finished", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("issuer_id", "source"),
        sa.UniqueConstraint("issuer_id", "source"),
    )
    op.create_table(
        "ingested_events",
        sa.Column("issuer_id", sa.String(length=64), nullable=False),
        sa.Column("event_id", sa.String(length=200), nullable=False),
        sa.Column("record_hash", sa.String(length=64), nullable=False),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column("ledger_index", sa.BigInteger(), nullable=True),
        sa.PrimaryKeyConstraint("issuer_id", "event_id"),
    )
    op.create_table(
        "issuers",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("did", sa.String(length=300), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("jurisdiction", sa.String(length=16), nullable=False),
        sa.Column("credential_types", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ledger_index", sa.BigInteger(), nullable=False),
        sa.Column("next_status_index", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("did"),
    )
    op.create_table(
        "ledger_checkpoints",
        sa.Column("size", _Index, autoincrement=False, nullable=False),
        sa.Column("root", sa.LargeBinary(length=32), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("created_at", sa.String(length=32), nullable=False),
        sa.PrimaryKeyConstraint("size"),
    )
    op.create_table(
        "ledger_entries",
        sa.Column("idx", _Index, autoincrement=False, nullable=False),
        sa.Column("leaf_hash", sa.LargeBinary(length=32), nullable=False),
        sa.Column("kind", sa.String(length=200), nullable=False),
        sa.Column("timestamp", sa.String(length=32), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("idx"),
        sa.UniqueConstraint("leaf_hash"),
    )
    op.create_table(
        "ledger_head",
        sa.Column("id", sa.SmallInteger(), autoincrement=False, nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("last_hash", sa.String(length=64), nullable=False),
        sa.CheckConstraint("id = 1", name="ledger_head_one_row"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "ledger_meta",
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("key"),
    )
    op.create_table(
        "ledger_nodes",
        sa.Column("level", sa.SmallInteger(), autoincrement=False, nullable=False),
        sa.Column("idx", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("hash", sa.LargeBinary(length=32), nullable=False),
        sa.PrimaryKeyConstraint("level", "idx"),
        sqlite_with_rowid=False,
    )
    op.create_table(
        "organisation_names",
        sa.Column("credential_id", sa.String(length=100), nullable=False),
        sa.Column("organisation_id", sa.String(length=200), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("language", sa.String(length=16), nullable=True),
        sa.Column("alternate_names", sa.Text(), nullable=True),
        sa.Column("valid_from", sa.DateTime(timezone=True), nullable=False),
        sa.Column("current", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("credential_id"),
    )
    op.create_index(
        op.f("ix_organisation_names_organisation_id"),
        "organisation_names",
        ["organisation_id"],
        unique=False,
    )
    op.create_table(
        "organisations",
        sa.Column("id", sa.String(length=200), nullable=False),
        sa.Column("jurisdiction", sa.String(length=16), nullable=False),
        sa.Column("registration_number", sa.String(length=64), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("entity_type", sa.String(length=32), nullable=False),
        sa.Column("business_number", sa.String(length=32), nullable=True),
        sa.Column("issuer_id", sa.String(length=64), nullable=False),
        sa.Column("created_index", sa.BigInteger(), nullable=False),
        sa.Column("updated_index", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "relationships",
        sa.Column("credential_id", sa.String(length=100), nullable=False),
        sa.Column("organisation_id", sa.String(length=200), nullable=False),
        sa.Column("related_organisation_id", sa.String(length=200), nullable=False),
        sa.Column("relationship_type", sa.String(length=40), nullable=False),
        sa.Column("related_name", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("credential_id"),
    )
    op.create_index(
        op.f("ix_relationships_organisation_id"), "relationships", ["organisation_id"], unique=False
    )
    op.create_index(
        op.f("ix_relationships_related_organisation_id"),
        "relationships",
        ["related_organisation_id"],
        unique=False,
    )
    op.create_table(
        "search_name",
        sa.Column("id", _Index, autoincrement=True, nullable=False),
        sa.Column("org_id", _Key, nullable=False),
        sa.Column("kind", _Key, nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("norm", _Key, nullable=False),
        sa.Column("core", _Key, nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_search_name_core"), "search_name", ["core"], unique=False)
    op.create_index(op.f("ix_search_name_org_id"), "search_name", ["org_id"], unique=False)
    op.create_table(
        "search_number",
        sa.Column("key", _Key, nullable=False),
        sa.Column("org_id", _Key, nullable=False),
        sa.PrimaryKeyConstraint("key", "org_id"),
        sqlite_with_rowid=False,
    )
    op.create_table(
        "search_org",
        sa.Column("org_id", _Key, nullable=False),
        sa.Column("jurisdiction", sa.String(length=32), nullable=False),
        sa.Column("registration_number", sa.Text(), nullable=False),
        sa.Column("business_number", sa.Text(), nullable=True),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("entity_type", sa.String(length=64), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("sort_key", _Key, nullable=False),
        sa.PrimaryKeyConstraint("org_id"),
    )
    op.create_index(
        "search_org_jurisdiction_sort",
        "search_org",
        ["jurisdiction", "sort_key", "org_id"],
        unique=False,
    )
    op.create_index("search_org_sort", "search_org", ["sort_key", "org_id"], unique=False)
    op.create_table(
        "search_prefix",
        sa.Column("is_start", sa.SmallInteger(), nullable=False),
        sa.Column("key", _Key, nullable=False),
        sa.Column("org_id", _Key, nullable=False),
        sa.PrimaryKeyConstraint("is_start", "key", "org_id"),
        sqlite_with_rowid=False,
    )
    op.create_table(
        "search_tag",
        sa.Column("org_id", _Key, nullable=False),
        sa.Column("kind", sa.String(length=1), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("org_id", "kind", "value"),
        sqlite_with_rowid=False,
    )
    op.create_table(
        "search_term",
        sa.Column("id", _Index, autoincrement=True, nullable=False),
        sa.Column("term", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("term"),
        sqlite_autoincrement=True,
    )
    op.create_table(
        "status_lists",
        sa.Column("issuer_id", sa.String(length=64), nullable=False),
        sa.Column("purpose", sa.String(length=16), nullable=False),
        sa.Column("list_number", sa.Integer(), nullable=False),
        sa.Column("bits", sa.LargeBinary(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("signed", sa.LargeBinary(), nullable=True),
        sa.Column("signed_version", sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint("issuer_id", "purpose", "list_number"),
    )
    op.create_table(
        "api_keys",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("issuer_id", sa.String(length=64), nullable=False),
        sa.Column("secret_hash", sa.String(length=64), nullable=False),
        sa.Column("label", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["issuer_id"],
            ["issuers.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_api_keys_issuer_id"), "api_keys", ["issuer_id"], unique=False)
    op.create_table(
        "issuer_keys",
        sa.Column("key_id", sa.String(length=400), nullable=False),
        sa.Column("issuer_id", sa.String(length=64), nullable=False),
        sa.Column("public_key", sa.LargeBinary(length=32), nullable=False),
        sa.Column("sealed_private_key", sa.LargeBinary(), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("retired_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("added_index", sa.BigInteger(), nullable=False),
        sa.Column("retired_index", sa.BigInteger(), nullable=True),
        sa.ForeignKeyConstraint(
            ["issuer_id"],
            ["issuers.id"],
        ),
        sa.PrimaryKeyConstraint("key_id"),
    )
    op.create_index(op.f("ix_issuer_keys_issuer_id"), "issuer_keys", ["issuer_id"], unique=False)
    _create_search_backend_objects()


def _create_search_backend_objects() -> None:
    from orgbook.search import create_token_index

    create_token_index(op.get_bind())


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "sqlite":
        from orgbook.search import drop_token_index

        drop_token_index(bind)
    for table in (
        "issuer_keys",
        "api_keys",
        "status_lists",
        "search_term",
        "search_tag",
        "search_prefix",
        "search_org",
        "search_number",
        "search_name",
        "relationships",
        "organisations",
        "organisation_names",
        "ledger_nodes",
        "ledger_meta",
        "ledger_head",
        "ledger_entries",
        "ledger_checkpoints",
        "issuers",
        "ingested_events",
        "ingest_progress",
        "credentials",
        "credential_events",
    ):
        op.drop_table(table)
