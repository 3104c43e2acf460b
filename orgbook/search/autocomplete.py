"""Search-as-you-type: organisations whose name has a word starting with what was typed.

What it owns: :func:`autocomplete` and its bounds — names that start with the text first,
then (for a single word) numbers that start with it, first of all when it has a digit, then
names with a later word that does; straight off the word-start and number indexes. With a
jurisdiction filter, at most :data:`AUTOCOMPLETE_SCAN` index rows per kind of match are
looked at. What it must not do: rank by typo distance (search
does, :mod:`orgbook.search.query`) or normalise text itself.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy import Connection, Select, select

from orgbook.core.errors import BadInput
from orgbook.search.fold import folding_for
from orgbook.search.model import Suggestion
from orgbook.search.normalise import KEY_LEN, has_digit, successor
from orgbook.search.plan import check_text, filtered
from orgbook.search.rows import names_of, orgs_of
from orgbook.search.tables import search_number, search_org, search_prefix
from orgbook.search.tiers import prefix_best

__all__ = ["AUTOCOMPLETE_SCAN", "MAX_SUGGESTIONS", "autocomplete"]

MAX_SUGGESTIONS = 50
AUTOCOMPLETE_SCAN = 400  # index rows looked at per kind of match when a filter is given


def autocomplete(
    conn: Connection, prefix: str, *, limit: int = 8, jurisdiction: str | None = None
) -> list[Suggestion]:
    """Search-as-you-type: organisations whose current, former or alternate name has a word
    starting with ``prefix`` (name starts first), or whose number starts with it."""
    check_text(prefix, "prefix")
    check_text(jurisdiction, "jurisdiction")
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_SUGGESTIONS:
        raise BadInput(f"limit must be an integer from 1 to {MAX_SUGGESTIONS}", field="limit")
    fold = folding_for(conn)
    norm = fold.normalise(prefix)
    if not norm:
        return []
    filters = [search_org.c.jurisdiction == jurisdiction.upper()] if jurisdiction else []
    p, num = search_prefix, search_number
    lo, hi = norm[:KEY_LEN], successor(norm[:KEY_LEN])

    def bounded(stmt: Select[Any], org_id: Any, order: Sequence[Any]) -> list[str]:
        stmt = stmt.order_by(*order)
        if filters:
            inner = stmt.limit(AUTOCOMPLETE_SCAN).subquery()
            stmt = filtered(select(inner.c.org_id), inner.c.org_id, filters)
            stmt = stmt.order_by(*(inner.c[c.name] for c in order))
        return list(conn.execute(stmt.limit(4 * limit)).scalars())

    def names(is_start: int) -> list[str]:
        stmt = select(p.c.org_id, p.c.key).where(
            p.c.is_start == is_start, p.c.key >= lo, p.c.key < hi
        )
        return bounded(stmt, p.c.org_id, (p.c.key, p.c.org_id))

    def numbers() -> list[str]:
        key = fold.number_key(prefix)
        stmt = select(num.c.org_id, num.c.key).where(num.c.key >= key, num.c.key < successor(key))
        return bounded(stmt, num.c.org_id, (num.c.key, num.c.org_id))

    picks: dict[str, bool] = {}  # org id -> matched on a number
    # A single word may be a number too; one with a digit is most likely one.
    order: list[tuple[Callable[[], list[str]], bool]] = [
        (lambda: names(1), False),
        (lambda: names(0), False),
    ]
    if " " not in norm:
        order.insert(0 if has_digit(norm) else 1, (numbers, True))
    for fetch, on_number in order:
        for org_id in fetch():
            picks.setdefault(org_id, on_number)
        if len(picks) >= limit:
            break
    chosen = list(picks.items())[:limit]
    orgs = orgs_of(conn, picks)
    all_names = names_of(conn, [org for org, on_number in chosen if not on_number])
    out = []
    key = fold.number_key(prefix)
    for org_id, on_number in chosen:
        row = orgs[org_id]
        if on_number:
            reg = row.registration_number
            matched = reg if fold.number_key(reg).startswith(key) else row.business_number or reg
        else:
            best = prefix_best(all_names[org_id], norm)
            matched = best[2] if best else row.name
        out.append(
            Suggestion(
                org_id=org_id,
                name=row.name,
                matched_name=matched,
                registration_number=row.registration_number,
                jurisdiction=row.jurisdiction,
                status=row.status,
            )
        )
    return out
