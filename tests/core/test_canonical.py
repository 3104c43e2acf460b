"""RFC 8785 (JCS): published vectors, the RFC's number cases, key order, rejection, fast path.

Both paths of ``orgbook.core.canonical`` (the guarded orjson fast path and the ``rfc8785``
reference)
must give the same bytes on every published vector and on generated values.
"""

from __future__ import annotations

import re
import struct
import sys
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from orgbook.core.canonical import (
    MAX_DEPTH,
    Canonical,
    _fast_path_safe,
    canonicalize,
    canonicalize_reference,
    canonicalize_trusted,
    is_fast_path_safe,
    loads_strict,
    merge_objects,
)
from orgbook.core.errors import CanonicalizationError

JCS = Path(__file__).parent.parent / "vectors" / "jcs"
NAMES = sorted(p.stem for p in (JCS / "input").glob("*.json"))
BOTH = [canonicalize, canonicalize_reference]


def test_all_vectors_present() -> None:
    assert NAMES == ["arrays", "french", "structures", "unicode", "values", "weird"]


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("canon", BOTH, ids=["fast", "reference"])
def test_cyberphone_vectors(name: str, canon: Any) -> None:
    value = loads_strict((JCS / "input" / f"{name}.json").read_bytes())
    expected = (JCS / "output" / f"{name}.json").read_bytes()
    expected_hex = bytes.fromhex((JCS / "outhex" / f"{name}.txt").read_text())
    assert expected == expected_hex
    assert canon(value) == expected


# RFC 8785 Appendix B: IEEE 754 bit patterns and their JCS serialisation.
RFC_NUMBERS = [
    ("0000000000000000", "0"),
    ("8000000000000000", "0"),  # -0 serialises as 0
    ("0000000000000001", "5e-324"),
    ("8000000000000001", "-5e-324"),
    ("7fefffffffffffff", "1.7976931348623157e+308"),
    ("ffefffffffffffff", "-1.7976931348623157e+308"),
    ("4340000000000000", "9007199254740992"),
    ("c340000000000000", "-9007199254740992"),
    ("4430000000000000", "295147905179352830000"),
    ("44b52d02c7e14af5", "9.999999999999997e+22"),
    ("44b52d02c7e14af6", "1e+23"),
    ("44b52d02c7e14af7", "1.0000000000000001e+23"),
    ("444b1ae4d6e2ef4e", "999999999999999700000"),
    ("444b1ae4d6e2ef4f", "999999999999999900000"),
    ("444b1ae4d6e2ef50", "1e+21"),
    ("3eb0c6f7a0b5ed8c", "9.999999999999997e-7"),
    ("3eb0c6f7a0b5ed8d", "0.000001"),
    ("41b3de4355555553", "333333333.3333332"),
    ("41b3de4355555554", "333333333.33333325"),
    ("41b3de4355555555", "333333333.3333333"),
    ("41b3de4355555556", "333333333.3333334"),
    ("41b3de4355555557", "333333333.33333343"),
    ("becbf647612f3696", "-0.0000033333333333333333"),
    ("43143ff3c1cb0959", "1424953923781206.2"),
]


@pytest.mark.parametrize(("bits", "text"), RFC_NUMBERS)
@pytest.mark.parametrize("canon", BOTH, ids=["fast", "reference"])
def test_rfc8785_numbers(bits: str, text: str, canon: Any) -> None:
    (number,) = struct.unpack(">d", bytes.fromhex(bits))
    assert canon(number) == text.encode()
    assert canon([number]) == f"[{text}]".encode()


@pytest.mark.parametrize("bits", ["7fffffffffffffff", "7ff0000000000000", "fff0000000000000"])
@pytest.mark.parametrize("canon", BOTH, ids=["fast", "reference"])
def test_rfc8785_nan_and_infinity_rejected(bits: str, canon: Any) -> None:
    (number,) = struct.unpack(">d", bytes.fromhex(bits))
    with pytest.raises(CanonicalizationError):
        canon({"x": number})


