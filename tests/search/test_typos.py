"""Typo correction's LIKE patterns are complete: every word within the allowed edits of a query
word matches one of them (so the pg_trgm lookup finds what the in-memory scan finds)."""

from __future__ import annotations

import itertools
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from rapidfuzz.distance import OSA

from orgbook.search.typos import MAX_ALTERNATIVES, best, closest, max_edits, patterns


def _one_edit_strings(word: str, alphabet: str) -> set[str]:
    """Every string one substitution, insertion, deletion or adjacent transposition away."""
    out = set()
    for i in range(len(word) + 1):
        for ch in alphabet:
            out.add(word[:i] + ch + word[i:])
            if i < len(word):
                out.add(word[:i] + ch + word[i + 1 :])
        if i < len(word):
            out.add(word[:i] + word[i + 1 :])
        if i < len(word) - 1:
            out.add(word[:i] + word[i + 1] + word[i] + word[i + 2 :])
    return out


def _within(word: str, alphabet: str) -> set[str]:
    """Every string within ``max_edits(word)`` OSA edits, over ``alphabet`` (exhaustive: a
    letter not in the word and not in a pattern stands for every such letter)."""
    reach = {word}
    for _ in range(max_edits(word)):
        reach |= {w for r in reach for w in _one_edit_strings(r, alphabet)}
    k = max_edits(word)
    return {w for w in reach if OSA.distance(word, w) <= k}


def _matcher(word: str) -> re.Pattern[str]:
    """The patterns of ``word`` as one regular expression with LIKE's meaning."""
    p = patterns(word)
    alternatives = [re.escape(e) for e in p.exact]
    for like in p.like:
        alternatives.append("".join({"%": ".*", "_": "."}.get(c, re.escape(c)) for c in like))
    return re.compile("(?:" + "|".join(alternatives) + ")", re.DOTALL)


def _matches(word: str, candidate: str, matcher: re.Pattern[str]) -> bool:
    p = patterns(word)
    return p.min_len <= len(candidate) <= p.max_len and matcher.fullmatch(candidate) is not None


@pytest.mark.parametrize("length", [4, 5, 6, 7, 8])
def test_every_word_within_the_allowed_edits_matches_a_pattern_exhaustively(length: int) -> None:
    """All query words over a two-letter alphabet (the hardest case: repeated letters), all
    strings within 1 (4–7 letters) or 2 (8+) edits over that alphabet plus a fresh letter."""
    for letters in itertools.product("ab", repeat=length):
        word = "".join(letters)
        matcher = _matcher(word)
        for candidate in _within(word, "abz"):
            assert _matches(word, candidate, matcher), (word, candidate)


@pytest.mark.parametrize("length", [4, 5, 6, 7])
def test_one_edit_patterns_match_exactly_the_words_one_edit_away(length: int) -> None:
    """For 4–7 letters the patterns are the neighbourhood itself: nothing two edits away."""
    for letters in itertools.product("ab", repeat=length):
        word = "".join(letters)
        matcher = _matcher(word)
        two_away = {w for r in _one_edit_strings(word, "abz") for w in _one_edit_strings(r, "abz")}
        for candidate in two_away:
            within = OSA.distance(word, candidate) <= 1
            assert _matches(word, candidate, matcher) == within, (word, candidate)


_EDIT = st.tuples(st.integers(0, 3), st.integers(0, 40), st.sampled_from("abcdz"))


def apply_edit(word: str, edit: tuple[int, int, str]) -> str:
    """``(op, at, letter)``: insert (0), substitute (1), delete (2) or swap with the next (3)."""
    op, at, ch = edit
    i = at % (len(word) + 1)
    if op == 0:
        return word[:i] + ch + word[i:]
    if i == len(word):
        return word
    if op == 1:
        return word[:i] + ch + word[i + 1 :]
    if op == 2:
        return word[:i] + word[i + 1 :]
    return word[:i] + word[i + 1 : i + 2] + word[i] + word[i + 2 :]


@settings(max_examples=3000, deadline=None)
@given(st.text("abcd", min_size=8, max_size=24), st.lists(_EDIT, max_size=3))
def test_long_words_two_edits_away_match_a_pattern(
    word: str, edits: list[tuple[int, int, str]]
) -> None:
    candidate = word
    for edit in edits:
        candidate = apply_edit(candidate, edit)
    if OSA.distance(word, candidate) <= 2:
        assert _matches(word, candidate, _matcher(word)), (word, candidate)


def test_edits_allowed_by_length() -> None:
    assert [max_edits("x" * n) for n in (1, 3, 4, 7, 8, 20)] == [0, 0, 1, 1, 2, 2]
    short = patterns("abc")
    assert (short.exact, short.like) == (frozenset({"abc"}), frozenset())
    assert (short.min_len, short.max_len) == (3, 3)


def test_closest_ranks_by_distance_then_code_point_and_keeps_five() -> None:
    vocabulary = ["smith", "smyth", "smithe", "smit", "mith", "snith", "swith", "zmith", "sith"]
    assert closest("smith", vocabulary) == ("smith", "mith", "sith", "smit", "smithe")
    assert closest("smiht", vocabulary) == ("smit", "smith")  # a transposition is one edit
    assert closest("smiht", ["smiht", *vocabulary]) == ("smiht", "smit", "smith")
    assert len(closest("smith", vocabulary)) == MAX_ALTERNATIVES
    assert closest("abc", ["abd", "abc"]) == ("abc",)  # under 4 letters: only itself
    assert best("w", [(2, "b"), (1, "z"), (1, "a"), (0, "w")]) == ("w", "a", "z", "b")
