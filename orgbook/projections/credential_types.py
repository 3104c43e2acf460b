"""Credential types as the ledger projects them: every registered version of every type.

What it owns: the ``credential_types`` table (one row per ``type.registered`` entry
the governance key signed: the type id, VC type, slug, version, entry index and time, and the
signed definition as canonical JSON), the code that writes it (the registry when it logs a
type, and ``orgbook ledger replay``, alike), and the queries the issuance path, the API and the
web page read: :func:`all_types`, :func:`type_by_id`, :func:`latest_type`, and the type a
credential was issued as (:func:`type_of_credential`, for its bundle).

What it must not do: sign anything or append to the ledger (defining a type is
:mod:`orgbook.issuer.credential_types`), or decide what a definition means
(:mod:`orgbook.core.credential_types`).
"""

from __future__ import annotations

import functools
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Column, Connection, DateTime, String, Table, Text, select

from orgbook.core.canonical import canonicalize
from orgbook.core.credential_types import TypeDefinition
from orgbook.core.credentials import CredentialType
from orgbook.core.time import as_utc, parse_time
from orgbook.ledger.entry import Entry
from orgbook.storage.engine import metadata
from orgbook.verification.document import as_list

__all__ = [
    "RegisteredType",
    "all_types",
    "credential_types",
    "latest_type",
    "record_type",
    "type_by_id",
    "type_of_credential",
]

credential_types = Table(
    "credential_types",
    metadata,
    Column("id", String(300), primary_key=True),  # https://…/types/<slug>/<version>
    Column("ledger_index", BigInteger, nullable=False, unique=True),
    Column("vc_type", String(200), nullable=False, index=True),
    Column("slug", String(32), nullable=False),
    Column("version", String(20), nullable=False),
    Column("registered_at", DateTime(timezone=True), nullable=False),
    Column("document", Text, nullable=False),  # the signed definition, canonical JSON
)


@dataclass(frozen=True, slots=True)
class RegisteredType:
    """A registered type version: its definition and the entry that registered it."""

    definition: TypeDefinition
    index: int
    registered_at: datetime


def record_type(conn: Connection, entry: Entry) -> TypeDefinition:
    """Project a ``type.registered`` entry (:class:`BadInput` if it holds none)."""
    definition = TypeDefinition.parse(entry.payload.get("credentialType"))
    conn.execute(
        credential_types.insert().values(
            id=definition.id,
            ledger_index=entry.index,
            vc_type=definition.vc_type,
            slug=definition.slug,
            version=definition.version,
            registered_at=parse_time(entry.timestamp),
            document=canonicalize(definition.document).decode("utf-8"),
        )
    )
    return definition


@functools.lru_cache(maxsize=256)
def _parsed(document: str) -> TypeDefinition:
    """A stored definition, parsed (and its schema checked) once per process: a registered
    document never changes, and issuing reads its type for every credential."""
    return TypeDefinition.parse(json.loads(document))


def _registered(row: object) -> RegisteredType:
    return RegisteredType(
        _parsed(str(row.document)),  # type: ignore[attr-defined]
        int(row.ledger_index),  # type: ignore[attr-defined]
        as_utc(row.registered_at),  # type: ignore[attr-defined]
    )


def all_types(conn: Connection) -> list[RegisteredType]:
    """Every registered type version, in ledger order."""
    rows = conn.execute(select(credential_types).order_by(credential_types.c.ledger_index))
    return [_registered(row) for row in rows]


def type_by_id(conn: Connection, tid: str) -> RegisteredType | None:
    row = conn.execute(select(credential_types).where(credential_types.c.id == tid)).first()
    return None if row is None else _registered(row)


def latest_type(conn: Connection, vc_type: str) -> RegisteredType | None:
    """The latest registered version of a VC type (the last registered), or None."""
    row = conn.execute(
        select(credential_types)
        .where(credential_types.c.vc_type == vc_type)
        .order_by(credential_types.c.ledger_index.desc())
        .limit(1)
    ).first()
    return None if row is None else _registered(row)


def type_of_credential(conn: Connection, credential: Mapping[str, Any]) -> RegisteredType | None:
    """The registered type a credential was issued as, when it is not one of the registry's
    own (those ship with orgbook): a version of one of its VC types whose ``credentialSchema``
    the credential names. None otherwise."""
    names = [t for t in as_list(credential.get("type")) if isinstance(t, str)]
    schemas = {
        item.get("id")
        for item in as_list(credential.get("credentialSchema"))
        if isinstance(item, Mapping)
    }
    registry_types = {t.vc_type for t in CredentialType}
    wanted = [n for n in names if n not in registry_types and n != "VerifiableCredential"]
    if not wanted or not schemas:
        return None
    rows = conn.execute(
        select(credential_types)
        .where(credential_types.c.vc_type.in_(wanted))
        .order_by(credential_types.c.ledger_index)
    )
    for row in rows:
        registered = _registered(row)
        if registered.definition.credential_schema in schemas:
            return registered
    return None
