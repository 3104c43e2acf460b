"""``orgbook verify`` exit codes and output; ``--online`` against a live uvicorn server."""

from __future__ import annotations

import dataclasses
import json
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import uvicorn
from sqlalchemy import select

from orgbook.app import create_app
from orgbook.cli import build_parser, main
from orgbook.ledger.note import Checkpoint, sign_checkpoint
from orgbook.projections.tables import credentials
from orgbook.runtime.registry import Registry
from orgbook.storage.engine import reading
from orgbook.verifier.bundles import bundle_for
from orgbook.verifier.offline import CheckpointMemory
from tests.factories import build_registry


@pytest.fixture(scope="module")
def registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Registry]:
    reg = build_registry(tmp_path_factory.mktemp("cli"), 8)
    yield reg
    reg.close()


@pytest.fixture
def files(tmp_path: Path, registry: Registry) -> dict[str, Path]:
    with reading(registry.engine) as conn:
        cid = conn.execute(
            select(credentials.c.id).where(credentials.c.state == "current")
        ).scalar()
        bundle = bundle_for(conn, registry.ledger, str(cid))
    paths = {
        "bundle": tmp_path / "bundle.json",
        "tampered": tmp_path / "tampered.json",
        "credential": tmp_path / "credential.json",
        "junk": tmp_path / "junk.json",
        "array": tmp_path / "array.json",
        "key": tmp_path / "ledger.vkey",
    }
    paths["bundle"].write_text(json.dumps(bundle))
    tampered = json.loads(json.dumps(bundle))
    tampered["entry"]["timestamp"] = "2001-01-01T00:00:00.000000Z"
    paths["tampered"].write_text(json.dumps(tampered))
    paths["credential"].write_text(json.dumps(bundle["credential"]))
    paths["junk"].write_text("{not json")
    paths["array"].write_text("[1, 2, 3]")
    paths["key"].write_text(registry.ledger.verifiers[0].vkey() + "\n")
    return paths


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(["verify", *argv])
    out = capsys.readouterr()
    return code, out.out, out.err


def test_valid_bundle_exits_0(capsys: pytest.CaptureFixture[str], files: dict[str, Path]) -> None:
    code, out, _ = run(capsys, str(files["bundle"]), "--ledger-key", f"@{files['key']}")
    assert code == 0
    assert out.strip().endswith("VALID bundle")
    assert "✓ ledger_inclusion: " in out


def test_json_output(capsys: pytest.CaptureFixture[str], files: dict[str, Path]) -> None:
    vkey = files["key"].read_text().strip()
    code, out, _ = run(capsys, str(files["bundle"]), "--ledger-key", vkey, "--json")
    assert code == 0
    body = json.loads(out)
    assert body["valid"] is True
    assert body["kind"] == "bundle"
    assert {c["name"] for c in body["checks"]} >= {"signature", "checkpoint"}


def test_invalid_exits_1(capsys: pytest.CaptureFixture[str], files: dict[str, Path]) -> None:
    code, out, _ = run(capsys, str(files["tampered"]), "--ledger-key", f"@{files['key']}")
    assert code == 1
    assert "✗ ledger_inclusion: " in out
    assert out.strip().endswith("INVALID bundle")


def test_a_bundle_without_a_ledger_key_says_what_is_missing(
    capsys: pytest.CaptureFixture[str], files: dict[str, Path]
) -> None:
    """Not five failed checks and INVALID: the input is incomplete (exit 2), and how to fix it."""
    for flags in ([], ["--json"]):
        code, out, err = run(capsys, str(files["bundle"]), *flags)
        assert code == 2
        assert out == ""
        assert "INVALID" not in err
        assert "--ledger-key" in err
        assert "GET /api/v1/ledger/key" in err
        assert "--online URL" in err


@pytest.mark.parametrize("name", ["junk", "array", "missing"])
def test_unusable_input_exits_2(
    capsys: pytest.CaptureFixture[str], files: dict[str, Path], name: str
) -> None:
    path = files.get(name, files["bundle"].parent / "missing.json")
    code, out, err = run(capsys, str(path), "--ledger-key", f"@{files['key']}")
    assert code == 2
    assert out == ""
    assert err.startswith("orgbook verify: Bad input")


