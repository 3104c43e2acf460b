"""The ledger's own checkpoint-signing key, kept in the data directory and sealed at rest.

``<data-dir>/ledger.key`` holds the Ed25519 seed as encrypted PKCS#8 (``orgbook.core.keystore``),
created with mode 0600 and never written in clear; ``<data-dir>/ledger.vkey`` holds the public
C2SP verifier key string (``origin+keyhash+base64``), which is what verifiers are given. The key
name is the ledger's origin, as tlog-checkpoint expects.

This module must not know about the database; the passphrase is a parameter.
"""

from __future__ import annotations

from pathlib import Path

from orgbook.core.crypto import Ed25519Signer
from orgbook.core.errors import BadInput, ConfigurationError
from orgbook.core.keystore import seal_seed, unseal_seed, write_key_file
from orgbook.ledger.note import NoteSigner, NoteVerifier

__all__ = [
    "DEFAULT_ORIGIN",
    "KEY_FILE",
    "VKEY_FILE",
    "load_ledger_verifier",
    "load_or_create_ledger_key",
]

DEFAULT_ORIGIN = "orgbook.example/ledger"
"""A schema-less, URL-like log name, as C2SP tlog-checkpoint recommends for origins."""

KEY_FILE = "ledger.key"
VKEY_FILE = "ledger.vkey"


def load_ledger_verifier(data_dir: Path) -> NoteVerifier | None:
    """The verifier key in ``<data_dir>/ledger.vkey``, or None when there is none yet."""
    path = Path(data_dir) / VKEY_FILE
    if not path.exists():
        return None
    try:
        return NoteVerifier.from_vkey(path.read_text("utf-8").strip())
    except BadInput as exc:
        raise ConfigurationError(f"{path} is not a signed-note verifier key: {exc.detail}") from exc


def load_or_create_ledger_key(data_dir: Path, origin: str, passphrase: bytes) -> NoteSigner:
    """The ledger's signing key: unsealed from ``ledger.key``, or created on first use."""
    directory = Path(data_dir)
    directory.mkdir(parents=True, exist_ok=True)
    key_path = directory / KEY_FILE
    vkey_path = directory / VKEY_FILE
    if key_path.exists():
        seed = unseal_seed(key_path.read_bytes(), passphrase)
        signer = NoteSigner(origin, Ed25519Signer.from_seed(seed))
        existing = load_ledger_verifier(directory)
        if existing is None:
            write_key_file(vkey_path, (signer.vkey() + "\n").encode("utf-8"), 0o644)
        elif existing.vkey() != signer.vkey():
            if NoteSigner(existing.name, signer.signer).vkey() == existing.vkey():
                raise ConfigurationError(
                    f"this ledger's origin is {existing.name!r} (fixed when it was created, "
                    f"pinned by its verifiers); this configuration asks for {origin!r}, derived "
                    "from ORGBOOK_PUBLIC_URL unless set. To serve this ledger at another URL, "
                    f"keep its origin: ORGBOOK_LEDGER_ORIGIN={existing.name}"
                )
            raise ConfigurationError(
                f"{key_path} is not the key of {vkey_path} (published for origin "
                f"{existing.name!r}): restore the ledger key that belongs to this data directory"
            )
        return signer
    if vkey_path.exists():
        raise ConfigurationError(
            f"{vkey_path} exists but its private key {key_path} is missing: refusing to replace "
            "a published ledger key"
        )
    key = Ed25519Signer.generate()
    signer = NoteSigner(origin, key)  # validates the origin as a key name first
    write_key_file(key_path, seal_seed(key.seed, passphrase), 0o600)
    write_key_file(vkey_path, (signer.vkey() + "\n").encode("utf-8"), 0o644)
    return signer
