"""The ranking tiers of organisation search: what each retrieves, how it scores, where it stops.

An organisation appears once, in its best tier:

0. ``number`` — the query is a registration or business number (or an organisation id);
1. ``exact`` — a name equals the query once both lose their legal-form suffixes;
2. ``prefix`` — the query starts a name (score 0.8) or a later word of it (0.7); ordered by
   the word-start key, as the B-tree index returns it, so pages come straight off the index;
3. ``fuzzy`` — every query word, or a vocabulary word within 1–2 edits of it, is a word of the
   name (:mod:`orgbook.search.vocabulary`); scored by rapidfuzz among a capped candidate set;
4. the listing (no text): every organisation in name order, the empty prefix.

Within a tier: score (descending), then the sort key (the normalised name, or word-start key),
then organisation id: a :class:`Match`'s :attr:`~Match.position`. Each backend only retrieves
candidates (SQLite: B-tree + FTS5 + the vocabulary in memory; PostgreSQL: B-tree with
``COLLATE "C"`` + a GIN token index + a ``pg_trgm`` GIN vocabulary index); all ordering is
code-point order, so both return the same pages for the same data.

What it owns: the tier numbers, scores and caps (the caps are read from this module at call
time, :mod:`orgbook.search.query` included, so a test may lower them here), and one function per
tier returning its matches in order. What it must not do: build pages or cursors
(:mod:`orgbook.search.query`, :mod:`orgbook.search.cursor`) or order in SQL in a way the other
backend would order differently.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any, Literal

from rapidfuzz import fuzz
from sqlalchemy import Connection, Select, func, literal, select, tuple_, union_all
from sqlalchemy.sql.elements import ColumnElement

from orgbook.search import postgres as search_pg
from orgbook.search import sqlite as search_sqlite
from orgbook.search.normalise import (
    KEY_LEN,
    NO_WORD_START,
    SAME_WORDS,
    core_name,
    successor,
    word_starts,
)
from orgbook.search.plan import Plan, filtered
from orgbook.search.rows import KIND_RANK, IndexedName, names_of, orgs_of
from orgbook.search.tables import search_name, search_number, search_prefix
from orgbook.search.vocabulary import alternatives_of
from orgbook.storage.engine import is_sqlite

__all__ = [
    "EXACT_CAP",
    "FUZZY_BROAD",
    "FUZZY_CAP",
    "MAX_FUZZY_WORDS",
    "NUMBER_CAP",
    "SCAN_CAP",
    "TIER_EXACT",
    "TIER_FUZZY",
    "TIER_LIST",
    "TIER_MATCH",
    "TIER_NUMBER",
    "TIER_PREFIX",
    "TOTAL_CAP",
    "Match",
    "Position",
    "exact_tier",
    "fuzzy_tier",
    "number_tier",
    "prefix_best",
    "prefix_orgs_for_total",
    "prefix_tier",
]

NUMBER_CAP = 100  # organisations sharing one number
EXACT_CAP = 500  # name rows equal to the query
FUZZY_CAP = 500  # name rows considered for typo-tolerant ranking
FUZZY_BROAD = 5000  # more matching name rows than this: the words are too common to rank
TOTAL_CAP = 1000  # beyond this, ``total`` is a lower bound (``total_is_estimate``)
SCAN_CAP = 2000  # prefix-index rows one page may look at before handing back a cursor
MAX_FUZZY_WORDS = 8

TIER_NUMBER, TIER_EXACT, TIER_PREFIX, TIER_FUZZY, TIER_LIST = 0, 1, 2, 3, 4
TIER_MATCH: dict[int, Literal["number", "exact", "prefix", "fuzzy"]] = {
    TIER_NUMBER: "number",
    TIER_EXACT: "exact",
    TIER_PREFIX: "prefix",
    TIER_FUZZY: "fuzzy",
    TIER_LIST: "prefix",  # no text: the empty prefix, every organisation in name order
}
_EXACT_SCORE = (0.95, 0.94, 0.93)  # by kind rank
_PREFIX_SCORE = {1: 0.8, 0: 0.7}  # by is_start
_FUZZY_WEIGHT = 0.6


@dataclass(frozen=True, slots=True)
class Match:
    tier: int
    score: float
    sort_key: str
    org_id: str
    matched: str

    @property
    def position(self) -> tuple[int, float, str, str]:
        return (self.tier, -self.score, self.sort_key, self.org_id)


Position = tuple[int, float, str, str]


def prefix_best(names: list[IndexedName], norm: str) -> tuple[int, str, str] | None:
    """The organisation's best prefix match ``(is_start, key, display)``, if any."""
    best: tuple[int, str, int, str, str] | None = None
    for nm in names:
        for is_start, offset, key in word_starts(nm.norm):
            if nm.norm.startswith(norm, offset):
                cand = (-is_start, key, nm.rank, nm.norm, nm.display)
                if best is None or cand < best:
                    best = cand
    return None if best is None else (-best[0], best[1], best[4])


def number_tier(
    conn: Connection, plan: Plan, filters: list[ColumnElement[bool]]
) -> tuple[list[Match], bool]:
    if not plan.number_keys:
        return [], False
    num = search_number
    stmt = select(num.c.org_id).where(num.c.key.in_(plan.number_keys))
    stmt = filtered(stmt, num.c.org_id, filters).order_by(num.c.org_id).limit(NUMBER_CAP)
    ids = list(dict.fromkeys(conn.execute(stmt).scalars()))
    orgs = orgs_of(conn, ids)
    out = []
    for org_id in ids:
        row = orgs[org_id]
        reg = row.registration_number
        matched = (
            reg if plan.fold.number_key(reg) in plan.number_keys else row.business_number or reg
        )
        out.append(Match(TIER_NUMBER, 1.0, row.sort_key, org_id, matched))
    out.sort(key=lambda m: m.position)
    return out, len(ids) >= NUMBER_CAP


