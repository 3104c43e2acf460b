"""Pure ASGI middleware of the application shell (no ``BaseHTTPMiddleware``: it costs a task).

- :class:`RequestContextMiddleware`: the request id (``X-Request-ID`` kept when sane, generated
  otherwise, echoed, bound to log records), headers queued by dependencies (rate-limit state),
  an optional access log line, and the last line of defence: an exception that escapes
  everything else becomes a 500 problem+json with the request id, logged once with its traceback;
  an error response in a format of its own (a route's ``JSONResponse(status_code=400)``,
  Starlette's plain-text CORS refusal) is re-sent as problem+json (HTML pages excepted).
- :class:`BodyLimitMiddleware`: a declared ``Content-Length`` over the limit gets 413 before a
  byte is read; a streamed body is counted and cut off at the limit, also with 413.
- :class:`SecurityHeadersMiddleware`: ``nosniff`` everywhere; CSP, frame and referrer policies
  for HTML pages.
- :class:`PathCORSMiddleware`: Starlette's ``CORSMiddleware`` for public paths and the
  OpenID4VCI endpoints only; issuer paths (``/api/v1/issuer/…``) get their own, closed by default.

Order (outermost first): request context, security headers, CORS, body limit, then FastAPI's
exception handling and the routes.
"""

from __future__ import annotations

import itertools
import logging
import os
import re
import time
from collections.abc import Iterable, MutableMapping
from typing import Any, NamedTuple

from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from orgbook.core.errors import PayloadTooLarge
from orgbook.http.problems import (
    PROBLEM_MEDIA_TYPE,
    REQUEST_ID_SCOPE_KEY,
    ProblemResponse,
    internal_error_body,
    status_problem,
)
from orgbook.runtime.logging import request_id_var

REQUEST_ID_HEADER = "X-Request-ID"
RESPONSE_HEADERS_SCOPE_KEY = "orgbook.response_headers"
"""Scope key: a list of ``(name, value)`` byte pairs that the response will carry."""

OWN_ERROR_BODY_SCOPE_KEY = "orgbook.own_error_body"
"""Scope key: set (True) by a route whose 4xx body is a format a specification defines (the
VC-API's verification results): it is left alone, not re-sent as problem+json."""

_SANE_REQUEST_ID = re.compile(rb"^[A-Za-z0-9._:+/=-]{1,128}$")

log = logging.getLogger(__name__)
access_log = logging.getLogger("orgbook.access")

ISSUER_PREFIX = "/api/v1/issuer"
PUBLIC_CORS_PREFIXES = (
    "/api/v1/",
    "/.well-known/",
    "/schemas/",
    "/openapi.json",
    "/credentials/verify",  # the VC-API verifier (orgbook.verifier.vcapi)
    "/presentations/verify",
    "/challenges",
)
"""Paths a browser on another origin may read: the public API and what verifiers fetch."""

WALLET_CORS_PREFIXES = ("/oid4vci/",)
"""The OpenID4VCI endpoints a browser wallet calls (offer by reference, token, nonce,
credential): open to the public API's origins, with ``Authorization`` (the access token) allowed
and ``WWW-Authenticate`` exposed. The issuer metadata is under ``/.well-known/`` already."""


class _RequestIds:
    """Request ids: 32 hex digits, a random per-process prefix and a counter.

    Unique, which is all a request id must be (it is not a secret); ``uuid4`` read 16 bytes from
    the kernel for every request, a system call that showed in a small request's CPU under
    load (docs/performance.md, "Figures moved out of the code"). The prefix is drawn again in a
    forked child.
    """

    __slots__ = ("_counter", "_pid", "_prefix")

    def __init__(self) -> None:
        self._pid = 0
        self._prefix = ""
        self._counter = itertools.count()

    def __call__(self) -> str:
        if self._pid != os.getpid():
            self._pid = os.getpid()
            self._prefix = os.urandom(8).hex()
            self._counter = itertools.count(int.from_bytes(os.urandom(4), "big"))
        return f"{self._prefix}{next(self._counter) & 0xFFFFFFFFFFFFFFFF:016x}"


new_request_id = _RequestIds()
"""A new request id (``X-Request-ID`` when the client sent none usable)."""


