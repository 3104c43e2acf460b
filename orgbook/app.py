"""``create_app(settings)``: the one FastAPI application (issuer API, verifier API, web page).

This module only assembles: settings, the engine (made here unless given), the rate limiter,
middleware, the problem+json handlers, the health router and each area's router, imported by
name below (:data:`AREA_ROUTERS`, :data:`AREA_INSTALLERS`: a renamed or missing module fails at
import time). :func:`app_factory` is what every ``orgbook serve`` worker (or another ASGI server)
builds its application with. Nothing happens at import time.

Responses: no ``default_response_class`` is set on purpose. With a declared return type FastAPI
serialises through pydantic's Rust core straight to bytes (its fast path, ~2× an untyped dict);
``ORJSONResponse`` is deprecated in this FastAPI and would turn that path off.
"""

from __future__ import annotations

import gc
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

from fastapi import APIRouter, FastAPI
from fastapi.openapi.utils import get_openapi
from fastapi.routing import APIRoute
from sqlalchemy import Engine
from starlette.concurrency import run_in_threadpool

from orgbook import __version__
from orgbook.config import Settings, get_settings
from orgbook.core.errors import ConfigurationError
from orgbook.feeds import api as feeds_api
from orgbook.http import apidocs, health
from orgbook.http.metrics import Metrics, MetricsMiddleware
from orgbook.http.metrics import router as metrics_router
from orgbook.http.middleware import (
    BodyLimitMiddleware,
    PathCORSMiddleware,
    RequestContextMiddleware,
    SecurityHeadersMiddleware,
)
from orgbook.http.problems import (
    PROBLEM_MEDIA_TYPE,
    PROBLEM_RESPONSES,
    Problem,
    install_problem_handlers,
)
from orgbook.http.ratelimit import RateLimiter
from orgbook.http.routing import PooledRoute, configure_pools, threads_for
from orgbook.http.serving import limit_threads
from orgbook.issuer import api as issuer_api
from orgbook.issuer import authorised_api, binding_api, oid4vci_api, vcapi_issue
from orgbook.runtime.logging import configure_logging
from orgbook.runtime.registry import Registry, open_registry, resolve_passphrase
from orgbook.storage.engine import is_sqlite, make_engine
from orgbook.storage.migrations import upgrade
from orgbook.verifier import api as verifier_api
from orgbook.verifier import (
    ledger_api,
    stats_api,
    stats_web,
    trqp,
    types_api,
    vcapi,
    web,
    witness_api,
)

log = logging.getLogger(__name__)


def _did_resolver() -> Any:
    """did:key locally, did:web over HTTPS: how the issuer API resolves a business's DID."""
    import httpx

    from orgbook.core.did import ChainResolver, LocalResolver
    from orgbook.verifier.did_web import HttpsDidWebResolver

    return ChainResolver(LocalResolver(), HttpsDidWebResolver(httpx.Client()))


AREA_ROUTERS: tuple[Callable[[Settings], APIRouter], ...] = (
    verifier_api.router,
    issuer_api.router,
    binding_api.router,
    vcapi.router,
    authorised_api.router,
    vcapi_issue.router,
    oid4vci_api.router,
    web.router,
    ledger_api.router,
    witness_api.router,
    trqp.router,
    types_api.router,
    stats_api.router,
    stats_web.router,
)
"""Each area's ``router(settings)``, included in this order (the first matching route wins)."""

AREA_INSTALLERS: tuple[Callable[[FastAPI, Settings], None], ...] = (
    feeds_api.install,
    witness_api.install,
)
"""Areas that install more than a router (the feeds' webhook worker, the witness keys read once
per application), after the routers."""

DESCRIPTION = """\
A verifiable organisation credential registry. Registries issue W3C Verifiable Credentials 2.0
(Data Integrity `eddsa-jcs-2022`) about the organisations they register; every issuance and
revocation is appended to an RFC 9162 Merkle ledger with signed checkpoints; anyone can search
organisations, download a credential or a bundle and verify it without trusting this server.

Conventions (see `docs/api.md`): everything is under `/api/v1`; errors are RFC 9457
`application/problem+json`; every response carries `X-Request-ID`; public endpoints are
rate-limited per client (`RateLimit-Limit`, `RateLimit-Remaining`, 429 with `Retry-After`);
immutable resources have strong `ETag`s and answer `If-None-Match` with 304; the issuer API
(`/api/v1/issuer/…`) needs `Authorization: Bearer <key>`.
"""

