"""HTTP routes of subscriptions and bulk data: the feed, its SSE stream, webhooks, the export.

* ``GET /api/v1/feed`` — a page of entries after a ledger index, filtered; ``wait`` long-polls
  (up to 30 s) until a matching entry exists;
* ``GET /api/v1/feed/stream`` — the same as Server-Sent Events (``id:`` is the ledger index, so
  ``Last-Event-ID`` resumes exactly);
* ``/api/v1/subscriptions`` — webhook subscriptions of the subscriber whose API key
  (``Authorization: Bearer obs_…``) calls;
* ``GET /api/v1/export?format=jsonl|csv`` — the register at the latest checkpoint, streamed.

:func:`install` includes the router and, when ``ORGBOOK_WEBHOOK_WORKER`` is true, runs the
delivery worker in a background thread for the application's lifetime. The export route is
module-level; the subscription routes are :mod:`orgbook.feeds.subscriptions_api`'s. The feed and
its stream are declared by :func:`router` because their bounds are the deployment's
(``ORGBOOK_FEED_MAX_WAIT_SECONDS``, ``ORGBOOK_FEED_STREAM_MAX_SECONDS``, stated in the OpenAPI
document as the ``le`` of ``wait`` and ``timeout`` and the default ``timeout``). They stay in
that closure on purpose (issue 15 made the other routers module-level): declared at import time
they could state only fixed bounds, and the document would change for a deployment that sets
its own. Routes are thin: the logic is in :mod:`orgbook.feeds.feed`,
:mod:`~orgbook.feeds.webhooks`, :mod:`~orgbook.feeds.delivery` and :mod:`~orgbook.feeds.export`;
models are :mod:`orgbook.feeds.models`.
"""

from __future__ import annotations

import os
import threading
import time
import weakref
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from typing import Annotated, Any, Literal

import orjson
from fastapi import APIRouter, Depends, FastAPI, Header, Query, Request
from sqlalchemy import Engine
from starlette.concurrency import run_in_threadpool
from starlette.responses import StreamingResponse

from orgbook.config import Settings
from orgbook.core.errors import RateLimited
from orgbook.feeds import subscriptions_api
from orgbook.feeds.delivery import DeliveryWorker
from orgbook.feeds.export import ExportSummary, export_lines, latest_stamp, snapshot
from orgbook.feeds.feed import (
    DEFAULT_LIMIT,
    MAX_LIMIT,
    MAX_WAIT,
    TYPE_PATTERN,
    TYPE_SLUGS,
    FeedFilter,
    FeedPage,
    LedgerWatcher,
    check_type,
    ledger_size,
    read_page,
)
from orgbook.feeds.models import FeedItemOut, FeedPageOut
from orgbook.http.deps import EngineDep
from orgbook.http.middleware import no_store
from orgbook.http.problems import HEADERS_ATTR, PROBLEM_RESPONSES
from orgbook.http.ratelimit import rate_limited
from orgbook.http.routing import PooledRoute
from orgbook.storage.engine import reading

__all__ = ["install", "router", "worker_enabled"]

WORKER_ENV = "ORGBOOK_WEBHOOK_WORKER"
MAX_EXPORTS = 2
"""Exports one process streams at the same time; more are refused with 429."""
SSE_HEARTBEAT = 15.0


def worker_enabled(environ: dict[str, str] | None = None) -> bool:
    env = os.environ if environ is None else environ
    return env.get(WORKER_ENV, "").strip().lower() in ("1", "true", "yes", "on")


def _once(action: Callable[[], object]) -> Callable[[], None]:
    """``action``, run at most once however often the result is called (thread-safe)."""
    lock = threading.Lock()
    done = False

    def run() -> None:
        nonlocal done
        with lock:
            if done:
                return
            done = True
        action()

    return run


def _page_out(page: FeedPage) -> FeedPageOut:
    return FeedPageOut(
        items=[FeedItemOut.model_validate(item.to_json()) for item in page.items],
        next=page.next,
        tree_size=page.size,
        caught_up=page.caught_up,
    )


def _read(engine: Engine, flt: FeedFilter, after: int, limit: int) -> FeedPage:
    with reading(engine) as conn:
        return read_page(conn, flt, after=after, limit=limit)


def _check_filter(engine: Engine, flt: FeedFilter) -> None:
    """:class:`BadInput` for a type slug no type has (before a stream starts: a 400, not a
    stream cut short)."""
    with reading(engine) as conn:
        check_type(conn, flt.type)


def _size(engine: Engine) -> int:
    with reading(engine) as conn:
        return ledger_size(conn)


def _watcher(request: Request, engine: EngineDep) -> LedgerWatcher:
    watcher = getattr(request.app.state, "feeds_watcher", None)
    if not isinstance(watcher, LedgerWatcher):
        watcher = LedgerWatcher(lambda: run_in_threadpool(_size, engine))
        request.app.state.feeds_watcher = watcher
    return watcher


