"""Status list credentials as a server-side verification needs them.

What it owns: the URLs a credential's ``credentialStatus`` names (:func:`status_urls`), the
signed status list credentials this registry serves for them, from its cache
(:func:`cached_status_list`, :func:`cached_status_lists`) or signed anew
(:func:`status_list_for_url`, through ``orgbook.issuer.statuslists``).

What it must not do: know about HTTP, or verify anything.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Mapping
from typing import Any

from sqlalchemy import Connection, Engine, Select, bindparam, select

from orgbook.core.canonical import loads_strict
from orgbook.core.errors import NotFound
from orgbook.ledger.store import Ledger
from orgbook.projections.tables import (
    status_lists,
)
from orgbook.storage.engine import reading

__all__ = [
    "STATUS_PATH",
    "cached_status_list",
    "cached_status_lists",
    "status_list_for_url",
    "status_urls",
]

STATUS_PATH = re.compile(r"/issuers/([a-z0-9-]{1,64})/status/(revocation|suspension)/(\d{1,9})$")


def _parse_status_url(url: str, public_url: str) -> tuple[str, str, int]:
    base = public_url.rstrip("/")
    match = STATUS_PATH.match(url[len(base) :]) if url.startswith(base + "/") else None
    if match is None:
        raise NotFound(f"{url} is not a status list of this registry")
    return match.group(1), match.group(2), int(match.group(3))


def cached_status_list(conn: Connection, url: str, *, public_url: str) -> dict[str, Any] | None:
    """The signed status list at ``url`` when its cached signature is current, else None."""
    issuer_id, purpose, number = _parse_status_url(url, public_url)
    row = conn.execute(
        select(status_lists.c.signed, status_lists.c.signed_version, status_lists.c.version).where(
            status_lists.c.issuer_id == issuer_id,
            status_lists.c.purpose == purpose,
            status_lists.c.list_number == number,
        )
    ).first()
    if row is None or row.signed is None or row.signed_version != row.version:
        return None
    document: dict[str, Any] = loads_strict(bytes(row.signed))
    return document


def cached_status_lists(
    conn: Connection, urls: Iterable[str], *, public_url: str
) -> dict[str, dict[str, Any]]:
    """:func:`cached_status_list` of several URLs in one query: URL -> the signed list, for
    those whose cached signature is current (other URLs, and this registry's unknown lists,
    are left out). Callers must not change the documents: they may be shared."""
    wanted: dict[tuple[str, str, int], str] = {}
    for url in urls:
        try:
            wanted[_parse_status_url(url, public_url)] = url
        except NotFound:
            continue
    if not wanted:
        return {}
    rows = conn.execute(
        _status_lists_query(),
        {
            "issuers": sorted({issuer for issuer, _, _ in wanted}),
            "numbers": sorted({number for _, _, number in wanted}),
        },
    ).all()
    found: dict[str, dict[str, Any]] = {}
    for row in rows:
        at = wanted.get((row.issuer_id, row.purpose, int(row.list_number)))
        if at is not None and row.signed is not None and row.signed_version == row.version:
            found[at] = _parsed_list(bytes(row.signed))
    return found


@functools.cache
def _status_lists_query() -> Select[Any]:
    s = status_lists.c
    return select(
        s.issuer_id, s.purpose, s.list_number, s.signed, s.signed_version, s.version
    ).where(
        s.issuer_id.in_(bindparam("issuers", expanding=True)),
        s.list_number.in_(bindparam("numbers", expanding=True)),
    )


@functools.lru_cache(maxsize=256)
def _parsed_list(signed: bytes) -> dict[str, Any]:
    """A signed status list parsed once per distinct signed bytes (they change when re-signed)."""
    document: dict[str, Any] = loads_strict(signed)
    return document


def status_list_for_url(
    engine: Engine,
    url: str,
    *,
    public_url: str,
    passphrase: bytes | None,
    ledger: Ledger | None = None,
) -> dict[str, Any]:
    """The signed status list credential this registry serves at ``url``.

    The cached signature when it is current (a read transaction); otherwise signed anew when
    this process holds the keys and the ledger (a write transaction that logs the new version,
    ``statuslist.published``, and signs a checkpoint over it when it can, so a verifier can
    prove it at once). :class:`NotFound` for a URL that is not one of this registry's lists, or
    a stale list on a replica without keys.
    """
    from orgbook.issuer.statuslists import signed_list

    issuer_id, purpose, number = _parse_status_url(url, public_url)
    with reading(engine) as conn:
        cached = cached_status_list(conn, url, public_url=public_url)
    if cached is not None:
        return cached
    if passphrase is None or ledger is None:
        raise NotFound(f"no current signed status list at {url} on this replica")
    with engine.begin() as conn:
        size = ledger.size(conn)
        signed = signed_list(
            conn,
            issuer_id=issuer_id,
            purpose=purpose,
            number=number,
            public_url=public_url,
            passphrase=passphrase,
            ledger=ledger,
        )
        if ledger.signer is not None and ledger.size(conn) != size:
            ledger.sign_checkpoint(conn)
        return signed


def status_urls(credential: Mapping[str, Any]) -> Iterable[str]:
    """The ``statusListCredential`` URLs a credential names."""
    raw = credential.get("credentialStatus")
    for entry in raw if isinstance(raw, list) else [raw]:
        if isinstance(entry, Mapping) and isinstance(entry.get("statusListCredential"), str):
            yield entry["statusListCredential"]
