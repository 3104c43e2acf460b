"""The search API's facets and status filter, on both backends, against a real registry."""

from __future__ import annotations

import dataclasses
import typing
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from orgbook.app import create_app
from orgbook.search import STATUS_FILTERS
from orgbook.verifier import api
from tests.factories import build_registry


@pytest.fixture
def client(db_url: str, tmp_path: Path) -> Iterator[TestClient]:
    registry = build_registry(tmp_path, 40, url=db_url)
    settings = dataclasses.replace(registry.settings, rate_limit_per_minute=0)
    with TestClient(create_app(settings, registry=registry)) as test_client:
        yield test_client
    registry.close()


def test_facets_in_the_first_page_and_each_count_is_what_the_filter_gives(
    client: TestClient,
) -> None:
    for q in (None, "ltd"):
        params = {"q": q} if q else {}
        body = client.get("/api/v1/organisations", params=params).json()
        facets = body["facets"]
        assert set(facets) == {
            "jurisdiction",
            "status",
            "entityType",
            "credentialType",
            "issuer",
            "exact",
            "bound",
        }
        assert facets["exact"] is True
        assert sum(v["count"] for v in facets["jurisdiction"]) == body["total"]
        for field, param in (("jurisdiction", "jurisdiction"), ("status", "status")):
            for value in facets[field]:
                assert value["count"] > 0
                chosen = client.get(
                    "/api/v1/organisations", params={**params, param: value["value"], "limit": 1}
                ).json()
                assert chosen["total"] == value["count"], (q, field, value)
        for value in facets["entityType"] + facets["credentialType"] + facets["issuer"]:
            assert value["count"] > 0


def test_no_facets_after_the_first_page_or_when_not_asked(client: TestClient) -> None:
    first = client.get("/api/v1/organisations", params={"limit": 2}).json()
    assert first["nextCursor"]
    later = client.get(
        "/api/v1/organisations", params={"limit": 2, "cursor": first["nextCursor"]}
    ).json()
    assert later["facets"] is None
    assert client.get("/api/v1/organisations", params={"facets": "false"}).json()["facets"] is None


def test_every_status_is_a_filter(client: TestClient) -> None:
    assert typing.get_args(api.StatusFilter) == STATUS_FILTERS
    for status in STATUS_FILTERS:
        response = client.get("/api/v1/organisations", params={"status": status})
        assert response.status_code == 200
        assert all(
            (h["status"] == status) or (status == "inactive" and h["status"] != "active")
            for h in response.json()["hits"]
        )
    assert client.get("/api/v1/organisations", params={"status": "gone"}).status_code == 422
