"""Webhooks against a real receiver on 127.0.0.1: signatures (the documented recipe), every
filter kind, retries with backoff, pausing and resuming, and restarts that lose nothing."""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, update

from orgbook.app import create_app
from orgbook.core.errors import VerificationError
from orgbook.feeds import webhooks
from orgbook.feeds.delivery import DeliveryPolicy, DeliveryWorker, backoff
from orgbook.feeds.feed import read_page
from orgbook.feeds.store import subscriptions
from orgbook.projections.tables import organisations
from orgbook.runtime.registry import Registry
from orgbook.storage.engine import reading
from tests.factories import build_registry, issue
from tests.feeds.receiver import Receiver, documented_recipe, running_receiver

FAST = DeliveryPolicy(base_delay=1.0, max_delay=8.0, max_attempts=4, lease=30.0, concurrency=1)


class Clock:
    """Real time plus an offset the test moves forward (signatures stay near real time)."""

    def __init__(self) -> None:
        self.offset = 0.0

    def __call__(self) -> float:
        return time.time() + self.offset

    def advance(self, seconds: float) -> None:
        self.offset += seconds


@pytest.fixture
def registry(tmp_path: Path) -> Iterator[Registry]:
    reg = build_registry(tmp_path, 6)
    yield reg
    reg.close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with running_receiver() as r:
        yield r


def subscribe(
    registry: Registry,
    receiver: Receiver,
    kind: str = "all",
    value: str | None = None,
    after: int | None = None,
) -> webhooks.Subscription:
    with registry.engine.begin() as conn:
        subscriber = webhooks.create_subscriber(conn, "test bank")
        assert subscriber.key is not None
        sub = webhooks.create_subscription(
            conn,
            subscriber.id,
            url=receiver.url,
            filter_kind=kind,
            filter_value=value,
            after=after,
        )
    receiver.secrets[sub.id] = sub.secret
    return sub


def state(registry: Registry, sub_id: str) -> webhooks.Subscription:
    with reading(registry.engine) as conn:
        return webhooks.get_subscription(conn, sub_id)


def an_organisation(registry: Registry) -> tuple[str, str]:
    with reading(registry.engine) as conn:
        row = conn.execute(
            select(organisations.c.id, organisations.c.registration_number)
            .where(organisations.c.jurisdiction == "CA-BC")
            .order_by(organisations.c.id)
        ).first()
    assert row is not None
    return str(row.id), str(row.registration_number)


def news(registry: Registry, number: str, tag: str) -> None:
    """A new organisation and a name change of ``number``."""
    issue(
        registry,
        [
            {
                "event_id": f"new-org-{tag}",
                "kind": "registration",
                "jurisdiction": "CA-BC",
                "registration_number": f"BC99{abs(hash(tag)) % 100000:05d}",
                "effective_date": "2024-01-01",
                "name": f"Fresh Start {tag} Ltd.",
            },
            {
                "event_id": f"rename-{tag}",
                "kind": "name_change",
                "jurisdiction": "CA-BC",
                "registration_number": number,
                "effective_date": "2030-01-01",
                "name": f"Renamed {tag} Ltd.",
            },
        ],
    )


def expected(registry: Registry, sub: webhooks.Subscription, after: int) -> list[int]:
    flt = webhooks.feed_filter(sub.filter, sub.filter_value)
    found: list[int] = []
    with reading(registry.engine) as conn:
        while True:
            page = read_page(conn, flt, after=after, limit=1000)
            found += [item.index for item in page.items]
            after = page.next
            if page.caught_up:
                return found


def pending(registry: Registry) -> bool:
    """Whether an active subscription has entries left to deliver."""
    with reading(registry.engine) as conn:
        subs = [s for s in webhooks.list_subscriptions(conn) if s.status == "active"]
    return any(expected(registry, sub, sub.cursor) for sub in subs)


def deliver_all(registry: Registry, clock: Clock, rounds: int = 50, **kw: Any) -> None:
    """Run fresh workers (a restart each time), moving the clock past backoffs, until done."""
    for _ in range(rounds):
        worker = DeliveryWorker(registry.engine, policy=FAST, clock=clock, **kw)
        try:
            worker.run_once()
        finally:
            worker.close()
        if not pending(registry):
            return
        clock.advance(10)
    raise AssertionError("deliveries did not finish")


# --- the signature ------------------------------------------------------------------------------


