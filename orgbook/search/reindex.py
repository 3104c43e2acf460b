"""Re-indexing for new letter rules: bringing an index in line with how names now fold.

What it owns: :func:`reindex_stale` (re-index the organisations whose stored strings other
letter rules made, from the search tables themselves: no ledger needed) and
:func:`refresh_folding` (store the rules :func:`orgbook.search.fold.source_folding` names and
re-index what they fold differently), both in the caller's transaction; ``orgbook db upgrade``
and migrations 0005 and 0008 call them. What it must not do: rebuild from the ledger
(``orgbook ledger replay`` does) or write rows other than through :mod:`orgbook.search.writer`.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection, delete, inspect, select

from orgbook.core.time import as_utc
from orgbook.search import fold as search_fold
from orgbook.search.fold import folding_for
from orgbook.search.model import NameEntry, OrgDoc
from orgbook.search.normalise import UNACCENT, Folding
from orgbook.search.rows import CHUNK, one_of, orgs_of
from orgbook.search.tables import search_name, search_number, search_org, search_tag
from orgbook.search.writer import number_keys, upsert_orgs

__all__ = ["refresh_folding", "reindex_stale"]


def reindex_stale(conn: Connection, fold: Folding | None = None) -> int:
    """Re-index the organisations whose indexed strings other letter rules made.

    When normalisation changes (an orgbook release began to fold "ł" to "l", or the stored
    rules were replaced: :func:`refresh_folding`), names indexed before no longer equal what
    queries normalise to. This finds the organisations whose stored ``norm``, ``sort_key`` or
    number keys differ from what ``fold`` (default: the stored rules) makes of the stored names
    and numbers, rebuilds their documents from the search tables themselves (names, numbers,
    status, tags) and re-indexes them, in the caller's transaction. Returns how many; 0 when
    the index is current. The vocabulary keeps the old spellings (it is append-only); they only
    cost an empty alternative. ``orgbook ledger replay`` is the full rebuild from the ledger.
    """
    fold = fold or folding_for(conn)
    n, o, num = search_name, search_org, search_number
    stale = {
        row.org_id
        for row in conn.execute(select(n.c.org_id, n.c.name, n.c.norm))
        if fold.normalise(row.name) != row.norm
    }
    numbers: dict[str, set[str]] = {}  # only non-ASCII numbers can fold differently
    orgs = select(o.c.org_id, o.c.name, o.c.sort_key, o.c.registration_number, o.c.business_number)
    for row in conn.execute(orgs):
        if fold.normalise(row.name) != row.sort_key:
            stale.add(row.org_id)
        if not (row.registration_number + (row.business_number or "")).isascii():
            numbers[row.org_id] = number_keys(row.registration_number, row.business_number, fold)
    # An organisation's number rows are deleted by the keys its numbers fold to now; where an
    # older folding made other keys, delete them by organisation first.
    renumber: list[str] = []
    ids = sorted(numbers)
    for start in range(0, len(ids), CHUNK):
        chunk = ids[start : start + CHUNK]
        keys: dict[str, set[str]] = {org: set() for org in chunk}
        pairs = conn.execute(select(num.c.key, num.c.org_id).where(num.c.org_id.in_(chunk)))
        for key, org_id in pairs:
            keys[org_id].add(key)
        renumber.extend(org for org in chunk if keys[org] != numbers[org])
    if renumber:
        conn.execute(delete(num).where(num.c.org_id.in_(renumber)))
        stale.update(renumber)
    ids = sorted(stale)
    for start in range(0, len(ids), CHUNK):
        upsert_orgs(conn, _stored_docs(conn, ids[start : start + CHUNK]), fold)
    return len(ids)


def refresh_folding(conn: Connection) -> tuple[Folding, Folding, int]:
    """Make the stored letter rules :func:`~orgbook.search.fold.source_folding`'s and re-index
    the organisations they fold differently, in the caller's transaction. Returns (rules before,
    rules now, organisations re-indexed). Other processes pick the new rules up within
    :data:`orgbook.search.fold.RELOAD_SECONDS`; restart them to have it at once."""
    current = search_fold.read_folding(conn)
    before = current or UNACCENT
    now = search_fold.source_folding(conn)
    if current == now:
        search_fold.remember_folding(conn, now)
        return before, now, 0
    search_fold.store_folding(conn, now)
    return before, now, (reindex_stale(conn, now) if now != before else 0)


def _stored_docs(conn: Connection, org_ids: list[str]) -> list[OrgDoc]:
    """The documents of ``org_ids`` as the search tables hold them."""
    n, t = search_name, search_tag
    names: dict[str, list[NameEntry]] = {org: [] for org in org_ids}
    for row in conn.execute(
        select(n.c.org_id, n.c.kind, n.c.name).where(one_of(conn, n.c.org_id, org_ids))
    ):
        names[row.org_id].append(NameEntry(row.name, row.kind))
    tags: dict[tuple[str, str], list[str]] = {}
    expiries: dict[str, list[tuple[str, str, datetime]]] = {}
    # Migrations 0005 and 0008 run this on a search_tag that has no valid_until yet (0015).
    dated = "valid_until" in {c["name"] for c in inspect(conn).get_columns(t.name)}
    columns = [t.c.org_id, t.c.kind, t.c.value, *([t.c.valid_until] if dated else [])]
    for row in conn.execute(select(*columns).where(one_of(conn, t.c.org_id, org_ids))):
        tags.setdefault((row.org_id, row.kind), []).append(row.value)
        if dated and row.valid_until is not None:
            expiries.setdefault(row.org_id, []).append(
                (row.kind, row.value, as_utc(row.valid_until))
            )
    docs = []
    for org_id, row in orgs_of(conn, org_ids).items():
        # the displayed name first (it is the one the writer picks as current); if it normalised to
        # nothing it was not indexed as a name, but it is still the one to show
        entries = sorted(names[org_id], key=lambda e: (e.kind != "current", e.name != row.name))
        if row.name and all(e.name != row.name for e in entries):
            entries.insert(0, NameEntry(row.name, "current"))
        docs.append(
            OrgDoc(
                org_id=org_id,
                jurisdiction=row.jurisdiction,
                registration_number=row.registration_number,
                business_number=row.business_number,
                names=entries,
                status=row.status,
                entity_type=row.entity_type,
                issuers=sorted(tags.get((org_id, "i"), [])),
                credential_types=sorted(tags.get((org_id, "c"), [])),
                expiries=sorted(expiries.get(org_id, [])),
            )
        )
    return docs
