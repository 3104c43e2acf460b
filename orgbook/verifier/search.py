"""Organisation search: the index the issuer writes, and the queries the verifier answers.

What it owns: the ``search_*`` tables (a projection, rebuilt from the ledger like every other
one), :func:`upsert_orgs`/:func:`delete_org` (called inside the issuer's transaction),
:func:`search` (ranked, filtered, cursor-paginated) and :func:`autocomplete`. What it must not
do: normalise text anywhere but :mod:`orgbook.verifier.normalise` (with the letter rules stored
with the index, :mod:`orgbook.verifier.search_fold`), or rank in SQL in a way the other backend
would order differently. Semantics and figures: ``docs/search.md``.

Ranking tiers (an organisation appears once, in its best tier):

0. ``number`` — the query is a registration or business number (or an organisation id);
1. ``exact`` — a name equals the query once both lose their legal-form suffixes;
2. ``prefix`` — the query starts a name (score 0.8) or a later word of it (0.7); ordered by
   the word-start key, as the B-tree index returns it, so pages come straight off the index;
3. ``fuzzy`` — every query word, or a vocabulary word within 1–2 edits of it, is a word of the
   name (:mod:`orgbook.verifier.typos`); scored by rapidfuzz among a capped candidate set.

Within a tier: score (descending), then the sort key (the normalised name, or word-start key),
then organisation id. A cursor is the position ``(tier, score, sort key, org id)`` of the last
thing a page looked at, so pages never repeat or skip a hit. Each backend only retrieves
candidates (SQLite: B-tree + FTS5 + the vocabulary in memory; PostgreSQL: B-tree with
``COLLATE "C"`` + a GIN token index + a ``pg_trgm`` GIN vocabulary index);
all ordering is code-point order, so both return the same pages for the same data.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import threading
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from rapidfuzz import fuzz, process
from rapidfuzz.distance import OSA
from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Connection,
    Engine,
    Index,
    Integer,
    PrimaryKeyConstraint,
    Select,
    SmallInteger,
    String,
    Table,
    Text,
    any_,
    bindparam,
    delete,
    event,
    exists,
    func,
    literal,
    select,
    tuple_,
    union_all,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.sql.elements import ColumnElement

from orgbook.db import is_sqlite, metadata
from orgbook.errors import BadInput
from orgbook.verifier import search_fold, search_pg, search_sqlite, typos
from orgbook.verifier.normalise import (
    KEY_LEN,
    NO_WORD_START,
    UNACCENT,
    Folding,
    core_name,
    has_digit,
    successor,
    word_starts,
)
from orgbook.verifier.search_fold import folding_for

__all__ = [
    "Hit",
    "NameEntry",
    "OrgDoc",
    "SearchPage",
    "SearchQuery",
    "Suggestion",
    "autocomplete",
    "delete_org",
    "ensure_search_schema",
    "refresh_folding",
    "reindex_stale",
    "search",
    "upsert_orgs",
]

MAX_TEXT = 200
MAX_LIMIT = 100
MAX_SUGGESTIONS = 50
NUMBER_CAP = 100  # organisations sharing one number
EXACT_CAP = 500  # name rows equal to the query
FUZZY_CAP = 500  # name rows considered for typo-tolerant ranking
FUZZY_BROAD = 5000  # more matching name rows than this: the words are too common to rank
TOTAL_CAP = 1000  # beyond this, ``total`` is a lower bound (``total_is_estimate``)
SCAN_CAP = 2000  # prefix-index rows one page may look at before handing back a cursor
MAX_FUZZY_WORDS = 8

TIER_NUMBER, TIER_EXACT, TIER_PREFIX, TIER_FUZZY, TIER_LIST = 0, 1, 2, 3, 4
_TIER_MATCH: dict[int, Literal["number", "exact", "prefix", "fuzzy"]] = {
    TIER_NUMBER: "number",
    TIER_EXACT: "exact",
    TIER_PREFIX: "prefix",
    TIER_FUZZY: "fuzzy",
    TIER_LIST: "prefix",  # no text: the empty prefix, every organisation in name order
}
_KIND_RANK = {"current": 0, "alternate": 1, "former": 2}
_EXACT_SCORE = (0.95, 0.94, 0.93)  # by kind rank
_PREFIX_SCORE = {1: 0.8, 0: 0.7}  # by is_start
_FUZZY_WEIGHT = 0.6

# --- the public model ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class NameEntry:
    name: str
    kind: Literal["current", "former", "alternate"]
    language: str | None = None
    valid_from: str | None = None
    valid_until: str | None = None


@dataclass(frozen=True, slots=True)
class OrgDoc:
    """What the index knows of one organisation (built by the issuer from its credentials)."""

    org_id: str
    jurisdiction: str
    registration_number: str
    business_number: str | None
    names: Sequence[NameEntry]
    status: str
    entity_type: str
    issuers: Sequence[str]
    credential_types: Sequence[str]


@dataclass(frozen=True, slots=True)
class SearchQuery:
    text: str | None
    jurisdiction: str | None = None
    status: Literal["active", "inactive"] | None = None
    entity_type: str | None = None
    credential_type: str | None = None
    issuer: str | None = None
    limit: int = 20
    cursor: str | None = None


@dataclass(frozen=True, slots=True)
class Hit:
    org_id: str
    name: str  # the current name
    matched_name: str  # the name (current, former, alternate) or number that matched
    match: Literal["number", "exact", "prefix", "fuzzy"]
    score: float
    jurisdiction: str
    registration_number: str
    status: str
    entity_type: str


@dataclass(frozen=True, slots=True)
class SearchPage:
    hits: list[Hit]
    total: int
    total_is_estimate: bool
    next_cursor: str | None


@dataclass(frozen=True, slots=True)
class Suggestion:
    org_id: str
    name: str
    matched_name: str
    registration_number: str
    jurisdiction: str
    status: str


# --- tables ----------------------------------------------------------------------------------

# Every column that is ordered or compared by range sorts in code-point order on PostgreSQL too.
_Key = Text().with_variant(Text(collation="C"), "postgresql")
_Id = BigInteger().with_variant(Integer(), "sqlite")  # INTEGER PRIMARY KEY = the SQLite rowid
_KEY_ARRAY = ARRAY(Text(collation="C"))

search_org = Table(
    "search_org",
    metadata,
    Column("org_id", _Key, primary_key=True),
    Column("jurisdiction", String(32), nullable=False),
    Column("registration_number", Text, nullable=False),
    Column("business_number", Text, nullable=True),
    Column("status", String(32), nullable=False),
    Column("active", Boolean, nullable=False),
    Column("entity_type", String(64), nullable=False),
    Column("name", Text, nullable=False),  # current name, for display
    Column("sort_key", _Key, nullable=False),  # normalise(current name)
    Index("search_org_sort", "sort_key", "org_id"),
    Index("search_org_jurisdiction_sort", "jurisdiction", "sort_key", "org_id"),
)

search_name = Table(
    "search_name",
    metadata,
    Column("id", _Id, primary_key=True, autoincrement=True),
    Column("org_id", _Key, nullable=False, index=True),
    Column("kind", _Key, nullable=False),
    Column("name", Text, nullable=False),
    Column("norm", _Key, nullable=False),
    Column("core", _Key, nullable=False, index=True),
)

# Word-start keys: one row per (name, word among its first 8) — prefix search and autocomplete
# are ordered range scans of this primary key.
search_prefix = Table(
    "search_prefix",
    metadata,
    Column("is_start", SmallInteger, nullable=False),
    Column("key", _Key, nullable=False),
    Column("org_id", _Key, nullable=False),
    PrimaryKeyConstraint("is_start", "key", "org_id"),
    sqlite_with_rowid=False,
)

search_number = Table(
    "search_number",
    metadata,
    Column("key", _Key, nullable=False),
    Column("org_id", _Key, nullable=False),
    PrimaryKeyConstraint("key", "org_id"),
    sqlite_with_rowid=False,
)

search_tag = Table(  # credential types ("c") and issuers ("i") of an organisation, for filters
    "search_tag",
    metadata,
    Column("org_id", _Key, nullable=False),
    Column("kind", String(1), nullable=False),
    Column("value", Text, nullable=False),
    PrimaryKeyConstraint("org_id", "kind", "value"),
    sqlite_with_rowid=False,
)

# The vocabulary for typo correction: append-only (ids only grow, so readers load increments).
search_term = Table(
    "search_term",
    metadata,
    Column("id", _Id, primary_key=True, autoincrement=True),
    Column("term", Text, nullable=False, unique=True),
    sqlite_autoincrement=True,
)

SEARCH_TABLES = (
    search_org,
    search_name,
    search_prefix,
    search_number,
    search_tag,
    search_term,
    search_fold.search_fold,
)


def _create_backend_objects(target: Table, connection: Connection, **_: Any) -> None:
    if is_sqlite(connection):
        search_sqlite.create_objects(connection)
    elif connection.dialect.name == "postgresql":
        search_pg.create_objects(connection)


def _create_term_index(target: Table, connection: Connection, **_: Any) -> None:
    if connection.dialect.name == "postgresql":
        search_pg.create_term_index(connection)


def _store_source_folding(target: Table, connection: Connection, **_: Any) -> None:
    search_fold.store(connection, source_folding(connection))


def _drop_backend_objects(target: Table, connection: Connection, **_: Any) -> None:
    if is_sqlite(connection):
        search_sqlite.drop_objects(connection)


# Declarations, like the tables: metadata.create_all() makes the FTS5 table / GIN index too.
event.listen(search_name, "after_create", _create_backend_objects)
event.listen(search_name, "before_drop", _drop_backend_objects)
event.listen(search_term, "after_create", _create_term_index)
event.listen(search_fold.search_fold, "after_create", _store_source_folding)


def ensure_search_schema(engine: Engine) -> None:
    """Create the search tables and their backend-specific index (idempotent)."""
    metadata.create_all(engine, tables=list(SEARCH_TABLES))
    with engine.begin() as conn:
        _create_backend_objects(search_name, conn)
        _create_term_index(search_term, conn)


# --- indexing --------------------------------------------------------------------------------

_CHUNK = 500


@dataclass(frozen=True, slots=True)
class _Name:
    rank: int  # 0 current, 1 alternate, 2 former
    norm: str
    display: str


def _index_names(doc: OrgDoc, fold: Folding) -> list[_Name]:
    """The distinct normalised names of ``doc``, best kind first where two normalise alike."""
    best: dict[str, _Name] = {}
    for entry in doc.names:
        rank = _KIND_RANK[entry.kind]
        norm = fold.normalise(entry.name)
        if not norm:
            continue
        seen = best.get(norm)
        if seen is None or rank < seen.rank:
            best[norm] = _Name(rank, norm, entry.name)
    return list(best.values())


def _current_name(doc: OrgDoc) -> str:
    for entry in doc.names:
        if entry.kind == "current":
            return entry.name
    return doc.names[0].name if doc.names else ""


def _number_keys(registration_number: str, business_number: str | None, fold: Folding) -> set[str]:
    keys = {fold.number_key(registration_number)}
    if business_number:
        bn = fold.number_key(business_number)
        keys.add(bn)
        if len(bn) > 9 and bn[:9].isdigit():
            keys.add(bn[:9])  # the BN root of a program account, e.g. 123456789rc0001
    keys.discard("")
    return keys


def upsert_orgs(conn: Connection, docs: Sequence[OrgDoc], fold: Folding | None = None) -> None:
    """Index ``docs`` in the caller's transaction, replacing what was indexed for those orgs;
    with ``fold``'s letter rules (default: the stored ones, :func:`folding_for`)."""
    fold = fold or folding_for(conn)
    latest: dict[str, OrgDoc] = {}
    for doc in docs:
        latest[doc.org_id] = doc
    items = list(latest.values())
    for start in range(0, len(items), _CHUNK):
        chunk = items[start : start + _CHUNK]
        _remove(conn, [doc.org_id for doc in chunk], fold)
        _insert(conn, chunk, fold)


