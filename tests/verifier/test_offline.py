"""The offline verifier: bundles with the network switched off, and the ``--online`` flow against
the application mounted as an httpx transport (status, consistency, remembered checkpoints)."""

from __future__ import annotations

import dataclasses
import json
import socket
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from orgbook.app import create_app
from orgbook.core.errors import BadInput
from orgbook.ledger.note import Checkpoint, open_checkpoint, sign_checkpoint
from orgbook.projections.tables import credentials
from orgbook.runtime.registry import Registry
from orgbook.storage.engine import reading
from orgbook.verifier.bundles import bundle_for
from orgbook.verifier.client import RegistryClient
from orgbook.verifier.offline import (
    CheckpointMemory,
    classify,
    default_state_dir,
    format_report,
    parse_ledger_key,
    read_document,
    verify_document,
)
from tests.factories import PUBLIC_URL, build_registry


@pytest.fixture(scope="module")
def registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Registry]:
    reg = build_registry(tmp_path_factory.mktemp("offline"), 10)
    yield reg
    reg.close()


@pytest.fixture(scope="module")
def http(registry: Registry) -> Iterator[TestClient]:
    settings = dataclasses.replace(
        registry.settings, rate_limit_per_minute=0, verify_rate_limit_per_minute=0
    )
    with TestClient(create_app(settings, registry=registry), base_url=PUBLIC_URL) as client:
        yield client


def now() -> datetime:
    return datetime.now(UTC)


def a_bundle(registry: Registry, state: str = "current") -> dict[str, Any]:
    with reading(registry.engine) as conn:
        cid = conn.execute(select(credentials.c.id).where(credentials.c.state == state)).scalar()
        return bundle_for(conn, registry.ledger, str(cid))


def failed(verification: Any) -> dict[str, str]:
    return {c.name: c.reason for c in verification.report.failures}


@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("the offline verifier touched the network")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)


def test_a_bundle_verifies_with_the_network_off(registry: Registry, no_network: None) -> None:
    bundle = a_bundle(registry)
    verification = verify_document(bundle, now=now(), ledger_keys=registry.ledger.verifiers)
    assert verification.kind == "bundle"
    assert verification.report.valid, failed(verification)
    text = format_report(verification)
    assert text.splitlines()[0].startswith("✓ schema: ")
    assert "– status: " in text
    assert text.endswith("VALID bundle")


def test_a_tampered_bundle_with_the_network_off(registry: Registry, no_network: None) -> None:
    bundle = a_bundle(registry)
    bundle["credential"]["validFrom"] = "1900-01-01T00:00:00Z"
    verification = verify_document(bundle, now=now(), ledger_keys=registry.ledger.verifiers)
    assert set(failed(verification)) == {"signature", "ledger_inclusion"}
    assert format_report(verification).endswith("INVALID bundle")


def test_online_checks_status_and_consistency(
    registry: Registry, http: TestClient, tmp_path: Path
) -> None:
    memory = CheckpointMemory(tmp_path)
    online = RegistryClient(PUBLIC_URL, http)
    verification = verify_document(a_bundle(registry), online=online, memory=memory)
    assert verification.report.valid, failed(verification)
    checks = {c.name: c.outcome for c in verification.report.checks}
    assert checks["status"] == "pass"
    assert checks["consistency"] == "pass"
    assert any("taken from" in note for note in verification.notes)
    assert memory.load(registry.ledger.origin) == http.get("/api/v1/ledger/checkpoint").text


def test_online_a_superseded_credential_is_revoked(registry: Registry, http: TestClient) -> None:
    online = RegistryClient(PUBLIC_URL, http)
    verification = verify_document(
        a_bundle(registry, "superseded"),
        ledger_keys=registry.ledger.verifiers,
        online=online,
    )
    assert set(failed(verification)) == {"status"}


def test_online_a_plain_credential_goes_through_its_bundle(
    registry: Registry, http: TestClient
) -> None:
    credential = a_bundle(registry)["credential"]
    verification = verify_document(
        credential,
        ledger_keys=registry.ledger.verifiers,
        online=RegistryClient(PUBLIC_URL, http),
    )
    assert verification.kind == "credential"
    assert verification.report.valid, failed(verification)
    assert verification.report.check("ledger_inclusion") is not None


def _forged(registry: Registry, size: int, root: bytes) -> str:
    assert registry.ledger.signer is not None
    return sign_checkpoint(Checkpoint(registry.ledger.origin, size, root), [registry.ledger.signer])