@pytest.mark.parametrize("canon", BOTH, ids=["fast", "reference"])
def test_float_formatting(canon: Any) -> None:
    assert canon(1e21) == b"1e+21"
    assert canon(1e20) == b"100000000000000000000"
    assert canon(-0.0) == b"0"
    assert canon(1.0) == b"1"
    assert canon(0.1) == b"0.1"
    assert canon(1e-7) == b"1e-7"


@pytest.mark.parametrize("canon", BOTH, ids=["fast", "reference"])
def test_keys_sort_by_utf16_code_units(canon: Any) -> None:
    # U+1F600 is D83D DE00 in UTF-16, which sorts before U+FB33 although its code point is larger.
    value = {"\ufb33": "dalet", "\U0001f600": "smile", "a": 1, "\u00e9": 2}
    expected = '{"a":1,"\u00e9":2,"\U0001f600":"smile","\ufb33":"dalet"}'
    assert canon(value) == expected.encode()


@pytest.mark.parametrize("canon", BOTH, ids=["fast", "reference"])
def test_string_escapes(canon: Any) -> None:
    value = '\u0000\b\f\n\r\t\u001f\u007f"\\/\u2028\u00e9\U0001f600'
    expected = '"\\u0000\\b\\f\\n\\r\\t\\u001f\x7f\\"\\\\/\u2028\u00e9\U0001f600"'.encode()
    assert canon(value) == expected


def _plain_id(value: object) -> str:
    """A test id without backslashes: pytest escapes them in node ids, and an escaped id given
    back on the command line (as mutmut does, one test at a time) matches no test."""
    text = re.sub(r"\\+u", "U+", repr(value))
    return re.sub(r"\\+", "0", text)


@pytest.mark.parametrize("canon", BOTH, ids=["fast", "reference"])
@pytest.mark.parametrize(
    "value",
    [
        float("nan"),
        float("inf"),
        float("-inf"),
        2**53,
        -(2**53),
        2**64,
        {"n": [1, 2**60]},
        "\ud800",
        {"\udc00": 1},
        ["ok", "x\ud83d"],
        {1: "non-string key"},
        {"set": {1, 2}},
        b"bytes",
        object(),
    ],
    # Stable across processes (pytest-xdist compares ids): no memory addresses.
    ids=lambda v: "object()" if type(v) is object else _plain_id(v),
)
def test_unrepresentable_values_rejected(canon: Any, value: Any) -> None:
    with pytest.raises(CanonicalizationError):
        canon(value)


def test_safe_integer_boundary() -> None:
    limit = 2**53 - 1
    assert canonicalize(limit) == canonicalize_reference(limit) == str(limit).encode()
    assert canonicalize(-limit) == str(-limit).encode()


@pytest.mark.parametrize(
    "text",
    [
        '{"a": 1, "a": 2}',
        '{"x": {"b": 1, "b": 1}}',
        "NaN",
        '{"x": Infinity}',
        "[-Infinity]",
        '"\\ud800"',
        '{"\\udc00": 1}',
        '["\\ud83d x"]',
        '{"a": 1',
        "",
        b"\xff\xfe",
    ],
    ids=_plain_id,
)
def test_loads_strict_rejects(text: str | bytes) -> None:
    with pytest.raises(CanonicalizationError):
        loads_strict(text)


def test_loads_strict_accepts_surrogate_pairs_and_plain_json() -> None:
    assert loads_strict('{"\\ud83d\\ude00": [1, 2.5, true, null]}') == {
        "\U0001f600": [1, 2.5, True, None]
    }
    assert loads_strict(b'{"a": "\xc3\xa9"}') == {"a": "\u00e9"}


# --- the fast path against the reference on generated values -------------------------------------

_keys = st.text(max_size=8)
_scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**53) + 1, max_value=2**53 - 1)
    | st.text(max_size=20)
)
_json_no_floats = st.recursive(
    _scalars,
    lambda children: st.lists(children, max_size=5) | st.dictionaries(_keys, children, max_size=5),
    max_leaves=30,
)
_json_with_floats = st.recursive(
    _scalars | st.floats(allow_nan=False, allow_infinity=False),
    lambda children: st.lists(children, max_size=5) | st.dictionaries(_keys, children, max_size=5),
    max_leaves=30,
)