def test_signature_round_trip_tamper_and_replay() -> None:
    body = b'{"index":7}'
    now = 1_800_000_000
    header = webhooks.sign("whsec_x", body, now)
    assert header == (
        f"t={now},v1=" + hmac.new(b"whsec_x", f"{now}.".encode() + body, hashlib.sha256).hexdigest()
    )
    assert webhooks.verify_signature("whsec_x", header, body, now=now + 10) == now
    for bad_body, bad_secret, at in (
        (b'{"index":8}', "whsec_x", now),  # tampered body
        (body, "whsec_y", now),  # another subscription's secret
        (body, "whsec_x", now + 301),  # replayed later
        (body, "whsec_x", now - 301),  # from the future
    ):
        with pytest.raises(VerificationError):
            webhooks.verify_signature(bad_secret, header, bad_body, now=at)
    for junk in (None, "", "v1=abc", "t=1", "t=x,v1=00"):
        with pytest.raises(VerificationError):
            webhooks.verify_signature("whsec_x", junk, body, now=now)


def test_documented_recipe_rejects_tampered_and_old_deliveries() -> None:
    verify = documented_recipe()
    body = b'{"index":1}'
    fresh = webhooks.sign("whsec_s", body, int(time.time()))
    assert verify("whsec_s", fresh, body) == {"index": 1}
    with pytest.raises(ValueError, match="bad signature"):
        verify("whsec_s", fresh, b'{"index":2}')
    old = webhooks.sign("whsec_s", body, int(time.time()) - 1000)
    with pytest.raises(ValueError, match="stale"):
        verify("whsec_s", old, body)


def test_backoff_is_exponential_capped_and_jittered() -> None:
    policy = DeliveryPolicy(base_delay=10, max_delay=3600)
    assert [backoff(n, policy, lambda: 1.0) for n in (1, 2, 3, 4)] == [10, 20, 40, 80]
    assert backoff(30, policy, lambda: 1.0) == 3600
    assert backoff(3, policy, lambda: 0.0) == 20  # never below half the nominal delay


# --- deliveries -----------------------------------------------------------------------------------


def test_every_filter_kind_is_delivered_signed_and_in_order(
    registry: Registry, receiver: Receiver
) -> None:
    org_id, number = an_organisation(registry)
    subs = {
        "all": subscribe(registry, receiver, "all"),
        "new": subscribe(registry, receiver, "new-organisations"),
        "org": subscribe(registry, receiver, "organisation", org_id),
        "type": subscribe(registry, receiver, "type", "legal-name"),
    }
    start = subs["all"].cursor
    news(registry, number, "a")
    clock = Clock()
    deliver_all(registry, clock)

    assert not receiver.rejected
    for sub in subs.values():
        assert receiver.indices(sub.id) == expected(registry, sub, start)
        assert state(registry, sub.id).cursor >= max(receiver.indices(sub.id))
    got = {name: [p for s, _, p in receiver.accepted if s == sub.id] for name, sub in subs.items()}
    records = [p for p in got["all"] if p["event"]["kind"] != "statuslist.published"]
    assert len(records) == 5  # new org: registration, name, status; rename: issued, superseded
    # ... and the status list the supersession changed, re-signed and logged
    assert [p["event"]["kind"] for p in got["all"]].count("statuslist.published") >= 1
    assert [p["event"]["type"] for p in got["new"]] == ["registration"]
    assert got["new"][0]["event"]["organisation"] != org_id
    assert {p["event"]["organisation"] for p in got["org"]} == {org_id}
    assert {p["event"]["kind"] for p in got["org"]} == {
        "credential.issued",
        "credential.superseded",
    }
    assert {p["event"]["type"] for p in got["type"]} == {"legal-name"}
    # each delivery carries its ledger entry, byte-exact: it hashes to the announced leaf hash
    from orgbook.core.canonical import canonicalize
    from orgbook.ledger.merkle import leaf_hash

    for payload in got["all"]:
        assert leaf_hash(canonicalize(payload["entry"])).hex() == payload["event"]["leafHash"]
        assert payload["entry"]["index"] == payload["index"]


def test_receiver_failures_are_retried_with_backoff(registry: Registry, receiver: Receiver) -> None:
    sub = subscribe(registry, receiver, "type", "legal-name")
    _, number = an_organisation(registry)
    news(registry, number, "b")
    want = expected(registry, sub, sub.cursor)
    receiver.statuses.extend([500, 500, 503])
    clock = Clock()

    worker = DeliveryWorker(registry.engine, policy=FAST, clock=clock)
    assert worker.run_once() == 0  # 500: nothing delivered, the worker stops for this one
    worker.close()
    failing = state(registry, sub.id)
    assert (failing.attempts, failing.last_error, failing.status) == (1, "HTTP 500", "active")
    assert failing.cursor == sub.cursor
    assert failing.next_attempt_at.timestamp() > clock()  # backed off: not due yet
    worker = DeliveryWorker(registry.engine, policy=FAST, clock=clock)
    assert worker.due() == []
    worker.close()

    deliver_all(registry, clock)
    done = state(registry, sub.id)
    assert receiver.indices(sub.id) == want  # the failed entry first, then the rest, in order
    assert (done.attempts, done.last_error, done.failing_since) == (0, None, None)
    assert done.last_success_index == want[-1]
    assert done.delivered == len(want)