WatcherDep = Annotated[LedgerWatcher, Depends(_watcher)]


# The filters' syntax, declared as the feed checks it (orgbook.feeds.feed.FeedFilter).
ORGANISATION_PATTERN = r"^[A-Z]{2}(?:-[A-Z0-9]{1,3})?:\S{1,64}$"
ISSUER_PATTERN = r"^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?$"


def _filter(
    organisation: Annotated[
        str | None,
        Query(max_length=200, pattern=ORGANISATION_PATTERN, examples=["CA-BC:BC1287139"]),
    ] = None,
    type: Annotated[
        str | None,
        Query(
            max_length=32,
            pattern=TYPE_PATTERN,
            examples=["legal-name"],
            description="A credential type's slug: a registry type ("
            + ", ".join(sorted(TYPE_SLUGS))
            + ") or a registered type's, e.g. business-licence (GET /api/v1/credential-types).",
        ),
    ] = None,
    issuer: Annotated[
        str | None, Query(max_length=64, pattern=ISSUER_PATTERN, examples=["bc-registries"])
    ] = None,
    kind: Annotated[
        str | None,
        Query(max_length=200, pattern=r"^[a-z]+(\.[a-z]+)*$", examples=["credential.issued"]),
    ] = None,
    new_organisations: Annotated[
        bool, Query(alias="newOrganisations", description="Only first registrations.")
    ] = False,
) -> FeedFilter:
    return FeedFilter(
        organisation=organisation,
        type=type,
        issuer=issuer,
        kind=kind,
        new_organisations=new_organisations,
    )


FilterDep = Annotated[FeedFilter, Depends(_filter)]


def _export_slots(request: Request) -> threading.BoundedSemaphore:
    """The application's export slots (:data:`MAX_EXPORTS`), made by :func:`install`."""
    slots = getattr(request.app.state, "feeds_export_slots", None)
    if not isinstance(slots, threading.BoundedSemaphore):
        slots = threading.BoundedSemaphore(MAX_EXPORTS)
        request.app.state.feeds_export_slots = slots
    return slots


export_routes = APIRouter(route_class=PooledRoute)
"""The export route (module-level; :func:`router` includes it last)."""


@export_routes.get(
    "/export",
    summary="The whole register, stamped with a signed checkpoint (streamed)",
    description=(
        "One line per organisation with its credentials current at the latest checkpoint "
        "(JSON Lines: each with its ledger entry; CSV: the main attributes). The first line "
        "(CSV: the header comments) holds the checkpoint, the last one counts the lines. "
        "Verify with `orgbook export verify FILE --ledger-key VKEY --online URL`."
    ),
    dependencies=[rate_limited("read")],
    response_class=StreamingResponse,
    responses={200: {"content": {"application/jsonl": {}, "text/csv": {}}}},
)
def export(
    request: Request, engine: EngineDep, format: Literal["jsonl", "csv"] = "jsonl"
) -> StreamingResponse:
    exports = _export_slots(request)
    if not exports.acquire(blocking=False):
        err = RateLimited("too many exports in progress; retry later", retry_after=60)
        setattr(err, HEADERS_ATTR, {"Retry-After": "60"})
        raise err
    release = _once(exports.release)
    try:
        with reading(engine) as conn:
            stamp = latest_stamp(conn)
    except BaseException:
        release()
        raise

    def body() -> Iterator[bytes]:
        try:
            with snapshot(engine) as conn:
                buffer: list[bytes] = []
                pending = 0
                for line in export_lines(conn, format, ExportSummary(stamp)):
                    buffer.append(line)
                    pending += len(line)
                    if pending >= 256 * 1024:
                        yield b"".join(buffer)
                        buffer, pending = [], 0
                yield b"".join(buffer)
        finally:
            release()

    stream = body()
    # A response whose body never starts (client gone) must give its slot back too.
    weakref.finalize(stream, release)
    media = "application/jsonl" if format == "jsonl" else "text/csv; charset=utf-8"
    name = f"orgbook-export-{stamp.size}.{format}"
    return StreamingResponse(
        stream,
        media_type=media,
        headers={
            "Content-Disposition": f'attachment; filename="{name}"',
            "Orgbook-Tree-Size": str(stamp.size),
            "Cache-Control": "no-cache",
        },
    )


