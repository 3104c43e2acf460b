"""Name and number normalisation for organisation search: the one place matching strings are made.

Both search backends (SQLite FTS5 and PostgreSQL) index and query the strings produced here, so
they match the same things; neither relies on a database's own accent folding, case folding or
tokeniser. Pure functions, no I/O.

* :func:`normalise` — NFKD, combining marks stripped, letters without a decomposition folded as
  PostgreSQL's ``unaccent`` rules fold them ("ł" → "l", "æ" → "ae":
  :mod:`orgbook.search.unaccent_rules`), casefolded, ``&`` → ``and``, every other
  non-alphanumeric character → a space, spaces collapsed: ``"Société Générale & Fils, LTÉE."`` →
  ``"societe generale and fils ltee"``, ``"Łódź Œuvres"`` → ``"lodz oeuvres"``. Tokens are exactly
  ``normalise(s).split(" ")``.
* :class:`Folding` — the same with other letter rules. A search index records the rules it was
  built with (on PostgreSQL, captured from the server's own ``unaccent`` dictionary:
  :mod:`orgbook.search.fold`) and normalises with them; :func:`normalise` and
  :func:`number_key` use :data:`UNACCENT`, the rules shipped here.
* :func:`core_name` — a normalised name without trailing legal-form suffixes (LTD, LTÉE, INC,
  CORP, LIMITED, LIMITÉE, B.C. …), used for *exact name* matching; the display name keeps them.
* :func:`number_key` — registration and business numbers, case and punctuation removed.
* :func:`word_variants` — a normalised name or query with the words that mean the same
  exchanged (``st`` ↔ ``saint``, ``ste`` ↔ ``sainte``, ``and`` ↔ ``et``): what the exact
  tier also asks, so "St-Jean & Fils" equals "Saint-Jean et Fils" exactly.
* :func:`number_variants` — the number keys a query may also mean: bare registration digits
  with a register's letter prefix (``0460007`` → ``bc0460007``…), a full business number's
  9-digit root (``123456782rc0001`` → ``123456782``).
* :func:`word_starts` — the keys of the word-start index (the name from each word on, truncated),
  used for prefix search and autocomplete.
"""

from __future__ import annotations

import functools
import hashlib
import re
import sys
import unicodedata
from collections.abc import Iterable, Mapping
from types import MappingProxyType

from orgbook.search.unaccent_rules import UNACCENT_LETTERS

KEY_LEN = 48
"""Word-start keys (and prefix queries) are compared on their first ``KEY_LEN`` characters."""

MAX_WORD_STARTS = 8
"""Only the first ``MAX_WORD_STARTS`` words of a name start a prefix key (bounds index size)."""

# Trailing legal-form suffixes, as token sequences of normalised text ("B.C." → "b c").
LEGAL_SUFFIXES: tuple[tuple[str, ...], ...] = (
    ("ltd",),
    ("limited",),
    ("ltee",),
    ("limitee",),
    ("inc",),
    ("incorporated",),
    ("incorporee",),
    ("corp",),
    ("corporation",),
    ("llc",),
    ("llp",),
    ("lp",),
    ("ulc",),
    ("plc",),
    ("b", "c"),
    ("bc",),
)
# Words that start no prefix key: legal forms and short function words ("smith and sons ltd"
# is found by "smith", "sons", not by "and …" or "ltd"; the fuzzy tier still matches them).
NO_WORD_START = frozenset(token for suffix in LEGAL_SUFFIXES for token in suffix) | frozenset(
    ("and", "the", "of", "et", "de", "du", "des", "la", "le", "les")
)
_SUFFIX_BY_LAST: dict[str, list[list[str]]] = {}
for _suffix in LEGAL_SUFFIXES:
    _SUFFIX_BY_LAST.setdefault(_suffix[-1], []).append(list(_suffix))
_SUFFIX_LAST = frozenset(_SUFFIX_BY_LAST)
_NOT_WORD = re.compile(r"[\W_]+")  # \w is exactly str.isalnum() plus "_"
_DIGIT = re.compile(r"\d")


class Folding:
    """Letter rules, and the normalisation they make (see the module docstring).

    ``rules`` map a letter that has no Unicode decomposition (:func:`foldable_letters`) to its
    replacement; letters with a decomposition never reach them, NFKD has already made them base
    letters and marks. Foldings with the same rules are equal and share a :attr:`digest`.
    """

    __slots__ = ("_table", "digest", "rules")

    def __init__(self, rules: Mapping[str, str]) -> None:
        for letter, folded in rules.items():
            if not (isinstance(letter, str) and len(letter) == 1 and isinstance(folded, str)):
                raise ValueError(f"a folding rule maps one letter to a string: {letter!r}")
        self.rules: Mapping[str, str] = MappingProxyType(dict(sorted(rules.items())))
        self._table = {ord(letter): folded for letter, folded in self.rules.items()}
        listing = "".join(f"{letter}\t{folded}\n" for letter, folded in self.rules.items())
        self.digest = hashlib.sha256(listing.encode("utf-8", "surrogatepass")).hexdigest()

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Folding) and other.digest == self.digest

    def __hash__(self) -> int:
        return hash(self.digest)

    def __repr__(self) -> str:
        return f"Folding({len(self.rules)} rules, {self.digest[:12]})"

    def _fold_letters(self, text: str) -> str:
        """NFKD, combining marks stripped, then the letters NFKD leaves alone folded."""
        decomposed = unicodedata.normalize("NFKD", text)
        stripped = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
        return stripped.translate(self._table)

    def normalise(self, text: str) -> str:
        """The matching form of a name or query (see the module docstring)."""
        # Casefolding can produce characters that decompose or fold again (and the other way
        # round), so letters are folded on both sides of it; ASCII needs neither.
        if text.isascii():
            folded = text.lower()
        else:
            folded = self._fold_letters(self._fold_letters(text).casefold())
        return _NOT_WORD.sub(" ", folded.replace("&", " and ")).strip()

    def number_key(self, text: str) -> str:
        """A registration or business number without case, accents, spaces or punctuation."""
        return self.normalise(text).replace(" ", "")


