"""Typo correction: which vocabulary words a query word may be a misspelling of.

A query word of 4–7 letters matches vocabulary words within 1 edit of it, one of 8 or more
letters words within 2 (OSA distance: substitution, insertion, deletion, or transposition of
two adjacent letters, each counting 1); shorter words and words with digits match only
themselves. The closest :data:`MAX_ALTERNATIVES` win, nearest first, then in code-point order.

Two ways of finding them give the same answer:

* in memory, scanning the vocabulary words of a possible length (:func:`closest`, SQLite and
  a PostgreSQL without ``pg_trgm``);
* on PostgreSQL, :func:`patterns` turns the word into ``LIKE`` patterns that every word within
  the allowed edits matches, and a ``pg_trgm`` GIN index finds the vocabulary words matching any
  of them; the exact distance is then checked here. The filter is *complete* (proof in
  :func:`patterns`, checked exhaustively by ``tests/search/test_typos.py``), so the two agree.

Pure functions, no I/O. Words are :func:`orgbook.search.normalise.normalise` tokens: they
never contain ``%``, ``_`` or ``\\``, so they are literal in a ``LIKE`` pattern.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from rapidfuzz.distance import OSA

MAX_ALTERNATIVES = 5
MIN_FUZZY_LEN = 4  # shorter words match only themselves
TWO_EDITS_LEN = 8  # from this length on, two edits
PATTERN_CHARS = 8  # two-edit patterns keep this many characters (plus the %): see patterns()


def max_edits(word: str) -> int:
    """How many edits a query word may be from a vocabulary word it matches."""
    if len(word) < MIN_FUZZY_LEN:
        return 0
    return 1 if len(word) < TWO_EDITS_LEN else 2


@dataclass(frozen=True, slots=True)
class Patterns:
    """Vocabulary words within :func:`max_edits` of a word have a length in
    ``[min_len, max_len]`` and equal one of ``exact`` or match one of ``like``."""

    exact: frozenset[str]
    like: frozenset[str]
    min_len: int
    max_len: int


def _one_edit(word: str) -> tuple[set[str], set[str]]:
    """``(exact, like)``: the strings within one edit of ``word``, exactly.

    Deletions and transpositions are plain strings; substitutions and insertions put ``_``
    (any one character) where the new letter goes. The word itself matches its substitutions.
    """
    exact = {word}
    like = set()
    for i in range(len(word)):
        exact.add(word[:i] + word[i + 1 :])
        like.add(word[:i] + "_" + word[i + 1 :])
    for i in range(len(word) + 1):
        like.add(word[:i] + "_" + word[i:])
    for i in range(len(word) - 1):
        exact.add(word[:i] + word[i + 1] + word[i] + word[i + 2 :])
    exact.discard("")
    return exact, like


def patterns(word: str) -> Patterns:
    """Patterns that every word within :func:`max_edits` of ``word`` matches.

    One edit: the patterns are the one-edit neighbourhood itself (exact, not just complete).

    Two edits (``word`` has n ≥ 8 letters): cut it into ``A g B`` with ``|A| = ⌈n/2⌉`` and
    ``g`` one letter. An OSA alignment of ``word`` with ``w`` is a sequence of blocks (match,
    substitution, insertion, deletion, or a transposed pair), at most two of them edits. Say an
    edit *touches A* if it covers a letter of A or inserts before A's last letter, and *touches
    B* if it covers a letter of B or inserts after B's first letter. No edit touches both (a
    transposed pair would need a letter on either side of g). So either

    1. nothing touches A: ``w`` starts with A — ``A%``;
    2. nothing touches B: ``w`` ends with B — ``%B``;
    3. one edit X touches A and one Y touches B, and nothing else differs:

       * neither covers g: ``w = A' g B'`` with A' one edit from A — ``A'g%`` for every A'
         in A's one-edit patterns;
       * X transposes A's last letter with g: ``w`` starts with ``A[:-1] g``, which is A's
         deletion ``A[:-1]`` followed by g, covered above;
       * Y transposes g with B's first letter: ``w`` ends with ``B[0] g B[1:]`` — ``%B[0]gB[1:]``.

    A pattern shortened to its first (``…%``) or last (``%…``) :data:`PATTERN_CHARS` characters
    matches more words, so the set stays complete; long words then get a few short, still
    selective patterns instead of many long ones (each ``LIKE`` is a GIN scan of every trigram
    it has; the measurements are in ``docs/search.md``, "Shortened patterns").
    """
    k = max_edits(word)
    lo, hi = max(1, len(word) - k), len(word) + k
    if k == 0:
        return Patterns(frozenset((word,)), frozenset(), len(word), len(word))
    if k == 1:
        exact, like = _one_edit(word)
        return Patterns(frozenset(exact), frozenset(like), lo, hi)
    cut = (len(word) + 1) // 2
    a, g, b = word[:cut], word[cut], word[cut + 1 :]
    a_exact, a_like = _one_edit(a)
    starts = {a, *(p + g for p in a_exact | a_like)}
    ends = {b, b[0] + g + b[1:]}
    like = {s[:PATTERN_CHARS] + "%" for s in starts} | {"%" + s[-PATTERN_CHARS:] for s in ends}
    return Patterns(frozenset(), frozenset(like), lo, hi)


def best(word: str, found: Iterable[tuple[int, str]]) -> tuple[str, ...]:
    """The :data:`MAX_ALTERNATIVES` nearest of ``(distance, term)`` pairs."""
    return tuple(term for _, term in sorted(found)[:MAX_ALTERNATIVES])


def closest(word: str, candidates: Iterable[str]) -> tuple[str, ...]:
    """The alternatives for ``word`` among ``candidates`` (any superset of the answer)."""
    k = max_edits(word)
    found = []
    for term in set(candidates):
        distance = OSA.distance(word, term, score_cutoff=k)
        if distance <= k:
            found.append((distance, term))
    return best(word, found)
