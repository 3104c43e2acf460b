"""Serving: thread hops per read request, the bounded thread pool, worker counts, ``--workers``."""

from __future__ import annotations

import contextvars
import inspect
import os
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import anyio.to_thread
import fastapi.dependencies.utils
import fastapi.routing
import httpx
import pytest
from fastapi import APIRouter, Depends, FastAPI
from fastapi.routing import APIRoute
from sqlalchemy import Engine

from orgbook.app import app_factory
from orgbook.config import Settings, get_settings
from orgbook.core.errors import ConfigurationError
from orgbook.http import routing, serving
from orgbook.http.deps import EngineDep, SettingsDep, get_engine
from orgbook.http.metrics import Metrics
from tests.http import TestClient, make_app


def _count_thread_hops(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Record every call FastAPI makes into the thread pool (the calls still go through)."""
    hops: list[str] = []
    for module in (fastapi.routing, fastapi.dependencies.utils):
        original = module.run_in_threadpool

        async def counted(func: Any, *args: Any, _original: Any = original, **kwargs: Any) -> Any:
            hops.append(getattr(kwargs.get("function", func), "__name__", repr(func)))
            return await _original(func, *args, **kwargs)

        monkeypatch.setattr(module, "run_in_threadpool", counted)
    return hops


def test_a_read_route_takes_no_anyio_thread_hop(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # /api/v1/issuers is a plain def route taking EngineDep and SettingsDep: neither the
    # dependencies nor the route go through anyio's thread pool; the route (the database read)
    # runs on the process's read executor (orgbook.http.routing).
    app = make_app(tmp_path, rate_limit_per_minute=0)
    hops = _count_thread_hops(monkeypatch)
    ran_on: list[str] = []
    original = routing.read_pool

    def spying_pool() -> Any:
        pool = original()
        ran_on.append("read_pool")
        return pool

    monkeypatch.setattr(routing, "read_pool", spying_pool)
    with TestClient(app) as client:
        hops.clear()
        assert client.get("/api/v1/issuers").status_code == 200
    assert hops == []
    assert ran_on == ["read_pool"]


def test_a_plain_route_runs_on_a_read_thread_with_the_callers_context(tmp_path: Path) -> None:
    app = make_app(tmp_path)
    var: contextvars.ContextVar[str] = contextvars.ContextVar("probe", default="unset")

    async def set_var() -> None:
        var.set("set by a dependency")

    @app.get("/where", dependencies=[Depends(set_var)])
    def where(q: int = 1) -> dict[str, Any]:
        return {"thread": threading.current_thread().name, "var": var.get(), "q": q}

    with TestClient(app) as client:
        body = client.get("/where", params={"q": 7}).json()
        assert client.get("/where", params={"q": "x"}).status_code == 422
    assert body["thread"].startswith("orgbook-read")
    assert body == {"thread": body["thread"], "var": "set by a dependency", "q": 7}


def _api_routes(routes: list[Any]) -> list[APIRoute]:
    """The API routes of ``routes``, those of included routers too (FastAPI keeps an included
    router as one entry that names its ``original_router``)."""
    found: list[APIRoute] = []
    for route in routes:
        if isinstance(route, APIRoute):
            found.append(route)
        included = getattr(route, "original_router", None)
        if included is not None:
            found.extend(_api_routes(included.routes))
    return found


def test_every_route_of_the_app_is_pooled(tmp_path: Path) -> None:
    app = make_app(tmp_path)
    api_routes = _api_routes(app.routes)
    assert len(api_routes) > 50
    assert api_routes
    assert [r.path for r in api_routes if not isinstance(r, routing.PooledRoute)] == []
    assert [r.path for r in api_routes if not inspect.iscoroutinefunction(r.endpoint)] == []


def test_dependency_overrides_of_the_plain_functions_still_apply(tmp_path: Path) -> None:
    app = make_app(tmp_path)
    seen: list[Any] = []
    router = APIRouter()

    @router.get("/probe")
    async def probe(engine: EngineDep, settings: SettingsDep) -> dict[str, bool]:
        seen.append((engine, settings))
        return {"ok": True}

    app.include_router(router)
    with TestClient(app) as client:
        real = app.state.engine
        other: Engine = real.execution_options(probe=True)
        app.dependency_overrides[get_engine] = lambda request: other
        client.get("/probe")
    assert seen[0][0] is other
    assert isinstance(seen[0][1], Settings)


def _pool_size_app(tmp_path: Path, **overrides: Any) -> FastAPI:
    app = make_app(tmp_path, **overrides)

    @app.get("/threads")
    async def threads() -> dict[str, float]:
        return {
            "tokens": anyio.to_thread.current_default_thread_limiter().total_tokens,
            "read": routing.read_pool_size(),
        }

    return app


def test_the_thread_pools_are_bounded_by_settings(tmp_path: Path) -> None:
    with TestClient(_pool_size_app(tmp_path, threads=3)) as client:
        assert client.get("/threads").json() == {"tokens": 3, "read": 3}
    # By default one thread on SQLite: a second one only contends for the GIL (routing's docstring)
    assert Settings("sqlite://").threads == 0
    with TestClient(_pool_size_app(tmp_path / "default")) as client:
        assert client.get("/threads").json() == {"tokens": 1, "read": 1}


def test_threads_by_database() -> None:
    assert routing.threads_for(0, sqlite=True) == routing.SQLITE_THREADS == 1
    assert routing.threads_for(0, sqlite=False) == routing.DEFAULT_THREADS == 4
    assert routing.threads_for(3, sqlite=True) == 3
    assert routing.threads_for(2, sqlite=False) == 2
    assert get_settings(environ={"ORGBOOK_THREADS": "0"}).threads == 0
    assert get_settings(environ={"ORGBOOK_THREADS": "6"}).threads == 6


def test_a_long_write_does_not_hold_up_reads_on_one_thread(tmp_path: Path) -> None:
    # One thread per executor (the SQLite default): a write that takes long (a batch of records
    # through the issuer API) runs on the write executor, and reads are still answered.
    app = make_app(tmp_path, threads=1, rate_limit_per_minute=0)
    release = threading.Event()
    started = threading.Event()

    @app.post("/slow-write")
    def slow_write() -> dict[str, str]:
        started.set()
        release.wait(30)
        return {"thread": threading.current_thread().name}

    @app.get("/read")
    def read() -> dict[str, str]:
        return {"thread": threading.current_thread().name}

    with TestClient(app) as client:
        written: list[Any] = []
        writer = threading.Thread(target=lambda: written.append(client.post("/slow-write")))
        writer.start()
        try:
            assert started.wait(10)
            read_back: list[Any] = []
            reader = threading.Thread(target=lambda: read_back.append(client.get("/read")))
            reader.start()
            reader.join(10)
            assert read_back, "the read waited for the write"
            assert read_back[0].status_code == 200
            assert read_back[0].json()["thread"].startswith("orgbook-read")
        finally:
            release.set()
            writer.join(30)
    assert written[0].json()["thread"].startswith("orgbook-write")


def test_worker_count() -> None:
    settings = get_settings(environ={})
    assert serving.worker_count(settings) == serving.available_cores()
    assert serving.worker_count(settings, 3) == 3
    assert serving.worker_count(get_settings(environ={"ORGBOOK_WORKERS": "5"})) == 5
    assert serving.worker_count(get_settings(environ={"ORGBOOK_WORKERS": "5"}), 2) == 2
    with pytest.raises(ConfigurationError):
        serving.worker_count(settings, -1)
    with pytest.raises(ConfigurationError):
        get_settings(environ={"ORGBOOK_THREADS": "-1"})


@pytest.mark.integration
@pytest.mark.slow
def test_serve_with_two_workers_answers_from_two_processes(tmp_path: Path) -> None:
    from tests.deploy.conftest import free_port, wait_ready
    from tests.installed import clean_env

    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = clean_env(ORGBOOK_DATA_DIR=str(tmp_path / "data"), ORGBOOK_KEY_PASSPHRASE="x" * 24)
    argv = [sys.executable, "-m", "orgbook", "serve", "--port", str(port), "--workers", "2"]
    with (tmp_path / "serve.log").open("wb") as log:
        process = subprocess.Popen(argv, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        wait_ready(url, process)
        children = {int(p) for p in _children(process.pid)}
        assert len(children) == 2, (tmp_path / "serve.log").read_text()
        # Each worker answers (new connections are spread over the processes by the kernel).
        with httpx.Client(base_url=url) as client:
            assert client.get("/api/v1/organisations").status_code == 200
    finally:
        process.terminate()
        process.wait(timeout=30)
    assert not any(os.path.exists(f"/proc/{pid}") for pid in children)


def _children(pid: int) -> list[str]:
    """The worker processes of ``pid`` (not multiprocessing's resource tracker)."""
    out = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True, check=False)
    return [
        child
        for child in out.stdout.split()
        if b"spawn_main" in Path(f"/proc/{child}/cmdline").read_bytes()
    ]


async def _record_and_flush(metrics: Metrics, route: str, count: int) -> None:
    for _ in range(count):
        metrics.record("GET", route, 200, 0.003, b"")
    metrics.flush()


def test_a_scrape_adds_up_every_workers_metrics(tmp_path: Path) -> None:
    import asyncio

    share = tmp_path / "metrics"
    other = Metrics(share)
    asyncio.run(_record_and_flush(other, "/api/v1/organisations", 3))
    (share / f"{os.getpid()}.json").rename(share / "1.json")  # as if another worker wrote it
    own = Metrics(share)
    asyncio.run(_record_and_flush(own, "/api/v1/organisations", 2))
    asyncio.run(_record_and_flush(own, "/api/v1/ledger/checkpoint", 1))
    text = own.render()
    assert (
        'orgbook_http_requests_total{method="GET",route="/api/v1/organisations",status="200"} 5'
        in text
    )
    assert 'orgbook_search_duration_seconds_count{route="/api/v1/organisations"} 5' in text
    assert 'route="/api/v1/ledger/checkpoint",status="200"} 1' in text
    # Alone (no share directory), a process answers for itself.
    alone = Metrics()
    alone.record("GET", "/api/v1/organisations", 200, 0.003, b"")
    assert 'route="/api/v1/organisations",status="200"} 1' in alone.render()


def test_serve_runs_uvicorn_on_asyncio_with_httptools(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The loop was chosen by measurement (docs/performance.md, "Which HTTP server"): under
    # this load uvloop's p99 was several times asyncio's.
    import uvicorn

    calls: list[dict[str, Any]] = []
    monkeypatch.setattr(uvicorn, "run", lambda *args, **kwargs: calls.append(kwargs))
    for name in ("ORGBOOK_DATABASE_URL", "ORGBOOK_DATA_DIR", "ORGBOOK_RATE_LIMIT_STORAGE"):
        monkeypatch.delenv(name, raising=False)
    settings = get_settings(environ={"ORGBOOK_DATA_DIR": str(tmp_path)})
    serving.serve(settings, app_factory, host="127.0.0.1", port=1, workers=1)
    assert [(c["loop"], c["http"], c["workers"]) for c in calls] == [("asyncio", "httptools", 1)]
