"""Search filters and facets by credential type and issuer cover credentials issued by
authorities (registered types): the API, its OpenAPI description and the web page's dropdowns,
labelled from the type definitions in English and French (both backends)."""

from __future__ import annotations

import html

from fastapi.testclient import TestClient

from orgbook.issuer.service import Issuance
from tests.authorisations.scenario import Scenario


def _ids(http: TestClient, **params: str) -> list[str]:
    answer = http.get("/api/v1/organisations", params=params)
    assert answer.status_code == 200, answer.text
    return [hit["orgId"] for hit in answer.json()["hits"]]


def test_the_api_filters_and_counts_authority_types_and_issuers(
    http: TestClient, scenario: Scenario
) -> None:
    assert _ids(http, credential_type="vendor") == [scenario.bc_org]
    assert _ids(http, credential_type="business-licence") == [scenario.bc_org]
    assert _ids(http, issuer="service-agency") == [scenario.bc_org]
    facets = http.get("/api/v1/organisations").json()["facets"]
    types = {f["value"]: f["count"] for f in facets["credentialType"]}
    issuers = {f["value"]: f["count"] for f in facets["issuer"]}
    assert types["vendor"] == 1
    assert types["business-licence"] == 1
    assert issuers["service-agency"] == 1
    assert issuers["bc-licensing"] == 1
    # a revoked licence is no longer held: the filter and the counts follow
    Issuance(scenario.registry).change_status(
        "service-agency", scenario.vendor.credential["id"], "revoke", reason="ended"
    )
    assert _ids(http, credential_type="vendor") == []
    facets = http.get("/api/v1/organisations").json()["facets"]
    assert "vendor" not in {f["value"] for f in facets["credentialType"]}

    spec = http.get("/openapi.json").json()
    params = {p["name"]: p for p in spec["paths"]["/api/v1/organisations"]["get"]["parameters"]}
    assert "registered type" in params["credential_type"]["description"]
    assert "authority" in params["issuer"]["description"]


def test_the_search_page_has_type_and_issuer_dropdowns(
    http: TestClient, scenario: Scenario
) -> None:
    page = http.get("/search", params={"credential_type": "vendor", "lang": "fr"})
    assert page.status_code == 200
    text = html.unescape(page.text)
    assert 'name="credential_type"' in text
    assert 'name="issuer"' in text
    assert '<option value="vendor" selected>VendorCredential (fr) (1)</option>' in text
    assert '<option value="service-agency">Service Agency (1)</option>' in text
    assert "Attestation détenue" in text
    assert scenario.bc_org in text
    english = html.unescape(http.get("/search", params={"lang": "en"}).text)
    assert '<option value="business-licence">BusinessLicenceCredential (1)</option>' in english
    assert "Credential held" in english
    # the filter is carried to the next page's link, and a bad value is no 500
    bad = http.get("/search", params={"credential_type": "x" * 300})
    assert bad.status_code in (200, 400)