def delete_org(conn: Connection, org_id: str) -> None:
    """Remove an organisation from the index (no error if it is not there)."""
    _remove(conn, [org_id], folding_for(conn))


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
            numbers[row.org_id] = _number_keys(row.registration_number, row.business_number, fold)
    # An organisation's number rows are deleted by the keys its numbers fold to now; where an
    # older folding made other keys, delete them by organisation first.
    renumber: list[str] = []
    ids = sorted(numbers)
    for start in range(0, len(ids), _CHUNK):
        chunk = ids[start : start + _CHUNK]
        keys: dict[str, set[str]] = {org: set() for org in chunk}
        pairs = conn.execute(select(num.c.key, num.c.org_id).where(num.c.org_id.in_(chunk)))
        for key, org_id in pairs:
            keys[org_id].add(key)
        renumber.extend(org for org in chunk if keys[org] != numbers[org])
    if renumber:
        conn.execute(delete(num).where(num.c.org_id.in_(renumber)))
        stale.update(renumber)
    ids = sorted(stale)
    for start in range(0, len(ids), _CHUNK):
        upsert_orgs(conn, _stored_docs(conn, ids[start : start + _CHUNK]), fold)
    return len(ids)


def source_folding(conn: Connection) -> Folding:
    """The letter rules this database's index should be built with: the server's ``unaccent``
    rules on PostgreSQL (:func:`search_pg.server_folding`; the shipped ones where it cannot be
    used), the shipped rules on SQLite."""
    if conn.dialect.name == "postgresql":
        server = search_pg.server_folding(conn)
        if server is not None:
            return server
    return UNACCENT


