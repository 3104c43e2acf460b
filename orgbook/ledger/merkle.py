"""RFC 9162 §2.1 Merkle tree hashing, inclusion and consistency proofs: pure functions, no I/O.

Owns the hash tree of the ledger: the leaf and node hashes (``SHA-256(0x00 ‖ data)`` and
``SHA-256(0x01 ‖ left ‖ right)``), the Merkle Tree Hash over a list of *leaf hashes* (the empty
tree hashes to ``SHA-256("")``), in-memory inclusion and consistency proofs (RFC 9162 §2.1.3.1
and §2.1.4.1) and their verification (the algorithms of §2.1.3.2 and §2.1.4.2, step by step).
It must not do I/O, know about ledger entries, storage or encodings: hashes are raw 32-byte
``bytes``; hex and base64 belong to the callers. Proofs served from stored subtrees live in
``orgbook.ledger.subtree``.

Contract:

- The builders (``root_hash``, ``inclusion_proof``, ``consistency_proof``, ``leaf_hash``,
  ``node_hash``) raise :class:`orgbook.core.errors.BadInput` on bad arguments; the exception is
  also a
  :class:`ValueError`, so either may be caught. Root computation is iterative (a stack of
  complete subtrees, O(log n) memory) and every in-memory proof hashes each leaf at most once.
- The verifiers return ``False`` and never raise on anything malformed: sizes that are not
  ``int`` in ``[0, 2**64)`` (``bool`` included), ``index >= tree_size``, ``old_size >
  new_size``, a proof that is not a sequence of ``bytes``, and any hash (leaf hash, root,
  proof element) that is not exactly 32 bytes of type ``bytes``.

Deliberate differences from the transparency-dev/merkle test vectors (``tests/vectors/merkle``):

1. A consistency proof *from size 0* is the empty proof and is ACCEPTED, as C2SP tlog-witness
   requires (a witness that has seen nothing yet must accept any first checkpoint); the vectors
   (``consistency/additional/*size1-is-zero*``) call it an error. We still require the old root
   to be the empty-tree root ``SHA-256("")``: the empty tree has exactly one root, and a caller
   claiming another is holding a forged or corrupt checkpoint. Likewise ``0 → 0`` needs both
   roots to be that value.
2. Every hash must be 32 bytes. ``consistency/additional/sizes-are-equal-one-and-proof-is-empty``
   expects two equal 12-byte "roots" to verify; we reject them as malformed.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

from orgbook.core.errors import BadInput

__all__ = [
    "consistency_proof",
    "inclusion_proof",
    "leaf_hash",
    "node_hash",
    "root_hash",
    "verify_consistency",
    "verify_inclusion",
]

_HASH_SIZE = 32
_TREE_SIZE_LIMIT = 1 << 64  # RFC 9162 tree sizes and indices are uint64
_LEAF_PREFIX = b"\x00"
_NODE_PREFIX = b"\x01"
# SHA-256 of the empty string: the Merkle Tree Hash of the empty tree (RFC 9162 §2.1.1).
_EMPTY_ROOT = bytes.fromhex("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
_sha256 = hashlib.sha256


class _BadTreeArgument(BadInput, ValueError):
    """A builder was called with arguments that describe no tree or no proof."""

    title = "Bad Merkle tree argument"
    slug = "bad-merkle-argument"


# --- hashing ------------------------------------------------------------------------------------


def leaf_hash(data: bytes) -> bytes:
    """``SHA-256(0x00 ‖ data)``: the hash of one leaf (RFC 9162 §2.1.1)."""
    if not isinstance(data, bytes | bytearray | memoryview):
        raise _BadTreeArgument("leaf data must be bytes", field="data")
    h = _sha256(_LEAF_PREFIX)
    h.update(data)
    return h.digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """``SHA-256(0x01 ‖ left ‖ right)``: the hash of an interior node (RFC 9162 §2.1.1)."""
    for name, value in (("left", left), ("right", right)):
        if not isinstance(value, bytes | bytearray | memoryview):
            raise _BadTreeArgument("node children must be bytes", field=name)
    h = _sha256(_NODE_PREFIX)
    h.update(left)
    h.update(right)
    return h.digest()


def root_hash(leaf_hashes: Sequence[bytes]) -> bytes:
    """The Merkle Tree Hash (MTH) of the tree whose leaves have these hashes, in order."""
    hashes = _checked_leaf_hashes(leaf_hashes)
    return _range_root(hashes, 0, len(hashes))


# --- building proofs (RFC 9162 §2.1.3.1, §2.1.4.1) -----------------------------------------------


def inclusion_proof(index: int, leaf_hashes: Sequence[bytes]) -> list[bytes]:
    """The audit path ``PATH(index, D[n])`` of leaf ``index`` in the tree of these leaf hashes.

    Ordered bottom-up (the leaf's sibling first), as RFC 9162 and C2SP proofs are.
    """
    hashes = _checked_leaf_hashes(leaf_hashes)
    size = len(hashes)
    if not _is_size(index) or index >= size:
        raise _BadTreeArgument(f"leaf index out of range for a tree of size {size}", field="index")
    # Walk down from the root: PATH(m, D[lo:hi]) = PATH(m, left half) : MTH(right half), or
    # PATH(m - k, right half) : MTH(left half). The siblings are disjoint ranges, so the whole
    # proof hashes each leaf at most once.
    path: list[bytes] = []
    lo, hi = 0, size
    while hi - lo > 1:
        mid = lo + _split(hi - lo)
        if index < mid:
            path.append(_range_root(hashes, mid, hi))
            hi = mid
        else:
            path.append(_range_root(hashes, lo, mid))
            lo = mid
    path.reverse()
    return path


def consistency_proof(old_size: int, leaf_hashes: Sequence[bytes]) -> list[bytes]:
    """``PROOF(old_size, D[n])``: proof that the first ``old_size`` leaves are a prefix of all.

    Empty when ``old_size`` is 0 (C2SP tlog-witness) or equal to the new size.
    """
    hashes = _checked_leaf_hashes(leaf_hashes)
    size = len(hashes)
    if not _is_size(old_size) or old_size > size:
        raise _BadTreeArgument(f"old size must be in [0, {size}]", field="old_size")
    if old_size in (0, size):
        return []
    # SUBPROOF(m, D[lo:hi], complete), unrolled. `complete` is the RFC's flag b: true while the
    # old tree is still the left-most complete subtree, whose hash the verifier already has.
    path: list[bytes] = []
    lo, hi, m, complete = 0, size, old_size, True
    while m != hi - lo:
        k = _split(hi - lo)
        if m <= k:
            path.append(_range_root(hashes, lo + k, hi))
            hi = lo + k
        else:
            path.append(_range_root(hashes, lo, lo + k))
            lo, m, complete = lo + k, m - k, False
    if not complete:
        path.append(_range_root(hashes, lo, hi))
    path.reverse()
    return path


# --- verifying proofs (RFC 9162 §2.1.3.2, §2.1.4.2) ----------------------------------------------


def verify_inclusion(
    leaf_hash: bytes, index: int, tree_size: int, proof: Sequence[bytes], root: bytes
) -> bool:
    """Whether ``proof`` shows leaf ``index`` with hash ``leaf_hash`` in the tree (size, root)."""
    # 1. leaf_index must be below tree_size; every input must be well formed.
    if not (_is_size(index) and _is_size(tree_size) and index < tree_size):
        return False
    if not (_is_hash(leaf_hash) and _is_hash(root)):
        return False
    path = _checked_proof(proof, tree_size.bit_length())
    if path is None:
        return False
    # 2. fn = leaf_index, sn = tree_size - 1.  3. r = hash.
    fn, sn = index, tree_size - 1
    r = leaf_hash
    # 4. Fold each proof element into r.
    for p in path:
        # 4a. A path longer than the tree is high fails.
        if sn == 0:
            return False
        # 4b. p is a left sibling when fn is a right child or on the right border.
        if fn & 1 or fn == sn:
            r = _sha256(_NODE_PREFIX + p + r).digest()
            while fn and not fn & 1:
                fn >>= 1
                sn >>= 1
        else:
            r = _sha256(_NODE_PREFIX + r + p).digest()
        # 4c.
        fn >>= 1
        sn >>= 1
    # 5. The path must reach the root, and the root must match.
    return sn == 0 and r == root


def verify_consistency(
    old_size: int, new_size: int, old_root: bytes, new_root: bytes, proof: Sequence[bytes]
) -> bool:
    """Whether ``proof`` shows the tree (old_size, old_root) is a prefix of (new_size, new_root)."""
    if not (_is_size(old_size) and _is_size(new_size) and old_size <= new_size):
        return False
    if not (_is_hash(old_root) and _is_hash(new_root)):
        return False
    path = _checked_proof(proof, new_size.bit_length() + 1)
    if path is None:
        return False
    # From the empty tree, the proof is empty (C2SP tlog-witness; see the module docstring).
    if old_size == 0:
        return not path and old_root == _EMPTY_ROOT and (new_size > 0 or new_root == _EMPTY_ROOT)
    # Same size: nothing to prove beyond equal roots.
    if old_size == new_size:
        return not path and old_root == new_root
    # 1. An empty proof between different sizes fails.
    if not path:
        return False
    # 2. If first is an exact power of 2, prepend first_hash to the path.
    if old_size & (old_size - 1) == 0:
        path = (old_root, *path)
    # 3. fn = first - 1, sn = second - 1.
    fn, sn = old_size - 1, new_size - 1
    # 4. Skip the levels where the old tree's last node is a right child.
    while fn & 1:
        fn >>= 1
        sn >>= 1
    # 5. fr and sr start from the first path element.
    fr = sr = path[0]
    # 6. Fold each further element into fr (old root) and sr (new root).
    for c in path[1:]:
        # 6a.
        if sn == 0:
            return False
        # 6b. c is a left sibling: part of both trees.
        if fn & 1 or fn == sn:
            fr = _sha256(_NODE_PREFIX + c + fr).digest()
            sr = _sha256(_NODE_PREFIX + c + sr).digest()
            while fn and not fn & 1:
                fn >>= 1
                sn >>= 1
        # Otherwise c is a right sibling: only in the new tree.
        else:
            sr = _sha256(_NODE_PREFIX + sr + c).digest()
        # 6c.
        fn >>= 1
        sn >>= 1
    # 7. Both roots must match and the path must have reached the top.
    return sn == 0 and fr == old_root and sr == new_root


# --- helpers ------------------------------------------------------------------------------------


def _split(n: int) -> int:
    """The largest power of two strictly smaller than ``n`` (``n >= 2``)."""
    return 1 << ((n - 1).bit_length() - 1)


def _range_root(hashes: Sequence[bytes], lo: int, hi: int) -> bytes:
    """MTH of ``hashes[lo:hi]``, iteratively: a stack of the complete subtrees seen so far.

    After leaf number ``c`` (1-based within the range) is pushed, the stack is merged once per
    trailing zero bit of ``c``, so it always holds the complete subtrees of the ranges of
    ``c``'s binary digits; folding it right to left gives RFC 9162's MTH.
    """
    if lo >= hi:
        return _EMPTY_ROOT
    sha = _sha256
    prefix = _NODE_PREFIX
    stack: list[bytes] = []
    push, pop = stack.append, stack.pop
    for count in range(1, hi - lo + 1):
        h = hashes[lo + count - 1]
        c = count
        while not c & 1:
            h = sha(prefix + pop() + h).digest()
            c >>= 1
        push(h)
    h = pop()
    while stack:
        h = sha(prefix + pop() + h).digest()
    return h


def _checked_leaf_hashes(leaf_hashes: object) -> Sequence[bytes]:
    """The leaf hashes, after checking they are a sequence of 32-byte ``bytes`` (C-speed)."""
    if not isinstance(leaf_hashes, Sequence) or isinstance(leaf_hashes, str | bytes | bytearray):
        raise _BadTreeArgument("leaf hashes must be a sequence of bytes", field="leaf_hashes")
    if not set(map(type, leaf_hashes)) <= {bytes} or not set(map(len, leaf_hashes)) <= {32}:
        raise _BadTreeArgument("every leaf hash must be 32 bytes", field="leaf_hashes")
    return leaf_hashes


def _checked_proof(proof: object, max_len: int) -> tuple[bytes, ...] | None:
    """The proof as a tuple of 32-byte hashes, or None if it is not one (or is too long)."""
    if not isinstance(proof, Sequence) or isinstance(proof, str | bytes | bytearray):
        return None
    try:
        if len(proof) > max_len:
            return None
        items = tuple(proof)
    except Exception:  # a Sequence that misbehaves is a malformed proof, never an exception
        return None
    if all(_is_hash(item) for item in items):
        return items
    return None


def _is_hash(value: object) -> bool:
    return type(value) is bytes and len(value) == _HASH_SIZE


def _is_size(value: object) -> bool:
    return type(value) is int and 0 <= value < _TREE_SIZE_LIMIT
