"""Prometheus metrics at ``/metrics``: HTTP, search, verification, issuance and the ledger.

What it owns: one pure-ASGI middleware (:class:`MetricsMiddleware`) that times every request and
labels it by **route template** (``/api/v1/organisations/{org_id}``, never the raw path, so label
cardinality is bounded by the routes), the registry-wide figures read from the database at scrape
time, and the text exposition format (version 0.0.4). No client library: a dict increment per
request on the event loop is all the hot path costs.

Metrics (per process unless said otherwise):

* ``orgbook_http_requests_total{method,route,status}`` and
  ``orgbook_http_request_duration_seconds{method,route}`` (histogram);
* ``orgbook_search_duration_seconds{route}``: search and autocomplete (histogram);
* ``orgbook_verifications_total{outcome}``: ``POST /api/v1/verify`` answers, ``valid``,
  ``invalid``, ``rejected`` (4xx) or ``error`` (5xx);
* ``orgbook_issuer_requests_total{route,status}``: issuer API calls;
* registry-wide, read from the database at scrape time (the same on every replica: aggregate with
  ``max``, not ``sum``): ``orgbook_credentials_issued_total{issuer,type}`` (counted
  incrementally by issuer over an index), ``orgbook_ledger_entries``,
  ``orgbook_ledger_checkpoint_size``.

With several worker processes (``orgbook serve --workers N``) a scrape reaches one of them, so
each worker also writes its figures to ``<share_dir>/<pid>.json`` (``ORGBOOK_METRICS_DIR``, set
by ``orgbook serve``), at most 50 ms after a request and never on the request's path; a scrape
waits that long, then answers the sum of its own figures and every other worker's file.

What it must not do: read request bodies, or label by anything a client controls freely.
"""

from __future__ import annotations

import asyncio
import json
import os
import threading
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request, Response
from sqlalchemy import Engine, func, select
from starlette.concurrency import run_in_threadpool
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from orgbook.http.routing import PooledRoute

__all__ = [
    "BUCKETS",
    "CONTENT_TYPE",
    "Histogram",
    "Metrics",
    "MetricsMiddleware",
    "router",
    "routes",
]

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
SEARCH_ROUTES = frozenset({"/api/v1/organisations", "/api/v1/organisations/autocomplete"})
VERIFY_ROUTE = "/api/v1/verify"
ISSUER_PREFIX = "/api/v1/issuer"
UNMATCHED = "(unmatched)"
FLUSH_SECONDS = 0.05
"""With several workers: how long a worker's figures may wait before it writes them."""
_VALID = b'"valid":true'
_INVALID = b'"valid":false'

Labels = tuple[str, ...]


class Histogram:
    """Cumulative buckets, sum and count for each label set."""

    __slots__ = ("buckets", "series")

    def __init__(self, buckets: tuple[float, ...] = BUCKETS) -> None:
        self.buckets = buckets
        self.series: dict[Labels, list[float]] = {}  # bucket counts…, +Inf count, sum

    def observe(self, labels: Labels, value: float) -> None:
        row = self.series.get(labels)
        if row is None:
            row = self.series[labels] = [0.0] * (len(self.buckets) + 2)
        for i, bound in enumerate(self.buckets):
            if value <= bound:
                row[i] += 1
        row[-2] += 1
        row[-1] += value


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _labels(names: Iterable[str], values: Iterable[str], extra: str = "") -> str:
    parts = [f'{n}="{_escape(v)}"' for n, v in zip(names, values, strict=True)]
    if extra:
        parts.append(extra)
    return "{" + ",".join(parts) + "}" if parts else ""


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else repr(value)