def refresh_folding(conn: Connection) -> tuple[Folding, Folding, int]:
    """Make the stored letter rules :func:`source_folding`'s and re-index the organisations
    they fold differently, in the caller's transaction. Returns (rules before, rules now,
    organisations re-indexed). Other processes pick the new rules up within
    :data:`search_fold.RELOAD_SECONDS`; restart them to have it at once."""
    current = search_fold.read(conn)
    before = current or UNACCENT
    now = source_folding(conn)
    if current == now:
        search_fold.remember(conn, now)
        return before, now, 0
    search_fold.store(conn, now)
    return before, now, (reindex_stale(conn, now) if now != before else 0)


def _stored_docs(conn: Connection, org_ids: list[str]) -> list[OrgDoc]:
    """The documents of ``org_ids`` as the search tables hold them."""
    n, t = search_name, search_tag
    names: dict[str, list[NameEntry]] = {org: [] for org in org_ids}
    for row in conn.execute(
        select(n.c.org_id, n.c.kind, n.c.name).where(_one_of(conn, n.c.org_id, org_ids))
    ):
        names[row.org_id].append(NameEntry(row.name, row.kind))
    tags: dict[tuple[str, str], list[str]] = {}
    for row in conn.execute(
        select(t.c.org_id, t.c.kind, t.c.value).where(_one_of(conn, t.c.org_id, org_ids))
    ):
        tags.setdefault((row.org_id, row.kind), []).append(row.value)
    docs = []
    for org_id, row in _orgs_of(conn, org_ids).items():
        # the displayed name first (it is what _current_name picks); if it normalised to
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
            )
        )
    return docs


