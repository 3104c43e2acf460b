"""Proofs from stored complete subtrees: which aligned subtrees a proof needs, and folding them.

A *node* ``(level, idx)`` is the hash of the complete subtree over leaves
``[idx·2^level, (idx+1)·2^level)``; ``(0, i)`` is the leaf hash of leaf ``i``. Such a node never
changes once its last leaf exists, so a store can write it once and a static tile server can
publish it once (C2SP tlog-tiles).

Every hash in an RFC 9162 proof is the Merkle Tree Hash of a leaf range ``[start, end)`` of the
recursive split (``start`` aligned to the power of two at or above ``end - start``). Such a range
is a run of complete subtrees, one per set bit of its length, largest first, and its MTH is their
right fold with ``node_hash``. So a proof over a tree of size n needs O(log n) nodes, fetched in
one batch (:func:`assemble`) instead of reading any leaves.

Pure: no I/O. The caller supplies the node lookup.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

from orgbook.core.errors import BadInput, LedgerIntegrityError
from orgbook.ledger.merkle import node_hash

__all__ = [
    "Lookup",
    "Node",
    "assemble",
    "complete_subtrees",
    "consistency_ranges",
    "fold",
    "frontier",
    "inclusion_ranges",
    "node_range",
]

Node = tuple[int, int]
"""``(level, idx)``: the complete subtree over leaves ``[idx·2^level, (idx+1)·2^level)``."""

Lookup = Callable[[Sequence[Node]], Mapping[Node, bytes]]
"""Fetch many nodes at once; absent nodes are simply missing from the answer."""


def _split(n: int) -> int:
    """The largest power of two strictly smaller than ``n`` (``n >= 2``): RFC 9162's k."""
    return 1 << ((n - 1).bit_length() - 1)


def _check_size(value: int, name: str) -> None:
    if type(value) is not int or value < 0:
        raise BadInput(f"{name} must be a non-negative integer", field=name)


def node_range(node: Node) -> tuple[int, int]:
    """The leaf range ``[start, end)`` that ``node`` covers."""
    level, idx = node
    return idx << level, (idx + 1) << level


def complete_subtrees(start: int, end: int) -> list[Node]:
    """The maximal aligned complete subtrees of the RFC 9162 range ``[start, end)``, left to right.

    The range must be one that RFC 9162's recursive split produces (non-empty, ``start`` a
    multiple of the power of two at or above its length); anything else has no single MTH made
    of stored nodes and is refused.
    """
    _check_size(start, "start")
    _check_size(end, "end")
    n = end - start
    if n <= 0:
        raise BadInput("a subtree range is non-empty", field="end")
    ceiling = 1 << (n - 1).bit_length()
    if start % ceiling:
        raise BadInput(f"[{start}, {end}) is not a subtree range of an RFC 9162 tree")
    nodes: list[Node] = []
    pos = start
    for level in range(n.bit_length() - 1, -1, -1):
        if n >> level & 1:
            nodes.append((level, pos >> level))
            pos += 1 << level
    return nodes


def frontier(size: int) -> list[Node]:
    """The complete subtrees of the whole tree ``[0, size)``: what an append builds upon."""
    return complete_subtrees(0, size) if size else []


def fold(hashes: Sequence[bytes]) -> bytes:
    """Right fold with ``node_hash``: ``h0 ∘ (h1 ∘ (… ∘ hk))``, the MTH of adjacent subtrees."""
    if not hashes:
        raise BadInput("nothing to fold")
    acc = hashes[-1]
    for h in reversed(hashes[:-1]):
        acc = node_hash(h, acc)
    return acc


def inclusion_ranges(index: int, size: int) -> list[tuple[int, int]]:
    """The leaf ranges whose MTH form ``PATH(index, D[size])``, leaf's sibling first."""
    _check_size(index, "index")
    _check_size(size, "size")
    if index >= size:
        raise BadInput(f"leaf index {index} is not below the tree size {size}", field="index")
    ranges: list[tuple[int, int]] = []
    lo, hi = 0, size
    while hi - lo > 1:
        mid = lo + _split(hi - lo)
        if index < mid:
            ranges.append((mid, hi))
            hi = mid
        else:
            ranges.append((lo, mid))
            lo = mid
    ranges.reverse()
    return ranges


def consistency_ranges(old: int, new: int) -> list[tuple[int, int]]:
    """The leaf ranges whose MTH form ``PROOF(old, D[new])``; empty when old is 0 or new."""
    _check_size(old, "old_size")
    _check_size(new, "new_size")
    if old > new:
        raise BadInput(f"old size {old} is larger than new size {new}", field="old_size")
    if old in (0, new):
        return []
    ranges: list[tuple[int, int]] = []
    lo, hi, m, complete = 0, new, old, True
    while m != hi - lo:
        k = _split(hi - lo)
        if m <= k:
            ranges.append((lo + k, hi))
            hi = lo + k
        else:
            ranges.append((lo, lo + k))
            lo, m, complete = lo + k, m - k, False
    if not complete:
        ranges.append((lo, hi))
    ranges.reverse()
    return ranges


def assemble(ranges: Sequence[tuple[int, int]], lookup: Lookup) -> list[bytes]:
    """The MTH of each range, from one batched ``lookup`` of every node they need."""
    plans = [complete_subtrees(start, end) for start, end in ranges]
    wanted = sorted({node for plan in plans for node in plan})
    found = lookup(wanted) if wanted else {}
    out: list[bytes] = []
    for plan in plans:
        hashes: list[bytes] = []
        for node in plan:
            h = found.get(node)
            if h is None:
                start, _ = node_range(node)
                raise LedgerIntegrityError(
                    f"stored subtree hash (level {node[0]}, index {node[1]}) is missing",
                    index=start,
                )
            hashes.append(h)
        out.append(fold(hashes))
    return out