def add_response_header(scope: Scope, name: str, value: str) -> None:
    """Queue a header for this request's response (whatever response the route produces)."""
    queued: list[tuple[bytes, bytes]] = scope.setdefault(RESPONSE_HEADERS_SCOPE_KEY, [])
    queued.append((name.lower().encode("latin-1"), value.encode("latin-1")))


async def no_store(request: Request) -> None:
    """A route dependency: the answer is private (an issuer's, a subscriber's): no cache keeps
    it."""
    add_response_header(request.scope, "Cache-Control", "no-store")


def _header(scope: Scope, name: bytes) -> bytes | None:
    for key, value in scope.get("headers", ()):
        if key == name:
            return bytes(value)
    return None


class RequestContextMiddleware:
    def __init__(self, app: ASGIApp, *, access_log: bool = False) -> None:
        self.app = app
        self.access_log = access_log

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        given = _header(scope, b"x-request-id")
        rid = given.decode("ascii") if given and _SANE_REQUEST_ID.match(given) else None
        rid = rid or new_request_id()
        scope[REQUEST_ID_SCOPE_KEY] = rid
        token = request_id_var.set(rid)
        started = time.perf_counter()
        status = 0

        replacing = False

        async def send_with_context(message: Message) -> None:
            nonlocal status, replacing
            if message["type"] == "http.response.start":
                status = message["status"]
                raw = list(message.get("headers", ()))
                if status >= 400 and _needs_problem(scope, raw):
                    # A route answered an error in a format of its own: clients get
                    # problem+json from every endpoint, so say the same thing in it.
                    log.warning(
                        "%s %s answered %s as %s; sent as problem+json",
                        scope["method"],
                        scope["path"],
                        status,
                        _raw_get(raw, b"content-type"),
                    )
                    replacing = True
                    await self._send_problem(scope, send, status, rid, raw)
                    return
                raw.append((b"x-request-id", rid.encode("ascii")))
                raw.extend(scope.get(RESPONSE_HEADERS_SCOPE_KEY, ()))
                message["headers"] = raw
            elif replacing:
                return
            await send(message)

        try:
            await self.app(scope, receive, send_with_context)
        except Exception as exc:
            log.error("unhandled %s", type(exc).__name__, exc_info=exc)
            if status:
                raise  # the response has started: nothing better to do than to break it
            response = ProblemResponse(internal_error_body(rid), status_code=500)
            await response(scope, receive, send_with_context)
        finally:
            if self.access_log:
                access_log.info(
                    "%s %s %s",
                    scope["method"],
                    scope["path"],
                    status,
                    extra={
                        "method": scope["method"],
                        "path": scope["path"],
                        "status": status,
                        "duration_ms": round((time.perf_counter() - started) * 1000, 3),
                    },
                )
            request_id_var.reset(token)

    async def _send_problem(
        self, scope: Scope, send: Send, status: int, rid: str, original: list[tuple[bytes, bytes]]
    ) -> None:
        body = status_problem(status)
        body["instance"] = scope["path"]
        body["request_id"] = rid
        content = ProblemResponse(body).body
        raw = [(k, v) for k, v in original if k.lower() not in _REPLACED_HEADERS]
        raw += [
            (b"content-type", PROBLEM_MEDIA_TYPE.encode()),
            (b"content-length", str(len(content)).encode()),
            (b"x-request-id", rid.encode()),
            *scope.get(RESPONSE_HEADERS_SCOPE_KEY, ()),
        ]
        await send({"type": "http.response.start", "status": status, "headers": raw})
        await send({"type": "http.response.body", "body": content, "more_body": False})


_REPLACED_HEADERS = frozenset({b"content-type", b"content-length", b"content-encoding", b"etag"})
_OWN_FORMATS = (PROBLEM_MEDIA_TYPE, "text/html")
"""Error bodies left alone: problem+json, and HTML pages (the web page's own 404 for people)."""


def _raw_get(raw: Iterable[tuple[bytes, bytes]], name: bytes) -> str:
    for key, value in raw:
        if key.lower() == name:
            return value.decode("latin-1")
    return ""


def _needs_problem(scope: Scope, raw: list[tuple[bytes, bytes]]) -> bool:
    if scope["method"] == "HEAD" or scope.get(OWN_ERROR_BODY_SCOPE_KEY):
        return False
    return not _raw_get(raw, b"content-type").startswith(_OWN_FORMATS)


