"""C2SP tlog-tiles: the ledger as static files any web server or CDN can serve.

Layout under a prefix (``tlog-tiles``):

* ``checkpoint``: the signed checkpoint (with witness cosignatures when the registry has any);
* ``tile/<L>/<N>``: a full tile, 256 hashes (8,192 bytes): hash ``i`` of tile ``N`` at level
  ``L`` is the Merkle Tree Hash of leaves ``[(N·256 + i)·256^L, (N·256 + i + 1)·256^L)`` —
  exactly the stored node ``(8·L, N·256 + i)`` of ``orgbook.ledger.subtree``;
* ``tile/<L>/<N>.p/<W>``: the partial tile of a checkpointed size, ``W`` (1–255) hashes;
* ``tile/entries/<N>[.p/<W>]``: entry bundles, each entry's leaf bytes (its RFC 8785 JSON)
  prefixed with its length as a big-endian uint16;
* ``N`` in zero-padded 3-digit path elements, all but the last prefixed ``x``
  (``1234067`` → ``x001/x234/067``).

The first part of this module is pure (paths, which tiles a size has, where a subtree hash is
found in a tile, bundle encoding). The second, :func:`export_tiles`, reads the ledger tables and
writes files: incrementally (full tiles and bundles never change, so existing ones are kept),
each file written to a temporary name and renamed, the ``checkpoint`` last, so a reader never
sees a checkpoint whose tiles are missing. Old partial tiles are kept: clients holding an older
checkpoint may still ask for them.

Must not: sign anything, or change the ledger.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Connection, select

from orgbook.core.errors import BadInput, LedgerIntegrityError, NotFound
from orgbook.ledger.merkle import leaf_hash, root_hash
from orgbook.ledger.note import Checkpoint, parse_note
from orgbook.ledger.store import Ledger, ledger_entries, ledger_nodes

__all__ = [
    "HASH_SIZE",
    "MAX_ENTRY_BYTES",
    "TILE_HEIGHT",
    "TILE_WIDTH",
    "ExportResult",
    "TileId",
    "bundle_ids",
    "decode_bundle",
    "encode_bundle",
    "encode_index",
    "export_tiles",
    "node_in_tile",
    "node_tile",
    "parse_tile_path",
    "split_tile",
    "tile_ids",
]

TILE_HEIGHT = 8
TILE_WIDTH = 1 << TILE_HEIGHT  # 256
HASH_SIZE = 32
MAX_ENTRY_BYTES = 0xFFFF  # big-endian uint16 length prefix
MAX_LEVEL = 63
ENTRIES = "entries"


# --- paths --------------------------------------------------------------------------------------


def encode_index(n: int) -> str:
    """``N`` as 3-digit path elements, all but the last prefixed ``x``: ``x001/x234/067``."""
    if type(n) is not int or n < 0:
        raise BadInput("a tile index is a non-negative integer")
    parts = [f"{n % 1000:03d}"]
    n //= 1000
    while n:
        parts.append(f"x{n % 1000:03d}")
        n //= 1000
    return "/".join(reversed(parts))


@dataclass(frozen=True, slots=True)
class TileId:
    """A tile (``level`` 0–63) or, with ``level`` ``-1``, an entry bundle; ``width`` 1–256."""

    level: int
    index: int
    width: int = TILE_WIDTH

    def __post_init__(self) -> None:
        if not -1 <= self.level <= MAX_LEVEL:
            raise BadInput("a tile level is in [0, 63]")
        if not 1 <= self.width <= TILE_WIDTH:
            raise BadInput("a tile width is in [1, 256]")
        if self.index < 0:
            raise BadInput("a tile index is non-negative")

    @property
    def is_bundle(self) -> bool:
        return self.level == -1

    @property
    def full(self) -> bool:
        return self.width == TILE_WIDTH

    def path(self) -> str:
        """``tile/<L>/<N>[.p/<W>]`` or ``tile/entries/<N>[.p/<W>]``."""
        level = ENTRIES if self.is_bundle else str(self.level)
        suffix = "" if self.full else f".p/{self.width}"
        return f"tile/{level}/{encode_index(self.index)}{suffix}"

    def as_full(self) -> TileId:
        return TileId(self.level, self.index)


_TILE_PATH = re.compile(r"tile/(entries|0|[1-9]\d?)/((?:x\d{3}/)*\d{3})(?:\.p/([1-9]\d{0,2}))?")


def parse_tile_path(path: str) -> TileId:
    """The tile a path names; :class:`BadInput` for anything that is not a tile path."""
    match = _TILE_PATH.fullmatch(path)
    if match is None:
        raise BadInput(f"not a tile path: {path!r}")
    level_text, index_text, width_text = match.groups()
    elements = index_text.split("/")
    if len(elements) > 1 and elements[0] == "x000":
        raise BadInput(f"tile index with a leading zero element: {path!r}")
    index = int("".join(e.lstrip("x") for e in elements))
    width = int(width_text) if width_text else TILE_WIDTH
    if width_text and width >= TILE_WIDTH:
        raise BadInput(f"a partial tile is 1 to 255 wide: {path!r}")
    return TileId(-1 if level_text == ENTRIES else int(level_text), index, width)


# --- which tiles a tree has ---------------------------------------------------------------------


def tile_ids(size: int) -> Iterator[TileId]:
    """Every hash tile of the tree of ``size`` leaves: full ones, then the partial, per level."""
    level = 0
    while size >> (TILE_HEIGHT * level):
        count = size >> (TILE_HEIGHT * level)  # hashes at this tile level
        for n in range(count // TILE_WIDTH):
            yield TileId(level, n)
        if count % TILE_WIDTH:
            yield TileId(level, count // TILE_WIDTH, count % TILE_WIDTH)
        level += 1


def bundle_ids(size: int) -> Iterator[TileId]:
    """Every entry bundle of the tree of ``size`` leaves."""
    for n in range(size // TILE_WIDTH):
        yield TileId(-1, n)
    if size % TILE_WIDTH:
        yield TileId(-1, size // TILE_WIDTH, size % TILE_WIDTH)


def node_tile(level: int, index: int, size: int) -> tuple[TileId, int, int]:
    """Where node ``(level, index)`` of the tree of ``size`` is computed from: a tile and range.

    Returns the tile (full or the partial of ``size``) and the hash positions ``[start,
    start + count)`` in it whose Merkle Tree Hash is the node. The node must be complete
    within ``size``.
    """
    if level < 0 or index < 0 or (index + 1) << level > size:
        raise BadInput(f"node ({level}, {index}) is not a complete subtree of a tree of {size}")
    tile_level, rest = divmod(level, TILE_HEIGHT)
    first = index << rest  # position among the hashes of this tile level
    n, start = divmod(first, TILE_WIDTH)
    available = size >> (TILE_HEIGHT * tile_level)
    width = TILE_WIDTH if (n + 1) * TILE_WIDTH <= available else available - n * TILE_WIDTH
    return TileId(tile_level, n, width), start, 1 << rest


def split_tile(data: bytes, tile: TileId) -> list[bytes]:
    """A tile's hashes; :class:`BadInput` unless it has exactly ``width`` 32-byte hashes."""
    if len(data) != tile.width * HASH_SIZE:
        raise BadInput(f"{tile.path()} is {len(data)} bytes, not {tile.width * HASH_SIZE}")
    return [data[i : i + HASH_SIZE] for i in range(0, len(data), HASH_SIZE)]


