"""orgbook.ledger.merkle against a naive reference written from the RFC 9162 §2.1 definitions.

The reference below is MTH, PATH and SUBPROOF exactly as RFC 9162 §2.1.1, §2.1.3.1 and §2.1.4.1
define them (recursive, over leaf *data*, with nothing shared with the module under test). Each
proof element is tagged with its role, which gives the proof's *shape*:

- inclusion: ``R`` a right sibling, ``L`` a left sibling (bottom-up);
- consistency: ``S`` the seed subtree hash, ``L`` a left sibling (in both trees), ``R`` a right
  sibling (only in the new tree); no ``S`` when the old tree is a complete left-most subtree.

A proof for one (index, size) or (old, new) verifies under another exactly when the shapes are
equal: the verifier then performs the very same hashing (e.g. the proof of leaf 0 in a tree of
5 also "proves" leaf 0 in a tree of 8 under the size-5 root, since an opaque root cannot say how
many leaves sit under it). The mutation tests below assert that equivalence, so a wrong size or
index is rejected whenever it changes what the verifier would compute.

Exhaustive: every index of every tree size up to 260 (inclusion) and every (old, new) pair up to
130 (consistency), with truncation, extension, wrong index, wrong size, swapped roots and bit
flips; every bit of every proof element for small trees. Hypothesis covers larger, random trees
and arbitrary garbage arguments.
"""

from __future__ import annotations

import functools
import hashlib
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from orgbook.ledger.merkle import (
    consistency_proof,
    inclusion_proof,
    root_hash,
    verify_consistency,
    verify_inclusion,
)

MAX_INCLUSION = 260
MAX_CONSISTENCY = 130
MAX_RANDOM = 3000
ALL_BITS_UP_TO = 12

# Distinct leaf data, so that no two subtrees at one level hash alike.
DATA = [b"orgbook leaf " + i.to_bytes(4, "big") for i in range(MAX_RANDOM)]
LEAVES = [hashlib.sha256(b"\x00" + d).digest() for d in DATA]

Tagged = list[tuple[bytes, str]]

# --- the reference, straight from RFC 9162 §2.1 -----------------------------------------------


def _k(n: int) -> int:
    """The largest power of two smaller than n (n > 1), found the slow, obvious way."""
    k = 1
    while k * 2 < n:
        k *= 2
    return k


@functools.cache
def ref_mth(lo: int, hi: int) -> bytes:
    """MTH(D[lo:hi]) over the leaf data."""
    n = hi - lo
    if n == 0:
        return hashlib.sha256(b"").digest()
    if n == 1:
        return hashlib.sha256(b"\x00" + DATA[lo]).digest()
    k = _k(n)
    return hashlib.sha256(b"\x01" + ref_mth(lo, lo + k) + ref_mth(lo + k, hi)).digest()


def ref_path(m: int, lo: int, hi: int) -> Tagged:
    """PATH(m, D[lo:hi]), each element tagged with the side its sibling is on."""
    n = hi - lo
    if n == 1:
        return []
    k = _k(n)
    if m < k:
        return [*ref_path(m, lo, lo + k), (ref_mth(lo + k, hi), "R")]
    return [*ref_path(m - k, lo + k, hi), (ref_mth(lo, lo + k), "L")]


def ref_subproof(m: int, lo: int, hi: int, b: bool) -> Tagged:
    """SUBPROOF(m, D[lo:hi], b)."""
    n = hi - lo
    if m == n:
        return [] if b else [(ref_mth(lo, hi), "S")]
    k = _k(n)
    if m <= k:
        return [*ref_subproof(m, lo, lo + k, b), (ref_mth(lo + k, hi), "R")]
    return [*ref_subproof(m - k, lo + k, hi, False), (ref_mth(lo, lo + k), "L")]


def ref_proof(m: int, n: int) -> Tagged:
    """PROOF(m, D[n]); empty from 0 (C2SP tlog-witness) and between equal sizes."""
    return ref_subproof(m, 0, n, True) if 0 < m < n else []


def _path_roles(m: int, n: int) -> tuple[str, ...]:
    """The roles in PATH(m, D[n]): the same recursion as ref_path, without hashing."""
    if n == 1:
        return ()
    k = _k(n)
    return (*_path_roles(m, k), "R") if m < k else (*_path_roles(m - k, n - k), "L")


