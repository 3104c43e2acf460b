"""Registry record → credential drafts: which credentials a record produces and what they say.

:func:`map_record` follows the table in docs/data-model.md exactly:

============== ==========================================================================
record kind    drafts
============== ==========================================================================
registration   registration, legal-name, status (``active`` unless the registry's snapshot
               says otherwise), address (if given), business-number (if given)
name_change    legal-name
address_change address
status_change  status (``restored`` → ``active`` with reason ``restored``); ``amalgamated``
               with ``amalgamated_into`` also a relationship ``amalgamated-into``
relationship   relationship
business_number business-number
============== ==========================================================================

A draft is plain data: the credential type's slug, the ``credentialSubject`` without ``id``
(camelCase, as docs/data-model.md's columns say), the supersession key, the effective instant,
the registry event id and the organisation id. The issuer service turns it into a signed VC with
:func:`orgbook.core.credentials.build_credential`.

Relationships are shown on both sides: :func:`inverse_relationship` gives the counterpart draft
for the related organisation (``parent-of`` ↔ ``subsidiary-of``, ``amalgamated-into`` ↔
``amalgamated-from``; ``doing-business-as`` has no counterpart type). Pure: no I/O.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from orgbook.core.credentials import subject_id
from orgbook.issuer.records import Record

__all__ = [
    "BC_ENTITY_TYPES",
    "INVERSE_RELATIONSHIPS",
    "CredentialDraft",
    "entity_type",
    "inverse_relationship",
    "map_record",
    "scheme_id",
]

SCHEME_BASE = "https://orgbook.example/registers"

BC_ENTITY_TYPES: dict[str, str] = {
    "BC": "BC Company",
    "ULC": "BC Unlimited Liability Company",
    "BEN": "BC Benefit Company",
    "CC": "BC Community Contribution Company",
    "A": "Extraprovincial Company",
    "B": "Extraprovincial Company",
    "C": "Continued In Company",
    "CUL": "Continued In Unlimited Liability Company",
    "CBEN": "Continued In Benefit Company",
    "CCC": "Continued In Community Contribution Company",
    "CP": "Cooperative Association",
    "XCP": "Extraprovincial Cooperative Association",
    "S": "Society",
    "CS": "Continued In Society",
    "XS": "Extraprovincial Society",
    "SP": "Sole Proprietorship",
    "GP": "General Partnership",
    "FM": "Firm (Sole Proprietorship or General Partnership)",
    "LP": "Limited Partnership",
    "XP": "Extraprovincial Limited Partnership",
    "LL": "Limited Liability Partnership",
    "XL": "Extraprovincial Limited Liability Partnership",
    "LLC": "Extraprovincial Limited Liability Company",
    "FI": "Financial Institution",
    "PA": "Private Act",
    "MF": "Miscellaneous Firm",
    "FOR": "Foreign Registration",
    "EPR": "Extraprovincial Registration",
    "REG": "Extraprovincial Registration",
    "LIC": "Licensed Extraprovincial Company",
}
"""BC Registries entity type codes (``corp_typ_cd``) and their names; other codes are kept as
the registry gave them."""

_PREFIXES = sorted((*BC_ENTITY_TYPES, "QA", "QB", "QC", "QD", "QE"), key=lambda p: (-len(p), p))

INVERSE_RELATIONSHIPS: dict[str, str] = {
    "parent-of": "subsidiary-of",
    "subsidiary-of": "parent-of",
    "amalgamated-into": "amalgamated-from",
    "amalgamated-from": "amalgamated-into",
}


@dataclass(frozen=True, slots=True)
class CredentialDraft:
    """One credential to issue, before ids, status entries and proof.

    ``subject`` is the ``credentialSubject`` without ``id``; ``supersession_key`` names "the
    current one" it replaces: ``(organisation_id, type_slug)``, plus the address type for an
    address, plus the relationship type and the related organisation id for a relationship.
    """

    type_slug: str
    subject: dict[str, Any]
    supersession_key: tuple[str, ...]
    effective: datetime
    event_id: str
    organisation_id: str


def scheme_id(jurisdiction: str) -> str:
    """The register's URI, the registration credential's ``schemeId``."""
    return f"{SCHEME_BASE}/{jurisdiction}"


def entity_type(
    jurisdiction: str, registration_number: str, code: str | None, name: str | None = None
) -> dict[str, str]:
    """``entityType`` ``{code, name}``: the registry's code, else the BC number's prefix
    (``FM0831620`` → ``FM``), else ``UNKNOWN``; its name from the record, else BC's table."""
    if not code and jurisdiction == "CA-BC":
        code = next(
            (
                p
                for p in _PREFIXES
                if registration_number.startswith(p) and registration_number[len(p) :].isdigit()
            ),
            None,
        )
    code = code or "UNKNOWN"
    if not name:
        name = BC_ENTITY_TYPES.get(code) if jurisdiction == "CA-BC" else None
    return {"code": code, "name": name} if name else {"code": code}


def _organisation_id(jurisdiction: str, number: str) -> str:
    return f"{jurisdiction}:{number}"


def _related(ref: dict[str, Any]) -> dict[str, Any]:
    out = {
        "id": subject_id(ref["jurisdiction"], ref["registration_number"]),
        "registeredId": ref["registration_number"],
        "jurisdiction": ref["jurisdiction"],
    }
    if ref.get("name"):
        out["name"] = ref["name"]
    return out


def _legal_name(data: dict[str, Any], day: str) -> dict[str, Any]:
    subject: dict[str, Any] = {"legalName": data["name"]}
    if "name_language" in data:
        subject["language"] = data["name_language"]
    if data.get("alternate_names"):
        subject["alternateNames"] = [dict(alt) for alt in data["alternate_names"]]
    subject["effectiveDate"] = day
    return subject


