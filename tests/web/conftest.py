"""Fixtures of the web page tests: one generated registry per session, an app serving it.

The registry is built once (``build_registry``: real issuers, keys, ledger, ~80 organisations)
and shared read-only by the page tests and the browser tests; tests that write (a hostile name)
build their own.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from orgbook.app import create_app
from orgbook.registry import Registry
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
