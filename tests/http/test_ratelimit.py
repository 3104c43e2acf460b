"""Token buckets with a fake clock: refill, 429 with Retry-After, per class, per client, LRU."""

from __future__ import annotations

import ipaddress
from pathlib import Path

import pytest
from fastapi import FastAPI

from orgbook.http.ratelimit import RateLimiter, TokenBuckets, client_address, rate_limited
from tests.http import TestClient, make_app

PROBLEM = "application/problem+json"


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


def test_bucket_allows_burst_then_refuses_then_refills(clock: FakeClock) -> None:
    buckets = TokenBuckets(60, clock=clock)  # one token per second
    decisions = [buckets.take("a") for _ in range(60)]
    assert all(d.allowed for d in decisions)
    assert [d.remaining for d in decisions[-2:]] == [1, 0]
    refused = buckets.take("a")
    assert not refused.allowed
    assert refused.retry_after == pytest.approx(1.0)
    clock.advance(0.5)
    assert buckets.take("a").retry_after == pytest.approx(0.5)
    clock.advance(0.5)
    assert buckets.take("a").allowed
    clock.advance(3600)
    assert buckets.take("a").remaining == 59  # refill is capped at the limit


def test_clients_have_their_own_buckets(clock: FakeClock) -> None:
    buckets = TokenBuckets(1, clock=clock)
    assert buckets.take("a").allowed
    assert not buckets.take("a").allowed
    assert buckets.take("b").allowed


def test_bucket_store_is_bounded_lru(clock: FakeClock) -> None:
    buckets = TokenBuckets(1, max_clients=2, clock=clock)
    buckets.take("a")
    buckets.take("b")
    buckets.take("a")  # refused, but "a" is now the most recent
    buckets.take("c")  # evicts "b"
    assert len(buckets) == 2
    assert not buckets.take("a").allowed
    assert buckets.take("b").allowed  # forgotten, so a fresh bucket


def test_zero_disables_the_limit(clock: FakeClock) -> None:
    buckets = TokenBuckets(0, clock=clock)
    assert all(buckets.take("a").allowed for _ in range(1000))
    assert len(buckets) == 0


PROXIES = (ipaddress.ip_network("10.0.0.0/8"), ipaddress.ip_network("::1/128"))


@pytest.mark.parametrize(
    ("peer", "forwarded", "expected"),
    [
        ("203.0.113.9", [], "203.0.113.9"),
        ("203.0.113.9", ["198.51.100.1"], "203.0.113.9"),  # untrusted peer: header ignored
        ("10.0.0.2", ["198.51.100.1"], "198.51.100.1"),
        ("10.0.0.2", ["6.6.6.6, 198.51.100.1, 10.0.0.3"], "198.51.100.1"),  # spoofed left hop
        ("10.0.0.2", ["6.6.6.6", "198.51.100.1"], "198.51.100.1"),  # repeated headers
        ("10.0.0.2", ["10.0.0.4, 10.0.0.3"], "10.0.0.4"),  # only proxies: the left-most
        ("10.0.0.2", [], "10.0.0.2"),
        ("::1", ["2001:db8::1"], "2001:db8::1"),
        ("10.0.0.2", ["garbage"], "garbage"),
    ],
)
def test_client_address(peer: str, forwarded: list[str], expected: str) -> None:
    assert client_address(peer, forwarded, PROXIES) == expected


def test_no_trusted_proxies_means_the_peer() -> None:
    assert client_address("10.0.0.2", ["198.51.100.1"], ()) == "10.0.0.2"


def limited_app(tmp_path: Path, clock: FakeClock) -> FastAPI:
    app = make_app(tmp_path, trusted_proxies="127.0.0.0/8")
    app.state.rate_limiter = RateLimiter(
        {"read": 3, "verify": 1, "issuer": 2},
        trusted_proxies=app.state.settings.trusted_proxies,
        clock=clock,
    )

    @app.get("/api/v1/things", dependencies=[rate_limited("read")])
    async def things() -> dict[str, int]:
        return {"n": 1}

    @app.get("/api/v1/test/search", dependencies=[rate_limited("search")])
    async def search() -> dict[str, int]:
        return {"n": 2}

    @app.post("/api/v1/test/verify", dependencies=[rate_limited("verify")])
    def verify() -> dict[str, bool]:  # a sync route: the dependency still applies
        return {"valid": True}

    return app


def test_429_problem_with_retry_after_and_ratelimit_headers(
    tmp_path: Path, clock: FakeClock
) -> None:
    client = TestClient(limited_app(tmp_path, clock))
    remaining = [client.get("/api/v1/things").headers["ratelimit-remaining"] for _ in range(3)]
    assert remaining == ["2", "1", "0"]
    refused = client.get("/api/v1/things")
    assert refused.status_code == 429
    assert refused.headers["content-type"] == PROBLEM
    assert refused.headers["retry-after"] == "20"  # 3 per minute: one token every 20 s
    assert refused.headers["ratelimit-limit"] == "3"
    assert refused.headers["ratelimit-remaining"] == "0"
    assert refused.json()["type"].endswith("/rate-limited")
    assert refused.json()["retry_after"] == 20
    assert client.get("/api/v1/test/search").status_code == 429  # search shares the read bucket
    clock.advance(20)
    assert client.get("/api/v1/things").status_code == 200


def test_route_classes_are_separate(tmp_path: Path, clock: FakeClock) -> None:
    client = TestClient(limited_app(tmp_path, clock))
    assert client.post("/api/v1/test/verify").status_code == 200
    assert client.post("/api/v1/test/verify").status_code == 429
    assert client.get("/api/v1/things").status_code == 200  # reads unaffected


def test_forwarded_clients_through_a_trusted_proxy(tmp_path: Path, clock: FakeClock) -> None:
    # The TestClient's peer is "testclient", not an address: make it a trusted proxy's.
    app = limited_app(tmp_path, clock)
    client = TestClient(app, client=("127.0.0.1", 50000))
    first = {"X-Forwarded-For": "198.51.100.1"}
    second = {"X-Forwarded-For": "198.51.100.2"}
    assert client.post("/api/v1/test/verify", headers=first).is_success
    assert client.post("/api/v1/test/verify", headers=first).status_code == 429
    assert client.post("/api/v1/test/verify", headers=second).is_success


def test_create_app_limits_from_settings(tmp_path: Path) -> None:
    app = make_app(tmp_path, verify_rate_limit_per_minute=1)

    @app.post("/api/v1/test/verify", dependencies=[rate_limited("verify")])
    async def verify() -> dict[str, bool]:
        return {"valid": True}

    client = TestClient(app)
    assert client.post("/api/v1/test/verify").status_code == 200
    assert client.post("/api/v1/test/verify").status_code == 429
