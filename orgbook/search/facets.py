"""Facets: how many of a query's organisations have each filter value, within a bound.

What it owns: :func:`facets` — for a :class:`~orgbook.search.model.SearchQuery`, the counts of
jurisdictions, statuses, entity types, credential types and issuers among the organisations it
matches. Each facet is counted over the organisations that match the text and every *other*
filter (choosing one of its values gives that many), values with no organisation are left out,
and every count is taken over at most :data:`FACET_BOUND` organisations (read at call time, so
a test may lower it): past that, :attr:`~orgbook.search.model.Facets.exact` is false and the
counts are lower bounds.

* With text: the organisations of every tier, unfiltered, as :func:`orgbook.search.search`
  counts its ``total`` (so at most the tiers' caps; more than :data:`FACET_BOUND` of them, or a
  capped tier, and the counts are over the first :data:`FACET_BOUND` by organisation id);
  the filters are then applied here, in Python, the same way :mod:`orgbook.search.plan` writes
  them in SQL.
* Without text (the listing): the first :data:`FACET_BOUND` + 1 organisations in name order that
  pass the other filters, one statement per distinct set of other filters (at most six).

Credential types and issuers count only while held at the query's time
(:func:`orgbook.search.plan.query_time`): a type or issuer an organisation holds only through
credentials whose ``validUntil`` has passed is not counted, as the filters do not select it.

With no filter at all (the common case: a search box), every facet counts the same population,
and the database counts it (``GROUP BY`` over the chosen organisations) instead of Python
reading each organisation's row and tags.

The status facet lists each status, except that ``inactive`` counts every organisation whose
status is not ``active`` (what the ``inactive`` filter selects). What it must not do: rank, page
or normalise (the tiers and :mod:`orgbook.search.plan` do).
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, func, select

from orgbook.search import tiers
from orgbook.search.fold import folding_for
from orgbook.search.model import Facets, FacetValue, SearchQuery
from orgbook.search.plan import (
    Plan,
    plan_query,
    query_filters,
    query_time,
    status_matches,
    tag_held_at,
    tag_holds,
    validate,
)
from orgbook.search.rows import CHUNK, one_of
from orgbook.search.tables import search_org, search_tag

__all__ = ["FACET_BOUND", "FACET_FIELDS", "facets", "facets_of", "matched_ids"]

FACET_BOUND = 1000
"""Organisations counted at most per facet; past this the counts are lower bounds."""

FACET_FIELDS = ("jurisdiction", "status", "entity_type", "credential_type", "issuer")


@dataclass(frozen=True, slots=True)
class _Org:
    org_id: str
    jurisdiction: str
    status: str
    entity_type: str
    credential_types: frozenset[str]
    issuers: frozenset[str]


def _keeps(org: _Org, q: SearchQuery) -> bool:
    if q.jurisdiction and org.jurisdiction != q.jurisdiction.upper():
        return False
    if q.status is not None and not status_matches(q.status, org.status):
        return False
    if q.entity_type and org.entity_type != q.entity_type:
        return False
    if q.credential_type and q.credential_type not in org.credential_types:
        return False
    return not (q.issuer and q.issuer not in org.issuers)


def _values(org: _Org, field: str) -> Iterable[str]:
    if field == "credential_type":
        return org.credential_types
    if field == "issuer":
        return org.issuers
    if field == "status":
        return _status_values(org.status)
    return (str(getattr(org, field)),)


def _status_values(status: str) -> Iterable[str]:
    return (status,) if status == "active" else {status, "inactive"}


def _describe(conn: Connection, rows: list[tuple[str, str, str, str]], at: datetime) -> list[_Org]:
    """The organisations of ``rows`` ``(org_id, jurisdiction, status, entity_type)``, with
    the credential types and issuers they hold at ``at``."""
    tags: dict[str, dict[str, set[str]]] = {row[0]: {"c": set(), "i": set()} for row in rows}
    ids = sorted(tags)
    t = search_tag
    for start in range(0, len(ids), CHUNK):
        stmt = select(t.c.org_id, t.c.kind, t.c.value, t.c.valid_until)
        stmt = stmt.where(one_of(conn, t.c.org_id, ids[start : start + CHUNK]))
        for org_id, kind, value, until in conn.execute(stmt):
            if kind in ("c", "i") and tag_holds(until, at):
                tags[org_id][kind].add(value)
    return [
        _Org(
            org_id, juris, status, etype, frozenset(tags[org_id]["c"]), frozenset(tags[org_id]["i"])
        )
        for org_id, juris, status, etype in rows
    ]


_COLUMNS = (
    search_org.c.org_id,
    search_org.c.jurisdiction,
    search_org.c.status,
    search_org.c.entity_type,
)


def matched_ids(conn: Connection, plan: Plan) -> tuple[set[str], bool]:
    """The organisations of every tier of a text query, unfiltered, and whether that is fewer
    than all of them (a tier was capped): what :func:`orgbook.search.search` counts as ``total``
    for the same query without filters."""
    numbers, capped = tiers.number_tier(conn, plan, [])
    skip = {m.org_id for m in numbers}
    exact, exact_capped = tiers.exact_tier(conn, plan, [], skip)
    skip |= {m.org_id for m in exact}
    prefix_ids, prefix_capped = tiers.prefix_orgs_for_total(conn, plan, [])
    ids = skip | prefix_ids
    capped = capped or exact_capped or prefix_capped
    if not capped:
        fuzzy, capped = tiers.fuzzy_tier(conn, plan, [], skip)
        ids |= {m.org_id for m in fuzzy}
    return ids, capped


def _bounded(matched: tuple[set[str], bool], bound: int) -> tuple[list[str], bool]:
    """The first ``bound`` ids of ``matched`` (ids, capped) by id, and whether that is fewer
    than all the organisations the query matches."""
    ids, capped = matched
    return sorted(ids)[:bound], capped or len(ids) > bound


def _matched(
    conn: Connection, matched: tuple[set[str], bool], bound: int, at: datetime
) -> tuple[list[_Org], bool]:
    """The organisations ``matched`` (ids, capped) names, at most ``bound``, and whether that
    is fewer than all of them."""
    chosen, capped = _bounded(matched, bound)
    rows: list[tuple[str, str, str, str]] = []
    for start in range(0, len(chosen), CHUNK):
        stmt = select(*_COLUMNS).where(
            one_of(conn, search_org.c.org_id, chosen[start : start + CHUNK])
        )
        rows.extend((r[0], r[1], r[2], r[3]) for r in conn.execute(stmt))
    return _describe(conn, rows, at), capped


def _listed(conn: Connection, q: SearchQuery, bound: int) -> tuple[list[_Org], bool]:
    """The first ``bound`` organisations in name order that pass ``q``'s filters, and whether
    there are more."""
    o = search_org
    stmt = select(*_COLUMNS).where(*query_filters(q)).order_by(o.c.sort_key, o.c.org_id)
    rows = [(r[0], r[1], r[2], r[3]) for r in conn.execute(stmt.limit(bound + 1))]
    return _describe(conn, rows[:bound], query_time(q)), len(rows) > bound


def _counted(orgs: list[_Org], q: SearchQuery, field: str) -> list[FacetValue]:
    counts: Counter[str] = Counter()
    for org in orgs:
        if _keeps(org, q):
            counts.update(_values(org, field))
    return _ordered(counts)


def _ordered(counts: Counter[str]) -> list[FacetValue]:
    ordered = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    return [FacetValue(value, count) for value, count in ordered if count > 0]


def _unfiltered(
    conn: Connection, plan: Plan, matched: tuple[set[str], bool] | None, bound: int, at: datetime
) -> Facets:
    """The facets of a query with no filter: every facet counts the same population (at most
    ``bound`` organisations), so the database counts them (``GROUP BY``) instead of handing
    every organisation and tag row to Python. Same population and counts as the general path
    (the tests of :func:`facets` check both against a count in Python)."""
    o, t = search_org, search_tag
    if plan.norm:
        found = matched if matched is not None else matched_ids(conn, plan)
        chosen, capped = _bounded(found, bound)
    else:
        listed = select(o.c.org_id).order_by(o.c.sort_key, o.c.org_id).limit(bound + 1)
        chosen = list(conn.execute(listed).scalars())
        capped = len(chosen) > bound
        chosen = chosen[:bound]
    counts: dict[str, Counter[str]] = {field: Counter() for field in FACET_FIELDS}
    for start in range(0, len(chosen), CHUNK):
        part = chosen[start : start + CHUNK]
        columns = (o.c.jurisdiction, o.c.status, o.c.entity_type)
        grouped = select(*columns, func.count()).where(one_of(conn, o.c.org_id, part))
        for juris, status, etype, n in conn.execute(grouped.group_by(*columns)):
            counts["jurisdiction"][juris] += n
            counts["entity_type"][etype] += n
            for value in _status_values(status):
                counts["status"][value] += n
        tagged = (
            select(t.c.kind, t.c.value, func.count())
            .select_from(t.join(o, o.c.org_id == t.c.org_id))
            .where(
                one_of(conn, o.c.org_id, part),
                t.c.kind.in_(("c", "i")),
                tag_held_at(at),
            )
            .group_by(t.c.kind, t.c.value)
        )
        for kind, value, n in conn.execute(tagged):
            counts["credential_type" if kind == "c" else "issuer"][value] += n
    out = {field: _ordered(counted) for field, counted in counts.items()}
    return Facets(**out, exact=not capped, bound=bound)


def facets(conn: Connection, q: SearchQuery) -> Facets:
    """The facets of ``q`` (its cursor and limit are ignored); see the module docstring.

    Raises :class:`~orgbook.core.errors.BadInput` as :func:`orgbook.search.search` does.
    """
    validate(q)
    return facets_of(conn, q, plan_query(q, folding_for(conn)))


def facets_of(
    conn: Connection, q: SearchQuery, plan: Plan, matched: tuple[set[str], bool] | None = None
) -> Facets:
    """:func:`facets` of ``q`` planned as ``plan``; ``matched``, if given, is
    :func:`matched_ids` of ``plan`` (already known to the caller)."""
    at = query_time(q)
    q = dataclasses.replace(q, at=at)  # one instant for every count
    bound = FACET_BOUND
    if not query_filters(q):
        return _unfiltered(conn, plan, matched, bound, at)
    exact = True
    population_of_text: list[_Org] | None = None
    if plan.norm:
        found = matched if matched is not None else matched_ids(conn, plan)
        population_of_text, capped = _matched(conn, found, bound, at)
        exact = not capped
    populations: dict[tuple[object, ...], list[_Org]] = {}
    out: dict[str, list[FacetValue]] = {}
    for field in FACET_FIELDS:
        unset: dict[str, None] = {field: None}
        others = dataclasses.replace(q, cursor=None, **unset)  # type: ignore[arg-type]
        if population_of_text is None:
            key = tuple(getattr(others, name) for name in FACET_FIELDS)
            if key not in populations:
                populations[key], capped = _listed(conn, others, bound)
                exact = exact and not capped
            population = populations[key]
        else:
            population = population_of_text
        out[field] = _counted(population, others, field)
    return Facets(**out, exact=exact, bound=bound)
