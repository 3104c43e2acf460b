"""Fixtures of the authorisation tests: the shared scenario (both backends) and an HTTP client
to its registry."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from tests.authorisations.scenario import Scenario, build, client


@pytest.fixture
def scenario(db_url: str, tmp_path: Path) -> Iterator[Scenario]:
    built = build(tmp_path, url=db_url)
    yield built
    built.registry.close()


@pytest.fixture
def http(scenario: Scenario) -> Iterator[TestClient]:
    with client(scenario) as c:
        yield c
