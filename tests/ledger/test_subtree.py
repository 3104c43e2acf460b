"""Proofs from stored complete subtrees agree with the in-memory RFC 9162 proofs, exhaustively."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping, Sequence

import pytest

from orgbook.core.errors import BadInput, LedgerIntegrityError
from orgbook.ledger import merkle
from orgbook.ledger.subtree import (
    Node,
    assemble,
    complete_subtrees,
    consistency_ranges,
    fold,
    frontier,
    inclusion_ranges,
    node_range,
)

N = 200
LEAVES = [merkle.leaf_hash(f"leaf {i}".encode()) for i in range(N)]


def all_nodes(leaves: Sequence[bytes]) -> dict[Node, bytes]:
    """Every complete subtree hash of the tree over ``leaves``."""
    nodes: dict[Node, bytes] = {(0, i): h for i, h in enumerate(leaves)}
    level = 0
    while True:
        pairs = [
            (i // 2, merkle.node_hash(nodes[(level, i)], nodes[(level, i + 1)]))
            for i in range(0, len(leaves) >> level, 2)
            if (level, i + 1) in nodes
        ]
        if not pairs:
            return nodes
        level += 1
        nodes.update({(level, j): h for j, h in pairs})


NODES = all_nodes(LEAVES)


class CountingLookup:
    def __init__(self, nodes: Mapping[Node, bytes]) -> None:
        self.nodes = nodes
        self.calls = 0
        self.fetched = 0

    def __call__(self, wanted: Sequence[Node]) -> dict[Node, bytes]:
        self.calls += 1
        self.fetched += len(wanted)
        return {n: self.nodes[n] for n in wanted if n in self.nodes}


def test_complete_subtrees_examples() -> None:
    assert complete_subtrees(0, 1) == [(0, 0)]
    assert complete_subtrees(0, 8) == [(3, 0)]
    assert complete_subtrees(0, 7) == [(2, 0), (1, 2), (0, 6)]
    assert complete_subtrees(8, 13) == [(2, 2), (0, 12)]
    assert complete_subtrees(64, 100) == [(5, 2), (2, 24)]
    assert frontier(0) == []
    assert frontier(6) == [(2, 0), (1, 2)]
    assert node_range((2, 3)) == (12, 16)


@pytest.mark.parametrize("bad", [(0, 0), (3, 2), (1, 3), (4, 12), (-1, 2)])
def test_complete_subtrees_refuses_ranges_outside_the_rfc_split(bad: tuple[int, int]) -> None:
    with pytest.raises(BadInput):
        complete_subtrees(*bad)


def test_fold_of_the_frontier_is_the_root_for_every_size() -> None:
    for size in range(1, N + 1):
        hashes = [NODES[n] for n in frontier(size)]
        assert fold(hashes) == merkle.root_hash(LEAVES[:size]), size
        # and every node is exactly a complete subtree's MTH
        for level, idx in frontier(size):
            start, end = node_range((level, idx))
            assert NODES[(level, idx)] == merkle.root_hash(LEAVES[start:end])


def test_fold_of_nothing_is_refused() -> None:
    with pytest.raises(BadInput):
        fold([])


def test_inclusion_proofs_match_merkle_exhaustively() -> None:
    lookup = CountingLookup(NODES)
    for size in range(1, N + 1):
        leaves = LEAVES[:size]
        root = merkle.root_hash(leaves)
        for index in range(size):
            calls = lookup.calls
            proof = assemble(inclusion_ranges(index, size), lookup)
            assert proof == merkle.inclusion_proof(index, leaves), (index, size)
            assert lookup.calls - calls <= 1  # one batched read
            assert merkle.verify_inclusion(leaves[index], index, size, proof, root)


def test_consistency_proofs_match_merkle_exhaustively() -> None:
    lookup = CountingLookup(NODES)
    roots = [merkle.root_hash(LEAVES[:n]) for n in range(N + 1)]
    for new in range(N + 1):
        leaves = LEAVES[:new]
        for old in range(new + 1):
            proof = assemble(consistency_ranges(old, new), lookup)
            assert proof == merkle.consistency_proof(old, leaves), (old, new)
            assert merkle.verify_consistency(old, new, roots[old], roots[new], proof)


def test_proofs_read_logarithmically_many_nodes() -> None:
    size = 2**40 + 2**20 + 12345
    nodes_needed = {n for r in inclusion_ranges(2**39 + 7, size) for n in complete_subtrees(*r)}
    assert len(nodes_needed) <= 2 * size.bit_length()
    nodes_needed = {n for r in consistency_ranges(2**33 + 5, size) for n in complete_subtrees(*r)}
    assert len(nodes_needed) <= 2 * size.bit_length()


def test_bad_proof_arguments() -> None:
    with pytest.raises(BadInput):
        inclusion_ranges(5, 5)
    with pytest.raises(BadInput):
        inclusion_ranges(-1, 5)
    with pytest.raises(BadInput):
        consistency_ranges(6, 5)
    assert consistency_ranges(0, 5) == []
    assert consistency_ranges(5, 5) == []


def test_missing_node_is_an_integrity_error() -> None:
    nodes = dict(NODES)
    del nodes[(2, 1)]
    with pytest.raises(LedgerIntegrityError) as info:
        assemble(inclusion_ranges(0, 8), CountingLookup(nodes))
    assert info.value.index == 4


def test_leaf_hash_sanity() -> None:
    assert LEAVES[0] == hashlib.sha256(b"\x00leaf 0").digest()


@pytest.mark.parametrize(
    ("call", "detail", "field"),
    [
        (lambda: complete_subtrees(-1, 2), "start must be a non-negative integer", "start"),
        (lambda: complete_subtrees(0, 2.0), "end must be a non-negative integer", "end"),
        (lambda: complete_subtrees(0, True), "end must be a non-negative integer", "end"),
        (lambda: complete_subtrees(3, 3), "a subtree range is non-empty", "end"),
        (
            lambda: complete_subtrees(1, 3),
            "[1, 3) is not a subtree range of an RFC 9162 tree",
            None,
        ),
        (lambda: fold([]), "nothing to fold", None),
        (lambda: inclusion_ranges(5, 5), "leaf index 5 is not below the tree size 5", "index"),
        (lambda: inclusion_ranges(-1, 5), "index must be a non-negative integer", "index"),
        (lambda: inclusion_ranges(0, -1), "size must be a non-negative integer", "size"),
        (lambda: consistency_ranges(6, 5), "old size 6 is larger than new size 5", "old_size"),
        (lambda: consistency_ranges(-1, 5), "old_size must be a non-negative integer", "old_size"),
        (lambda: consistency_ranges(0, -1), "new_size must be a non-negative integer", "new_size"),
    ],
    ids=[
        "negative-start",
        "float-end",
        "bool-end",
        "empty-range",
        "unaligned-range",
        "fold-nothing",
        "index-at-size",
        "negative-index",
        "negative-size",
        "old-above-new",
        "negative-old",
        "negative-new",
    ],
)
def test_each_refusal_says_what_is_wrong_and_where(
    call: Callable[[], object], detail: str, field: str | None
) -> None:
    with pytest.raises(BadInput) as caught:
        call()
    assert (caught.value.detail, caught.value.field) == (detail, field)


def test_a_missing_node_is_named_with_the_first_leaf_it_covers() -> None:
    nodes = dict(NODES)
    del nodes[(2, 1)]
    with pytest.raises(LedgerIntegrityError) as info:
        assemble(inclusion_ranges(0, 8), CountingLookup(nodes))
    assert info.value.detail == "stored subtree hash (level 2, index 1) is missing"
    assert info.value.index == 4


def test_assembling_nothing_reads_nothing() -> None:
    lookup = CountingLookup(NODES)
    assert assemble([], lookup) == []
    assert assemble(consistency_ranges(5, 5), lookup) == []
    assert lookup.calls == 0
