"""Where plain ``def`` routes run: :class:`PooledRoute`, on a small executor of this process.

What it owns: the route class every area's ``APIRouter`` is made with
(``APIRouter(route_class=PooledRoute)``), and the process's two executors: :func:`read_pool`
for ``GET`` and ``HEAD`` routes, :func:`write_pool` for every other method (issuance, revocation,
key rotation, the web page's forms), both sized at start-up by :func:`configure_pools` from
``ORGBOOK_THREADS`` (:func:`threads_for`: one on SQLite, four on a server database).

Why: FastAPI runs a plain ``def`` route through ``starlette.concurrency.run_in_threadpool``,
i.e. anyio's ``to_thread.run_sync``: per call a capacity-limiter acquisition, a cancel scope, a
queue hand-off to an idle worker and a wake-up of the loop, and when a worker has been idle long
enough, a new thread. Under 64 connections that bookkeeping on the event loop was a large share
of a small read (a credential: ≈0.6 ms of CPU in all; docs/performance.md, "the public read
path"). :class:`PooledRoute` gives the endpoint an ``async def`` twin that hands the call
(with the caller's context variables: request ids in logs) to a plain
:class:`~concurrent.futures.ThreadPoolExecutor` through ``loop.run_in_executor``: one future and
one thread-safe wake-up per request. The route's parameters, dependencies, response model and
OpenAPI description are the endpoint's own (FastAPI reads the signature through
``__wrapped__``); dependencies declared ``async def`` stay on the event loop, plain ``def`` ones
still go through anyio.

Why two executors: a write may take seconds (a batch of records through the issuer API); on one
executor a single-thread process would answer no read meanwhile. Why one thread on SQLite: a
SQLite read runs in this process and holds the GIL except while it steps (sqlite3 releases and
re-takes it on every row), so two read threads of one process do not read in parallel, they
hand the GIL to each other; measured on one worker under 8 and 64 connections, a search cost
≈9 ms of CPU with one thread, ≈11.5 with two and ≈13.5 with four, and throughput fell as
clients were added (docs/performance.md, "Third pass"). On a server database a read waits on the
network without the GIL, so a few threads keep it busy.

What it must not do: run anything on the event loop that the endpoint would have run in a thread
(a blocking database read on the loop stalls every connection of the process).
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
import inspect
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from fastapi.routing import APIRoute

__all__ = [
    "PooledRoute",
    "configure_pools",
    "pooled",
    "read_pool",
    "read_pool_size",
    "threads_for",
    "write_pool",
]

_lock = threading.Lock()
_pools: dict[str, ThreadPoolExecutor] = {}
_size = 0
DEFAULT_THREADS = 4
"""Threads per executor on a server database (PostgreSQL), where a read waits on the network."""
SQLITE_THREADS = 1
"""Threads per executor on SQLite, where a second read thread only contends for the GIL."""
_READ_METHODS = frozenset({"GET", "HEAD"})


def threads_for(configured: int, *, sqlite: bool) -> int:
    """Threads per executor: ``configured`` (``ORGBOOK_THREADS``) if set, else by database."""
    if configured > 0:
        return configured
    return SQLITE_THREADS if sqlite else DEFAULT_THREADS


def configure_pools(threads: int) -> None:
    """Make this process's executors (read and write) ``threads`` wide (new ones if their size
    differs)."""
    global _size
    with _lock:
        if _pools and _size == threads:
            return
        old = dict(_pools)
        for kind in ("read", "write"):
            _pools[kind] = ThreadPoolExecutor(
                max_workers=threads, thread_name_prefix=f"orgbook-{kind}"
            )
        _size = threads
    for pool in old.values():
        pool.shutdown(wait=False)  # calls already handed to it finish there


def _pool(kind: str) -> ThreadPoolExecutor:
    found = _pools.get(kind)
    if found is None:
        configure_pools(DEFAULT_THREADS)
        found = _pools[kind]
    return found


def read_pool() -> ThreadPoolExecutor:
    """This process's executor for ``GET`` and ``HEAD`` routes (made :data:`DEFAULT_THREADS`
    wide if not configured)."""
    return _pool("read")


def write_pool() -> ThreadPoolExecutor:
    """This process's executor for every other method, so a long write never holds up reads."""
    return _pool("write")


def read_pool_size() -> int:
    """How many threads :func:`read_pool` (and :func:`write_pool`) has (0 before they are made)."""
    return _size


def pooled(endpoint: Callable[..., Any], *, writes: bool = False) -> Callable[..., Any]:
    """``endpoint`` if it is ``async def``; else an ``async def`` twin running it on
    :func:`read_pool` (:func:`write_pool` if it ``writes``), with the same name, signature and
    annotations, through ``__wrapped__``."""
    if inspect.iscoroutinefunction(endpoint) or not inspect.isfunction(endpoint):
        return endpoint

    @functools.wraps(endpoint)
    async def on_pool(*args: Any, **kwargs: Any) -> Any:
        call = functools.partial(endpoint, *args, **kwargs)
        context = contextvars.copy_context()
        loop = asyncio.get_running_loop()
        executor = write_pool() if writes else read_pool()
        return await loop.run_in_executor(executor, context.run, call)

    return on_pool


class PooledRoute(APIRoute):
    """An ``APIRoute`` whose plain ``def`` endpoint runs on :func:`read_pool`, or on
    :func:`write_pool` when it answers any method but ``GET`` and ``HEAD`` (module docstring)."""

    def __init__(self, path: str, endpoint: Callable[..., Any], **kwargs: Any) -> None:
        methods = {m.upper() for m in kwargs.get("methods") or ("GET",)}
        writes = not methods <= _READ_METHODS
        super().__init__(path, pooled(endpoint, writes=writes), **kwargs)
