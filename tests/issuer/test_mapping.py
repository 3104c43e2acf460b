"""Record → credential drafts: exactly what docs/data-model.md's table says."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from orgbook.core.credentials import CredentialType, build_credential, credential_id
from orgbook.core.schemas import validate_credential
from orgbook.issuer.mapping import (
    BC_ENTITY_TYPES,
    CredentialDraft,
    entity_type,
    inverse_relationship,
    map_record,
)
from orgbook.issuer.records import parse_record
from orgbook.issuer.sample import generate_feed

DID = "did:web:registry.example:bc"
NAME = "BC Registries"
ORG = "CA-BC:BC1287139"


def record(kind: str, **fields: Any) -> dict[str, Any]:
    out: dict[str, Any] = {
        "event_id": f"evt-{kind}",
        "kind": kind,
        "jurisdiction": "CA-BC",
        "registration_number": "BC1287139",
        "effective_date": "2021-02-03T09:42:00-08:00",
    }
    out.update(fields)
    return out


def drafts(obj: dict[str, Any]) -> list[CredentialDraft]:
    return map_record(parse_record(obj), issuer_did=DID, issuer_name=NAME)


def as_credential(draft: CredentialDraft) -> dict[str, Any]:
    jurisdiction, _, number = draft.organisation_id.partition(":")
    return build_credential(
        credential_type=CredentialType.from_slug(draft.type_slug),
        issuer=DID,
        issuer_name=NAME,
        subject=draft.subject,
        subject_jurisdiction=jurisdiction,
        subject_number=number,
        credential_id=credential_id(DID, draft.event_id, "|".join(draft.supersession_key)),
        valid_from=draft.effective.strftime("%Y-%m-%dT%H:%M:%SZ"),
    )


EFFECTIVE = datetime(2021, 2, 3, 17, 42, tzinfo=UTC)


def test_full_registration() -> None:
    found = drafts(
        record(
            "registration",
            name="Boulangerie Lévesque Ltée",
            name_language="fr",
            alternate_names=[{"name": "Lévesque Bakery Ltd.", "language": "en"}],
            entity_type="BC",
            home_jurisdiction="BRITISH COLUMBIA",
            address={
                "address_type": "registered",
                "street": "800 Granville St",
                "city": "Vancouver",
                "region": "BC",
                "postal_code": "V6Z 1K3",
                "country": "CA",
            },
            business_number="123456789RC0001",
        )
    )
    assert [d.type_slug for d in found] == [
        "registration",
        "legal-name",
        "status",
        "address",
        "business-number",
    ]
    assert all(d.organisation_id == ORG for d in found)
    assert all(d.event_id == "evt-registration" for d in found)
    assert all(d.effective == EFFECTIVE for d in found)
    assert [d.supersession_key for d in found] == [
        (ORG, "registration"),
        (ORG, "legal-name"),
        (ORG, "status"),
        (ORG, "address", "registered"),
        (ORG, "business-number"),
    ]
    registration, legal_name, status, address, bn = (d.subject for d in found)
    assert registration == {
        "type": ["RegisteredIdentity"],
        "registeredId": "BC1287139",
        "registeredName": "Boulangerie Lévesque Ltée",
        "registeredDate": "2021-02-03",
        "schemeId": "https://orgbook.example/registers/CA-BC",
        "registrar": {"id": DID, "name": NAME},
        "registerType": "Business",
        "jurisdiction": "CA-BC",
        "entityType": {"code": "BC", "name": "BC Company"},
        "homeJurisdiction": {"text": "BRITISH COLUMBIA", "code": "CA-BC"},
    }
    assert legal_name == {
        "legalName": "Boulangerie Lévesque Ltée",
        "language": "fr",
        "alternateNames": [{"name": "Lévesque Bakery Ltd.", "language": "en"}],
        "effectiveDate": "2021-02-03",
    }
    assert status == {"status": "active", "effectiveDate": "2021-02-03"}
    assert address == {
        "addressType": "registered",
        "streetAddress": "800 Granville St",
        "addressLocality": "Vancouver",
        "addressRegion": "BC",
        "postalCode": "V6Z 1K3",
        "addressCountry": "CA",
        "effectiveDate": "2021-02-03",
    }
    assert bn == {
        "businessNumber": "123456789",
        "programAccount": "RC0001",
        "effectiveDate": "2021-02-03",
    }
    for draft in found:
        assert "id" not in draft.subject
        assert validate_credential(as_credential(draft)) == []


def test_minimal_registration_and_prefix_inferred_entity_type() -> None:
    found = drafts(record("registration", registration_number="FM0831620", name="Smith Plumbing"))
    assert [d.type_slug for d in found] == ["registration", "legal-name", "status"]
    assert found[0].subject["entityType"] == {
        "code": "FM",
        "name": "Firm (Sole Proprietorship or General Partnership)",
    }
    assert "homeJurisdiction" not in found[0].subject
    assert found[1].subject == {"legalName": "Smith Plumbing", "effectiveDate": "2021-02-03"}


def test_snapshot_registration_carries_the_summary_status() -> None:
    found = drafts(record("registration", name="OLD CO. LTD.", status="HIS"))
    assert found[2].subject["status"] == "inactive"


def test_unmatched_home_jurisdiction_is_kept_with_null_code() -> None:
    found = drafts(
        record(
            "registration",
            registration_number="A0045139",
            name="X",
            home_jurisdiction="C/O MACKIMMIE MATTHEWS",
        )
    )
    assert found[0].subject["homeJurisdiction"] == {"text": "C/O MACKIMMIE MATTHEWS", "code": None}
    assert found[0].subject["entityType"] == {"code": "A", "name": "Extraprovincial Company"}
    assert validate_credential(as_credential(found[0])) == []


@pytest.mark.parametrize(
    ("jurisdiction", "number", "code", "name", "expected"),
    [
        (
            "CA-BC",
            "BC1287139",
            "ULC",
            None,
            {"code": "ULC", "name": "BC Unlimited Liability Company"},
        ),
        ("CA-BC", "BC1285774", "BEN", None, {"code": "BEN", "name": "BC Benefit Company"}),
        (
            "CA-BC",
            "BC1007252",
            "CC",
            None,
            {"code": "CC", "name": "BC Community Contribution Company"},
        ),
        ("CA-BC", "C1287119", None, None, {"code": "C", "name": "Continued In Company"}),
        ("CA-BC", "CP0002373", None, None, {"code": "CP", "name": "Cooperative Association"}),
        (
            "CA-BC",
            "LLC0001174",
            None,
            None,
            {"code": "LLC", "name": "Extraprovincial Limited Liability Company"},
        ),
        (
            "CA-BC",
            "XCP0002358",
            None,
            None,
            {"code": "XCP", "name": "Extraprovincial Cooperative Association"},
        ),
        ("CA-BC", "LL0001951", None, None, {"code": "LL", "name": "Limited Liability Partnership"}),
        ("CA-BC", "QA0000017", None, None, {"code": "QA"}),
        ("CA-BC", "ZZ9", None, None, {"code": "UNKNOWN"}),
        ("CA-BC", "BC1", "NEWTYPE", None, {"code": "NEWTYPE"}),
        (
            "CA-NS",
            "3012345",
            "NSLC",
            "Nova Scotia Limited Company",
            {"code": "NSLC", "name": "Nova Scotia Limited Company"},
        ),
        ("CA-NS", "3012345", "BC", None, {"code": "BC"}),
    ],
)
def test_entity_types(
    jurisdiction: str, number: str, code: str | None, name: str | None, expected: dict[str, str]
) -> None:
    assert entity_type(jurisdiction, number, code, name) == expected


def test_entity_type_table_names_every_code_the_brief_lists() -> None:
    for code in ("BC", "ULC", "BEN", "CC", "A", "C", "CP", "S", "SP", "GP", "LP", "LL", "XP",
                 "XL", "XS", "XCP"):  # fmt: skip
        assert BC_ENTITY_TYPES[code]


def test_name_change() -> None:
    (draft,) = drafts(record("name_change", name="  SMITH AND SONS LTD. "))
    assert draft.type_slug == "legal-name"
    assert draft.subject == {"legalName": "SMITH AND SONS LTD.", "effectiveDate": "2021-02-03"}
    assert draft.supersession_key == (ORG, "legal-name")


def test_address_change_keys_on_address_type() -> None:
    (draft,) = drafts(
        record("address_change", address={"address_type": "mailing", "city": "Victoria"})
    )
    assert draft.supersession_key == (ORG, "address", "mailing")
    assert draft.subject == {
        "addressType": "mailing",
        "addressLocality": "Victoria",
        "effectiveDate": "2021-02-03",
    }
    assert validate_credential(as_credential(draft)) == []


@pytest.mark.parametrize(
    ("status", "reason", "subject"),
    [
        (
            "dissolved",
            "voluntary dissolution",
            {"status": "dissolved", "statusReason": "voluntary dissolution"},
        ),
        ("dissolved", None, {"status": "dissolved"}),
        ("restored", None, {"status": "active", "statusReason": "restored"}),
        ("restored", "court order", {"status": "active", "statusReason": "court order"}),
        ("continued-out", "to Alberta", {"status": "continued-out", "statusReason": "to Alberta"}),
        ("cancelled", None, {"status": "cancelled"}),
        ("HIS", None, {"status": "inactive"}),
        ("amalgamated", None, {"status": "amalgamated"}),
    ],
)
def test_status_changes(status: str, reason: str | None, subject: dict[str, str]) -> None:
    (draft,) = drafts(record("status_change", status=status, reason=reason))
    assert draft.type_slug == "status"
    assert draft.subject == {**subject, "effectiveDate": "2021-02-03"}
    assert draft.supersession_key == (ORG, "status")
    assert validate_credential(as_credential(draft)) == []


def test_amalgamation_gives_status_and_relationship_and_its_inverse() -> None:
    into = {"jurisdiction": "CA-BC", "registration_number": "BC1400001", "name": "Côté Holdings"}
    status, relationship = drafts(
        record("status_change", status="amalgamated", reason="amalgamation", amalgamated_into=into)
    )
    assert status.subject["status"] == "amalgamated"
    assert relationship.type_slug == "relationship"
    assert relationship.subject == {
        "relationshipType": "amalgamated-into",
        "relatedOrganisation": {
            "id": "urn:orgbook:org:CA-BC:BC1400001",
            "registeredId": "BC1400001",
            "jurisdiction": "CA-BC",
            "name": "Côté Holdings",
        },
        "effectiveDate": "2021-02-03",
    }
    assert relationship.supersession_key == (
        ORG,
        "relationship",
        "amalgamated-into",
        "CA-BC:BC1400001",
    )

    inverse = inverse_relationship(relationship, related_name="1287139 B.C. LTD.")
    assert inverse is not None
    assert inverse.organisation_id == "CA-BC:BC1400001"
    assert inverse.subject == {
        "relationshipType": "amalgamated-from",
        "relatedOrganisation": {
            "id": "urn:orgbook:org:CA-BC:BC1287139",
            "registeredId": "BC1287139",
            "jurisdiction": "CA-BC",
            "name": "1287139 B.C. LTD.",
        },
        "effectiveDate": "2021-02-03",
    }
    assert inverse.supersession_key == ("CA-BC:BC1400001", "relationship", "amalgamated-from", ORG)
    assert inverse.effective == relationship.effective
    assert inverse.event_id != relationship.event_id
    assert as_credential(inverse)["id"] != as_credential(relationship)["id"]
    for draft in (status, relationship, inverse):
        assert validate_credential(as_credential(draft)) == []


@pytest.mark.parametrize(
    ("kind", "inverse_kind"),
    [("parent-of", "subsidiary-of"), ("subsidiary-of", "parent-of"), ("doing-business-as", None),
     ("amalgamated-into", "amalgamated-from")],
)  # fmt: skip
def test_relationships_and_their_inverses(kind: str, inverse_kind: str | None) -> None:
    related = {"jurisdiction": "CA", "registration_number": "1234567-8", "name": "Acme Canada Inc."}
    (draft,) = drafts(
        record("relationship", relationship_type=kind, related=related, end_date="2030-01-01")
    )
    assert draft.subject["relationshipType"] == kind
    assert draft.subject["endDate"] == "2030-01-01"
    assert draft.subject["relatedOrganisation"]["id"] == "urn:orgbook:org:CA:1234567-8"
    assert draft.supersession_key == (ORG, "relationship", kind, "CA:1234567-8")
    assert validate_credential(as_credential(draft)) == []
    inverse = inverse_relationship(draft)
    if inverse_kind is None:
        assert inverse is None
        return
    assert inverse is not None
    assert inverse.subject["relationshipType"] == inverse_kind
    assert inverse.subject["endDate"] == "2030-01-01"
    assert "name" not in inverse.subject["relatedOrganisation"]
    assert inverse.organisation_id == "CA:1234567-8"
    assert inverse.supersession_key == ("CA:1234567-8", "relationship", inverse_kind, ORG)
    twice = inverse_relationship(inverse)
    assert twice is not None
    assert twice.subject["relationshipType"] == kind
    assert twice.organisation_id == ORG


def test_inverse_of_a_non_relationship_is_none() -> None:
    for draft in drafts(record("registration", name="X")):
        assert inverse_relationship(draft) is None


def test_business_number() -> None:
    (draft,) = drafts(record("business_number", business_number="123 456 789"))
    assert draft.subject == {"businessNumber": "123456789", "effectiveDate": "2021-02-03"}
    assert draft.supersession_key == (ORG, "business-number")


def test_registration_numbers_that_need_encoding_in_the_subject_uri() -> None:
    related = {"jurisdiction": "CA-BC", "registration_number": "FM 083/1620"}
    (draft,) = drafts(
        record("relationship", relationship_type="doing-business-as", related=related)
    )
    ref = draft.subject["relatedOrganisation"]
    assert ref["registeredId"] == "FM 083/1620"
    assert " " not in ref["id"]
    assert "/" not in ref["id"].removeprefix("urn:orgbook:org:")
    assert validate_credential(as_credential(draft)) == []


def test_every_generated_draft_builds_a_schema_valid_credential() -> None:
    kinds: set[str] = set()
    for obj in generate_feed(150, seed=11):
        for draft in drafts(obj):
            kinds.add(draft.type_slug)
            assert validate_credential(as_credential(draft)) == [], (obj, draft)
            inverse = inverse_relationship(draft, related_name="Some Name")
            if inverse is not None:
                assert validate_credential(as_credential(inverse)) == []
    assert kinds == {t.slug for t in CredentialType}