@settings(max_examples=400, deadline=None)
@given(_json_no_floats)
def test_fast_path_equals_reference(value: Any) -> None:
    assert canonicalize(value) == canonicalize_reference(value)


@settings(max_examples=300, deadline=None)
@given(_json_with_floats)
def test_fast_path_equals_reference_with_floats(value: Any) -> None:
    assert canonicalize(value) == canonicalize_reference(value)


@settings(max_examples=200, deadline=None)
@given(_json_no_floats, st.floats(allow_nan=False, allow_infinity=False))
def test_floats_force_the_reference_path(value: Any, number: float) -> None:
    wrapped = {"value": value, "number": number}
    assert not _fast_path_safe(wrapped)
    assert canonicalize(wrapped) == canonicalize_reference(wrapped)


@settings(max_examples=200, deadline=None)
@given(st.dictionaries(st.text(min_size=1, max_size=4), st.integers(0, 9), min_size=2, max_size=6))
def test_generated_keys_sort_like_utf16(value: dict[str, int]) -> None:
    out = loads_strict(canonicalize(value))
    assert list(out) == sorted(value, key=lambda k: k.encode("utf-16-be"))


# --- regressions: loads_strict defects these tests caught (overflow to inf, int digit limit,
# recursion in the surrogate walk) ------------------------------------------------------------


@pytest.mark.parametrize("text", ["1e400", "[-1e400]"])
def test_loads_strict_rejects_overflowing_numbers(text: str) -> None:
    with pytest.raises(CanonicalizationError):
        loads_strict(text)


def test_loads_strict_wraps_huge_integer_literal() -> None:
    with pytest.raises(CanonicalizationError):
        loads_strict("1" * 5000)


def test_loads_strict_rejects_a_literal_lone_surrogate_in_str_input() -> None:
    # No \\u escape in the text: the surrogate is in the Python str itself.
    with pytest.raises(CanonicalizationError):
        loads_strict('{"name": "a\ud800b"}')
    with pytest.raises(CanonicalizationError):
        loads_strict('["\udfff"]')


@pytest.mark.parametrize("text_type", [str, bytes])
def test_loads_strict_depth_limit_holds_without_escapes(text_type: type) -> None:
    at_limit = "[" * MAX_DEPTH + "]" * MAX_DEPTH  # deepest container at depth MAX_DEPTH - 1
    beyond = "[" * (MAX_DEPTH + 1) + "]" * (MAX_DEPTH + 1)
    encode = (lambda t: t.encode()) if text_type is bytes else (lambda t: t)
    assert loads_strict(encode(at_limit)) is not None
    with pytest.raises(CanonicalizationError):
        loads_strict(encode(beyond))


def test_loads_strict_deep_nesting_is_a_canonicalization_error() -> None:
    depth = 600  # parses fine (C scanner); the Python walk needs ~2 frames per level
    with pytest.raises(CanonicalizationError):
        loads_strict("[" * depth + "]" * depth)


# --- pre-canonical fragments ------------------------------------------------------------------


def _wrap_some(value: Any, pick: int) -> Any:
    """``value`` with some of its members replaced by ``Canonical`` fragments."""
    if isinstance(value, dict):
        return {
            key: Canonical.of(item) if (pick + i) % 3 == 0 else _wrap_some(item, pick + 1)
            for i, (key, item) in enumerate(value.items())
        }
    if isinstance(value, list):
        return [
            Canonical.of(item) if (pick + i) % 2 == 0 else _wrap_some(item, pick + 1)
            for i, item in enumerate(value)
        ]
    return value


@settings(max_examples=300, deadline=None)
@given(_json_with_floats, st.integers(0, 5))
def test_canonical_fragments_are_embedded_byte_for_byte(value: Any, pick: int) -> None:
    wrapped = {"outer": _wrap_some(value, pick), "whole": Canonical.of(value), "n": 1}
    plain = {"outer": value, "whole": value, "n": 1}
    assert canonicalize(wrapped) == canonicalize_reference(plain)


