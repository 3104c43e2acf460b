"""Which DID an organisation has bound: its current Digital Identity Anchor, from the projections.

What it owns: :func:`current_anchor` — the organisation's current (not superseded, not revoked)
UNTP Digital Identity Anchor credential (type slug ``identity-anchor``), its id and its subject
DID, read from the ``credentials`` projection and the ledger entry that holds its document. The
issuer's binding (:mod:`orgbook.issuer.binding`) and the organisation profile
(:mod:`orgbook.verifier.profiles`) both read it.

What it must not do: write, or decide anything about a binding.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from sqlalchemy import Connection, select

from orgbook.core.anchor import ANCHOR_SLUG
from orgbook.projections.tables import credential_document, credentials, credentials_with_entry

__all__ = ["CurrentAnchor", "current_anchor"]


@dataclass(frozen=True, slots=True)
class CurrentAnchor:
    credential_id: str
    did: str
    status_index: int


def current_anchor(conn: Connection, organisation: str) -> CurrentAnchor | None:
    """The organisation's current Digital Identity Anchor, or None."""
    row = conn.execute(
        select(credentials.c.id, credentials.c.status_index, credential_document)
        .select_from(credentials_with_entry)
        .where(
            credentials.c.organisation_id == organisation,
            credentials.c.type == ANCHOR_SLUG,
            credentials.c.state == "current",
        )
        .order_by(credentials.c.ledger_index.desc())
    ).first()
    if row is None:
        return None
    document = json.loads(bytes(row.document))
    return CurrentAnchor(str(row.id), str(document["credentialSubject"]["id"]), row.status_index)