def node_in_tile(hashes: Sequence[bytes], start: int, count: int) -> bytes:
    """The Merkle Tree Hash of ``count`` (a power of two) tile hashes from ``start``."""
    if start + count > len(hashes):
        raise BadInput("the tile is too narrow for this node")
    return hashes[start] if count == 1 else root_hash(list(hashes[start : start + count]))


# --- entry bundles ------------------------------------------------------------------------------


def encode_bundle(entries: Sequence[bytes]) -> bytes:
    """Entries as big-endian uint16 length-prefixed byte strings."""
    out = bytearray()
    for data in entries:
        if len(data) > MAX_ENTRY_BYTES:
            raise BadInput(
                f"an entry of {len(data)} bytes does not fit a tlog-tiles entry bundle "
                f"(at most {MAX_ENTRY_BYTES})"
            )
        out += len(data).to_bytes(2, "big") + data
    return bytes(out)


def decode_bundle(data: bytes) -> list[bytes]:
    """The entries of a bundle; :class:`BadInput` if it is truncated."""
    entries: list[bytes] = []
    pos = 0
    while pos < len(data):
        if pos + 2 > len(data):
            raise BadInput("entry bundle truncated in a length prefix")
        length = int.from_bytes(data[pos : pos + 2], "big")
        pos += 2
        if pos + length > len(data):
            raise BadInput("entry bundle truncated in an entry")
        entries.append(bytes(data[pos : pos + length]))
        pos += length
    return entries


