"""The ledger API checked with nothing but the RFC 9162 and C2SP algorithms (third-party view)."""

from __future__ import annotations

import base64
import dataclasses
import hashlib
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from orgbook.app import create_app
from orgbook.ledger.merkle import verify_consistency, verify_inclusion
from orgbook.ledger.note import NoteVerifier, open_checkpoint
from orgbook.runtime.registry import Registry
from orgbook.storage.engine import reading
from orgbook.verification.bundle import parse_tlog_proof
from tests.factories import build_registry

PROBLEM = "application/problem+json"


@pytest.fixture(scope="module")
def registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Registry]:
    reg = build_registry(tmp_path_factory.mktemp("ledger-api"), 10)
    yield reg
    reg.close()


@pytest.fixture(scope="module")
def client(registry: Registry) -> Iterator[TestClient]:
    settings = dataclasses.replace(registry.settings, rate_limit_per_minute=0)
    with TestClient(create_app(settings, registry=registry)) as test_client:
        yield test_client


def checkpoint(client: TestClient) -> tuple[int, bytes, str]:
    vkey = client.get("/api/v1/ledger/key").text.strip()
    note = client.get("/api/v1/ledger/checkpoint").text
    cp, _ = open_checkpoint(note, [NoteVerifier.from_vkey(vkey)])
    return cp.size, cp.root, note


def test_checkpoint_and_key(client: TestClient, registry: Registry) -> None:
    response = client.get("/api/v1/ledger/checkpoint")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    assert response.headers["cache-control"] == "public, max-age=5"
    key = client.get("/api/v1/ledger/key")
    assert key.headers["content-type"].startswith("text/plain")
    assert key.text.strip() == registry.ledger.verifiers[0].vkey()
    size, _, _ = checkpoint(client)
    assert size > 0


def test_each_entry_is_its_leaf(client: TestClient) -> None:
    size, root, _ = checkpoint(client)
    for index in (0, size // 2, size - 1):
        response = client.get(f"/api/v1/ledger/entries/{index}")
        assert response.status_code == 200
        leaf = hashlib.sha256(b"\x00" + response.content).digest()
        assert response.headers["etag"] == f'"{leaf.hex()}"'
        assert "immutable" in response.headers["cache-control"]
        proof = client.get("/api/v1/ledger/proof/inclusion", params={"index": index}).json()
        assert proof["leafHash"] == leaf.hex()
        assert proof["treeSize"] == size
        hashes = [bytes.fromhex(h) for h in proof["proof"]]
        assert verify_inclusion(leaf, index, size, hashes, root)
        by_hash = client.get(
            "/api/v1/ledger/proof/inclusion", params={"leaf_hash": leaf.hex(), "tree_size": size}
        )
        assert by_hash.json()["proof"] == proof["proof"]
        assert "immutable" in by_hash.headers["cache-control"]


def test_tlog_proof_format(client: TestClient) -> None:
    size, root, note = checkpoint(client)
    text = client.get(
        "/api/v1/ledger/proof/inclusion", params={"index": 1, "format": "tlog-proof"}
    ).text
    index, proof, proof_note = parse_tlog_proof(text)
    assert (index, proof_note) == (1, note)
    entry = client.get("/api/v1/ledger/entries/1").content
    assert verify_inclusion(hashlib.sha256(b"\x00" + entry).digest(), 1, size, list(proof), root)
    assert base64.b64encode(root).decode() in text


def test_entries_range(client: TestClient) -> None:
    size, _, _ = checkpoint(client)
    body = client.get("/api/v1/ledger/entries", params={"start": 0, "end": 3}).json()
    assert [e["index"] for e in body["entries"]] == [0, 1, 2]
    assert body["treeSize"] == size
    assert body["entries"][0]["entry"]["kind"] == "issuer.registered"
    tail = client.get("/api/v1/ledger/entries", params={"start": size - 1, "end": size + 5})
    assert len(tail.json()["entries"]) == 1
    assert "immutable" not in tail.headers["cache-control"]
    # A range over 1000 entries is cut short (end says where), as RFC 6962 get-entries may.
    long = client.get("/api/v1/ledger/entries", params={"start": 0, "end": 5000}).json()
    assert long["end"] == 1000
    assert [e["index"] for e in long["entries"]] == list(range(min(size, 1000)))
    empty = client.get("/api/v1/ledger/entries", params={"start": 5, "end": 1}).json()
    assert (empty["start"], empty["end"], empty["entries"]) == (5, 5, [])


def test_consistency(client: TestClient, registry: Registry) -> None:
    size, root, _ = checkpoint(client)
    for old in (1, 3, size - 1, size):
        body = client.get("/api/v1/ledger/proof/consistency", params={"from": old}).json()
        assert (body["from"], body["to"]) == (old, size)
        with reading(registry.engine) as conn:
            old_root = registry.ledger.root(conn, old)
        proof = [bytes.fromhex(h) for h in body["proof"]]
        assert verify_consistency(old, size, old_root, root, proof)


@pytest.mark.parametrize(
    ("path", "params", "status"),
    [
        ("/api/v1/ledger/entries/999999", {}, 404),
        ("/api/v1/ledger/entries/-1", {}, 422),
        ("/api/v1/ledger/entries/9007199254740992", {}, 422),
        ("/api/v1/ledger/entries/abc", {}, 422),
        ("/api/v1/ledger/proof/inclusion", {}, 400),
        ("/api/v1/ledger/proof/inclusion", {"index": 1, "leaf_hash": "00" * 32}, 400),
        ("/api/v1/ledger/proof/inclusion", {"leaf_hash": "zz"}, 422),
        ("/api/v1/ledger/proof/inclusion", {"leaf_hash": "00" * 32}, 404),
        ("/api/v1/ledger/proof/inclusion", {"index": 999999}, 404),
        ("/api/v1/ledger/proof/inclusion", {"index": 1, "tree_size": 999999}, 404),
        ("/api/v1/ledger/proof/consistency", {}, 422),
        ("/api/v1/ledger/proof/consistency", {"from": 5, "to": 2}, 404),
        ("/api/v1/ledger/proof/consistency", {"from": 1, "to": 999999}, 404),
    ],
)
def test_bad_requests_are_problems(
    client: TestClient, path: str, params: dict[str, object], status: int
) -> None:
    response = client.get(path, params=params)
    assert response.status_code == status
    assert response.headers["content-type"] == PROBLEM