def test_canonical_fragment_next_to_a_float_takes_the_reference_path() -> None:
    wrapped = {"a": Canonical.of({"b": [1, "é"]}), "f": 1.5}
    assert canonicalize(wrapped) == b'{"a":{"b":[1,"\xc3\xa9"]},"f":1.5}'


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(_keys, _scalars, max_size=8), st.text(max_size=3))
def test_merge_objects_of_a_split_object(value: dict[str, Any], pivot: str) -> None:
    def order(key: str) -> bytes:
        return key.encode("utf-16-be")

    before = {k: v for k, v in value.items() if order(k) < order(pivot)}
    after = {k: v for k, v in value.items() if order(k) >= order(pivot)}
    merged = merge_objects(canonicalize(before), canonicalize({}), canonicalize(after))
    assert merged == canonicalize_reference(value)


@settings(max_examples=300, deadline=None)
@given(_json_no_floats)
def test_trusted_path_equals_reference_without_floats(value: Any) -> None:
    # Generated keys include non-BMP text: only safe values may be vouched for.
    if is_fast_path_safe(value):
        assert canonicalize_trusted(value) == canonicalize_reference(value)


def test_trusted_path_falls_back_on_what_orjson_refuses() -> None:
    assert canonicalize_trusted({"n": -(2**53) + 1}) == b'{"n":-9007199254740991}'
    with pytest.raises(CanonicalizationError):
        canonicalize_trusted({"n": 2**53})
    with pytest.raises(CanonicalizationError):
        canonicalize_trusted({"s": "\ud800"})
    assert canonicalize_trusted({"a": Canonical.of([1, "x"])}) == b'{"a":[1,"x"]}'


# --- what a caller reads: the errors loads_strict raises, and fragments --------------------------


def _refusal(text: str | bytes) -> str:
    with pytest.raises(CanonicalizationError) as raised:
        loads_strict(text)
    return str(raised.value.detail)


def test_loads_strict_says_why_it_refuses() -> None:
    assert _refusal('{"a": 1,}') == (
        "malformed JSON at line 1 column 9: Expecting property name enclosed in double quotes"
    )
    assert _refusal('{"a": NaN}') == "NaN is not valid JSON (RFC 8259) and has no JCS form"
    assert _refusal("[1e400]") == "number 1e400 is out of the IEEE 754 double range"
    long_number = "9" * 400 + ".5e400"
    assert _refusal(long_number) == (
        f"number {long_number[:40]} is out of the IEEE 754 double range"
    )
    assert _refusal(b'"\xff"') == "JSON text is not UTF-8: invalid start byte"
    assert _refusal('"\\ud800"') == "JSON text contains a lone surrogate escape"
    assert _refusal("1" * 5000).startswith("unrepresentable JSON number: ")
    assert _refusal('{"a": 1, "a": 2}') == "duplicate object key 'a'"


def test_loads_strict_names_the_depth_limit_and_a_stack_overflow() -> None:
    beyond = "[" * (MAX_DEPTH + 1) + "]" * (MAX_DEPTH + 1)
    assert _refusal(beyond) == f"JSON nested deeper than {MAX_DEPTH} levels"
    # Deeper than Python's parser can recurse: still a CanonicalizationError, not a crash.
    assert _refusal("[" * 100_000 + "]" * 100_000) == "JSON nested too deeply"


def test_the_depth_limit_counts_objects_as_well_as_arrays() -> None:
    def objects(depth: int) -> str:
        return '{"a":' * depth + "1" + "}" * depth

    assert loads_strict(objects(MAX_DEPTH)) is not None
    assert _refusal(objects(MAX_DEPTH + 1)) == f"JSON nested deeper than {MAX_DEPTH} levels"


def test_a_lone_surrogate_anywhere_in_a_list_is_found() -> None:
    # The walk must look at every string, not stop at the first valid one.
    assert _refusal('["\\ud800", "ok", "fine"]') == "JSON text contains a lone surrogate escape"
    assert _refusal('{"k": ["\\udc00", "ok"], "z": "ok"}') == (
        "JSON text contains a lone surrogate escape"
    )


def test_a_fragment_carries_the_canonical_bytes_it_was_built_with() -> None:
    value = {"b": [1, "é"], "a": True}
    fragment = Canonical.of(value)
    assert fragment.value is value
    assert fragment.data == canonicalize(value) == b'{"a":true,"b":[1,"\xc3\xa9"]}'