def router(settings: Settings) -> APIRouter:
    """The feed and its stream, declared with this deployment's bounds (the OpenAPI document
    states the longest ``wait`` and ``timeout`` this server takes), then the module-level
    subscription and export routes."""
    api = APIRouter(route_class=PooledRoute, prefix="/api/v1", tags=["subscriptions"])
    # Bounds from the deployment, so that the OpenAPI document declares what this server takes.
    max_wait = min(MAX_WAIT, settings.feed_max_wait_seconds)
    max_stream = settings.feed_stream_max_seconds
    default_stream = min(300, max_stream)

    @api.get(
        "/feed",
        summary="Follow the ledger: entries after an index",
        description=(
            "Entries after ledger index `after` (-1: from the start) that match the filters, "
            f"at most `limit` (≤ {MAX_LIMIT}). Continue with `after=next`; `next` may be beyond "
            "the last item when the filter skipped entries. With `wait` (seconds, at most "
            "`ORGBOOK_FEED_MAX_WAIT_SECONDS`, 30 by default) and nothing "
            "new, the answer waits until a matching entry is appended."
        ),
        dependencies=[rate_limited("read"), Depends(no_store)],
    )
    async def feed(
        engine: EngineDep,
        watcher: WatcherDep,
        flt: FilterDep,
        after: Annotated[int, Query(ge=-1, le=2**53 - 1)] = -1,
        limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT,
        # Bounds from settings: a default value, not an annotation (evaluated here, not later).
        wait: float = Query(0, ge=0, le=max_wait),
    ) -> FeedPageOut:
        page = await run_in_threadpool(_read, engine, flt, after, limit)
        deadline = time.monotonic() + wait
        while not page.items and page.caught_up and wait > 0:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            await watcher.wait_beyond(page.size, remaining)
            page = await run_in_threadpool(_read, engine, flt, page.next, limit)
        return _page_out(page)

    @api.get(
        "/feed/stream",
        summary="Follow the ledger as Server-Sent Events",
        description=(
            "Each matching entry is an event whose `id` is its ledger index and whose `data` is "
            "the feed item (JSON); `event` is the entry kind. Reconnect with `Last-Event-ID` (or "
            "`after`) to resume exactly. An `id`-only message moves the cursor past skipped "
            "entries; comments are heartbeats. The stream ends after `timeout` seconds."
        ),
        dependencies=[rate_limited("read")],
        response_class=StreamingResponse,
        responses={200: {"content": {"text/event-stream": {}}}},
    )
    async def stream(
        request: Request,
        engine: EngineDep,
        watcher: WatcherDep,
        flt: FilterDep,
        after: Annotated[int | None, Query(ge=-1, le=2**53 - 1)] = None,
        # "" rather than None: an optional header's schema must not admit null (no header
        # carries a JSON null; a client would send the text "null").
        last_event_id: Annotated[
            str,
            Header(
                pattern=r"^-?[0-9]{1,31}$",
                description="The `id` of the last event received: resume after that index.",
            ),
        ] = "",
        timeout: float = Query(default_stream, gt=0, le=max_stream),
    ) -> StreamingResponse:
        await run_in_threadpool(_check_filter, engine, flt)
        cursor = -1 if after is None else after
        if last_event_id:  # digits only (declared): int() cannot fail
            cursor = max(-1, min(int(last_event_id), 2**53 - 1))

        async def events() -> AsyncIterator[bytes]:
            position = cursor
            deadline = time.monotonic() + timeout
            yield b"retry: 2000\n\n"
            while time.monotonic() < deadline and not await request.is_disconnected():
                page = await run_in_threadpool(_read, engine, flt, position, 100)
                chunks = [
                    b"id: %d\nevent: %s\ndata: %s\n\n"
                    % (item.index, item.kind.encode(), orjson.dumps(item.to_json()))
                    for item in page.items
                ]
                if page.next > position and (not page.items or page.items[-1].index < page.next):
                    chunks.append(b"id: %d\n\n" % page.next)  # skipped entries: move on
                position = page.next
                if chunks:
                    yield b"".join(chunks)
                if page.caught_up:
                    remaining = min(SSE_HEARTBEAT, deadline - time.monotonic())
                    if remaining <= 0:
                        break
                    if await watcher.wait_beyond(page.size, remaining) <= page.size:
                        yield b": keep-alive\n\n"

        return StreamingResponse(
            events(),
            media_type="text/event-stream",
            headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
        )

    api.include_router(subscriptions_api.routes)
    api.include_router(export_routes)
    return api


def install(app: FastAPI, settings: Settings) -> None:
    """Include the router; with ``ORGBOOK_WEBHOOK_WORKER`` on, run the delivery worker too."""
    app.state.feeds_export_slots = threading.BoundedSemaphore(MAX_EXPORTS)
    app.include_router(router(settings), responses=PROBLEM_RESPONSES)
    if not worker_enabled():
        return
    inner = app.router.lifespan_context

    @asynccontextmanager
    async def lifespan(application: FastAPI) -> AsyncIterator[Any]:
        async with inner(application) as state:
            worker = DeliveryWorker(application.state.engine)
            thread = threading.Thread(target=worker.run, name="orgbook-webhooks", daemon=True)
            thread.start()
            try:
                yield state
            finally:
                worker.stopping.set()
                await run_in_threadpool(thread.join, 30)
                worker.close()

    app.router.lifespan_context = lifespan
