"""The organisation page's timeline in headless Chromium: current facts first, superseded
credentials folded away, one badge per credential; axe-core finds no violation, in English and
French, on a desktop and 390 px wide."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from orgbook.runtime.registry import Registry
from tests.web.conftest import LiveServer
from tests.web.test_browser import browser
from tests.web.test_browser_stats import axe_violations, tab
from tests.web.test_pages import _org_with_history

pytestmark = [pytest.mark.browser, pytest.mark.integration]
__all__ = ["browser", "tab"]


@pytest.mark.parametrize(
    "tab",
    [(1280, "en"), (1280, "fr"), (390, "en"), (390, "fr")],
    indirect=True,
    ids=["en-desktop", "fr-desktop", "en-390", "fr-390"],
)
def test_timeline_is_accessible_and_folds_superseded_credentials(
    tab: tuple[Any, list[str]],
    live_server: LiveServer,
    client: TestClient,
    web_registry: Registry,
) -> None:
    page, errors = tab
    locale = "fr" if "fr" in page.evaluate("navigator.language") else "en"
    org_id, profile = _org_with_history(client, web_registry)
    page.goto(f"{live_server.url}/organisations/{org_id}?lang={locale}")
    timeline = page.locator("section[aria-labelledby='timeline-heading']")
    current = timeline.locator("ol[aria-labelledby='timeline-current'] > li.card")
    assert current.count() == sum(c.state == "current" for c in profile.credentials)
    earlier = timeline.locator("details.timeline-earlier")
    if any(c.state != "current" for c in profile.credentials):
        assert not earlier.locator("li.card").first.is_visible()  # folded away
        earlier.locator("summary").first.click()
        assert earlier.locator("li.card").first.is_visible()
    for i in range(current.count()):  # one badge each
        assert current.nth(i).locator(".card-head .badge").count() == 1
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")
    assert axe_violations(page) == []
    assert errors == []


@pytest.mark.parametrize(
    "tab", [(1280, "fr"), (390, "en")], indirect=True, ids=["fr-desktop", "en-390"]
)
def test_verify_report_with_claims_is_accessible(
    tab: tuple[Any, list[str]],
    live_server: LiveServer,
    client: TestClient,
    web_registry: Registry,
) -> None:
    import json

    from tests.web.test_pages import _a_credential

    page, errors = tab
    locale = "fr" if "fr" in page.evaluate("navigator.language") else "en"
    credential = _a_credential(client, web_registry)
    credential["credentialSubject"]["id"] += "0"  # tampered: the report names the field
    page.goto(f"{live_server.url}/verify?lang={locale}")
    page.fill("#document", json.dumps(credential))
    page.locator("form.verify-page-form button[type=submit]").click()
    page.locator(".report-differs").wait_for()
    assert "credentialSubject.id" in page.locator(".report-differs").inner_text()
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")
    assert axe_violations(page) == []
    assert errors == []
