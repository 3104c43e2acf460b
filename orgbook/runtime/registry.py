"""The registry a process opens: settings → engine (schema upgraded), ledger (with its key).

:class:`Registry` is what routes (``RegistryDep``) and commands are handed: the settings, the
engine, the ledger and the passphrase that unseals the issuers' keys (``None`` on a verifier
replica). The issuer's write path is built on it: ``orgbook.issuer.service.Issuance(registry)``.
Nothing happens at import time; :func:`open_registry` does the work.

A verifier replica needs no private key: ``open_registry(settings, signing=False)`` opens the
ledger with its public verifier key only (``<data-dir>/ledger.vkey`` or ``ORGBOOK_LEDGER_VKEY``).
"""

from __future__ import annotations

import getpass
import os
import secrets
import sys
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Engine

from orgbook.config import Settings
from orgbook.core.errors import ConfigurationError, VerificationError
from orgbook.core.keystore import (
    MIN_PASSPHRASE,
    PASSPHRASE_ENV,
    passphrase_from_env,
    write_key_file,
)
from orgbook.ledger.keys import load_ledger_verifier, load_or_create_ledger_key
from orgbook.ledger.note import NoteVerifier
from orgbook.ledger.store import Ledger
from orgbook.storage.engine import make_engine
from orgbook.storage.migrations import upgrade

__all__ = [
    "DEMO_PASSPHRASE_FILE",
    "Registry",
    "demo_passphrase",
    "open_registry",
    "resolve_passphrase",
]

DEMO_PASSPHRASE_FILE = "demo-passphrase"  # noqa: S105 - a file name


@dataclass(slots=True)
class Registry:
    settings: Settings
    engine: Engine
    ledger: Ledger
    passphrase: bytes | None

    def close(self) -> None:
        self.engine.dispose()


def demo_passphrase(data_dir: Path) -> bytes:
    """A random passphrase kept in the data directory: for ``orgbook demo`` only."""
    path = Path(data_dir) / DEMO_PASSPHRASE_FILE
    if path.exists():
        return path.read_bytes().strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    value = secrets.token_urlsafe(24).encode()
    write_key_file(path, value + b"\n", 0o600)
    return value


def resolve_passphrase(settings: Settings, *, prompt: bool = True) -> bytes:
    """``ORGBOOK_KEY_PASSPHRASE``, else a prompt on a terminal, else a :class:`ConfigurationError`.

    Never the demo passphrase file: only ``orgbook demo`` uses that (:func:`demo_passphrase`), and
    says so. A data directory ``orgbook demo`` made is named in the error, so the operator knows
    where its passphrase is.
    """
    if os.environ.get(PASSPHRASE_ENV):
        return passphrase_from_env()
    if prompt and sys.stdin.isatty():
        value = getpass.getpass("Key passphrase: ").encode("utf-8")
        if len(value) < MIN_PASSPHRASE:
            raise ConfigurationError(f"the passphrase must be at least {MIN_PASSPHRASE} characters")
        return value
    hint = ""
    demo_file = Path(settings.data_dir) / DEMO_PASSPHRASE_FILE
    if demo_file.exists():
        hint = f" (`orgbook demo` made this data directory: its passphrase is in {demo_file})"
    raise ConfigurationError(
        f"{PASSPHRASE_ENV} is not set: private keys are sealed with it and never stored in clear; "
        f"set it to the passphrase the keys were sealed with{hint}",
        field=PASSPHRASE_ENV,
    )


def ledger_verifiers(settings: Settings) -> list[NoteVerifier]:
    keys: list[NoteVerifier] = []
    env = os.environ.get("ORGBOOK_LEDGER_VKEY")
    if env:
        keys.append(NoteVerifier.from_vkey(env.strip()))
    stored = load_ledger_verifier(Path(settings.data_dir))
    if stored is not None and all(k.vkey() != stored.vkey() for k in keys):
        keys.append(stored)
    return keys


def open_registry(
    settings: Settings,
    *,
    signing: bool = True,
    passphrase: bytes | None = None,
    engine: Engine | None = None,
    create: bool = True,
) -> Registry:
    """Open (and on first use create) the registry that ``settings`` describe."""
    engine = engine or make_engine(settings.database_url)
    if create:
        upgrade(engine)
    if signing:
        passphrase = passphrase or resolve_passphrase(settings)
        try:
            signer = load_or_create_ledger_key(
                Path(settings.data_dir), settings.ledger_origin, passphrase
            )
        except VerificationError as exc:  # a wrong passphrase is the operator's configuration
            raise ConfigurationError(
                f"the ledger key in {settings.data_dir} does not unseal: is {PASSPHRASE_ENV} the "
                "passphrase it was sealed with?",
                field=PASSPHRASE_ENV,
            ) from exc
        ledger = Ledger(origin=settings.ledger_origin, signer=signer)
    else:
        ledger = Ledger(origin=settings.ledger_origin, verifiers=ledger_verifiers(settings))
    return Registry(settings=settings, engine=engine, ledger=ledger, passphrase=passphrase)