def _remove(conn: Connection, org_ids: list[str], fold: Folding) -> None:
    n, o = search_name, search_org
    old_names = conn.execute(select(n.c.id, n.c.org_id, n.c.norm).where(n.c.org_id.in_(org_ids)))
    names = old_names.all()
    orgs = conn.execute(
        select(o.c.org_id, o.c.registration_number, o.c.business_number).where(
            o.c.org_id.in_(org_ids)
        )
    ).all()
    if not names and not orgs:
        return
    if names and is_sqlite(conn):
        search_sqlite.fts_remove(conn, [(row.id, row.norm) for row in names])
    prefix_rows = {
        (is_start, key, row.org_id) for row in names for is_start, _, key in word_starts(row.norm)
    }
    if prefix_rows:
        p = search_prefix
        conn.execute(
            delete(p).where(
                p.c.is_start == bindparam("b_s"),
                p.c.key == bindparam("b_k"),
                p.c.org_id == bindparam("b_o"),
            ),
            [{"b_s": s, "b_k": k, "b_o": org} for s, k, org in sorted(prefix_rows)],
        )
    number_rows = {
        (key, row.org_id)
        for row in orgs
        for key in _number_keys(row.registration_number, row.business_number, fold)
    }
    if number_rows:
        num = search_number
        conn.execute(
            delete(num).where(num.c.key == bindparam("b_k"), num.c.org_id == bindparam("b_o")),
            [{"b_k": k, "b_o": org} for k, org in sorted(number_rows)],
        )
    conn.execute(delete(n).where(n.c.org_id.in_(org_ids)))
    conn.execute(delete(search_tag).where(search_tag.c.org_id.in_(org_ids)))
    conn.execute(delete(o).where(o.c.org_id.in_(org_ids)))


def _bulk_insert(
    conn: Connection, table: Table, columns: tuple[str, ...], rows: list[tuple[Any, ...]]
) -> None:
    """Insert ``rows`` (tuples in ``columns`` order); straight to the driver on SQLite, where
    SQLAlchemy's per-row parameter processing would cost more than the insert itself."""
    if not rows:
        return
    if is_sqlite(conn):
        marks = ", ".join("?" * len(columns))
        sql = f"INSERT INTO {table.name} ({', '.join(columns)}) VALUES ({marks})"
        conn.exec_driver_sql(sql, rows)
    else:
        conn.execute(table.insert(), [dict(zip(columns, row, strict=True)) for row in rows])


_ORG_COLUMNS = (
    "org_id",
    "jurisdiction",
    "registration_number",
    "business_number",
    "status",
    "active",
    "entity_type",
    "name",
    "sort_key",
)


def _insert(conn: Connection, docs: list[OrgDoc], fold: Folding) -> None:
    org_rows: list[tuple[Any, ...]] = []
    name_rows: list[tuple[Any, ...]] = []
    prefix_rows: list[tuple[Any, ...]] = []
    number_rows: list[tuple[Any, ...]] = []
    tag_rows: list[tuple[Any, ...]] = []
    terms: set[str] = set()
    kinds = ("current", "alternate", "former")
    for doc in docs:
        org_id = doc.org_id
        current = _current_name(doc)
        org_rows.append(
            (
                org_id,
                doc.jurisdiction.upper(),
                doc.registration_number,
                doc.business_number,
                doc.status,
                doc.status == "active",
                doc.entity_type,
                current,
                fold.normalise(current),
            )
        )
        keys: set[tuple[int, str]] = set()
        for nm in _index_names(doc, fold):
            name_rows.append((org_id, kinds[nm.rank], nm.display, nm.norm, core_name(nm.norm)))
            keys.update((is_start, key) for is_start, _, key in word_starts(nm.norm))
            terms.update(nm.norm.split(" "))
        prefix_rows.extend((s, k, org_id) for s, k in keys)
        number_rows.extend(
            (k, org_id) for k in _number_keys(doc.registration_number, doc.business_number, fold)
        )
        tag_rows.extend(
            (org_id, kind, value)
            for kind, values in (("c", doc.credential_types), ("i", doc.issuers))
            for value in set(values)
        )
    _bulk_insert(conn, search_org, _ORG_COLUMNS, org_rows)
    _bulk_insert(conn, search_name, ("org_id", "kind", "name", "norm", "core"), name_rows)
    if name_rows and is_sqlite(conn):
        search_sqlite.fts_add(conn, [doc.org_id for doc in docs])
    _bulk_insert(conn, search_prefix, ("is_start", "key", "org_id"), prefix_rows)
    _bulk_insert(conn, search_number, ("key", "org_id"), number_rows)
    _bulk_insert(conn, search_tag, ("org_id", "kind", "value"), tag_rows)
    words = sorted(t for t in terms if not has_digit(t))  # numbers are matched exactly
    if not words:
        return
    if is_sqlite(conn):
        sql = "INSERT OR IGNORE INTO search_term (term) VALUES (?)"
        conn.exec_driver_sql(sql, [(t,) for t in words])
    else:
        conn.execute(
            pg_insert(search_term).on_conflict_do_nothing(index_elements=["term"]),
            [{"term": t} for t in words],
        )


# --- the vocabulary (typo correction) --------------------------------------------------------


@dataclass(slots=True)
class _Vocabulary:
    last_id: int = 0
    terms: set[str] = field(default_factory=set)
    by_length: dict[int, list[str]] = field(default_factory=dict)


_VOCABULARIES: dict[str, _Vocabulary] = {}
_VOCABULARY_LOCK = threading.Lock()


def _vocabulary(conn: Connection) -> _Vocabulary:
    """The database's vocabulary, cached per process and topped up from the append-only table.

    Terms are never deleted: a term of a removed organisation only costs an empty alternative.
    """
    key = conn.engine.url.render_as_string(hide_password=True)
    max_id = conn.execute(select(func.max(search_term.c.id))).scalar() or 0
    with _VOCABULARY_LOCK:
        vocab = _VOCABULARIES.get(key)
        if vocab is None or max_id < vocab.last_id:  # new or re-created database
            vocab = _VOCABULARIES[key] = _Vocabulary()
        if max_id > vocab.last_id:
            rows = conn.execute(
                select(search_term.c.id, search_term.c.term).where(search_term.c.id > vocab.last_id)
            ).all()
            for row in rows:
                if row.term not in vocab.terms:
                    vocab.terms.add(row.term)
                    vocab.by_length.setdefault(len(row.term), []).append(row.term)
                vocab.last_id = max(vocab.last_id, row.id)
        return vocab


