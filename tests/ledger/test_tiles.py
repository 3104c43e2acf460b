"""C2SP tlog-tiles: paths, export, and proofs from tiles equal to the database's proofs."""

from __future__ import annotations

import random
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import Engine

from orgbook.cli import main
from orgbook.core.errors import BadInput, LedgerIntegrityError, NotFound, VerificationError
from orgbook.ledger.merkle import leaf_hash, verify_consistency, verify_inclusion
from orgbook.ledger.note import Checkpoint, NoteSigner, parse_note
from orgbook.ledger.store import Ledger
from orgbook.ledger.tiles import (
    ExportResult,
    TileId,
    bundle_ids,
    decode_bundle,
    encode_bundle,
    encode_index,
    export_tiles,
    parse_tile_path,
    tile_ids,
)
from orgbook.storage.engine import make_engine, reading
from orgbook.storage.migrations import upgrade
from orgbook.verifier.tiles_client import (
    DirectorySource,
    HttpSource,
    TiledLog,
    TileReader,
    consistency_from_tiles,
)
from tests.conftest import FIXED_NOW

ORIGIN = "registry.test/ledger"

# --- pure ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("n", "path"),
    [(0, "000"), (7, "007"), (999, "999"), (1000, "x001/000"), (1234067, "x001/x234/067")],
)
def test_index_encoding(n: int, path: str) -> None:
    assert encode_index(n) == path
    assert parse_tile_path(f"tile/0/{path}") == TileId(0, n)


def test_paths_round_trip() -> None:
    for tile in (TileId(0, 5), TileId(3, 1234067, 17), TileId(-1, 1000, 255), TileId(-1, 2)):
        assert parse_tile_path(tile.path()) == tile
    assert TileId(-1, 1000, 255).path() == "tile/entries/x001/000.p/255"
    assert TileId(2, 0, 1).path() == "tile/2/000.p/1"
    for bad in ("tile/0/1", "tile/0/x000/001", "tile/64/000", "tile/0/000.p/256", "tile/0/000.p/0"):
        with pytest.raises(BadInput):
            parse_tile_path(bad)


def test_tiles_of_the_spec_examples() -> None:
    tiles = list(tile_ids(70_000))
    by_level = {level: [t for t in tiles if t.level == level] for level in (0, 1, 2)}
    assert len(tiles) == 273 + 1 + 1 + 1 + 1
    assert sum(t.full for t in by_level[0]) == 273
    assert [t.width for t in by_level[0] if not t.full] == [112]
    assert [(t.index, t.width) for t in by_level[1]] == [(0, 256), (1, 17)]
    assert [(t.index, t.width) for t in by_level[2]] == [(0, 1)]
    assert list(tile_ids(256)) == [TileId(0, 0), TileId(1, 0, 1)]
    assert list(tile_ids(0)) == []
    assert list(bundle_ids(513)) == [TileId(-1, 0), TileId(-1, 1), TileId(-1, 2, 1)]


def test_bundles() -> None:
    entries = [b"", b"a", b"x" * 65535, "é".encode()]
    assert decode_bundle(encode_bundle(entries)) == entries
    assert encode_bundle([b"ab"]) == b"\x00\x02ab"
    with pytest.raises(BadInput):
        encode_bundle([b"x" * 65536])
    with pytest.raises(BadInput):
        decode_bundle(b"\x00\x05abc")


# --- ledgers ------------------------------------------------------------------------------------


@pytest.fixture
def signer() -> NoteSigner:
    return NoteSigner.generate(ORIGIN)


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    eng = make_engine(f"sqlite:///{tmp_path / 'ledger.sqlite3'}")
    upgrade(eng)
    yield eng
    eng.dispose()


def grow(engine: Engine, ledger: Ledger, to: int) -> str:
    with engine.begin() as conn:
        size = ledger.size(conn)
        while size < to:
            batch = min(5000, to - size)
            ledger.append_many(
                conn, [("test.entry", {"n": size + i}) for i in range(batch)], now=FIXED_NOW
            )
            size += batch
        return ledger.sign_checkpoint(conn, now=FIXED_NOW)


def export(engine: Engine, ledger: Ledger, out: Path) -> ExportResult:
    with reading(engine) as conn:
        return export_tiles(conn, ledger, out)


def assert_proofs_match(
    engine: Engine,
    ledger: Ledger,
    reader: TileReader,
    indices: list[int],
    old_sizes: list[int],
) -> None:
    size = reader.size
    with reading(engine) as conn:
        root = ledger.root(conn, size)
        assert reader.root() == root
        for index in indices:
            proof = reader.inclusion_proof(index)
            assert proof == ledger.inclusion_proof(conn, index, size), index
            assert verify_inclusion(reader.leaf_hash(index), index, size, proof, root)
        for old in old_sizes:
            proof = reader.consistency_proof(old)
            assert proof == ledger.consistency_proof(conn, old, size), old
            assert verify_consistency(old, size, ledger.root(conn, old), root, proof)


