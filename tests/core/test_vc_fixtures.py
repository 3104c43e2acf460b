"""The W3C VC Data Model 2.0 test-suite inputs through the ``schema`` check.

Every ``*-ok.json`` passes; every ``*-fail.json`` (and ``*-fail-or-inject.json``) fails, and the
reason names what the file is about. See tests/vectors/vc-data-model-2.0/SOURCE.md for how the
suite's issuer-side injection is mirrored.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from orgbook.core.schemas import validate_data_model
from orgbook.verification.credential import check_schema

FIXTURES = Path(__file__).resolve().parent.parent / "vectors" / "vc-data-model-2.0"
TEST_ISSUER = "did:example:test-suite-issuer"

# What the reason must mention, by a fragment of the file name (first match wins).
EXPECTED_REASON = [
    ("validUntil-validFrom", "validUntil is before validFrom"),
    ("validfrom-invalid", "validFrom"),
    ("validuntil-invalid", "validUntil"),
    ("context-order", "first @context item"),
    ("missing-base-context", "first @context item"),
    ("no-context", "@context is missing"),
    ("context-combo", "@context"),
    ("redef-type", "protected term"),
    ("type-mapped-nonurl", "not a URL"),
    ("type-unmapped", "not mapped"),
    ("vc-missing-required-type", "type is empty"),
    ("missing-required-type", "type must include"),
    ("no-type", "type is missing"),
    ("evidence", "evidence"),
    ("refresh", "refreshService"),
    ("termsofuse", "termsOfUse"),
    ("proof-missing-type", "proof type"),
    ("schema-no-id", "credentialSchema id"),
    ("schema-non-url-id", "credentialSchema id"),
    ("schema-no-type", "credentialSchema type"),
    ("status-type-nonurl", "credentialStatus type"),
    ("status-missing-type", "credentialStatus type"),
    ("status-", "credentialStatus id"),
    ("subject-multiple-empty", "no claims"),
    ("subject-no-claims", "no claims"),
    ("id-subject-multi", "credentialSubject id"),
    ("no-subject", "credentialSubject is missing"),
    ("no-issuer", "issuer is missing"),
    ("issuer-object-id", "issuer id"),
    ("issuer-null", "issuer must be a URL"),
    ("issuer-no-url", "issuer must be a URL"),
    ("description-extra-prop", "description must be"),
    ("name-extra-prop", "name must be"),
    ("holder", "holder"),
    ("vc-as-string", "must be objects"),
    ("enveloped-vc-missing-type", "type is missing"),
    ("id-", "id must be a single URL"),
]


def _expected(name: str) -> str | None:
    if name.endswith("-ok.json"):
        return "ok"
    if "-fail" in name:
        return "fail"
    return None  # holder-binding files: not a data-model test


FILES = sorted(p for p in FIXTURES.rglob("*.json") if _expected(p.name) is not None)


def _as_issued(path: Path) -> Any:
    """The document as the suite's issuer would hand it on: placeholders and issuer filled in."""
    text = path.read_text(encoding="utf-8")
    text = text.replace('"PAST DATE"', '"2020-01-01T00:00:00Z"')
    text = text.replace('"FUTURE DATE"', '"2999-12-31T23:59:59Z"')
    doc = json.loads(text)
    if not isinstance(doc, dict) or path.name.startswith("presentation"):
        return doc
    if "issuer" not in doc and "no-issuer" not in path.name:
        doc["issuer"] = TEST_ISSUER
    if isinstance(doc.get("issuer"), dict):
        doc["issuer"].setdefault("id", TEST_ISSUER)  # an explicit "id": null stays
    return doc


def test_fixture_set_is_complete() -> None:
    assert (FIXTURES / "LICENSE.md").is_file()
    assert (FIXTURES / "SOURCE.md").is_file()
    oks = [p for p in FILES if _expected(p.name) == "ok"]
    fails = [p for p in FILES if _expected(p.name) == "fail"]
    assert len(oks) >= 40
    assert len(fails) >= 45


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_schema_check_on_suite_input(path: Path) -> None:
    doc = _as_issued(path)
    problems = validate_data_model(doc)
    if path.name.startswith("presentation"):
        # Presentations are not credentials: the data-model rules judge them, not check_schema.
        outcome = "fail" if problems else "pass"
        reason = "; ".join(str(p) for p in problems)
    else:
        check = check_schema(doc)
        assert check.name == "schema"
        outcome = check.outcome
        assert (outcome == "fail") == bool(problems)
        if problems:
            assert check.reason.endswith(
                str(problems[0]) + (f" (and {len(problems) - 1} more)" if len(problems) > 1 else "")
            )
            assert [d["message"] for d in check.details["problems"]] == [
                p.message for p in problems
            ]
        reason = "; ".join(str(p) for p in problems) or check.reason
    if _expected(path.name) == "ok":
        assert outcome == "pass", reason
        return
    assert outcome == "fail", f"{path.name} was accepted"
    fragment = next((want for key, want in EXPECTED_REASON if key in path.name), None)
    assert fragment is not None, f"no expected reason listed for {path.name}"
    assert fragment in reason, f"{path.name}: {reason!r} does not mention {fragment!r}"


def test_fail_or_inject_files_are_rejected_not_repaired() -> None:
    for path in FIXTURES.glob("*-fail-or-inject.json"):
        assert validate_data_model(_as_issued(path)), path.name


def test_issuer_injection_is_what_makes_ok_files_pass() -> None:
    """Guard the harness: without the suite's issuer step a bare ok file has no issuer."""
    doc = json.loads((FIXTURES / "credential-ok.json").read_text(encoding="utf-8"))
    assert [p.message for p in validate_data_model(doc)] == ["issuer is missing"]
