"""The issuer API's read queries: an issuer's credentials (with their history), signing keys
and API keys, as the API's response models.

What it owns: the ``SELECT``s over the projections (``credentials``, ``credential_events``,
``issuer_keys``) and the issuer's ``api_keys`` table that the routes answer with, and the rule
that an issuer reads only its own credentials (403 otherwise).

What it must not do: write anything (issuance and key management are
:mod:`orgbook.issuer.service` and :mod:`orgbook.issuer.keys`) or know HTTP.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, select

from orgbook.core.canonical import loads_strict
from orgbook.core.errors import Forbidden, NotFound
from orgbook.core.multibase import encode_multikey_ed25519
from orgbook.issuer.keys import Issuer
from orgbook.issuer.models import (
    ApiKeySummary,
    CredentialDetail,
    CredentialEvent,
    CredentialPage,
    CredentialSummary,
    KeyHistory,
    SigningKey,
)
from orgbook.projections.tables import (
    credential_document,
    credential_events,
    credentials,
    credentials_with_entry,
    issuer_keys,
)

__all__ = [
    "api_key_summary",
    "credential_detail",
    "credential_row",
    "key_history",
    "list_credentials",
]

DEFAULT_PAGE = 100


def _summary(row: Any) -> CredentialSummary:
    return CredentialSummary(
        id=row.id,
        type=row.type,
        organisation=row.organisation_id,
        state=row.state,
        suspended=bool(row.suspended),
        effective=row.effective,
        event_id=row.event_id,
        ledger_index=row.ledger_index,
        superseded_by=row.superseded_by,
    )


def credential_row(conn: Connection, issuer_id: str, credential_id: str) -> Any:
    row = conn.execute(
        select(credentials, credential_document)
        .select_from(credentials_with_entry)
        .where(credentials.c.id == credential_id)
    ).first()
    if row is None:
        raise NotFound(f"no credential {credential_id!r}", field="id")
    if row.issuer_id != issuer_id:
        raise Forbidden("this credential was issued by another issuer", field="id")
    return row


def list_credentials(
    conn: Connection,
    issuer_id: str,
    *,
    type_slug: str | None = None,
    organisation: str | None = None,
    state: str | None = None,
    suspended: bool | None = None,
    cursor: int | None = None,
    limit: int = DEFAULT_PAGE,
) -> CredentialPage:
    """A page of ``issuer_id``'s credentials in ledger order, after ledger index ``cursor``."""
    query = select(
        credentials.c.id,
        credentials.c.type,
        credentials.c.organisation_id,
        credentials.c.state,
        credentials.c.suspended,
        credentials.c.effective,
        credentials.c.event_id,
        credentials.c.ledger_index,
        credentials.c.superseded_by,
    ).where(credentials.c.issuer_id == issuer_id)
    if type_slug is not None:
        query = query.where(credentials.c.type == type_slug)
    if organisation is not None:
        query = query.where(credentials.c.organisation_id == organisation)
    if state is not None:
        query = query.where(credentials.c.state == state)
    if suspended is not None:
        query = query.where(credentials.c.suspended.is_(suspended))
    if cursor is not None:
        query = query.where(credentials.c.ledger_index > cursor)
    rows = conn.execute(query.order_by(credentials.c.ledger_index).limit(limit + 1)).all()
    items = [_summary(row) for row in rows[:limit]]
    next_cursor = items[-1].ledger_index if len(rows) > limit else None
    return CredentialPage(items=items, next_cursor=next_cursor)


def credential_detail(conn: Connection, issuer_id: str, credential_id: str) -> CredentialDetail:
    row = credential_row(conn, issuer_id, credential_id)
    events = conn.execute(
        select(credential_events)
        .where(credential_events.c.credential_id == credential_id)
        .order_by(credential_events.c.ledger_index)
    ).all()
    return CredentialDetail(
        **_summary(row).model_dump(),
        credential=loads_strict(bytes(row.document)),
        history=[
            CredentialEvent(
                ledger_index=event.ledger_index,
                kind=event.kind,
                at=event.at,
                reason=event.reason,
                related_credential=event.related_credential_id,
            )
            for event in events
        ],
    )


# --- keys: queries -------------------------------------------------------------------------------


def key_history(conn: Connection, issuer: Issuer) -> KeyHistory:
    rows = conn.execute(
        select(issuer_keys)
        .where(issuer_keys.c.issuer_id == issuer.id)
        .order_by(issuer_keys.c.added_index)
    ).all()
    return KeyHistory(
        issuer=issuer.id,
        did=issuer.did,
        keys=[
            SigningKey(
                key_id=row.key_id,
                public_key_multibase=encode_multikey_ed25519(bytes(row.public_key)),
                active=bool(row.active),
                created_at=row.created_at,
                added_index=row.added_index,
                retired_at=row.retired_at,
                retired_index=row.retired_index,
            )
            for row in rows
        ],
    )


def api_key_summary(row: Any) -> ApiKeySummary:
    return ApiKeySummary(
        id=row.id, label=row.label, created_at=row.created_at, revoked_at=row.revoked_at
    )
