"""The verification report says what was proven: the claims in the page's language, check
reasons in words (French on French pages), dates in the reader's format, and for a tampered
copy the field that differs from the logged one."""

from __future__ import annotations

import copy
import json
import re

from fastapi.testclient import TestClient

from orgbook.runtime.registry import Registry
from tests.web.test_pages import _a_credential

_MICROSECONDS = re.compile(r"\d{2}:\d{2}:\d{2}\.\d{3,}")


def _visible(page: str) -> str:
    """The report as a reader sees it first: technical details (folded) and scripts left out."""
    page = re.sub(r'<details class="check-more">.*?</details>', "", page, flags=re.S)
    page = re.sub(r"<script.*?</script>", "", page, flags=re.S)
    return re.sub(r"<textarea.*?</textarea>", "", page, flags=re.S)


def test_report_states_the_claims_in_english(client: TestClient, web_registry: Registry) -> None:
    credential = _a_credential(client, web_registry)
    r = client.post("/verify", data={"document": json.dumps(credential)}, params={"lang": "en"})
    page = _visible(r.text)
    assert "What this credential states" in page
    claims = dict(re.findall(r"<div><dt>([^<]+)</dt><dd>([^<]*)</dd></div>", page))
    number = credential["credentialSubject"]["id"].rsplit(":", 1)[-1]
    assert claims["Registration number"] == number
    assert re.fullmatch(r"[A-Z][a-z]+ \d{1,2}, \d{4}", claims["Valid from"])
    assert "signature is valid: the credential is unchanged since it was signed" in page
    assert not _MICROSECONDS.search(page)
    assert "report-differs" not in page


def test_french_report_and_a_tampered_field(client: TestClient, web_registry: Registry) -> None:
    credential = _a_credential(client, web_registry)
    tampered = copy.deepcopy(credential)
    subject = tampered["credentialSubject"]
    field = next(k for k in subject if k not in ("id", "type") and isinstance(subject[k], str))
    subject[field] = subject[field] + " X"
    r = client.post("/verify", data={"document": json.dumps(tampered)}, params={"lang": "fr"})
    assert '<html lang="fr">' in r.text
    page = _visible(r.text)
    assert "Ce que cette attestation affirme" in page
    assert f"credentialSubject.{field}" in page
    assert "La signature ne correspond pas" in page
    # every check's reason is in French, the English detail folded away
    reasons = re.findall(r'<span class="check-reason"( lang="en")?>', page)
    assert reasons
    assert all(lang == "" for lang in reasons)
    assert "Détails techniques (en anglais)" in r.text
    assert not _MICROSECONDS.search(page)
