"""POST /api/v1/verify remembers only what cannot change (bundles under a checkpoint, consistency
proofs, verified status lists) and keeps one SQLite connection: a revocation and a new checkpoint
are seen by the very next request."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from orgbook.app import create_app
from orgbook.issuer.service import Issuance
from orgbook.projections.tables import credentials
from orgbook.runtime.registry import Registry
from orgbook.storage.engine import reading
from tests.factories import build_registry

NOW = datetime(2026, 11, 23, tzinfo=UTC)


@pytest.fixture
def registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Registry]:
    reg = build_registry(tmp_path_factory.mktemp("fresh"), 4)
    yield reg
    reg.close()


@pytest.fixture
def client(registry: Registry) -> Iterator[TestClient]:
    settings = dataclasses.replace(
        registry.settings, rate_limit_per_minute=0, verify_rate_limit_per_minute=0
    )
    with TestClient(create_app(settings, registry=registry)) as test_client:
        yield test_client


def _checks(body: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {c["name"]: c for c in body["checks"]}


def test_revocation_and_new_checkpoints_are_seen_at_once(
    registry: Registry, client: TestClient
) -> None:
    with reading(registry.engine) as conn:
        row = conn.execute(
            select(credentials.c.id, credentials.c.issuer_id).where(
                credentials.c.state == "current"
            )
        ).first()
    assert row is not None
    bundle = client.get(f"/api/v1/credentials/{row.id}/bundle").json()
    for _ in range(2):  # the second time from what the route remembered
        for body in (bundle, bundle["credential"]):
            answer = client.post("/api/v1/verify", json=body).json()
            assert answer["valid"], answer
    size = _checks(client.post("/api/v1/verify", json=bundle).json())["consistency"]

    issuance: Any = Issuance(registry)
    issuance.change_status(row.issuer_id, row.id, "revoke", reason="struck off", now=NOW)
    with registry.engine.begin() as conn:
        registry.ledger.sign_checkpoint(conn)

    for body in (bundle, bundle["credential"]):
        answer = client.post("/api/v1/verify", json=body).json()
        checks = _checks(answer)
        assert not answer["valid"]
        assert checks["status"]["outcome"] == "fail"
        assert "revoked" in checks["status"]["reason"]
        assert checks["consistency"]["outcome"] == "pass"
        assert checks["consistency"]["details"]["newerSize"] > size["details"]["newerSize"]
