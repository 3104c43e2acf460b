"""The witness's poller against a registry that misbehaves: an older checkpoint (stale, or a
fork: refused with evidence), answers that are not proofs, errors, a push that fails, a log
without a URL. The registry is served over httpx's transport seam from a real ledger."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from orgbook.ledger.note import CosignatureSigner, NoteSigner
from orgbook.witness.core import LogConfig
from orgbook.witness.poller import poll_all, poll_log
from orgbook.witness.store import WitnessStore
from tests.witness.helpers import ORIGIN, TestLog, log_signer, witness_signer

URL = "http://registry.test"


class Registry:
    """The registry's ledger endpoints over a real ledger, with switches for misbehaviour."""

    def __init__(self, log: TestLog) -> None:
        self.log = log
        self.note: str | None = None  # serve this checkpoint instead of the latest
        self.proof: Any = None  # serve this body instead of the real consistency proof
        self.checkpoint_status = 200
        self.push_fails = False
        self.pushed: list[str] = []

    def handle(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path
        if path == "/api/v1/ledger/checkpoint":
            if self.checkpoint_status != 200:
                return httpx.Response(self.checkpoint_status)
            with self.log.engine.connect() as conn:
                latest = self.log.ledger.latest_checkpoint(conn)
            return httpx.Response(200, text=self.note or latest)
        if path == "/api/v1/ledger/proof/consistency":
            if self.proof is not None:
                return httpx.Response(200, json=self.proof)
            old, new = int(request.url.params["from"]), int(request.url.params["to"])
            with self.log.engine.connect() as conn:
                proof = self.log.ledger.consistency_proof(conn, old, new)
            return httpx.Response(200, json={"proof": [h.hex() for h in proof]})
        if path == "/api/v1/ledger/cosignatures" and request.method == "POST":
            if self.push_fails:
                raise httpx.ConnectError("registry down", request=request)
            self.pushed.append(request.content.decode())
            return httpx.Response(200, json={"size": 0, "stored": []})
        return httpx.Response(404)


@pytest.fixture
def signer() -> NoteSigner:
    return log_signer()


@pytest.fixture
def log(tmp_path: Path, signer: NoteSigner) -> Iterator[TestLog]:
    ledger = TestLog(tmp_path / "log.sqlite3", signer)
    yield ledger
    ledger.close()


@pytest.fixture
def registry(log: TestLog) -> Registry:
    return Registry(log)


@pytest.fixture
def client(registry: Registry) -> Iterator[httpx.Client]:
    with httpx.Client(transport=httpx.MockTransport(registry.handle)) as http:
        yield http


@pytest.fixture
def store(tmp_path: Path, signer: NoteSigner) -> Iterator[WitnessStore]:
    witness_store = WitnessStore.open(tmp_path / "witness")
    witness_store.add_log(ORIGIN, [signer.verifier()], URL)
    yield witness_store
    witness_store.close()


@pytest.fixture
def wsigner() -> CosignatureSigner:
    return witness_signer()


def _poll(store: WitnessStore, wsigner: CosignatureSigner, client: httpx.Client) -> Any:
    (result,) = poll_all(store, wsigner, client)
    return result


def test_cosigns_pushes_and_then_finds_nothing_new(
    store: WitnessStore, wsigner: CosignatureSigner, client: httpx.Client, log: TestLog,
    registry: Registry,
) -> None:  # fmt: skip
    log.grow(3)
    first = _poll(store, wsigner, client)
    assert (first.outcome, first.size, first.pushed) == ("cosigned", 3, True)
    assert len(registry.pushed) == 1
    assert "\u2014 witness.test/w1 " in registry.pushed[0]
    again = _poll(store, wsigner, client)
    assert (again.outcome, again.size, again.pushed) == ("unchanged", 3, True)


def test_a_push_that_fails_is_reported_not_raised(
    store: WitnessStore, wsigner: CosignatureSigner, client: httpx.Client, log: TestLog,
    registry: Registry,
) -> None:  # fmt: skip
    log.grow(2)
    registry.push_fails = True
    result = _poll(store, wsigner, client)
    assert (result.outcome, result.size, result.pushed) == ("cosigned", 2, False)


def test_an_older_checkpoint_of_the_same_ledger_is_stale(
    store: WitnessStore, wsigner: CosignatureSigner, client: httpx.Client, log: TestLog,
    registry: Registry,
) -> None:  # fmt: skip
    older = log.grow(3)
    log.grow(2)
    assert _poll(store, wsigner, client).size == 5
    registry.note = older
    result = _poll(store, wsigner, client)
    assert (result.outcome, result.size, result.detail) == ("stale", 3, "an older checkpoint")
    assert store.refusals(ORIGIN) == []


def test_an_older_checkpoint_of_a_fork_is_refused_with_evidence(
    store: WitnessStore, wsigner: CosignatureSigner, client: httpx.Client, log: TestLog,
    registry: Registry, tmp_path: Path, signer: NoteSigner,
) -> None:  # fmt: skip
    log.grow(5)
    assert _poll(store, wsigner, client).size == 5
    fork = TestLog(tmp_path / "fork.sqlite3", signer, tag="fork")
    try:
        registry.note = fork.grow(3)
    finally:
        fork.close()
    result = _poll(store, wsigner, client)
    assert (result.outcome, result.size) == ("refused", 3)
    (evidence,) = store.refusals(ORIGIN)
    assert evidence.reason == result.detail


@pytest.mark.parametrize(
    ("body", "detail"),
    [
        ({"proof": "00"}, "the registry's consistency proof is not a list of hex hashes"),
        ([1, 2], "the registry's consistency proof is not a list of hex hashes"),
        ({"proof": ["zz"]}, "the registry's consistency proof is not hex"),
    ],
)
def test_a_consistency_proof_that_is_not_one_is_an_error(
    store: WitnessStore, wsigner: CosignatureSigner, client: httpx.Client, log: TestLog,
    registry: Registry, body: Any, detail: str,
) -> None:  # fmt: skip
    log.grow(2)
    assert _poll(store, wsigner, client).outcome == "cosigned"
    log.grow(2)
    registry.proof = body
    result = _poll(store, wsigner, client)
    assert (result.outcome, result.detail) == ("error", detail)


def test_a_registry_answering_an_error_status_is_an_error(
    store: WitnessStore, wsigner: CosignatureSigner, client: httpx.Client, log: TestLog,
    registry: Registry,
) -> None:  # fmt: skip
    log.grow(1)
    registry.checkpoint_status = 503
    result = _poll(store, wsigner, client)
    assert result.outcome == "error"
    assert result.detail == f"GET {URL}/api/v1/ledger/checkpoint answered 503"


def test_a_log_without_a_url_is_not_polled(
    store: WitnessStore, wsigner: CosignatureSigner, client: httpx.Client, signer: NoteSigner
) -> None:
    result = poll_log(store, wsigner, LogConfig(ORIGIN, (signer.verifier(),)), client)
    assert (result.outcome, result.detail) == ("error", "no URL configured for this log")