class Metrics:
    """The metrics of one application (``app.state.metrics``)."""

    def __init__(self, share_dir: Path | str | None = None) -> None:
        self.share_dir = Path(share_dir) if share_dir else None
        self._flush_pending = False
        self.requests: dict[Labels, int] = {}
        self.durations = Histogram()
        self.search = Histogram()
        self.verifications: dict[Labels, int] = {}
        self.issuer_requests: dict[Labels, int] = {}
        self._issued: dict[tuple[str, str], int] = {}
        self._issued_upto: dict[str, int] = {}  # issuer -> highest ledger index counted
        self._db_lock = threading.Lock()

    # --- the hot path (event loop) -------------------------------------------------------------

    def record(self, method: str, route: str, status: int, seconds: float, body: bytes) -> None:
        method = method if method in METHODS else "OTHER"
        key = (method, route, str(status))
        self.requests[key] = self.requests.get(key, 0) + 1
        self.durations.observe((method, route), seconds)
        if route in SEARCH_ROUTES:
            self.search.observe((route,), seconds)
        elif route == VERIFY_ROUTE and method == "POST":
            outcome = _verify_outcome(status, body)
            self.verifications[(outcome,)] = self.verifications.get((outcome,), 0) + 1
        elif route.startswith(ISSUER_PREFIX):
            pair = (route, str(status))
            self.issuer_requests[pair] = self.issuer_requests.get(pair, 0) + 1
        if self.share_dir is not None and not self._flush_pending:
            self._flush_pending = True
            asyncio.get_running_loop().call_later(FLUSH_SECONDS, self.flush)

    # --- several workers -----------------------------------------------------------------------

    def _snapshot(self) -> dict[str, Any]:
        return {
            "requests": [[*k, v] for k, v in self.requests.items()],
            "durations": [[list(k), row] for k, row in self.durations.series.items()],
            "search": [[list(k), row] for k, row in self.search.series.items()],
            "verifications": [[*k, v] for k, v in self.verifications.items()],
            "issuer_requests": [[*k, v] for k, v in self.issuer_requests.items()],
        }

    def flush(self) -> None:
        """Write this worker's figures where the other workers' scrapes read them."""
        self._flush_pending = False
        if self.share_dir is None:
            return
        self.share_dir.mkdir(parents=True, exist_ok=True)
        path = self.share_dir / f"{os.getpid()}.json"
        temporary = path.with_suffix(".tmp")
        temporary.write_text(json.dumps(self._snapshot()))
        os.replace(temporary, path)

    def _merged(self) -> Metrics:
        """This worker's figures plus every other worker's last written ones."""
        merged = Metrics()
        snapshots = [self._snapshot()]
        if self.share_dir is not None:
            own = f"{os.getpid()}.json"
            for path in sorted(self.share_dir.glob("*.json")):
                if path.name != own:
                    try:
                        snapshots.append(json.loads(path.read_text()))
                    except (OSError, ValueError):
                        continue  # a worker being replaced: its next write will do
        for snap in snapshots:
            for table in ("requests", "verifications", "issuer_requests"):
                target: dict[Labels, int] = getattr(merged, table)
                for *labels, value in snap[table]:
                    key = tuple(labels)
                    target[key] = target.get(key, 0) + int(value)
            for table in ("durations", "search"):
                histogram: Histogram = getattr(merged, table)
                for labels, row in snap[table]:
                    key = tuple(labels)
                    current = histogram.series.setdefault(key, [0.0] * len(row))
                    histogram.series[key] = [a + b for a, b in zip(current, row, strict=True)]
        return merged

    # --- scrape time ---------------------------------------------------------------------------

    def _database(self, engine: Engine) -> list[str]:
        from orgbook.ledger.store import ledger_checkpoints, ledger_head
        from orgbook.projections.tables import credentials, issuers
        from orgbook.storage.engine import reading

        with self._db_lock, reading(engine) as conn:
            size = conn.execute(select(ledger_head.c.size)).scalar() or 0
            checkpoint = conn.execute(select(func.max(ledger_checkpoints.c.size))).scalar() or 0
            for (issuer_id,) in conn.execute(select(issuers.c.id)):
                upto = self._issued_upto.get(issuer_id, -1)
                # (issuer_id, ledger_index) is indexed: each scrape reads only what is new.
                query = (
                    select(credentials.c.type, func.count(), func.max(credentials.c.ledger_index))
                    .where(credentials.c.issuer_id == issuer_id, credentials.c.ledger_index > upto)
                    .group_by(credentials.c.type)
                )
                for cred_type, count, highest in conn.execute(query):
                    key = (str(issuer_id), str(cred_type))
                    self._issued[key] = self._issued.get(key, 0) + int(count)
                    upto = max(upto, int(highest))
                self._issued_upto[issuer_id] = upto
            issued = dict(self._issued)
        lines = [
            "# HELP orgbook_credentials_issued_total Credentials issued (registry-wide).",
            "# TYPE orgbook_credentials_issued_total counter",
        ]
        for (issuer_id, cred_type), count in sorted(issued.items()):
            labels = _labels(("issuer", "type"), (issuer_id, cred_type))
            lines.append(f"orgbook_credentials_issued_total{labels} {count}")
        lines += [
            "# HELP orgbook_ledger_entries Entries in the ledger (registry-wide).",
            "# TYPE orgbook_ledger_entries gauge",
            f"orgbook_ledger_entries {int(size)}",
            "# HELP orgbook_ledger_checkpoint_size Tree size of the latest signed checkpoint.",
            "# TYPE orgbook_ledger_checkpoint_size gauge",
            f"orgbook_ledger_checkpoint_size {int(checkpoint)}",
        ]
        return lines

    def render(self, engine: Engine | None = None) -> str:
        """The exposition text; with ``engine``, the registry-wide figures too."""
        if self.share_dir is not None:
            time.sleep(2 * FLUSH_SECONDS)  # the other workers' last requests are written
            merged = self._merged()
            merged._issued, merged._issued_upto = self._issued, self._issued_upto
            merged._db_lock = self._db_lock
            text = merged.render(engine)
            self._issued, self._issued_upto = merged._issued, merged._issued_upto
            return text
        lines: list[str] = []
        _counter(
            lines,
            "orgbook_http_requests_total",
            "HTTP requests by method, route template and status.",
            ("method", "route", "status"),
            self.requests,
        )
        _histogram(
            lines,
            "orgbook_http_request_duration_seconds",
            "HTTP request latency by method and route template.",
            ("method", "route"),
            self.durations,
        )
        _histogram(
            lines,
            "orgbook_search_duration_seconds",
            "Organisation search and autocomplete latency.",
            ("route",),
            self.search,
        )
        _counter(
            lines,
            "orgbook_verifications_total",
            "POST /api/v1/verify answers by outcome.",
            ("outcome",),
            self.verifications,
        )
        _counter(
            lines,
            "orgbook_issuer_requests_total",
            "Issuer API requests by route template and status.",
            ("route", "status"),
            self.issuer_requests,
        )
        if engine is not None:
            try:
                lines += self._database(engine)
            except Exception:  # a scrape must answer even when the database does not
                lines += ["# orgbook: database figures unavailable"]
        lines += ["# TYPE orgbook_up gauge", "orgbook_up 1"]
        return "\n".join(lines) + "\n"


