"""The issuer's Bitstring Status Lists: allocating indices, and signing the lists it serves.

Every credential gets one index ``i`` shared by two lists, ``revocation`` and ``suspension``:
list number ``i // LIST_SIZE``, position ``i % LIST_SIZE``. Bits are stored raw (16 KiB per
list of 131,072 entries, index 0 the left-most bit as the spec says: a projection of the
ledger, :mod:`orgbook.projections.status`) and encoded and signed as a
``BitstringStatusListCredential`` when asked for, cached until the bits change.

The issuer's public module for the other areas: a verifier serving a list whose bits changed
since it was signed re-signs it here (:func:`signed_list`) when the server holds the keys.

Revocation transparency: every signed version is logged, in the transaction that signs it, as
a ``statuslist.published`` ledger entry carrying the SHA-256 of the list's RFC 8785 bytes
(:func:`orgbook.verification.transparency.signed_list_digest`, the function verifiers compare
with), and projected into ``status_list_versions``. A verifier can then tell a list the ledger
recorded from one a server made up, and compare its bits with the ledger's revocation and
suspension entries.
"""

from __future__ import annotations

from datetime import UTC, datetime
from functools import lru_cache
from typing import TYPE_CHECKING, Any, Literal

from sqlalchemy import Connection, select, update

from orgbook.core.canonical import canonicalize, loads_strict
from orgbook.core.errors import NotFound
from orgbook.core.time import format_time
from orgbook.projections.status import LIST_SIZE, PUBLISHED_KIND, bit, record_published, set_bits
from orgbook.projections.tables import issuers, status_list_versions, status_lists
from orgbook.verification.transparency import signed_list_digest

if TYPE_CHECKING:
    from orgbook.ledger.store import Ledger

# LIST_SIZE, PUBLISHED_KIND, bit, set_bits and record_published are the stored bits and the
# record of signed versions, which are projections (orgbook.projections.status): re-exported
# here, where the issuer's status lists are read and written with them.
__all__ = [
    "LIST_SIZE",
    "PUBLISHED_KIND",
    "PURPOSES",
    "allocate",
    "bit",
    "entries",
    "list_url",
    "published_payload",
    "record_published",
    "set_bits",
    "signed_list",
]

Purpose = Literal["revocation", "suspension"]
PURPOSES: tuple[Purpose, ...] = ("revocation", "suspension")


def list_url(public_url: str, issuer_id: str, purpose: str, number: int) -> str:
    return f"{public_url.rstrip('/')}/issuers/{issuer_id}/status/{purpose}/{number}"


def entries(public_url: str, issuer_id: str, index: int) -> list[dict[str, Any]]:
    """The two ``BitstringStatusListEntry`` objects for status index ``index``."""
    number, position = divmod(index, LIST_SIZE)
    return [
        {**template, "id": f"{url}#{position}", "statusListIndex": str(position)}
        for url, template in _entry_templates(public_url, issuer_id, number)
    ]


@lru_cache(maxsize=1024)
def _entry_templates(
    public_url: str, issuer_id: str, number: int
) -> tuple[tuple[str, dict[str, Any]], ...]:
    """Each purpose's list URL and entry (position 0), checked once per list, not per credential.

    :func:`entries` only replaces the two members that depend on the position; the key order
    stays ``status_entry``'s (it does not matter to JCS, but the documents read the same).
    """
    from orgbook.core.statuslist import status_entry

    templates = []
    for purpose in PURPOSES:
        url = list_url(public_url, issuer_id, purpose, number)
        templates.append((url, status_entry(url, 0, purpose)))
    return tuple(templates)


def allocate(conn: Connection, issuer_id: str, count: int) -> int:
    """Reserve ``count`` consecutive status indices; returns the first."""
    first = conn.execute(
        select(issuers.c.next_status_index).where(issuers.c.id == issuer_id)
    ).scalar_one()
    if count:
        conn.execute(
            update(issuers).where(issuers.c.id == issuer_id).values(next_status_index=first + count)
        )
    return int(first)