def test_export_1000_incremental_every_proof(
    engine: Engine, signer: NoteSigner, tmp_path: Path
) -> None:
    ledger = Ledger(origin=ORIGIN, signer=signer)
    out = tmp_path / "tiles"
    results = []
    sizes = [1, 255, 256, 257, 511, 513, 1000]
    for size in sizes:
        note = grow(engine, ledger, size)
        result = export(engine, ledger, out)
        results.append(result)
        assert result.size == size
        assert (out / "checkpoint").read_text() == note
    # Incremental: later exports keep what earlier ones wrote.
    assert results[-1].kept > 0
    assert results[2].written == 3  # full tile 0, partial level-1 tile, full bundle 0
    assert (out / "tile/0/000").stat().st_size == 8192
    assert (out / "tile/0/003.p/232").stat().st_size == 232 * 32
    assert (out / "tile/1/000.p/3").stat().st_size == 3 * 32
    assert (out / "tile/0/000.p/255").exists()  # an old checkpoint's partial tile is kept
    again = export(engine, ledger, out)
    assert again.written == 0

    source = DirectorySource(out)
    for size in sizes:
        reader = TileReader(source, size)
        step = 1 if size in (257, 1000) else 5
        every = list(range(0, size, step))
        assert_proofs_match(engine, ledger, reader, every, [*every, size])
    # Entries come back from the bundles byte for byte.
    reader = TileReader(source, 1000)
    with reading(engine) as conn:
        for index in (0, 255, 256, 999):
            data = reader.entry(index)
            assert data == ledger.entry(conn, index).data
            assert leaf_hash(data) == reader.leaf_hash(index)


@pytest.mark.slow
def test_export_70000_levels_1_and_2(engine: Engine, signer: NoteSigner, tmp_path: Path) -> None:
    ledger = Ledger(origin=ORIGIN, signer=signer)
    out = tmp_path / "tiles"
    grow(engine, ledger, 65_536)
    export(engine, ledger, out)
    grow(engine, ledger, 70_000)
    result = export(engine, ledger, out)
    assert result.size == 70_000
    assert (out / "tile/2/000.p/1").stat().st_size == 32
    assert (out / "tile/1/000").stat().st_size == 8192
    assert (out / "tile/1/001.p/17").stat().st_size == 17 * 32
    assert (out / "tile/0/273.p/112").stat().st_size == 112 * 32
    assert (out / "tile/entries/273.p/112").exists()
    rng = random.Random(7)
    edges = [0, 1, 255, 256, 65_535, 65_536, 69_887, 69_888, 69_999]
    indices = edges + rng.sample(range(70_000), 150)
    olds = [0, 1, 256, 4096, 65_535, 65_536, 65_537, 69_999, 70_000, *rng.sample(range(70_000), 60)]
    log = TiledLog(DirectorySource(out), [signer.verifier()])
    assert_proofs_match(engine, ledger, log.reader(), indices, olds)
    # The older checkpoint (a power of 256 squared) still reads from its own tiles.
    assert_proofs_match(
        engine, ledger, TileReader(DirectorySource(out), 65_536), edges[:5], [0, 1, 65_536]
    )


def test_http_source_partial_fallback_and_tampering(
    engine: Engine, signer: NoteSigner, tmp_path: Path
) -> None:
    ledger = Ledger(origin=ORIGIN, signer=signer)
    out = tmp_path / "tiles"
    grow(engine, ledger, 300)
    export(engine, ledger, out)
    grow(engine, ledger, 600)
    export(engine, ledger, out)
    requested: list[str] = []

    def serve(request: httpx.Request) -> httpx.Response:
        path = request.url.path.removeprefix("/log/")
        requested.append(path)
        file = out / path
        if not file.is_file():
            return httpx.Response(404)
        return httpx.Response(200, content=file.read_bytes())

    source = HttpSource("https://tiles.test/log", transport=httpx.MockTransport(serve))
    log = TiledLog(source, [signer.verifier()], origin=ORIGIN)
    checkpoint, _ = log.checkpoint()
    assert checkpoint.size == 600
    assert_proofs_match(engine, ledger, log.reader(), [0, 299, 300, 599], [0, 1, 300, 599, 600])
    assert "tile/0/002.p/88" in requested

    # A pruned partial tile of the older size is read from the full tile.
    (out / "tile/0/001.p/44").unlink()
    assert_proofs_match(engine, ledger, TileReader(source, 300), [299], [0, 1, 299, 300])

    # The tiles' checkpoint gives a consistency proof for an older bundle checkpoint.
    newer, proof = consistency_from_tiles(str(out), [signer.verifier()], 300)
    with reading(engine) as conn:
        assert verify_consistency(300, 600, ledger.root(conn, 300), ledger.root(conn, 600), proof)
    assert Checkpoint.parse(parse_note(newer).text).size == 600
    with pytest.raises(NotFound):
        consistency_from_tiles(str(out), [signer.verifier()], 601)

    # A tampered tile no longer gives the checkpoint's root.
    tile = out / "tile/0/000"
    data = bytearray(tile.read_bytes())
    data[0] ^= 1
    tile.write_bytes(bytes(data))
    reader = TiledLog(DirectorySource(out), [signer.verifier()]).reader()  # root: level 1 and up
    with pytest.raises(LedgerIntegrityError):
        reader.inclusion_proof(3)  # needs the tampered tile, which its parent hash refutes
    (out / "tile/1/000.p/2").write_bytes(bytes(64))
    with pytest.raises(LedgerIntegrityError):
        TiledLog(DirectorySource(out), [signer.verifier()]).reader()
    # A checkpoint signed by another key is refused.
    with pytest.raises(VerificationError):
        TiledLog(DirectorySource(out), [NoteSigner.generate(ORIGIN).verifier()]).checkpoint()
    with pytest.raises(BadInput):
        DirectorySource(out).fetch("../ledger.sqlite3")


def test_cli_export(engine: Engine, signer: NoteSigner, tmp_path: Path) -> None:
    ledger = Ledger(origin=ORIGIN, signer=signer)
    grow(engine, ledger, 40)
    out = tmp_path / "served"
    url = str(engine.url)
    args = ["ledger", "tiles", "export", "--db", url, "--data-dir", str(tmp_path / "d")]
    assert main([*args, "--out", str(out), "--vkey", signer.vkey()]) == 0
    assert (out / "tile/0/000.p/40").exists()
    assert (out / "tile/entries/000.p/40").exists()
    log = TiledLog(DirectorySource(out), [signer.verifier()])
    assert log.reader().size == 40
