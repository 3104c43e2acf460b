"""Facets on both backends: counts per filter value for a query, exact within the bound."""

from __future__ import annotations

import dataclasses
import importlib
from collections import Counter
from collections.abc import Iterator

import pytest
from sqlalchemy import Connection, Engine

from orgbook.core.errors import BadInput
from orgbook.search import STATUS_FILTERS, Facets, OrgDoc, SearchQuery, facets, upsert_orgs
from tests.search.test_search import ALL_DOCS, walk

facets_module = importlib.import_module("orgbook.search.facets")  # not the function
FIELDS = ("jurisdiction", "status", "entity_type", "credential_type", "issuer")


@pytest.fixture
def conn(engine: Engine) -> Iterator[Connection]:
    with engine.begin() as c:
        upsert_orgs(c, ALL_DOCS)
    with engine.connect() as c:
        yield c


def _passes(doc: OrgDoc, q: SearchQuery) -> bool:
    if q.jurisdiction and doc.jurisdiction != q.jurisdiction.upper():
        return False
    if q.status == "inactive" and doc.status == "active":
        return False
    if q.status not in (None, "inactive") and doc.status != q.status:
        return False
    if q.entity_type and doc.entity_type != q.entity_type:
        return False
    if q.credential_type and q.credential_type not in doc.credential_types:
        return False
    return not (q.issuer and q.issuer not in doc.issuers)


def _values(doc: OrgDoc, field: str) -> set[str]:
    if field == "credential_type":
        return set(doc.credential_types)
    if field == "issuer":
        return set(doc.issuers)
    if field == "status":
        return {doc.status} if doc.status == "active" else {doc.status, "inactive"}
    return {str(getattr(doc, field))}


def expected(conn: Connection, q: SearchQuery) -> dict[str, dict[str, int]]:
    """Brute force: every organisation the unfiltered query finds, the other filters applied."""
    by_id = {d.org_id: d for d in ALL_DOCS}
    found = [by_id[h.org_id] for h in walk(conn, q.text, limit=100)]
    out = {}
    for field in FIELDS:
        others = dataclasses.replace(q, **{field: None})  # type: ignore[arg-type]
        counts: Counter[str] = Counter()
        for doc in found:
            if _passes(doc, others):
                counts.update(_values(doc, field))
        out[field] = dict(counts)
    return out


def as_dicts(f: Facets) -> dict[str, dict[str, int]]:
    return {field: {v.value: v.count for v in getattr(f, field)} for field in FIELDS}


QUERIES = [
    SearchQuery(None),
    SearchQuery("smith"),
    SearchQuery("boulangerie", jurisdiction="CA-QC"),
    SearchQuery("Boulangrie Levesqe", status="dissolved"),
    SearchQuery("holdings", status="inactive", issuer="cra"),
    SearchQuery(None, jurisdiction="ca-bc", entity_type="SP", credential_type="business-number"),
    SearchQuery("123456789"),
]