_ADDRESS_FIELDS = (
    ("street", "streetAddress"),
    ("city", "addressLocality"),
    ("region", "addressRegion"),
    ("postal_code", "postalCode"),
    ("country", "addressCountry"),
)


def _address(address: dict[str, Any], day: str) -> dict[str, Any]:
    subject: dict[str, Any] = {"addressType": address["address_type"]}
    for key, field in _ADDRESS_FIELDS:
        if key in address:
            subject[field] = address[key]
    subject["effectiveDate"] = day
    return subject


def _status(status: str, reason: str | None, day: str) -> dict[str, Any]:
    if status == "restored":
        status, reason = "active", reason or "restored"
    subject: dict[str, Any] = {"status": status}
    if reason:
        subject["statusReason"] = reason
    subject["effectiveDate"] = day
    return subject


def _business_number(data: dict[str, Any], day: str) -> dict[str, Any]:
    subject: dict[str, Any] = {"businessNumber": data["business_number"]}
    if "program_account" in data:
        subject["programAccount"] = data["program_account"]
    subject["effectiveDate"] = day
    return subject


def _relationship(
    kind: str, related: dict[str, Any], day: str, end: str | None = None
) -> dict[str, Any]:
    subject: dict[str, Any] = {
        "relationshipType": kind,
        "relatedOrganisation": _related(related),
        "effectiveDate": day,
    }
    if end:
        subject["endDate"] = end
    return subject


def _registration(
    record: Record, data: dict[str, Any], issuer_did: str, issuer_name: str
) -> dict[str, Any]:
    subject: dict[str, Any] = {
        "type": ["RegisteredIdentity"],
        "registeredId": record.registration_number,
        "registeredName": data["name"],
        "registeredDate": record.registry_date,
        "schemeId": scheme_id(record.jurisdiction),
        "registrar": {"id": issuer_did, "name": issuer_name},
        "registerType": "Business",
        "jurisdiction": record.jurisdiction,
        "entityType": entity_type(
            record.jurisdiction,
            record.registration_number,
            data.get("entity_type"),
            data.get("entity_type_name"),
        ),
    }
    if "home_jurisdiction" in data:
        subject["homeJurisdiction"] = {
            "text": data["home_jurisdiction"],
            "code": data.get("home_jurisdiction_code"),
        }
    return subject


def map_record(record: Record, *, issuer_did: str, issuer_name: str) -> list[CredentialDraft]:
    """The credential drafts a registry record produces, in a stable order."""
    org = record.organisation_id
    day = record.registry_date
    data = record.data
    drafts: list[CredentialDraft] = []

    def add(slug: str, subject: dict[str, Any], *key: str) -> None:
        drafts.append(
            CredentialDraft(
                type_slug=slug,
                subject=subject,
                supersession_key=(org, slug, *key),
                effective=record.effective_date,
                event_id=record.event_id,
                organisation_id=org,
            )
        )

    if record.kind == "registration":
        add("registration", _registration(record, data, issuer_did, issuer_name))
        add("legal-name", _legal_name(data, day))
        add("status", _status(data.get("status", "active"), None, day))
        if "address" in data:
            add("address", _address(data["address"], day), data["address"]["address_type"])
        if "business_number" in data:
            add("business-number", _business_number(data, day))
    elif record.kind == "name_change":
        add("legal-name", _legal_name(data, day))
    elif record.kind == "address_change":
        add("address", _address(data["address"], day), data["address"]["address_type"])
    elif record.kind == "status_change":
        add("status", _status(data["status"], data.get("reason"), day))
        into = data.get("amalgamated_into")
        if data["status"] == "amalgamated" and into:
            related_org = _organisation_id(into["jurisdiction"], into["registration_number"])
            subject = _relationship("amalgamated-into", into, day)
            add("relationship", subject, "amalgamated-into", related_org)
    elif record.kind == "relationship":
        related = data["related"]
        kind = data["relationship_type"]
        related_org = _organisation_id(related["jurisdiction"], related["registration_number"])
        subject = _relationship(kind, related, day, data.get("end_date"))
        add("relationship", subject, kind, related_org)
    elif record.kind == "business_number":
        add("business-number", _business_number(data, day))
    return drafts


def inverse_relationship(
    draft: CredentialDraft, *, related_name: str | None = None
) -> CredentialDraft | None:
    """The counterpart of a relationship draft, about the related organisation.

    ``A parent-of B`` gives ``B subsidiary-of A``; ``A amalgamated-into C`` gives
    ``C amalgamated-from A``. ``None`` for a draft that is not a relationship or whose type has
    no counterpart (``doing-business-as``). A record does not carry its own organisation's name:
    pass ``related_name`` (the organisation's current legal name) to show it. The counterpart's
    ``event_id`` is the record's plus ``#<relationship type>``, so the credential id derived from
    it differs from the forward draft's.
    """
    if draft.type_slug != "relationship":
        return None
    kind = draft.subject.get("relationshipType")
    inverse = INVERSE_RELATIONSHIPS.get(str(kind))
    if inverse is None:
        return None
    other = draft.subject["relatedOrganisation"]
    other_org = _organisation_id(other["jurisdiction"], other["registeredId"])
    jurisdiction, _, number = draft.organisation_id.partition(":")
    me: dict[str, Any] = {"jurisdiction": jurisdiction, "registration_number": number}
    if related_name:
        me["name"] = related_name
    subject = _relationship(
        inverse, me, draft.subject["effectiveDate"], draft.subject.get("endDate")
    )
    return replace(
        draft,
        subject=subject,
        supersession_key=(other_org, "relationship", inverse, draft.organisation_id),
        event_id=f"{draft.event_id}#{inverse}",
        organisation_id=other_org,
    )
