"""orgbook.ledger.merkle: the public surface, known answers, argument handling and cost.

Known answers come from two places, hard-coded here with their source:

- RFC 6962 §2.1.3 (the example trees RFC 9162 §2.1.5 repeats): the 7-leaf tree and its audit
  and consistency paths, named by the RFC's node labels a…l.
- transparency-dev/merkle, the Go reference used by Certificate Transparency and Trillian:
  ``testonly/constants.go`` @ 582a6ad1 (leaf inputs, node hashes of every complete subtree, roots
  of sizes 0..8) and ``proof/verify_test.go`` @ 02194e9a (inclusion and consistency proofs).
  The same data is in google/certificate-transparency's C++ ``merkle_tree_test.cc``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from orgbook.core.errors import BadInput
from orgbook.ledger import merkle
from orgbook.ledger.merkle import (
    consistency_proof,
    inclusion_proof,
    leaf_hash,
    node_hash,
    root_hash,
    verify_consistency,
    verify_inclusion,
)


def hx(s: str) -> bytes:
    return bytes.fromhex(s)


EMPTY_ROOT = hx("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")

# transparency-dev/merkle testonly/constants.go: LeafInputs()
LEAF_INPUTS = [
    hx(""),
    hx("00"),
    hx("10"),
    hx("2021"),
    hx("3031"),
    hx("40414243"),
    hx("5051525354555657"),
    hx("606162636465666768696a6b6c6d6e6f"),
]
# ... NodeHashes(): [level][index] for every complete subtree of the 8-leaf tree.
NODE_HASHES = [
    [
        hx("6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d"),
        hx("96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7"),
        hx("0298d122906dcfc10892cb53a73992fc5b9f493ea4c9badb27b791b4127a7fe7"),
        hx("07506a85fd9dd2f120eb694f86011e5bb4662e5c415a62917033d4a9624487e7"),
        hx("bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"),
        hx("4271a26be0d8a84f0bd54c8c302e7cb3a3b5d1fa6780a40bcce2873477dab658"),
        hx("b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f"),
        hx("46f6ffadd3d06a09ff3c5860d2755c8b9819db7df44251788c7d8e3180de8eb1"),
    ],
    [
        hx("fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"),
        hx("5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e"),
        hx("0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a"),
        hx("ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0"),
    ],
    [
        hx("d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"),
        hx("6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"),
    ],
    [hx("5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328")],
]
# ... RootHashes(): the root of the tree of the first n leaf inputs, n = 0..8.
ROOTS = [
    EMPTY_ROOT,
    hx("6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d"),
    hx("fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"),
    hx("aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77"),
    hx("d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"),
    hx("4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4"),
    hx("76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef"),
    hx("ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c"),
    hx("5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328"),
]
LEAF_HASHES = NODE_HASHES[0]

# RFC 6962 §2.1.3, the 7-leaf example tree, over the first seven leaf inputs:
#
#             hash
#            /    \
#           k      l
#          / \    / \
#         g   h  i   j
#        / \ / \ / \ |
#        a b c d e f d6
A, B, C, D, E, F, J = LEAF_HASHES[:7]
G, H, I_ = NODE_HASHES[1][:3]
K = NODE_HASHES[2][0]
L = hx("837dbb152e9b079010717e84e865da4ebc0fa198a806d59d31bf15accef22d0e")  # H(i ‖ j)


def sha256(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


# --- the public surface -----------------------------------------------------------------------


def test_public_surface_is_exactly_the_seven_functions() -> None:
    assert merkle.__all__ == [
        "consistency_proof",
        "inclusion_proof",
        "leaf_hash",
        "node_hash",
        "root_hash",
        "verify_consistency",
        "verify_inclusion",
    ]
    public = {name for name in vars(merkle) if not name.startswith("_")}
    # Besides __all__, only the `from __future__`/typing/stdlib/orgbook imports are visible.
    assert public - set(merkle.__all__) <= {"annotations", "hashlib", "Sequence", "BadInput"}


# --- hashing primitives -----------------------------------------------------------------------


def test_leaf_and_node_hash_are_domain_separated_sha256() -> None:
    assert leaf_hash(b"") == sha256(b"\x00") == LEAF_HASHES[0]
    assert leaf_hash(b"abc") == sha256(b"\x00abc")
    assert node_hash(A, B) == sha256(b"\x01" + A + B) == G
    assert node_hash(A, B) != node_hash(B, A)
    # A leaf can never be mistaken for a node with the same bytes underneath.
    assert leaf_hash(A + B) != node_hash(A, B)


def test_leaf_hash_accepts_bytes_like_and_rejects_text() -> None:
    assert leaf_hash(bytearray(b"abc")) == leaf_hash(memoryview(b"abc")) == leaf_hash(b"abc")
    with pytest.raises(BadInput):
        leaf_hash("abc")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="must be bytes"):
        node_hash(A, "b")  # type: ignore[arg-type]


def test_empty_tree_root_is_sha256_of_nothing() -> None:
    assert root_hash([]) == sha256(b"") == EMPTY_ROOT


@pytest.mark.parametrize("size", range(9))
def test_roots_of_reference_tree(size: int) -> None:
    leaves = [leaf_hash(d) for d in LEAF_INPUTS[:size]]
    assert leaves == LEAF_HASHES[:size]
    assert root_hash(leaves) == ROOTS[size]
    assert root_hash(tuple(leaves)) == ROOTS[size]


def test_complete_subtree_hashes_of_reference_tree() -> None:
    for level, hashes in enumerate(NODE_HASHES):
        width = 1 << level
        for index, expected in enumerate(hashes):
            assert root_hash(LEAF_HASHES[index * width : (index + 1) * width]) == expected


# --- RFC 6962 §2.1.3 example ------------------------------------------------------------------

RFC_INCLUSION = [(0, [B, H, L]), (3, [C, G, L]), (4, [F, J, K]), (6, [I_, K])]
RFC_CONSISTENCY = [(3, [C, D, G, L]), (4, [L]), (6, [I_, J, K])]


def test_rfc_example_labels_are_consistent() -> None:
    assert node_hash(I_, J) == L
    assert node_hash(K, L) == ROOTS[7]
    assert node_hash(G, H) == K


@pytest.mark.parametrize(("index", "path"), RFC_INCLUSION)
def test_rfc_example_audit_paths(index: int, path: list[bytes]) -> None:
    leaves = LEAF_HASHES[:7]
    assert inclusion_proof(index, leaves) == path
    assert verify_inclusion(leaves[index], index, 7, path, ROOTS[7])
    assert not verify_inclusion(leaves[index], index, 7, path[::-1], ROOTS[7])


@pytest.mark.parametrize(("old_size", "path"), RFC_CONSISTENCY)
def test_rfc_example_consistency_proofs(old_size: int, path: list[bytes]) -> None:
    leaves = LEAF_HASHES[:7]
    assert consistency_proof(old_size, leaves) == path
    assert verify_consistency(old_size, 7, ROOTS[old_size], ROOTS[7], path)
    assert not verify_consistency(old_size, 7, ROOTS[7], ROOTS[old_size], path)


# --- transparency-dev/merkle proof/verify_test.go -----------------------------------------------

GO_INCLUSION = [  # (leaf index, tree size, proof); the Go table is 1-based, these are 0-based
    (0, 8, [LEAF_HASHES[1], NODE_HASHES[1][1], NODE_HASHES[2][1]]),
    (5, 8, [LEAF_HASHES[4], NODE_HASHES[1][3], NODE_HASHES[2][0]]),
    (2, 3, [NODE_HASHES[1][0]]),
    (1, 5, [LEAF_HASHES[0], NODE_HASHES[1][1], LEAF_HASHES[4]]),
]
GO_CONSISTENCY = [
    (1, 1, []),
    (1, 8, [LEAF_HASHES[1], NODE_HASHES[1][1], NODE_HASHES[2][1]]),
    (6, 8, [NODE_HASHES[1][2], NODE_HASHES[1][3], NODE_HASHES[2][0]]),
    (2, 5, [NODE_HASHES[1][1], LEAF_HASHES[4]]),
    (6, 7, [NODE_HASHES[1][2], LEAF_HASHES[6], NODE_HASHES[2][0]]),
]


@pytest.mark.parametrize(("index", "size", "path"), GO_INCLUSION)
def test_go_reference_inclusion_proofs(index: int, size: int, path: list[bytes]) -> None:
    assert inclusion_proof(index, LEAF_HASHES[:size]) == path
    assert verify_inclusion(LEAF_HASHES[index], index, size, path, ROOTS[size])


@pytest.mark.parametrize(("old", "new", "path"), GO_CONSISTENCY)
def test_go_reference_consistency_proofs(old: int, new: int, path: list[bytes]) -> None:
    assert consistency_proof(old, LEAF_HASHES[:new]) == path
    assert verify_consistency(old, new, ROOTS[old], ROOTS[new], path)


# --- from the empty tree, and to the same size -------------------------------------------------


@pytest.mark.parametrize("new", range(9))
def test_consistency_from_empty_tree_is_the_empty_proof_and_accepted(new: int) -> None:
    """C2SP tlog-witness semantics (transparency-dev's vectors call this an error)."""
    assert consistency_proof(0, LEAF_HASHES[:new]) == []
    assert verify_consistency(0, new, EMPTY_ROOT, ROOTS[new], [])
    # ... but only from the one root an empty tree has, and only with the empty proof.
    assert not verify_consistency(0, new, ROOTS[1], ROOTS[new], [])
    assert not verify_consistency(0, new, EMPTY_ROOT, ROOTS[new], [EMPTY_ROOT])


def test_empty_to_empty_needs_the_empty_root_twice() -> None:
    assert verify_consistency(0, 0, EMPTY_ROOT, EMPTY_ROOT, [])
    assert not verify_consistency(0, 0, EMPTY_ROOT, ROOTS[1], [])
    assert not verify_consistency(0, 0, ROOTS[1], ROOTS[1], [])


@pytest.mark.parametrize("size", range(1, 9))
def test_same_size_accepts_empty_proof_iff_roots_equal(size: int) -> None:
    assert consistency_proof(size, LEAF_HASHES[:size]) == []
    assert verify_consistency(size, size, ROOTS[size], ROOTS[size], [])
    assert verify_consistency(size, size, ROOTS[size], ROOTS[size], ()) is True
    assert not verify_consistency(size, size, ROOTS[size], ROOTS[size - 1], [])
    assert not verify_consistency(size, size, ROOTS[size], ROOTS[size], [ROOTS[size]])


def test_single_leaf_tree() -> None:
    assert inclusion_proof(0, [A]) == []
    assert verify_inclusion(A, 0, 1, [], A)
    assert not verify_inclusion(A, 0, 1, [], B)
    assert not verify_inclusion(A, 0, 1, [A], A)


# --- bad arguments: builders raise, verifiers say no -------------------------------------------

NOT_LEAF_HASH_LISTS: list[Any] = [
    None,
    b"\x00" * 32,
    "abc",
    [b"\x00" * 31],
    [A, b"\x00" * 33],
    [A, bytearray(B)],
    [A, None],
    [A, B.hex()],
    {A, B},
    (h for h in [A, B]),
]


@pytest.mark.parametrize("bad", NOT_LEAF_HASH_LISTS)
@pytest.mark.parametrize(
    "build",
    [
        root_hash,
        lambda hs: inclusion_proof(0, hs),
        lambda hs: consistency_proof(1, hs),
    ],
    ids=["root_hash", "inclusion_proof", "consistency_proof"],
)
def test_builders_reject_what_is_not_a_list_of_leaf_hashes(
    build: Callable[[Any], object], bad: Any
) -> None:
    with pytest.raises(BadInput) as caught:
        build(bad)
    assert isinstance(caught.value, ValueError)
    assert caught.value.problem()["status"] == 400


@pytest.mark.parametrize("index", [-1, 3, 4, 2**64, True, 1.0, "1", None])
def test_inclusion_proof_rejects_bad_index(index: Any) -> None:
    with pytest.raises(ValueError, match="index"):
        inclusion_proof(index, LEAF_HASHES[:3])


@pytest.mark.parametrize("old_size", [-1, 4, True, 2.0, None])
def test_consistency_proof_rejects_bad_old_size(old_size: Any) -> None:
    with pytest.raises(BadInput, match="old size"):
        consistency_proof(old_size, LEAF_HASHES[:3])


def test_inclusion_proof_of_empty_tree_is_refused() -> None:
    with pytest.raises(BadInput):
        inclusion_proof(0, [])


def _malformed_inclusion_args() -> Iterator[tuple[str, tuple[Any, ...]]]:
    leaf, proof, root = LEAF_HASHES[2], [NODE_HASHES[1][0]], ROOTS[3]
    good = (leaf, 2, 3, proof, root)
    assert verify_inclusion(*good)
    for pos, name in enumerate(["leaf_hash", "index", "tree_size", "proof", "root"]):
        for number, bad in enumerate(_bad_values(name, good[pos])):
            args = list(good)
            args[pos] = bad
            # Ids must not depend on reprs with addresses: xdist workers compare them.
            yield f"{name}-{number}-{type(bad).__name__}", tuple(args)


def _bad_values(name: str, good: Any) -> list[Any]:
    if name in ("index", "tree_size", "old_size", "new_size"):
        return [-1, -good, 2**64, 2**64 + good, float(good), str(good), None, True, False]
    if name == "proof":
        return [
            None,
            good[0],
            b"".join(good),
            [h.hex() for h in good],
            [bytearray(h) for h in good],
            [*good, b""],
            [h[:-1] for h in good],
            [h + b"\x00" for h in good],
            [*good, None],
            iter(good),
            {"0": good[0]},
            [good] * 100,
            _Exploding(),
        ]
    return [None, b"", good[:-1], good + b"\x00", bytearray(good), good.hex(), memoryview(good)]


class _Exploding(list[bytes]):
    """A list whose length cannot be read: a proof from a buggy caller."""

    def __len__(self) -> int:
        raise RuntimeError("boom")


@pytest.mark.parametrize(
    ("case", "args"), [pytest.param(c, a, id=c) for c, a in _malformed_inclusion_args()]
)
def test_verify_inclusion_is_false_never_raises_on_malformed(case: str, args: Any) -> None:
    assert verify_inclusion(*args) is False


def _malformed_consistency_args() -> Iterator[tuple[str, tuple[Any, ...]]]:
    good = (6, 8, ROOTS[6], ROOTS[8], GO_CONSISTENCY[2][2])
    assert verify_consistency(*good)
    for pos, name in enumerate(["old_size", "new_size", "old_root", "new_root", "proof"]):
        for number, bad in enumerate(_bad_values(name, good[pos])):
            args = list(good)
            args[pos] = bad
            # Ids must not depend on reprs with addresses: xdist workers compare them.
            yield f"{name}-{number}-{type(bad).__name__}", tuple(args)
    yield "old_size > new_size", (8, 6, ROOTS[8], ROOTS[6], GO_CONSISTENCY[2][2])
    yield "old_size > new_size, empty", (2, 1, ROOTS[2], ROOTS[1], [])


@pytest.mark.parametrize(
    ("case", "args"), [pytest.param(c, a, id=c) for c, a in _malformed_consistency_args()]
)
def test_verify_consistency_is_false_never_raises_on_malformed(case: str, args: Any) -> None:
    assert verify_consistency(*args) is False


# --- cost ---------------------------------------------------------------------------------------


class _CountingSha256:
    def __init__(self) -> None:
        self.calls = 0

    def __call__(self, data: bytes = b"") -> Any:
        self.calls += 1
        return hashlib.sha256(data)


@pytest.mark.parametrize("size", [1, 2, 3, 1000, 1024, 1025, 4097])
def test_each_builder_hashes_each_node_at_most_once(
    monkeypatch: pytest.MonkeyPatch, size: int
) -> None:
    """A full root costs n - 1 node hashes; a proof never more (no quadratic rework)."""
    leaves = [sha256(i.to_bytes(4, "big")) for i in range(size)]
    counter = _CountingSha256()
    monkeypatch.setattr(merkle, "_sha256", counter)
    root_hash(leaves)
    assert counter.calls == size - 1
    for index in {0, size // 3, size // 2, size - 1}:
        counter.calls = 0
        inclusion_proof(index, leaves)
        assert counter.calls <= size - 1
    for old in {1, size // 3, size // 2, size - 1}:
        counter.calls = 0
        consistency_proof(old, leaves)
        assert counter.calls <= size - 1


def test_large_tree_is_built_iteratively() -> None:
    """2^17 + 3 leaves: well past any recursion limit if the tree were built leaf by leaf."""
    size = (1 << 17) + 3
    leaves = [sha256(i.to_bytes(4, "big")) for i in range(size)]
    level = leaves
    while len(level) > 1:  # the RFC tree, bottom-up: pair neighbours, promote the odd one out
        paired = [sha256(b"\x01" + level[j] + level[j + 1]) for j in range(0, len(level) - 1, 2)]
        level = paired + level[len(level) - len(level) % 2 :]
    root = level[0]
    assert root_hash(leaves) == root
    for index in (0, 1 << 16, size - 1):
        proof = inclusion_proof(index, leaves)
        assert len(proof) == (18 if index < 1 << 17 else 2)
        assert verify_inclusion(leaves[index], index, size, proof, root)
    old = (1 << 17) - 1
    proof = consistency_proof(old, leaves)
    assert verify_consistency(old, size, root_hash(leaves[:old]), root, proof)


def test_tree_sizes_are_uint64() -> None:
    """RFC 9162 sizes are uint64: the largest verifies, one beyond is refused though it folds."""

    def fold_right(seed: bytes, siblings: list[bytes]) -> bytes:
        for sibling in siblings:
            seed = sha256(b"\x01" + seed + sibling)
        return seed

    siblings = [sha256(bytes([i])) for i in range(65)]
    # Leaf 0 of a tree of 2^64 - 1 leaves: 64 right siblings; of 2^64 + 1 leaves: 65.
    assert verify_inclusion(A, 0, 2**64 - 1, siblings[:64], fold_right(A, siblings[:64]))
    assert not verify_inclusion(A, 0, 2**64 + 1, siblings, fold_right(A, siblings))
    # From 2^63 leaves: one right sibling to 2^64 - 1, two to 2^64 + 1.
    one, two = siblings[:1], siblings[:2]
    assert verify_consistency(2**63, 2**64 - 1, K, fold_right(K, one), one)
    assert not verify_consistency(2**63, 2**64 + 1, K, fold_right(K, two), two)


class _Watched(list[bytes]):
    """A proof that records whether anyone walked through it."""

    walked = False

    def __iter__(self) -> Iterator[bytes]:
        self.walked = True
        return super().__iter__()


def test_overlong_proofs_are_refused_without_reading_them() -> None:
    """A hostile proof of a million elements costs a length check, not a million type checks."""
    huge = _Watched([A] * 1_000_000)
    assert not verify_inclusion(A, 0, 8, huge, ROOTS[8])
    assert not verify_consistency(1, 8, ROOTS[1], ROOTS[8], huge)
    assert not huge.walked
    fine = _Watched(GO_INCLUSION[0][2])
    assert verify_inclusion(LEAF_HASHES[0], 0, 8, fine, ROOTS[8])
    assert fine.walked


@pytest.mark.parametrize(
    ("call", "detail", "field"),
    [
        (lambda: leaf_hash("abc"), "leaf data must be bytes", "data"),
        (lambda: node_hash("a", A), "node children must be bytes", "left"),
        (lambda: node_hash(A, "b"), "node children must be bytes", "right"),
        (
            lambda: inclusion_proof(3, LEAF_HASHES[:3]),
            "leaf index out of range for a tree of size 3",
            "index",
        ),
        (lambda: consistency_proof(4, LEAF_HASHES[:3]), "old size must be in [0, 3]", "old_size"),
        (lambda: consistency_proof(-1, LEAF_HASHES[:3]), "old size must be in [0, 3]", "old_size"),
        (lambda: root_hash("nope"), "leaf hashes must be a sequence of bytes", "leaf_hashes"),
        (lambda: root_hash([b"short"]), "every leaf hash must be 32 bytes", "leaf_hashes"),
    ],
    ids=["leaf", "left", "right", "index", "old_size", "negative", "not_a_list", "short_hash"],
)
def test_each_refusal_says_what_is_wrong_and_where(
    call: Callable[[], object], detail: str, field: str
) -> None:
    # What an API caller sees in problem+json (detail and field): pinned, not just "some error".
    with pytest.raises(BadInput) as caught:
        call()
    assert (caught.value.detail, caught.value.field) == (detail, field)
    assert caught.value.problem()["field"] == field


def test_tree_sizes_end_below_two_to_the_64() -> None:
    # RFC 9162 sizes are uint64: 2^64 - 1 is the largest. Two equal sizes with equal roots and
    # an empty proof are consistent; at 2^64 the size itself is refused.
    root = leaf_hash(b"r")
    assert verify_consistency(2**64 - 1, 2**64 - 1, root, root, [])
    assert not verify_consistency(2**64, 2**64, root, root, [])
    assert not verify_consistency(2**64 - 1, 2**64, root, root, [])


def test_a_proof_must_be_a_sequence_not_a_set_or_a_mapping() -> None:
    # A proof is ordered: a set or a dict holding the right hashes is not one, even when its
    # one element would fold into the right root.
    leaves = [leaf_hash(b"a"), leaf_hash(b"b")]
    root = root_hash(leaves)
    assert verify_inclusion(leaves[0], 0, 2, [leaves[1]], root)
    assert verify_inclusion(leaves[0], 0, 2, (leaves[1],), root)
    for unordered in ({leaves[1]}, frozenset({leaves[1]}), {leaves[1]: 0}):
        assert not verify_inclusion(leaves[0], 0, 2, unordered, root), unordered  # type: ignore[arg-type]
    three = [*leaves, leaf_hash(b"c")]
    proof = consistency_proof(2, three)
    assert len(proof) == 1
    assert verify_consistency(2, 3, root, root_hash(three), proof)
    assert not verify_consistency(2, 3, root, root_hash(three), set(proof))  # type: ignore[arg-type]
