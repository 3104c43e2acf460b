"""Screenshots of the web page, in English and French, at desktop and phone widths.

    python scripts/screenshots.py --out screenshots/ [--orgs 300] [--chromium /usr/bin/chromium]

Builds a demo registry (generated organisations, as ``orgbook demo`` does) in a temporary
directory, serves it with uvicorn on 127.0.0.1 and a free port, and captures with headless
Chromium (the system package, not a Playwright download):

- ``search-<lang>-<device>.png``: a search with results; ``suggest-<lang>-desktop.png``: the
  suggestions open under the search box;
- ``organisation-<lang>-<device>.png``: an organisation with former names and relationships,
  one credential opened and verified in place;
- ``verify-<lang>-<device>.png``: the verify page's report for a tampered credential;
- ``ledger-<lang>-<device>.png``: the latest checkpoint and recent entries;
- ``home-<lang>-<device>.png``: the home page with its summary of the register;
- ``stats-<lang>-<device>.png``: the statistics page, its charts and their tables.

Devices: ``desktop`` 1280×800 and ``phone`` 390×844 (full-page captures).
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import socket
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

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
DEVICES = {"desktop": (1280, 800), "phone": (390, 844)}
LANGS = ("en", "fr")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _build(data_dir: Path, port: int, orgs: int) -> Any:
    from orgbook.config import get_settings
    from orgbook.demo import build_demo
    from orgbook.runtime.registry import demo_passphrase, open_registry

    settings = get_settings(data_dir=str(data_dir), public_url=f"http://127.0.0.1:{port}")
    registry = open_registry(settings, passphrase=demo_passphrase(data_dir))
    build_demo(registry, orgs=orgs, seed=1, progress=False)
    return registry


def _serve(registry: Any, port: int) -> Any:
    import uvicorn

    from orgbook.app import create_app

    app = create_app(registry.settings, registry=registry)
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)
    )
    threading.Thread(target=server.run, daemon=True).start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline:
            raise SystemExit("the server did not start")
        time.sleep(0.05)
    return server


def _showcase(registry: Any) -> tuple[str, str]:
    """An organisation worth showing (former names, relationships both ways) and a credential."""
    from orgbook.search import SearchQuery, search
    from orgbook.verifier.profiles import organisation_profile

    best: tuple[int, Any] | None = None
    with registry.engine.connect() as conn:
        for hit in search(conn, SearchQuery(text=None, limit=100)).hits:
            profile = organisation_profile(conn, hit.org_id)
            score = (
                2 * sum(not n.current for n in profile.names)
                + 3 * len({r.direction for r in profile.relationships})
                + len(profile.addresses)
                - len(profile.name) // 40
            )
            if best is None or score > best[0]:
                best = (score, profile)
    assert best is not None
    profile = best[1]
    current = next(c for c in profile.credentials if c.state == "current")
    return profile.id, current.id


def capture(out: Path, chromium: str, orgs: int) -> list[Path]:
    from playwright.sync_api import sync_playwright

    out.mkdir(parents=True, exist_ok=True)
    port = _free_port()
    shots: list[Path] = []
    with tempfile.TemporaryDirectory(prefix="orgbook-shots-") as tmp:
        registry = _build(Path(tmp), port, orgs)
        server = _serve(registry, port)
        base = f"http://127.0.0.1:{port}"
        org_id, credential_id = _showcase(registry)
        try:
            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
                credential = json.loads(
                    browser.new_page()
                    .request.get(f"{base}/api/v1/credentials/{credential_id}")
                    .text()
                )
                tampered = copy.deepcopy(credential)
                tampered["validFrom"] = "1999-01-01T00:00:00Z"
                for lang in LANGS:
                    for device, (width, height) in DEVICES.items():
                        context = browser.new_context(
                            viewport={"width": width, "height": height},
                            locale="fr-CA" if lang == "fr" else "en-CA",
                            device_scale_factor=1,
                        )
                        page = context.new_page()
                        page.set_default_timeout(15_000)

                        def shot(name: str, *, full: bool = True, pg: Any = page) -> None:
                            path = out / f"{name}-{lang}-{device}.png"  # noqa: B023
                            pg.screenshot(path=str(path), full_page=full)
                            shots.append(path)

                        page.goto(f"{base}/search?q=soci&lang={lang}")
                        shot("search")
                        if device == "desktop":
                            page.goto(f"{base}/?lang={lang}")
                            page.locator("#q").press_sequentially("soci", delay=30)
                            page.locator("#q-suggestions").wait_for(state="visible")
                            page.locator("#q").press("ArrowDown")
                            shot("suggest", full=False)

                        page.goto(f"{base}/organisations/{org_id}?lang={lang}")
                        card = page.locator("li.card.card-current").first
                        card.locator("summary").first.click()
                        card.locator("form.verify-form button").click()
                        card.locator(".inline-report .report").wait_for(state="visible")
                        shot("organisation")

                        page.goto(f"{base}/verify?lang={lang}")
                        page.locator("#document").fill(json.dumps(tampered, indent=2))
                        page.locator("form.verify-page-form button[type=submit]").click()
                        page.locator("#verify-result .report").wait_for(state="visible")
                        shot("verify")

                        page.goto(f"{base}/ledger?lang={lang}")
                        shot("ledger")

                        page.goto(f"{base}/?lang={lang}")
                        shot("home")

                        page.goto(f"{base}/stats?lang={lang}")
                        shot("stats")
                        context.close()
                browser.close()
        finally:
            server.should_exit = True
            registry.close()
    return shots


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("screenshots"))
    parser.add_argument("--orgs", type=int, default=300, help="organisations to generate")
    parser.add_argument(
        "--chromium",
        default=os.environ.get("ORGBOOK_TEST_CHROMIUM", "/usr/bin/chromium"),
        help="the Chromium binary (default: $ORGBOOK_TEST_CHROMIUM or /usr/bin/chromium)",
    )
    args = parser.parse_args(argv)
    if not Path(args.chromium).is_file():
        print(f"no Chromium at {args.chromium}: apt-get install chromium", file=sys.stderr)
        return 2
    started = time.monotonic()
    shots = capture(args.out, args.chromium, args.orgs)
    for path in shots:
        print(path)
    print(f"{len(shots)} screenshots in {time.monotonic() - started:.1f} s", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    raise SystemExit(main())
