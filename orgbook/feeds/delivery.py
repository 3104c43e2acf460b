"""The webhook delivery worker: per-subscription cursors over the ledger, retries, pausing.

Each subscription is its own outbox: its ``cursor`` is the last ledger index it delivered (or
skipped as not matching). The worker reads the next matching entries with the feed
(:func:`orgbook.feeds.feed.read_page`) and POSTs them one at a time, **in ledger order**; only
after a 2xx does it move the cursor (one small transaction). So:

* issuance writes nothing for subscribers and never waits for a receiver;
* a crash or restart at any point loses nothing: the next worker starts from the stored cursor,
  and an entry whose 2xx was not recorded yet is delivered again (at-least-once; receivers
  deduplicate on the ledger index, also in ``Orgbook-Delivery-Id``);
* a failure (no 2xx within the timeout; redirects are not followed) stops that subscription
  where it is, to be retried after an exponential backoff with jitter
  (:func:`backoff`); after :attr:`DeliveryPolicy.max_attempts` consecutive failures, or failing
  for :attr:`DeliveryPolicy.max_failing` seconds, or a ``410 Gone``, the subscription is
  **paused** with the reason, until its subscriber resumes it.

Several workers (``orgbook webhooks deliver`` processes, the one in ``orgbook serve``) may run
against one database: a subscription is leased to one worker at a time (``lease_until``), and
every write is guarded by the lease. Time, randomness and the HTTP transport are parameters.
"""

from __future__ import annotations

import logging
import random
import secrets
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import orjson
from sqlalchemy import Engine, and_, or_, select, update

from orgbook import __version__
from orgbook.feeds.feed import FeedItem, read_page
from orgbook.feeds.store import subscriptions
from orgbook.feeds.webhooks import (
    SIGNATURE_HEADER,
    Subscription,
    feed_filter,
    sign,
    subscription_from_row,
)
from orgbook.ledger.store import ledger_entries
from orgbook.storage.engine import reading

__all__ = ["Attempt", "DeliveryPolicy", "DeliveryWorker", "backoff", "delivery_body"]

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class DeliveryPolicy:
    base_delay: float = 10.0
    """Seconds before the first retry; doubled after each further failure."""
    max_delay: float = 3600.0
    max_attempts: int = 10
    """Consecutive failures that pause a subscription."""
    max_failing: float = 86_400.0
    """Seconds of uninterrupted failure that pause a subscription."""
    timeout: float = 10.0
    """Seconds a receiver has to answer."""
    batch: int = 100
    """Deliveries to one subscription before the worker moves on to the others."""
    lease: float = 60.0
    """Seconds a worker holds a subscription (renewed after each delivery)."""
    concurrency: int = 4
    """Subscriptions served at the same time."""


@dataclass(frozen=True, slots=True)
class Attempt:
    ok: bool
    status: int | None
    error: str | None


def backoff(attempts: int, policy: DeliveryPolicy, rng: Callable[[], float]) -> float:
    """Seconds to wait after the ``attempts``-th consecutive failure: exponential, jittered.

    "Equal jitter": half the exponential delay plus a random half, so retries of many
    subscriptions spread out but none comes back sooner than half the nominal delay.
    """
    nominal = min(policy.max_delay, policy.base_delay * float(2 ** max(0, attempts - 1)))
    return nominal * (0.5 + 0.5 * rng())


def delivery_body(subscription_id: str, item: FeedItem, entry: bytes) -> bytes:
    """The JSON body of one delivery: the feed item and the ledger entry, byte for byte."""
    return orjson.dumps(
        {
            "type": "orgbook.ledger.entry",
            "deliveryId": f"{subscription_id}.{item.index}",
            "subscription": subscription_id,
            "index": item.index,
            "event": item.to_json(),
            # The entry's canonical bytes as stored: SHA-256(0x00 ‖ them) is the leaf hash.
            "entry": orjson.Fragment(entry),
        }
    )