def _alternatives(vocab: _Vocabulary, token: str) -> tuple[str, ...]:
    """``token`` (if known) and its closest vocabulary words (:mod:`orgbook.verifier.typos`),
    by scanning the in-memory vocabulary's words of a possible length."""
    if has_digit(token):
        return (token,)  # numbers are not in the vocabulary; matched exactly
    edits = typos.max_edits(token)
    if edits == 0:
        return (token,) if token in vocab.terms else ()
    found: list[tuple[int, str]] = [(0, token)] if token in vocab.terms else []
    for length in range(len(token) - edits, len(token) + edits + 1):
        choices = vocab.by_length.get(length)
        if not choices:
            continue
        for term, distance, _ in process.extract(
            token, choices, scorer=OSA.distance, score_cutoff=edits, limit=None
        ):
            if term != token:
                found.append((int(distance), term))
    return typos.best(token, found)


def _alternatives_of(conn: Connection, words: Sequence[str]) -> list[tuple[str, ...]]:
    """Each word's typo alternatives: on PostgreSQL from the ``pg_trgm`` vocabulary index in
    one statement, otherwise from the in-memory vocabulary. Same answer either way."""
    if not is_sqlite(conn) and search_pg.has_term_index(conn):
        lookup = [word for word in words if not has_digit(word)]
        terms = search_pg.find_similar_terms(conn, search_term, lookup)
        return [(word,) if has_digit(word) else typos.closest(word, terms) for word in words]
    vocab = _vocabulary(conn)
    return [_alternatives(vocab, word) for word in words]


# --- queries: plan, filters, cursor ----------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Plan:
    norm: str  # fold.normalise(text)
    core: str  # without legal suffixes
    number_keys: tuple[str, ...]
    fingerprint: str
    fold: Folding


@dataclass(frozen=True, slots=True)
class _Match:
    tier: int
    score: float
    sort_key: str
    org_id: str
    matched: str

    @property
    def position(self) -> tuple[int, float, str, str]:
        return (self.tier, -self.score, self.sort_key, self.org_id)


_Position = tuple[int, float, str, str]


def _check_text(value: str | None, name: str) -> None:
    if value is not None and (not isinstance(value, str) or len(value) > MAX_TEXT):
        raise BadInput(f"{name} must be a string of at most {MAX_TEXT} characters", field=name)


def _validate(q: SearchQuery) -> None:
    _check_text(q.text, "text")
    for name in ("jurisdiction", "entity_type", "credential_type", "issuer"):
        _check_text(getattr(q, name), name)
    if q.status not in (None, "active", "inactive"):
        raise BadInput("status must be 'active' or 'inactive'", field="status")
    if isinstance(q.limit, bool) or not isinstance(q.limit, int) or not 1 <= q.limit <= MAX_LIMIT:
        raise BadInput(f"limit must be an integer from 1 to {MAX_LIMIT}", field="limit")


def _plan(q: SearchQuery, fold: Folding) -> _Plan:
    text = q.text or ""
    norm = fold.normalise(text)
    keys: list[str] = []
    for candidate in (text, text.rsplit(":", 1)[-1]):  # a number, or an org id "CA-BC:BC123"
        key = fold.number_key(candidate)
        if has_digit(key) and key not in keys:
            keys.append(key)
    filters = [q.jurisdiction and q.jurisdiction.upper(), q.status, q.entity_type]
    filters += [q.credential_type, q.issuer]
    digest = hashlib.sha256(json.dumps([norm, *filters]).encode()).hexdigest()[:16]
    return _Plan(norm, core_name(norm), tuple(keys), digest, fold)


def _encode_cursor(plan: _Plan, pos: _Position) -> str:
    tier, neg_score, sort_key, org_id = pos
    body = {"v": 1, "q": plan.fingerprint, "t": tier, "s": -neg_score, "k": sort_key, "o": org_id}
    raw = json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _decode_cursor(plan: _Plan, cursor: str) -> _Position:
    bad = BadInput("cursor is not valid for this query (start again without one)", field="cursor")
    if not isinstance(cursor, str) or len(cursor) > 1000:
        raise bad
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        body = json.loads(raw.decode("utf-8"))
    except (binascii.Error, ValueError, UnicodeDecodeError) as exc:
        raise bad from exc
    if not isinstance(body, dict) or set(body) != {"v", "q", "t", "s", "k", "o"}:
        raise bad
    tier, score, sort_key, org_id = body["t"], body["s"], body["k"], body["o"]
    if (
        body["v"] != 1
        or body["q"] != plan.fingerprint
        or type(tier) is not int
        or not TIER_NUMBER <= tier <= TIER_LIST
        or type(score) not in (int, float)
        or not 0 <= score <= 1
        or not isinstance(sort_key, str)
        or not isinstance(org_id, str)
    ):
        raise bad
    return (tier, -float(score), sort_key, org_id)