class BodyLimitMiddleware:
    def __init__(self, app: ASGIApp, *, max_body_bytes: int) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.max_body_bytes
        declared = _header(scope, b"content-length")
        if declared is not None:
            try:
                too_big = int(declared) > limit
            except ValueError:
                too_big = False  # the server rejects malformed framing itself
            if too_big:
                await self._reject(scope, receive, send)
                return

        received = 0
        exceeded = False
        response_started = False

        async def receive_limited() -> Message:
            nonlocal received, exceeded
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    exceeded = True
                    raise PayloadTooLarge(self._detail())
            return message

        async def send_checked(message: Message) -> None:
            nonlocal response_started
            if exceeded and not response_started:
                # Whatever the route made of the cut-off body (FastAPI answers 400 "error
                # parsing the body"), the answer is 413.
                if message["type"] == "http.response.start":
                    response_started = True
                    await self._reject(scope, receive, send)
                return
            if exceeded:
                return
            if message["type"] == "http.response.start":
                response_started = True
            await send(message)

        try:
            await self.app(scope, receive_limited, send_checked)
        except PayloadTooLarge:
            if response_started:
                raise
            await self._reject(scope, receive, send)

    def _detail(self) -> str:
        return f"The request body is larger than {self.max_body_bytes} bytes."

    async def _reject(self, scope: Scope, receive: Receive, send: Send) -> None:
        body = PayloadTooLarge(self._detail()).problem(instance=scope.get("path"))
        rid = scope.get(REQUEST_ID_SCOPE_KEY)
        if rid:
            body["request_id"] = rid
        response = ProblemResponse(body, status_code=413, headers={"Connection": "close"})
        await response(scope, receive, send)


HTML_SECURITY_HEADERS: tuple[tuple[bytes, bytes], ...] = (
    (
        b"content-security-policy",
        b"default-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; "
        b"form-action 'self'; frame-ancestors 'none'",
    ),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"strict-origin-when-cross-origin"),
    (b"cross-origin-opener-policy", b"same-origin"),
    (b"permissions-policy", b"camera=(), microphone=(), geolocation=(), interest-cohort=()"),
)
DOCS_PATHS = frozenset({"/docs", "/redoc"})
"""Swagger UI and ReDoc (:mod:`orgbook.http.apidocs`): scripts from this origin only, as the
other pages, but inline styles allowed (both inject ``<style>`` elements as they render)."""
DOCS_SECURITY_HEADERS: tuple[tuple[bytes, bytes], ...] = (
    (
        b"content-security-policy",
        b"default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
        b"img-src 'self' data:; font-src 'self' data:; worker-src 'self' blob:; "
        b"object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
    ),
    *HTML_SECURITY_HEADERS[1:],
)


class SecurityHeadersMiddleware:
    def __init__(self, app: ASGIApp, *, hsts: bool = False) -> None:
        self.app = app
        self.always: tuple[tuple[bytes, bytes], ...] = ((b"x-content-type-options", b"nosniff"),)
        if hsts:
            self.always += ((b"strict-transport-security", b"max-age=31536000"),)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                raw = list(message.get("headers", ()))
                present = {key.lower() for key, _ in raw}
                extra = [h for h in self.always if h[0] not in present]
                if _raw_get(raw, b"content-type").startswith("text/html"):
                    page = DOCS_SECURITY_HEADERS if scope["path"] in DOCS_PATHS else None
                    extra += [h for h in page or HTML_SECURITY_HEADERS if h[0] not in present]
                if extra:
                    message["headers"] = raw + extra
            await send(message)

        await self.app(scope, receive, send_with_headers)


PUBLIC_CORS_HEADERS = ("Content-Type", "If-None-Match", "X-Request-ID")
EXPOSED_HEADERS = (
    "ETag",
    "Link",
    "Location",
    "RateLimit-Limit",
    "RateLimit-Remaining",
    "Retry-After",
    "X-Request-ID",
)

WALLET_EXPOSED_HEADERS = (*EXPOSED_HEADERS, "WWW-Authenticate")  # an invalid_token says why


def is_issuer_path(path: str) -> bool:
    return path == ISSUER_PREFIX or path.startswith(ISSUER_PREFIX + "/")