def _dt(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


class DeliveryWorker:
    """Delivers what is due, subscription by subscription; see the module docstring."""

    def __init__(
        self,
        engine: Engine,
        *,
        policy: DeliveryPolicy | None = None,
        transport: httpx.BaseTransport | None = None,
        clock: Callable[[], float] = time.time,
        rng: Callable[[], float] = random.random,
        owner: str | None = None,
    ) -> None:
        self.engine = engine
        self.policy = policy or DeliveryPolicy()
        self.clock = clock
        self.rng = rng
        self.owner = owner or f"worker-{secrets.token_hex(6)}"
        self.client = httpx.Client(
            transport=transport,
            timeout=self.policy.timeout,
            follow_redirects=False,
            headers={"User-Agent": f"orgbook-webhooks/{__version__}"},
        )
        self.stopping = threading.Event()

    def close(self) -> None:
        self.client.close()

    # --- scheduling ---------------------------------------------------------------------------

    def due(self) -> list[str]:
        """Active subscriptions whose next attempt is due and that no worker holds."""
        now = _dt(self.clock())
        s = subscriptions.c
        with reading(self.engine) as conn:
            rows = conn.execute(
                select(s.id)
                .where(
                    s.status == "active",
                    s.next_attempt_at <= now,
                    or_(s.lease_until.is_(None), s.lease_until < now),
                )
                .order_by(s.next_attempt_at, s.id)
                .limit(1000)
            )
            return [str(row.id) for row in rows]

    def _claim(self, sub_id: str) -> Subscription | None:
        now = self.clock()
        s = subscriptions.c
        with self.engine.begin() as conn:
            claimed = conn.execute(
                update(subscriptions)
                .where(
                    s.id == sub_id,
                    s.status == "active",
                    s.next_attempt_at <= _dt(now),
                    or_(s.lease_until.is_(None), s.lease_until < _dt(now)),
                )
                .values(lease_owner=self.owner, lease_until=_dt(now + self.policy.lease))
            ).rowcount
            if claimed != 1:
                return None
            row = conn.execute(select(subscriptions).where(s.id == sub_id)).one()
        return subscription_from_row(row)

    def _write(self, sub_id: str, **values: Any) -> bool:
        """Update a subscription this worker holds; False when it lost the lease."""
        s = subscriptions.c
        with self.engine.begin() as conn:
            result = conn.execute(
                update(subscriptions)
                .where(and_(s.id == sub_id, s.lease_owner == self.owner))
                .values(**values)
            )
        return bool(result.rowcount == 1)

    def run_once(self) -> int:
        """Serve every subscription that is due now; returns the deliveries that succeeded."""
        due = self.due()
        if not due:
            return 0
        if self.policy.concurrency <= 1 or len(due) == 1:
            return sum(self.serve(sub_id) for sub_id in due)
        with ThreadPoolExecutor(max_workers=self.policy.concurrency) as pool:
            return sum(pool.map(self.serve, due))

    def run(self, *, interval: float = 1.0, stop: threading.Event | None = None) -> None:
        """Deliver until ``stop`` (or :attr:`stopping`) is set; poll each ``interval`` if idle."""
        stop = stop or self.stopping
        while not stop.is_set():
            try:
                busy = self.run_once()
            except Exception:  # a database hiccup must not kill the worker
                log.exception("webhook delivery round failed")
                busy = 0
            if not busy:
                stop.wait(interval)

    # --- one subscription ---------------------------------------------------------------------

    def serve(self, sub_id: str) -> int:
        """Deliver up to ``policy.batch`` entries to one subscription, in order."""
        sub = self._claim(sub_id)
        if sub is None:
            return 0
        delivered = 0
        try:
            flt = feed_filter(sub.filter, sub.filter_value)
            cursor = sub.cursor
            attempts = sub.attempts
            failing_since = sub.failing_since
            while delivered < self.policy.batch and not self.stopping.is_set():
                with reading(self.engine) as conn:
                    page = read_page(
                        conn, flt, after=cursor, limit=min(100, self.policy.batch - delivered)
                    )
                    entries = _entry_bytes(conn, [item.index for item in page.items])
                for item in page.items:
                    body = delivery_body(sub.id, item, entries[item.index])
                    attempt = self.post(sub, item.index, body)
                    if not attempt.ok:
                        self._failed(sub, attempts + 1, failing_since, attempt)
                        return delivered
                    attempts, failing_since = 0, None
                    delivered += 1
                    cursor = item.index
                    now = self.clock()
                    if not self._write(
                        sub.id,
                        cursor=cursor,
                        last_success_index=cursor,
                        last_success_at=_dt(now),
                        last_attempt_at=_dt(now),
                        delivered=subscriptions.c.delivered + 1,
                        attempts=0,
                        failing_since=None,
                        last_error=None,
                        lease_until=_dt(now + self.policy.lease),
                    ):
                        return delivered  # another worker took over: it carries on
                    if self.stopping.is_set():
                        return delivered
                if page.next > cursor:  # skip what the filter did not match
                    cursor = page.next
                    self._write(sub.id, cursor=cursor)
                if page.caught_up:
                    break
            return delivered
        finally:
            self._write(sub.id, lease_owner=None, lease_until=None)

    def post(self, sub: Subscription, index: int, body: bytes) -> Attempt:
        """One signed POST; never raises for what the receiver or the network does."""
        headers = {
            "Content-Type": "application/json",
            SIGNATURE_HEADER: sign(sub.secret, body, int(self.clock())),
            "Orgbook-Delivery-Id": f"{sub.id}.{index}",
            "Orgbook-Ledger-Index": str(index),
            "Orgbook-Subscription": sub.id,
        }
        try:
            response = self.client.post(sub.url, content=body, headers=headers)
        except httpx.HTTPError as exc:
            return Attempt(False, None, f"{type(exc).__name__}: {exc}"[:500])
        if 200 <= response.status_code < 300:
            return Attempt(True, response.status_code, None)
        note = " (redirects are not followed)" if 300 <= response.status_code < 400 else ""
        return Attempt(False, response.status_code, f"HTTP {response.status_code}{note}")

    def _failed(
        self, sub: Subscription, attempts: int, failing_since: datetime | None, attempt: Attempt
    ) -> None:
        now = self.clock()
        since = failing_since.timestamp() if failing_since is not None else now
        error = attempt.error or "failed"
        values: dict[str, Any] = {
            "attempts": attempts,
            "failing_since": _dt(since),
            "last_error": error,
            "last_attempt_at": _dt(now),
        }
        reason = None
        if attempt.status == 410:
            reason = "the receiver answered 410 Gone"
        elif attempts >= self.policy.max_attempts:
            reason = f"{attempts} consecutive failed deliveries (last: {error})"
        elif now - since >= self.policy.max_failing:
            reason = f"failing for {int(now - since)} s (last: {error})"
        if reason is not None:
            values.update(status="paused", paused_reason=reason)
            log.warning("webhook subscription %s paused: %s", sub.id, reason)
        else:
            delay = backoff(attempts, self.policy, self.rng)
            values["next_attempt_at"] = _dt(now) + timedelta(seconds=delay)
        self._write(sub.id, **values)


def _entry_bytes(conn: Any, indices: list[int]) -> dict[int, bytes]:
    if not indices:
        return {}
    rows = conn.execute(
        select(ledger_entries.c.idx, ledger_entries.c.data).where(ledger_entries.c.idx.in_(indices))
    )
    return {int(row.idx): bytes(row.data) for row in rows}