OPENAPI_TAGS: list[dict[str, Any]] = [
    {"name": "organisations", "description": "Search organisations; an organisation's profile."},
    {"name": "credentials", "description": "Credentials and bundles (credential + proof)."},
    {"name": "verify", "description": "Verify a credential or a bundle: a report per check."},
    {"name": "ledger", "description": "The append-only ledger: checkpoint, entries, proofs."},
    {"name": "issuers", "description": "Trusted issuers, their DID documents, status lists."},
    {"name": "issuer", "description": "The authenticated issuer API (ingest, revoke, keys)."},
    {
        "name": "subscriptions",
        "description": "Follow the ledger (feed, Server-Sent Events), webhooks, bulk export.",
    },
    {
        "name": "trust-registry",
        "description": "Trust over IP TRQP v2.0: may an authority issue a credential type, as of a "
        "time (`POST /authorization`, `POST /recognition`), answered from the ledger.",
    },
    {
        "name": "vc-api",
        "description": "The W3C CCG Verifiable Credentials API: verify, challenges, issue.",
    },
    {
        "name": "wallets",
        "description": "OpenID for Verifiable Credential Issuance 1.0 (pre-authorised code): "
        "issuer metadata, credential offers, token, nonce and credential endpoints. Browser "
        "wallets on other origins may call them (CORS, Authorization allowed) when their origin "
        "is among ORGBOOK_CORS_ORIGINS; never with credentials.",
    },
    {"name": "statistics", "description": "Public statistics, as of a signed checkpoint."},
    {"name": "health", "description": "Liveness and readiness probes."},
]


def include_area_routers(app: FastAPI, settings: Settings) -> None:
    """Include every area's routes: :data:`AREA_ROUTERS`, then :data:`AREA_INSTALLERS`."""
    for router in AREA_ROUTERS:
        app.include_router(router(settings), responses=PROBLEM_RESPONSES)
    for install in AREA_INSTALLERS:
        install(app, settings)


def _install_openapi(app: FastAPI) -> None:
    """Add the ``Problem`` schema that the problem+json responses refer to."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = get_openapi(
                title=app.title,
                version=app.version,
                description=app.description,
                routes=app.routes,
                tags=app.openapi_tags,
            )
            components = schema.setdefault("components", {}).setdefault("schemas", {})
            components["Problem"] = Problem.model_json_schema(
                ref_template="#/components/schemas/{model}"
            )
            declare_shell_responses(schema, app, max_body_bytes=app.state.settings.max_body_bytes)
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


_PROBLEM_CONTENT = {PROBLEM_MEDIA_TYPE: {"schema": {"$ref": "#/components/schemas/Problem"}}}


def _api_routes(app: FastAPI) -> list[Any]:
    """The application's API routes, each with its full path, methods and dependencies.

    FastAPI ≥ 0.16x keeps included routers as such (``app.routes`` holds them, not their
    routes) and offers ``iter_route_contexts`` to see through them; older versions copy
    ``APIRoute`` objects into ``app.routes``.
    """
    import fastapi.routing

    iter_contexts = getattr(fastapi.routing, "iter_route_contexts", None)
    if iter_contexts is None:
        return [route for route in app.routes if isinstance(route, APIRoute)]
    return [view for view in iter_contexts(app.routes) if isinstance(view.original_route, APIRoute)]


def _rate_limit_classes(route: Any) -> list[str]:
    """The rate-limit classes (``rate_limited(kind)``) among a route's dependencies."""
    found: list[str] = []
    pending = list(route.dependant.dependencies)
    while pending:
        dependency = pending.pop()
        name = getattr(dependency.call, "__name__", "")
        if name.startswith("rate_limited_"):
            found.append(name.removeprefix("rate_limited_"))
        pending.extend(dependency.dependencies)
    return found


def declare_shell_responses(schema: dict[str, Any], app: FastAPI, *, max_body_bytes: int) -> None:
    """Declare the answers the shell gives on a route's behalf, in ``schema`` (OpenAPI).

    The middleware and dependencies answer before a route runs: 413 for a body over
    ``max_body_bytes`` (every operation that takes a body) and 429 with ``Retry-After`` (every
    rate-limited operation). Declared here, from the routes themselves, so that the document
    cannot forget one.
    """
    paths = schema.get("paths", {})
    for route in _api_routes(app):
        if not route.include_in_schema:
            continue
        limited = _rate_limit_classes(route)
        for method in route.methods or ():
            operation = paths.get(route.path_format, {}).get(method.lower())
            if operation is None:
                continue
            responses = operation.setdefault("responses", {})
            if "requestBody" in operation and "413" not in responses:
                responses["413"] = {
                    "description": f"The body is larger than {max_body_bytes} bytes "
                    "(`ORGBOOK_MAX_BODY_BYTES`).",
                    "content": _PROBLEM_CONTENT,
                }
            if limited and "429" not in responses:
                responses["429"] = {
                    "description": f"Rate limit of the `{limited[0]}` class exceeded; retry after "
                    "`Retry-After` seconds.",
                    "headers": {
                        "Retry-After": {
                            "description": "Seconds to wait before retrying.",
                            "schema": {"type": "integer", "minimum": 1},
                        }
                    },
                    "content": _PROBLEM_CONTENT,
                }


