"""Every error response is RFC 9457 ``application/problem+json``; this module is how.

One handler per kind of exception, installed by :func:`install_problem_handlers`:

- :class:`~orgbook.core.errors.OrgBookError` → ``err.problem(instance=path)`` with the class's
status
  (``Retry-After`` for :class:`~orgbook.core.errors.RateLimited`);
- FastAPI's ``RequestValidationError`` → 422, ``field`` the first bad field, ``errors`` all;
- Starlette's ``HTTPException`` (unknown route 404, 405…) → the matching problem type;
- a database that cannot be reached → 503 with ``Retry-After``;
- anything else → 500 with the request id and no internal detail (logged with its traceback).

Every problem body carries ``request_id``. Domain code raises ``OrgBookError`` subclasses and
never builds responses itself.
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Iterable, Mapping, Sequence
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ConfigDict
from sqlalchemy.exc import OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import Request
from starlette.responses import Response

from orgbook.core.errors import (
    PROBLEM_BASE,
    Forbidden,
    NotFound,
    OrgBookError,
    PayloadTooLarge,
    RateLimited,
    Unauthorized,
)
from orgbook.runtime.logging import request_id_var

PROBLEM_MEDIA_TYPE = "application/problem+json"
REQUEST_ID_SCOPE_KEY = "orgbook.request_id"
HEADERS_ATTR = "http_headers"
"""An ``OrgBookError`` may carry ``http_headers: Mapping[str, str]`` to add to its response."""

log = logging.getLogger(__name__)

# Starlette HTTPException statuses that have an orgbook problem type of their own.
_STATUS_TYPES: dict[int, type[OrgBookError]] = {
    401: Unauthorized,
    403: Forbidden,
    404: NotFound,
    413: PayloadTooLarge,
    429: RateLimited,
}


class Problem(BaseModel):
    """RFC 9457 problem details (for the OpenAPI document; responses are built as dicts)."""

    model_config = ConfigDict(extra="allow")

    type: str
    title: str
    status: int
    detail: str | None = None
    instance: str | None = None
    field: str | None = None
    request_id: str | None = None


PROBLEM_RESPONSES: dict[int | str, dict[str, Any]] = {
    422: {
        "description": "Invalid request (problem+json; `field` is the first bad field)",
        "content": {PROBLEM_MEDIA_TYPE: {"schema": {"$ref": "#/components/schemas/Problem"}}},
    },
    "default": {
        "description": "Error (RFC 9457 problem+json)",
        "content": {PROBLEM_MEDIA_TYPE: {"schema": {"$ref": "#/components/schemas/Problem"}}},
    },
}
"""``responses=`` for routers: documents the problem+json error responses in OpenAPI."""


class ProblemResponse(Response):
    media_type = PROBLEM_MEDIA_TYPE

    def render(self, content: Any) -> bytes:
        return json.dumps(
            content, ensure_ascii=False, separators=(",", ":"), default=str, allow_nan=False
        ).encode("utf-8")


def request_id_of(request: Request) -> str | None:
    rid = request.scope.get(REQUEST_ID_SCOPE_KEY)
    return rid if isinstance(rid, str) else request_id_var.get()


def problem_response(
    request: Request,
    body: dict[str, Any],
    *,
    headers: Mapping[str, str] | None = None,
) -> Response:
    """A problem+json response for ``body`` (its ``status`` is the HTTP status)."""
    rid = request_id_of(request)
    if rid is not None:
        body.setdefault("request_id", rid)
    body.setdefault("instance", request.url.path)
    status = int(body["status"])
    if request.method == "HEAD" or status == 304:
        return Response(status_code=status, headers=dict(headers or {}), media_type=None)
    return ProblemResponse(body, status_code=status, headers=dict(headers or {}))


def error_response(request: Request, err: OrgBookError) -> Response:
    """The response for an ``OrgBookError``: its ``problem()``, its status, its headers."""
    headers: dict[str, str] = dict(getattr(err, HEADERS_ATTR, None) or {})
    if isinstance(err, RateLimited) and "retry-after" not in {k.lower() for k in headers}:
        retry = err.extra.get("retry_after", 1)
        seconds = math.ceil(retry) if isinstance(retry, int | float) else 1
        headers["Retry-After"] = str(max(1, seconds))
    return problem_response(request, err.problem(instance=request.url.path), headers=headers)


async def orgbook_error_handler(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, OrgBookError)
    if exc.status >= 500:
        log.error("%s", exc.diagnostics(), exc_info=exc)
    else:
        log.debug("%s", exc.diagnostics())
    return error_response(request, exc)


def _pointer(parts: Iterable[int | str]) -> str:
    return "".join("/" + str(p).replace("~", "~0").replace("/", "~1") for p in parts)


def validation_errors(errors: Sequence[Any]) -> list[dict[str, Any]]:
    """FastAPI/pydantic errors as ``{in, field, message, type}`` (inputs are never echoed)."""
    out: list[dict[str, Any]] = []
    for error in errors:
        loc = tuple(error.get("loc", ()))
        where = str(loc[0]) if loc else "body"
        rest = loc[1:]
        if error.get("type") == "json_invalid":
            position = rest[0] if rest else None
            reason = (error.get("ctx") or {}).get("error", "invalid JSON")
            out.append(
                {
                    "in": "body",
                    "field": "",
                    "message": f"JSON decode error: {reason} (at character {position})",
                    "type": "json_invalid",
                }
            )
            continue
        if where == "body":
            field = _pointer(rest)
        else:
            field = (str(rest[0]) + _pointer(rest[1:])) if rest else where
        out.append(
            {
                "in": where,
                "field": field,
                "message": str(error.get("msg", "")),
                "type": str(error.get("type", "")),
            }
        )
    return out


async def validation_error_handler(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    errors = validation_errors(exc.errors())
    first = errors[0] if errors else {"in": "body", "field": "", "message": "invalid request"}
    where = f"{first['in']} {first['field']}".strip() if first["field"] else first["in"]
    body: dict[str, Any] = {
        "type": PROBLEM_BASE + "invalid-request",
        "title": "Invalid request",
        "status": 422,
        "detail": f"{where}: {first['message']}"
        + (f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""),
        "field": first["field"] or first["in"],
        "errors": errors,
    }
    return problem_response(request, body)


def status_problem(status: int, detail: str | None = None) -> dict[str, Any]:
    """The problem body for a bare HTTP status (orgbook's type for it where there is one)."""
    phrase = _phrase(status)
    known = _STATUS_TYPES.get(status)
    if known is not None:
        return known(detail or phrase).problem()
    slug = phrase.lower().replace(" ", "-").replace("'", "")
    return {
        "type": PROBLEM_BASE + slug,
        "title": phrase,
        "status": status,
        "detail": detail or phrase,
    }


async def http_exception_handler(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    status = exc.status_code
    phrase = _phrase(status)
    if status == 404 and exc.detail == phrase:
        detail = f"No resource at {request.url.path}"
    elif status == 405 and exc.detail == phrase:
        detail = f"{request.method} is not allowed on {request.url.path}"
    else:
        detail = str(exc.detail)
    headers = dict(exc.headers or {})
    if status == 405:
        allowed = allowed_methods(request)
        if allowed:
            headers["Allow"] = ", ".join(allowed)
    return problem_response(request, status_problem(status, detail), headers=headers)


def allowed_methods(request: Request) -> list[str]:
    """Every method some route serves at this request's path, sorted.

    Starlette's 405 names the methods of the first route whose path matched, but a path can be
    served by several routes (``GET`` and ``POST /api/v1/issuer/api-keys``): RFC 9110 §15.5.6
    wants them all in ``Allow``.
    """
    from starlette.routing import Match

    # Each method is asked of the routes as the router would (included routers answer for
    # theirs), which needs no knowledge of how a FastAPI version stores them.
    methods: set[str] = set()
    routes = list(getattr(request.app, "routes", ()))
    for method in _METHODS:
        scope = {**request.scope, "method": method}
        if any(route.matches(scope)[0] is Match.FULL for route in routes):
            methods.add(method)
    return sorted(methods)


_METHODS = ("DELETE", "GET", "HEAD", "PATCH", "POST", "PUT")


async def database_unavailable_handler(request: Request, exc: Exception) -> Response:
    log.error("database unavailable: %s", type(exc).__name__, exc_info=exc)
    body = {
        "type": PROBLEM_BASE + "unavailable",
        "title": "Service unavailable",
        "status": 503,
        "detail": "The database is unavailable; retry later.",
    }
    return problem_response(request, body, headers={"Retry-After": "5"})


def internal_error_body(request_id: str | None) -> dict[str, Any]:
    body: dict[str, Any] = {
        "type": PROBLEM_BASE + "internal",
        "title": "Internal error",
        "status": 500,
        "detail": "An unexpected error occurred. Quote the request id when reporting it.",
    }
    if request_id is not None:
        body["request_id"] = request_id
    return body


async def unhandled_exception_handler(request: Request, exc: Exception) -> Response:
    log.error("unhandled %s", type(exc).__name__, exc_info=exc)
    return problem_response(request, internal_error_body(request_id_of(request)))


def _phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


def install_problem_handlers(app: FastAPI) -> None:
    """Register the handlers (and the ``Problem`` schema) on ``app``."""
    app.add_exception_handler(OrgBookError, orgbook_error_handler)
    app.add_exception_handler(RequestValidationError, validation_error_handler)
    app.add_exception_handler(StarletteHTTPException, http_exception_handler)
    app.add_exception_handler(OperationalError, database_unavailable_handler)
    app.add_exception_handler(PoolTimeoutError, database_unavailable_handler)
    app.add_exception_handler(Exception, unhandled_exception_handler)


__all__ = [
    "PROBLEM_MEDIA_TYPE",
    "PROBLEM_RESPONSES",
    "Problem",
    "ProblemResponse",
    "allowed_methods",
    "error_response",
    "install_problem_handlers",
    "internal_error_body",
    "problem_response",
    "request_id_of",
    "status_problem",
    "validation_errors",
]