def _verify_outcome(status: int, body: bytes) -> str:
    if status >= 500:
        return "error"
    if status >= 400:
        return "rejected"
    if _VALID in body:
        return "valid"
    if _INVALID in body:
        return "invalid"
    return "unknown"


def _counter(
    lines: list[str], name: str, help_text: str, names: Labels, values: dict[Labels, int]
) -> None:
    lines += [f"# HELP {name} {help_text}", f"# TYPE {name} counter"]
    for labels, value in sorted(values.items()):
        lines.append(f"{name}{_labels(names, labels)} {value}")


def _histogram(
    lines: list[str], name: str, help_text: str, names: Labels, histogram: Histogram
) -> None:
    lines += [f"# HELP {name} {help_text}", f"# TYPE {name} histogram"]
    for labels, row in sorted(histogram.series.items()):
        for bound, count in zip(histogram.buckets, row, strict=False):
            le = _labels(names, labels, f'le="{_number(bound)}"')
            lines.append(f"{name}_bucket{le} {_number(count)}")
        inf = _labels(names, labels, 'le="+Inf"')
        lines.append(f"{name}_bucket{inf} {_number(row[-2])}")
        lines.append(f"{name}_sum{_labels(names, labels)} {row[-1]!r}")
        lines.append(f"{name}_count{_labels(names, labels)} {_number(row[-2])}")


class MetricsMiddleware:
    """Times each HTTP request and records it under its route template (pure ASGI)."""

    def __init__(self, app: ASGIApp, *, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500
        sniff = scope["path"] == VERIFY_ROUTE
        body = bytearray()

        async def send_timed(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            elif sniff and message["type"] == "http.response.body" and len(body) < 64:
                body.extend(message.get("body", b"")[:64])
            await send(message)

        try:
            await self.app(scope, receive, send_timed)
        finally:
            route = scope.get("route")
            template = getattr(route, "path", None) if route is not None else None
            self.metrics.record(
                scope["method"],
                template if isinstance(template, str) else UNMATCHED,
                status,
                time.perf_counter() - started,
                bytes(body),
            )


routes = APIRouter(route_class=PooledRoute)
"""``GET /metrics`` (not in the OpenAPI document; keep it off the public proxy)."""


@routes.get("/metrics", include_in_schema=False)
async def metrics(request: Request) -> Response:
    state = request.app.state
    text = await run_in_threadpool(state.metrics.render, getattr(state, "engine", None))
    return Response(text, media_type=CONTENT_TYPE)


def router() -> APIRouter:
    """:data:`routes`, what ``orgbook.app.create_app`` includes."""
    return routes
