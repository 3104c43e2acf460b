"""Per-client token buckets, one set per route class, in memory and bounded.

A client is the peer's address, or, when the peer is a trusted proxy, the first address in
``X-Forwarded-For`` (read from the right) that is not itself a trusted proxy: the left-most
entries are whatever the client chose to send, so they are never believed. Buckets hold
``limit`` tokens and refill at ``limit`` per minute; the least recently seen clients are evicted
beyond ``max_clients`` (an evicted client simply starts with a full bucket).

Routes declare ``dependencies=[rate_limited("verify")]`` (or take the dependency as a parameter).
Every answer gets ``RateLimit-Limit`` and ``RateLimit-Remaining``; a refused request is a 429
problem+json with ``Retry-After``. The clock is a parameter, so tests are deterministic.

Where the state lives (``ORGBOOK_RATE_LIMIT_STORAGE``): empty, the token buckets above, in the
process's memory, exact for one worker. Any other value is a storage URI of the ``limits``
library, and the limit becomes a sliding window counter (``limits``' strategy) kept there and
shared by every process that names it: ``orgbook+sqlite:///…`` (:mod:`orgbook.http.ratestore`, a
file the workers of one host share; ``orgbook serve --workers N`` sets it up itself), or
``redis://…`` / ``memcached://…`` for replicas on several hosts.
"""

from __future__ import annotations

import ipaddress
import math
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Literal, TypeAlias

from fastapi import Depends
from starlette.requests import Request

from orgbook.config import IPNetwork, Settings
from orgbook.core.errors import ConfigurationError, RateLimited
from orgbook.http.middleware import add_response_header
from orgbook.http.problems import HEADERS_ATTR

RateKind: TypeAlias = Literal["read", "search", "verify", "issuer"]
"""Route classes; ``search`` shares the ``read`` limit and bucket."""

Clock: TypeAlias = Callable[[], float]

_BUCKET_OF: dict[str, str] = {
    "read": "read",
    "search": "read",
    "verify": "verify",
    "issuer": "issuer",
}


@dataclass(frozen=True, slots=True)
class Decision:
    allowed: bool
    limit: int
    remaining: int
    retry_after: float
    """Seconds until one token is available (0 when allowed)."""


class _Bucket:
    __slots__ = ("tokens", "updated")

    def __init__(self, tokens: float, updated: float) -> None:
        self.tokens = tokens
        self.updated = updated


class TokenBuckets:
    """Token buckets for one route class: ``per_minute`` tokens, refilled continuously."""

    def __init__(self, per_minute: int, *, max_clients: int = 100_000, clock: Clock) -> None:
        self.limit = per_minute
        self.rate = per_minute / 60.0
        self.max_clients = max_clients
        self.clock = clock
        self._buckets: OrderedDict[str, _Bucket] = OrderedDict()
        self._lock = threading.Lock()  # sync routes run dependencies in a thread pool

    def __len__(self) -> int:
        return len(self._buckets)

    def take(self, client: str) -> Decision:
        if self.limit <= 0:
            return Decision(True, 0, 0, 0.0)
        now = self.clock()
        with self._lock:
            bucket = self._buckets.get(client)
            if bucket is None:
                bucket = _Bucket(float(self.limit), now)
                self._buckets[client] = bucket
                while len(self._buckets) > self.max_clients:
                    self._buckets.popitem(last=False)
            else:
                self._buckets.move_to_end(client)
                elapsed = max(0.0, now - bucket.updated)
                bucket.tokens = min(float(self.limit), bucket.tokens + elapsed * self.rate)
                bucket.updated = now
            if bucket.tokens >= 1.0:
                bucket.tokens -= 1.0
                return Decision(True, self.limit, int(bucket.tokens), 0.0)
            return Decision(False, self.limit, 0, (1.0 - bucket.tokens) / self.rate)


class SharedWindows:
    """One route class's limit in a ``limits`` storage that several processes share."""

    def __init__(self, kind: str, per_minute: int, strategy: Any) -> None:
        from limits import RateLimitItemPerMinute

        self.kind = kind
        self.limit = per_minute
        self.item = RateLimitItemPerMinute(per_minute) if per_minute > 0 else None
        self.strategy = strategy

    def take(self, client: str) -> Decision:
        if self.item is None:
            return Decision(True, 0, 0, 0.0)
        allowed = self.strategy.hit(self.item, self.kind, client)
        stats = self.strategy.get_window_stats(self.item, self.kind, client)
        retry = 0.0 if allowed else max(0.0, stats.reset_time - time.time())
        return Decision(allowed, self.limit, stats.remaining, retry)