UNACCENT = Folding(UNACCENT_LETTERS)
"""The rules shipped with orgbook: PostgreSQL's ``unaccent`` rules for letters
(:mod:`orgbook.search.unaccent_rules`)."""

NO_RULES = Folding({})
"""NFKD and casefolding alone."""


def normalise(text: str) -> str:
    """The matching form of a name or query, with the shipped rules (:data:`UNACCENT`)."""
    return UNACCENT.normalise(text)


def _foldable(ch: str) -> bool:
    """A letter (Unicode category ``L*``) with no decomposition: one a rule can apply to."""
    return ch.isalpha() and unicodedata.normalize("NFKD", ch) == ch


@functools.cache
def foldable_letters() -> tuple[str, ...]:
    """Every non-ASCII letter that has no decomposition, in this Python's Unicode version: the
    letters a :class:`Folding` rule can apply to."""
    return tuple(ch for ch in map(chr, range(0x80, sys.maxunicode + 1)) if _foldable(ch))


def rules_from(pairs: Iterable[tuple[str, str]]) -> dict[str, str]:
    """The letter rules among ``(letter, replacement)`` pairs (e.g. what PostgreSQL's
    ``unaccent()`` makes of each of :func:`foldable_letters`): those whose letter has no
    decomposition and whose replacement normalises differently; the others change nothing."""
    return {
        letter: folded
        for letter, folded in pairs
        if len(letter) == 1
        and _foldable(letter)
        and NO_RULES.normalise(folded) != NO_RULES.normalise(letter)
    }


def core_name(norm: str) -> str:
    """``norm`` (already normalised) without trailing legal-form suffixes; never empty if
    ``norm`` is not: "smith and sons ltd" → "smith and sons", "ltd" → "ltd"."""
    if norm.rpartition(" ")[2] not in _SUFFIX_LAST:
        return norm
    tokens = norm.split(" ")
    while len(tokens) > 1 and tokens[-1] in _SUFFIX_LAST:
        for suffix in _SUFFIX_BY_LAST[tokens[-1]]:
            n = len(suffix)
            if len(tokens) > n and tokens[-n:] == suffix:
                del tokens[-n:]
                break
        else:
            break
    return " ".join(tokens)


def number_key(text: str) -> str:
    """A registration or business number without case, accents, spaces or punctuation, with
    the shipped rules (:data:`UNACCENT`)."""
    return UNACCENT.number_key(text)


SAME_WORDS: dict[str, tuple[str, ...]] = {
    "st": ("saint",),
    "saint": ("st",),
    "ste": ("sainte",),
    "sainte": ("ste",),
    "and": ("et",),
    "et": ("and",),
}
"""Words a name may use for one another; ``&`` is already ``and``."""

MAX_WORD_VARIANTS = 16

NUMBER_PREFIXES = (
    "bc", "c", "a", "s", "fm", "cp", "xp", "xs", "xl", "xcp", "ll", "lp", "gp", "sp", "ulc",
)  # fmt: skip
"""Letter prefixes of registration numbers (BC's corporations, firms, societies, co-operatives,
extraprovincial and limited partnerships…) that a reader may leave out: ``0460007`` is
``BC0460007``."""


def word_variants(norm: str) -> list[str]:
    """``norm`` first, then the same with :data:`SAME_WORDS` exchanged, at most
    :data:`MAX_WORD_VARIANTS` in all: "st jean and fils" → "st jean and fils",
    "st jean et fils", "saint jean and fils", "saint jean et fils"."""
    out = [norm]
    if not norm:
        return out
    for i, token in enumerate(norm.split(" ")):
        others = SAME_WORDS.get(token)
        if not others:
            continue
        grown = []
        for variant in out:
            tokens = variant.split(" ")
            for other in others:
                tokens[i] = other
                grown.append(" ".join(tokens))
        out = list(dict.fromkeys(out + grown))[:MAX_WORD_VARIANTS]
    return out


def number_variants(key: str) -> list[str]:
    """Other number keys a query's number key ``key`` may mean (see the module docstring)."""
    out = []
    if key.isdigit() and len(key) <= 10:
        out += [prefix + key for prefix in NUMBER_PREFIXES]
    if len(key) > 9 and key[:9].isdigit():
        out.append(key[:9])  # a business number's root: the program account left out
    return out


def has_digit(text: str) -> bool:
    return _DIGIT.search(text) is not None


def word_starts(norm: str) -> list[tuple[int, int, str]]:
    """``(is_start, offset, key)`` for the name and its next :data:`MAX_WORD_STARTS` - 1 words
    (words in :data:`NO_WORD_START` excepted).

    ``key`` is ``norm[offset:offset + KEY_LEN]``; ``is_start`` is 1 for the start of the name.
    """
    if not norm:
        return []
    out = [(1, 0, norm[:KEY_LEN])]
    offset = norm.find(" ")
    words = 1
    while offset >= 0 and words < MAX_WORD_STARTS:
        start = offset + 1
        offset = norm.find(" ", start)
        words += 1
        if norm[start : offset if offset >= 0 else None] not in NO_WORD_START:
            out.append((0, start, norm[start : start + KEY_LEN]))
    return out


def successor(prefix: str) -> str:
    """The smallest string greater than every string that starts with ``prefix`` (non-empty)."""
    last = prefix[-1]
    return prefix[:-1] + chr(ord(last) + 1)
