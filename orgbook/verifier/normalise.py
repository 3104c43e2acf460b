"""Name and number normalisation for organisation search: the one place matching strings are made.

Both search backends (SQLite FTS5 and PostgreSQL) index and query the strings produced here, so
they match the same things; neither relies on a database's own accent folding, case folding or
tokeniser. Pure functions, no I/O.

* :func:`normalise` — NFKD, combining marks stripped, casefolded, ``&`` → ``and``, every other
  non-alphanumeric character → a space, spaces collapsed: ``"Société Générale & Fils, LTÉE."`` →
  ``"societe generale and fils ltee"``. Tokens are exactly ``normalise(s).split(" ")``.
* :func:`core_name` — a normalised name without trailing legal-form suffixes (LTD, LTÉE, INC,
  CORP, LIMITED, LIMITÉE, B.C. …), used for *exact name* matching; the display name keeps them.
* :func:`number_key` — registration and business numbers, case and punctuation removed.
* :func:`word_starts` — the keys of the word-start index (the name from each word on, truncated),
  used for prefix search and autocomplete.
"""

from __future__ import annotations

import unicodedata

KEY_LEN = 64
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


def _strip_marks(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def normalise(text: str) -> str:
    """The matching form of a name or query (see the module docstring)."""
    # Casefolding can produce characters that decompose again (and the other way round), so
    # marks are stripped on both sides of it; ASCII needs neither.
    folded = text.lower() if text.isascii() else _strip_marks(_strip_marks(text).casefold())
    folded = folded.replace("&", " and ")
    return " ".join("".join(ch if ch.isalnum() else " " for ch in folded).split())


def core_name(norm: str) -> str:
    """``norm`` (already normalised) without trailing legal-form suffixes; never empty if
    ``norm`` is not: "smith and sons ltd" → "smith and sons", "ltd" → "ltd"."""
    tokens = norm.split(" ")
    stripped = True
    while stripped:
        stripped = False
        for suffix in LEGAL_SUFFIXES:
            n = len(suffix)
            if len(tokens) > n and tuple(tokens[-n:]) == suffix:
                del tokens[-n:]
                stripped = True
                break
    return " ".join(tokens)


def number_key(text: str) -> str:
    """A registration or business number without case, accents, spaces or punctuation."""
    return normalise(text).replace(" ", "")


def has_digit(text: str) -> bool:
    return any(ch.isdigit() for ch in text)


def word_starts(norm: str) -> list[tuple[int, int, str]]:
    """``(is_start, offset, key)`` for the first :data:`MAX_WORD_STARTS` words of ``norm``.

    ``key`` is ``norm[offset:offset + KEY_LEN]``; ``is_start`` is 1 for the start of the name.
    """
    if not norm:
        return []
    out = [(1, 0, norm[:KEY_LEN])]
    offset = norm.find(" ")
    while offset >= 0 and len(out) < MAX_WORD_STARTS:
        start = offset + 1
        out.append((0, start, norm[start : start + KEY_LEN]))
        offset = norm.find(" ", start)
    return out


def successor(prefix: str) -> str:
    """The smallest string greater than every string that starts with ``prefix`` (non-empty)."""
    last = prefix[-1]
    return prefix[:-1] + chr(ord(last) + 1)
