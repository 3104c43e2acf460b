"""``/docs`` and ``/redoc`` work offline: every asset from this server, none from a CDN."""

from __future__ import annotations

import re
from pathlib import Path

from tests.http import TestClient, make_app


def _asset_urls(html: str) -> list[str]:
    return re.findall(r'(?:src|href)="([^"]+)"', html)


def test_docs_pages_load_only_local_assets(tmp_path: Path) -> None:
    client = TestClient(make_app(tmp_path))
    for path, needed in (
        ("/docs", {"swagger-ui-bundle.js", "swagger-ui.css", "swagger-init.js"}),
        ("/redoc", {"redoc.standalone.js", "redoc-init.js"}),
    ):
        response = client.get(path)
        assert response.status_code == 200, path
        html = response.text
        assert "http://" not in html
        assert "https://" not in html
        assert "<script>" not in html  # no inline script: the CSP allows none
        assert 'data-openapi-url="/openapi.json"' in html
        urls = _asset_urls(html)
        assert all(url.startswith("/docs/assets/") for url in urls), urls
        assert needed <= {url.split("/")[-1].split("?")[0] for url in urls}
        for url in urls:
            asset = client.get(url)
            assert asset.status_code == 200, url
            assert len(asset.content) > 0
            assert asset.headers["cache-control"].startswith("public, max-age=31536000")
            again = client.get(url, headers={"If-None-Match": asset.headers["etag"]})
            assert again.status_code == 304


def test_docs_assets_types_and_unknown(tmp_path: Path) -> None:
    client = TestClient(make_app(tmp_path))
    bundle = client.get("/docs/assets/swagger-ui-bundle.js")
    assert bundle.headers["content-type"].startswith("text/javascript")
    assert client.get("/docs/assets/swagger-ui.css").headers["content-type"].startswith("text/css")
    assert client.get("/docs/assets/nope.js").status_code == 404
    assert client.get("/docs/oauth2-redirect").status_code == 404
    assert "/docs/assets/{name}" not in client.get("/openapi.json").json()["paths"]
