"""The matching form of names and numbers: accents, case, punctuation, ``&``, legal suffixes."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from orgbook.verifier.normalise import (
    KEY_LEN,
    MAX_WORD_STARTS,
    core_name,
    normalise,
    number_key,
    successor,
    word_starts,
)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Société Générale", "societe generale"),
        ("SMITH AND SONS LTD.", "smith and sons ltd"),
        ("Smith & Sons", "smith and sons"),
        ("Smith&Sons", "smith and sons"),
        ("  O'Brien -- (Holdings),  Inc. ", "o brien holdings inc"),
        ("BOULANGERIE LÉVESQUE LTÉE", "boulangerie levesque ltee"),
        ("Straße", "strasse"),
        ("ＡＢＣ ① Ltd", "abc 1 ltd"),  # NFKD: full-width letters, circled digits
        ("Œuvres Ça İstanbul", "œuvres ca istanbul"),
        ("1287139 B.C. LTD.", "1287139 b c ltd"),
        ("", ""),
        ("!!!", ""),
    ],
)
def test_normalise(raw: str, expected: str) -> None:
    assert normalise(raw) == expected


def _reference(text: str) -> str:
    """The definition, spelt out: NFKD, marks stripped, casefold, & → and, non-alnum → space."""
    import unicodedata

    def strip(s: str) -> str:
        return "".join(c for c in unicodedata.normalize("NFKD", s) if not unicodedata.combining(c))

    folded = strip(strip(text).casefold()).replace("&", " and ")
    return " ".join("".join(c if c.isalnum() else " " for c in folded).split())


@given(st.text(max_size=60))
def test_normalise_matches_its_definition(text: str) -> None:
    assert normalise(text) == _reference(text)


def test_normalise_is_idempotent() -> None:
    for raw in ("Société Générale & Fils, Ltée.", "ＡＢＣ", "Straße", "ǰ"):
        once = normalise(raw)
        assert normalise(once) == once


@pytest.mark.parametrize(
    ("norm", "core"),
    [
        ("smith and sons ltd", "smith and sons"),
        ("smith and sons limited", "smith and sons"),
        ("boulangerie levesque ltee", "boulangerie levesque"),
        ("boulangerie levesque limitee", "boulangerie levesque"),
        ("acme holdings inc", "acme holdings"),
        ("acme corp", "acme"),
        ("1287139 b c ltd", "1287139"),
        ("ltd", "ltd"),  # never empty
        ("limited edition ltd", "limited edition"),  # only trailing suffixes
        ("", ""),
    ],
)
def test_core_name(norm: str, core: str) -> None:
    assert core_name(norm) == core


def test_number_key() -> None:
    assert number_key("BC 128-7139") == "bc1287139"
    assert number_key("123 456 789 RC0001") == "123456789rc0001"


def test_word_starts() -> None:
    assert word_starts("smith and sons") == [(1, 0, "smith and sons"), (0, 10, "sons")]
    # legal forms and function words start no key of their own
    assert [k for _, _, k in word_starts("cafe du port ltee")] == ["cafe du port ltee", "port ltee"]
    assert word_starts("") == []
    long = " ".join(f"w{i}" for i in range(20)) + " " + "x" * 100
    starts = word_starts(long)
    assert len(starts) == MAX_WORD_STARTS
    assert all(len(key) <= KEY_LEN for _, _, key in starts)


def test_successor_bounds_prefix_range() -> None:
    lo = "soci"
    hi = successor(lo)
    assert lo <= "societe" < hi
    assert not lo <= "socj" < hi
