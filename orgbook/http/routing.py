"""Where plain ``def`` routes run: :class:`PooledRoute`, on a small executor of this process.

What it owns: the route class every area's ``APIRouter`` is made with
(``APIRouter(route_class=PooledRoute)``), and the process's read executor (:func:`read_pool`,
sized by ``ORGBOOK_THREADS`` at start-up through :func:`configure_read_pool`).

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

__all__ = ["PooledRoute", "configure_read_pool", "pooled", "read_pool", "read_pool_size"]

_lock = threading.Lock()
_pool: ThreadPoolExecutor | None = None
_size = 0
DEFAULT_THREADS = 4


def configure_read_pool(threads: int) -> ThreadPoolExecutor:
    """Make this process's read executor ``threads`` wide (a new one if its size differs)."""
    global _pool, _size
    with _lock:
        old = _pool
        if old is not None and _size == threads:
            return old
        _pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="orgbook-read")
        _size = threads
    if old is not None:
        old.shutdown(wait=False)  # calls already handed to it finish there
    return _pool


def read_pool() -> ThreadPoolExecutor:
    """This process's read executor (made :data:`DEFAULT_THREADS` wide if not configured)."""
    pool = _pool
    return pool if pool is not None else configure_read_pool(DEFAULT_THREADS)


def read_pool_size() -> int:
    """How many threads :func:`read_pool` has (0 before it is made)."""
    return _size


def pooled(endpoint: Callable[..., Any]) -> Callable[..., Any]:
    """``endpoint`` if it is ``async def``; else an ``async def`` twin running it on
    :func:`read_pool` (same name, signature and annotations, through ``__wrapped__``)."""
    if inspect.iscoroutinefunction(endpoint) or not inspect.isfunction(endpoint):
        return endpoint

    @functools.wraps(endpoint)
    async def on_read_pool(*args: Any, **kwargs: Any) -> Any:
        call = functools.partial(endpoint, *args, **kwargs)
        context = contextvars.copy_context()
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(read_pool(), context.run, call)

    return on_read_pool


class PooledRoute(APIRoute):
    """An ``APIRoute`` whose plain ``def`` endpoint runs on :func:`read_pool` (module docstring)."""

    def __init__(self, path: str, endpoint: Callable[..., Any], **kwargs: Any) -> None:
        super().__init__(path, pooled(endpoint), **kwargs)
