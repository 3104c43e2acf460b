"""Licences and permits of an organisation: the profile API's ``licences`` and the page's section.

Other authorities' credentials (registered types), by issuer, labelled from the type definition
in English and French, with status (current, expired, revoked…) and expiry, on both backends.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from orgbook.issuer.authorisations import grant
from orgbook.issuer.credential_types import define_type
from orgbook.verifier.pages import path_quote
from tests.authorisations.scenario import (
    AGENCY,
    FEDERAL,
    LICENSING,
    T_LATE,
    VENDOR,
    Scenario,
    build,
    client,
    definition,
)
from tests.factories import PASSPHRASE, PUBLIC_URL

PERMIT = "GreenhousePermitCredential"
T_PERMIT = datetime(2026, 5, 1, tzinfo=UTC)


@pytest.fixture
def scenario(db_url: str, tmp_path: Path) -> Iterator[Scenario]:
    built = build(tmp_path, url=db_url)
    # an expired vendor credential (validUntil before today), and a permit whose type
    # displays labelled fields and expires in a year
    built.issue(
        issuer_did=AGENCY,
        vc_type=VENDOR,
        claims={"vendorNumber": "V-10"},
        event_id="vendor-2",
        on_behalf_of=FEDERAL,
        valid_until=datetime(2026, 4, 15, tzinfo=UTC),
        now=T_LATE,
    )
    body = definition(
        PERMIT,
        "permitNumber",
        name={"en": "Greenhouse permit", "fr": "Permis de serre"},
        fields={
            "permitNumber": {"en": "Permit number", "fr": "Numéro de permis"},
            "category": {"en": "Category", "fr": "Catégorie"},
        },
        expires="P5Y",
        display={
            "profile": ["permitNumber", "category"],
            "web": ["permitNumber", "category"],
            "search": [],
        },
    )
    data_dir = Path(built.registry.settings.data_dir)
    with built.registry.engine.begin() as conn:
        define_type(
            conn,
            built.registry.ledger,
            body,
            data_dir=data_dir,
            passphrase=PASSPHRASE,
            public_url=PUBLIC_URL,
            now=T_PERMIT,
        )
        grant(
            conn,
            built.registry.ledger,
            data_dir=data_dir,
            passphrase=PASSPHRASE,
            issuer_did=LICENSING,
            credential_type=PERMIT,
            jurisdictions=["CA-BC"],
            valid_from=T_PERMIT,
            now=T_PERMIT,
        )
    built.issue(
        vc_type=PERMIT,
        claims={"permitNumber": "GP-7", "category": "Nursery"},
        event_id="permit-1",
        now=T_PERMIT,
    )
    yield built
    built.registry.close()


@pytest.fixture
def http(scenario: Scenario) -> Iterator[TestClient]:
    with client(scenario) as c:
        yield c


def _by_type(licences: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = {}
    for licence in licences:
        out.setdefault(licence["vcType"], []).append(licence)
    return out


def test_profile_lists_licences_with_labels_status_and_expiry(
    http: TestClient, scenario: Scenario
) -> None:
    profile = http.get(f"/api/v1/organisations/{path_quote(scenario.bc_org)}").json()
    licences = profile["licences"]
    kinds = _by_type(licences)
    assert set(kinds) == {"BusinessLicenceCredential", VENDOR, PERMIT}
    # registry credentials are not licences
    assert all(x["type"] not in ("registration", "legal-name") for x in licences)

    (permit,) = kinds[PERMIT]
    assert permit["typeName"] == {"en": "Greenhouse permit", "fr": "Permis de serre"}
    assert permit["issuerDid"] == LICENSING
    assert permit["issuerName"] == "BC Business Licensing"
    assert permit["onBehalfOf"] is None
    assert permit["fields"] == [
        {
            "name": "permitNumber",
            "label": {"en": "Permit number", "fr": "Numéro de permis"},
            "value": "GP-7",
        },
        {"name": "category", "label": {"en": "Category", "fr": "Catégorie"}, "value": "Nursery"},
    ]
    assert permit["status"] == "current"
    assert permit["validUntil"].startswith("2031-05-01")

    statuses = sorted(v["status"] for v in kinds[VENDOR])
    assert statuses == ["current", "expired"]
    for vendor in kinds[VENDOR]:
        assert vendor["issuerDid"] == AGENCY
        assert vendor["onBehalfOf"] == FEDERAL
        assert vendor["onBehalfOfName"] == "Federal Department"
    expired = next(v for v in kinds[VENDOR] if v["status"] == "expired")
    assert expired["validUntil"].startswith("2026-04-15")
    # grouped by issuer: issuer names in order
    names = [x["issuerName"] for x in licences]
    assert names == sorted(names, key=str.casefold)


def test_other_organisations_have_none(http: TestClient, scenario: Scenario) -> None:
    profile = http.get(f"/api/v1/organisations/{path_quote(scenario.other_org)}").json()
    assert profile["licences"] == []


@pytest.mark.parametrize(
    ("lang", "heading", "type_name", "label", "expired"),
    [
        ("en", "Licences and permits", "Greenhouse permit", "Permit number", "Expired"),
        ("fr", "Permis et licences", "Permis de serre", "Numéro de permis", "Expiré"),
    ],
)
def test_page_shows_licences_by_issuer_in_both_languages(
    http: TestClient,
    scenario: Scenario,
    lang: str,
    heading: str,
    type_name: str,
    label: str,
    expired: str,
) -> None:
    page = http.get(f"/organisations/{path_quote(scenario.bc_org)}?lang={lang}")
    assert page.status_code == 200
    html = page.text
    section = html[html.index('id="licences-heading"') : html.index('id="timeline-heading"')]
    assert heading in section
    assert "BC Business Licensing" in section
    assert "Service Agency" in section
    assert "Federal Department" in section  # on behalf of
    assert type_name in section
    assert label in section
    assert "GP-7" in section
    assert expired in section
    assert section.index("BC Business Licensing") < section.index("Service Agency")
    # the timeline labels the permit from its type, not by its slug or VC type
    timeline = html[html.index('id="timeline-heading"') :]
    assert f"· {type_name}</h3>" in timeline
    assert "· greenhouse-permit" not in timeline
    assert f"· {PERMIT}" not in timeline
    assert f"{label}: GP-7" in timeline
