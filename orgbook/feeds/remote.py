"""Where ``orgbook export verify`` gets inclusion proofs when it has no database.

* :class:`RegistryProofs` asks a registry (``--online URL``) for one RFC 9162 inclusion proof per
  credential. A registry that answers 429 is waited for as its ``Retry-After`` says — a bounded
  number of retries per request and a bounded total wait — and when it still refuses, the
  credential is *unchecked*, never invalid: :class:`RateLimited` tells
  :class:`~orgbook.feeds.export_verify.OnlineProofs` to stop asking.
* :class:`TileProofs` reads the proofs from a static tile export (``--tiles URL_OR_DIR``, as
  ``orgbook ledger tiles export`` writes it; :mod:`orgbook.verifier.tiles_client`). The tiles'
  checkpoint is verified with the ledger's keys and must be consistent with the export's (same
  size, or newer with an RFC 9162 consistency proof); each credential's leaf is then proven
  under the tiles' checkpoint, which proves it under the export's.

What it must not do: decide what an export holds (:mod:`orgbook.feeds.export`). Time (``sleep``,
``clock``) and the HTTP client are parameters, so tests need neither real waiting nor sockets.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

import httpx

from orgbook.core.canonical import loads_strict
from orgbook.core.errors import NotFound, OrgBookError, RateLimited, UpstreamError
from orgbook.feeds.export_verify import ExportVerification, OnlineProofs
from orgbook.ledger.merkle import verify_consistency
from orgbook.ledger.note import NoteVerifier
from orgbook.verifier.tiles_client import TiledLog, TileSource

__all__ = ["MAX_RETRIES", "MAX_WAIT", "RegistryProofs", "TileProofs", "retry_after_seconds"]

MAX_RETRIES = 5
"""Retries of one request the registry rate-limited."""
MAX_WAIT = 120.0
"""Seconds of waiting on the registry's rate limit, in total for one verification."""
MAX_PROOF_BYTES = 64 * 1024


def retry_after_seconds(value: str | None, *, now: datetime) -> float | None:
    """RFC 9110 ``Retry-After``: delta-seconds or an HTTP-date; ``None`` when absent or not one."""
    if value is None:
        return None
    text = value.strip()
    if text.isdigit():
        return float(int(text))
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - now).total_seconds())


class RegistryProofs:
    """``fetch(index, size) -> proof`` from ``GET {base}/api/v1/ledger/proof/inclusion``.

    On 429 it sleeps ``Retry-After`` seconds (1, 2, 4… when the header is missing) and tries
    again, at most ``max_retries`` times per request and ``max_wait`` seconds in all; past that,
    :class:`RateLimited`. Other failures: :class:`NotFound` (404), :class:`UpstreamError`.
    """

    def __init__(
        self,
        base_url: str,
        client: httpx.Client,
        *,
        max_retries: int = MAX_RETRIES,
        max_wait: float = MAX_WAIT,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        timeout: float = 30.0,
    ) -> None:
        self.url = base_url.rstrip("/") + "/api/v1/ledger/proof/inclusion"
        self.client = client
        self.max_retries = max_retries
        self.waited = 0.0
        self.max_wait = max_wait
        self.sleep = sleep
        self.clock = clock
        self.timeout = timeout
        self.retries = 0
        """Requests repeated after a 429, over this source's life."""

    def __call__(self, index: int, size: int) -> list[bytes]:
        params = {"index": index, "tree_size": size}
        for attempt in range(self.max_retries + 1):
            try:
                response = self.client.get(
                    self.url,
                    params=params,
                    headers={"Accept": "application/json"},
                    timeout=self.timeout,
                    follow_redirects=False,
                )
            except httpx.HTTPError as exc:
                raise UpstreamError(f"cannot fetch {self.url}: {type(exc).__name__}") from exc
            if response.status_code != 429:
                return self._proof(response)
            stated = retry_after_seconds(response.headers.get("Retry-After"), now=self.clock())
            wait = float(2**attempt) if stated is None else stated
            if attempt == self.max_retries or self.waited + wait > self.max_wait:
                raise RateLimited(
                    f"the registry is rate-limiting proof requests (429, Retry-After "
                    f"{math.ceil(wait)} s) beyond the {self.max_wait:g} s this verification "
                    f"waits (--max-wait)",
                    retry_after=wait,
                )
            self.sleep(wait)
            self.waited += wait
            self.retries += 1
        raise AssertionError("unreachable")  # pragma: no cover - the loop returns or raises

    def _proof(self, response: httpx.Response) -> list[bytes]:
        if response.status_code == 404:
            raise NotFound(f"{self.url} answered 404")
        if response.status_code != 200:
            raise UpstreamError(f"{self.url} answered HTTP {response.status_code}")
        if len(response.content) > MAX_PROOF_BYTES:
            raise UpstreamError(f"{self.url} answered more than {MAX_PROOF_BYTES} bytes")
        try:
            body = loads_strict(response.content)
            proof = body["proof"]
            if not isinstance(proof, list):
                raise TypeError("proof is not a list")
            return [bytes.fromhex(item) for item in proof]
        except (OrgBookError, KeyError, TypeError, ValueError) as exc:
            raise UpstreamError(f"{self.url} did not answer an inclusion proof") from exc


class TileProofs:
    """Inclusion proofs from a static tile export, trusted through the ledger's keys."""

    def __init__(self, source: TileSource, ledger_keys: Sequence[NoteVerifier]) -> None:
        self.source = source
        self.keys = tuple(ledger_keys)

    def check(
        self, expected: dict[int, bytes], size: int, root: bytes, report: ExportVerification
    ) -> None:
        log = TiledLog(self.source, self.keys)
        # 1. The tiles' checkpoint, signed by the ledger's key, and tiles that hash to its root.
        try:
            tiles_checkpoint, _ = log.checkpoint()
            reader = log.reader()
        except OrgBookError as exc:
            report.skip(len(expected), f"the tile export is not usable ({exc.detail})")
            return
        new_size, new_root = tiles_checkpoint.size, tiles_checkpoint.root
        if new_size < size:
            report.skip(
                len(expected),
                f"the tile export's checkpoint ({new_size}) is older than the export's ({size}): "
                "export the tiles again",
            )
            return
        # 2. The export's tree is a prefix of the tiles' tree.
        try:
            consistency = reader.consistency_proof(size) if size < new_size else []
        except OrgBookError as exc:
            report.skip(len(expected), f"no consistency proof from the tiles ({exc.detail})")
            return
        if not verify_consistency(size, new_size, root, new_root, consistency):
            report.fail(
                f"the export's checkpoint (size {size}) is not consistent with the tile "
                f"export's (size {new_size}): the ledger's key signed two histories"
            )
            return
        # 3. Each credential's leaf under the tiles' checkpoint, so under the export's: the
        #    same per-entry check as proofs fetched from the registry.
        OnlineProofs(lambda index, _size: reader.inclusion_proof(index)).check(
            expected, new_size, new_root, report
        )
