"""``/docs`` (Swagger UI) and ``/redoc`` render in headless Chromium with every request to
another host refused: the API documentation needs no internet."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import pytest

from tests.web.conftest import LiveServer
from tests.web.test_browser import TIMEOUT_MS, browser

pytestmark = [pytest.mark.browser, pytest.mark.integration]
__all__ = ["browser"]


@pytest.fixture
def offline_page(browser: Any) -> Iterator[tuple[Any, list[str], list[str]]]:
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    context.set_default_timeout(TIMEOUT_MS)
    outside: list[str] = []
    errors: list[str] = []

    def gate(route: Any) -> None:
        host = urlsplit(route.request.url).hostname
        if host in ("127.0.0.1", "localhost") or route.request.url.startswith(("data:", "blob:")):
            route.continue_()
        else:
            outside.append(route.request.url)
            route.abort()

    context.route("**/*", gate)
    tab = context.new_page()
    tab.on("pageerror", lambda exc: errors.append(str(exc)))
    tab.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    yield tab, outside, errors
    context.close()


def test_swagger_ui_renders_the_operations_offline(
    offline_page: tuple[Any, list[str], list[str]], live_server: LiveServer
) -> None:
    page, outside, errors = offline_page
    page.goto(live_server.url + "/docs")
    page.locator(".opblock").first.wait_for(state="visible")
    assert page.locator(".opblock").count() > 20
    assert page.get_by_text("/api/v1/organisations").first.is_visible()
    assert outside == []
    assert errors == []


def test_redoc_renders_offline(
    offline_page: tuple[Any, list[str], list[str]], live_server: LiveServer
) -> None:
    page, outside, errors = offline_page
    page.goto(live_server.url + "/redoc")
    page.locator("h1").first.wait_for(state="visible")
    page.get_by_text("/api/v1/verify").first.wait_for(state="attached")
    assert "orgbook" in page.locator("h1").first.inner_text()
    assert outside == []
    # ReDoc's own "by Redocly" badge names an image on another host: the CSP refuses it
    assert [e for e in errors if "cdn.redoc.ly" not in e] == []