@pytest.mark.parametrize("q", QUERIES, ids=str)
def test_facets_count_each_value_over_the_other_filters(
    conn: Connection, q: SearchQuery, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(facets_module, "FACET_BOUND", 2000)  # the listing has 1,011
    got = facets(conn, q)
    assert got.exact
    assert as_dicts(got) == expected(conn, q)
    for field in FIELDS:  # most first, then by value; no zero counts
        values = getattr(got, field)
        assert [(-v.count, v.value) for v in values] == sorted((-v.count, v.value) for v in values)
        assert all(v.count > 0 for v in values)


def test_choosing_a_value_gives_its_count(conn: Connection) -> None:
    from orgbook.search import search

    for field in ("jurisdiction", "status", "entity_type", "issuer"):
        for value in getattr(facets(conn, SearchQuery("smith")), field):
            page = search(conn, SearchQuery("smith", **{field: value.value}))  # type: ignore[arg-type]
            assert (page.total, page.total_is_estimate) == (value.count, False), (field, value)


def test_every_status_is_a_filter(conn: Connection) -> None:
    from orgbook.search import search

    statuses = {v.value for v in facets(conn, SearchQuery(None)).status}
    assert {"active", "inactive", "dissolved", "amalgamated"} <= statuses <= set(STATUS_FILTERS)
    page = search(conn, SearchQuery(None, status="amalgamated"))
    assert [h.org_id for h in page.hits] == ["CA-BC:FM0831620"]
    with pytest.raises(BadInput) as err:
        search(conn, SearchQuery(None, status="gone"))
    assert err.value.field == "status"


def test_past_the_bound_counts_are_lower_bounds(
    conn: Connection, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(facets_module, "FACET_BOUND", 2000)
    full = as_dicts(facets(conn, SearchQuery(None)))
    monkeypatch.setattr(facets_module, "FACET_BOUND", 50)
    for q in (SearchQuery(None), SearchQuery("b"), SearchQuery(None, status="active")):
        got = facets(conn, q)
        assert not got.exact
        assert got.bound == 50
        small = as_dicts(got)
        for field in FIELDS:
            assert sum(small[field].values()) <= 50 * (3 if field == "credential_type" else 2)
            for value, count in small[field].items():
                assert count <= full[field][value]


ONE_PASS = [
    *QUERIES,
    SearchQuery("smith"),
    SearchQuery("b", limit=3),
    SearchQuery("holdings", limit=2),
    SearchQuery("smith", status="active", limit=2),
]


@pytest.mark.parametrize("q", ONE_PASS, ids=str)
def test_search_with_facets_is_search_and_facets(conn: Connection, q: SearchQuery) -> None:
    from orgbook.search import search, search_with_facets

    query = q
    while True:  # every page, cursors included
        page, counted = search_with_facets(conn, query)
        assert page == search(conn, query)
        assert counted == facets(conn, query)
        assert search_with_facets(conn, query, with_facets=False) == (page, None)
        if page.next_cursor is None:
            break
        query = dataclasses.replace(query, cursor=page.next_cursor)


def test_search_with_facets_asks_each_tier_once_without_filters(
    conn: Connection, monkeypatch: pytest.MonkeyPatch
) -> None:
    from orgbook.search import search_with_facets

    tiers = importlib.import_module("orgbook.search.tiers")
    query = importlib.import_module("orgbook.search.query")  # imports the tiers by name
    calls: Counter[str] = Counter()
    for name in ("number_tier", "exact_tier", "prefix_orgs_for_total", "fuzzy_tier"):
        original = getattr(tiers, name)

        def counted(*args: object, _original: object = original, _name: str = name) -> object:
            calls[_name] += 1
            return _original(*args)  # type: ignore[operator]

        monkeypatch.setattr(tiers, name, counted)
        monkeypatch.setattr(query, name, counted)
    for text in ("Boulangrie Levesqe", "123456789", "smith"):
        calls.clear()
        search_with_facets(conn, SearchQuery(text))
        assert calls["exact_tier"] == calls["prefix_orgs_for_total"] == 1, (text, calls)
        assert set(calls.values()) <= {1}, (text, calls)


@pytest.mark.parametrize("text", [None, "smith", "b"])
def test_facets_without_filters_are_counted_by_the_database(
    conn: Connection, text: str | None, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Every facet counts the same organisations: no organisation or tag row is read into
    # Python (_describe), and the counts are those of the general path, checked above.
    monkeypatch.setattr(facets_module, "FACET_BOUND", 2000)
    expected_counts = expected(conn, SearchQuery(text))

    def refuse(*args: object) -> None:
        raise AssertionError("an unfiltered query described its organisations in Python")

    monkeypatch.setattr(facets_module, "_describe", refuse)
    got = facets(conn, SearchQuery(text))
    assert got.exact
    assert as_dicts(got) == expected_counts
