"""The issuer directory: issuers and their DID documents, as the ledger projects them.

An issuer's registration (``issuer.registered``) and its keys' life (``issuer.key.added``,
``issuer.key.retired``) are on the ledger and projected into ``issuers`` and ``issuer_keys``
(:mod:`orgbook.projections.tables`). This is the read side every area uses: the issuer's own
service, the verifier's ``/issuers`` routes and DID documents, the web page. Creating issuers and
their keys (which go on the ledger first) is the issuer's: :mod:`orgbook.issuer.keys`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, select

from orgbook.core.did import build_did_document
from orgbook.core.errors import NotFound
from orgbook.core.time import as_utc
from orgbook.projections.tables import issuer_keys, issuers

__all__ = ["Issuer", "did_document", "get_issuer", "list_issuers"]


@dataclass(frozen=True, slots=True)
class Issuer:
    id: str
    did: str
    name: str
    jurisdiction: str
    credential_types: tuple[str, ...]
    created_at: datetime
    ledger_index: int

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "did": self.did,
            "name": self.name,
            "jurisdiction": self.jurisdiction,
            "credentialTypes": list(self.credential_types),
        }


def _issuer_from_row(row: Any) -> Issuer:
    return Issuer(
        id=row.id,
        did=row.did,
        name=row.name,
        jurisdiction=row.jurisdiction,
        credential_types=tuple(json.loads(row.credential_types)),
        created_at=row.created_at,
        ledger_index=row.ledger_index,
    )


def get_issuer(conn: Connection, issuer_id: str) -> Issuer:
    row = conn.execute(select(issuers).where(issuers.c.id == issuer_id)).first()
    if row is None:
        raise NotFound(f"no issuer {issuer_id!r}", field="issuer")
    return _issuer_from_row(row)


def list_issuers(conn: Connection) -> list[Issuer]:
    rows = conn.execute(select(issuers).order_by(issuers.c.id)).all()
    return [_issuer_from_row(row) for row in rows]


def did_document(conn: Connection, issuer_id: str) -> dict[str, Any]:
    """The issuer's DID document: every key it ever had, only active ones for assertions."""
    issuer = get_issuer(conn, issuer_id)
    rows = conn.execute(
        select(issuer_keys)
        .where(issuer_keys.c.issuer_id == issuer_id)
        .order_by(issuer_keys.c.added_index)
    ).all()
    keys = [(row.key_id.split("#", 1)[1], bytes(row.public_key), bool(row.active)) for row in rows]
    document = build_did_document(issuer.did, keys)
    # A retired key keeps verifying what it signed before its retirement: the DID document says
    # when (``revoked``, as the Controlled Identifiers spec names it); the ledger proves it.
    retired = {row.key_id: row.retired_at for row in rows if row.retired_at is not None}
    for method in document.get("verificationMethod", []):
        when = retired.get(method.get("id"))
        if when is not None:
            # Microseconds kept: proofs carry them, and one signed earlier in the second of the
            # retirement must not look signed after it.
            method["revoked"] = as_utc(when).strftime(
                "%Y-%m-%dT%H:%M:%S.%fZ" if when.microsecond else "%Y-%m-%dT%H:%M:%SZ"
            )
    return document
