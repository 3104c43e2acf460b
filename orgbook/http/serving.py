"""How the application is served: the HTTP server, its worker processes and threads per process.

What it owns: ``orgbook serve``'s server (uvicorn with asyncio's loop and httptools;
docs/performance.md, "Which HTTP server", compares it with uvloop, h11 and granian), ``--workers N``
processes (default: one per core the process may run on) and the size of each process's thread
pool. Every worker builds its application with the factory it is given
(:func:`orgbook.app.app_factory`, also the import target of another ASGI server, e.g.
``granian --factory``).

Why asyncio and not uvloop: measured side by side under 64 connections, uvloop's p99 was several
times asyncio's (some connections waited seconds while others were answered at once), for
little or no throughput gained.

Why processes: one CPython process runs Python on one core at a time. Why few threads: plain
``def`` routes (the database reads) ran in anyio's thread pool, 40 threads by default
(they now run on ``orgbook.http.routing``'s executor, as wide as ``ORGBOOK_THREADS``).
Under 64 concurrent searches those 40 threads each held a SQLite connection (the pool opened and
closed the ones beyond its size on every request) and contended for the GIL, which sqlite3
releases and re-takes on every row: throughput fell as clients were added. A few threads per
process keep the database busy while the event loop parses and answers; more requests wait
their turn in order instead of slowing each other down.

What it must not do: build routes or read ``ORGBOOK_*`` variables itself (``orgbook.config``),
or import the application: it is handed its factory (this module sits below the areas).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import anyio.to_thread

from orgbook.config import Settings, env_name
from orgbook.core.errors import ConfigurationError

if TYPE_CHECKING:
    from fastapi import FastAPI

__all__ = [
    "available_cores",
    "limit_threads",
    "serve",
    "shared_rate_limit_uri",
    "worker_count",
]

LOOP = "asyncio"
HTTP = "httptools"


def available_cores() -> int:
    """Cores this process may run on (its CPU affinity, else the machine's count)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


def worker_count(settings: Settings, requested: int | None = None) -> int:
    """``requested``, else ``ORGBOOK_WORKERS``, else one per core; 0 means one per core."""
    count = settings.workers if requested is None else requested
    if count < 0:
        raise ConfigurationError("--workers must be 0 (one per core) or more", field="workers")
    return count or available_cores()


def shared_rate_limit_uri(settings: Settings) -> str:
    """The rate-limit storage the workers of one host share when none is configured."""
    from orgbook.http.ratestore import SCHEME

    path = (settings.data_dir / "ratelimit.sqlite3").resolve()
    return f"{SCHEME}://{path}"


def limit_threads(threads: int) -> None:
    """Bound the current event loop's default thread pool (plain ``def`` routes) to ``threads``."""
    anyio.to_thread.current_default_thread_limiter().total_tokens = threads


def serve(
    settings: Settings,
    factory: Callable[[], FastAPI],
    *,
    host: str,
    port: int,
    workers: int | None = None,
) -> None:
    """Serve ``factory``'s application with ``workers`` processes (default: one per core) until
    stopped. ``factory`` is a module-level function: each worker imports it by name.

    The workers get ``settings`` through the environment (the database URL and data directory
    may come from command-line flags) and each builds its own application and engine. They share
    the listening socket; the kernel hands each connection to one of them.
    """
    import uvicorn

    count = worker_count(settings, workers)
    os.environ[env_name("database_url")] = settings.database_url
    os.environ[env_name("data_dir")] = str(settings.data_dir)
    if count > 1 and not settings.rate_limit_storage:
        # One client, one limit, whichever worker the kernel hands its connections to.
        os.environ[env_name("rate_limit_storage")] = shared_rate_limit_uri(settings)
    if count > 1:
        # A scrape reaches one worker: it answers for all of them (orgbook.http.metrics).
        metrics_dir = Path(settings.metrics_dir or settings.data_dir / "metrics").resolve()
        metrics_dir.mkdir(parents=True, exist_ok=True)
        for stale in metrics_dir.glob("*.json"):  # a previous run's workers
            stale.unlink()
        os.environ[env_name("metrics_dir")] = str(metrics_dir)
    print(
        f"orgbook: serving on http://{host}:{port}/ with {count} worker process"
        f"{'es' if count != 1 else ''}",
        file=sys.stderr,
    )
    uvicorn.run(
        f"{factory.__module__}:{factory.__qualname__}",
        factory=True,
        host=host,
        port=port,
        workers=count,
        loop=LOOP,
        http=HTTP,
        access_log=False,
        log_level="warning",
    )
