"""Webhook subscriptions: subscribers and their keys, subscriptions, the delivery signature.

* **Subscribers** hold API keys ``obs_<id>_<secret>`` (``orgbook webhooks subscriber create``),
  shown once and stored as SHA-256 hashes, compared in constant time — the scheme of the issuer
  keys (:mod:`orgbook.issuer.keys`), with a prefix of its own so neither key opens the other API.
* **Subscriptions** send every ledger entry that matches their filter to a URL: ``all``,
  ``new-organisations``, one ``organisation``, one credential ``type``. Each has a signing secret
  (``whsec_…``), returned once at creation; it is kept in the database (not hashed) because every
  delivery is signed with it. A subscription's outbox is its cursor over the ledger
  (:mod:`orgbook.feeds.delivery`).
* **Signature**: ``Orgbook-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>``.
  :func:`sign` and :func:`verify_signature` are pure; the receiver's recipe is in
  ``docs/subscriptions.md``.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal
from urllib.parse import urlsplit

from sqlalchemy import Connection, select, update

from orgbook.core.errors import BadInput, Conflict, NotFound, Unauthorized, VerificationError
from orgbook.core.time import as_utc, format_time
from orgbook.feeds.feed import FeedFilter, check_type, ledger_size
from orgbook.feeds.store import subscribers, subscriptions

__all__ = [
    "FILTERS",
    "SIGNATURE_HEADER",
    "TOLERANCE",
    "Subscriber",
    "Subscription",
    "authenticate_subscriber",
    "create_subscriber",
    "create_subscription",
    "delete_subscription",
    "feed_filter",
    "get_subscription",
    "list_subscribers",
    "list_subscriptions",
    "pause_subscription",
    "resume_subscription",
    "revoke_subscriber",
    "sign",
    "verify_signature",
]

FilterKind = Literal["all", "new-organisations", "organisation", "type"]
FILTERS: tuple[FilterKind, ...] = ("all", "new-organisations", "organisation", "type")
SIGNATURE_HEADER = "Orgbook-Signature"
TOLERANCE = 300
"""Seconds a receiver accepts between the signature's timestamp and its clock."""

SUBSCRIBER_KEY = re.compile(r"^obs_([a-z0-9]{12})_([A-Za-z0-9_-]{32,64})$")
_ALPHABET = "abcdefghijklmnopqrstuvwxyz0123456789"
MAX_URL = 2000


# --- the signature (pure) -------------------------------------------------------------------


