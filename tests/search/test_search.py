"""Organisation search on both backends: tiers, matching, filters, pages, autocomplete, bounds."""

from __future__ import annotations

import base64
import json
import random
from collections.abc import Iterator

import pytest
from sqlalchemy import Connection, Engine

from orgbook.core.errors import BadInput
from orgbook.search import (
    Hit,
    NameEntry,
    OrgDoc,
    SearchPage,
    SearchQuery,
    autocomplete,
    delete_org,
    ensure_search_schema,
    reindex_stale,
    search,
    tiers,
    upsert_orgs,
)
from orgbook.search.normalise import NO_RULES, normalise

# --- data ------------------------------------------------------------------------------------


def org(
    number: str,
    name: str,
    *,
    jurisdiction: str = "CA-BC",
    former: tuple[str, ...] = (),
    alternate: tuple[str, ...] = (),
    status: str = "active",
    entity_type: str = "BC",
    bn: str | None = None,
    issuers: tuple[str, ...] = ("bc-registries",),
    types: tuple[str, ...] = ("registration", "legal-name"),
) -> OrgDoc:
    names = [NameEntry(name, "current", "en")]
    names += [NameEntry(n, "former") for n in former]
    names += [NameEntry(n, "alternate", "fr") for n in alternate]
    return OrgDoc(
        org_id=f"{jurisdiction}:{number}",
        jurisdiction=jurisdiction,
        registration_number=number,
        business_number=bn,
        names=names,
        status=status,
        entity_type=entity_type,
        issuers=issuers,
        credential_types=types,
    )


CURATED = [
    org("BC0000001", "SMITH AND SONS LTD.", bn="123456789RC0001"),
    org("BC0000002", "Smith & Sons Plumbing Inc."),
    org("BC0000003", "Sons of Smith Holdings Ltd."),
    org("Q0000004", "Boulangerie Lévesque Ltée", jurisdiction="CA-QC", entity_type="SP"),
    org(
        "BC0000005",
        "Northern Lights Trading Corp.",
        former=("Aurora Borealis Imports Ltd.",),
        status="dissolved",
    ),
    org("Q0000006", "Société Générale de Québec Inc.", jurisdiction="CA-QC"),
    org(
        "BC0000007",
        "Harbour Café Ltd.",
        alternate=("Café du Port Ltée",),
        issuers=("bc-registries", "cra"),
        types=("registration", "legal-name", "business-number"),
        bn="987654321",
    ),
    org("BC0000008", "BC0000009 Holdings Ltd."),  # a name that is another org's number
    org("BC0000009", "Zeta Numbers Inc."),
    org("BC1287139", "1287139 B.C. LTD."),
    org("FM0831620", "Épicerie Côté Enr.", entity_type="SP", status="amalgamated"),
]


def _words(text: str) -> list[str]:
    return text.split()


SURNAMES = _words("Smith Tremblay Gagnon Côté Lévesque Bélanger Hébert Nguyen Singh Brown Wilson")
WORDS = _words(
    "Pacific Northern Coastal Mountain Valley Harbour Cedar Maple Summit Golden Royal Global "
    "Boulangerie Pâtisserie Épicerie Fromagerie Quincaillerie Construction Consulting Holdings "
    "Enterprises Plumbing Bakery Software Trucking Services Société Groupe Café"
)
SUFFIXES = ("Ltd.", "LTD.", "Inc.", "Corp.", "Limited", "Ltée", "Limitée", "")


def generated(n: int = 1000, seed: int = 7, prefix: str = "X") -> list[OrgDoc]:
    rng = random.Random(seed)
    docs = []
    for i in range(n):
        roll = rng.random()
        if roll < 0.1:
            name = f"{rng.randrange(1000000, 1100000)} B.C. LTD."
        elif roll < 0.5:
            name = f"{rng.choice(WORDS)} {rng.choice(SURNAMES)} {rng.choice(SUFFIXES)}"
        else:
            name = f"{rng.choice(WORDS)} {rng.choice(WORDS)} {rng.choice(SUFFIXES)}"
        former = (f"{rng.choice(SURNAMES)} {rng.choice(WORDS)} Ltd.",) if rng.random() < 0.2 else ()
        docs.append(
            org(
                f"{prefix}{i:07d}",
                name.strip(),
                jurisdiction=rng.choice(("CA-BC", "CA-BC", "CA-QC", "CA-NS")),
                former=former,
                status=rng.choice(("active", "active", "dissolved")),
                entity_type=rng.choice(("BC", "SP", "ULC")),
                bn=f"{rng.randrange(10**8, 10**9)}" if rng.random() < 0.3 else None,
                issuers=rng.choice((("bc-registries",), ("bc-registries", "cra"))),
                types=rng.choice((("registration",), ("registration", "business-number"))),
            )
        )
    return docs


