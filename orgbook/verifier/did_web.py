"""The HTTPS adapter for ``did:web``: fetch a DID document, bounded and checked.

What it owns: one :class:`~orgbook.core.did.DidResolver` that fetches
``did_web_to_url(did)`` with an injected ``httpx.Client`` (tests pass a ``MockTransport``),
with a timeout, no redirects and a size limit, parses the body strictly and checks that the
document is the DID's own. httpx failures become :class:`UpstreamError`; a document whose ``id``
is another DID is :class:`BadInput`. DIDs of other methods are :class:`NotFound` here, so a
``ChainResolver`` can try the next resolver.
"""

from __future__ import annotations

from typing import Any

import httpx

from orgbook.core.canonical import loads_strict
from orgbook.core.did import did_web_to_url
from orgbook.core.errors import BadInput, CanonicalizationError, NotFound, UpstreamError

__all__ = ["DEFAULT_MAX_BYTES", "HttpsDidWebResolver"]

DEFAULT_MAX_BYTES = 256 * 1024
_ACCEPT = "application/did+json, application/did+ld+json;q=0.9, application/json;q=0.8"


class HttpsDidWebResolver:
    """Resolves ``did:web`` DIDs over HTTPS through ``client``."""

    __slots__ = ("_client", "_max_bytes", "_timeout")

    def __init__(
        self, client: httpx.Client, timeout: float = 5.0, max_bytes: int = DEFAULT_MAX_BYTES
    ) -> None:
        self._client = client
        self._timeout = timeout
        self._max_bytes = max_bytes

    def resolve(self, did: str) -> dict[str, Any]:
        if not isinstance(did, str) or not did.startswith("did:web:"):
            raise NotFound(f"not a did:web DID: {did!r}")
        url = did_web_to_url(did)
        body = self._fetch(url)
        try:
            document = loads_strict(body)
        except CanonicalizationError as exc:
            raise UpstreamError(f"{url} is not a JSON DID document: {exc.detail}") from exc
        if not isinstance(document, dict):
            raise UpstreamError(f"{url} is not a JSON object")
        if document.get("id") != did:
            raise BadInput(f"the DID document at {url} is for {document.get('id')!r}, not {did!r}")
        return document

    def _fetch(self, url: str) -> bytes:
        try:
            with self._client.stream(
                "GET",
                url,
                headers={"Accept": _ACCEPT},
                timeout=self._timeout,
                follow_redirects=False,
            ) as response:
                if response.status_code != 200:
                    raise UpstreamError(f"{url} answered HTTP {response.status_code}")
                declared = response.headers.get("Content-Length")
                if declared is not None and declared.isdigit() and int(declared) > self._max_bytes:
                    raise UpstreamError(f"{url} is larger than {self._max_bytes} bytes")
                chunks: list[bytes] = []
                size = 0
                for chunk in response.iter_bytes():
                    size += len(chunk)
                    if size > self._max_bytes:
                        raise UpstreamError(f"{url} is larger than {self._max_bytes} bytes")
                    chunks.append(chunk)
        except httpx.HTTPError as exc:
            raise UpstreamError(f"cannot fetch {url}: {type(exc).__name__}: {exc}") from exc
        return b"".join(chunks)
