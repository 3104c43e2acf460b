"""HTTP caching for what orgbook serves: immutable things forever, changing things briefly.

Ledger entries, proofs for a fixed tree size, credentials and bundles never change once they
exist: a strong ``ETag`` (a hash of the bytes sent) and
``Cache-Control: public, max-age=31536000, immutable``. Checkpoints and status lists change: a
short ``max-age`` (or ``no-cache``: store, but revalidate). ``If-None-Match`` is answered with
304 and no body. This module neither reads nor writes storage.
"""

from __future__ import annotations

import hashlib
from typing import Any

import orjson
from pydantic import BaseModel
from starlette.requests import Request
from starlette.responses import Response

IMMUTABLE = "public, max-age=31536000, immutable"
REVALIDATE = "no-cache"


def etag_for(body: bytes) -> str:
    """A strong entity tag: the first 128 bits of SHA-256 of the bytes, quoted."""
    return '"' + hashlib.sha256(body).hexdigest()[:32] + '"'


def cache_control(*, immutable: bool, max_age: int = 0) -> str:
    if immutable:
        return IMMUTABLE
    if max_age > 0:
        return f"public, max-age={max_age}"
    return REVALIDATE


def _opaque(tag: str) -> str:
    tag = tag.strip()
    return tag[2:] if tag.startswith("W/") else tag


def not_modified(request: Request, etag: str) -> bool:
    """True when ``If-None-Match`` matches ``etag`` (weak comparison, as RFC 9110 §13.1.2 says)."""
    if request.method not in ("GET", "HEAD"):
        return False
    header = request.headers.get("if-none-match")
    if not header:
        return False
    if header.strip() == "*":
        return True
    mine = _opaque(etag)
    return any(_opaque(candidate) == mine for candidate in header.split(","))


def asset_response(request: Request, body: bytes, media_type: str, etag: str) -> Response:
    """A static asset: immutable when the URL carries its version (``?v=…``), else revalidated
    on each use; ``304`` when the client holds it already."""
    headers = {
        "ETag": etag,
        "Cache-Control": IMMUTABLE if "v" in request.query_params else "no-cache",
    }
    if not_modified(request, etag):
        return Response(status_code=304, headers=headers)
    return Response(body, media_type=media_type, headers=headers)


def to_json_bytes(obj: Any) -> bytes:
    """Wire JSON (not the canonical form that gets signed): compact, UTF-8, ``Z`` datetimes."""
    if isinstance(obj, BaseModel):
        return obj.model_dump_json().encode("utf-8")
    return orjson.dumps(obj, option=orjson.OPT_UTC_Z)


def cached_json(
    request: Request,
    body: bytes | Any,
    *,
    immutable: bool,
    max_age: int = 0,
    media_type: str = "application/json",
    etag: str | None = None,
    headers: dict[str, str] | None = None,
) -> Response:
    """A response for ``body`` (bytes as given, anything else as JSON) with validators.

    ``etag`` may be passed when the caller already knows a hash of the content (e.g. a leaf
    hash); it must change whenever the bytes do.
    """
    content = body if isinstance(body, bytes) else to_json_bytes(body)
    tag = etag or etag_for(content)
    out_headers = {
        "ETag": tag,
        "Cache-Control": cache_control(immutable=immutable, max_age=max_age),
    }
    if headers:
        out_headers.update(headers)
    if not_modified(request, tag):
        return Response(status_code=304, headers=out_headers)
    if request.method == "HEAD":
        out_headers["Content-Length"] = str(len(content))
        return Response(status_code=200, headers=out_headers, media_type=media_type)
    return Response(content, status_code=200, headers=out_headers, media_type=media_type)


__all__ = [
    "IMMUTABLE",
    "REVALIDATE",
    "cache_control",
    "cached_json",
    "etag_for",
    "not_modified",
    "to_json_bytes",
]