def _filters(q: SearchQuery) -> list[ColumnElement[bool]]:
    o, t = search_org, search_tag
    out: list[ColumnElement[bool]] = []
    if q.jurisdiction:
        out.append(o.c.jurisdiction == q.jurisdiction.upper())
    if q.status is not None:
        out.append(o.c.active == (q.status == "active"))
    if q.entity_type:
        out.append(o.c.entity_type == q.entity_type)
    for kind, value in (("c", q.credential_type), ("i", q.issuer)):
        if value:
            out.append(
                exists().where(t.c.org_id == o.c.org_id, t.c.kind == kind, t.c.value == value)
            )
    return out


def _filtered(stmt: Select[Any], org_id: Any, filters: list[ColumnElement[bool]]) -> Select[Any]:
    if not filters:
        return stmt
    return stmt.join(search_org, search_org.c.org_id == org_id).where(*filters)


def _one_of(conn: Connection, column: Any, values: list[str]) -> ColumnElement[bool]:
    """``column IN values``; on PostgreSQL ``= ANY(array)``, one statement text whatever the
    number of values, so the driver prepares it once and the server stops re-planning it."""
    if is_sqlite(conn):
        condition: ColumnElement[bool] = column.in_(values)
    else:
        condition = column == any_(bindparam(None, values, type_=_KEY_ARRAY))
    return condition


def _names_of(conn: Connection, org_ids: Iterable[str]) -> dict[str, list[_Name]]:
    ids = sorted(set(org_ids))
    out: dict[str, list[_Name]] = {org: [] for org in ids}
    n = search_name
    for start in range(0, len(ids), _CHUNK):
        chunk = ids[start : start + _CHUNK]
        rows = conn.execute(
            select(n.c.org_id, n.c.kind, n.c.name, n.c.norm).where(_one_of(conn, n.c.org_id, chunk))
        )
        for row in rows:
            out[row.org_id].append(_Name(_KIND_RANK[row.kind], row.norm, row.name))
    return out


def _orgs_of(conn: Connection, org_ids: Iterable[str]) -> dict[str, Any]:
    ids = sorted(set(org_ids))
    if not ids:
        return {}
    rows = conn.execute(select(search_org).where(_one_of(conn, search_org.c.org_id, ids)))
    return {row.org_id: row for row in rows}


# --- the tiers -------------------------------------------------------------------------------


def _prefix_best(names: list[_Name], norm: str) -> tuple[int, str, str] | None:
    """The organisation's best prefix match ``(is_start, key, display)``, if any."""
    best: tuple[int, str, int, str, str] | None = None
    for nm in names:
        for is_start, offset, key in word_starts(nm.norm):
            if nm.norm.startswith(norm, offset):
                cand = (-is_start, key, nm.rank, nm.norm, nm.display)
                if best is None or cand < best:
                    best = cand
    return None if best is None else (-best[0], best[1], best[4])


def _number_tier(
    conn: Connection, plan: _Plan, filters: list[ColumnElement[bool]]
) -> tuple[list[_Match], bool]:
    if not plan.number_keys:
        return [], False
    num = search_number
    stmt = select(num.c.org_id).where(num.c.key.in_(plan.number_keys))
    stmt = _filtered(stmt, num.c.org_id, filters).order_by(num.c.org_id).limit(NUMBER_CAP)
    ids = list(dict.fromkeys(conn.execute(stmt).scalars()))
    orgs = _orgs_of(conn, ids)
    out = []
    for org_id in ids:
        row = orgs[org_id]
        reg = row.registration_number
        matched = (
            reg if plan.fold.number_key(reg) in plan.number_keys else row.business_number or reg
        )
        out.append(_Match(TIER_NUMBER, 1.0, row.sort_key, org_id, matched))
    out.sort(key=lambda m: m.position)
    return out, len(ids) >= NUMBER_CAP


def _exact_tier(
    conn: Connection, plan: _Plan, filters: list[ColumnElement[bool]], skip: set[str]
) -> tuple[list[_Match], bool]:
    n = search_name
    stmt: Select[Any] = select(n.c.org_id, n.c.kind, n.c.name, n.c.norm)
    stmt = stmt.where(n.c.core == plan.core)
    stmt = _filtered(stmt, n.c.org_id, filters)
    stmt = stmt.order_by(n.c.norm, n.c.org_id, n.c.kind).limit(EXACT_CAP)
    rows = conn.execute(stmt).all()
    best: dict[str, tuple[int, str, str]] = {}
    for row in rows:
        if row.org_id in skip:
            continue
        cand = (_KIND_RANK[row.kind], row.norm, row.name)
        if row.org_id not in best or cand < best[row.org_id]:
            best[row.org_id] = cand
    out = [
        _Match(TIER_EXACT, _EXACT_SCORE[rank], norm, org_id, display)
        for org_id, (rank, norm, display) in best.items()
    ]
    out.sort(key=lambda m: m.position)
    return out, len(rows) >= EXACT_CAP


def _prefix_range(plan: _Plan) -> tuple[str, str]:
    lo = plan.norm[:KEY_LEN]
    return lo, successor(lo)