def _configure_served_logging(settings: Settings) -> None:
    """Structured logs per settings when uvicorn serves the app (``orgbook serve``, ``demo``).

    Uvicorn installs its own handlers before the app starts; replace them with orgbook's (JSON
    lines with ``ORGBOOK_LOG_JSON``). Left alone: a process that configured orgbook logging
    itself, and in-process test clients (uvicorn's loggers have no handlers there).
    """
    root = logging.getLogger()
    if any(getattr(h, "_orgbook_handler", False) for h in root.handlers):  # configure_logging's
        return
    if logging.getLogger("uvicorn").handlers or logging.getLogger("uvicorn.error").handlers:
        configure_logging(settings)


def freeze_startup_heap() -> None:
    """Move every object alive now out of the garbage collector's reach, before serving.

    A server's start-up heap (modules, compiled schemas and record checks, SQLAlchemy's
    statement caches) lives as long as the process, yet every full collection walks it: a
    pause in about one request in a hundred, which set the p99 of a search
    (bench/search_bench.py; figures in docs/performance.md). ``gc.freeze`` (Python ≥ 3.7)
    keeps those objects out of collections; what requests allocate is collected as before.
    Called by ``orgbook serve`` and ``orgbook demo`` right before serving, not by
    :func:`create_app` (tests build many apps in one process and should not pin their garbage).
    """
    gc.collect()
    gc.freeze()


def create_app(
    settings: Settings | None = None,
    *,
    engine: Engine | None = None,
    registry: Registry | None = None,
) -> FastAPI:
    """The orgbook application for ``settings`` (default: from the environment).

    ``engine`` (or else ``registry.engine``) is used as given and left open at shutdown;
    otherwise one is made from ``settings.database_url`` and disposed of at shutdown. Tables are
    created at start-up. ``registry`` (ledger, issuance) is what routes get as ``RegistryDep``.
    """
    settings = settings or (registry.settings if registry is not None else get_settings())
    if engine is None and registry is not None:
        engine = registry.engine
    owns_engine = engine is None
    app_engine = engine if engine is not None else make_engine(settings.database_url)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        _configure_served_logging(settings)
        # Migrations at start-up: one query when already at head; replicas starting together
        # queue on the migration lock.
        await run_in_threadpool(upgrade, app_engine)
        # orgbook.http.serving: why few threads per process; orgbook.http.routing: why its own
        threads = threads_for(settings.threads, sqlite=is_sqlite(app_engine))
        limit_threads(threads)
        configure_pools(threads)
        try:
            yield
        finally:
            if owns_engine:
                app_engine.dispose()

    app = FastAPI(
        title="orgbook",
        version=__version__,
        description=DESCRIPTION,
        openapi_tags=OPENAPI_TAGS,
        openapi_url="/openapi.json",
        docs_url=None,  # orgbook.http.apidocs serves /docs and /redoc from local assets
        redoc_url=None,
        lifespan=lifespan,
    )
    app.router.route_class = PooledRoute  # routes added to the app itself (orgbook.http.routing)
    app.state.settings = settings
    app.state.engine = app_engine
    app.state.registry = registry
    app.state.did_resolver = _did_resolver()
    app.state.rate_limiter = RateLimiter.from_settings(settings)

    install_problem_handlers(app)
    # add_middleware wraps: the last added runs first.
    app.add_middleware(BodyLimitMiddleware, max_body_bytes=settings.max_body_bytes)
    app.add_middleware(
        PathCORSMiddleware,
        public_origins=settings.cors_origins,
        issuer_origins=settings.issuer_cors_origins,
    )
    app.add_middleware(SecurityHeadersMiddleware, hsts=settings.public_url.startswith("https://"))
    app.add_middleware(RequestContextMiddleware, access_log=settings.access_log)
    app.state.metrics = Metrics(settings.metrics_dir or None)
    app.add_middleware(MetricsMiddleware, metrics=app.state.metrics)

    app.include_router(health.router(), responses=PROBLEM_RESPONSES)
    app.include_router(apidocs.routes)
    app.include_router(metrics_router())
    include_area_routers(app, settings)
    _install_openapi(app)
    return app


def app_factory() -> FastAPI:
    """The application of one worker process, from ``ORGBOOK_*`` (what ``serve`` passed on).

    Opens the registry as ``orgbook serve`` does: with signing keys when a passphrase is at hand
    (``ORGBOOK_KEY_PASSPHRASE``), otherwise as a verifier replica.
    """
    settings = get_settings()
    try:
        passphrase: bytes | None = resolve_passphrase(settings, prompt=False)
    except ConfigurationError:
        passphrase = None  # a verifier replica: public keys only, cached status lists
    registry = open_registry(settings, signing=passphrase is not None, passphrase=passphrase)
    app = create_app(settings, registry=registry)
    freeze_startup_heap()
    return app


__all__ = [
    "AREA_INSTALLERS",
    "AREA_ROUTERS",
    "OPENAPI_TAGS",
    "app_factory",
    "create_app",
    "declare_shell_responses",
    "include_area_routers",
]
