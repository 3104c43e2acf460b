"""The vocabulary for typo correction: which indexed words a query word may be a misspelling of.

What it owns: :func:`alternatives_of` — each query word's alternatives, the word itself and its
closest vocabulary words (:mod:`orgbook.search.typos` decides which) — found one of two ways
with the same answer: on PostgreSQL with the ``pg_trgm`` vocabulary index
(:func:`orgbook.search.postgres.find_similar_terms`), otherwise by scanning the
:class:`Vocabulary`, the ``search_term`` words cached per process and topped up from the
append-only table (:func:`alternatives`). What it must not do: write the vocabulary (the writer
adds words as it indexes names) or delete from it.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass, field

from rapidfuzz import process
from rapidfuzz.distance import OSA
from sqlalchemy import Connection, func, select

from orgbook.search import postgres as search_pg
from orgbook.search import typos
from orgbook.search.normalise import has_digit
from orgbook.search.tables import search_term
from orgbook.storage.engine import is_sqlite

__all__ = ["Vocabulary", "alternatives", "alternatives_of"]


@dataclass(slots=True)
class Vocabulary:
    last_id: int = 0
    terms: set[str] = field(default_factory=set)
    by_length: dict[int, list[str]] = field(default_factory=dict)


_VOCABULARIES: dict[str, Vocabulary] = {}
_VOCABULARY_LOCK = threading.Lock()


def _vocabulary(conn: Connection) -> Vocabulary:
    """The database's vocabulary, cached per process and topped up from the append-only table.

    Terms are never deleted: a term of a removed organisation only costs an empty alternative.
    """
    key = conn.engine.url.render_as_string(hide_password=True)
    max_id = conn.execute(select(func.max(search_term.c.id))).scalar() or 0
    with _VOCABULARY_LOCK:
        vocab = _VOCABULARIES.get(key)
        if vocab is None or max_id < vocab.last_id:  # new or re-created database
            vocab = _VOCABULARIES[key] = Vocabulary()
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


def alternatives(vocab: Vocabulary, token: str) -> tuple[str, ...]:
    """``token`` (if known) and its closest vocabulary words (:mod:`orgbook.search.typos`),
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


def alternatives_of(conn: Connection, words: Sequence[str]) -> list[tuple[str, ...]]:
    """Each word's typo alternatives: on PostgreSQL from the ``pg_trgm`` vocabulary index in
    one statement, otherwise from the in-memory vocabulary. Same answer either way."""
    if not is_sqlite(conn) and search_pg.has_term_index(conn):
        lookup = [word for word in words if not has_digit(word)]
        terms = search_pg.find_similar_terms(conn, search_term, lookup)
        return [(word,) if has_digit(word) else typos.closest(word, terms) for word in words]
    vocab = _vocabulary(conn)
    return [alternatives(vocab, word) for word in words]