def test_bad_flags_exit_2(capsys: pytest.CaptureFixture[str], files: dict[str, Path]) -> None:
    assert run(capsys, str(files["bundle"]), "--ledger-key", "nonsense")[0] == 2
    assert run(capsys, str(files["bundle"]), "--witness", "nonsense")[0] == 2
    assert run(capsys, str(files["bundle"]), "--min-witnesses", "-1")[0] == 2


def test_serve_is_registered() -> None:
    args = build_parser().parse_args(["serve", "--port", "8123", "--db", "sqlite:///x.db"])
    assert (args.host, args.port, args.db) == ("127.0.0.1", 8123, "sqlite:///x.db")


# --- --online against a live server -------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.fixture(scope="module")
def server(registry: Registry) -> Iterator[str]:
    settings = dataclasses.replace(
        registry.settings, rate_limit_per_minute=0, verify_rate_limit_per_minute=0
    )
    port = _free_port()
    config = uvicorn.Config(
        create_app(settings, registry=registry),
        host="127.0.0.1",
        port=port,
        log_level="warning",
        access_log=False,
    )
    live = uvicorn.Server(config)
    thread = threading.Thread(target=live.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not live.started:
        if time.monotonic() > deadline:
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.02)
    yield f"http://127.0.0.1:{port}"
    live.should_exit = True
    thread.join(timeout=10)


@pytest.mark.integration
def test_online_against_a_live_server(
    capsys: pytest.CaptureFixture[str],
    files: dict[str, Path],
    server: str,
    registry: Registry,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("ORGBOOK_STATE_DIR", str(tmp_path / "state"))
    key = f"@{files['key']}"
    code, out, err = run(capsys, str(files["bundle"]), "--ledger-key", key, "--online", server)
    assert code == 0, out + err
    assert "✓ status: " in out
    assert "✓ consistency: " in out
    # A plain credential is verified through its bundle.
    code, out, _ = run(capsys, str(files["credential"]), "--ledger-key", key, "--online", server)
    assert code == 0, out
    assert "verified through the registry's bundle" in out

    # The verifier once saw a different history under the same key: refuse the registry.
    memory = CheckpointMemory(tmp_path / "state")
    assert memory.load(registry.ledger.origin) is not None
    assert registry.ledger.signer is not None
    with reading(registry.engine) as conn:
        size = registry.ledger.size(conn)
    forged = sign_checkpoint(
        Checkpoint(registry.ledger.origin, size, b"\x13" * 32), [registry.ledger.signer]
    )
    memory.save(registry.ledger.origin, forged)
    code, out, _ = run(capsys, str(files["bundle"]), "--ledger-key", key, "--online", server)
    assert code == 1
    assert "✗ consistency: refused: the registry's checkpoint" in out


@pytest.mark.integration
def test_online_registry_down_exits_1(
    capsys: pytest.CaptureFixture[str],
    files: dict[str, Path],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    monkeypatch.setenv("ORGBOOK_STATE_DIR", str(tmp_path))
    url = f"http://127.0.0.1:{_free_port()}"
    code, _, err = run(capsys, str(files["bundle"]), "--online", url)
    assert code == 1
    assert "Upstream failure" in err


def test_cli_output_mentions_every_check(
    capsys: pytest.CaptureFixture[str], files: dict[str, Path]
) -> None:
    code, out, _ = run(capsys, str(files["bundle"]), "--ledger-key", f"@{files['key']}")
    lines = out.splitlines()
    names = [line.split(":")[0][2:] for line in lines if line[:1] in "✓✗–"]
    assert names == [
        "schema",
        "signature",
        "issuer_key",
        "issuer_trusted",
        "key_valid_at_issuance",
        "validity_period",
        "status",
        "status_logged",
        "ledger_inclusion",
        "checkpoint",
        "consistency",
        "witnesses",
    ]
    assert code == 0
