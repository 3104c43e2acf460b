"""The registry's side: a witness polls it, pushes its cosignature, verifiers see it served."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from orgbook.app import create_app
from orgbook.core.errors import ConfigurationError
from orgbook.ledger.cosignatures import checkpoint_with_cosignatures, configured_witnesses
from orgbook.ledger.note import CosignatureSigner, NoteSigner, add_signatures, verify_cosignatures
from orgbook.ledger.store import Ledger
from orgbook.runtime.registry import Registry
from orgbook.storage.engine import make_engine, reading
from orgbook.storage.migrations import upgrade
from orgbook.witness.core import require_witnesses
from orgbook.witness.poller import poll_all
from orgbook.witness.server import cosigned_note
from orgbook.witness.store import WitnessStore
from tests.factories import PUBLIC_URL, new_registry
from tests.witness.helpers import NOW, witness_signer


def grow(registry: Registry, n: int) -> str:
    with registry.engine.begin() as conn:
        registry.ledger.append_many(conn, [("test.entry", {"n": i}) for i in range(n)], now=NOW)
        return registry.ledger.sign_checkpoint(conn, now=NOW)


@pytest.fixture
def wsigner() -> CosignatureSigner:
    return witness_signer()


@pytest.fixture
def registry(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, wsigner: CosignatureSigner
) -> Iterator[Registry]:
    monkeypatch.setenv("ORGBOOK_WITNESSES", wsigner.vkey())
    reg = new_registry(tmp_path)
    yield reg
    reg.close()


@pytest.fixture
def http(registry: Registry) -> Iterator[TestClient]:
    with TestClient(create_app(registry=registry), base_url=PUBLIC_URL) as client:
        yield client


@pytest.fixture
def store(tmp_path: Path, registry: Registry) -> Iterator[WitnessStore]:
    witness = WitnessStore.open(tmp_path / "witness")
    witness.add_log(registry.ledger.origin, registry.ledger.verifiers, PUBLIC_URL)
    yield witness
    witness.close()


def test_poll_cosign_push_and_serve(
    registry: Registry, http: TestClient, store: WitnessStore, wsigner: CosignatureSigner
) -> None:
    grow(registry, 10)
    (result,) = poll_all(store, wsigner, http, now=NOW)
    assert (result.outcome, result.size, result.pushed) == ("cosigned", 10, True)
    served = http.get("/api/v1/ledger/checkpoint").text
    assert verify_cosignatures(served, [wsigner.verifier()]) == {wsigner.name: int(NOW.timestamp())}
    assert require_witnesses(served, [wsigner.verifier()], 1).passed
    with reading(registry.engine) as conn:
        assert checkpoint_with_cosignatures(conn, registry.ledger) == served

    (again,) = poll_all(store, wsigner, http, now=NOW)
    assert again.outcome == "unchanged"
    grow(registry, 300)
    (grown,) = poll_all(store, wsigner, http, now=NOW)
    assert (grown.outcome, grown.size) == ("cosigned", 310)
    served = http.get("/api/v1/ledger/checkpoint").text
    assert served.split("\n")[1] == "310"
    assert require_witnesses(served, [wsigner.verifier()], 1).passed


def test_push_is_verified(
    registry: Registry, http: TestClient, store: WitnessStore, wsigner: CosignatureSigner
) -> None:
    note = grow(registry, 4)
    (result,) = poll_all(store, wsigner, http, push=False, now=NOW)
    latest = store.latest(registry.ledger.origin)
    assert latest is not None
    # An unknown witness's cosignature is refused.
    stranger = witness_signer("witness.test/stranger")
    foreign = add_signatures(note, [stranger.cosign(note.split("\n\n")[0] + "\n", 1)])
    response = http.post("/api/v1/ledger/cosignatures", content=foreign.encode())
    assert response.status_code == 422
    # A cosignature on a checkpoint this registry never signed: 404; on another tree: 409.
    fork = NoteSigner(registry.ledger.origin, registry.ledger.signer.signer)  # type: ignore[union-attr]
    engine = make_engine(f"sqlite:///{registry.settings.data_dir / 'fork.sqlite3'}")
    upgrade(engine)
    fork_ledger = Ledger(origin=registry.ledger.origin, signer=fork)
    with engine.begin() as conn:
        fork_ledger.append_many(conn, [("test.fork", {"n": i}) for i in range(4)], now=NOW)
        fork_note = fork_ledger.sign_checkpoint(conn, now=NOW)
        fork_ledger.append(conn, "test.fork", {"n": 9}, now=NOW)
        bigger = fork_ledger.sign_checkpoint(conn, now=NOW)
    engine.dispose()
    for other, status in ((fork_note, 409), (bigger, 404)):
        body = add_signatures(other, [wsigner.cosign(other.split("\n\n")[0] + "\n", 5)])
        assert http.post("/api/v1/ledger/cosignatures", content=body.encode()).status_code == (
            status
        )
    # The real one is kept.
    good = cosigned_note(latest.note, latest.cosignature)
    response = http.post("/api/v1/ledger/cosignatures", content=good.encode())
    assert response.status_code == 200
    assert response.json() == {"size": 4, "stored": [wsigner.name]}
    assert result.outcome == "cosigned"


def test_witness_sees_a_forked_registry(
    tmp_path: Path,
    registry: Registry,
    http: TestClient,
    store: WitnessStore,
    wsigner: CosignatureSigner,
) -> None:
    grow(registry, 6)
    poll_all(store, wsigner, http, now=NOW)
    # The same registry URL now serves a ledger with the same key but another history.
    engine = make_engine(f"sqlite:///{tmp_path / 'fork.sqlite3'}")
    upgrade(engine)
    ledger = Ledger(origin=registry.ledger.origin, signer=registry.ledger.signer)
    with engine.begin() as conn:
        ledger.append_many(conn, [("test.fork", {"n": i}) for i in range(9)], now=NOW)
        ledger.sign_checkpoint(conn, now=NOW)
    forked = Registry(settings=registry.settings, engine=engine, ledger=ledger, passphrase=None)
    with TestClient(create_app(registry=forked), base_url=PUBLIC_URL) as fork_http:
        (result,) = poll_all(store, wsigner, fork_http, now=NOW)
    engine.dispose()
    assert result.outcome == "refused"
    (refusal,) = store.refusals()
    assert refusal.kind == "inconsistent"
    assert refusal.known_note.split("\n")[1] == "6"
    assert refusal.presented_note.split("\n")[1] == "9"
    latest = store.latest(registry.ledger.origin)
    assert latest is not None
    assert latest.size == 6


def test_witness_keys_from_the_environment(wsigner: CosignatureSigner) -> None:
    assert configured_witnesses({}) == ()
    two = witness_signer("witness.test/w2")
    env = {"ORGBOOK_WITNESSES": f" {wsigner.vkey()} ,{two.vkey()},"}
    assert [w.name for w in configured_witnesses(env)] == [wsigner.name, two.name]
    with pytest.raises(ConfigurationError):
        configured_witnesses({"ORGBOOK_WITNESSES": "nope"})