def test_repeated_failures_pause_until_the_subscriber_resumes(
    registry: Registry, receiver: Receiver
) -> None:
    with registry.engine.begin() as conn:
        subscriber = webhooks.create_subscriber(conn, "bank")
    app = create_app(
        dataclasses.replace(registry.settings, rate_limit_per_minute=0), registry=registry
    )
    with TestClient(app) as client:
        auth = {"Authorization": f"Bearer {subscriber.key}"}
        assert client.post("/api/v1/subscriptions", json={"url": receiver.url}).status_code == 401
        created = client.post(
            "/api/v1/subscriptions",
            json={"url": receiver.url, "filter": {"kind": "all"}},
            headers=auth,
        )
        assert created.status_code == 201, created.text
        sub_id, secret = created.json()["id"], created.json()["secret"]
        receiver.secrets[sub_id] = secret
        _, number = an_organisation(registry)
        news(registry, number, "c")
        receiver.always = 500
        clock = Clock()
        for _ in range(FAST.max_attempts):
            worker = DeliveryWorker(registry.engine, policy=FAST, clock=clock)
            worker.run_once()
            worker.close()
            clock.advance(FAST.max_delay)
        body = client.get(f"/api/v1/subscriptions/{sub_id}", headers=auth).json()
        assert body["status"] == "paused"
        assert body["attempts"] == FAST.max_attempts
        assert body["lastError"] == "HTTP 500"
        assert "4 consecutive failed deliveries" in body["pausedReason"]
        assert body["lastSuccessIndex"] is None
        assert body["nextAttemptAt"] is None
        assert "secret" not in body
        worker = DeliveryWorker(registry.engine, policy=FAST, clock=clock)
        assert worker.due() == []  # paused: never picked up
        worker.close()

        receiver.always = None
        resumed = client.post(f"/api/v1/subscriptions/{sub_id}/resume", headers=auth)
        assert resumed.json()["status"] == "active"
        assert (
            client.post(f"/api/v1/subscriptions/{sub_id}/resume", headers=auth).status_code == 409
        )
        deliver_all(registry, clock)
        with reading(registry.engine) as conn:
            sub = webhooks.get_subscription(conn, sub_id)
        assert receiver.indices(sub_id) == expected(registry, sub, created.json()["cursor"])
        assert client.get(f"/api/v1/subscriptions/{sub_id}", headers=auth).json()["status"] == (
            "active"
        )
        # another subscriber sees none of it
        with registry.engine.begin() as conn:
            other = webhooks.create_subscriber(conn, "someone else")
        other_auth = {"Authorization": f"Bearer {other.key}"}
        assert client.get(f"/api/v1/subscriptions/{sub_id}", headers=other_auth).status_code == 404
        assert client.get("/api/v1/subscriptions", headers=other_auth).json() == {
            "subscriptions": []
        }
        listed = client.get("/api/v1/subscriptions", headers=auth).json()["subscriptions"]
        assert [s["id"] for s in listed] == [sub_id]
        assert client.delete(f"/api/v1/subscriptions/{sub_id}", headers=auth).status_code == 204


def test_gone_pauses_at_once(registry: Registry, receiver: Receiver) -> None:
    sub = subscribe(registry, receiver, "all")
    news(registry, an_organisation(registry)[1], "d")
    receiver.always = 410
    worker = DeliveryWorker(registry.engine, policy=FAST, clock=Clock())
    worker.run_once()
    worker.close()
    assert state(registry, sub.id).paused_reason == "the receiver answered 410 Gone"


class Crash(BaseException):
    """The worker process dies (after the receiver got the delivery, before it is recorded)."""


class CrashAfter(httpx.HTTPTransport):
    def __init__(self, n: int) -> None:
        super().__init__()
        self.left = n

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = super().handle_request(request)
        response.read()
        self.left -= 1
        if self.left == 0:
            raise Crash
        return response


