"""``/stats`` in headless Chromium: axe-core finds no violation, in English and French, on a
desktop and 390 px wide; the charts load as images and the page reads without JavaScript."""

from __future__ import annotations

import importlib.resources
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.web.conftest import LiveServer
from tests.web.test_browser import TIMEOUT_MS, browser

pytestmark = [pytest.mark.browser, pytest.mark.integration]
__all__ = ["browser"]

AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]


def axe_source() -> str:
    """axe-core's build, as the axe-playwright-python package ships it."""
    root = Path(str(importlib.resources.files("axe_playwright_python")))
    return (root / "axe.min.js").read_text(encoding="utf-8")


def axe_violations(page: Any) -> list[dict[str, Any]]:
    """Run axe-core in the page (evaluated, not injected: the page's CSP allows no inline
    script) and return its violations."""
    page.evaluate(axe_source())
    result: dict[str, Any] = page.evaluate(
        "tags => axe.run(document, {runOnly: {type: 'tag', values: tags}})", AXE_TAGS
    )
    return [
        {"id": v["id"], "nodes": [n["target"] for n in v["nodes"]][:5]}
        for v in result["violations"]
    ]


@pytest.fixture
def tab(browser: Any, request: pytest.FixtureRequest) -> Iterator[tuple[Any, list[str]]]:
    width, locale = request.param
    context = browser.new_context(
        locale="fr-CA" if locale == "fr" else "en-CA",
        viewport={"width": width, "height": 844 if width < 500 else 800},
    )
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    page.on("response", lambda r: errors.append(f"{r.status} {r.url}") if r.status >= 400 else None)
    yield page, errors
    context.close()


@pytest.mark.parametrize(
    "tab",
    [(1280, "en"), (1280, "fr"), (390, "en"), (390, "fr")],
    indirect=True,
    ids=["en-desktop", "fr-desktop", "en-390", "fr-390"],
)
def test_stats_page_is_accessible(tab: tuple[Any, list[str]], live_server: LiveServer) -> None:
    page, errors = tab
    locale = "fr" if "fr" in page.context.pages[0].evaluate("navigator.language") else "en"
    page.goto(f"{live_server.url}/stats?lang={locale}")
    assert page.locator("html").get_attribute("lang") == locale
    images = page.locator(".chart img")
    assert images.count() >= 5
    for i in range(images.count()):
        images.nth(i).scroll_into_view_if_needed()
        page.wait_for_function(
            "img => img.complete && img.naturalWidth > 0", arg=images.nth(i).element_handle()
        )
    assert page.locator(".chart-data table").count() == images.count()
    # no horizontal scroll at 390 px
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")
    assert axe_violations(page) == []
    assert errors == []


@pytest.mark.parametrize("tab", [(1280, "en")], indirect=True, ids=["en-desktop"])
def test_home_summary_is_accessible(tab: tuple[Any, list[str]], live_server: LiveServer) -> None:
    page, errors = tab
    page.goto(f"{live_server.url}/?lang=en")
    page.locator(".home-stats a[href='/stats']").click()
    page.wait_for_url("**/stats")
    assert page.locator("h1").inner_text() == "Statistics of the register"
    assert errors == []
