"""Ed25519 through PyNaCl: RFC 8032 vectors and libsodium's verdict on every C2SP CCTV edge case.

The accepted CCTV vector numbers are pinned in ``tests/vectors/ed25519/libsodium-accept.json``;
a PyNaCl/libsodium upgrade that changes any verdict fails here, loudly.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from orgbook.core.crypto import Ed25519Signer, Signer, verify_ed25519

ED25519 = Path(__file__).parent.parent / "vectors" / "ed25519"
CCTV: list[dict[str, Any]] = json.loads((ED25519 / "ed25519vectors.json").read_text())
PINNED = json.loads((ED25519 / "libsodium-accept.json").read_text())
STRICT_FLAGS = {"low_order_A", "low_order_R", "non_canonical_A", "non_canonical_R"}


def _flags(vector: dict[str, Any]) -> set[str]:
    return set(vector["flags"] or [])


def _verdict(vector: dict[str, Any]) -> bool:
    return verify_ed25519(
        bytes.fromhex(vector["key"]), bytes.fromhex(vector["sig"]), vector["msg"].encode()
    )


VERDICTS = {v["number"]: _verdict(v) for v in CCTV}


def test_cctv_file_is_complete() -> None:
    assert len(CCTV) == 914
    assert sorted(VERDICTS) == list(range(914))


def test_cctv_verdicts_match_pinned_libsodium_behaviour() -> None:
    accepted = sorted(n for n, ok in VERDICTS.items() if ok)
    assert accepted == PINNED["accepted"]
    assert len(accepted) == 43


@pytest.mark.parametrize("flag", sorted(STRICT_FLAGS))
def test_small_order_and_non_canonical_points_rejected(flag: str) -> None:
    # libsodium's documented strictness: small-order A or R and non-canonical encodings fail.
    vectors = [v for v in CCTV if flag in _flags(v)]
    assert vectors
    assert not any(VERDICTS[v["number"]] for v in vectors)


def test_cofactorless_equation_rejects_low_order_residue() -> None:
    vectors = [v for v in CCTV if "low_order_residue" in _flags(v)]
    assert vectors
    assert not any(VERDICTS[v["number"]] for v in vectors)


def test_accepts_exactly_the_vectors_with_only_mixed_order_components() -> None:
    # Points with a low-order *component* cannot be block-listed; those verify (cofactorless).
    benign = {"low_order_component_A", "low_order_component_R"}
    expected = {v["number"] for v in CCTV if _flags(v) <= benign}
    assert {n for n, ok in VERDICTS.items() if ok} == expected


SMALL_ORDER_KEYS = [
    "0000000000000000000000000000000000000000000000000000000000000000",
    "0000000000000000000000000000000000000000000000000000000000000080",
    "0100000000000000000000000000000000000000000000000000000000000000",
    "26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05",
    "26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc85",
    "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a",
    "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac03fa",
    "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
    "edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
    "eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
]


@pytest.mark.parametrize("key", SMALL_ORDER_KEYS)
def test_small_order_public_keys_never_verify(key: str) -> None:
    # With the identity as R and s = 0, a cofactored or lax verifier would accept anything.
    identity_sig = bytes.fromhex("01" + "00" * 31) + bytes(32)
    assert not verify_ed25519(bytes.fromhex(key), identity_sig, b"anything")
    assert not verify_ed25519(bytes.fromhex(key), bytes(64), b"")


# RFC 8032 §7.1, TEST 1–3: (secret key, public key, message, signature).
RFC8032 = [
    (
        "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60",
        "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a",
        "",
        "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b",
    ),
    (
        "4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb",
        "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c",
        "72",
        "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00",
    ),
    (
        "c5aa8df43f9f837bedb7442f31dcb7b166d38535076f094b85ce3a2e0b4458f7",
        "fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025",
        "af82",
        "6291d657deec24024827e69c3abe01a30ce548a284743a445e3680d7db5ac3ac18ff9b538d16f290ae67f760984dc6594a7c15e9716ed28dc027beceea1ec40a",
    ),
]


@pytest.mark.parametrize(("seed", "public", "message", "signature"), RFC8032, ids=["1", "2", "3"])
def test_rfc8032_vectors(seed: str, public: str, message: str, signature: str) -> None:
    signer = Ed25519Signer.from_seed(bytes.fromhex(seed))
    msg = bytes.fromhex(message)
    assert signer.public_key.hex() == public
    assert signer.seed.hex() == seed
    assert signer.sign(msg).hex() == signature
    assert verify_ed25519(bytes.fromhex(public), bytes.fromhex(signature), msg)
    assert not verify_ed25519(bytes.fromhex(public), bytes.fromhex(signature), msg + b"x")


def test_signer_protocol_and_generate() -> None:
    signer = Ed25519Signer.generate()
    assert isinstance(signer, Signer)
    signature = signer.sign(b"hello")
    assert len(signature) == 64
    assert verify_ed25519(signer.public_key, signature, b"hello")
    assert signer.seed.hex() not in repr(signer)


def test_from_seed_rejects_wrong_length() -> None:
    with pytest.raises(ValueError, match="32 bytes"):
        Ed25519Signer.from_seed(b"\x01" * 31)


@pytest.mark.parametrize(
    ("public_key", "signature"),
    [
        (b"\x00" * 31, b"\x00" * 64),
        (b"\x00" * 32, b"\x00" * 63),
        ("not bytes", b"\x00" * 64),
        (b"\x00" * 32, None),
        (None, None),
    ],
)
def test_verify_never_raises(public_key: Any, signature: Any) -> None:
    assert verify_ed25519(public_key, signature, b"message") is False


def test_flipping_any_signature_bit_fails() -> None:
    signer = Ed25519Signer.from_seed(bytes(range(32)))
    signature = bytearray(signer.sign(b"m"))
    for index in (0, 31, 32, 63):
        tampered = bytearray(signature)
        tampered[index] ^= 0x01
        assert not verify_ed25519(signer.public_key, bytes(tampered), b"m")