def _latest(registry: Registry, http: TestClient) -> Checkpoint:
    note = http.get("/api/v1/ledger/checkpoint").text
    return open_checkpoint(note, registry.ledger.verifiers)[0]


@pytest.mark.parametrize("offset", [0, -3, 5])
def test_online_refuses_a_checkpoint_inconsistent_with_the_remembered_one(
    registry: Registry, http: TestClient, tmp_path: Path, offset: int
) -> None:
    latest = _latest(registry, http)
    memory = CheckpointMemory(tmp_path)
    # What this verifier saw before: a ledger (the same key!) that the registry now contradicts.
    seen = _forged(registry, latest.size + offset, b"\x42" * 32)
    memory.save(registry.ledger.origin, seen)
    verification = verify_document(
        a_bundle(registry),
        ledger_keys=registry.ledger.verifiers,
        online=RegistryClient(PUBLIC_URL, http),
        memory=memory,
    )
    found = failed(verification)
    assert set(found) == {"consistency"}
    assert found["consistency"].startswith("refused: the registry's checkpoint")
    assert memory.load(registry.ledger.origin) == seen  # not overwritten


def test_online_accepts_an_older_consistent_checkpoint(
    registry: Registry, http: TestClient, tmp_path: Path
) -> None:
    latest = _latest(registry, http)
    with reading(registry.engine) as conn:
        old_root = registry.ledger.root(conn, latest.size - 2)
    memory = CheckpointMemory(tmp_path)
    memory.save(registry.ledger.origin, _forged(registry, latest.size - 2, old_root))
    verification = verify_document(
        a_bundle(registry),
        ledger_keys=registry.ledger.verifiers,
        online=RegistryClient(PUBLIC_URL, http),
        memory=memory,
    )
    assert verification.report.valid, failed(verification)
    saved = memory.load(registry.ledger.origin)
    assert saved is not None
    assert open_checkpoint(saved, registry.ledger.verifiers)[0].size == latest.size


def test_online_with_a_pinned_key_that_the_registry_does_not_use(
    registry: Registry, http: TestClient
) -> None:
    from orgbook.ledger.note import NoteSigner

    other = NoteSigner.generate(registry.ledger.origin).verifier()
    verification = verify_document(
        a_bundle(registry), ledger_keys=[other], online=RegistryClient(PUBLIC_URL, http)
    )
    found = failed(verification)
    assert "checkpoint" in found
    assert "does not verify" in found["consistency"]


# --- inputs -------------------------------------------------------------------------------------


def test_read_and_classify(tmp_path: Path, registry: Registry) -> None:
    path = tmp_path / "b.json"
    path.write_text(json.dumps(a_bundle(registry)))
    assert classify(read_document(str(path))) == "bundle"
    for content in (b"not json", b"\xff", b'{"a": 1, "a": 2}'):
        path.write_bytes(content)
        with pytest.raises(BadInput):
            read_document(str(path))
    with pytest.raises(BadInput):
        read_document(str(tmp_path / "missing.json"))
    values: list[Any] = [[], {}, {"type": "Other"}, {"type": "OrgBookBundle", "version": 1}]
    for value in values:
        with pytest.raises(BadInput):
            classify(value)
    assert classify({"@context": []}) == "credential"


def test_ledger_key_argument(tmp_path: Path, registry: Registry) -> None:
    vkey = registry.ledger.verifiers[0].vkey()
    assert parse_ledger_key(vkey).vkey() == vkey
    (tmp_path / "k").write_text(vkey + "\n")
    assert parse_ledger_key(f"@{tmp_path / 'k'}").vkey() == vkey
    with pytest.raises(BadInput):
        parse_ledger_key("nonsense")
    with pytest.raises(BadInput):
        parse_ledger_key(f"@{tmp_path / 'missing'}")


def test_state_dir(tmp_path: Path) -> None:
    assert default_state_dir({"ORGBOOK_STATE_DIR": str(tmp_path)}) == tmp_path
    assert default_state_dir({}).parts[-3:] == (".local", "state", "orgbook")
    memory = CheckpointMemory(tmp_path)
    assert memory.load("a/b") is None
    memory.save("a/b", "x\n")
    memory.save("a/b", "y\n")
    assert memory.load("a/b") == "y\n"
    assert memory.load("a_b") is None  # distinct origins never share a file
