"""The registry's governance key: what signs authorisations and their withdrawals.

What it owns: ``<data-dir>/governance.key``, an Ed25519 seed sealed at rest exactly as the
ledger key is (encrypted PKCS#8, :func:`orgbook.core.keystore.seal_seed`, passphrase
``ORGBOOK_KEY_PASSPHRASE``, mode 0600, written by
:func:`orgbook.core.keystore.write_key_file`), created the first time a process holding the
passphrase needs it; and its publication on the ledger: a
``governance.key.added`` entry ``{keyId, publicKeyMultibase}`` whose ``keyId`` is the key's
``did:key`` verification method (``did:key:z6Mk…#z6Mk…``), appended in the same transaction as
the first authorisation it signs. Verifiers learn the key from that entry, inclusion-proven,
never from a server. :func:`rotate_governance_key` retires it (``governance.key.retired``) and
publishes a new one; authorisations signed by the old key stay valid (they were signed while
it was in force).

What it must not do: grant or withdraw anything (:mod:`orgbook.issuer.authorisations`), or keep
the seed anywhere but sealed.
"""

from __future__ import annotations

import os
from datetime import datetime
from pathlib import Path

from sqlalchemy import Connection

from orgbook.core.crypto import Ed25519Signer
from orgbook.core.did import did_key_from_public_key
from orgbook.core.errors import ConfigurationError, VerificationError
from orgbook.core.keystore import seal_seed, unseal_seed, write_key_file
from orgbook.core.multibase import encode_multikey_ed25519
from orgbook.ledger.store import Ledger
from orgbook.projections.authorisations import governance_entries
from orgbook.verification.authorisation import (
    GOVERNANCE_ADDED,
    GOVERNANCE_RETIRED,
    GovernanceKeys,
)

__all__ = ["KEY_FILE", "GovernanceKey", "governance_key", "key_id_of", "rotate_governance_key"]

KEY_FILE = "governance.key"


def key_id_of(public_key: bytes) -> str:
    """The verification method of a governance key: its ``did:key`` with the key as fragment."""
    did = did_key_from_public_key(public_key)
    return f"{did}#{did.removeprefix('did:key:')}"


class GovernanceKey:
    """The unsealed governance key and its verification method."""

    def __init__(self, signer: Ed25519Signer) -> None:
        self.signer = signer
        self.key_id = key_id_of(signer.public_key)


def _unseal(path: Path, passphrase: bytes) -> Ed25519Signer:
    try:
        return Ed25519Signer.from_seed(unseal_seed(path.read_bytes(), passphrase))
    except VerificationError as exc:
        raise ConfigurationError(
            f"the governance key {path} does not unseal: is ORGBOOK_KEY_PASSPHRASE the "
            "passphrase it was sealed with?",
            field="ORGBOOK_KEY_PASSPHRASE",
        ) from exc


def _load_or_create(data_dir: Path, passphrase: bytes) -> Ed25519Signer:
    directory = Path(data_dir)
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / KEY_FILE
    if path.exists():
        return _unseal(path, passphrase)
    signer = Ed25519Signer.generate()
    try:
        write_key_file(path, seal_seed(signer.seed, passphrase), 0o600)
    except FileExistsError:  # another process made it first: use theirs
        return _unseal(path, passphrase)
    return signer


def _publish(conn: Connection, ledger: Ledger, key: GovernanceKey, now: datetime) -> None:
    """Append ``governance.key.added`` for ``key`` unless the ledger already has it in force."""
    keys = GovernanceKeys.from_entries(governance_entries(conn))
    known = keys.keys.get(key.key_id)
    if known is not None and known[2] is None:
        return
    if known is not None:
        raise ConfigurationError(
            f"the governance key in the data directory ({key.key_id}) was retired on the ledger "
            f"at entry {known[2]}; restore the current key file"
        )
    ledger.append(
        conn,
        GOVERNANCE_ADDED,
        {
            "keyId": key.key_id,
            "publicKeyMultibase": encode_multikey_ed25519(key.signer.public_key),
        },
        now=now,
    )


def governance_key(
    conn: Connection, ledger: Ledger, data_dir: Path, passphrase: bytes, *, now: datetime
) -> GovernanceKey:
    """The governance key, created and published on the ledger (in ``conn``'s transaction)
    the first time it is needed."""
    key = GovernanceKey(_load_or_create(data_dir, passphrase))
    _publish(conn, ledger, key, now)
    return key


def rotate_governance_key(
    conn: Connection, ledger: Ledger, data_dir: Path, passphrase: bytes, *, now: datetime
) -> GovernanceKey:
    """Publish a new governance key and retire the current one, in one transaction.

    The old sealed file is kept as ``governance.key.retired-<entry>``; the new one takes its
    place. If the transaction fails after the files moved, the next open publishes the new key.
    """
    old = governance_key(conn, ledger, data_dir, passphrase, now=now)
    path = Path(data_dir) / KEY_FILE
    entry = ledger.append(conn, GOVERNANCE_RETIRED, {"keyId": old.key_id}, now=now)
    os.replace(path, path.with_name(f"{KEY_FILE}.retired-{entry.index}"))
    return governance_key(conn, ledger, data_dir, passphrase, now=now)
