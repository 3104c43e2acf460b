"""Ed25519 signing and verification through PyNaCl (libsodium), behind a ``Signer`` protocol.

libsodium is strict: it rejects non-canonical encodings and small-order public keys and points,
which is what a registry wants (one valid signature per message). The C2SP CCTV edge-case
vectors pin that behaviour in the tests so an upgrade cannot silently change what verifies.

Keys are parameters (``Signer``), never globals, so an HSM or KMS can stand in later.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

import nacl.exceptions
import nacl.signing

__all__ = ["Ed25519Signer", "Signer", "verify_ed25519"]

PUBLIC_KEY_SIZE = 32
SIGNATURE_SIZE = 64
SEED_SIZE = 32


@runtime_checkable
class Signer(Protocol):
    """Anything that makes Ed25519 signatures: a key in memory, an HSM, a KMS."""

    @property
    def public_key(self) -> bytes:
        """The raw 32-byte Ed25519 public key."""
        ...

    def sign(self, message: bytes) -> bytes:
        """The 64-byte Ed25519 signature of ``message``."""
        ...


class Ed25519Signer:
    """An Ed25519 private key held in memory."""

    __slots__ = ("_key", "_public")

    def __init__(self, key: nacl.signing.SigningKey) -> None:
        self._key = key
        self._public = bytes(key.verify_key)

    @classmethod
    def generate(cls) -> Ed25519Signer:
        return cls(nacl.signing.SigningKey.generate())

    @classmethod
    def from_seed(cls, seed: bytes) -> Ed25519Signer:
        if len(seed) != SEED_SIZE:
            raise ValueError(f"an Ed25519 seed is {SEED_SIZE} bytes, not {len(seed)}")
        return cls(nacl.signing.SigningKey(bytes(seed)))

    @property
    def seed(self) -> bytes:
        """The 32-byte private seed. Handle with care: seal it before it touches a disk."""
        return bytes(self._key)

    @property
    def public_key(self) -> bytes:
        return self._public

    def sign(self, message: bytes) -> bytes:
        return bytes(self._key.sign(message).signature)

    def __repr__(self) -> str:  # never print the seed
        return f"Ed25519Signer(public_key={self._public.hex()})"


def verify_ed25519(public_key: bytes, signature: bytes, message: bytes) -> bool:
    """True when ``signature`` is a valid Ed25519 signature; False otherwise. Never raises."""
    if (
        not isinstance(public_key, bytes | bytearray)
        or not isinstance(signature, bytes | bytearray)
        or len(public_key) != PUBLIC_KEY_SIZE
        or len(signature) != SIGNATURE_SIZE
    ):
        return False
    try:
        nacl.signing.VerifyKey(bytes(public_key)).verify(bytes(message), bytes(signature))
    except (nacl.exceptions.BadSignatureError, nacl.exceptions.CryptoError, ValueError, TypeError):
        return False
    return True