def _subproof_roles(m: int, n: int, b: bool) -> tuple[str, ...]:
    """The roles in SUBPROOF(m, D[n], b): the same recursion as ref_subproof."""
    if m == n:
        return () if b else ("S",)
    k = _k(n)
    if m <= k:
        return (*_subproof_roles(m, k, b), "R")
    return (*_subproof_roles(m - k, n - k, False), "L")


def inclusion_shape(index: int, size: int) -> tuple[str, ...] | None:
    if not 0 <= index < size:
        return None
    return _path_roles(index, size)


def consistency_shape(old: int, new: int) -> tuple[str, ...] | None:
    if not 0 < old < new:
        return None  # the only valid proofs there are empty; the mutated ones are not
    return _subproof_roles(old, new, True)


def hashes(tagged: Tagged) -> list[bytes]:
    return [h for h, _ in tagged]


def _node(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def flip(proof: list[bytes], element: int, bit: int) -> list[bytes]:
    out = list(proof)
    value = bytearray(out[element])
    value[bit // 8] ^= 1 << (bit % 8)
    out[element] = bytes(value)
    return out


# --- the reference itself against known answers -------------------------------------------------


def test_reference_matches_known_roots() -> None:
    """Guards the reference: RFC 6962 test roots (transparency-dev/merkle testonly/constants.go)."""
    leaf_inputs = ["", "00", "10", "2021", "3031", "40414243", "5051525354555657"]
    data = [bytes.fromhex(x) for x in leaf_inputs]
    saved = DATA[: len(data)]
    DATA[: len(data)] = data
    ref_mth.cache_clear()
    try:
        assert ref_mth(0, 7).hex() == (
            "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c"
        )
        assert ref_mth(0, 5).hex() == (
            "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4"
        )
    finally:
        DATA[: len(data)] = saved
        ref_mth.cache_clear()


# --- roots --------------------------------------------------------------------------------------


def test_root_of_every_size_matches_reference() -> None:
    for size in range(MAX_INCLUSION + 1):
        assert root_hash(LEAVES[:size]) == ref_mth(0, size), size


# --- inclusion, exhaustive ---------------------------------------------------------------------


def _inclusion_mutations(
    index: int, size: int, proof: list[bytes], root: bytes
) -> list[tuple[str, tuple[Any, ...], bool]]:
    """(what, verify_inclusion arguments, expected) for every structural mutation."""
    leaf = LEAVES[index]
    other_root = ref_mth(0, size + 1)
    out: list[tuple[str, tuple[Any, ...], bool]] = [
        ("swapped leaf and root", (root, index, size, proof, leaf), size == 1),
        ("other root", (leaf, index, size, proof, other_root), False),
        ("other leaf", (LEAVES[(index + 1) % size], index, size, proof, root), size == 1),
        ("extended with root", (leaf, index, size, [*proof, root], root), False),
        ("extended with copy", (leaf, index, size, [*proof, (proof or [leaf])[-1]], root), False),
        ("prepended leaf", (leaf, index, size, [leaf, *proof], root), False),
        # One level above the root: RFC 9162 §2.1.3.2 step 4a, a path longer than the tree.
        ("past the root", (leaf, index, size, [*proof, leaf], _node(leaf, root)), False),
        ("prepended zeros", (leaf, index, size, [bytes(32), *proof], root), False),
        ("reversed", (leaf, index, size, proof[::-1], root), len(proof) < 2),
    ]
    if proof:
        out.append(("truncated end", (leaf, index, size, proof[:-1], root), False))
        out.append(("truncated start", (leaf, index, size, proof[1:], root), False))
    shape = inclusion_shape(index, size)
    for wrong in {index - 1, index + 1, index ^ 1, index ^ 2, size, 2 * size} - {index}:
        # A different leaf of the same tree never has the same path.
        out.append((f"index {wrong}", (leaf, wrong, size, proof, root), False))
    for wrong in {size - 1, size + 1, 2 * size, size // 2, size + (1 << len(proof))} - {size}:
        same = inclusion_shape(index, wrong) == shape
        out.append((f"size {wrong}", (leaf, index, wrong, proof, root), same))
    return out


@pytest.mark.parametrize("size", range(1, MAX_INCLUSION + 1))
def test_inclusion_every_index(size: int) -> None:
    leaves = LEAVES[:size]
    root = ref_mth(0, size)
    for index in range(size):
        want = ref_path(index, 0, size)
        proof = inclusion_proof(index, leaves)
        assert proof == hashes(want), index
        assert verify_inclusion(leaves[index], index, size, proof, root), index
        if size > MAX_CONSISTENCY and index % 7:
            continue  # mutations on every 7th index of the biggest trees keep the suite fast
        for what, args, expected in _inclusion_mutations(index, size, proof, root):
            assert verify_inclusion(*args) is expected, (index, what)
        for element in range(len(proof)):
            bit = (index * 31 + element * 7) % 256
            assert not verify_inclusion(leaves[index], index, size, flip(proof, element, bit), root)


@pytest.mark.parametrize("size", range(1, ALL_BITS_UP_TO + 1))
def test_inclusion_every_bit_flip(size: int) -> None:
    root = ref_mth(0, size)
    for index in range(size):
        proof = hashes(ref_path(index, 0, size))
        leaf = LEAVES[index]
        for bit in range(256):
            assert not verify_inclusion(flip([leaf], 0, bit)[0], index, size, proof, root)
            assert not verify_inclusion(leaf, index, size, proof, flip([root], 0, bit)[0])
            for element in range(len(proof)):
                bad = flip(proof, element, bit)
                assert not verify_inclusion(leaf, index, size, bad, root), (index, element, bit)


# --- consistency, exhaustive -------------------------------------------------------------------


def _consistency_mutations(
    old: int, new: int, proof: list[bytes], old_root: bytes, new_root: bytes
) -> list[tuple[str, tuple[Any, ...], bool]]:
    shape = consistency_shape(old, new)
    out: list[tuple[str, tuple[Any, ...], bool]] = [
        ("swapped roots", (old, new, new_root, old_root, proof), False),
        ("old root twice", (old, new, old_root, old_root, proof), False),
        ("new root twice", (old, new, new_root, new_root, proof), False),
        ("empty proof", (old, new, old_root, new_root, []), False),
        ("truncated end", (old, new, old_root, new_root, proof[:-1]), False),
        ("truncated start", (old, new, old_root, new_root, proof[1:]), False),
        ("extended with old root", (old, new, old_root, new_root, [*proof, old_root]), False),
        ("extended with new root", (old, new, old_root, new_root, [*proof, new_root]), False),
        ("extended with copy", (old, new, old_root, new_root, [*proof, proof[-1]]), False),
        ("prepended old root", (old, new, old_root, new_root, [old_root, *proof]), False),
        (
            "past the root",
            (old, new, old_root, _node(old_root, new_root), [*proof, old_root]),
            False,
        ),
        ("prepended first", (old, new, old_root, new_root, [proof[0], *proof]), False),
        ("prepended zeros", (old, new, old_root, new_root, [bytes(32), *proof]), False),
        ("reversed", (old, new, old_root, new_root, proof[::-1]), len(proof) < 2),
    ]
    wrong_old = {old - 1, old + 1, old ^ 1, old ^ 2, old // 2, 2 * old, 0, new, new + 1}
    for wrong in wrong_old - {old}:
        same = consistency_shape(wrong, new) == shape
        out.append((f"old size {wrong}", (wrong, new, old_root, new_root, proof), same))
    wrong_new = {new - 1, new + 1, 2 * new, new // 2, old, new + (1 << len(proof))}
    for wrong in wrong_new - {new}:
        same = consistency_shape(old, wrong) == shape
        out.append((f"new size {wrong}", (old, wrong, old_root, new_root, proof), same))
    return out


@pytest.mark.parametrize("new", range(MAX_CONSISTENCY + 1))
def test_consistency_every_pair(new: int) -> None:
    leaves = LEAVES[:new]
    new_root = ref_mth(0, new)
    for old in range(new + 1):
        old_root = ref_mth(0, old)
        proof = consistency_proof(old, leaves)
        assert proof == hashes(ref_proof(old, new)), old
        assert verify_consistency(old, new, old_root, new_root, proof), old
        if old in (0, new):
            assert proof == []
            continue
        for what, args, expected in _consistency_mutations(old, new, proof, old_root, new_root):
            assert verify_consistency(*args) is expected, (old, what)
        for element in range(len(proof)):
            bad = flip(proof, element, (old * 31 + element * 7) % 256)
            assert not verify_consistency(old, new, old_root, new_root, bad), (old, element)


@pytest.mark.parametrize("new", range(2, ALL_BITS_UP_TO + 1))
def test_consistency_every_bit_flip(new: int) -> None:
    new_root = ref_mth(0, new)
    for old in range(1, new):
        old_root = ref_mth(0, old)
        proof = hashes(ref_proof(old, new))
        for bit in range(256):
            assert not verify_consistency(old, new, flip([old_root], 0, bit)[0], new_root, proof)
            assert not verify_consistency(old, new, old_root, flip([new_root], 0, bit)[0], proof)
            for element in range(len(proof)):
                bad = flip(proof, element, bit)
                assert not verify_consistency(old, new, old_root, new_root, bad), (old, element)


# --- hypothesis: bigger random trees ----------------------------------------------------------

RANDOM = settings(max_examples=150, deadline=None, database=None)


@RANDOM
@given(st.data(), st.integers(1, MAX_RANDOM))
def test_random_inclusion(data: st.DataObject, size: int) -> None:
    index = data.draw(st.integers(0, size - 1), label="index")
    root = ref_mth(0, size)
    proof = inclusion_proof(index, LEAVES[:size])
    assert proof == hashes(ref_path(index, 0, size))
    assert verify_inclusion(LEAVES[index], index, size, proof, root)
    if proof:
        element = data.draw(st.integers(0, len(proof) - 1), label="element")
        bit = data.draw(st.integers(0, 255), label="bit")
        assert not verify_inclusion(LEAVES[index], index, size, flip(proof, element, bit), root)
    other = data.draw(st.integers(0, 2 * MAX_RANDOM), label="other size")
    same = inclusion_shape(index, other) == inclusion_shape(index, size)
    assert verify_inclusion(LEAVES[index], index, other, proof, root) is same


@RANDOM
@given(st.data(), st.integers(1, MAX_RANDOM))
def test_random_consistency(data: st.DataObject, new: int) -> None:
    old = data.draw(st.integers(0, new), label="old")
    old_root, new_root = ref_mth(0, old), ref_mth(0, new)
    proof = consistency_proof(old, LEAVES[:new])
    assert proof == hashes(ref_proof(old, new))
    assert verify_consistency(old, new, old_root, new_root, proof)
    if proof:
        element = data.draw(st.integers(0, len(proof) - 1), label="element")
        bit = data.draw(st.integers(0, 255), label="bit")
        bad = flip(proof, element, bit)
        assert not verify_consistency(old, new, old_root, new_root, bad)
        other = data.draw(st.integers(0, 2 * MAX_RANDOM), label="other new size")
        same = consistency_shape(old, other) == consistency_shape(old, new)
        assert verify_consistency(old, other, old_root, new_root, proof) is same


# --- hypothesis: garbage in, False out ---------------------------------------------------------

HASHLIKE = st.one_of(
    st.binary(min_size=0, max_size=40),
    st.binary(min_size=32, max_size=32),
    st.sampled_from(LEAVES[:8]),
    st.none(),
    st.text(max_size=40),
    st.integers(),
    st.binary(max_size=40).map(bytearray),
)
SIZE = st.one_of(
    st.integers(-3, 40),
    st.integers(),
    st.booleans(),
    st.floats(allow_nan=True),
    st.none(),
    st.text(max_size=3),
)
PROOF = st.one_of(
    st.lists(HASHLIKE, max_size=8),
    st.lists(st.binary(min_size=32, max_size=32), max_size=8).map(tuple),
    HASHLIKE,
    st.dictionaries(st.text(max_size=2), HASHLIKE, max_size=3),
)


@settings(max_examples=400, deadline=None, database=None)
@given(HASHLIKE, SIZE, SIZE, PROOF, HASHLIKE)
def test_verify_inclusion_never_raises(
    leaf: Any, index: Any, size: Any, proof: Any, root: Any
) -> None:
    result = verify_inclusion(leaf, index, size, proof, root)
    assert isinstance(result, bool)
    # Random input almost never verifies; when it does, it must be a real single-leaf tree.
    if result:
        assert (index, size, len(proof)) == (0, 1, 0)
        assert leaf == root


@settings(max_examples=400, deadline=None, database=None)
@given(SIZE, SIZE, HASHLIKE, HASHLIKE, PROOF)
def test_verify_consistency_never_raises(
    old: Any, new: Any, old_root: Any, new_root: Any, proof: Any
) -> None:
    result = verify_consistency(old, new, old_root, new_root, proof)
    assert isinstance(result, bool)
    if result:  # only the trivial proofs can verify on random input
        assert len(proof) == 0
        assert old == new or old == 0


def test_shapes_are_the_roles_the_reference_tags() -> None:
    for size in range(1, 70):
        for index in range(size):
            tags = tuple(role for _, role in ref_path(index, 0, size))
            assert inclusion_shape(index, size) == tags
        for old in range(1, size):
            tags = tuple(role for _, role in ref_proof(old, size))
            assert consistency_shape(old, size) == tags