def test_a_fragments_bytes_are_embedded_as_they_are_not_recomputed() -> None:
    # The point of a fragment is that a large value is canonicalised once: its bytes are used,
    # its value is not walked again (here they disagree, to show which one is used).
    fragment = Canonical({"x": 1}, b'{"x":2}')
    assert canonicalize({"k": fragment}) == b'{"k":{"x":2}}'
    assert canonicalize_trusted({"k": fragment}) == b'{"k":{"x":2}}'
    assert canonicalize([fragment]) == b'[{"x":2}]'


def test_which_values_the_fast_path_may_render() -> None:
    assert is_fast_path_safe({"a": [1, "x", None, True], "b": {"c": -(2**53 - 1)}})
    assert not is_fast_path_safe({"a": 1.5})
    assert not is_fast_path_safe([2**53])
    assert not is_fast_path_safe({"\U0001f600": 1})
    assert not is_fast_path_safe(float("nan"))


def test_the_reference_path_says_what_cannot_be_canonicalised() -> None:
    def refusal(value: Any) -> str:
        with pytest.raises(CanonicalizationError) as raised:
            canonicalize_reference(value)
        return str(raised.value.detail)

    assert refusal(2**53) == (
        "integer outside the JSON-safe range ±(2^53-1) cannot be canonicalized"
    )
    assert refusal(float("nan")) == "NaN and Infinity have no JSON representation"
    assert refusal(float("-inf")) == "NaN and Infinity have no JSON representation"
    assert refusal({1: "x"}).startswith("cannot canonicalize: ")
    assert refusal(object()).startswith("cannot canonicalize: ")
    deep: list[Any] = []
    for _ in range(5000):
        deep = [deep]
    assert refusal(deep).startswith("cannot canonicalize: ")  # RecursionError, said as such
    # canonicalize gives the same words: it hands what it cannot render to the reference.
    with pytest.raises(CanonicalizationError) as raised:
        canonicalize({"n": 2**60})
    assert raised.value.detail == refusal(2**60)


def test_a_value_nested_too_deeply_is_a_canonicalization_error() -> None:
    # Through the reference path (a float keeps it off orjson's): it once raised RecursionError.
    deep: Any = [1.5]
    for _ in range(100_000):
        deep = [deep]
    with pytest.raises(CanonicalizationError, match="nested too deeply"):
        canonicalize(deep)


def test_canonicalize_from_a_deep_stack_is_a_canonicalization_error_not_a_recursion_error() -> None:
    # A value the fast path takes (no float), 150 deep: fine from a shallow stack, but with only
    # ≈ 60 frames left the guard's own walk runs out of them, which must read as too deep.
    deep: Any = [1]
    for _ in range(150):
        deep = [deep]
    assert canonicalize(deep) == b"[" * 151 + b"1" + b"]" * 151
    depth = 0
    frame = sys._getframe()
    while frame is not None:
        depth += 1
        frame = frame.f_back
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(depth + 60)
    try:
        with pytest.raises(CanonicalizationError, match="nested too deeply"):
            canonicalize(deep)
    finally:
        sys.setrecursionlimit(limit)


def test_a_float_below_the_guards_depth_limit_still_takes_the_reference_path() -> None:
    # The guard stops walking after 200 levels and answers "not safe": a float deeper than
    # that (orjson writes 1.0 and 1e+20, RFC 8785 writes 1 and 100000000000000000000) is still
    # rendered by the reference, not by orjson. (More frames than the default, for a stack
    # already deep or instrumented, e.g. by mutmut: the walk itself is 200 calls deep.)
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(max(limit, 10_000))
    try:
        for number, text in ((1.0, b"1"), (1e20, b"100000000000000000000")):
            deep: Any = [number]
            for _ in range(204):
                deep = [deep]
            assert not _fast_path_safe(deep)
            expected = b"[" * 205 + text + b"]" * 205
            assert canonicalize(deep) == expected == canonicalize_reference(deep)
    finally:
        sys.setrecursionlimit(limit)
