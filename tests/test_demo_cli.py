"""``orgbook demo`` as the README runs it: it builds a registry, serves it until SIGTERM, and
reuses the registry the next time."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
from pathlib import Path

import httpx
import pytest

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def test_demo_serves_a_registry_then_reuses_it(tmp_path: Path) -> None:
    data = tmp_path / "data"
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("ORGBOOK_")}
    argv = [sys.executable, "-m", "orgbook", "demo", "--data-dir", str(data), "--orgs", "5",
            "--port", str(port)]  # fmt: skip
    demo = subprocess.Popen(
        argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        answer = None
        for _ in range(1200):  # until it serves (building the registry comes first)
            if demo.poll() is not None:
                break
            try:
                answer = httpx.get(f"http://127.0.0.1:{port}/api/v1/organisations", timeout=10)
                break
            except httpx.TransportError:
                threading.Event().wait(0.1)
        assert demo.poll() is None, "demo exited on its own"
        assert answer is not None
        assert answer.status_code == 200
        key = httpx.get(f"http://127.0.0.1:{port}/api/v1/ledger/key", timeout=10).text.strip()
        demo.send_signal(signal.SIGTERM)
        out, err = demo.communicate(timeout=60)
    finally:
        if demo.poll() is None:
            demo.kill()
            demo.wait()
    # uvicorn shuts down on SIGTERM, then re-raises the signal: the exit is "terminated".
    assert demo.returncode in (0, -signal.SIGTERM), err
    assert f"orgbook demo registry: http://127.0.0.1:{port}/" in out
    assert "issuer API key (bc-registries): obk_" in out

    again = subprocess.run(
        [*argv, "--no-serve"], env=env, capture_output=True, text=True, timeout=600, check=False
    )
    assert again.returncode == 0, again.stderr
    assert key in again.stdout  # the same registry, the same ledger key
