"""``/api/v1/stats``, ``/stats`` and the home page's summary, rendered on the server."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient


def test_stats_api(client: TestClient) -> None:
    body = client.get("/api/v1/stats").json()
    assert body["asOf"]["treeSize"] == body["ledgerSize"] > 0
    assert body["asOf"]["url"] == "/api/v1/ledger/checkpoint"
    note = client.get("/api/v1/ledger/checkpoint").text
    assert client.get("/api/v1/ledger/checkpoint").status_code == 200
    assert f"\n{body['asOf']['treeSize']}\n" in note
    orgs = body["organisations"]
    assert orgs["total"] == sum(c["count"] for c in orgs["byJurisdiction"]) == 80
    assert sum(c["count"] for c in orgs["byStatus"]) == orgs["total"]
    creds = body["credentials"]
    assert creds["total"] == sum(c["count"] for c in creds["byIssuer"])
    assert {c["value"] for c in creds["byType"]} >= {"registration", "legal-name"}
    assert sum(c["count"] for c in body["issuancesPerMonth"]) == creds["total"]
    assert body["registrationsPerMonth"]
    assert "/api/v1/stats" in client.get("/openapi.json").json()["paths"]


def test_stats_page_in_both_languages(client: TestClient) -> None:
    for lang, heading, number in (
        ("en", "Statistics of the register", "Organisations by jurisdiction"),
        ("fr", "Statistiques du registre", "Organisations par administration"),
    ):
        page = client.get(f"/stats?lang={lang}")
        assert page.status_code == 200
        html = page.text
        assert f'<html lang="{lang}">' in html
        assert heading in html
        assert number in html
        assert html.count("<table>") == html.count('class="chart"') >= 5
        assert 'aria-current="page"' in html
        sources = re.findall(r'<img src="([^"]+)"', html)
        assert sources
        for src in sources:
            chart = client.get(src.replace("&amp;", "&"))
            assert chart.status_code == 200
            assert chart.headers["content-type"] == "image/svg+xml"
            svg = chart.text
            assert "<title>" in svg
            assert "<script" not in svg
            assert not re.search(r'(?:href|src)="https?:', svg)
            again = client.get(
                src.replace("&amp;", "&"), headers={"If-None-Match": chart.headers["etag"]}
            )
            assert again.status_code == 304
    assert (
        "Organisations par administration"
        in client.get("/stats/charts/jurisdiction.svg?lang=fr").text
    )
    assert client.get("/stats/charts/nope.svg").status_code == 404


def test_home_page_shows_a_summary(client: TestClient) -> None:
    home = client.get("/?lang=en").text
    assert 'class="home-stats"' in home
    assert 'href="/stats"' in home
    assert "80" in home.split('class="home-stats"')[1]
    # a search result page does not repeat it
    assert 'class="home-stats"' not in client.get("/search?q=soci&lang=en").text
