"""Proofs from static tiles alone: a verifier's view of a C2SP tlog-tiles ledger.

A :class:`TileSource` fetches a path under the tiles prefix (a directory, or an HTTP base URL
through httpx). :class:`TiledLog` verifies the ``checkpoint`` with the ledger's keys, and a
:class:`TileReader` for a tree size computes every hash a proof needs from the tiles: each node
``(level, index)`` of ``orgbook.ledger.subtree`` is a tile hash (level a multiple of 8) or the
Merkle Tree Hash of 2, 4, … 128 adjacent hashes of one tile. So the RFC 9162 inclusion and
consistency proofs are exactly those the registry's database gives, and verify against the
checkpoint.

Tiles are authenticated as they are read: a full tile must hash to its hash in the tile above,
and the partial tiles of a size are exactly what its root is computed from, so once
:meth:`TiledLog.reader` has matched the root to the signed checkpoint, every hash that reader
returns is the checkpoint's. A bare :class:`TileReader` checks nothing against a checkpoint.

Fetching is behind the one-method protocol; a partial tile that is gone (pruned once its full
tile exists) is read from the full tile's prefix, as tlog-tiles allows.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Protocol

import httpx

from orgbook.core.errors import BadInput, LedgerIntegrityError, NotFound, UpstreamError
from orgbook.ledger import subtree
from orgbook.ledger.merkle import leaf_hash, root_hash
from orgbook.ledger.note import Checkpoint, NoteVerifier, open_checkpoint
from orgbook.ledger.tiles import (
    TILE_HEIGHT,
    TileId,
    decode_bundle,
    node_in_tile,
    node_tile,
    split_tile,
)

__all__ = [
    "DirectorySource",
    "HttpSource",
    "TileReader",
    "TileSource",
    "TiledLog",
    "consistency_from_tiles",
    "open_source",
]

MAX_CHECKPOINT_BYTES = 64 * 1024
MAX_TILE_BYTES = 1 << 24


class TileSource(Protocol):
    """Where tiles come from."""

    def fetch(self, path: str) -> bytes:
        """The bytes at ``path`` (e.g. ``tile/0/x001/234``); :class:`NotFound` if absent."""
        ...


class DirectorySource:
    """Tiles exported to a local directory."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root).resolve()

    def fetch(self, path: str) -> bytes:
        target = (self.root / path).resolve()
        if self.root not in target.parents:
            raise BadInput(f"path {path!r} leaves the tiles directory")
        try:
            return target.read_bytes()
        except FileNotFoundError:
            raise NotFound(f"no {path} in {self.root}") from None
        except OSError as exc:
            raise UpstreamError(f"cannot read {path}: {exc.strerror}") from exc


class HttpSource:
    """Tiles served over HTTP(S) under ``base_url`` (any static web server or CDN)."""

    def __init__(
        self,
        base_url: str,
        client: httpx.Client | None = None,
        *,
        transport: httpx.BaseTransport | None = None,
        timeout: float = 10.0,
    ) -> None:
        self.base_url = base_url.rstrip("/") + "/"
        self.client = client or httpx.Client(transport=transport, timeout=timeout)

    def fetch(self, path: str) -> bytes:
        url = self.base_url + path
        try:
            response = self.client.get(url, headers={"Accept-Encoding": "gzip, identity"})
        except httpx.HTTPError as exc:
            raise UpstreamError(f"GET {url} failed ({type(exc).__name__})") from exc
        if response.status_code == 404:
            raise NotFound(f"no {path} at {self.base_url}")
        if response.status_code != 200:
            raise UpstreamError(f"GET {url} answered {response.status_code}")
        if len(response.content) > MAX_TILE_BYTES:
            raise UpstreamError(f"GET {url} answered more than {MAX_TILE_BYTES} bytes")
        return response.content


def open_source(location: str, client: httpx.Client | None = None) -> TileSource:
    """An :class:`HttpSource` for an ``http(s)://`` URL, else a :class:`DirectorySource`."""
    if location.startswith(("http://", "https://")):
        return HttpSource(location, client)
    return DirectorySource(location)


