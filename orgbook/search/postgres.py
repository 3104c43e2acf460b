"""PostgreSQL side of organisation search: a GIN full-text index over normalised names, a
``pg_trgm`` GIN index over the vocabulary for typo correction, and the letter rules of the
server's ``unaccent`` dictionary for accent folding.

The index is on ``array_to_tsvector(string_to_array(norm, ' '))``: the lexemes are exactly the
tokens of :func:`orgbook.search.normalise.normalise`, with no text-search parser,
dictionary or ``unaccent`` rules in between, so PostgreSQL matches the same rows as the SQLite
FTS5 index. Ordering columns are declared ``COLLATE "C"`` (code-point order, as Python and
SQLite's BINARY compare), which makes candidate caps and keyset pages identical on both.

Typo correction (:func:`similar_terms`): the ``search_term`` vocabulary has a GIN
``gin_trgm_ops`` index (``pg_trgm``), and a query word's complete set of ``LIKE`` patterns
(:func:`orgbook.search.typos.patterns`) is answered by it in one statement, so verifier
replicas need not hold the vocabulary in memory. ``LIKE`` is exact and the filter complete, so
the answer is the in-memory scan's. Without the extension (a role that may not create it) the
index is absent and search falls back to that scan, with the same results.

Accent folding (:func:`server_folding`): the letter rules search normalises with are read
from the server's ``unaccent`` dictionary, what ``unaccent()`` makes of every letter, and stored
with the index (:mod:`orgbook.search.fold`). Normalisation itself stays in Python, on
both sides of the index, so a query and the names it must find are always folded by the same
rules.

This module only retrieves candidates; ranking is done in :mod:`orgbook.search.tiers`.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import (
    Connection,
    Select,
    String,
    Table,
    bindparam,
    cast,
    func,
    literal_column,
    or_,
    select,
    text,
)
from sqlalchemy.dialects.postgresql import TSQUERY
from sqlalchemy.exc import DBAPIError
from sqlalchemy.sql.elements import ColumnElement

from orgbook.search.normalise import Folding, foldable_letters, rules_from
from orgbook.search.typos import patterns

log = logging.getLogger(__name__)

TOKENS_INDEX = "search_name_tokens_gin"
TERMS_INDEX = "search_term_trgm"

# The query must repeat this expression verbatim (a literal ' ', not a parameter) for the
# planner to use the index.
_TOKENS_SQL = "array_to_tsvector(string_to_array(norm, ' '))"


def create_objects(conn: Connection) -> None:
    """Create the GIN token index (idempotent)."""
    conn.exec_driver_sql(
        f"CREATE INDEX IF NOT EXISTS {TOKENS_INDEX} ON search_name USING gin ({_TOKENS_SQL})"
    )


def tsquery(groups: Sequence[Sequence[str]]) -> str:
    """Every group must match, any token of a group will do; tokens are quoted lexemes."""
    return " & ".join("(" + " | ".join(f"'{token}'" for token in group) + ")" for group in groups)


def matching_names(name_table: Table, groups: Sequence[Sequence[str]]) -> Select[Any]:
    """``SELECT org_id, norm`` of the ``search_name`` rows that have a token of every group."""
    tokens = func.array_to_tsvector(func.string_to_array(name_table.c.norm, literal_column("' '")))
    query = cast(bindparam("pg_tsquery", tsquery(groups), type_=String), TSQUERY)
    return select(name_table.c.org_id, name_table.c.norm).where(tokens.bool_op("@@")(query))


# --- typo correction with pg_trgm --------------------------------------------------------------


def _first_line(exc: DBAPIError) -> str:
    return str(exc.orig).strip().splitlines()[0] if exc.orig else str(exc)


def ensure_extension(conn: Connection, name: str, instead: str) -> bool:
    """Create extension ``name`` if it is missing and this role may (``pg_trgm`` and
    ``unaccent`` are trusted extensions: the database owner may). False, with a warning that
    says what happens ``instead``, when it is missing and cannot be created."""
    installed = "SELECT 1 FROM pg_extension WHERE extname = %(name)s"
    if conn.exec_driver_sql(installed, {"name": name}).first() is not None:
        return True
    try:
        with conn.begin_nested():
            conn.exec_driver_sql(f"CREATE EXTENSION IF NOT EXISTS {name}")
    except DBAPIError as exc:
        log.warning(
            "%s is not installed and this role cannot create it (%s): %s. Run CREATE EXTENSION "
            "%s as a superuser or the database owner, then orgbook db upgrade.",
            name,
            _first_line(exc),
            instead,
            name,
        )
        return False
    return True


def create_term_index(conn: Connection) -> bool:
    """Create ``pg_trgm`` (if this role may) and the trigram index on ``search_term``
    (idempotent). False, with a warning, when the extension is not available."""
    instead = "typo correction scans the vocabulary in each process instead (same results)"
    if not ensure_extension(conn, "pg_trgm", instead):
        return False
    conn.exec_driver_sql(
        f"CREATE INDEX IF NOT EXISTS {TERMS_INDEX} ON search_term USING gin (term gin_trgm_ops)"
        # no pending list: new words go straight into the index, so lookups never scan one
        " WITH (fastupdate = off)"
    )
    return True


def term_index_exists(conn: Connection) -> bool:
    query = "SELECT 1 FROM pg_indexes WHERE indexname = :name AND tablename = 'search_term'"
    return conn.execute(text(query), {"name": TERMS_INDEX}).first() is not None


_HAS_TERM_INDEX: dict[str, bool] = {}
_HAS_TERM_INDEX_LOCK = threading.Lock()


def has_term_index(conn: Connection) -> bool:
    """Whether this database has the trigram vocabulary index (looked up once per process)."""
    key = conn.engine.url.render_as_string(hide_password=True)
    with _HAS_TERM_INDEX_LOCK:
        known = _HAS_TERM_INDEX.get(key)
    if known is None:
        known = term_index_exists(conn)
        if not known:
            log.warning("no %s index: typo correction scans the vocabulary in memory", TERMS_INDEX)
        with _HAS_TERM_INDEX_LOCK:
            _HAS_TERM_INDEX[key] = known
    return known


def _literal(pattern: str) -> ColumnElement[Any]:
    # Inlined, not bound: a prepared statement's generic plan cannot see the pattern's trigrams.
    # Patterns are normalised words plus % and _, so there is nothing to quote (checked).
    if "'" in pattern or "\\" in pattern:
        raise ValueError(f"not a normalised word pattern: {pattern!r}")
    return literal_column(f"'{pattern}'")


def similar_terms(term_table: Table, words: Iterable[str]) -> Select[Any]:
    """``SELECT term`` of the vocabulary words that may be within the allowed edits of one of
    ``words`` (a superset: the caller checks the distance). One statement; the ``LIKE``
    patterns are served by the trigram index (a ``BitmapOr`` of GIN scans), exact words by the
    unique B-tree. Run it through :func:`find_similar_terms`."""
    term = term_table.c.term
    per_word = []
    for word in words:
        p = patterns(word)
        matches: list[ColumnElement[bool]] = [term.like(_literal(q)) for q in sorted(p.like)]
        if p.exact:
            matches.append(term.in_([_literal(q) for q in sorted(p.exact)]))
        per_word.append(or_(*matches) & func.length(term).between(p.min_len, p.max_len))
    return select(term).where(or_(*per_word))


def find_similar_terms(conn: Connection, term_table: Table, words: Sequence[str]) -> list[str]:
    """Run :func:`similar_terms` (no words: no statement), outside the compiled-statement
    cache: the patterns are inlined, so each query word would add an entry and push out the
    statements that do repeat."""
    if not words:
        return []
    stmt = similar_terms(term_table, words)
    return list(conn.execute(stmt, execution_options={"compiled_cache": None}).scalars())


# --- accent folding with unaccent --------------------------------------------------------------

UNACCENT_DICTIONARY = "unaccent"


def server_folding(conn: Connection) -> Folding | None:
    """The letter rules of this server's ``unaccent`` dictionary: what ``unaccent()`` makes of
    every letter that has no decomposition (:func:`orgbook.search.normalise.rules_from`), in
    one statement. Creates the extension if this role may; None, with a warning, when it is
    missing and cannot be created, or folds no letter."""
    instead = "search folds letters with the rules shipped with orgbook"
    if not ensure_extension(conn, "unaccent", instead):
        return None
    probe = text(
        "SELECT s, unaccent(CAST(:dictionary AS regdictionary), s)"
        " FROM unnest(CAST(:letters AS text[])) AS t(s)"
    )
    params = {"dictionary": UNACCENT_DICTIONARY, "letters": list(foldable_letters())}
    try:
        with conn.begin_nested():
            rows = conn.execute(probe, params).all()
    except DBAPIError as exc:
        log.warning("unaccent() cannot be called (%s): %s", _first_line(exc), instead)
        return None
    rules = rules_from((row[0], row[1]) for row in rows)
    if not rules:
        log.warning("the server's unaccent dictionary folds no letter: %s", instead)
        return None
    return Folding(rules)