def test_restarts_lose_nothing(registry: Registry, receiver: Receiver) -> None:
    subs = [subscribe(registry, receiver, "all"), subscribe(registry, receiver, "type", "address")]
    start = subs[0].cursor
    _, number = an_organisation(registry)
    news(registry, number, "e")
    issue(
        registry,
        [
            {
                "event_id": "move-e",
                "kind": "address_change",
                "jurisdiction": "CA-BC",
                "registration_number": number,
                "effective_date": "2031-01-01",
                "address": {"street": "1 Main St", "city": "Victoria", "region": "BC"},
            }
        ],
    )
    clock = Clock()
    one_at_a_time = dataclasses.replace(FAST, batch=1)

    # 1. stopped between deliveries: one delivery per worker, each worker then discarded
    worker = DeliveryWorker(registry.engine, policy=one_at_a_time, clock=clock)
    worker.run_once()
    worker.close()
    # 2. stopped after a failed attempt
    receiver.statuses.append(500)
    worker = DeliveryWorker(registry.engine, policy=one_at_a_time, clock=clock)
    worker.run_once()
    worker.close()
    clock.advance(10)
    # 3. dies after the receiver accepted a delivery but before recording it (lease left held)
    crashing = DeliveryWorker(
        registry.engine, policy=one_at_a_time, clock=clock, transport=CrashAfter(1)
    )
    with pytest.raises(Crash):
        crashing.run_once()
    crashed_id = receiver.accepted[-1][0]
    crashed_sub = next(s for s in subs if s.id == crashed_id)
    # A killed process leaves its lease behind (a graceful stop releases it): as it would be.
    with registry.engine.begin() as conn:
        conn.execute(
            update(subscriptions)
            .where(subscriptions.c.id == crashed_id)
            .values(
                lease_owner="dead-worker",
                lease_until=datetime.fromtimestamp(clock() + FAST.lease, UTC),
            )
        )
    worker = DeliveryWorker(registry.engine, policy=FAST, clock=clock)
    assert crashed_sub.id not in worker.due()  # still leased to the dead worker
    worker.close()
    clock.advance(FAST.lease + 1)  # the lease runs out; another worker takes over
    deliver_all(registry, clock)

    for sub in subs:
        got = receiver.indices(sub.id)
        want = expected(registry, sub, start)
        assert sorted(set(got)) == want  # every index at least once
        assert got == sorted(got)  # in order (a redelivery repeats the same index)
        assert state(registry, sub.id).cursor >= want[-1]
    crashed = receiver.indices(crashed_sub.id)
    assert len(crashed) == len(set(crashed)) + 1  # exactly one duplicate: the crashed delivery


def test_subscription_inputs_are_checked(registry: Registry) -> None:
    from orgbook.core.errors import BadInput, Unauthorized

    with registry.engine.begin() as conn:
        subscriber = webhooks.create_subscriber(conn, "x")
        for url in ("ftp://a.example/", "https://user:pw@a.example/", "not a url", "https://a/#f"):
            with pytest.raises(BadInput):
                webhooks.create_subscription(conn, subscriber.id, url=url, filter_kind="all")
        for kind, value in (("organisation", None), ("type", "nope"), ("all", "x"), ("x", None)):
            with pytest.raises(BadInput):
                webhooks.create_subscription(
                    conn,
                    subscriber.id,
                    url="https://a.example/",
                    filter_kind=kind,
                    filter_value=value,
                )
        for key in (None, "", "obs_x", "obk_aaaaaaaaaaaa_" + "a" * 43, f"{subscriber.key}x"):
            with pytest.raises(Unauthorized):
                webhooks.authenticate_subscriber(conn, key)
        assert webhooks.authenticate_subscriber(conn, subscriber.key) == subscriber.id
        webhooks.revoke_subscriber(conn, subscriber.id)
        with pytest.raises(Unauthorized):
            webhooks.authenticate_subscriber(conn, subscriber.key)


def test_worker_runs_inside_the_application(
    registry: Registry, receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ORGBOOK_WEBHOOK_WORKER", "1")
    sub = subscribe(registry, receiver, "new-organisations")
    app = create_app(registry.settings, registry=registry)
    with TestClient(app):
        news(registry, an_organisation(registry)[1], "serve")
        deadline = time.monotonic() + 20
        while not receiver.indices(sub.id) and time.monotonic() < deadline:
            time.sleep(0.1)
    assert len(receiver.indices(sub.id)) == 1
    with reading(registry.engine) as conn:  # released when the application stopped
        lease = conn.execute(
            select(subscriptions.c.lease_owner).where(subscriptions.c.id == sub.id)
        ).scalar()
    assert lease is None