class TileReader:
    """Hashes and entries of the tree of ``size`` leaves, read from tiles (cached)."""

    def __init__(self, source: TileSource, size: int) -> None:
        if type(size) is not int or size < 0:
            raise BadInput("a tree size is a non-negative integer")
        self.source = source
        self.size = size
        self._tiles: dict[TileId, list[bytes]] = {}
        self._nodes: dict[subtree.Node, bytes] = {}

    def tile(self, tile: TileId) -> list[bytes]:
        """A tile's hashes (a partial one from its full tile if it is gone)."""
        found = self._tiles.get(tile)
        if found is None:
            try:
                found = split_tile(self.source.fetch(tile.path()), tile)
            except NotFound:
                if tile.full:
                    raise
                # Only its prefix stands in for the partial tile, and is checked as one.
                full = tile.as_full()
                found = split_tile(self.source.fetch(full.path()), full)[: tile.width]
            if tile.full:
                self._check_full(tile, found)
            self._tiles[tile] = found
        return found

    def _check_full(self, tile: TileId, hashes: list[bytes]) -> None:
        """A full tile hashes to its hash in the tile above (partial ones feed the root)."""
        above, start, _ = node_tile(TILE_HEIGHT * (tile.level + 1), tile.index, self.size)
        if root_hash(hashes) != self.tile(above)[start]:
            raise LedgerIntegrityError(f"{tile.path()} does not hash to its parent tile's hash")

    def lookup(self, nodes: Sequence[subtree.Node]) -> Mapping[subtree.Node, bytes]:
        """``subtree.Lookup`` over tiles: each node from its tile."""
        out: dict[subtree.Node, bytes] = {}
        for node in nodes:
            found = self._nodes.get(node)
            if found is None:
                tile, start, count = node_tile(node[0], node[1], self.size)
                found = self._nodes[node] = node_in_tile(self.tile(tile), start, count)
            out[node] = found
        return out

    def root(self) -> bytes:
        if self.size == 0:
            return root_hash([])
        return subtree.assemble([(0, self.size)], self.lookup)[0]

    def inclusion_proof(self, index: int) -> list[bytes]:
        return subtree.assemble(subtree.inclusion_ranges(index, self.size), self.lookup)

    def consistency_proof(self, old_size: int) -> list[bytes]:
        return subtree.assemble(subtree.consistency_ranges(old_size, self.size), self.lookup)

    def leaf_hash(self, index: int) -> bytes:
        return self.lookup([(0, index)])[(0, index)]

    def entry(self, index: int) -> bytes:
        """Entry ``index``'s leaf bytes from its bundle, checked against the level-0 tile."""
        if not 0 <= index < self.size:
            raise BadInput(f"entry {index} is not in the tree of size {self.size}")
        n, offset = divmod(index, 256)
        available = self.size - n * 256
        bundle = TileId(-1, n, 256 if available >= 256 else available)
        try:
            data = self.source.fetch(bundle.path())
        except NotFound:
            if bundle.full:
                raise
            data = self.source.fetch(bundle.as_full().path())
        entries = decode_bundle(data)
        if len(entries) < bundle.width:
            raise LedgerIntegrityError(f"{bundle.path()} holds {len(entries)} entries")
        found = entries[offset]
        if leaf_hash(found) != self.leaf_hash(index):
            raise LedgerIntegrityError(f"entry {index} does not hash to its tile's leaf hash")
        return found


class TiledLog:
    """A tiled ledger: its verified checkpoint, and readers checked against it."""

    def __init__(
        self, source: TileSource, ledger_keys: Sequence[NoteVerifier], *, origin: str | None = None
    ) -> None:
        if not ledger_keys:
            raise BadInput("a ledger verifier key is needed to trust the tiles' checkpoint")
        self.source = source
        self.keys = tuple(ledger_keys)
        self.origin = origin
        self._checkpoint: tuple[Checkpoint, str] | None = None

    def checkpoint(self) -> tuple[Checkpoint, str]:
        """The ``checkpoint`` file, verified with the ledger keys (once)."""
        if self._checkpoint is None:
            raw = self.source.fetch("checkpoint")
            if len(raw) > MAX_CHECKPOINT_BYTES:
                raise UpstreamError("the checkpoint file is too large")
            note = raw.decode("utf-8", errors="strict")
            checkpoint, _ = open_checkpoint(note, self.keys, origin=self.origin)
            self._checkpoint = (checkpoint, note)
        return self._checkpoint

    def reader(self) -> TileReader:
        """A reader for the checkpoint's tree, whose tiles give the checkpoint's root."""
        checkpoint, _ = self.checkpoint()
        reader = TileReader(self.source, checkpoint.size)
        if reader.root() != checkpoint.root:
            raise LedgerIntegrityError(
                f"the tiles do not hash to the checkpoint's root at size {checkpoint.size}"
            )
        return reader


def consistency_from_tiles(
    source: TileSource | str, ledger_keys: Sequence[NoteVerifier], old_size: int
) -> tuple[str, list[bytes]]:
    """The tiles' checkpoint and a consistency proof to it from ``old_size``.

    What ``verify_bundle(newer_checkpoint=…, consistency_proof=…)`` takes: ``orgbook verify
    --tiles URL_OR_DIR`` checks a bundle's checkpoint against the tiles' newer one. When the
    tiles are behind the bundle (``old_size`` larger), the proof goes from the tiles' size to
    ``old_size`` and cannot be built from these tiles: :class:`NotFound`.
    """
    log = TiledLog(open_source(source) if isinstance(source, str) else source, ledger_keys)
    checkpoint, note = log.checkpoint()
    if old_size > checkpoint.size:
        raise NotFound(
            f"the tiles' checkpoint ({checkpoint.size}) is older than the bundle's ({old_size})"
        )
    return note, log.reader().consistency_proof(old_size)
