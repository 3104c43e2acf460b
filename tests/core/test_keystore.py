"""Keys at rest: encrypted PKCS#8 round trip, wrong passphrase, damaged files, the environment."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ec import SECP256R1, generate_private_key
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from orgbook.core.crypto import Ed25519Signer
from orgbook.core.errors import ConfigurationError, VerificationError
from orgbook.core.keystore import (
    PASSPHRASE_ENV,
    passphrase_from_env,
    seal_seed,
    unseal_seed,
    write_key_file,
)

SEED = bytes(range(32))
PASSPHRASE = b"correct horse battery staple"


@pytest.fixture(scope="module")
def sealed() -> bytes:
    return seal_seed(SEED, PASSPHRASE)


def test_round_trip(sealed: bytes) -> None:
    assert sealed.startswith(b"-----BEGIN ENCRYPTED PRIVATE KEY-----")
    assert SEED.hex().encode() not in sealed
    assert unseal_seed(sealed, PASSPHRASE) == SEED
    assert Ed25519Signer.from_seed(unseal_seed(sealed, PASSPHRASE)).public_key == (
        Ed25519Signer.from_seed(SEED).public_key
    )


def test_standard_pkcs8_readable_by_other_tooling(sealed: bytes) -> None:
    key = serialization.load_pem_private_key(sealed, password=PASSPHRASE)
    assert isinstance(key, Ed25519PrivateKey)


def test_wrong_passphrase(sealed: bytes) -> None:
    with pytest.raises(VerificationError, match="cannot unseal"):
        unseal_seed(sealed, b"wrong passphrase entirely")


def test_damaged_file(sealed: bytes) -> None:
    lines = sealed.splitlines()
    middle = bytearray(lines[2])
    middle[5] = ord("A") if middle[5] != ord("A") else ord("B")
    damaged = b"\n".join([*lines[:2], bytes(middle), *lines[3:]])
    with pytest.raises(VerificationError):
        unseal_seed(damaged, PASSPHRASE)
    with pytest.raises(VerificationError):
        unseal_seed(b"not a pem", PASSPHRASE)


def test_wrong_key_type() -> None:
    pem = generate_private_key(SECP256R1()).private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(PASSPHRASE),
    )
    with pytest.raises(VerificationError, match="not an Ed25519 key"):
        unseal_seed(pem, PASSPHRASE)


def test_empty_passphrase_refused() -> None:
    with pytest.raises(ConfigurationError):
        seal_seed(SEED, b"")


def test_passphrase_from_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(PASSPHRASE_ENV, raising=False)
    with pytest.raises(ConfigurationError, match="not set"):
        passphrase_from_env()
    monkeypatch.setenv(PASSPHRASE_ENV, "short")
    with pytest.raises(ConfigurationError, match="at least"):
        passphrase_from_env()
    monkeypatch.setenv(PASSPHRASE_ENV, "a long enough passphrase")
    assert passphrase_from_env() == b"a long enough passphrase"


def test_write_key_file_sets_the_mode_whatever_the_umask(tmp_path: Path) -> None:
    old = os.umask(0o077)
    try:
        write_key_file(tmp_path / "public.vkey", b"vkey\n", 0o644)
    finally:
        os.umask(old)
    old = os.umask(0)
    try:
        write_key_file(tmp_path / "secret.key", b"sealed")
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "public.vkey").stat().st_mode) == 0o644
    assert stat.S_IMODE((tmp_path / "secret.key").stat().st_mode) == 0o600
    assert (tmp_path / "secret.key").read_bytes() == b"sealed"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["public.vkey", "secret.key"]


def test_write_key_file_refuses_to_overwrite(tmp_path: Path) -> None:
    path = tmp_path / "ledger.key"
    write_key_file(path, b"first")
    with pytest.raises(FileExistsError):
        write_key_file(path, b"second")
    assert path.read_bytes() == b"first"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert [p.name for p in tmp_path.iterdir()] == ["ledger.key"]  # no temporary file left