def shared_strategy(storage_uri: str) -> Any:
    """``limits``' sliding window counter over the storage at ``storage_uri``."""
    from limits.storage import storage_from_string
    from limits.strategies import SlidingWindowCounterRateLimiter

    import orgbook.http.ratestore  # registers the orgbook+sqlite scheme with limits

    _ = orgbook.http.ratestore
    try:
        storage = storage_from_string(storage_uri)
    except Exception as exc:  # limits raises ConfigurationError or a driver's ImportError
        raise ConfigurationError(
            f"ORGBOOK_RATE_LIMIT_STORAGE: {exc}", field="ORGBOOK_RATE_LIMIT_STORAGE"
        ) from exc
    return SlidingWindowCounterRateLimiter(storage)


class RateLimiter:
    """The buckets of every route class, and how to tell clients apart."""

    def __init__(
        self,
        limits: dict[str, int],
        *,
        trusted_proxies: Sequence[IPNetwork] = (),
        max_clients: int = 100_000,
        clock: Clock = time.monotonic,
        storage: str = "",
    ) -> None:
        self.trusted_proxies = tuple(trusted_proxies)
        self.buckets: dict[str, TokenBuckets | SharedWindows]
        if storage:
            strategy = shared_strategy(storage)
            self.buckets = {
                kind: SharedWindows(kind, limit, strategy) for kind, limit in limits.items()
            }
        else:
            self.buckets = {
                kind: TokenBuckets(limit, max_clients=max_clients, clock=clock)
                for kind, limit in limits.items()
            }

    @classmethod
    def from_settings(cls, settings: Settings, *, clock: Clock = time.monotonic) -> RateLimiter:
        return cls(
            {
                "read": settings.rate_limit_per_minute,
                "verify": settings.verify_rate_limit_per_minute,
                "issuer": settings.issuer_rate_limit_per_minute,
            },
            trusted_proxies=settings.trusted_proxies,
            max_clients=settings.rate_limit_max_clients,
            clock=clock,
            storage=settings.rate_limit_storage,
        )

    def take(self, kind: RateKind, client: str) -> Decision:
        buckets = self.buckets.get(_BUCKET_OF[kind])
        if buckets is None:
            return Decision(True, 0, 0, 0.0)
        return buckets.take(client)

    def client_of(self, request: Request) -> str:
        peer = request.client.host if request.client else "unknown"
        forwarded = request.headers.getlist("x-forwarded-for")
        return client_address(peer, forwarded, self.trusted_proxies)


def _is_trusted(address: str, trusted: Sequence[IPNetwork]) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in net for net in trusted)


def client_address(peer: str, forwarded_for: Iterable[str], trusted: Sequence[IPNetwork]) -> str:
    """The address to rate-limit: ``peer``, unless a trusted proxy forwarded for someone else."""
    if not trusted or not _is_trusted(peer, trusted):
        return peer
    hops = [hop.strip() for header in forwarded_for for hop in header.split(",") if hop.strip()]
    for hop in reversed(hops):
        if not _is_trusted(hop, trusted):
            try:
                return str(ipaddress.ip_address(hop))
            except ValueError:
                return hop[:64]  # not an address: still a stable key, but a bounded one
    return hops[0] if hops else peer


class RateLimitExceeded(RateLimited):
    """429 with the rate-limit headers."""

    def __init__(self, kind: str, decision: Decision) -> None:
        retry = max(1, math.ceil(decision.retry_after))
        super().__init__(
            f"Too many {kind} requests from this client; retry in {retry} s.",
            retry_after=retry,
        )
        setattr(self, HEADERS_ATTR, {"Retry-After": str(retry)})


def rate_limited(kind: RateKind) -> Any:
    """A dependency that takes a token from the client's ``kind`` bucket or raises 429.

    Use as ``dependencies=[rate_limited("read")]`` on a route or router. Does nothing in an app
    that has no ``app.state.rate_limiter`` (bare test apps).
    """

    async def take_token(request: Request) -> None:
        limiter: RateLimiter | None = getattr(request.app.state, "rate_limiter", None)
        if limiter is None:
            return
        decision = limiter.take(kind, limiter.client_of(request))
        if decision.limit:
            add_response_header(request.scope, "RateLimit-Limit", str(decision.limit))
            add_response_header(request.scope, "RateLimit-Remaining", str(decision.remaining))
        if not decision.allowed:
            raise RateLimitExceeded(kind, decision)

    take_token.__name__ = f"rate_limited_{kind}"
    return Depends(take_token)


__all__ = [
    "Clock",
    "Decision",
    "RateKind",
    "RateLimitExceeded",
    "RateLimiter",
    "SharedWindows",
    "TokenBuckets",
    "client_address",
    "rate_limited",
    "shared_strategy",
]