def is_public_cors_path(path: str) -> bool:
    return path.startswith(PUBLIC_CORS_PREFIXES) and not is_issuer_path(path)


class _OpenPaths(NamedTuple):
    static_headers: tuple[tuple[bytes, bytes], ...]
    cors: ASGIApp


class PathCORSMiddleware:
    """CORS by path: public paths (and the OpenID4VCI endpoints, :data:`WALLET_CORS_PREFIXES`)
    open to ``public_origins``, issuer paths to ``issuer_origins``; other paths (the web pages)
    get no CORS headers. Never ``Access-Control-Allow-Credentials``: ``*`` is safe to allow."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        public_origins: Iterable[str] = ("*",),
        issuer_origins: Iterable[str] = (),
    ) -> None:
        self.app = app
        public = tuple(public_origins)
        issuer = tuple(issuer_origins)
        # Open to every origin: the same answer for every request (no Vary: Origin, one cache
        # entry), and only preflights need Starlette's CORS logic.
        self.open_to_all = public == ("*",)
        if "*" in issuer:
            raise ValueError("the issuer API must not be CORS-open to every origin")

        def opened(allow_headers: tuple[str, ...], exposed: tuple[str, ...]) -> _OpenPaths:
            """Paths open to ``public``: the headers of a simple answer when that is every
            origin, and Starlette's CORS logic (preflights, a listed origin)."""
            return _OpenPaths(
                (
                    (b"access-control-allow-origin", b"*"),
                    (b"access-control-expose-headers", ", ".join(exposed).encode()),
                ),
                CORSMiddleware(
                    app,
                    allow_origins=public,
                    allow_methods=("GET", "HEAD", "POST", "OPTIONS"),
                    allow_headers=allow_headers,
                    expose_headers=exposed,
                    max_age=86400,
                )
                if public
                else app,
            )

        self.open_paths = (
            (PUBLIC_CORS_PREFIXES, opened(PUBLIC_CORS_HEADERS, EXPOSED_HEADERS)),
            (
                WALLET_CORS_PREFIXES,
                opened((*PUBLIC_CORS_HEADERS, "Authorization"), WALLET_EXPOSED_HEADERS),
            ),
        )
        self.issuer: ASGIApp = (
            CORSMiddleware(
                app,
                allow_origins=issuer,
                allow_methods=("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"),
                allow_headers=(*PUBLIC_CORS_HEADERS, "Authorization", "Idempotency-Key"),
                expose_headers=EXPOSED_HEADERS,
                max_age=600,
            )
            if issuer
            else app
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            path: str = scope["path"]
            if is_issuer_path(path):
                await self.issuer(scope, receive, send)
                return
            for prefixes, opened in self.open_paths:
                if path.startswith(prefixes):
                    if self.open_to_all and scope["method"] != "OPTIONS":
                        await self._open(scope, receive, send, opened.static_headers)
                    else:
                        await opened.cors(scope, receive, send)
                    return
        await self.app(scope, receive, send)

    async def _open(
        self,
        scope: Scope,
        receive: Receive,
        send: Send,
        headers: tuple[tuple[bytes, bytes], ...],
    ) -> None:
        async def send_open(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", ()), *headers]
            await send(message)

        await self.app(scope, receive, send_open)


def response_headers(scope: MutableMapping[str, Any]) -> list[tuple[bytes, bytes]]:
    """The headers queued with :func:`add_response_header` so far."""
    return list(scope.get(RESPONSE_HEADERS_SCOPE_KEY, ()))


__all__ = [
    "DOCS_PATHS",
    "DOCS_SECURITY_HEADERS",
    "EXPOSED_HEADERS",
    "ISSUER_PREFIX",
    "OWN_ERROR_BODY_SCOPE_KEY",
    "PUBLIC_CORS_PREFIXES",
    "REQUEST_ID_HEADER",
    "WALLET_CORS_PREFIXES",
    "BodyLimitMiddleware",
    "PathCORSMiddleware",
    "RequestContextMiddleware",
    "SecurityHeadersMiddleware",
    "add_response_header",
    "is_issuer_path",
    "is_public_cors_path",
    "new_request_id",
    "no_store",
    "response_headers",
]
