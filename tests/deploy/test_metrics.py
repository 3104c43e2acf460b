"""``/metrics``: Prometheus text, route-template labels, search/verify/issuance figures."""

from __future__ import annotations

import re
from pathlib import Path

from fastapi.testclient import TestClient

from orgbook.app import create_app
from orgbook.http.metrics import Histogram, Metrics
from tests.factories import build_registry


def _value(text: str, series: str) -> float:
    match = re.search(rf"^{re.escape(series)} (\S+)$", text, re.MULTILINE)
    assert match, f"{series} not in metrics"
    return float(match.group(1))


def test_metrics_over_a_registry(tmp_path: Path) -> None:
    registry = build_registry(tmp_path, 30)
    try:
        app = create_app(registry=registry)
        with TestClient(app) as client:
            for _ in range(3):
                assert client.get("/api/v1/organisations", params={"q": "holdings"}).status_code
            org_ids = [
                client.get("/api/v1/organisations").json()["hits"][i]["orgId"] for i in range(2)
            ]
            for org_id in org_ids:  # two raw paths, one route template
                got = client.get(f"/api/v1/organisations/{org_id}")
                assert got.status_code == 200, (org_id, got.text)
            assert client.get("/no/such/path").status_code == 404
            assert client.post("/api/v1/verify", json={"not": "a credential"}).status_code
            answer = client.get("/metrics")
        assert answer.status_code == 200
        assert answer.headers["content-type"].startswith("text/plain; version=0.0.4")
        text = answer.text
    finally:
        registry.close()

    route = 'route="/api/v1/organisations/{org_id}"'
    assert _value(text, f'orgbook_http_requests_total{{method="GET",{route},status="200"}}') == 2
    assert org_ids[0] not in text  # raw paths never become labels
    assert 'route="(unmatched)",status="404"' in text
    assert _value(text, 'orgbook_search_duration_seconds_count{route="/api/v1/organisations"}') >= 3
    assert 'orgbook_search_duration_seconds_bucket{route="/api/v1/organisations",le="+Inf"}' in text
    assert "orgbook_verifications_total{outcome=" in text
    with registry.engine.connect() as conn:
        size = registry.ledger.size(conn)
    assert _value(text, "orgbook_ledger_entries") == size
    series = r'^orgbook_credentials_issued_total\{issuer="([^"]+)",type="([^"]+)"\} (\d+)$'
    issued = re.findall(series, text, re.MULTILINE)
    assert {issuer for issuer, _, _ in issued} <= {
        "bc-registries",
        "ns-rjsc",
        "corporations-canada",
    }
    assert sum(int(n) for _, _, n in issued) > 30


def test_issuance_counts_are_incremental(tmp_path: Path) -> None:
    registry = build_registry(tmp_path, 10)
    try:
        metrics = Metrics()
        first = metrics.render(registry.engine)
        again = metrics.render(registry.engine)  # nothing new: the same totals
        pattern = r"^orgbook_credentials_issued_total\S* (\d+)$"
        assert re.findall(pattern, first, re.MULTILINE) == re.findall(pattern, again, re.MULTILINE)
    finally:
        registry.close()


def test_histogram_buckets_are_cumulative() -> None:
    h = Histogram((0.1, 1.0))
    for value in (0.05, 0.5, 5.0):
        h.observe(("x",), value)
    assert h.series[("x",)] == [1, 2, 3, 5.55]
    m = Metrics()
    m.record("BREW", "/a", 418, 0.01, b"")
    assert 'method="OTHER"' in m.render()
