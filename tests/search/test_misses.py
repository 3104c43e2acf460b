"""Searches people type that used to miss, on both backends: St/Ste for Saint/Sainte, & for et
and and, bare registration digits, a full business number against its stored root."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import Connection, Engine

from orgbook.search import SearchQuery, search, upsert_orgs
from orgbook.search.normalise import number_variants, word_variants
from tests.search.test_search import org

DOCS = [
    org("BC0460007", "Saint-Jean Bakery Ltd."),
    org("BC0460008", "Ste-Anne Café Ltée"),
    org("BC0460009", "St. Paul Holdings Inc."),
    org("BC0460010", "Sainte-Marie Consulting Ltd."),
    org("Q0460011", "Gagnon & Fils Ltée", jurisdiction="CA-QC"),
    org("Q0460012", "Tremblay et frères inc.", jurisdiction="CA-QC"),
    org("BC0460013", "Harbour Trucking Ltd.", bn="123456782"),
    org("BC0460014", "Summit Software Ltd.", bn="987654321RC0001"),
    org("FM0460015", "Cedar Valley Plumbing"),
]


@pytest.fixture
def conn(engine: Engine) -> Iterator[Connection]:
    with engine.begin() as c:
        upsert_orgs(c, DOCS)
    with engine.connect() as c:
        yield c


@pytest.mark.parametrize(
    ("text", "org_id", "match"),
    [
        ("St Jean Bakery", "CA-BC:BC0460007", "exact"),
        ("st-jean bakery ltd", "CA-BC:BC0460007", "exact"),
        ("Ste Anne Cafe", "CA-BC:BC0460008", "exact"),
        ("Sainte-Anne Café", "CA-BC:BC0460008", "exact"),
        ("Saint Paul Holdings", "CA-BC:BC0460009", "exact"),
        ("Ste-Marie Consulting", "CA-BC:BC0460010", "exact"),
        ("st jean", "CA-BC:BC0460007", "fuzzy"),
        ("Gagnon et Fils", "CA-QC:Q0460011", "exact"),
        ("Gagnon and Fils", "CA-QC:Q0460011", "exact"),
        ("Tremblay & Frères", "CA-QC:Q0460012", "exact"),
        ("Tremblay and Freres Inc", "CA-QC:Q0460012", "exact"),
        ("0460007", "CA-BC:BC0460007", "number"),
        ("0460015", "CA-BC:FM0460015", "number"),
        ("123456782RC0001", "CA-BC:BC0460013", "number"),
        ("123456782 RC 0001", "CA-BC:BC0460013", "number"),
        ("987654321RC0001", "CA-BC:BC0460014", "number"),
        ("987654321", "CA-BC:BC0460014", "number"),
    ],
)
def test_found(conn: Connection, text: str, org_id: str, match: str) -> None:
    page = search(conn, SearchQuery(text))
    assert page.hits, text
    assert (page.hits[0].org_id, page.hits[0].match) == (org_id, match)


def test_bare_digits_show_the_registered_number(conn: Connection) -> None:
    hit = search(conn, SearchQuery("0460007")).hits[0]
    assert hit.matched_name == "BC0460007"


def test_variants() -> None:
    assert word_variants("st jean and fils") == [
        "st jean and fils",
        "saint jean and fils",
        "st jean et fils",
        "saint jean et fils",
    ]
    assert word_variants("") == [""]
    assert len(word_variants(" ".join(["st"] * 10))) == 16
    assert "bc0460007" in number_variants("0460007")
    assert number_variants("123456782rc0001") == ["123456782"]
    assert number_variants("bc0460007") == []
