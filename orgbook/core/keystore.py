"""Private keys at rest: Ed25519 seeds sealed as encrypted PKCS#8 (PEM), never plain text on disk.

Sealing uses ``cryptography``'s PKCS#8 ``BestAvailableEncryption`` (PBES2 with scrypt or PBKDF2
and AES-256-CBC), so operators can open the files with standard tooling (``openssl pkey``) and
move keys to an HSM later. The passphrase comes from ``ORGBOOK_KEY_PASSPHRASE`` or a prompt.

What it owns: sealing and unsealing seeds, the passphrase from the environment, and
:func:`write_key_file`, the one way orgbook writes a key file (ledger, witness, demo passphrase):
created exclusively, with its mode from the start, complete or not at all.

What it must not do: choose where keys live, or keep a key in memory beyond a call.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from orgbook.core.errors import ConfigurationError, VerificationError

__all__ = [
    "PASSPHRASE_ENV",
    "passphrase_from_env",
    "seal_seed",
    "unseal_seed",
    "write_key_file",
]

PASSPHRASE_ENV = "ORGBOOK_KEY_PASSPHRASE"  # noqa: S105 - the variable's name, not a secret
MIN_PASSPHRASE = 12


def passphrase_from_env() -> bytes:
    """The sealing passphrase from the environment; a clear error when it is missing or weak."""
    value = os.environ.get(PASSPHRASE_ENV)
    if not value:
        raise ConfigurationError(
            f"{PASSPHRASE_ENV} is not set: private keys are sealed with it, never stored in clear"
        )
    if len(value) < MIN_PASSPHRASE:
        raise ConfigurationError(f"{PASSPHRASE_ENV} must be at least {MIN_PASSPHRASE} characters")
    return value.encode("utf-8")


def seal_seed(seed: bytes, passphrase: bytes) -> bytes:
    """An Ed25519 seed as an encrypted PKCS#8 PEM document."""
    if not passphrase:
        raise ConfigurationError("an empty passphrase cannot seal a key")
    key = Ed25519PrivateKey.from_private_bytes(seed)
    return key.private_bytes(
        encoding=serialization.Encoding.PEM,
        format=serialization.PrivateFormat.PKCS8,
        encryption_algorithm=serialization.BestAvailableEncryption(passphrase),
    )


def unseal_seed(pem: bytes, passphrase: bytes) -> bytes:
    """The Ed25519 seed inside an encrypted PKCS#8 PEM document."""
    try:
        key = serialization.load_pem_private_key(pem, password=passphrase)
    except (ValueError, TypeError, UnsupportedAlgorithm) as exc:
        # One message for every failure: wrong passphrase and corrupt file look the same.
        raise VerificationError(
            "cannot unseal the private key (wrong passphrase or damaged key)"
        ) from exc
    if not isinstance(key, Ed25519PrivateKey):
        raise VerificationError("the sealed key is not an Ed25519 key")
    return key.private_bytes(
        encoding=serialization.Encoding.Raw,
        format=serialization.PrivateFormat.Raw,
        encryption_algorithm=serialization.NoEncryption(),
    )


def write_key_file(path: Path, data: bytes, mode: int = 0o600) -> None:
    """Create ``path`` holding ``data`` with permissions ``mode``; never overwrite a file.

    The bytes go to a temporary file in the same folder, created with ``mode`` from the start (so
    never briefly world-readable) and set to exactly ``mode`` whatever the umask, then flushed to
    disk and linked into place: a reader sees the whole file or none. :class:`FileExistsError`
    when ``path`` exists already (two processes racing to create a key: one wins).
    """
    path = Path(path)
    temp = path.with_name(f".{path.name}.{secrets.token_hex(8)}.tmp")
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    try:
        try:
            os.write(fd, data)
            os.fsync(fd)
        finally:
            os.close(fd)
        os.chmod(temp, mode)  # in case a umask narrowed it
        os.link(temp, path)  # FileExistsError: the existing file stays as it is
    finally:
        temp.unlink(missing_ok=True)
    directory = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)