def exact_tier(
    conn: Connection, plan: Plan, filters: list[ColumnElement[bool]], skip: set[str]
) -> tuple[list[Match], bool]:
    n = search_name
    stmt: Select[Any] = select(n.c.org_id, n.c.kind, n.c.name, n.c.norm)
    stmt = stmt.where(n.c.core.in_(plan.cores))
    stmt = filtered(stmt, n.c.org_id, filters)
    stmt = stmt.order_by(n.c.norm, n.c.org_id, n.c.kind).limit(EXACT_CAP)
    rows = conn.execute(stmt).all()
    best: dict[str, tuple[int, str, str]] = {}
    for row in rows:
        if row.org_id in skip:
            continue
        cand = (KIND_RANK[row.kind], row.norm, row.name)
        if row.org_id not in best or cand < best[row.org_id]:
            best[row.org_id] = cand
    out = [
        Match(TIER_EXACT, _EXACT_SCORE[rank], norm, org_id, display)
        for org_id, (rank, norm, display) in best.items()
    ]
    out.sort(key=lambda m: m.position)
    return out, len(rows) >= EXACT_CAP


def _prefix_range(plan: Plan) -> tuple[str, str]:
    lo = plan.norm[:KEY_LEN]
    return lo, successor(lo)


def prefix_tier(
    conn: Connection,
    plan: Plan,
    filters: list[ColumnElement[bool]],
    after: Position | None,
    need: int,
    skip: set[str],
) -> tuple[list[Match], Position | None]:
    """Up to ``need`` prefix hits after ``after``, straight off the word-start index.

    Returns the hits and, when :data:`SCAN_CAP` index rows were looked at before ``need`` hits
    were found (a very selective filter, or organisations with many matching names), the
    position to resume from.
    """
    p = search_prefix
    lo, hi = _prefix_range(plan)
    out: list[Match] = []
    scanned = 0
    names: dict[str, list[IndexedName]] = {}
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
            stmt = filtered(stmt, p.c.org_id, filters)
            rows = conn.execute(stmt.order_by(p.c.key, p.c.org_id).limit(batch)).all()
            names.update(names_of(conn, (r.org_id for r in rows if r.org_id not in names)))
            for row in rows:
                scanned += 1
                resume = (row.key, row.org_id)
                if row.org_id not in skip:
                    best = prefix_best(names[row.org_id], plan.norm)
                    if best is not None and best[:2] == (is_start, row.key):
                        out.append(Match(TIER_PREFIX, score, row.key, row.org_id, best[2]))
                        if len(out) >= need:
                            return out, None
                if scanned >= SCAN_CAP:
                    return out, (TIER_PREFIX, -score, row.key, row.org_id)
            if len(rows) < batch:
                break
    return out, None


def prefix_orgs_for_total(
    conn: Connection, plan: Plan, filters: list[ColumnElement[bool]]
) -> tuple[set[str], bool]:
    p = search_prefix
    lo, hi = _prefix_range(plan)
    parts = []
    for is_start in (1, 0):  # up to TOTAL_CAP rows of each range, in one statement
        stmt = select(p.c.is_start, p.c.org_id)
        stmt = stmt.where(p.c.is_start == is_start, p.c.key >= lo, p.c.key < hi)
        # in index order: when capped, both backends count the same TOTAL_CAP rows
        stmt = filtered(stmt, p.c.org_id, filters).order_by(p.c.key, p.c.org_id)
        part = stmt.limit(TOTAL_CAP).subquery()
        parts.append(select(part.c.is_start, part.c.org_id))
    rows = conn.execute(union_all(*parts)).all()
    per_range = Counter(row.is_start for row in rows)
    capped = len(plan.norm) > KEY_LEN  # keys are truncated: the count may include near misses
    capped = capped or any(count >= TOTAL_CAP for count in per_range.values())
    return {row.org_id for row in rows}, capped


def fuzzy_tier(
    conn: Connection, plan: Plan, filters: list[ColumnElement[bool]], skip: set[str]
) -> tuple[list[Match], bool]:
    words = list(dict.fromkeys(plan.core.split(" "))) if plan.core else []
    # Function words and legal forms say little and match half the register: leave them out
    # unless they are all there is.
    words = [w for w in words if w not in NO_WORD_START] or words
    words = words[:MAX_FUZZY_WORDS]
    if not words:
        return [], False
    groups = [
        [*group, *(w for w in SAME_WORDS.get(word, ()) if w not in group)]
        for word, group in zip(words, alternatives_of(conn, words), strict=True)
    ]
    if not all(groups):
        return [], False  # a word that is nowhere near any indexed word
    backend = search_sqlite if is_sqlite(conn) else search_pg
    stmt = backend.matching_names(search_name, groups)
    # Ranking needs the candidates in a total order both backends share, i.e. sorting them all:
    # too broad a set (only common words) is not ranked at all, the same way on both backends.
    # One statement counts the matches (up to FUZZY_BROAD + 1) and returns the first FUZZY_CAP
    # in that order: one pass over the token index, not one to count and one to fetch.
    # (A name row is one (org_id, norm): an organisation's names are distinct once normalised.)
    stmt = filtered(stmt, stmt.selected_columns.org_id, filters)
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
    names = names_of(conn, candidates)
    sets = [set(group) for group in groups]
    out = []
    for org_id in candidates:
        if prefix_best(names[org_id], plan.norm) is not None:
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
            out.append(Match(TIER_FUZZY, -best[0], best[1], org_id, best[2]))
    out.sort(key=lambda m: m.position)
    return out, len(row_ids) >= FUZZY_CAP