def _prefix_tier(
    conn: Connection,
    plan: _Plan,
    filters: list[ColumnElement[bool]],
    after: _Position | None,
    need: int,
    skip: set[str],
) -> tuple[list[_Match], _Position | None]:
    """Up to ``need`` prefix hits after ``after``, straight off the word-start index.

    Returns the hits and, when :data:`SCAN_CAP` index rows were looked at before ``need`` hits
    were found (a very selective filter, or organisations with many matching names), the
    position to resume from.
    """
    p = search_prefix
    lo, hi = _prefix_range(plan)
    out: list[_Match] = []
    scanned = 0
    names: dict[str, list[_Name]] = {}
    for is_start in (1, 0):
        score = _PREFIX_SCORE[is_start]
        resume: tuple[str, str] | None = None
        if after is not None and after[0] == TIER_PREFIX:
            if -after[1] < score:
                continue  # that segment is behind the cursor
            if -after[1] == score:
                resume = (after[2], after[3])
        batch = max(2 * need, 50)
        while True:
            stmt = select(p.c.key, p.c.org_id).where(
                p.c.is_start == is_start, p.c.key >= lo, p.c.key < hi
            )
            if resume is not None:
                stmt = stmt.where(tuple_(p.c.key, p.c.org_id) > tuple_(*map(literal, resume)))
            stmt = _filtered(stmt, p.c.org_id, filters)
            rows = conn.execute(stmt.order_by(p.c.key, p.c.org_id).limit(batch)).all()
            names.update(_names_of(conn, (r.org_id for r in rows if r.org_id not in names)))
            for row in rows:
                scanned += 1
                resume = (row.key, row.org_id)
                if row.org_id not in skip:
                    best = _prefix_best(names[row.org_id], plan.norm)
                    if best is not None and best[:2] == (is_start, row.key):
                        out.append(_Match(TIER_PREFIX, score, row.key, row.org_id, best[2]))
                        if len(out) >= need:
                            return out, None
                if scanned >= SCAN_CAP:
                    return out, (TIER_PREFIX, -score, row.key, row.org_id)
            if len(rows) < batch:
                break
    return out, None


def _prefix_orgs_for_total(
    conn: Connection, plan: _Plan, filters: list[ColumnElement[bool]]
) -> tuple[set[str], bool]:
    p = search_prefix
    lo, hi = _prefix_range(plan)
    parts = []
    for is_start in (1, 0):  # up to TOTAL_CAP rows of each range, in one statement
        stmt = select(p.c.is_start, p.c.org_id)
        stmt = stmt.where(p.c.is_start == is_start, p.c.key >= lo, p.c.key < hi)
        # in index order: when capped, both backends count the same TOTAL_CAP rows
        stmt = _filtered(stmt, p.c.org_id, filters).order_by(p.c.key, p.c.org_id)
        part = stmt.limit(TOTAL_CAP).subquery()
        parts.append(select(part.c.is_start, part.c.org_id))
    rows = conn.execute(union_all(*parts)).all()
    per_range = Counter(row.is_start for row in rows)
    capped = len(plan.norm) > KEY_LEN  # keys are truncated: the count may include near misses
    capped = capped or any(count >= TOTAL_CAP for count in per_range.values())
    return {row.org_id for row in rows}, capped


def _fuzzy_tier(
    conn: Connection, plan: _Plan, filters: list[ColumnElement[bool]], skip: set[str]
) -> tuple[list[_Match], bool]:
    words = list(dict.fromkeys(plan.core.split(" "))) if plan.core else []
    # Function words and legal forms say little and match half the register: leave them out
    # unless they are all there is.
    words = [w for w in words if w not in NO_WORD_START] or words
    words = words[:MAX_FUZZY_WORDS]
    if not words:
        return [], False
    groups = _alternatives_of(conn, words)
    if not all(groups):
        return [], False  # a word that is nowhere near any indexed word
    backend = search_sqlite if is_sqlite(conn) else search_pg
    stmt = backend.matching_names(search_name, groups)
    # Ranking needs the candidates in a total order both backends share, i.e. sorting them all:
    # too broad a set (only common words) is not ranked at all, the same way on both backends.
    # One statement counts the matches (up to FUZZY_BROAD + 1) and returns the first FUZZY_CAP
    # in that order: one pass over the token index, not one to count and one to fetch.
    # (A name row is one (org_id, norm): an organisation's names are distinct once normalised.)
    stmt = _filtered(stmt, stmt.selected_columns.org_id, filters)
    matches = stmt.limit(FUZZY_BROAD + 1).subquery()
    ranked = (
        select(matches.c.org_id, func.count().over().label("matches"))
        .order_by(matches.c.norm, matches.c.org_id)
        .limit(FUZZY_CAP)
    )
    rows = conn.execute(ranked).all()
    if rows and rows[0].matches > FUZZY_BROAD:
        return [], True
    row_ids = [row.org_id for row in rows]
    candidates = [org for org in dict.fromkeys(row_ids) if org not in skip]
    names = _names_of(conn, candidates)
    sets = [set(group) for group in groups]
    out = []
    for org_id in candidates:
        if _prefix_best(names[org_id], plan.norm) is not None:
            continue  # ranked in the prefix tier
        best: tuple[float, str, str] | None = None
        for nm in names[org_id]:
            tokens = set(nm.norm.split(" "))
            if all(tokens & group for group in sets):
                # core names decide; whole names break near-ties ("… Ltée" asked, "… Ltée" first)
                ratio = fuzz.token_sort_ratio(plan.core, core_name(nm.norm), processor=None)
                ratio += fuzz.token_sort_ratio(plan.norm, nm.norm, processor=None)
                score = round(_FUZZY_WEIGHT * ratio / 200, 4)
                cand = (-score, nm.norm, nm.display)
                if best is None or cand < best:
                    best = cand
        if best is not None:
            out.append(_Match(TIER_FUZZY, -best[0], best[1], org_id, best[2]))
    out.sort(key=lambda m: m.position)
    return out, len(row_ids) >= FUZZY_CAP


