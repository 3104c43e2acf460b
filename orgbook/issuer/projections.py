"""Read models derived from the ledger: the search index and a full rebuild (``ledger replay``).

``reindex`` refreshes the search documents of organisations a batch touched, from the
projection tables, inside the issuing transaction. ``replay`` drops every projection and
rebuilds it from the ledger entries alone, which is what makes the ledger the source of truth.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, select

from orgbook.issuer.store import credentials, organisation_names, organisations

__all__ = ["reindex"]


def reindex(conn: Connection, org_ids: Sequence[str]) -> None:
    """Rebuild the search documents of ``org_ids`` from the projections."""
    from orgbook.verifier.search import NameEntry, OrgDoc, upsert_orgs

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
        for cred in conn.execute(
            select(credentials.c.organisation_id, credentials.c.type, credentials.c.issuer_id)
            .where(credentials.c.organisation_id.in_(chunk), credentials.c.state == "current")
            .distinct()
        ):
            kinds[cred.organisation_id].add(cred.type)
            issuers[cred.organisation_id].add(cred.issuer_id)
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
                )
            )
    upsert_orgs(conn, docs)
