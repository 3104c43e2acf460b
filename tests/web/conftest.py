"""Fixtures of the web page tests: one generated registry per session, an app serving it.

The registry is built once (``build_registry``: real issuers, keys, ledger, ~80 organisations)
and shared read-only by the page tests and the browser tests; tests that write (a hostile name)
build their own.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from orgbook.app import create_app
from orgbook.runtime.registry import Registry
from tests.factories import build_registry

WEB_ORGS = 80


@pytest.fixture(scope="session")
def web_registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Registry]:
    registry = build_registry(tmp_path_factory.mktemp("web"), WEB_ORGS)
    yield registry
    registry.close()


@pytest.fixture(scope="session")
def web_app(web_registry: Registry) -> FastAPI:
    return create_app(web_registry.settings, registry=web_registry)


@pytest.fixture
def client(web_app: FastAPI) -> Iterator[TestClient]:
    with TestClient(web_app) as test_client:
        yield test_client


@dataclass(frozen=True, slots=True)
class LiveServer:
    url: str
    registry: Registry


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.fixture(scope="session")
def live_server(web_registry: Registry) -> Iterator[LiveServer]:
    """The application on a real uvicorn server, on 127.0.0.1 and a free port."""
    import uvicorn

    app = create_app(web_registry.settings, registry=web_registry)
    port = _free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="uvicorn-web-tests", daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.02)
    yield LiveServer(f"http://127.0.0.1:{port}", web_registry)
    server.should_exit = True
    thread.join(timeout=10)
