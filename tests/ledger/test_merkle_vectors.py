"""Every transparency-dev/merkle proof vector (tests/vectors/merkle, @417fb0c3) as its own case.

Two deliberate differences from those vectors (documented in ``orgbook.ledger.merkle``):

1. **From size 0.** The vectors treat every consistency proof from ``size1 == 0`` as an error;
   orgbook follows C2SP tlog-witness and accepts the *empty* proof from size 0 when the old root
   is the empty-tree root. The ``additional/size1-is-zero-*`` files and
   ``consistency-check-on-empty-tree…`` still fail for orgbook, because they pass malformed
   12-byte roots or a non-empty proof; ``test_from_size_zero_orgbook_accepts_what_vectors_refuse``
   shows the case where the two really disagree.
2. **32-byte hashes only.** ``additional/sizes-are-equal-one-and-proof-is-empty`` expects two
   equal 12-byte "roots" to verify; orgbook rejects malformed hashes (listed in ``OVERRIDES``).
"""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest

from orgbook.ledger.merkle import verify_consistency, verify_inclusion

VECTORS = Path(__file__).resolve().parents[1] / "vectors" / "merkle"
INCLUSION = sorted((VECTORS / "inclusion").rglob("*.json"))
CONSISTENCY = sorted((VECTORS / "consistency").rglob("*.json"))
EMPTY_ROOT = bytes.fromhex("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")

# file (relative to VECTORS) -> what orgbook answers instead of `not wantErr`, and why.
OVERRIDES: dict[str, tuple[bool, str]] = {
    "consistency/additional/sizes-are-equal-one-and-proof-is-empty.json": (
        False,
        "the roots are 12 bytes, not SHA-256 hashes: malformed input is rejected",
    ),
}


def b64(value: str) -> bytes:
    return base64.b64decode(value, validate=True)


def load(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(path.read_text())
    data["proof"] = [b64(h) for h in data["proof"] or []]  # a null proof is the empty proof
    return data


def expected(path: Path, data: dict[str, Any]) -> bool:
    rel = path.relative_to(VECTORS).as_posix()
    if rel in OVERRIDES:
        return OVERRIDES[rel][0]
    return not data["wantErr"]


def ids(paths: list[Path]) -> list[str]:
    return [p.relative_to(VECTORS).as_posix() for p in paths]


def test_all_vectors_are_present() -> None:
    """Guards against a partial copy silently shrinking the parametrised suite below."""
    assert len(INCLUSION) == 98
    assert len(CONSISTENCY) == 98
    assert (VECTORS / "LICENSE").is_file()
    assert (VECTORS / "SOURCE.md").is_file()
    for rel in OVERRIDES:
        assert (VECTORS / rel).is_file(), rel
    happy = [load(p) for p in INCLUSION + CONSISTENCY if p.name == "happy-path.json"]
    assert len(happy) == 10
    assert all(not d["wantErr"] for d in happy)


@pytest.mark.parametrize("path", INCLUSION, ids=ids(INCLUSION))
def test_inclusion_vector(path: Path) -> None:
    d = load(path)
    got = verify_inclusion(
        b64(d["leafHash"]), d["leafIdx"], d["treeSize"], d["proof"], b64(d["root"])
    )
    assert got is expected(path, d), d["desc"]


@pytest.mark.parametrize("path", CONSISTENCY, ids=ids(CONSISTENCY))
def test_consistency_vector(path: Path) -> None:
    d = load(path)
    got = verify_consistency(d["size1"], d["size2"], b64(d["root1"]), b64(d["root2"]), d["proof"])
    assert got is expected(path, d), d["desc"]


@pytest.mark.parametrize(
    "path",
    [p for p in CONSISTENCY if p.name == "happy-path.json"],
    ids=lambda p: p.relative_to(VECTORS).as_posix(),
)
def test_from_size_zero_orgbook_accepts_what_vectors_refuse(path: Path) -> None:
    """Deliberate difference 1: C2SP tlog-witness accepts the empty proof from size 0.

    transparency-dev/merkle answers "consistency proof from empty tree is meaningless" here.
    """
    d = load(path)
    root2 = b64(d["root2"])
    assert verify_consistency(0, d["size2"], EMPTY_ROOT, root2, [])
    assert not verify_consistency(0, d["size2"], EMPTY_ROOT, root2, [root2])
    assert not verify_consistency(0, d["size2"], b64(d["root1"]), root2, [])