# --- export (reads the ledger tables, writes files) ---------------------------------------------


@dataclass(frozen=True, slots=True)
class ExportResult:
    size: int
    written: int
    kept: int


def _write_atomic(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(tmp, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def _node_hashes(conn: Connection, level: int, start: int, count: int) -> list[bytes]:
    rows = conn.execute(
        select(ledger_nodes.c.hash)
        .where(
            ledger_nodes.c.level == level,
            ledger_nodes.c.idx >= start,
            ledger_nodes.c.idx < start + count,
        )
        .order_by(ledger_nodes.c.idx)
    ).all()
    if len(rows) != count:
        raise LedgerIntegrityError(
            f"stored subtree hashes at level {level} from {start} are missing", index=start
        )
    return [bytes(r[0]) for r in rows]


def _entry_data(conn: Connection, start: int, count: int) -> list[bytes]:
    rows = conn.execute(
        select(ledger_entries.c.idx, ledger_entries.c.leaf_hash, ledger_entries.c.data)
        .where(ledger_entries.c.idx >= start, ledger_entries.c.idx < start + count)
        .order_by(ledger_entries.c.idx)
    ).all()
    if len(rows) != count:
        raise LedgerIntegrityError(f"ledger entries from {start} are missing", index=start)
    out = []
    for idx, stored_hash, data in rows:
        data = bytes(data)
        if leaf_hash(data) != bytes(stored_hash):
            raise LedgerIntegrityError(f"entry {idx}: stored leaf hash does not match", index=idx)
        out.append(data)
    return out


def export_tiles(
    conn: Connection, ledger: Ledger, out_dir: Path, *, note: str | None = None
) -> ExportResult:
    """Write the tiles, entry bundles and ``checkpoint`` of the latest signed checkpoint.

    ``note`` (default: the latest checkpoint, with stored witness cosignatures) fixes the tree
    size; its root is checked against the stored tree before anything is written.
    """
    if note is None:
        from orgbook.ledger.cosignatures import checkpoint_with_cosignatures

        note = checkpoint_with_cosignatures(conn, ledger)
    if ledger.verifiers:
        checkpoint = ledger.open_checkpoint(note)
    else:
        checkpoint = Checkpoint.parse(parse_note(note).text)
    if checkpoint.origin != ledger.origin:
        raise BadInput(f"a checkpoint of {checkpoint.origin!r}, not {ledger.origin!r}")
    size = checkpoint.size
    if size > ledger.size(conn):
        raise NotFound(f"the ledger has fewer than {size} entries")
    if ledger.root(conn, size) != checkpoint.root:
        raise LedgerIntegrityError(f"the stored tree at size {size} does not match its checkpoint")
    root = Path(out_dir)
    written = kept = 0
    for tile in tile_ids(size):
        path = root / tile.path()
        if path.exists() and path.stat().st_size == tile.width * HASH_SIZE:
            kept += 1
            continue
        level = TILE_HEIGHT * tile.level
        hashes = _node_hashes(conn, level, tile.index * TILE_WIDTH, tile.width)
        _write_atomic(path, b"".join(hashes))
        written += 1
    for bundle in bundle_ids(size):
        path = root / bundle.path()
        if path.exists():
            kept += 1
            continue
        _write_atomic(
            path, encode_bundle(_entry_data(conn, bundle.index * TILE_WIDTH, bundle.width))
        )
        written += 1
    _write_atomic(root / "checkpoint", note.encode("utf-8"))
    return ExportResult(size=size, written=written, kept=kept)