def sign(secret: str, body: bytes, timestamp: int) -> str:
    """The ``Orgbook-Signature`` value for ``body`` sent at ``timestamp`` (unix seconds)."""
    mac = hmac.new(secret.encode("utf-8"), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"t={timestamp},v1={mac.hexdigest()}"


def verify_signature(
    secret: str, header: str | None, body: bytes, *, now: float, tolerance: int = TOLERANCE
) -> int:
    """Check a delivery; returns its timestamp or raises :class:`VerificationError`.

    Refuses a missing or malformed header, a timestamp further than ``tolerance`` seconds from
    ``now`` (a replay, or a clock to fix) and a body or secret that does not match any ``v1``.
    """
    if not header:
        raise VerificationError("no Orgbook-Signature header")
    timestamp: int | None = None
    candidates: list[str] = []
    for part in header.split(","):
        name, _, value = part.strip().partition("=")
        if name == "t" and value.isdigit():
            timestamp = int(value)
        elif name == "v1":
            candidates.append(value)
    if timestamp is None or not candidates:
        raise VerificationError("malformed Orgbook-Signature header")
    if abs(now - timestamp) > tolerance:
        raise VerificationError("the signature's timestamp is outside the tolerance")
    expected = sign(secret, body, timestamp).rsplit("=", 1)[1]
    if not any(hmac.compare_digest(expected, candidate) for candidate in candidates):
        raise VerificationError("the signature does not match")
    return timestamp


# --- subscribers ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Subscriber:
    id: str
    name: str
    created_at: datetime
    revoked: bool
    key: str | None = None  # the whole key: only when just created


def _now(now: datetime | None) -> datetime:
    return (now or datetime.now(UTC)).astimezone(UTC)


def _utc(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    return as_utc(value)


def _hash_key(key: str) -> str:
    return hashlib.sha256(key.encode("ascii")).hexdigest()


def create_subscriber(conn: Connection, name: str, *, now: datetime | None = None) -> Subscriber:
    """A new subscriber and its API key (``Subscriber.key``, the only copy)."""
    name = name.strip()
    if not name or len(name) > 200:
        raise BadInput("a subscriber name is 1 to 200 characters", field="name")
    prefix = "".join(secrets.choice(_ALPHABET) for _ in range(12))
    key = f"obs_{prefix}_{secrets.token_urlsafe(32)}"
    at = _now(now)
    conn.execute(
        subscribers.insert().values(id=prefix, name=name, secret_hash=_hash_key(key), created_at=at)
    )
    return Subscriber(prefix, name, at, False, key)


def list_subscribers(conn: Connection) -> list[Subscriber]:
    rows = conn.execute(select(subscribers).order_by(subscribers.c.created_at)).all()
    return [
        Subscriber(r.id, r.name, _utc(r.created_at) or _now(None), r.revoked_at is not None)
        for r in rows
    ]


def revoke_subscriber(conn: Connection, subscriber_id: str, *, now: datetime | None = None) -> None:
    """Revoke a subscriber's key and pause its subscriptions."""
    result = conn.execute(
        update(subscribers).where(subscribers.c.id == subscriber_id).values(revoked_at=_now(now))
    )
    if result.rowcount != 1:
        raise NotFound(f"no subscriber {subscriber_id!r}", field="id")
    conn.execute(
        update(subscriptions)
        .where(subscriptions.c.subscriber_id == subscriber_id)
        .values(status="paused", paused_reason="the subscriber's key was revoked")
    )


def authenticate_subscriber(conn: Connection, key: str | None) -> str:
    """The subscriber id a key belongs to; :class:`Unauthorized` otherwise."""
    if not key:
        raise Unauthorized("a subscriber API key is required (Authorization: Bearer <key>)")
    match = SUBSCRIBER_KEY.match(key)
    if match is None:
        raise Unauthorized("malformed subscriber API key")
    row = conn.execute(select(subscribers).where(subscribers.c.id == match.group(1))).first()
    if row is None or not hmac.compare_digest(row.secret_hash, _hash_key(key)):
        raise Unauthorized("unknown subscriber API key")
    if row.revoked_at is not None:
        raise Unauthorized("this subscriber API key has been revoked")
    return str(row.id)


# --- subscriptions ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Subscription:
    id: str
    subscriber_id: str
    url: str
    filter: str
    filter_value: str | None
    status: str
    paused_reason: str | None
    cursor: int
    last_success_index: int | None
    last_success_at: datetime | None
    delivered: int
    attempts: int
    failing_since: datetime | None
    last_error: str | None
    last_attempt_at: datetime | None
    next_attempt_at: datetime
    created_at: datetime
    secret: str = ""

    def to_json(self) -> dict[str, Any]:
        """The subscription as its owner sees it (never the secret)."""

        def stamp(value: datetime | None) -> str | None:
            return None if value is None else format_time(as_utc(value), "seconds")

        return {
            "id": self.id,
            "url": self.url,
            "filter": {"kind": self.filter, "value": self.filter_value},
            "status": self.status,
            "pausedReason": self.paused_reason,
            "cursor": self.cursor,
            "lastSuccessIndex": self.last_success_index,
            "lastSuccessAt": stamp(self.last_success_at),
            "delivered": self.delivered,
            "attempts": self.attempts,
            "failingSince": stamp(self.failing_since),
            "lastError": self.last_error,
            "lastAttemptAt": stamp(self.last_attempt_at),
            "nextAttemptAt": stamp(self.next_attempt_at) if self.status == "active" else None,
            "createdAt": stamp(self.created_at),
        }


def subscription_from_row(row: Any) -> Subscription:
    return Subscription(
        id=row.id,
        subscriber_id=row.subscriber_id,
        url=row.url,
        filter=row.filter,
        filter_value=row.filter_value,
        status=row.status,
        paused_reason=row.paused_reason,
        cursor=int(row.cursor),
        last_success_index=None if row.last_success_index is None else int(row.last_success_index),
        last_success_at=_utc(row.last_success_at),
        delivered=int(row.delivered or 0),
        attempts=int(row.attempts or 0),
        failing_since=_utc(row.failing_since),
        last_error=row.last_error,
        last_attempt_at=_utc(row.last_attempt_at),
        next_attempt_at=_utc(row.next_attempt_at) or _now(None),
        created_at=_utc(row.created_at) or _now(None),
        secret=row.secret,
    )


def feed_filter(kind: str, value: str | None) -> FeedFilter:
    """The feed filter of a subscription's filter ``(kind, value)``."""
    if kind == "all":
        return FeedFilter()
    if kind == "new-organisations":
        return FeedFilter(new_organisations=True)
    if kind == "organisation":
        return FeedFilter(organisation=value)
    if kind == "type":
        return FeedFilter(type=value)
    raise BadInput(f"filter must be one of {', '.join(FILTERS)}", field="filter")


def check_url(url: str) -> str:
    """An http(s) URL without credentials or fragment, at most :data:`MAX_URL` characters."""
    parts = urlsplit(url) if isinstance(url, str) else None
    if (
        parts is None
        or len(url) > MAX_URL
        or parts.scheme not in ("http", "https")
        or not parts.hostname
        or parts.username is not None
        or parts.fragment
    ):
        raise BadInput("url must be an http(s) URL without credentials or fragment", field="url")
    return url


def create_subscription(
    conn: Connection,
    subscriber_id: str,
    *,
    url: str,
    filter_kind: str,
    filter_value: str | None = None,
    after: int | None = None,
    now: datetime | None = None,
) -> Subscription:
    """A new active subscription; ``Subscription.secret`` is the signing secret (shown once).

    Deliveries start after ledger index ``after`` (default: the current end of the ledger, so
    only what happens from now on; ``-1`` replays the whole ledger).
    """
    check_url(url)
    if filter_kind in ("organisation", "type") and not filter_value:
        raise BadInput(f"a {filter_kind} filter needs a value", field="filter.value")
    if filter_kind in ("all", "new-organisations") and filter_value:
        raise BadInput(f"a {filter_kind} filter takes no value", field="filter.value")
    check_type(conn, feed_filter(filter_kind, filter_value).type)  # validates the value
    size = ledger_size(conn)
    if after is None:
        after = size - 1
    if not -1 <= after <= max(size - 1, -1):
        raise BadInput(f"after must be from -1 to {size - 1}", field="after")
    at = _now(now)
    sub_id = "sub_" + "".join(secrets.choice(_ALPHABET) for _ in range(20))
    secret = "whsec_" + secrets.token_urlsafe(32)
    conn.execute(
        subscriptions.insert().values(
            id=sub_id,
            subscriber_id=subscriber_id,
            url=url,
            filter=filter_kind,
            filter_value=filter_value,
            secret=secret,
            status="active",
            cursor=after,
            delivered=0,
            attempts=0,
            next_attempt_at=at,
            created_at=at,
        )
    )
    return get_subscription(conn, sub_id)


def get_subscription(
    conn: Connection, subscription_id: str, *, subscriber_id: str | None = None
) -> Subscription:
    """A subscription (of ``subscriber_id`` when given); :class:`NotFound` otherwise."""
    query = select(subscriptions).where(subscriptions.c.id == subscription_id)
    if subscriber_id is not None:
        query = query.where(subscriptions.c.subscriber_id == subscriber_id)
    row = conn.execute(query).first()
    if row is None:
        raise NotFound(f"no subscription {subscription_id}", field="id")
    return subscription_from_row(row)


def list_subscriptions(
    conn: Connection, *, subscriber_id: str | None = None
) -> Sequence[Subscription]:
    query = select(subscriptions).order_by(subscriptions.c.created_at, subscriptions.c.id)
    if subscriber_id is not None:
        query = query.where(subscriptions.c.subscriber_id == subscriber_id)
    return [subscription_from_row(row) for row in conn.execute(query)]


def resume_subscription(
    conn: Connection,
    subscription_id: str,
    *,
    subscriber_id: str | None = None,
    now: datetime | None = None,
) -> Subscription:
    """Resume a paused subscription where it stopped (its cursor is kept): due at once."""
    sub = get_subscription(conn, subscription_id, subscriber_id=subscriber_id)
    if sub.status == "active":
        raise Conflict("the subscription is not paused", field="id")
    conn.execute(
        update(subscriptions)
        .where(subscriptions.c.id == subscription_id)
        .values(
            status="active",
            paused_reason=None,
            attempts=0,
            failing_since=None,
            next_attempt_at=_now(now),
        )
    )
    return get_subscription(conn, subscription_id)


def pause_subscription(
    conn: Connection,
    subscription_id: str,
    reason: str,
    *,
    subscriber_id: str | None = None,
) -> Subscription:
    get_subscription(conn, subscription_id, subscriber_id=subscriber_id)
    conn.execute(
        update(subscriptions)
        .where(subscriptions.c.id == subscription_id)
        .values(status="paused", paused_reason=reason[:1000])
    )
    return get_subscription(conn, subscription_id)


def delete_subscription(
    conn: Connection, subscription_id: str, *, subscriber_id: str | None = None
) -> None:
    get_subscription(conn, subscription_id, subscriber_id=subscriber_id)
    conn.execute(subscriptions.delete().where(subscriptions.c.id == subscription_id))
