"""The matching form of names and numbers: accents, case, punctuation, ``&``, legal suffixes."""

from __future__ import annotations

import unicodedata
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from orgbook.search.normalise import (
    KEY_LEN,
    MAX_WORD_STARTS,
    NO_RULES,
    UNACCENT,
    Folding,
    core_name,
    foldable_letters,
    normalise,
    number_key,
    rules_from,
    successor,
    word_starts,
)
from orgbook.search.unaccent_rules import UNACCENT_LETTERS


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
        ("Œuvres Ça İstanbul", "oeuvres ca istanbul"),
        # letters with no decomposition, folded as PostgreSQL's unaccent folds them
        ("Łódź Ørsted Đorđević", "lodz orsted dordevic"),
        ("Æther Þórr Straße Işık", "aether thorr strasse isik"),
        ("1287139 B.C. LTD.", "1287139 b c ltd"),
        ("", ""),
        ("!!!", ""),
    ],
)
def test_normalise(raw: str, expected: str) -> None:
    assert normalise(raw) == expected


def _reference(text: str) -> str:
    """The definition, spelt out: NFKD, marks stripped, unaccent letters folded, casefold,
    & → and, non-alnum → space."""
    import unicodedata

    def strip(s: str) -> str:
        decomposed = unicodedata.normalize("NFKD", s)
        kept = "".join(c for c in decomposed if not unicodedata.combining(c))
        return "".join(UNACCENT_LETTERS.get(c, c) for c in kept)

    folded = strip(strip(text).casefold()).replace("&", " and ")
    return " ".join("".join(c if c.isalnum() else " " for c in folded).split())


@given(st.text(max_size=60))
def test_normalise_matches_its_definition(text: str) -> None:
    assert normalise(text) == _reference(text)


_TRICKY = st.text(alphabet="".join(UNACCENT_LETTERS) + "ǰẞİŉℌﬁ&é -.", max_size=30)


@given(st.text(max_size=60) | _TRICKY)
def test_normalise_is_idempotent(text: str) -> None:
    once = normalise(text)
    assert normalise(once) == once


def _rules_file(path: Path) -> list[tuple[str, str]]:
    """``unaccent.rules``: a source, then a tab and its replacement (none: remove it)."""
    lines = path.read_text(encoding="utf-8").splitlines()
    return [(source, folded) for source, _, folded in (line.partition("\t") for line in lines)]


def test_the_shipped_rules_are_the_letter_rules_of_postgresql_unaccent_rules(
    vectors: Path,
) -> None:
    pairs = _rules_file(vectors / "postgresql-unaccent" / "unaccent.rules")
    assert len(pairs) == 1650
    assert rules_from(pairs) == dict(UNACCENT_LETTERS)
    assert Folding(rules_from(pairs)) == UNACCENT


def test_rules_from_keeps_only_rules_that_change_a_letter_nfkd_leaves_alone() -> None:
    pairs = [
        ("ø", "o"),  # kept: NFKD leaves "ø" alone
        ("é", "e"),  # dropped: NFKD already folds it
        ("ß", "ss"),  # dropped: casefolding already makes "ss"
        ("©", "(C)"),  # dropped: a symbol is a word break
        ("ǆ", "dz"),  # dropped: has a compatibility decomposition
        ("ʒ", "ʒ"),  # dropped: changes nothing
        ("Ж", "Zh"),  # kept: a transliteration an administrator added
    ]
    assert rules_from(pairs) == {"ø": "o", "Ж": "Zh"}
    assert "ø" in foldable_letters()
    assert "é" not in foldable_letters()
    assert all(not ch.isascii() for ch in foldable_letters())


def test_a_folding_normalises_with_its_own_rules() -> None:
    danish = Folding({**UNACCENT.rules, "ø": "oe", "Ø": "OE"})
    assert danish.normalise("Ørsted Ølbryggeri") == "oersted oelbryggeri"
    assert UNACCENT.normalise("Ørsted Ølbryggeri") == "orsted olbryggeri"
    assert NO_RULES.normalise("Ørsted Łódź") == "ørsted łodz"
    assert danish.number_key("ØK-12 34") == "oek1234"
    assert danish.normalise("Smith & Sons") == normalise("Smith & Sons")  # ASCII: no rules apply
    assert normalise("Łódź Œuvres") == UNACCENT.normalise("Łódź Œuvres") == "lodz oeuvres"
    # equal rules, equal foldings (whatever their order), and one digest
    assert Folding(dict(reversed(list(danish.rules.items())))) == danish
    assert len({danish.digest, UNACCENT.digest, NO_RULES.digest}) == 3
    with pytest.raises(ValueError, match="one letter"):
        Folding({"ll": "l"})


def test_every_unaccent_letter_folds_to_ascii() -> None:
    for letter, ascii in UNACCENT_LETTERS.items():
        assert normalise(letter) == normalise(ascii), letter
        assert normalise(letter).isascii(), letter


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


# Where NFKD and PostgreSQL's rules disagree, NFKD is followed: "ẚ" decomposes to "a" and a
# modifier letter the rules do not fold; the rules map "ℌ" (black-letter H) to "x".
_NOT_AS_UNACCENT = {"ẚ": "aʾ", "ℌ": "h"}


@pytest.mark.postgres
def test_normalise_folds_every_letter_postgresql_unaccent_folds(pg_url: str) -> None:
    """Whatever PostgreSQL's ``unaccent()`` does to a letter, or to a name of the test and
    benchmark generators, ``normalise`` already does: ``normalise(unaccent(s)) == normalise(s)``.
    """
    from sqlalchemy import text

    from bench.search_bench import generate
    from orgbook.storage.engine import make_engine
    from tests.search.test_search import ALL_DOCS

    letters = [chr(c) for c in range(0x80, 0x30000) if unicodedata.category(chr(c))[0] == "L"]
    docs = [*ALL_DOCS, *generate(5000, seed=3)]
    names = [entry.name for doc in docs for entry in doc.names]
    tricky = ["Łódź Œuvres Ørsted", "ÆTHER Þórr STRASSE", "Đorđević & Işık, Ltée.", "ǅemal"]
    engine = make_engine(pg_url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(
                text("SELECT s, unaccent(s) FROM unnest(CAST(:strings AS text[])) AS t(s)"),
                {"strings": letters + names + tricky},
            ).all()
    finally:
        engine.dispose()
    assert len(rows) == len(letters) + len(names) + len(tricky)
    differ = {s: normalise(s) for s, folded in rows if normalise(folded) != normalise(s)}
    assert differ == _NOT_AS_UNACCENT
