"""Issuers, their Ed25519 keys and their API keys.

An issuer is registered on the ledger (``issuer.registered``) with its ``did:web`` identifier,
jurisdiction and the credential types it may issue. Its signing keys are generated here, sealed
at rest (encrypted PKCS#8, :mod:`orgbook.core.keystore`), and every key event goes on the ledger
(``issuer.key.added`` / ``issuer.key.retired``) so a verifier can tell which key was valid when.

API keys are shown once, stored as SHA-256 hashes, scoped to one issuer and revocable. The key
format is ``obk_<prefix>_<secret>``; the prefix finds the row, the hash of the whole key is
compared in constant time.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from threading import Lock

from sqlalchemy import Connection, select, update

from orgbook.core.crypto import Ed25519Signer
from orgbook.core.errors import BadInput, Conflict, Forbidden, NotFound, Unauthorized
from orgbook.core.keystore import seal_seed, unseal_seed
from orgbook.core.multibase import encode_multikey_ed25519
from orgbook.issuer.store import api_keys
from orgbook.ledger.store import Ledger
from orgbook.projections.issuers import Issuer, did_document, get_issuer, list_issuers
from orgbook.projections.tables import issuer_keys, issuers

# Issuer, get_issuer, list_issuers and did_document are the issuer directory as the ledger
# projects it (orgbook.projections.issuers), which verifiers serve: re-exported for the issuer's
# own callers.
__all__ = [
    "ApiKey",
    "Issuer",
    "IssuerKeys",
    "authenticate_api_key",
    "create_api_key",
    "create_issuer",
    "did_document",
    "get_issuer",
    "list_issuers",
    "retire_key",
    "revoke_api_key",
    "rotate_key",
]

SLUG = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?$")
DID_WEB = re.compile(r"^did:web:[A-Za-z0-9.%-]+(?::[A-Za-z0-9._~%-]+)*$")
JURISDICTION = re.compile(r"^[A-Z]{2}(?:-[A-Z0-9]{1,3})?$")
API_KEY = re.compile(r"^obk_([a-z0-9]{12})_([A-Za-z0-9_-]{32,64})$")


@dataclass(frozen=True, slots=True)
class ApiKey:
    id: str
    issuer_id: str
    key: str  # the whole key: shown once, never stored


def _now(now: datetime | None) -> datetime:
    return (now or datetime.now(UTC)).astimezone(UTC)


def _validate_issuer(
    slug: str, did: str, name: str, jurisdiction: str, types: Sequence[str], known: set[str]
) -> None:
    if not SLUG.match(slug):
        raise BadInput("issuer id must be lower-case letters, digits and dashes", field="id")
    if not DID_WEB.match(did):
        raise BadInput("issuer DID must be a did:web identifier", field="did")
    if not name.strip():
        raise BadInput("issuer name must not be empty", field="name")
    if not JURISDICTION.match(jurisdiction):
        raise BadInput(
            "jurisdiction must be an ISO 3166-1 or 3166-2 code such as CA-BC", field="jurisdiction"
        )
    unknown = sorted(set(types) - known)
    if unknown:  # none is fine: an authority issues only what authorisations name
        raise BadInput(
            f"credential types must be among {sorted(known)}; got {unknown or 'none'}",
            field="credentialTypes",
        )


def create_issuer(
    conn: Connection,
    ledger: Ledger,
    *,
    slug: str,
    did: str,
    name: str,
    jurisdiction: str,
    credential_types: Sequence[str],
    passphrase: bytes,
    now: datetime | None = None,
) -> Issuer:
    """Register an issuer and its first signing key, both on the ledger."""
    from orgbook.core.anchor import EXTRA_TYPE_SLUGS
    from orgbook.core.credentials import CredentialType

    known = {t.slug for t in CredentialType} | set(EXTRA_TYPE_SLUGS.values())
    _validate_issuer(slug, did, name, jurisdiction, credential_types, known)
    if conn.execute(select(issuers.c.id).where(issuers.c.id == slug)).first():
        raise Conflict(f"issuer {slug!r} already exists", field="id")
    if conn.execute(select(issuers.c.id).where(issuers.c.did == did)).first():
        raise Conflict(f"an issuer with DID {did} already exists", field="did")
    at = _now(now)
    issuer = Issuer(slug, did, name.strip(), jurisdiction, tuple(credential_types), at, 0)
    entry = ledger.append(conn, "issuer.registered", {"issuer": issuer.to_json()}, now=at)
    conn.execute(
        issuers.insert().values(
            id=slug,
            did=did,
            name=issuer.name,
            jurisdiction=jurisdiction,
            credential_types=json.dumps(list(credential_types)),
            created_at=at,
            ledger_index=entry.index,
            next_status_index=0,
        )
    )
    _add_key(conn, ledger, issuer, passphrase=passphrase, now=at)
    return get_issuer(conn, slug)


def _next_key_fragment(conn: Connection, issuer_id: str) -> str:
    count = len(
        conn.execute(select(issuer_keys.c.key_id).where(issuer_keys.c.issuer_id == issuer_id)).all()
    )
    return f"key-{count + 1}"


def _add_key(
    conn: Connection, ledger: Ledger, issuer: Issuer, *, passphrase: bytes, now: datetime
) -> str:
    signer = Ed25519Signer.generate()
    key_id = f"{issuer.did}#{_next_key_fragment(conn, issuer.id)}"
    entry = ledger.append(
        conn,
        "issuer.key.added",
        {
            "issuer": issuer.id,
            "did": issuer.did,
            "keyId": key_id,
            "publicKeyMultibase": encode_multikey_ed25519(signer.public_key),
        },
        now=now,
    )
    conn.execute(
        issuer_keys.insert().values(
            key_id=key_id,
            issuer_id=issuer.id,
            public_key=signer.public_key,
            sealed_private_key=seal_seed(signer.seed, passphrase),
            active=True,
            created_at=now,
            added_index=entry.index,
        )
    )
    return key_id


def retire_key(
    conn: Connection, ledger: Ledger, issuer_id: str, key_id: str, *, now: datetime | None = None
) -> None:
    """Retire a key: it stops signing and leaves the DID document's assertionMethod."""
    at = _now(now)
    row = conn.execute(
        select(issuer_keys).where(
            issuer_keys.c.key_id == key_id, issuer_keys.c.issuer_id == issuer_id
        )
    ).first()
    if row is None:
        raise NotFound(f"issuer {issuer_id!r} has no key {key_id!r}", field="keyId")
    if not row.active:
        raise Conflict(f"key {key_id} is already retired", field="keyId")
    entry = ledger.append(
        conn, "issuer.key.retired", {"issuer": issuer_id, "keyId": key_id}, now=at
    )
    conn.execute(
        update(issuer_keys)
        .where(issuer_keys.c.key_id == key_id)
        .values(active=False, retired_at=at, retired_index=entry.index, sealed_private_key=None)
    )
    IssuerKeys.forget(issuer_id)


