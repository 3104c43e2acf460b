"""End to end in headless Chromium: a real uvicorn server, a generated registry, the real page.

Chromium is the Debian package (``apt-get install chromium``), never a Playwright download:
``ORGBOOK_TEST_CHROMIUM`` names another binary. Without one these tests skip, saying why.
"""

from __future__ import annotations

import copy
import json
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.web.conftest import LiveServer

pytestmark = [pytest.mark.browser, pytest.mark.integration]

CHROMIUM = os.environ.get("ORGBOOK_TEST_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
TIMEOUT_MS = 10_000


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not Path(CHROMIUM).is_file():
        pytest.skip(
            f"no Chromium at {CHROMIUM}: apt-get install chromium, or set ORGBOOK_TEST_CHROMIUM"
        )
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        instance = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield instance
        instance.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context(locale="en-CA", viewport={"width": 1280, "height": 800})
    context.set_default_timeout(TIMEOUT_MS)
    tab = context.new_page()
    errors: list[str] = []
    tab.on("pageerror", lambda exc: errors.append(str(exc)))
    tab.on(
        "response",
        lambda r: errors.append(f"{r.status} {r.url}") if r.status >= 400 else None,
    )
    tab.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    yield tab
    context.close()
    assert errors == [], errors  # no script errors, no CSP violations


def test_search_pick_suggestion_open_organisation_and_verify(
    page: Any, live_server: LiveServer
) -> None:
    page.goto(live_server.url + "/?lang=en")
    box = page.locator("#q")
    # the script turned the plain search box into an ARIA combobox
    assert box.get_attribute("role") == "combobox"
    assert box.get_attribute("aria-expanded") == "false"
    box.press_sequentially("soci", delay=40)
    listbox = page.locator("#q-suggestions[role=listbox]")
    listbox.wait_for(state="visible")
    options = listbox.locator("[role=option]")
    assert options.count() >= 2
    assert box.get_attribute("aria-expanded") == "true"
    assert "Société" in listbox.inner_text()
    assert "suggestions" in page.locator("#q-live").inner_text()

    box.press("ArrowDown")
    box.press("ArrowDown")
    second = options.nth(1)
    assert second.get_attribute("aria-selected") == "true"
    assert box.get_attribute("aria-activedescendant") == second.get_attribute("id")
    box.press("ArrowUp")
    assert options.nth(0).get_attribute("aria-selected") == "true"
    box.press("Escape")  # closes the list, keeps the text
    assert listbox.is_hidden()
    assert box.input_value() == "soci"
    box.press("ArrowDown")  # reopens on the first suggestion
    assert listbox.is_visible()
    chosen = options.nth(0).locator(".sugg-name").inner_text()
    target = options.nth(0).get_attribute("data-url")
    with page.expect_navigation():
        box.press("Enter")
    assert page.url == live_server.url + target
    assert chosen in page.locator("main").inner_text()  # its current or a former name

    # open a current credential's card and verify it in place
    card = page.locator("li.card.card-current").first
    card.locator("summary", has_text="Attributes, history and verification").click()
    card.get_by_role("button", name="Verify").click()
    report = card.locator(".inline-report .report")
    report.wait_for(state="visible")
    assert "report-valid" in (report.get_attribute("class") or "")
    assert "Valid: every check passed" in report.inner_text()
    outcomes = report.locator(".check").evaluate_all("els => els.map(e => e.className)")
    assert "check check-fail" not in outcomes
    assert outcomes.count("check check-pass") >= 9
    position = report.locator(".report-position").inner_text()
    assert re.search(r"entry [\d,]+, under the signed checkpoint of [\d,]+ entries", position)


def test_enter_without_a_chosen_suggestion_submits_the_search(
    page: Any, live_server: LiveServer
) -> None:
    page.goto(live_server.url + "/?lang=en")
    box = page.locator("#q")
    box.press_sequentially("pati", delay=30)
    page.locator("#q-suggestions").wait_for(state="visible")
    with page.expect_navigation():
        box.press("Enter")
    assert "/search?q=pati" in page.url
    assert page.locator(".result").count() >= 1


def test_tampered_credential_fails_its_signature_on_the_verify_page(
    page: Any, live_server: LiveServer
) -> None:
    from orgbook.search import SearchQuery, search

    with live_server.registry.engine.connect() as conn:
        org_id = search(conn, SearchQuery(text="soci", limit=1)).hits[0].org_id
    profile = page.request.get(f"{live_server.url}/api/v1/organisations/{org_id}").json()
    cid = next(c["id"] for c in profile["credentials"] if c["state"] == "current")
    credential = page.request.get(f"{live_server.url}/api/v1/credentials/{cid}").json()
    tampered = copy.deepcopy(credential)
    tampered["validFrom"] = "1999-01-01T00:00:00Z"

    page.goto(live_server.url + "/verify?lang=en")
    page.get_by_label("Credential or bundle (JSON)").fill(json.dumps(tampered, indent=2))
    page.get_by_role("button", name="Verify", exact=True).click()
    report = page.locator("#verify-result .report")
    report.wait_for(state="visible")
    assert "Not valid" in report.inner_text()
    signature = report.locator(".check", has_text="Signature")
    assert "check-fail" in (signature.get_attribute("class") or "")
    reason = signature.locator(".check-reason").inner_text()
    assert reason.strip()
    assert "Fail" in signature.locator(".check-outcome").inner_text()
    # the page was not reloaded: the script did it, and focus went to the report
    assert page.url.endswith("/verify?lang=en")
    assert page.evaluate("document.activeElement.classList.contains('report')")


def test_switch_to_french_and_stay_there(page: Any, live_server: LiveServer) -> None:
    page.goto(live_server.url + "/search?q=soci&lang=en")
    assert page.locator("html").get_attribute("lang") == "en"
    with page.expect_navigation():
        page.get_by_role("link", name="Français").click()
    assert page.locator("html").get_attribute("lang") == "fr"
    assert page.get_by_role("heading", level=1).inner_text() == "Rechercher des organisations"
    assert page.get_by_label("Nom ou numéro").input_value() == "soci"
    nav = page.get_by_role("navigation", name="Principal")
    assert nav.get_by_role("link", name="Vérifier").is_visible()
    page.goto(live_server.url + "/ledger")  # the cookie remembers the choice
    assert page.locator("html").get_attribute("lang") == "fr"
    assert page.get_by_role("heading", level=1).inner_text() == "Le registre public"
    # French suggestions: status labels come translated
    page.goto(live_server.url + "/")
    page.locator("#q").press_sequentially("soci", delay=30)
    page.locator("#q-suggestions").wait_for(state="visible")
    assert "Utilisez les flèches" in page.locator("#q-live").inner_text()


def test_skip_link_and_keyboard_focus(page: Any, live_server: LiveServer) -> None:
    page.goto(live_server.url + "/?lang=en")
    page.keyboard.press("Tab")
    skip = page.locator(".skip-link")
    assert page.evaluate("document.activeElement.className") == "skip-link"
    assert skip.is_visible()
    outline = page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
    assert outline == "solid"  # focus is visible
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "main"


def test_phone_width_has_no_horizontal_scroll(browser: Any, live_server: LiveServer) -> None:
    context = browser.new_context(viewport={"width": 360, "height": 740}, locale="fr-CA")
    tab = context.new_page()
    try:
        for path in ("/search?q=soci", "/verify", "/ledger"):
            tab.goto(live_server.url + path)
            width = tab.evaluate("document.documentElement.scrollWidth")
            assert width <= 360, (path, width)
            assert tab.locator("html").get_attribute("lang") == "fr"  # Accept-Language
        tab.goto(live_server.url + "/search?q=soci")
        tab.locator(".result-name a").first.click()
        tab.wait_for_load_state()
        assert tab.evaluate("document.documentElement.scrollWidth") <= 360
    finally:
        context.close()