ALL_DOCS = CURATED + generated()


@pytest.fixture
def conn(engine: Engine) -> Iterator[Connection]:
    with engine.begin() as c:
        upsert_orgs(c, ALL_DOCS)
    with engine.connect() as c:
        yield c


def find(conn: Connection, text: str | None, **kw: object) -> SearchPage:
    return search(conn, SearchQuery(text, **kw))  # type: ignore[arg-type]


def walk(
    conn: Connection, text: str | None, limit: int = 7, cursor: str | None = None, **kw: object
) -> list[Hit]:
    """Every hit of a query, page by page (from ``cursor``)."""
    hits: list[Hit] = []
    for _ in range(2000):
        page = search(conn, SearchQuery(text, limit=limit, cursor=cursor, **kw))  # type: ignore[arg-type]
        assert len(page.hits) <= limit
        hits += page.hits
        cursor = page.next_cursor
        if cursor is None:
            return hits
    raise AssertionError("pagination did not end")


def ids(hits: list[Hit]) -> list[str]:
    return [h.org_id for h in hits]


# --- matching and ranking --------------------------------------------------------------------


def test_tiers_exact_then_prefix_then_fuzzy(conn: Connection) -> None:
    hits = find(conn, "Smith & Sons").hits
    assert hits[0].org_id == "CA-BC:BC0000001"
    assert (hits[0].match, hits[0].matched_name) == ("exact", "SMITH AND SONS LTD.")
    assert hits[1].org_id == "CA-BC:BC0000002"
    assert hits[1].match == "prefix"
    tiers = ["number", "exact", "prefix", "fuzzy"]
    order = [(tiers.index(h.match), -h.score) for h in hits]
    assert order == sorted(order)


@pytest.mark.parametrize(
    "text",
    [
        "Smith and Sons",
        "SMITH AND SONS",
        "smith-and-sons",
        "Smith & Sons Ltd",
        "smith sons LIMITED",
    ],
)
def test_punctuation_ampersand_and_legal_suffix_are_ignored(conn: Connection, text: str) -> None:
    hits = find(conn, text).hits
    if text == "smith sons LIMITED":  # a missing word is not exact, but still found
        assert "CA-BC:BC0000001" in ids(hits)
        return
    assert hits[0].org_id == "CA-BC:BC0000001"
    assert hits[0].match == "exact"


@pytest.mark.parametrize(
    ("text", "org_id"),
    [
        ("Societe Generale de Quebec", "CA-QC:Q0000006"),
        ("SOCIÉTÉ GÉNÉRALE DE QUÉBEC", "CA-QC:Q0000006"),
        ("Boulangerie Levesque Limitee", "CA-QC:Q0000004"),
        ("boulangerie lévesque", "CA-QC:Q0000004"),
        ("Epicerie Cote Enr", "CA-BC:FM0831620"),
    ],
)
def test_accents_and_french_suffixes(conn: Connection, text: str, org_id: str) -> None:
    hit = find(conn, text).hits[0]
    assert (hit.org_id, hit.match) == (org_id, "exact")


def test_french_alternate_name(conn: Connection) -> None:
    hit = find(conn, "cafe du port").hits[0]
    assert hit.org_id == "CA-BC:BC0000007"
    assert hit.name == "Harbour Café Ltd."
    assert hit.matched_name == "Café du Port Ltée"
    assert hit.match == "exact"


def test_former_name(conn: Connection) -> None:
    hit = find(conn, "aurora borealis imports").hits[0]
    assert hit.org_id == "CA-BC:BC0000005"
    assert hit.name == "Northern Lights Trading Corp."
    assert hit.matched_name == "Aurora Borealis Imports Ltd."
    assert hit.match == "exact"
    prefix = find(conn, "aurora bor").hits[0]
    assert (prefix.org_id, prefix.match, prefix.matched_name) == (
        "CA-BC:BC0000005",
        "prefix",
        "Aurora Borealis Imports Ltd.",
    )


def test_current_name_beats_former_name_in_exact_tier(engine: Engine) -> None:
    with engine.begin() as c:
        upsert_orgs(c, [org("A1", "Blue Heron Ltd."), org("A2", "Other", former=("Blue Heron",))])
        hits = find(c, "blue heron").hits
    assert ids(hits) == ["CA-BC:A1", "CA-BC:A2"]
    assert hits[0].score > hits[1].score


