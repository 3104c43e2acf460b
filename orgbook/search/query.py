"""Organisation search: one page of ranked, filtered hits for a query, and its cursor.

What it owns: :func:`search` — the order in which the tiers (:mod:`orgbook.search.tiers`) are
asked, which of their matches fill a page after the cursor's position, the ``total`` of every
tier's organisations (exact up to ``TOTAL_CAP``, else an estimate) and the next cursor — and
the listing when there is no text (every organisation in name order, filtered). A cursor is the
position ``(tier, score, sort key, org id)`` of the last thing a page looked at
(:mod:`orgbook.search.cursor`). Semantics and figures: ``docs/search.md``.

What it must not do: retrieve or score candidates itself (the tiers do), or normalise text
(:mod:`orgbook.search.plan` plans the query with the index's letter rules).
"""

from __future__ import annotations

import dataclasses
from typing import Any

from sqlalchemy import Connection, func, literal, select, tuple_
from sqlalchemy.sql.elements import ColumnElement

from orgbook.core.errors import BadInput
from orgbook.search import tiers
from orgbook.search.cursor import decode_cursor, encode_cursor
from orgbook.search.facets import facets_of
from orgbook.search.fold import folding_for
from orgbook.search.model import Facets, Hit, SearchPage, SearchQuery
from orgbook.search.plan import Plan, plan_query, query_filters, query_time, validate
from orgbook.search.rows import orgs_of
from orgbook.search.tables import search_org
from orgbook.search.tiers import (
    TIER_LIST,
    TIER_MATCH,
    TIER_PREFIX,
    Match,
    Position,
    exact_tier,
    fuzzy_tier,
    number_tier,
    prefix_orgs_for_total,
    prefix_tier,
)

__all__ = ["search", "search_with_facets"]


def _hit(m: Match, row: Any) -> Hit:
    return Hit(
        org_id=m.org_id,
        name=row.name,
        matched_name=m.matched,
        match=TIER_MATCH[m.tier],
        score=m.score,
        jurisdiction=row.jurisdiction,
        registration_number=row.registration_number,
        status=row.status,
        entity_type=row.entity_type,
    )


def search(conn: Connection, q: SearchQuery) -> SearchPage:
    """One page of organisations matching ``q``, best first (:mod:`orgbook.search.tiers`).

    Raises :class:`~orgbook.core.errors.BadInput` (with ``field``) for text over 200 characters, a
    limit outside 1..100, an unknown status or a cursor that is not one this query produced.
    """
    return search_with_facets(conn, q, with_facets=False)[0]


def search_with_facets(
    conn: Connection, q: SearchQuery, *, with_facets: bool = True
) -> tuple[SearchPage, Facets | None]:
    """:func:`search` and, if ``with_facets``, :func:`orgbook.search.facets` of ``q``, in one
    pass: with text and no filter, the facets count the organisations the page's ``total``
    counted (the same tiers, asked the same way), so the tiers are asked once, not twice.
    Both results are what the two functions return on their own (a test holds them equal);
    both are taken at one instant (:func:`orgbook.search.plan.query_time`).
    """
    validate(q)
    q = dataclasses.replace(q, at=query_time(q))
    plan = plan_query(q, folding_for(conn))
    after = decode_cursor(plan, q.cursor) if q.cursor is not None else None
    filters = query_filters(q)
    if not plan.norm:
        listed = _list(conn, q, plan, filters, after)
        return listed, facets_of(conn, q, plan) if with_facets else None
    page, ids, estimate = _text_search(conn, q, plan, filters, after)
    if not with_facets:
        return page, None
    if filters:  # the facets count the unfiltered tiers: asked again, without the filters
        return page, facets_of(conn, q, plan)
    return page, facets_of(conn, q, plan, matched=(ids, estimate))


def _text_search(
    conn: Connection,
    q: SearchQuery,
    plan: Plan,
    filters: list[ColumnElement[bool]],
    after: Position | None,
) -> tuple[SearchPage, set[str], bool]:
    """The page, and the organisations ``total`` counted with whether that is an estimate."""

    want = q.limit + 1
    hits: list[Match] = []
    resume: Position | None = None

    def take(matches: list[Match]) -> None:
        for m in matches:
            if len(hits) < want and (after is None or m.position > after):
                hits.append(m)

    numbers, numbers_capped = number_tier(conn, plan, filters)
    skip = {m.org_id for m in numbers}
    exact, exact_capped = exact_tier(conn, plan, filters, skip)
    skip |= {m.org_id for m in exact}
    take(numbers)
    take(exact)
    fuzzy: tuple[list[Match], bool] | None = None
    if len(hits) < want and (after is None or after[0] <= TIER_PREFIX):
        found, resume = prefix_tier(conn, plan, filters, after, want - len(hits), skip)
        take(found)
    if len(hits) < want and resume is None:
        fuzzy = fuzzy_tier(conn, plan, filters, skip)
        take(fuzzy[0])

    # total: every tier's organisations, exact up to TOTAL_CAP
    prefix_ids, estimate = prefix_orgs_for_total(conn, plan, filters)
    ids = skip | prefix_ids
    estimate = estimate or numbers_capped or exact_capped
    if not estimate:
        if fuzzy is None:
            fuzzy = fuzzy_tier(conn, plan, filters, skip)
        ids |= {m.org_id for m in fuzzy[0]}
        estimate = fuzzy[1]

    next_cursor = None
    if len(hits) == want:
        hits.pop()
        next_cursor = encode_cursor(plan, hits[-1].position)
    elif resume is not None:
        next_cursor = encode_cursor(plan, resume)
    orgs = orgs_of(conn, (m.org_id for m in hits))
    page = SearchPage(
        hits=[_hit(m, orgs[m.org_id]) for m in hits],
        total=len(ids),
        total_is_estimate=estimate,
        next_cursor=next_cursor,
    )
    return page, ids, estimate


def _list(
    conn: Connection,
    q: SearchQuery,
    plan: Plan,
    filters: list[ColumnElement[bool]],
    after: Position | None,
) -> SearchPage:
    """No text: organisations in name order (the empty prefix), filtered."""
    o = search_org
    stmt = select(o).where(*filters)
    if after is not None:
        if after[0] != TIER_LIST:
            raise BadInput("cursor is not valid for this query", field="cursor")
        stmt = stmt.where(tuple_(o.c.sort_key, o.c.org_id) > tuple_(*map(literal, after[2:])))
    rows = conn.execute(stmt.order_by(o.c.sort_key, o.c.org_id).limit(q.limit + 1)).all()
    matches = [(Match(TIER_LIST, 0.0, row.sort_key, row.org_id, row.name), row) for row in rows]
    next_cursor = None
    if len(matches) > q.limit:
        matches.pop()
        next_cursor = encode_cursor(plan, matches[-1][0].position)
    # tiers.TOTAL_CAP, read at call time: the one cap, for the listing as for text queries
    counted = select(o.c.org_id).where(*filters).limit(tiers.TOTAL_CAP + 1).subquery()
    total = conn.execute(select(func.count()).select_from(counted)).scalar_one()
    return SearchPage(
        hits=[_hit(m, row) for m, row in matches],
        total=min(total, tiers.TOTAL_CAP),
        total_is_estimate=total > tiers.TOTAL_CAP,
        next_cursor=next_cursor,
    )
