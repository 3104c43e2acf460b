"""Defining credential types: a ``type.registered`` entry, signed by the governance key.

What it owns: :func:`define_type` (a definition file → the signed ``CredentialTypeDefinition``
on the ledger, projected in the same transaction, then a checkpoint) and
:func:`register_registry_types` (the six registry types, registered as data the first time any
type is defined: same VC types and schema URLs as ever, so every existing credential keeps
verifying). A new version of a type is a new entry with a new id
(``<public url>/types/<slug>/<version>``); nothing is edited in place, and an id registered
before is a :class:`Conflict`.

What it must not do: decide what a definition means (:mod:`orgbook.core.credential_types`), or
touch the governance key file (:mod:`orgbook.issuer.governance`).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, select

from orgbook.core.credential_types import (
    REGISTERED_KIND,
    definition_body,
    registry_type_bodies,
)
from orgbook.core.dataintegrity import add_proof
from orgbook.core.errors import Conflict
from orgbook.core.schemas import DEFAULT_SCHEMA_BASE
from orgbook.issuer.governance import governance_key
from orgbook.ledger.store import Ledger
from orgbook.projections.credential_types import (
    RegisteredType,
    credential_types,
    record_type,
    type_by_id,
)

__all__ = ["define_type", "register_registry_types"]


def _register(
    conn: Connection,
    ledger: Ledger,
    body: Mapping[str, Any],
    *,
    data_dir: Path,
    passphrase: bytes,
    at: datetime,
) -> RegisteredType:
    if type_by_id(conn, str(body["id"])) is not None:
        raise Conflict(
            f"type {body['id']} is registered already: a change is a new version",
            field="version",
        )
    key = governance_key(conn, ledger, data_dir, passphrase, now=at)
    signed = add_proof(dict(body), key.signer, verification_method=key.key_id, created=at)
    entry = ledger.append(conn, REGISTERED_KIND, {"credentialType": signed}, now=at)
    definition = record_type(conn, entry)
    return RegisteredType(definition, entry.index, at)


def register_registry_types(
    conn: Connection,
    ledger: Ledger,
    *,
    data_dir: Path,
    passphrase: bytes,
    public_url: str,
    schema_base: str = DEFAULT_SCHEMA_BASE,
    now: datetime | None = None,
) -> list[RegisteredType]:
    """Register the six registry types that are not registered yet (none, once done)."""
    at = (now or datetime.now(UTC)).astimezone(UTC)
    known = set(conn.execute(select(credential_types.c.id)).scalars())
    return [
        _register(conn, ledger, body, data_dir=data_dir, passphrase=passphrase, at=at)
        for body in registry_type_bodies(public_url, schema_base)
        if body["id"] not in known
    ]


def define_type(
    conn: Connection,
    ledger: Ledger,
    definition: Mapping[str, Any],
    *,
    data_dir: Path,
    passphrase: bytes,
    public_url: str,
    schema_base: str = DEFAULT_SCHEMA_BASE,
    now: datetime | None = None,
) -> RegisteredType:
    """Register a type (or a new version of one), in the caller's transaction. The first time,
    the six registry types are registered before it."""
    at = (now or datetime.now(UTC)).astimezone(UTC)
    body = definition_body(definition, public_url)  # BadInput before anything is signed
    if conn.execute(select(credential_types.c.id).limit(1)).first() is None:
        register_registry_types(
            conn,
            ledger,
            data_dir=data_dir,
            passphrase=passphrase,
            public_url=public_url,
            schema_base=schema_base,
            now=at,
        )
    registered = _register(conn, ledger, body, data_dir=data_dir, passphrase=passphrase, at=at)
    ledger.sign_checkpoint(conn, now=at)
    return registered
