"""Planning one batch of issuance: credentials built, signed and ordered, before any write.

:class:`Plan` gathers everything one :meth:`orgbook.issuer.service.Issuance.submit` batch writes:
the ledger items, what they change in the projections (a :class:`orgbook.projections.write.Batch`)
and the registry event ids seen. :func:`plan_credential` builds and signs one credential draft,
orders it against the current credential of its supersession key (a newer one supersedes it;
an older one is history, superseded at once) and adds its items to the plan; a draft whose
current credential already states the same from the same date (a record sent again under
another event id) issues nothing. Nothing here
writes to the database; :func:`current_credentials` reads what is current.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache
from typing import Any, Literal

from sqlalchemy import Connection, select

from orgbook.core.canonical import Canonical, canonicalize, is_fast_path_safe, loads_strict
from orgbook.core.credentials import (
    CredentialType,
    build_credential,
    credential_id,
    sign_credential_canonical,
    subject_id,
)
from orgbook.core.time import as_utc, format_time
from orgbook.issuer import statuslists
from orgbook.issuer.keys import Issuer
from orgbook.issuer.mapping import CredentialDraft
from orgbook.issuer.records import Record
from orgbook.projections.tables import credential_document, credentials, credentials_with_entry
from orgbook.projections.write import Batch, chunks, valid_until_of

__all__ = [
    "Current",
    "Placed",
    "Plan",
    "current_credentials",
    "plan_credential",
    "supersession_key",
]

_TYPES = {t.slug: t for t in CredentialType}

LATE_REASON = "a newer credential of this type was already current"
"""Why a record older than the current credential is superseded at once: the reason of its
``credential.superseded`` entry, and so of its history event (replay reads it from the entry)."""

Placed = Literal["current", "history", "unchanged"]
"""Where :func:`plan_credential` put a draft."""


@dataclass(slots=True)
class Current:
    """The current credential of a supersession key: what a new one is ordered against."""

    id: str
    effective: datetime
    status_index: int
    subject: Mapping[str, Any] | None = None  # its credentialSubject, to tell a re-sent one


@dataclass(slots=True)
class Plan:
    """Everything one batch writes, gathered before the single round of inserts."""

    ledger_items: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    # What the ledger items change in the served tables (positions are into ledger_items).
    projections: Batch = field(default_factory=Batch)
    event_rows: list[dict[str, Any]] = field(default_factory=list)
    created: str = ""  # the proofs' ``created``, formatted once per batch
    public_url: str = ""  # where the status lists are (credentialStatus)
    schema_base: str | None = None
    # Bulk feeds: mark the touched organisations for a later search reindex instead of now.
    defer_search: bool = False


@lru_cache(maxsize=4096)  # a record's drafts share its effective date
def _valid_from(value: datetime) -> str:
    return format_time(value, "seconds")


def supersession_key(draft: CredentialDraft) -> str:
    """What "the current credential" of ``draft``'s kind is keyed on, as stored."""
    return "|".join(draft.supersession_key)


def current_credentials(conn: Connection, keys: Iterable[str]) -> dict[str, Current]:
    """The current credential of each supersession key in ``keys`` that has one."""
    found: dict[str, Current] = {}
    for chunk in chunks(sorted(keys), 500):
        rows = conn.execute(
            select(
                credentials.c.id,
                credentials.c.supersession_key,
                credentials.c.effective,
                credentials.c.status_index,
                credential_document,
            )
            .select_from(credentials_with_entry)
            .where(credentials.c.supersession_key.in_(chunk), credentials.c.state == "current")
        ).all()
        for row in rows:
            subject = loads_strict(bytes(row.document)).get("credentialSubject")
            found[row.supersession_key] = Current(
                row.id, as_utc(row.effective), row.status_index, subject
            )
    return found


def _unchanged(previous: Current | None, record: Record, draft: CredentialDraft) -> bool:
    """Whether the current credential already states what ``draft`` would, from the same
    date: a record sent again (under another event id) issues nothing new."""
    if previous is None or previous.subject is None or previous.effective != draft.effective:
        return False
    subject = {"id": subject_id(record.jurisdiction, record.registration_number), **draft.subject}
    return bool(loads_strict(canonicalize(subject)) == previous.subject)


