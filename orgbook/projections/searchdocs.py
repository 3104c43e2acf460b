"""Organisations' search documents, built from the projection tables.

The search index (:mod:`orgbook.search`) is a projection too: each organisation's document
(its names, former and alternate names, numbers, status, issuers and the types of its current
credentials that are not suspended, with the latest ``validUntil`` of each issuer and type that
only expiring credentials give it: search counts those only until then) is built here from the
served tables and handed to the search package's writer.

* :func:`reindex`: refresh the documents of the organisations a batch touched, in the batch's
  transaction (issuance, revocation, ``ledger replay``);
* :func:`mark_pending` / :func:`flush_pending`: a bulk feed marks what it touched
  (``search_pending``) in each batch's transaction and indexes it all at its end (an
  organisation's records are spread over the whole feed); a crash leaves the marks, so the next
  feed's start (or ``orgbook serve``) finishes the work.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, delete, func, select

from orgbook.core.time import as_utc
from orgbook.projections.tables import (
    credentials,
    issuers,
    organisation_names,
    organisations,
    search_pending,
)
from orgbook.search import NameEntry, OrgDoc, upsert_orgs
from orgbook.storage.engine import insert_ignoring_conflicts

__all__ = ["flush_pending", "mark_pending", "pending_count", "reindex"]


def reindex(conn: Connection, org_ids: Sequence[str]) -> None:
    """Rebuild the search documents of ``org_ids`` from the projections."""
    if not org_ids:
        return
    docs = []
    for start in range(0, len(org_ids), 500):
        chunk = list(org_ids[start : start + 500])
        orgs = conn.execute(select(organisations).where(organisations.c.id.in_(chunk))).all()
        names: dict[str, list[Any]] = defaultdict(list)
        for row in conn.execute(
            select(
                organisation_names.c.organisation_id,
                organisation_names.c.name,
                organisation_names.c.language,
                organisation_names.c.alternate_names,
                organisation_names.c.valid_from,
                organisation_names.c.current,
            )
            .where(organisation_names.c.organisation_id.in_(chunk))
            .order_by(organisation_names.c.valid_from)
        ):
            names[row.organisation_id].append(row)
        kinds: dict[str, set[str]] = defaultdict(set)
        issuers: dict[str, set[str]] = defaultdict(set)
        # (org, kind, value) -> the latest validUntil of the credentials giving it; None once
        # one of them does not expire.
        until: dict[tuple[str, str, str], datetime | None] = {}
        for cred in conn.execute(
            select(
                credentials.c.organisation_id,
                credentials.c.type,
                credentials.c.issuer_id,
                credentials.c.valid_until,
            )
            .where(
                credentials.c.organisation_id.in_(chunk),
                credentials.c.state == "current",
                credentials.c.suspended.is_(False),  # held again once unsuspended
            )
            .distinct()
        ):
            kinds[cred.organisation_id].add(cred.type)
            issuers[cred.organisation_id].add(cred.issuer_id)
            when = None if cred.valid_until is None else as_utc(cred.valid_until)
            for key in (
                (cred.organisation_id, "c", cred.type),
                (cred.organisation_id, "i", cred.issuer_id),
            ):
                _latest(until, key, when)
        expiries: dict[str, list[tuple[str, str, datetime]]] = defaultdict(list)
        for (org_id, kind, value), when in sorted(until.items()):
            if when is not None:
                expiries[org_id].append((kind, value, when))
        for org in orgs:
            entries: list[NameEntry] = []
            for row in names[org.id]:
                entries.append(
                    NameEntry(
                        name=row.name,
                        kind="current" if row.current else "former",
                        language=row.language,
                        valid_from=row.valid_from.date().isoformat() if row.valid_from else None,
                    )
                )
                for alt in json.loads(row.alternate_names or "[]") if row.current else []:
                    entries.append(
                        NameEntry(name=alt["name"], kind="alternate", language=alt.get("language"))
                    )
            if not entries and org.name:
                entries.append(NameEntry(name=org.name, kind="current"))
            docs.append(
                OrgDoc(
                    org_id=org.id,
                    jurisdiction=org.jurisdiction,
                    registration_number=org.registration_number,
                    business_number=org.business_number,
                    names=entries,
                    status=org.status,
                    entity_type=org.entity_type,
                    issuers=sorted(issuers[org.id] or {org.issuer_id}),
                    credential_types=sorted(kinds[org.id]),
                    expiries=expiries[org.id],
                )
            )
    upsert_orgs(conn, docs)


def _latest(
    until: dict[tuple[str, str, str], datetime | None],
    key: tuple[str, str, str],
    when: datetime | None,
) -> None:
    """Fold a credential's ``validUntil`` into its tag's: the later one, and None (held until
    revoked) wins over any time."""
    if key not in until:
        until[key] = when
        return
    seen = until[key]
    if seen is not None and (when is None or when > seen):
        until[key] = when


def mark_pending(conn: Connection, org_ids: Sequence[str]) -> None:
    """Record that the search documents of ``org_ids`` are due (idempotent), in the caller's
    transaction: the batch that changed them commits the mark with the change."""
    rows = [{"organisation_id": org_id} for org_id in dict.fromkeys(org_ids)]
    insert_ignoring_conflicts(conn, search_pending, rows)


def pending_count(conn: Connection) -> int:
    """How many organisations wait for their search documents."""
    return int(conn.execute(select(func.count()).select_from(search_pending)).scalar_one())


def flush_pending(
    conn: Connection,
    *,
    chunk: int = 2000,
    progress: Callable[[int], None] | None = None,
) -> int:
    """Index every organisation marked by :func:`mark_pending` and clear the marks.

    One transaction per ``chunk`` organisations (``conn`` must not be in a transaction), so the
    work is resumable: a crash leaves the rest marked. Returns how many were indexed.

    Each chunk first locks every issuer row (in id order, as issuance locks its own): two
    feeds ending at once, or a feed's flush and an API batch re-indexing the same organisation,
    would otherwise rewrite the same search rows concurrently (on PostgreSQL, a duplicate key).
    """
    done = 0
    while True:
        with conn.begin():
            conn.execute(select(issuers.c.id).order_by(issuers.c.id).with_for_update()).all()
            org_ids = list(
                conn.execute(
                    select(search_pending.c.organisation_id)
                    .order_by(search_pending.c.organisation_id)
                    .limit(chunk)
                ).scalars()
            )
            if not org_ids:
                return done
            reindex(conn, org_ids)
            for start in range(0, len(org_ids), 500):
                conn.execute(
                    delete(search_pending).where(
                        search_pending.c.organisation_id.in_(org_ids[start : start + 500])
                    )
                )
        done += len(org_ids)
        if progress is not None:
            progress(done)
