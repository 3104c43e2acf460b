"""The API documentation pages, served offline: Swagger UI at ``/docs``, ReDoc at ``/redoc``.

What it owns: the two HTML pages and their assets under ``/docs/assets/…`` — Swagger UI's and
ReDoc's JavaScript and CSS taken from the installed ``fastapi-offline`` package (it ships the
upstream distribution builds: ``swagger-ui-bundle.js``, ``swagger-ui.css``,
``redoc.standalone.js``), and orgbook's own start-up scripts (``http/docs_assets/``), so the
pages load nothing from another origin and work without internet. The pages hold no inline
script: the Content-Security-Policy :mod:`orgbook.http.middleware` gives them allows scripts
from this origin only.

What it must not do: build the OpenAPI document (``orgbook.app`` does), or serve anything but
these pages and their assets.
"""

from __future__ import annotations

import functools
import importlib.resources
from collections.abc import Callable
from html import escape
from pathlib import Path

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

from orgbook.core.datafiles import data_path
from orgbook.http.caching import asset_response, etag_for
from orgbook.http.routing import PooledRoute

__all__ = ["ASSET_PREFIX", "DOCS_URL", "REDOC_URL", "docs_assets", "routes"]

DOCS_URL = "/docs"
REDOC_URL = "/redoc"
ASSET_PREFIX = "/docs/assets/"
_UPSTREAM = ("swagger-ui-bundle.js", "swagger-ui.css", "redoc.standalone.js", "favicon.png")
_OWN = ("swagger-init.js", "redoc-init.js", "docs.css")
_MEDIA = {
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".png": "image/png",
}


def _upstream_dir() -> Path:
    return Path(str(importlib.resources.files("fastapi_offline"))) / "static"


def docs_assets() -> dict[str, tuple[bytes, str, str]]:
    """Every asset by name: (body, media type, strong ETag)."""
    files = [_upstream_dir() / name for name in _UPSTREAM]
    files += [data_path("http", "docs_assets", name) for name in _OWN]
    table: dict[str, tuple[bytes, str, str]] = {}
    for path in files:
        body = path.read_bytes()
        table[path.name] = (body, _MEDIA[path.suffix], etag_for(body))
    return table


def _page(title: str, head: str, body: str, asset: Callable[[str], str]) -> str:
    return (
        '<!doctype html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{escape(title)}</title>\n"
        f'<link rel="icon" type="image/png" href="{asset("favicon.png")}">\n'
        f'<link rel="stylesheet" href="{asset("docs.css")}">\n{head}</head>\n'
        f"<body>\n{body}</body>\n</html>\n"
    )


routes = APIRouter(route_class=PooledRoute, include_in_schema=False)
"""``/docs``, ``/redoc`` and ``/docs/assets/{name}`` (not in the OpenAPI document)."""


@functools.cache
def _assets() -> dict[str, tuple[bytes, str, str]]:
    return docs_assets()


def _asset_url(name: str) -> str:
    return f"{ASSET_PREFIX}{name}?v={_assets()[name][2].strip(chr(34))[:12]}"


@functools.cache
def _pages(title: str, openapi_url: str) -> tuple[str, str]:
    """The Swagger UI and ReDoc pages of an application (its title and OpenAPI URL)."""
    url = escape(openapi_url, quote=True)
    swagger = _page(
        f"{title} API — Swagger UI",
        f'<link rel="stylesheet" href="{_asset_url("swagger-ui.css")}">\n',
        f'<div id="swagger-ui" data-openapi-url="{url}"></div>\n'
        f'<script src="{_asset_url("swagger-ui-bundle.js")}"></script>\n'
        f'<script src="{_asset_url("swagger-init.js")}"></script>\n',
        _asset_url,
    )
    redoc = _page(
        f"{title} API — ReDoc",
        "",
        f'<div id="redoc" data-openapi-url="{url}"></div>\n'
        f'<script src="{_asset_url("redoc.standalone.js")}"></script>\n'
        f'<script src="{_asset_url("redoc-init.js")}"></script>\n',
        _asset_url,
    )
    return swagger, redoc


def _pages_of(request: Request) -> tuple[str, str]:
    app = request.app
    return _pages(str(app.title), str(app.openapi_url or "/openapi.json"))


@routes.get(DOCS_URL, response_class=HTMLResponse)
def swagger_ui(request: Request) -> HTMLResponse:
    return HTMLResponse(_pages_of(request)[0], headers={"Cache-Control": "no-cache"})


@routes.get(REDOC_URL, response_class=HTMLResponse)
def redoc_page(request: Request) -> HTMLResponse:
    return HTMLResponse(_pages_of(request)[1], headers={"Cache-Control": "no-cache"})


@routes.get(ASSET_PREFIX + "{name}", response_class=Response)
def docs_asset(request: Request, name: str) -> Response:
    found = _assets().get(name)
    if found is None:
        return Response(status_code=404)
    return asset_response(request, *found)