# --- search ----------------------------------------------------------------------------------


def _hit(m: _Match, row: Any) -> Hit:
    return Hit(
        org_id=m.org_id,
        name=row.name,
        matched_name=m.matched,
        match=_TIER_MATCH[m.tier],
        score=m.score,
        jurisdiction=row.jurisdiction,
        registration_number=row.registration_number,
        status=row.status,
        entity_type=row.entity_type,
    )


def search(conn: Connection, q: SearchQuery) -> SearchPage:
    """One page of organisations matching ``q``, best first (see the module docstring).

    Raises :class:`~orgbook.errors.BadInput` (with ``field``) for text over 200 characters, a
    limit outside 1..100, an unknown status or a cursor that is not one this query produced.
    """
    _validate(q)
    plan = _plan(q, folding_for(conn))
    after = _decode_cursor(plan, q.cursor) if q.cursor is not None else None
    filters = _filters(q)
    if not plan.norm:
        return _list(conn, q, plan, filters, after)

    want = q.limit + 1
    hits: list[_Match] = []
    resume: _Position | None = None

    def take(matches: list[_Match]) -> None:
        for m in matches:
            if len(hits) < want and (after is None or m.position > after):
                hits.append(m)

    numbers, numbers_capped = _number_tier(conn, plan, filters)
    skip = {m.org_id for m in numbers}
    exact, exact_capped = _exact_tier(conn, plan, filters, skip)
    skip |= {m.org_id for m in exact}
    take(numbers)
    take(exact)
    fuzzy: tuple[list[_Match], bool] | None = None
    if len(hits) < want and (after is None or after[0] <= TIER_PREFIX):
        found, resume = _prefix_tier(conn, plan, filters, after, want - len(hits), skip)
        take(found)
    if len(hits) < want and resume is None:
        fuzzy = _fuzzy_tier(conn, plan, filters, skip)
        take(fuzzy[0])

    # total: every tier's organisations, exact up to TOTAL_CAP
    prefix_ids, estimate = _prefix_orgs_for_total(conn, plan, filters)
    ids = skip | prefix_ids
    estimate = estimate or numbers_capped or exact_capped
    if not estimate:
        if fuzzy is None:
            fuzzy = _fuzzy_tier(conn, plan, filters, skip)
        ids |= {m.org_id for m in fuzzy[0]}
        estimate = fuzzy[1]

    next_cursor = None
    if len(hits) == want:
        hits.pop()
        next_cursor = _encode_cursor(plan, hits[-1].position)
    elif resume is not None:
        next_cursor = _encode_cursor(plan, resume)
    orgs = _orgs_of(conn, (m.org_id for m in hits))
    return SearchPage(
        hits=[_hit(m, orgs[m.org_id]) for m in hits],
        total=len(ids),
        total_is_estimate=estimate,
        next_cursor=next_cursor,
    )


def _list(
    conn: Connection,
    q: SearchQuery,
    plan: _Plan,
    filters: list[ColumnElement[bool]],
    after: _Position | None,
) -> SearchPage:
    """No text: organisations in name order (the empty prefix), filtered."""
    o = search_org
    stmt = select(o).where(*filters)
    if after is not None:
        if after[0] != TIER_LIST:
            raise BadInput("cursor is not valid for this query", field="cursor")
        stmt = stmt.where(tuple_(o.c.sort_key, o.c.org_id) > tuple_(*map(literal, after[2:])))
    rows = conn.execute(stmt.order_by(o.c.sort_key, o.c.org_id).limit(q.limit + 1)).all()
    matches = [(_Match(TIER_LIST, 0.0, row.sort_key, row.org_id, row.name), row) for row in rows]
    next_cursor = None
    if len(matches) > q.limit:
        matches.pop()
        next_cursor = _encode_cursor(plan, matches[-1][0].position)
    counted = select(o.c.org_id).where(*filters).limit(TOTAL_CAP + 1).subquery()
    total = conn.execute(select(func.count()).select_from(counted)).scalar_one()
    return SearchPage(
        hits=[_hit(m, row) for m, row in matches],
        total=min(total, TOTAL_CAP),
        total_is_estimate=total > TOTAL_CAP,
        next_cursor=next_cursor,
    )


# --- autocomplete ----------------------------------------------------------------------------

AUTOCOMPLETE_SCAN = 400  # index rows looked at per kind of match when a filter is given


def autocomplete(
    conn: Connection, prefix: str, *, limit: int = 8, jurisdiction: str | None = None
) -> list[Suggestion]:
    """Search-as-you-type: organisations whose current, former or alternate name has a word
    starting with ``prefix`` (name starts first), or whose number starts with it."""
    _check_text(prefix, "prefix")
    _check_text(jurisdiction, "jurisdiction")
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
            stmt = _filtered(select(inner.c.org_id), inner.c.org_id, filters)
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
    orgs = _orgs_of(conn, picks)
    all_names = _names_of(conn, [org for org, on_number in chosen if not on_number])
    out = []
    key = fold.number_key(prefix)
    for org_id, on_number in chosen:
        row = orgs[org_id]
        if on_number:
            reg = row.registration_number
            matched = reg if fold.number_key(reg).startswith(key) else row.business_number or reg
        else:
            best = _prefix_best(all_names[org_id], norm)
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
