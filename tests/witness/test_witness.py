"""The witness over HTTP against real ledgers: cosigns growth, refuses forks, keeps evidence."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from orgbook.ledger.note import (
    CosignatureSigner,
    NoteSigner,
    add_signatures,
    parse_note,
    verify_cosignatures,
)
from orgbook.witness.core import (
    TLOG_SIZE_MEDIA_TYPE,
    origin_hash,
    parse_add_checkpoint,
    require_witnesses,
)
from orgbook.witness.server import create_witness_app
from orgbook.witness.store import Cosigned, WitnessStore, load_or_create_witness_key
from tests.witness.helpers import NOW, ORIGIN, TestLog, log_signer, witness_signer


@pytest.fixture
def signer() -> NoteSigner:
    return log_signer()


@pytest.fixture
def log(tmp_path: Path, signer: NoteSigner) -> Iterator[TestLog]:
    ledger = TestLog(tmp_path / "log.sqlite3", signer)
    yield ledger
    ledger.close()


@pytest.fixture
def fork(tmp_path: Path, signer: NoteSigner) -> Iterator[TestLog]:
    """Same key, same origin, different entries: what a registry showing a split view holds."""
    ledger = TestLog(tmp_path / "fork.sqlite3", signer, tag="fork")
    yield ledger
    ledger.close()


@pytest.fixture
def store(tmp_path: Path, signer: NoteSigner) -> Iterator[WitnessStore]:
    witness_store = WitnessStore.open(tmp_path / "witness")
    witness_store.add_log(ORIGIN, [signer.verifier()])
    yield witness_store
    witness_store.close()


@pytest.fixture
def wsigner() -> CosignatureSigner:
    return witness_signer()


@pytest.fixture
def client(store: WitnessStore, wsigner: CosignatureSigner) -> Iterator[TestClient]:
    with TestClient(create_witness_app(store, wsigner)) as http:
        yield http


def cosign(client: TestClient, log: TestLog, old: int) -> str:
    response = client.post("/add-checkpoint", content=log.request(old).encode())
    assert response.status_code == 200, response.text
    assert response.text.startswith("\u2014 witness.test/w1 ")
    with log.engine.connect() as conn:
        note = log.ledger.latest_checkpoint(conn)
    assert note is not None
    return add_signatures(note, parse_note("x\n\n" + response.text).signatures)


def test_cosigns_a_growing_ledger(
    client: TestClient, log: TestLog, wsigner: CosignatureSigner, store: WitnessStore
) -> None:
    old = 0
    for step in (1, 3, 250, 7, 1000):
        log.grow(step)
        cosigned = cosign(client, log, old)
        assert set(verify_cosignatures(cosigned, [wsigner.verifier()])) == {"witness.test/w1"}
        old = log.size
    latest = store.latest(ORIGIN)
    assert latest is not None
    assert latest.size == log.size
    # The same checkpoint again is cosigned again (old size = size, same root).
    cosign(client, log, old)
    served = client.get(f"/checkpoints/{origin_hash(ORIGIN)}")
    assert served.status_code == 200
    assert verify_cosignatures(served.text, [wsigner.verifier()])
    assert client.get("/checkpoints").json()[0]["size"] == log.size
    assert client.get("/key").text.strip() == wsigner.vkey()
    assert client.get("/refusals").json() == []


def test_stale_old_size_is_409_with_the_known_size(client: TestClient, log: TestLog) -> None:
    log.grow(10)
    cosign(client, log, 0)
    log.grow(5)
    response = client.post("/add-checkpoint", content=log.request(0).encode())
    assert response.status_code == 409
    assert response.headers["content-type"].startswith(TLOG_SIZE_MEDIA_TYPE)
    assert response.text == "10\n"
    assert client.get("/refusals").json() == []  # a stale client proves nothing


def test_fork_of_the_same_size_is_refused_with_evidence(
    client: TestClient, log: TestLog, fork: TestLog
) -> None:
    log.grow(20)
    cosign(client, log, 0)
    fork_note = fork.grow(20)
    response = client.post("/add-checkpoint", content=fork.request(20).encode())
    assert response.status_code == 409
    assert response.text == "20\n"
    (refusal,) = client.get("/refusals").json()
    assert refusal["kind"] == "fork"
    assert refusal["presented"] == fork_note
    assert refusal["known"].split("\n")[1] == "20"
    assert refusal["known"] != refusal["presented"]


def test_larger_fork_fails_the_consistency_proof_and_is_kept(
    client: TestClient, log: TestLog, fork: TestLog
) -> None:
    log.grow(20)
    cosign(client, log, 0)
    fork.grow(50)  # same key, rewritten history
    response = client.post("/add-checkpoint", content=fork.request(20).encode())
    assert response.status_code == 422
    (refusal,) = client.get("/refusals").json()
    assert refusal["kind"] == "inconsistent"
    assert refusal["old_size"] == 20
    assert refusal["proof"]
    # The honest ledger still gets cosigned afterwards.
    log.grow(30)
    cosign(client, log, 20)


def test_smaller_fork_at_a_cosigned_size_is_refused(
    client: TestClient, log: TestLog, fork: TestLog
) -> None:
    log.grow(8)
    cosign(client, log, 0)
    log.grow(8)
    cosign(client, log, 8)
    fork.grow(8)  # a different tree at a size the witness cosigned before
    response = client.post("/add-checkpoint", content=fork.request(0).encode())
    assert response.status_code == 409
    assert response.text == "16\n"
    assert [r["kind"] for r in client.get("/refusals").json()] == ["fork"]


def test_unknown_log_bad_signature_bad_proof(
    client: TestClient, log: TestLog, tmp_path: Path
) -> None:
    log.grow(10)
    cosign(client, log, 0)
    log.grow(10)
    # Another origin: 404.
    other = TestLog(tmp_path / "other.sqlite3", NoteSigner.generate("other.test/ledger"))
    other.grow(3)
    assert client.post("/add-checkpoint", content=other.request(0).encode()).status_code == 404
    other.close()
    # The right origin signed by an unknown key: 403.
    impostor = TestLog(tmp_path / "impostor.sqlite3", log_signer())
    impostor.grow(3)
    response = client.post("/add-checkpoint", content=impostor.request(0).encode())
    assert response.status_code == 403
    impostor.close()
    # A tampered proof: 422.
    body = log.request(10).split("\n")
    body[1] = "A" * 43 + "="
    assert client.post("/add-checkpoint", content="\n".join(body).encode()).status_code == 422
    # Malformed: 400. Old size beyond the checkpoint: 400.
    assert client.post("/add-checkpoint", content=b"old x\n\nnope").status_code == 400
    assert client.post("/add-checkpoint", content=log.request(99).encode()).status_code == 400
    # Only the signed checkpoint with a failing proof is kept: the witness cannot tell a
    # corrupt proof from a fork, and the log signed it (tlog-witness: it MAY log it).
    assert [r["kind"] for r in client.get("/refusals").json()] == ["inconsistent"]
    cosign(client, log, 10)


def test_restart_keeps_state(tmp_path: Path, log: TestLog, signer: NoteSigner) -> None:
    passphrase = b"witness test passphrase"
    data = tmp_path / "w"
    first = load_or_create_witness_key(data, "witness.test/w2", passphrase)
    store = WitnessStore.open(data)
    store.add_log(ORIGIN, [signer.verifier()])
    log.grow(12)
    with TestClient(create_witness_app(store, first)) as http:
        assert http.post("/add-checkpoint", content=log.request(0).encode()).status_code == 200
    store.close()

    again = load_or_create_witness_key(data, None, passphrase)
    assert again.vkey() == first.vkey()
    assert (data / "witness.key").stat().st_mode & 0o777 == 0o600
    assert b"PRIVATE KEY" in (data / "witness.key").read_bytes()
    store = WitnessStore.open(data)
    log.grow(3)
    with TestClient(create_witness_app(store, again)) as http:
        stale = http.post("/add-checkpoint", content=log.request(0).encode())
        assert stale.status_code == 409
        assert stale.text == "12\n"
        assert http.post("/add-checkpoint", content=log.request(12).encode()).status_code == 200
    store.close()


def test_k_of_n_witnesses(tmp_path: Path, log: TestLog, signer: NoteSigner) -> None:
    log.grow(5)
    signers = [witness_signer(f"witness.test/w{i}") for i in range(3)]
    lines = []
    for i, wsigner in enumerate(signers[:2]):
        store = WitnessStore.open(tmp_path / f"w{i}")
        store.add_log(ORIGIN, [signer.verifier()])
        outcome = store.submit(
            parse_add_checkpoint(log.request(0)),
            wsigner,
            now=NOW + timedelta(seconds=i),
        )
        assert isinstance(outcome, Cosigned)
        lines.append(outcome.line)
        store.close()
    with log.engine.connect() as conn:
        note = log.ledger.latest_checkpoint(conn)
    assert note is not None
    cosigned = add_signatures(note, [parse_note("x\n\n" + ln).signatures[0] for ln in lines])
    verifiers = [s.verifier() for s in signers]
    assert require_witnesses(cosigned, verifiers, 2).outcome == "pass"
    assert require_witnesses(cosigned, verifiers, 3).outcome == "fail"
    assert require_witnesses(note, verifiers, 1).outcome == "fail"
    assert require_witnesses(cosigned, verifiers[2:], 1).outcome == "fail"
    assert require_witnesses(cosigned, verifiers, 0).name == "witnesses"
    # A tampered cosignature does not count.
    tampered = cosigned.replace(lines[0].split(" ")[-1][:10], "A" * 10)
    assert require_witnesses(tampered, verifiers, 2).outcome == "fail"