def signed_list(
    conn: Connection,
    *,
    issuer_id: str,
    purpose: str,
    number: int,
    public_url: str,
    passphrase: bytes,
    ledger: Ledger,
    now: datetime | None = None,
) -> dict[str, Any]:
    """The signed status list credential for one list, re-signed only when its bits changed.

    A new signature is logged on ``ledger`` (``statuslist.published``) in the caller's
    transaction, so no signed version exists that the ledger does not record.
    """
    from orgbook.core.credentials import sign_credential
    from orgbook.core.statuslist import StatusList, build_status_list_credential
    from orgbook.issuer.keys import IssuerKeys, get_issuer

    if purpose not in PURPOSES:
        raise NotFound(f"no status purpose {purpose!r}", field="purpose")
    issuer = get_issuer(conn, issuer_id)
    allocated = conn.execute(
        select(issuers.c.next_status_index).where(issuers.c.id == issuer_id)
    ).scalar_one()
    if number < 0 or number * LIST_SIZE >= max(allocated, 1):
        raise NotFound(f"issuer {issuer_id!r} has no {purpose} list {number}", field="number")
    key = (
        status_lists.c.issuer_id == issuer_id,
        status_lists.c.purpose == purpose,
        status_lists.c.list_number == number,
    )
    row = conn.execute(select(status_lists).where(*key)).first()
    if row is not None and row.signed is not None and row.signed_version == row.version:
        cached: dict[str, Any] = loads_strict(bytes(row.signed))
        return cached
    bits = bytes(row.bits) if row else bytes(LIST_SIZE // 8)
    status_list = StatusList.from_bytes(bits)  # the stored bits are the list's, bit for bit
    at = (now or datetime.now(UTC)).astimezone(UTC)
    unsigned = build_status_list_credential(
        list_id=list_url(public_url, issuer_id, purpose, number),
        issuer=issuer.did,
        purpose=purpose,
        status_list=status_list,
        valid_from=format_time(at, "seconds"),
    )
    key_id, signer = IssuerKeys.active(conn, issuer_id, passphrase)
    signed = sign_credential(unsigned, signer, verification_method=key_id, created=at)
    document = canonicalize(signed)
    payload = published_payload(
        issuer_id=issuer_id,
        did=issuer.did,
        url=list_url(public_url, issuer_id, purpose, number),
        purpose=purpose,
        number=number,
        digest=signed_list_digest(document),
        key_id=key_id,
    )
    recorded = conn.execute(
        select(status_list_versions.c.ledger_index).where(
            status_list_versions.c.digest == payload["digest"]
        )
    ).first()
    if recorded is None:  # the same bytes signed again (same bits, key and instant): logged once
        entry = ledger.append(conn, PUBLISHED_KIND, payload, now=at)
        record_published(conn, payload, entry.index)
    if row is None:
        conn.execute(
            status_lists.insert().values(
                issuer_id=issuer_id,
                purpose=purpose,
                list_number=number,
                bits=bits,
                version=0,
                signed=document,
                signed_version=0,
            )
        )
    else:
        conn.execute(
            update(status_lists).where(*key).values(signed=document, signed_version=row.version)
        )
    return signed


def refresh_signed(
    conn: Connection,
    *,
    issuer_id: str,
    public_url: str,
    passphrase: bytes,
    ledger: Ledger,
    now: datetime | None = None,
) -> int:
    """Re-sign every list of the issuer whose bits changed since it was last signed.

    Called by the issuer after each change, so verifier replicas — which hold no signing key —
    always find a current signed list in the database. Returns how many lists were signed.
    """
    allocated = conn.execute(
        select(issuers.c.next_status_index).where(issuers.c.id == issuer_id)
    ).scalar_one()
    if not allocated:
        return 0
    rows = conn.execute(
        select(
            status_lists.c.purpose,
            status_lists.c.list_number,
            status_lists.c.version,
            status_lists.c.signed_version,
        ).where(status_lists.c.issuer_id == issuer_id)
    ).all()
    fresh = {(r.purpose, r.list_number) for r in rows if r.signed_version == r.version}
    signed = 0
    for number in range((allocated - 1) // LIST_SIZE + 1):
        for purpose in PURPOSES:
            if (purpose, number) not in fresh:
                signed_list(
                    conn,
                    issuer_id=issuer_id,
                    purpose=purpose,
                    number=number,
                    public_url=public_url,
                    passphrase=passphrase,
                    ledger=ledger,
                    now=now,
                )
                signed += 1
    return signed


def published_payload(
    *,
    issuer_id: str,
    did: str,
    url: str,
    purpose: str,
    number: int,
    digest: str,
    key_id: str,
) -> dict[str, Any]:
    """The payload of a ``statuslist.published`` entry."""
    return {
        "issuer": issuer_id,
        "did": did,
        "list": url,
        "purpose": purpose,
        "number": number,
        "digest": digest,
        "keyId": key_id,
    }