@pytest.mark.parametrize(
    ("text", "org_id"),
    [
        ("Boulangrie Levesque", "CA-QC:Q0000004"),  # a missing letter
        ("Boulangerie Levsque", "CA-QC:Q0000004"),
        ("Socitee Generale Quebec", "CA-QC:Q0000006"),  # two typos, a missing word
        ("Nothern Lihgts Trading", "CA-BC:BC0000005"),  # transposition
    ],
)
def test_typos(conn: Connection, text: str, org_id: str) -> None:
    hits = find(conn, text, limit=10).hits
    assert org_id in ids(hits)
    assert hits[ids(hits).index(org_id)].match == "fuzzy"


def test_word_order_is_fuzzy_not_missed(conn: Connection) -> None:
    hits = walk(conn, "sons smith", limit=20)
    assert "CA-BC:BC0000001" in ids(hits)


@pytest.mark.parametrize(
    ("text", "matched"),
    [
        ("BC0000009", "BC0000009"),
        ("bc 000 0009", "BC0000009"),
        ("CA-BC:BC0000009", "BC0000009"),
    ],
)
def test_registration_number_beats_name(conn: Connection, text: str, matched: str) -> None:
    hits = find(conn, text).hits
    assert hits[0].org_id == "CA-BC:BC0000009"
    assert (hits[0].match, hits[0].matched_name, hits[0].score) == ("number", matched, 1.0)
    if text == "BC0000009":  # the organisation whose *name* starts with it comes after
        assert "CA-BC:BC0000008" in ids(hits[1:])


@pytest.mark.parametrize("text", ["123456789", "123 456 789", "123456789RC0001"])
def test_business_number(conn: Connection, text: str) -> None:
    hit = find(conn, text).hits[0]
    assert (hit.org_id, hit.match, hit.matched_name) == (
        "CA-BC:BC0000001",
        "number",
        "123456789RC0001",
    )


def test_numbered_company_by_name_and_number(conn: Connection) -> None:
    assert find(conn, "1287139 BC LTD").hits[0].org_id == "CA-BC:BC1287139"
    assert find(conn, "1287139").hits[0].org_id == "CA-BC:BC1287139"
    assert find(conn, "BC1287139").hits[0].match == "number"


def test_no_match(conn: Connection) -> None:
    page = find(conn, "xyzzy qwertyuiop")
    assert page == SearchPage(hits=[], total=0, total_is_estimate=False, next_cursor=None)


# --- filters ---------------------------------------------------------------------------------

FILTERS: list[dict[str, object]] = [
    {"jurisdiction": "CA-QC"},
    {"jurisdiction": "ca-qc"},
    {"status": "active"},
    {"status": "inactive"},
    {"entity_type": "SP"},
    {"credential_type": "business-number"},
    {"issuer": "cra"},
    {"jurisdiction": "CA-BC", "status": "inactive", "issuer": "cra"},
]


def _keep(doc: OrgDoc, f: dict[str, object]) -> bool:
    j = f.get("jurisdiction")
    if j and doc.jurisdiction != str(j).upper():
        return False
    if f.get("status") and (doc.status == "active") != (f["status"] == "active"):
        return False
    if f.get("entity_type") and doc.entity_type != f["entity_type"]:
        return False
    if f.get("credential_type") and f["credential_type"] not in doc.credential_types:
        return False
    return not (f.get("issuer") and f["issuer"] not in doc.issuers)


@pytest.mark.parametrize("f", FILTERS)
@pytest.mark.parametrize("text", ["smith", "boulangerie", "Boulangrie Levesqe", None])
def test_filter_equals_unfiltered_restricted(
    conn: Connection, text: str | None, f: dict[str, object]
) -> None:
    by_id = {d.org_id: d for d in ALL_DOCS}
    everything = walk(conn, text, limit=100)
    expected = [h for h in everything if _keep(by_id[h.org_id], f)]
    assert walk(conn, text, limit=9, **f) == expected
    page = find(conn, text, **f)
    assert page.total == len(expected)
    assert not page.total_is_estimate


# --- pagination ------------------------------------------------------------------------------


@pytest.mark.parametrize("text", ["smith", "b", "holdings ltd", "cafe", "Smith & Sons", None])
def test_pages_are_stable_complete_and_equal_one_big_walk(
    conn: Connection, text: str | None
) -> None:
    small = walk(conn, text, limit=7)
    assert small == walk(conn, text, limit=7)  # identical across repeats
    assert len(set(ids(small))) == len(small)  # no duplicates
    assert small == walk(conn, text, limit=100)  # no gaps: page size does not matter
    page = find(conn, text, limit=100)
    if page.next_cursor is None:
        assert page.hits == small
    if not page.total_is_estimate:
        assert page.total == len(small)