def plan_credential(
    plan: Plan,
    issuer: Issuer,
    key_id: str,
    signer: Any,
    record: Record,
    draft: CredentialDraft,
    status_index: int,
    current: dict[str, Current],
    at: datetime,
) -> tuple[str, Placed]:
    """Build and sign the credential of ``draft`` (status index ``status_index``), order it
    against ``current`` (updated in place), and add its ledger items and projection rows to
    ``plan``. Returns its id and where it was placed: ``current``, ``history``, or
    ``unchanged`` (nothing planned: the id is the credential already current)."""
    ctype = _TYPES[draft.type_slug]
    skey = supersession_key(draft)
    if _unchanged(current.get(skey), record, draft):
        return current[skey].id, "unchanged"  # a re-sent record: its credential is current
    cid = credential_id(issuer.did, record.event_id, skey)
    unsigned = build_credential(
        credential_type=ctype,
        issuer=issuer.did,
        issuer_name=issuer.name,
        subject=draft.subject,
        subject_jurisdiction=record.jurisdiction,
        subject_number=record.registration_number,
        credential_id=cid,
        valid_from=_valid_from(draft.effective),
        status_entries=statuslists.entries(plan.public_url, issuer.id, status_index),
        **({"schema_base": plan.schema_base} if plan.schema_base else {}),
    )
    # Canonicalised once: the proof hashes, the ledger leaf and the stored document share it.
    # build_credential wraps the subject in string members and fixed ASCII names: once the
    # subject (the record's data) passes the guard, the whole credential is fast-path safe.
    signed, document = sign_credential_canonical(
        unsigned,
        signer,
        verification_method=key_id,
        created=plan.created,
        trusted=is_fast_path_safe(draft.subject),
    )
    previous = current.get(skey)
    is_current = previous is None or draft.effective >= previous.effective

    position = len(plan.ledger_items)
    plan.ledger_items.append(
        (
            "credential.issued",
            {
                "credential": Canonical(signed, document),
                "organisation": draft.organisation_id,
                "type": draft.type_slug,
                "eventId": record.event_id,
                "current": is_current,
                # What "the current one" means for this credential: replay needs it.
                "supersessionKey": list(draft.supersession_key),
            },
        )
    )
    plan.projections.issued(
        position,
        credential_id=cid,
        issuer_id=issuer.id,
        organisation=draft.organisation_id,
        jurisdiction=record.jurisdiction,
        registration_number=record.registration_number,
        type_slug=draft.type_slug,
        subject=draft.subject,
        supersession_key=skey,
        current=is_current,
        effective=draft.effective,
        valid_until=valid_until_of(signed),
        event_id=record.event_id,
        status_index=status_index,
        superseded_by=None if is_current or previous is None else previous.id,
        document=document,
        at=at,
    )
    if is_current and previous is not None:
        _plan_supersession(plan, previous, cid, draft, at)
    if not is_current and previous is not None:
        # An older record arrives late: kept as history, superseded by what is current.
        plan.ledger_items.append(
            (
                "credential.superseded",
                {
                    "credential": cid,
                    "supersededBy": previous.id,
                    "organisation": draft.organisation_id,
                    "reason": LATE_REASON,
                },
            )
        )
        plan.projections.supersede(
            len(plan.ledger_items) - 1,
            cid,
            by=previous.id,
            status_index=status_index,
            at=at,
            reason=LATE_REASON,
            row_written=True,
        )
    if is_current:
        current[skey] = Current(cid, draft.effective, status_index)
    return cid, "current" if is_current else "history"


def _plan_supersession(
    plan: Plan, previous: Current, new_id: str, draft: CredentialDraft, at: datetime
) -> None:
    plan.ledger_items.append(
        (
            "credential.superseded",
            {
                "credential": previous.id,
                "supersededBy": new_id,
                "organisation": draft.organisation_id,
                "reason": "superseded",
            },
        )
    )
    plan.projections.supersede(
        len(plan.ledger_items) - 1,
        previous.id,
        by=new_id,
        status_index=previous.status_index,
        at=at,
        reason="superseded",
    )
