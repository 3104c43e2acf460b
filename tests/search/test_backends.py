"""SQLite and PostgreSQL give the same pages for the same data: same hits, same order, same totals.

Both backends index the same Python-normalised strings and order by code point, so every query
(all tiers, filters, caps, cursors) must agree hit for hit.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import Engine

from orgbook.search import SearchPage, SearchQuery, autocomplete, search, tiers, upsert_orgs
from orgbook.storage.engine import make_engine
from orgbook.storage.migrations import upgrade
from tests.search.test_search import ALL_DOCS, generated

pytestmark = pytest.mark.postgres

QUERIES = [
    None,
    "smith",
    "Smith & Sons",
    "s",
    "b",
    "cafe",
    "holdings ltd",
    "Boulangrie Levesqe",
    "Societe Generale",
    "sons smith",
    "BC0000009",
    "123 456 789",
    "1287139 bc ltd",
    "épicerie côté",
    "pacific maple",
    "Nothern Cedar",
]
FILTERS: list[dict[str, object]] = [
    {},
    {"jurisdiction": "CA-QC"},
    {"status": "inactive"},
    {"entity_type": "SP", "issuer": "cra"},
    {"credential_type": "business-number", "status": "active"},
]


@pytest.fixture
def engines(sqlite_url: str, pg_url: str) -> Iterator[tuple[Engine, Engine]]:
    docs = ALL_DOCS + generated(800, seed=11, prefix="Y")
    pair = (make_engine(sqlite_url), make_engine(pg_url))
    for engine in pair:
        upgrade(engine)
        with engine.begin() as conn:
            # the same data, inserted in a different order and batching on each side
            upsert_orgs(conn, docs if engine is pair[0] else list(reversed(docs)))
    yield pair
    for engine in pair:
        engine.dispose()


def pages(engine: Engine, text: str | None, limit: int, **kw: object) -> list[SearchPage]:
    out: list[SearchPage] = []
    cursor = None
    with engine.connect() as conn:
        while True:
            q = SearchQuery(text, limit=limit, cursor=cursor, **kw)  # type: ignore[arg-type]
            out.append(search(conn, q))
            cursor = out[-1].next_cursor
            if cursor is None or len(out) > 500:
                return out


@pytest.mark.parametrize("f", FILTERS, ids=lambda f: ",".join(f) or "none")
def test_same_pages_on_both_backends(engines: tuple[Engine, Engine], f: dict[str, object]) -> None:
    lite, pg = engines
    for text in QUERIES:
        for limit in (13, 100):
            assert pages(lite, text, limit, **f) == pages(pg, text, limit, **f), (text, limit)


def test_same_pages_with_small_caps(
    engines: tuple[Engine, Engine], monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in (("TOTAL_CAP", 40), ("SCAN_CAP", 7), ("FUZZY_CAP", 20), ("EXACT_CAP", 3)):
        monkeypatch.setattr(tiers, name, value)
    lite, pg = engines
    for text in QUERIES:
        assert pages(lite, text, 10, jurisdiction="CA-BC") == pages(
            pg, text, 10, jurisdiction="CA-BC"
        )


def test_same_suggestions_on_both_backends(engines: tuple[Engine, Engine]) -> None:
    lite, pg = engines
    with lite.connect() as a, pg.connect() as b:
        for prefix in ("s", "so", "soci", "smith a", "bc00", "98765", "caf", "épi", "zzz"):
            for jurisdiction in (None, "CA-QC"):
                assert autocomplete(a, prefix, limit=10, jurisdiction=jurisdiction) == (
                    autocomplete(b, prefix, limit=10, jurisdiction=jurisdiction)
                ), prefix
