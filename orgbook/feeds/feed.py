"""Follow the ledger: the entries after a ledger index, filtered, a bounded page at a time.

The ledger index is the cursor. A page answers "what happened after index ``after``": its items
(index, kind, timestamp, organisation, credential, credential type, issuer, leaf hash) and
``next``, the index to pass as ``after`` to continue — the last entry the page *examined*, which
may be beyond its last item when a filter skipped entries. Because entries become visible in
index order (appends hold the ledger head until they commit) and a page never looks at or beyond
the ledger size it read first, a client that always resumes from ``next`` (or from the index of
the last item it processed) sees every matching entry exactly once, after any outage.

Filtering uses the issuer's projections (``credential_events`` joined to ``credentials``), which
are written with the entries anyway, so issuance pays nothing for the feed:

* by organisation: driven by the ``(organisation_id, type)`` index of ``credentials`` and the
  ``credential_id`` index of ``credential_events``: a handful of index reads whatever the ledger
  size;
* otherwise (kind, type, issuer, new organisations, nothing): a primary-key range of at most
  :data:`SCAN_WINDOW` entries after the cursor per page. A page that finds nothing in its window
  still advances ``next``, so the cost of a request is bounded and a rare filter walks the ledger
  at most once, window by window, for a client that follows it.

:class:`LedgerWatcher` lets many long-polling requests wait for the ledger to grow with one
database read per interval between them. This module knows no HTTP; it never writes.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Select, and_, case, exists, null, or_, select

from orgbook.core.canonical import loads_strict
from orgbook.core.credentials import CredentialType
from orgbook.core.errors import BadInput, OrgBookError
from orgbook.ledger.entry import is_kind
from orgbook.ledger.store import ledger_entries, ledger_head
from orgbook.projections.credential_types import credential_types
from orgbook.projections.tables import credential_events, credentials

__all__ = [
    "DEFAULT_LIMIT",
    "MAX_LIMIT",
    "MAX_WAIT",
    "SCAN_WINDOW",
    "FeedFilter",
    "FeedItem",
    "FeedPage",
    "LedgerWatcher",
    "check_type",
    "ledger_size",
    "read_page",
]

DEFAULT_LIMIT = 100
MAX_LIMIT = 1000
SCAN_WINDOW = 10_000
"""Entries one page may examine when no index drives the filter."""
MAX_WAIT = 30.0
"""Longest long-poll, in seconds."""

TYPE_SLUGS = frozenset(t.slug for t in CredentialType)
"""The registry types' slugs; any registered type's slug (``GET /api/v1/credential-types``) is
a type filter too (:func:`check_type`)."""
TYPE_PATTERN = r"^[a-z0-9]+(?:-[a-z0-9]+)*$"
_TYPE_SLUG = re.compile(TYPE_PATTERN)
_ORG_ID = re.compile(r"^[A-Z]{2}(?:-[A-Z0-9]{1,3})?:\S{1,64}$")
_ISSUER_ID = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?$")


@dataclass(frozen=True, slots=True)
class FeedFilter:
    """Which entries a reader wants; every field narrows (``None``: any)."""

    organisation: str | None = None
    type: str | None = None
    issuer: str | None = None
    kind: str | None = None
    new_organisations: bool = False
    """Only the first registration credential issued for each organisation."""

    def __post_init__(self) -> None:
        if self.organisation is not None and not _ORG_ID.match(self.organisation):
            raise BadInput(
                "organisation must be an organisation id such as CA-BC:BC1287139",
                field="organisation",
            )
        if self.type is not None and (len(self.type) > 32 or not _TYPE_SLUG.match(self.type)):
            raise BadInput(
                "type must be a credential type's slug such as legal-name or business-licence",
                field="type",
            )
        if self.issuer is not None and not _ISSUER_ID.match(self.issuer):
            raise BadInput("issuer must be an issuer id such as bc-registries", field="issuer")
        if self.kind is not None and not is_kind(self.kind):
            raise BadInput(
                "kind must be a ledger entry kind such as credential.issued", field="kind"
            )

    def to_json(self) -> dict[str, Any]:
        return {
            "organisation": self.organisation,
            "type": self.type,
            "issuer": self.issuer,
            "kind": self.kind,
            "newOrganisations": self.new_organisations,
        }


@dataclass(frozen=True, slots=True)
class FeedItem:
    """One ledger entry as the feed announces it."""

    index: int
    kind: str
    timestamp: str
    leaf_hash: bytes
    organisation: str | None
    credential: str | None
    type: str | None
    issuer: str | None

    def to_json(self) -> dict[str, Any]:
        return {
            "index": self.index,
            "kind": self.kind,
            "timestamp": self.timestamp,
            "organisation": self.organisation,
            "credential": self.credential,
            "type": self.type,
            "issuer": self.issuer,
            "leafHash": self.leaf_hash.hex(),
        }


@dataclass(frozen=True, slots=True)
class FeedPage:
    items: tuple[FeedItem, ...]
    next: int
    """Pass as ``after`` to continue: the last index this page examined (-1: none yet)."""
    size: int
    """The ledger size the page was read against."""

    @property
    def caught_up(self) -> bool:
        """Whether the page reached the end of the ledger (waiting is the only way on)."""
        return self.next >= self.size - 1


def ledger_size(conn: Connection) -> int:
    value = conn.execute(select(ledger_head.c.size).where(ledger_head.c.id == 1)).scalar()
    return 0 if value is None else int(value)


def _check_page(after: int, limit: int) -> None:
    if isinstance(after, bool) or not isinstance(after, int) or after < -1:
        raise BadInput("after must be a ledger index (or -1: from the start)", field="after")
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_LIMIT:
        raise BadInput(f"limit must be from 1 to {MAX_LIMIT}", field="limit")


def _base(by_organisation: bool) -> Select[Any]:
    e, ce, c = ledger_entries, credential_events, credentials
    columns = (
        e.c.idx,
        e.c.kind,
        e.c.timestamp,
        e.c.leaf_hash,
        ce.c.credential_id,
        c.c.organisation_id,
        c.c.type,
        c.c.issuer_id,
        # Issuer and status-list entries name their issuer only in the payload: read it for
        # those alone.
        case((_names_issuer(), e.c.data), else_=null()).label("issuer_data"),
    )
    if by_organisation:
        joined = c.join(ce, ce.c.credential_id == c.c.id).join(e, e.c.idx == ce.c.ledger_index)
    else:
        joined = e.outerjoin(ce, ce.c.ledger_index == e.c.idx).outerjoin(
            c, c.c.id == ce.c.credential_id
        )
    return select(*columns).select_from(joined)


def _names_issuer() -> Any:
    """Entries whose payload names their issuer: ``issuer.*`` and ``statuslist.published``."""
    e = ledger_entries
    return or_(e.c.kind.startswith("issuer."), e.c.kind == "statuslist.published")


def _where(stmt: Select[Any], flt: FeedFilter) -> Select[Any]:
    e, c = ledger_entries, credentials
    if flt.organisation is not None:
        stmt = stmt.where(c.c.organisation_id == flt.organisation)
    if flt.type is not None:
        stmt = stmt.where(c.c.type == flt.type)
    if flt.kind is not None:
        stmt = stmt.where(e.c.kind == flt.kind)
    if flt.issuer is not None:
        if flt.organisation is not None:
            stmt = stmt.where(c.c.issuer_id == flt.issuer)
        else:
            stmt = stmt.where(or_(c.c.issuer_id == flt.issuer, _names_issuer()))
    if flt.new_organisations:
        earlier = credentials.alias("earlier")
        stmt = stmt.where(
            e.c.kind == "credential.issued",
            c.c.type == "registration",
            ~exists().where(
                and_(
                    earlier.c.organisation_id == c.c.organisation_id,
                    earlier.c.type == "registration",
                    earlier.c.ledger_index < c.c.ledger_index,
                )
            ),
        )
    return stmt


def _issuer_of(data: bytes | None) -> str | None:
    if data is None:
        return None
    try:
        payload = loads_strict(bytes(data)).get("payload", {})
    except OrgBookError:
        return None
    issuer = payload.get("issuer") if isinstance(payload, Mapping) else None
    if isinstance(issuer, Mapping):
        issuer = issuer.get("id")
    return issuer if isinstance(issuer, str) else None


def _item(row: Any) -> FeedItem:
    issuer = row.issuer_id if row.issuer_data is None else _issuer_of(row.issuer_data)
    return FeedItem(
        index=int(row.idx),
        kind=str(row.kind),
        timestamp=str(row.timestamp),
        leaf_hash=bytes(row.leaf_hash),
        organisation=row.organisation_id,
        credential=row.credential_id,
        type=row.type,
        issuer=issuer,
    )


def check_type(conn: Connection, slug: str | None) -> None:
    """:class:`BadInput` unless ``slug`` is a registry type's or a registered type's slug (an
    entry of ``type.registered``, or a type some credential was issued as)."""
    if slug is None or slug in TYPE_SLUGS:
        return
    registered = conn.execute(
        select(credential_types.c.slug).where(credential_types.c.slug == slug).limit(1)
    ).first()
    if registered is None:
        registered = conn.execute(
            select(credentials.c.id).where(credentials.c.type == slug).limit(1)
        ).first()
    if registered is None:
        raise BadInput(
            f"no credential type {slug!r}: a registry type ({', '.join(sorted(TYPE_SLUGS))}) or "
            "a registered type's slug (GET /api/v1/credential-types)",
            field="type",
        )


def read_page(
    conn: Connection,
    flt: FeedFilter,
    *,
    after: int = -1,
    limit: int = DEFAULT_LIMIT,
    window: int = SCAN_WINDOW,
) -> FeedPage:
    """The entries after ``after`` that ``flt`` matches: at most ``limit``, in index order."""
    _check_page(after, limit)
    check_type(conn, flt.type)
    size = ledger_size(conn)  # first: nothing at or beyond it is looked at
    if after >= size - 1:
        return FeedPage((), max(after, size - 1), size)
    e, ce = ledger_entries, credential_events
    if flt.organisation is not None:
        stmt = _base(True).where(ce.c.ledger_index > after, ce.c.ledger_index < size)
        stmt = _where(stmt, flt).order_by(ce.c.ledger_index)
        end = size
    else:
        end = min(after + 1 + window, size)
        stmt = _base(False).where(e.c.idx > after, e.c.idx < end)
        stmt = _where(stmt, flt).order_by(e.c.idx)
    rows = conn.execute(stmt.limit(limit + 1)).all()
    if len(rows) > limit:
        rows = rows[:limit]
        last = int(rows[-1].idx)
    else:
        last = end - 1
    items = [_item(row) for row in rows]
    if flt.issuer is not None:  # issuer and status-list entries matched by kind: this issuer's
        items = [item for item in items if item.issuer == flt.issuer]
    return FeedPage(tuple(items), last, size)


class LedgerWatcher:
    """Waits for the ledger to grow; shared by every waiter of a process.

    However many requests wait, the size is read at most once per ``interval`` (the read runs
    through ``read_size``, e.g. in a thread pool). Time is a parameter for tests.
    """

    def __init__(
        self,
        read_size: Callable[[], Any],
        *,
        interval: float = 0.25,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._read_size = read_size
        self.interval = interval
        self._clock = clock
        self._size = -1
        self._read_at = float("-inf")
        self._lock: asyncio.Lock | None = None

    async def size(self) -> int:
        """The ledger size, at most ``interval`` old."""
        if self._lock is None:
            self._lock = asyncio.Lock()
        if self._clock() - self._read_at < self.interval:
            return self._size
        async with self._lock:
            if self._clock() - self._read_at >= self.interval:
                self._size = int(await self._read_size())
                self._read_at = self._clock()
        return self._size

    async def wait_beyond(self, size: int, timeout: float) -> int:
        """Return the ledger size as soon as it exceeds ``size``, or when ``timeout`` is up."""
        deadline = self._clock() + max(0.0, timeout)
        while True:
            current = await self.size()
            remaining = deadline - self._clock()
            if current > size or remaining <= 0:
                return current
            await asyncio.sleep(min(self.interval, remaining))
