"""``orgbook witness poll`` and ``orgbook witness serve --poll-interval`` against a registry served
by uvicorn on 127.0.0.1: first cosignature, unchanged, growth, a registry that is down or serves
another log, and cosignatures pushed back to the registry."""

from __future__ import annotations

import dataclasses
import os
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
import uvicorn

from orgbook.app import create_app
from orgbook.cli import main
from orgbook.runtime.registry import Registry
from orgbook.witness.store import WitnessStore
from tests.factories import build_registry, issue

pytestmark = pytest.mark.integration

PASSPHRASE = "witness cli passphrase"
NAME = "witness.test/cli"

Run = Callable[..., tuple[int, str, str]]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.fixture
def registry(tmp_path: Path) -> Iterator[Registry]:
    reg = build_registry(tmp_path / "registry", 2)
    yield reg
    reg.close()


@pytest.fixture
def served(registry: Registry, witness: Run, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """The registry on 127.0.0.1, accepting cosignatures from the witness (its key made now)."""
    code, out, err = witness("key", "--name", NAME)
    assert code == 0, err
    monkeypatch.setenv("ORGBOOK_WITNESSES", out.strip())
    settings = dataclasses.replace(registry.settings, rate_limit_per_minute=0)
    config = uvicorn.Config(
        create_app(settings, registry=registry),
        host="127.0.0.1",
        port=_free_port(),
        log_level="warning",
        access_log=False,
    )
    live = uvicorn.Server(config)
    thread = threading.Thread(target=live.run, daemon=True)
    thread.start()
    started = threading.Event()
    for _ in range(500):  # until uvicorn listens (a start-up wait, not a timing assertion)
        if live.started:
            started.set()
            break
        threading.Event().wait(0.02)
    assert started.is_set(), "uvicorn did not start"
    yield f"http://127.0.0.1:{config.port}"
    live.should_exit = True
    thread.join(timeout=10)


@pytest.fixture
def witness(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> Run:
    monkeypatch.setenv("ORGBOOK_KEY_PASSPHRASE", PASSPHRASE)
    data = ["--data-dir", str(tmp_path / "witness")]

    def run(*args: str) -> tuple[int, str, str]:
        capsys.readouterr()
        code = main(["witness", *args, *data])
        out, err = capsys.readouterr()
        return code, out, err

    return run


def _follow(witness: Run, url: str) -> str:
    """Create the witness key and follow the registry at ``url``; the log's origin."""
    assert witness("key")[0] == 0  # made by the served fixture
    vkey = httpx.get(f"{url}/api/v1/ledger/key", timeout=30).text.strip()
    origin = vkey.split("+")[0]
    code, out, err = witness("add-log", "--origin", origin, "--vkey", vkey, "--url", url)
    assert code == 0, err
    assert out.strip() == f"following {origin} with 1 key(s) at {url}"
    return origin


def _size(url: str) -> int:
    return int(httpx.get(f"{url}/api/v1/ledger/checkpoint", timeout=30).text.split("\n")[1])


def test_poll_cosigns_then_is_unchanged_then_follows_growth(
    witness: Run, served: str, registry: Registry
) -> None:
    origin = _follow(witness, served)
    size = _size(served)
    code, out, err = witness("poll")
    assert code == 0, err
    assert out.strip() == f"{origin}: cosigned {size} (cosignature pushed)"
    # The registry now serves the checkpoint with the witness's cosignature.
    note = httpx.get(f"{served}/api/v1/ledger/checkpoint", timeout=30).text
    assert f"\u2014 {NAME} " in note

    code, out, _ = witness("poll", "--no-push")
    assert code == 0
    assert out.strip() == f"{origin}: unchanged {size}"

    issue(
        registry,
        [
            {
                "event_id": "witness-cli-growth",
                "kind": "registration",
                "jurisdiction": "CA-BC",
                "registration_number": "BC7700001",
                "effective_date": "2024-01-01",
                "name": "Witnessed Growth Ltd.",
            }
        ],
    )
    grown = _size(served)
    assert grown > size
    code, out, _ = witness("poll")
    assert code == 0
    assert out.startswith(f"{origin}: cosigned {grown}")
    code, out, _ = witness("logs")
    assert code == 0
    assert out.strip() == f"{origin}\tcosigned size {grown}\t{served}"
    code, out, _ = witness("refusals")
    assert (code, out.strip()) == (0, "[]")


def test_poll_reports_a_registry_that_is_down_or_serves_another_log(
    witness: Run, served: str
) -> None:
    origin = _follow(witness, served)
    down = f"http://127.0.0.1:{_free_port()}"
    vkey = httpx.get(f"{served}/api/v1/ledger/key", timeout=30).text.strip()
    assert witness("add-log", "--origin", "other.test/log", "--vkey", vkey, "--url", served)[0] == 0
    assert witness("add-log", "--origin", origin, "--vkey", vkey, "--url", down)[0] == 0
    code, out, _ = witness("poll", "--timeout", "5")
    assert code == 1  # an error on any log is a failed poll
    lines = dict(line.split(": ", 1) for line in out.strip().splitlines())
    assert lines["other.test/log"].startswith("error")
    assert f"serves the log {origin!r}" in lines["other.test/log"]
    assert lines[origin].startswith("error")
    assert "failed (ConnectError)" in lines[origin]


def test_serve_polls_in_the_background_until_sigterm(
    witness: Run, served: str, tmp_path: Path
) -> None:
    origin = _follow(witness, served)
    size = _size(served)
    port = _free_port()
    argv = [sys.executable, "-m", "orgbook", "witness", "serve", "--data-dir",
            str(tmp_path / "witness"), "--port", str(port), "--poll-interval", "0.1"]  # fmt: skip
    env = {**os.environ, "ORGBOOK_KEY_PASSPHRASE": PASSPHRASE}
    server = subprocess.Popen(argv, env=env, stderr=subprocess.PIPE, text=True)
    try:
        cosigned = None
        for _ in range(600):  # until the background poll cosigned (or the server died)
            if server.poll() is not None:
                break
            store = WitnessStore.open(tmp_path / "witness")
            try:
                cosigned = store.latest(origin)
            finally:
                store.close()
            if cosigned is not None:
                break
            threading.Event().wait(0.1)
        assert server.poll() is None, "the witness exited on its own"
        assert cosigned is not None
        assert cosigned.size == size
        answered = None
        for _ in range(600):  # until the witness answers HTTP (it serves tlog-witness)
            try:
                answered = httpx.post(f"http://127.0.0.1:{port}/add-checkpoint", content=b"x")
                break
            except httpx.TransportError:
                threading.Event().wait(0.1)
        assert answered is not None
        assert answered.status_code == 400  # a malformed add-checkpoint body
        server.send_signal(signal.SIGTERM)
        _, err = server.communicate(timeout=60)
    finally:
        if server.poll() is None:
            server.kill()
            server.wait()
    # uvicorn shuts down on SIGTERM, then re-raises the signal: the exit is "terminated".
    assert server.returncode in (0, -signal.SIGTERM), err
    assert f"orgbook witness: serving on http://127.0.0.1:{port}/" in err
