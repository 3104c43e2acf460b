"""The HTTP side of the offline verifier: a live registry (``--online``) and HTTPS fetches.

What it owns: :class:`RegistryClient`, the few reads ``orgbook verify --online URL`` makes of a
registry (its ledger key, latest checkpoint, consistency proofs, bundles, status lists, issuer
DID documents), and :func:`fetch_json` for status lists named by credentials of other issuers.
Every fetch is bounded (time, size, no redirects) and parsed strictly; httpx failures become
:class:`~orgbook.core.errors.UpstreamError`. The ``httpx.Client`` is injected, so tests mount the
ASGI
application as its transport.

What it must not do: decide whether anything verifies (``orgbook.verification``).
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import quote, urlsplit

import httpx

from orgbook.core.canonical import loads_strict
from orgbook.core.errors import NotFound, OrgBookError, UpstreamError

__all__ = ["MAX_BYTES", "RegistryClient", "fetch_bytes", "fetch_json"]

MAX_BYTES = 4 * 1024 * 1024
_STATUS_PATH = re.compile(r"/issuers/[a-z0-9-]{1,64}/status/(revocation|suspension)/\d{1,9}$")
_ISSUER_DID = re.compile(r"^did:web:[^:]+(?::[^:]+)*:issuers:([a-z0-9-]{1,64})$")


def fetch_bytes(
    client: httpx.Client,
    url: str,
    *,
    params: dict[str, Any] | None = None,
    accept: str = "application/json",
    timeout: float = 10.0,
    max_bytes: int = MAX_BYTES,
) -> bytes:
    """GET ``url``; :class:`NotFound` on 404, :class:`UpstreamError` on anything else but 200."""
    try:
        with client.stream(
            "GET",
            url,
            params=params,
            headers={"Accept": accept},
            timeout=timeout,
            follow_redirects=False,
        ) as response:
            if response.status_code == 404:
                raise NotFound(f"{url} answered 404")
            if response.status_code != 200:
                raise UpstreamError(f"{url} answered HTTP {response.status_code}")
            chunks: list[bytes] = []
            size = 0
            for chunk in response.iter_bytes():
                size += len(chunk)
                if size > max_bytes:
                    raise UpstreamError(f"{url} is larger than {max_bytes} bytes")
                chunks.append(chunk)
    except httpx.HTTPError as exc:
        raise UpstreamError(f"cannot fetch {url}: {type(exc).__name__}: {exc}") from exc
    return b"".join(chunks)


def fetch_json(client: httpx.Client, url: str, **kwargs: Any) -> Any:
    """GET and strictly parse JSON; a body that is not JSON is :class:`UpstreamError`."""
    body = fetch_bytes(client, url, **kwargs)
    try:
        return loads_strict(body)
    except OrgBookError as exc:
        raise UpstreamError(f"{url} did not answer JSON: {exc.detail}") from exc


class RegistryClient:
    """Reads of one orgbook registry at ``base_url`` (e.g. ``https://orgbook.example``)."""

    __slots__ = ("base_url", "client")

    def __init__(self, base_url: str, client: httpx.Client) -> None:
        parts = urlsplit(base_url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            from orgbook.core.errors import BadInput

            raise BadInput(f"--online needs an http(s) URL, not {base_url!r}", field="online")
        self.base_url = base_url.rstrip("/")
        self.client = client

    def _url(self, path: str) -> str:
        return self.base_url + path

    def _text(self, path: str, **params: Any) -> str:
        body = fetch_bytes(self.client, self._url(path), params=params or None, accept="text/plain")
        try:
            return body.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise UpstreamError(f"{path} is not UTF-8 text") from exc

    def ledger_key(self) -> str:
        return self._text("/api/v1/ledger/key").strip()

    def checkpoint(self) -> str:
        return self._text("/api/v1/ledger/checkpoint")

    def consistency_proof(self, old_size: int, new_size: int) -> list[bytes]:
        body = fetch_json(
            self.client,
            self._url("/api/v1/ledger/proof/consistency"),
            params={"from": old_size, "to": new_size},
        )
        proof = body.get("proof") if isinstance(body, dict) else None
        if not isinstance(proof, list) or not all(
            isinstance(h, str) and re.fullmatch(r"[0-9a-f]{64}", h) for h in proof
        ):
            raise UpstreamError("the consistency proof is not a list of hex hashes")
        return [bytes.fromhex(h) for h in proof]

    def bundle(self, credential_id: str) -> dict[str, Any] | None:
        """The registry's bundle for ``credential_id``, or None if it did not issue it."""
        path = "/api/v1/credentials/" + quote(credential_id, safe=":") + "/bundle"
        try:
            body = fetch_json(self.client, self._url(path))
        except NotFound:
            return None
        if not isinstance(body, dict):
            raise UpstreamError("the bundle is not a JSON object")
        return body

    def status_list(self, url: str) -> dict[str, Any]:
        """A status list credential: this registry's lists are read from ``base_url`` whatever
        public host their URL names; others are fetched from their URL (HTTPS only)."""
        parts = urlsplit(url)
        if url.startswith(self.base_url + "/") or _STATUS_PATH.search(parts.path):
            target = self._url(parts.path)
        elif parts.scheme == "https":
            target = url
        else:
            raise UpstreamError(f"status list {url} is not an https URL")
        body = fetch_json(self.client, target)
        if not isinstance(body, dict):
            raise UpstreamError(f"status list {url} is not a JSON object")
        return body

    def resolve(self, did: str) -> dict[str, Any]:
        """A :class:`~orgbook.core.did.DidResolver` for this registry's own issuers' DIDs."""
        match = _ISSUER_DID.match(did) if isinstance(did, str) else None
        if match is None:
            raise NotFound(f"{did!r} is not an issuer DID of this registry")
        body = fetch_json(self.client, self._url(f"/issuers/{match.group(1)}/did.json"))
        if not isinstance(body, dict) or body.get("id") != did:
            raise NotFound(f"the registry does not hold the DID document of {did!r}")
        return body
