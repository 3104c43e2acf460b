"""The web page and a business's DID (issue 19 items 1-2): the organisation page shows the bound
DID, and the verify page verifies a presentation with the challenge and domain fields, showing
each enclosed credential's or bundle's checks, in English and French, without JavaScript.

The browser tests (``test_browser_presentation.py``) use :func:`bound_registry` too.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from orgbook.app import create_app
from orgbook.core.crypto import Ed25519Signer
from orgbook.core.did import did_key_from_public_key
from orgbook.runtime.registry import Registry
from tests.issuer.test_binding import API, ORG, challenge, open_binding_registry, proof
from tests.verifier.test_presentation import DOMAIN, NONCE, bundles, present


def bound_registry(tmp_path: Path, db_url: str) -> tuple[Registry, Ed25519Signer]:
    """A registry where ``ORG`` has bound a did:key (its signer returned)."""
    registry, key = open_binding_registry(tmp_path, db_url)
    signer = Ed25519Signer.generate()
    with TestClient(create_app(registry.settings, registry=registry)) as client:
        client.headers["Authorization"] = f"Bearer {key}"
        response = client.post(
            API, json={"organisation": ORG, "proof": proof(signer, challenge(client))}
        )
        assert response.status_code == 201, response.text
    return registry, signer


@pytest.fixture
def bound(tmp_path: Path, db_url: str) -> Iterator[tuple[Registry, TestClient, Ed25519Signer]]:
    registry, signer = bound_registry(tmp_path, db_url)
    with TestClient(create_app(registry.settings, registry=registry)) as client:
        yield registry, client, signer
    registry.close()


@pytest.mark.parametrize(("lang", "label"), [("en", "Business DID"), ("fr", "DID de l’entreprise")])
def test_the_organisation_page_shows_the_bound_did(
    bound: tuple[Registry, TestClient, Ed25519Signer], lang: str, label: str
) -> None:
    _, client, signer = bound
    page = client.get(f"/organisations/{ORG}?lang={lang}")
    assert page.status_code == 200
    did = did_key_from_public_key(signer.public_key)
    assert label in page.text
    assert f"<code>{did}</code>" in page.text
    # its anchor is one of the credentials, with a label of its own
    assert ("Digital Identity Anchor" if lang == "en" else "Ancrage d’identité") in page.text


def test_an_organisation_without_a_binding_shows_no_did(
    bound: tuple[Registry, TestClient, Ed25519Signer],
) -> None:
    _, client, _ = bound
    page = client.get("/organisations/CA-BC:BC7654321?lang=en")
    assert page.status_code == 200
    assert "Business DID" not in page.text


def _checks(html: str) -> int:
    return html.count('class="check check-')


def test_the_verify_form_takes_a_challenge_and_domain(
    bound: tuple[Registry, TestClient, Ed25519Signer],
) -> None:
    registry, client, signer = bound
    form = client.get("/verify?lang=en").text
    assert 'name="challenge"' in form
    assert 'name="domain"' in form
    held = bundles(registry)
    vp = json.dumps(present(signer, held))
    page = client.post(
        "/verify?lang=en", data={"document": vp, "challenge": NONCE, "domain": DOMAIN}
    )
    assert page.status_code == 200
    html = page.text
    assert "report-valid" in html
    assert "report-invalid" not in html
    assert "Holder bound to the organisation" in html
    assert did_key_from_public_key(signer.public_key) in html
    # one nested report per item, each with its own checks (headings nest: h2, h3, h4)
    assert html.count('class="report-item"') == len(held)
    assert '<h3 id="report-heading-items">' in html
    assert '<h4 id="report-heading-item-1"' in html
    assert _checks(html) > 6 + len(held) * 4
    # the fields keep what was typed
    assert f'value="{NONCE}"' in html
    assert f'value="{DOMAIN}"' in html


@pytest.mark.parametrize(
    ("fields", "failing"),
    [
        ({"challenge": "another-request", "domain": DOMAIN}, "challenge"),
        ({"challenge": NONCE, "domain": "evil.example"}, "domain"),
        ({}, "challenge"),
    ],
    ids=["replayed", "retargeted", "no-fields"],
)
def test_the_verify_page_refuses_a_replayed_or_retargeted_presentation(
    bound: tuple[Registry, TestClient, Ed25519Signer], fields: dict[str, str], failing: str
) -> None:
    registry, client, signer = bound
    vp = json.dumps(present(signer, bundles(registry)))
    html = client.post("/verify?lang=fr", data={"document": vp, **fields}).text
    assert "report-invalid" in html
    name = {"challenge": "Défi", "domain": "Domaine"}[failing]
    assert f'<span class="check-name">{name}</span>' in html
    assert 'class="check check-fail"' in html


def test_a_credential_is_verified_as_before_with_the_fields_empty(
    bound: tuple[Registry, TestClient, Ed25519Signer],
) -> None:
    registry, client, _ = bound
    bundle: dict[str, Any] = bundles(registry)[0]
    html = client.post(
        "/verify?lang=en", data={"document": json.dumps(bundle), "challenge": "", "domain": ""}
    ).text
    assert "report-valid" in html
    assert "report-item" not in html
