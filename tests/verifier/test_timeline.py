"""The organisation timeline: current facts first in a fixed order, earlier credentials newest
first, one badge each (a suspended credential is never also current), claims in words."""

from __future__ import annotations

from typing import Any

from orgbook.verifier.claims import claims, statement
from orgbook.verifier.i18n import translator
from orgbook.verifier.pages import CredentialView
from orgbook.verifier.profiles import CredentialSummary
from orgbook.verifier.timeline import build_timeline


def view(cid: str, kind: str, state: str, effective: str, index: int, suspended: bool = False):  # type: ignore[no-untyped-def]
    summary = CredentialSummary(
        id=cid,
        type=kind,
        state=state,
        suspended=suspended,
        effective=effective,
        issuer="bc-registries",
        ledger_index=index,
        superseded_by=None,
        history=(),
    )
    return CredentialView(summary=summary, valid_until=None, attributes=[], pretty="", filename="")


SUBJECTS: dict[str, dict[str, Any]] = {
    "reg": {"registeredName": "Acme Ltd.", "registeredId": "BC0000001"},
    "n1": {"legalName": "Acme Ltd."},
    "n2": {"legalName": "Acme Holdings Ltd."},
    "st": {"status": "active"},
    "ad": {
        "addressType": "registered",
        "streetAddress": "1 Main St",
        "addressLocality": "Victoria",
        "addressRegion": "BC",
        "postalCode": "V8W 1A1",
        "addressCountry": "CA",
    },
    "rel": {
        "relationshipType": "parent-of",
        "relatedOrganisation": {"jurisdiction": "CA-BC", "registeredId": "BC2", "name": "Kid"},
    },
}


def test_current_facts_first_earlier_newest_first_one_badge() -> None:
    views = [
        view("rel", "relationship", "current", "2020-01-01", 9),
        view("n1", "legal-name", "superseded", "1990-01-01", 2),
        view("ad", "address", "current", "1990-01-01", 3, suspended=True),
        view("n2", "legal-name", "current", "2010-05-01", 7),
        view("st", "status", "current", "1990-01-01", 4),
        view("reg", "registration", "current", "1990-01-01", 1),
    ]
    docs = {cid: {"credentialSubject": subject} for cid, subject in SUBJECTS.items()}
    t = translator("en")
    timeline = build_timeline(views, docs, t)
    assert [i.view.summary.id for i in timeline.current] == ["reg", "n2", "st", "ad", "rel"]
    assert [i.view.summary.id for i in timeline.earlier] == ["n1"]
    badges = {i.view.summary.id: i.badge for i in timeline.current + timeline.earlier}
    assert badges == {
        "reg": "current",
        "n2": "current",
        "st": "current",
        "ad": "suspended",
        "rel": "current",
        "n1": "superseded",
    }
    said = {i.view.summary.id: i.statement for i in timeline.current}
    assert said["reg"] == "Acme Ltd. (BC0000001)"
    assert said["ad"] == "Registered office: 1 Main St, Victoria, BC V8W 1A1, Canada"
    assert said["st"] == "Active"
    assert said["rel"] == "Parent of"
    assert timeline.current[-1].related == ("CA-BC:BC2", "Kid")


def test_statements_in_french() -> None:
    fr = translator("fr")
    assert statement("status", {"status": "dissolved"}, fr) == "Dissoute"
    assert statement("address", SUBJECTS["ad"], fr).startswith("Siège social")
    rows = dict(
        claims(
            {
                "type": ["VerifiableCredential", "LegalNameCredential"],
                "validFrom": "2010-05-01T00:00:00Z",
                "credentialSubject": {
                    "id": "urn:orgbook:org:CA-BC:BC0000001",
                    "legalName": "Acme",
                    "effectiveDate": "2010-05-01",
                },
            },
            fr,
        )
    )
    assert rows["Attestation"] == "Dénomination"
    assert rows["Dénomination"] == "Acme"
    assert rows["Numéro d’enregistrement"] == "BC0000001"
    assert rows["En vigueur depuis le"] == "1er mai 2010"
    assert "T00" not in " ".join(rows.values())
