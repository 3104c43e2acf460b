"""Rate limits shared by processes: ``limits`` over the SQLite file store, through the app too."""

from __future__ import annotations

import multiprocessing
from pathlib import Path

import pytest

from orgbook.config import get_settings
from orgbook.core.errors import ConfigurationError
from orgbook.http.ratelimit import RateLimiter
from orgbook.http.ratestore import SCHEME, SQLiteStorage
from orgbook.http.serving import shared_rate_limit_uri
from tests.http import TestClient, make_app


def _uri(tmp_path: Path) -> str:
    return f"{SCHEME}://{(tmp_path / 'ratelimit.sqlite3').resolve()}"


def test_two_limiters_on_one_store_share_the_limit(tmp_path: Path) -> None:
    # Two workers: each has its own limiter and connection, one file between them.
    first = RateLimiter({"read": 3}, storage=_uri(tmp_path))
    second = RateLimiter({"read": 3}, storage=_uri(tmp_path))
    taken = [first.take("read", "a"), second.take("read", "a"), first.take("read", "a")]
    assert all(d.allowed for d in taken)
    assert [d.remaining for d in taken] == [2, 1, 0]
    refused = second.take("read", "a")
    assert not refused.allowed
    assert refused.limit == 3
    assert 0 < refused.retry_after <= 60
    assert second.take("read", "b").allowed  # another client has its own window
    assert RateLimiter({"read": 0}, storage=_uri(tmp_path)).take("read", "a").allowed


def _hammer(uri: str, attempts: int) -> int:
    limiter = RateLimiter({"verify": 100}, storage=uri)
    return sum(limiter.take("verify", "client").allowed for _ in range(attempts))


def test_concurrent_processes_never_exceed_the_limit(tmp_path: Path) -> None:
    uri = _uri(tmp_path)
    with multiprocessing.get_context("spawn").Pool(4) as pool:
        allowed = pool.starmap(_hammer, [(uri, 60)] * 4)
    assert sum(allowed) == 100


def test_apps_sharing_a_store_refuse_beyond_the_combined_limit(tmp_path: Path) -> None:
    uri = _uri(tmp_path)
    apps = [
        make_app(tmp_path / str(n), rate_limit_per_minute=4, rate_limit_storage=uri)
        for n in range(2)
    ]
    with TestClient(apps[0]) as one, TestClient(apps[1]) as two:
        answers = [c.get("/api/v1/organisations") for c in (one, two, one, two, one)]
    assert [a.status_code for a in answers] == [200, 200, 200, 200, 429]
    assert answers[3].headers["RateLimit-Remaining"] == "0"
    assert int(answers[4].headers["Retry-After"]) >= 1
    assert answers[4].headers["content-type"].startswith("application/problem+json")


def test_store_counters_expire_and_clear(tmp_path: Path) -> None:
    store = SQLiteStorage(_uri(tmp_path))
    assert store.incr("k", 60) == 1
    assert store.incr("k", 60, amount=2) == 3
    assert store.get("k") == 3
    assert store.get_expiry("k") > 0
    assert store.incr("gone", -1) == 1  # already expired
    assert store.get("gone") == 0
    store.clear("k")
    assert store.get("k") == 0
    assert store.check()
    store.close()


def test_a_bad_storage_is_a_configuration_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError):
        RateLimiter({"read": 1}, storage="nosuchstore://x")
    with pytest.raises(ConfigurationError):
        RateLimiter({"read": 1}, storage=f"{SCHEME}://")


def test_workers_share_a_file_in_the_data_dir(tmp_path: Path) -> None:
    settings = get_settings(environ={}, data_dir=tmp_path)
    uri = shared_rate_limit_uri(settings)
    assert uri == f"{SCHEME}://{(tmp_path / 'ratelimit.sqlite3').resolve()}"
    assert RateLimiter({"read": 1}, storage=uri).take("read", "a").allowed
