"""The served tables: what the ledger's entries project into, and what the API reads.

Every table here can be rebuilt from the ledger alone (``orgbook ledger replay``) and is
compared with what the ledger derives by the projection audit (``orgbook ledger audit``):

* the issuers and their public keys (``issuer.registered``, ``issuer.key.added`` and
  ``issuer.key.retired`` entries); their sealed private keys sit in the same rows
  (``issuer_keys.sealed_private_key``) but are the issuer's own state, never served nor derived;
* organisations, credentials with their history, names, relationships (``credential.*``);
* status-list bits and the record of every signed status list (``statuslist.published``);
* ``search_pending``: organisations whose search documents a bulk feed has deferred.

They are written by :mod:`orgbook.projections.write` in the transaction that appends the entries
they reflect. The issuer's own bookkeeping (API keys, registry event ids seen, feed progress) is
not a projection: :mod:`orgbook.issuer.store`. SQLAlchemy Core tables only.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Table,
    Text,
    func,
)

from orgbook.core.errors import LedgerIntegrityError
from orgbook.ledger.store import ledger_entries
from orgbook.storage.engine import metadata

__all__ = [
    "credential_document",
    "credential_events",
    "credentials",
    "credentials_with_entry",
    "issuer_keys",
    "issuers",
    "locate_document",
    "organisation_names",
    "organisations",
    "relationships",
    "search_pending",
    "status_list_versions",
    "status_lists",
]

issuers = Table(
    "issuers",
    metadata,
    Column("id", String(64), primary_key=True),  # slug, e.g. "bc-registries"
    Column("did", String(300), nullable=False, unique=True),
    Column("name", Text, nullable=False),
    Column("jurisdiction", String(16), nullable=False),
    Column("credential_types", Text, nullable=False),  # JSON list of type slugs
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("ledger_index", BigInteger, nullable=False),
    Column("next_status_index", BigInteger, nullable=False, default=0),
)

issuer_keys = Table(
    "issuer_keys",
    metadata,
    Column("key_id", String(400), primary_key=True),  # DID URL: did:web:…#key-1
    Column("issuer_id", String(64), ForeignKey("issuers.id"), nullable=False, index=True),
    Column("public_key", LargeBinary(32), nullable=False),
    Column("sealed_private_key", LargeBinary, nullable=True),  # encrypted PKCS#8 PEM
    Column("active", Boolean, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("retired_at", DateTime(timezone=True), nullable=True),
    Column("added_index", BigInteger, nullable=False),
    Column("retired_index", BigInteger, nullable=True),
)

organisations = Table(
    "organisations",
    metadata,
    Column("id", String(200), primary_key=True),  # "CA-BC:BC1287139"
    Column("jurisdiction", String(16), nullable=False),
    Column("registration_number", String(64), nullable=False),
    Column("name", Text, nullable=False, default=""),
    Column("status", String(32), nullable=False, default="active"),
    Column("entity_type", String(32), nullable=False, default=""),
    Column("business_number", String(32), nullable=True),
    Column("issuer_id", String(64), nullable=False),
    Column("created_index", BigInteger, nullable=False),
    Column("updated_index", BigInteger, nullable=False),
)

credentials = Table(
    "credentials",
    metadata,
    Column("id", String(100), primary_key=True),  # urn:uuid:…
    Column("issuer_id", String(64), nullable=False),
    Column("organisation_id", String(200), nullable=False),
    Column("type", String(32), nullable=False),  # slug
    Column("supersession_key", Text, nullable=False),
    # current | superseded | revoked
    Column("state", String(16), nullable=False),
    Column("suspended", Boolean, nullable=False, default=False),
    Column("effective", DateTime(timezone=True), nullable=False),
    Column("event_id", Text, nullable=False),
    Column("ledger_index", BigInteger, nullable=False),
    Column("status_index", BigInteger, nullable=False),
    Column("superseded_by", String(100), nullable=True),
    # The signed credential's canonical JSON is stored once, in its ledger entry (entry
    # ``ledger_index``): these locate it there (JCS composes, so the credential's bytes are a
    # contiguous slice of the entry's). See :data:`credential_document`.
    Column("document_offset", Integer, nullable=False),
    Column("document_length", Integer, nullable=False),
    # The credential's ``validUntil`` (None: it does not expire); search counts its type and
    # issuer only before it. Last: migration 0015 added it.
    Column("valid_until", DateTime(timezone=True), nullable=True),
    Index("ix_credentials_org", "organisation_id", "type"),
    Index("ix_credentials_key_state", "supersession_key", "state"),
    Index("ix_credentials_issuer", "issuer_id", "ledger_index"),
)

#: The signed credential's canonical bytes, sliced from its ledger entry: select it
#: ``FROM credentials_with_entry``.
credential_document = func.substr(
    ledger_entries.c.data,
    credentials.c.document_offset + 1,
    credentials.c.document_length,
    type_=LargeBinary,
).label("document")

#: ``credentials`` joined with the ledger entry that issued each one.
credentials_with_entry = credentials.join(
    ledger_entries, ledger_entries.c.idx == credentials.c.ledger_index
)


def locate_document(entry_data: bytes, document: bytes) -> tuple[int, int]:
    """(offset, length) of a credential's canonical bytes inside its entry's leaf bytes.

    The credential is the entry payload's first member (``credential`` sorts first), so the
    first occurrence is it; absent means the entry is not the one that issued it.
    """
    offset = entry_data.find(document)
    if offset < 0:
        raise LedgerIntegrityError("the credential is not in its ledger entry's bytes")
    return offset, len(document)


# Every change to a credential after issuance, in ledger order: the credential's history.
credential_events = Table(
    "credential_events",
    metadata,
    Column("ledger_index", BigInteger, primary_key=True),
    Column("credential_id", String(100), nullable=False, index=True),
    Column("kind", String(40), nullable=False),  # issued, superseded, revoked, suspended, …
    Column("at", DateTime(timezone=True), nullable=False),
    Column("reason", Text, nullable=True),
    Column("related_credential_id", String(100), nullable=True),
)

# Relationships, indexed from both sides so profiles show them in both directions.
relationships = Table(
    "relationships",
    metadata,
    Column("credential_id", String(100), primary_key=True),
    Column("organisation_id", String(200), nullable=False, index=True),
    Column("related_organisation_id", String(200), nullable=False, index=True),
    Column("relationship_type", String(40), nullable=False),
    Column("related_name", Text, nullable=True),
)

# Names an organisation has had (current, former, alternate), for profiles and search.
organisation_names = Table(
    "organisation_names",
    metadata,
    Column("credential_id", String(100), primary_key=True),
    Column("organisation_id", String(200), nullable=False, index=True),
    Column("name", Text, nullable=False),
    Column("language", String(16), nullable=True),
    Column("alternate_names", Text, nullable=True),  # JSON list
    Column("valid_from", DateTime(timezone=True), nullable=False),
    Column("current", Boolean, nullable=False),
)

status_lists = Table(
    "status_lists",
    metadata,
    Column("issuer_id", String(64), primary_key=True),
    Column("purpose", String(16), primary_key=True),  # revocation | suspension
    Column("list_number", Integer, primary_key=True),
    Column("bits", LargeBinary, nullable=False),  # raw bitstring, 16 KiB for 131,072 entries
    Column("version", Integer, nullable=False, default=0),
    Column("signed", LargeBinary, nullable=True),  # cached signed status list credential
    Column("signed_version", Integer, nullable=True),
)

# Revocation transparency: every signed version of a status list, by the SHA-256 of its RFC 8785
# bytes, and the ``statuslist.published`` ledger entry that logged it. A projection: ``ledger
# replay`` rebuilds it from those entries.
status_list_versions = Table(
    "status_list_versions",
    metadata,
    Column("digest", String(64), primary_key=True),  # SHA-256 hex of the signed list (JCS)
    Column("ledger_index", BigInteger, nullable=False, unique=True),
    Column("issuer_id", String(64), nullable=False),
    Column("purpose", String(16), nullable=False),
    Column("list_number", Integer, nullable=False),
    Index("ix_status_list_versions_list", "issuer_id", "purpose", "list_number", "ledger_index"),
)

# Organisations whose search documents a bulk feed has not refreshed yet. A feed defers the
# search index (an organisation's records are spread over the whole feed, so indexing it at
# every batch would redo it several times) and marks what it touched here, in each batch's
# transaction; the feed's end, or the next feed's start after a crash, indexes them and clears
# the rows (`orgbook.projections.searchdocs.flush_pending`).
search_pending = Table(
    "search_pending",
    metadata,
    Column("organisation_id", String(200), primary_key=True),
)
