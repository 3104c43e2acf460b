"""A business's presentation verified on the real page in headless Chromium (issue 19 item 2):
the challenge and domain fields, the presentation's checks and each enclosed item's checks
rendered by the script, axe-core finding no violation; the organisation page's bound DID.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from orgbook.app import create_app
from orgbook.core.crypto import Ed25519Signer
from orgbook.core.did import did_key_from_public_key
from orgbook.runtime.registry import Registry
from tests.issuer.test_binding import ORG
from tests.verifier.test_presentation import DOMAIN, NONCE, bundles, present
from tests.web.conftest import LiveServer, _free_port
from tests.web.test_browser import TIMEOUT_MS, browser
from tests.web.test_browser_stats import axe_violations
from tests.web.test_presentation_pages import bound_registry

pytestmark = [pytest.mark.browser, pytest.mark.integration]
__all__ = ["browser"]


@pytest.fixture(scope="module")
def served(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[LiveServer, Ed25519Signer]]:
    """A registry where ``ORG`` bound a did:key, on a real uvicorn server (SQLite)."""
    import uvicorn

    directory: Path = tmp_path_factory.mktemp("presentation-web")
    registry: Registry
    registry, signer = bound_registry(directory, f"sqlite:///{directory / 'orgbook.sqlite3'}")
    app = create_app(registry.settings, registry=registry)
    port = _free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="uvicorn-presentation", daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.02)
    yield LiveServer(f"http://127.0.0.1:{port}", registry), signer
    server.should_exit = True
    thread.join(timeout=10)
    registry.close()


@pytest.fixture
def tab(browser: Any) -> Iterator[tuple[Any, list[str]]]:
    context = browser.new_context(locale="en-CA", viewport={"width": 1280, "height": 800})
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    page.on("response", lambda r: errors.append(f"{r.status} {r.url}") if r.status >= 400 else None)
    yield page, errors
    context.close()


def test_a_presentation_is_verified_on_the_page(
    tab: tuple[Any, list[str]], served: tuple[LiveServer, Ed25519Signer]
) -> None:
    page, errors = tab
    server, signer = served
    held = bundles(server.registry)
    vp = present(signer, held)
    page.goto(server.url + "/verify?lang=en")
    page.get_by_label("Credential or bundle (JSON)").fill(json.dumps(vp, indent=2))
    page.get_by_label("Challenge", exact=True).fill(NONCE)
    page.get_by_label("Domain", exact=True).fill(DOMAIN)
    page.get_by_role("button", name="Verify", exact=True).click()
    report = page.locator("#verify-result > .report")
    report.wait_for(state="visible")
    assert page.url.endswith("/verify?lang=en")  # the script verified it in place
    assert "report-valid" in (report.get_attribute("class") or "")
    anchor = report.locator(":scope > .checks .check", has_text="Holder bound to the organisation")
    assert "check-pass" in (anchor.get_attribute("class") or "")
    holder = report.locator(".report-holder code").inner_text()
    assert holder == did_key_from_public_key(signer.public_key)
    assert report.locator(".report-organisation a").inner_text() == ORG
    items = report.locator(".report-item")
    assert items.count() == len(held)
    for i in range(items.count()):
        nested = items.nth(i).locator(".report")
        assert "report-valid" in (nested.get_attribute("class") or "")
        assert nested.locator(".check").count() >= 4
    assert axe_violations(page) == []

    # the same presentation, replayed against another challenge: refused, and why
    page.get_by_label("Challenge", exact=True).fill("another-request")
    page.get_by_role("button", name="Verify", exact=True).click()
    page.locator("#verify-result > .report.report-invalid").wait_for(state="visible")
    check = page.locator("#verify-result > .report > .checks .check", has_text="Challenge")
    assert "check-fail" in (check.get_attribute("class") or "")
    assert "replayed" in check.locator(".check-reason").inner_text()
    assert errors == []


def test_the_organisation_page_shows_the_bound_did_accessibly(
    tab: tuple[Any, list[str]], served: tuple[LiveServer, Ed25519Signer]
) -> None:
    page, errors = tab
    server, signer = served
    page.goto(f"{server.url}/organisations/{ORG}?lang=fr")
    did = page.locator(".bound-did code").inner_text()
    assert did == did_key_from_public_key(signer.public_key)
    assert axe_violations(page) == []
    assert errors == []