def test_listing_without_text_is_name_ordered(conn: Connection) -> None:
    hits = walk(conn, None, limit=100)
    assert len(hits) == len(ALL_DOCS)
    keys = [(normalise(h.name), h.org_id) for h in hits]
    assert keys == sorted(keys)


def test_broad_prefix_total_is_an_estimate(
    conn: Connection, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(tiers, "TOTAL_CAP", 50)
    page = find(conn, "s")
    assert page.total_is_estimate
    assert page.total >= 50
    listing = find(conn, None)
    assert listing.total_is_estimate
    assert listing.total == 50


def test_scan_cap_gives_short_pages_but_no_gaps(
    conn: Connection, monkeypatch: pytest.MonkeyPatch
) -> None:
    full = walk(conn, "s", limit=10, jurisdiction="CA-NS")
    monkeypatch.setattr(tiers, "SCAN_CAP", 5)
    assert walk(conn, "s", limit=10, jurisdiction="CA-NS") == full


def test_cursor_survives_inserts_without_repeats(engine: Engine) -> None:
    docs = [org(f"P{i:03d}", f"Pine {i:03d} Ltd.") for i in range(0, 40, 2)]
    with engine.begin() as c:
        upsert_orgs(c, docs)
    with engine.connect() as c:
        first = find(c, "pine", limit=5)
    with engine.begin() as c:  # a concurrent issuance between two pages
        upsert_orgs(c, [org(f"P{i:03d}", f"Pine {i:03d} Ltd.") for i in range(1, 40, 2)])
    with engine.connect() as c:
        rest = walk(c, "pine", limit=5, cursor=first.next_cursor)
    seen = ids(first.hits) + ids(rest)
    assert len(seen) == len(set(seen))
    assert "CA-BC:P000" in seen
    assert "CA-BC:P038" in seen


# --- bad input -------------------------------------------------------------------------------


def _tamper(cursor: str, **changes: object) -> str:
    body = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    body.update(changes)
    raw = json.dumps(body).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def test_tampered_cursors_are_bad_input(conn: Connection) -> None:
    cursor = find(conn, "smith", limit=2).next_cursor
    assert cursor is not None
    bad = [
        "not base64!",
        cursor[:-3],
        base64.urlsafe_b64encode(b"[1,2,3]").decode(),
        _tamper(cursor, t=9),
        _tamper(cursor, s="high"),
        _tamper(cursor, s=5),
        _tamper(cursor, k=None),
        _tamper(cursor, v=2),
        _tamper(cursor, extra=1),
        "x" * 2000,
    ]
    for c in bad:
        with pytest.raises(BadInput) as err:
            find(conn, "smith", cursor=c)
        assert err.value.field == "cursor"
    # a cursor belongs to its query: same text, different filter
    with pytest.raises(BadInput):
        find(conn, "smith", cursor=cursor, jurisdiction="CA-QC")
    with pytest.raises(BadInput):
        find(conn, None, cursor=cursor)


@pytest.mark.parametrize(
    ("kw", "field"),
    [
        ({"text": "x" * 201}, "text"),
        ({"text": "a", "limit": 0}, "limit"),
        ({"text": "a", "limit": 101}, "limit"),
        ({"text": "a", "limit": True}, "limit"),
        ({"text": "a", "status": "gone"}, "status"),
        ({"text": "a", "jurisdiction": "J" * 300}, "jurisdiction"),
    ],
)
def test_bounds(conn: Connection, kw: dict[str, object], field: str) -> None:
    with pytest.raises(BadInput) as err:
        search(conn, SearchQuery(**kw))  # type: ignore[arg-type]
    assert err.value.field == field


def test_longest_text_is_answered(conn: Connection) -> None:
    assert find(conn, "smith " * 33 + "so", limit=100).hits == []


# --- autocomplete ----------------------------------------------------------------------------


def test_autocomplete(conn: Connection) -> None:
    soci = autocomplete(conn, "soci")
    assert soci
    assert all("soci" in normalise(s.matched_name) for s in soci)
    assert "CA-QC:Q0000006" in [s.org_id for s in autocomplete(conn, "Société gén")]
    # any word start, current or former name
    assert "CA-BC:BC0000005" in [s.org_id for s in autocomplete(conn, "bore", limit=50)]
    former = next(s for s in autocomplete(conn, "aurora bo") if s.org_id == "CA-BC:BC0000005")
    assert former.matched_name == "Aurora Borealis Imports Ltd."
    # numbers
    first = autocomplete(conn, "BC000000")[0]
    assert first.org_id.startswith("CA-BC:BC000000")
    assert first.matched_name == first.registration_number
    assert autocomplete(conn, "98765")[0].org_id == "CA-BC:BC0000007"
    # name starts come before later words
    hits = autocomplete(conn, "smith", limit=20)
    normalised = [normalise(s.matched_name) for s in hits]
    starts = [n.startswith("smith") for n in normalised]
    assert starts == sorted(starts, reverse=True)


def test_autocomplete_filters_and_bounds(conn: Connection) -> None:
    assert len(autocomplete(conn, "s", limit=3)) == 3
    qc = autocomplete(conn, "b", jurisdiction="CA-QC", limit=20)
    assert qc
    assert {s.jurisdiction for s in qc} == {"CA-QC"}
    assert autocomplete(conn, "  ") == []
    with pytest.raises(BadInput) as err:
        autocomplete(conn, "a", limit=0)
    assert err.value.field == "limit"
    with pytest.raises(BadInput):
        autocomplete(conn, "a" * 201)


# --- indexing --------------------------------------------------------------------------------


def test_upsert_replaces_and_delete_removes(engine: Engine) -> None:
    with engine.begin() as c:
        upsert_orgs(c, [org("R1", "Red Fox Ltd.", bn="111222333")])
        upsert_orgs(c, [org("R1", "Grey Wolf Ltd.", former=("Red Fox Ltd.",))])
        hit = find(c, "red fox").hits[0]
        assert (hit.name, hit.matched_name) == ("Grey Wolf Ltd.", "Red Fox Ltd.")
        assert find(c, "111222333").hits == []  # the old business number is gone
        assert find(c, "grey wolf").total == 1
        delete_org(c, "CA-BC:R1")
        delete_org(c, "CA-BC:R1")  # idempotent
        assert find(c, "grey wolf").hits == []
        assert find(c, "red fox").hits == []
        assert autocomplete(c, "grey") == []


def test_last_doc_of_a_batch_wins(engine: Engine) -> None:
    with engine.begin() as c:
        upsert_orgs(c, [org("D1", "First Name"), org("D1", "Second Name")])
        assert [h.name for h in find(c, None).hits] == ["Second Name"]


def test_ensure_search_schema_is_idempotent(engine: Engine) -> None:
    ensure_search_schema(engine)
    ensure_search_schema(engine)
    with engine.begin() as c:
        upsert_orgs(c, [org("E1", "Eagle Eye Ltd.")])
        assert find(c, "eagel eye").hits[0].match == "fuzzy"


def test_org_without_names_is_found_by_number(engine: Engine) -> None:
    doc = OrgDoc("CA-BC:N1", "CA-BC", "N1", None, [], "active", "BC", [], [])
    with engine.begin() as c:
        upsert_orgs(c, [doc])
        hit = find(c, "N1").hits[0]
    assert (hit.org_id, hit.name, hit.match) == ("CA-BC:N1", "", "number")


# --- changes of normalisation ------------------------------------------------------------------


def test_reindex_stale_brings_an_old_index_up_to_date(engine: Engine) -> None:
    lodz = org(
        "BC0000101",
        "Łódź Trading Ltd.",
        former=("Ørsted Imports Ltd.",),
        bn="111222333",
        issuers=("bc-registries", "cra"),
        types=("registration", "business-number"),
    )
    with engine.begin() as c:  # indexed by a release that folded no letter NFKD leaves alone
        upsert_orgs(c, [*ALL_DOCS, lodz], NO_RULES)
    with engine.connect() as c:
        # what an upgraded verifier sees before: a typo of "łodz", not the name
        assert [h.match for h in find(c, "Lodz Trading").hits] == ["fuzzy"]
        before = [find(c, q) for q in ("smith", "Société Générale", "BC0000009")]
    with engine.begin() as c:
        assert reindex_stale(c) == 1
    with engine.begin() as c:
        assert reindex_stale(c) == 0  # idempotent
    with engine.connect() as c:
        hit = find(c, "Lodz Trading").hits[0]
        assert (hit.org_id, hit.match) == ("CA-BC:BC0000101", "exact")
        assert hit.name == "Łódź Trading Ltd."
        assert find(c, "orsted imports").hits[0].matched_name == "Ørsted Imports Ltd."
        assert find(c, "111 222 333", issuer="cra", credential_type="business-number").total == 1
        assert [find(c, q) for q in ("smith", "Société Générale", "BC0000009")] == before