def rotate_key(
    conn: Connection,
    ledger: Ledger,
    issuer_id: str,
    *,
    passphrase: bytes,
    now: datetime | None = None,
) -> str:
    """Add a new signing key and retire the previous active ones; returns the new key id."""
    at = _now(now)
    issuer = get_issuer(conn, issuer_id)
    old = conn.execute(
        select(issuer_keys.c.key_id).where(
            issuer_keys.c.issuer_id == issuer_id, issuer_keys.c.active.is_(True)
        )
    ).all()
    new_id = _add_key(conn, ledger, issuer, passphrase=passphrase, now=at)
    for (key_id,) in old:
        retire_key(conn, ledger, issuer_id, key_id, now=at)
    return new_id


class IssuerKeys:
    """Unsealed signing keys, cached per process (unsealing runs scrypt, deliberately slow)."""

    _cache: dict[str, tuple[str, Ed25519Signer]] = {}  # noqa: RUF012 - process-wide cache
    _lock = Lock()

    @classmethod
    def active(
        cls, conn: Connection, issuer_id: str, passphrase: bytes
    ) -> tuple[str, Ed25519Signer]:
        with cls._lock:
            cached = cls._cache.get(issuer_id)
        row = conn.execute(
            select(issuer_keys.c.key_id, issuer_keys.c.public_key, issuer_keys.c.sealed_private_key)
            .where(issuer_keys.c.issuer_id == issuer_id, issuer_keys.c.active.is_(True))
            .order_by(issuer_keys.c.added_index.desc())
        ).first()
        if row is None or row.sealed_private_key is None:
            raise Conflict(f"issuer {issuer_id!r} has no active signing key", field="issuer")
        # The same issuer id and key id can name another key (another database, a re-created
        # issuer): only a cached signer with this row's public key will do.
        if cached and cached[0] == row.key_id and cached[1].public_key == bytes(row.public_key):
            return cached
        signer = Ed25519Signer.from_seed(unseal_seed(bytes(row.sealed_private_key), passphrase))
        with cls._lock:
            cls._cache[issuer_id] = (row.key_id, signer)
        return row.key_id, signer

    @classmethod
    def forget(cls, issuer_id: str) -> None:
        with cls._lock:
            cls._cache.pop(issuer_id, None)


def _hash_key(key: str) -> str:
    return hashlib.sha256(key.encode("ascii")).hexdigest()


def create_api_key(
    conn: Connection, issuer_id: str, *, label: str = "", now: datetime | None = None
) -> ApiKey:
    """A new API key for ``issuer_id``. The returned ``key`` is the only copy."""
    get_issuer(conn, issuer_id)
    prefix = "".join(secrets.choice("abcdefghijklmnopqrstuvwxyz0123456789") for _ in range(12))
    key = f"obk_{prefix}_{secrets.token_urlsafe(32)}"
    conn.execute(
        api_keys.insert().values(
            id=prefix,
            issuer_id=issuer_id,
            secret_hash=_hash_key(key),
            label=label,
            created_at=_now(now),
        )
    )
    return ApiKey(prefix, issuer_id, key)


def revoke_api_key(
    conn: Connection, key_id: str, *, issuer_id: str | None = None, now: datetime | None = None
) -> None:
    row = conn.execute(select(api_keys).where(api_keys.c.id == key_id)).first()
    if row is None:
        raise NotFound(f"no API key {key_id!r}", field="keyId")
    if issuer_id is not None and row.issuer_id != issuer_id:
        raise Forbidden("that API key belongs to another issuer", field="keyId")
    if row.revoked_at is not None:
        # Keep the first revocation time: it is when the key stopped working.
        raise Conflict(f"API key {key_id!r} is already revoked", field="keyId")
    conn.execute(update(api_keys).where(api_keys.c.id == key_id).values(revoked_at=_now(now)))


def authenticate_api_key(conn: Connection, key: str | None) -> str:
    """The issuer id an API key belongs to; Unauthorized for a missing, bad or revoked key."""
    if not key:
        raise Unauthorized("an issuer API key is required (Authorization: Bearer <key>)")
    match = API_KEY.match(key)
    if match is None:
        raise Unauthorized("malformed API key")
    row = conn.execute(select(api_keys).where(api_keys.c.id == match.group(1))).first()
    if row is None or not hmac.compare_digest(row.secret_hash, _hash_key(key)):
        raise Unauthorized("unknown API key")
    if row.revoked_at is not None:
        raise Unauthorized("this API key has been revoked")
    return str(row.issuer_id)
