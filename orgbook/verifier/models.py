"""Pydantic models of the public verifier API: what the routes declare they return.

What it owns: the JSON shapes at the HTTP boundary (camelCase members, as the credentials
themselves use) and their conversion from the frozen dataclasses of the domain
(``orgbook.verifier.profiles``, ``orgbook.search``, ``orgbook.verification.credential``).
Declared
return types let FastAPI serialise through pydantic's core, its fast path.

What it must not do: queries, verification, or HTTP concerns beyond shapes and examples.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

__all__ = [
    "AddressOut",
    "CheckOut",
    "ConsistencyProofOut",
    "CredentialEventOut",
    "CredentialSummaryOut",
    "EntriesOut",
    "EntryOut",
    "FacetValueOut",
    "FacetsOut",
    "InclusionProofOut",
    "IssuerOut",
    "IssuersOut",
    "LabelsOut",
    "LicenceFieldOut",
    "LicenceOut",
    "NameOut",
    "OrganisationOut",
    "RelationshipOut",
    "SearchHitOut",
    "SearchPageOut",
    "SuggestionOut",
    "SuggestionsOut",
    "VerifyReportOut",
]


class _Out(BaseModel):
    model_config = ConfigDict(
        alias_generator=to_camel,
        populate_by_name=True,
        serialize_by_alias=True,
        from_attributes=True,
        frozen=True,
    )


# --- search -------------------------------------------------------------------------------------


class SearchHitOut(_Out):
    org_id: str = Field(examples=["CA-BC:BC1287139"])
    name: str = Field(description="The current name", examples=["Prairie Realty Inc."])
    matched_name: str = Field(description="The name or number that matched")
    match: Literal["number", "exact", "prefix", "fuzzy"]
    score: float
    jurisdiction: str
    registration_number: str
    status: str
    entity_type: str


class FacetValueOut(_Out):
    value: str = Field(examples=["CA-BC"])
    count: int = Field(ge=1, le=1_000_000_000)


class FacetsOut(_Out):
    jurisdiction: list[FacetValueOut]
    status: list[FacetValueOut] = Field(
        description="Each status; `inactive` counts every status but `active`"
    )
    entity_type: list[FacetValueOut]
    credential_type: list[FacetValueOut]
    issuer: list[FacetValueOut]
    exact: bool = Field(
        description="False when more than `bound` organisations matched: the counts are then "
        "lower bounds, over the first `bound` of them"
    )
    bound: int = Field(description="Organisations counted at most", ge=1, le=1_000_000)


class SearchPageOut(_Out):
    hits: list[SearchHitOut]
    total: int
    total_is_estimate: bool
    next_cursor: str | None = Field(
        description="Pass as `cursor` for the next page; null on the last page"
    )
    facets: FacetsOut | None = Field(
        default=None,
        description="How many organisations have each filter value, for this query; each "
        "facet counts over the text and the *other* filters, values with none are left out. "
        "On the first page only (null with a `cursor` or `facets=false`)",
    )


class SuggestionOut(_Out):
    org_id: str
    name: str
    matched_name: str
    registration_number: str
    jurisdiction: str
    status: str


class SuggestionsOut(_Out):
    suggestions: list[SuggestionOut]


# --- organisation profile -----------------------------------------------------------------------


class NameOut(_Out):
    name: str
    language: str | None
    valid_from: str = Field(examples=["2004-05-26"])
    valid_until: str | None = Field(description="For a former name: when the next one started")
    current: bool
    alternate_names: list[dict[str, Any]]
    credential_id: str


class AddressOut(_Out):
    address_type: str
    street_address: str | None
    address_locality: str | None
    address_region: str | None
    postal_code: str | None
    address_country: str | None
    effective_date: str | None
    credential_id: str


class RelationshipOut(_Out):
    direction: Literal["outgoing", "incoming"] = Field(
        description="outgoing: stated by this organisation's credential; incoming: by the other's"
    )
    relationship_type: str = Field(examples=["parent-of"])
    organisation_id: str = Field(description="The other organisation")
    organisation_name: str | None
    credential_id: str
    state: str


class CredentialEventOut(_Out):
    kind: str = Field(examples=["issued", "superseded", "revoked", "suspended", "unsuspended"])
    at: str
    ledger_index: int
    reason: str | None
    related_credential_id: str | None


class CredentialSummaryOut(_Out):
    id: str
    type: str = Field(examples=["legal-name"])
    state: Literal["current", "superseded", "revoked"] | str
    suspended: bool
    effective: str
    issuer: str
    ledger_index: int
    superseded_by: str | None
    history: list[CredentialEventOut]


class LabelsOut(_Out):
    en: str
    fr: str


class LicenceFieldOut(_Out):
    name: str = Field(examples=["licenceNumber"])
    label: LabelsOut = Field(description="The field's label from the type definition")
    value: str


class LicenceOut(_Out):
    credential_id: str
    type: str = Field(examples=["business-licence"])
    vc_type: str = Field(examples=["BusinessLicenceCredential"])
    type_id: str = Field(description="The registered type version the credential names")
    type_name: LabelsOut = Field(description="The type's name from its definition")
    issuer_name: str
    issuer_did: str
    on_behalf_of: str | None = Field(description="The authority issued for, if delegated")
    on_behalf_of_name: str | None
    fields: list[LicenceFieldOut] = Field(description="The type's display.profile fields")
    status: Literal["current", "suspended", "revoked", "expired"] | str
    valid_from: str | None
    valid_until: str | None
    ledger_index: int


class OrganisationOut(_Out):
    id: str = Field(examples=["CA-BC:BC1287139"])
    jurisdiction: str
    registration_number: str
    name: str
    status: str
    entity_type: str
    business_number: str | None
    issuer: str
    names: list[NameOut] = Field(description="Current name(s) first, then former names")
    addresses: list[AddressOut]
    relationships: list[RelationshipOut]
    credentials: list[CredentialSummaryOut]
    bound_did: str | None = Field(
        default=None, description="The DID bound by its current UNTP Digital Identity Anchor"
    )
    licences: list[LicenceOut] = Field(
        default_factory=list,
        description=(
            "Permits, licences and certifications issued by other authorities (registered "
            "credential types), by issuer; superseded ones are in credentials only"
        ),
    )


# --- verification -------------------------------------------------------------------------------


class CheckOut(BaseModel):
    model_config = ConfigDict(frozen=True)

    name: str = Field(examples=["signature"])
    outcome: Literal["pass", "fail", "skip"]
    reason: str
    details: dict[str, Any] | None = None


class VerifyReportOut(_Out):
    valid: bool = Field(description="No check failed and the signature check passed")
    kind: Literal["credential", "bundle", "presentation"]
    credential_id: str | None
    checks: list[CheckOut]
    holder: str | None = Field(default=None, description="A presentation's holder DID")
    organisation: str | None = Field(
        default=None, description="The organisation a presentation's holder is bound to"
    )
    items: list[VerifyReportOut] | None = Field(
        default=None, description="A presentation: the report of each credential or bundle"
    )
    differs_from_logged: list[str] | None = Field(
        default=None,
        description="A credential this registry logged: the fields (dotted paths, e.g. "
        "`credentialSubject.legalName`) where the presented copy differs from the one its "
        "ledger entry holds; empty when identical; null when there is no logged copy",
    )


# --- ledger -------------------------------------------------------------------------------------


class EntryOut(_Out):
    index: int
    leaf_hash: str = Field(description="SHA-256(0x00 ‖ JCS(entry)), lowercase hex")
    entry: dict[str, Any]


class EntriesOut(_Out):
    start: int
    end: int
    tree_size: int
    entries: list[EntryOut]


class InclusionProofOut(_Out):
    index: int
    tree_size: int
    leaf_hash: str
    proof: list[str] = Field(description="RFC 9162 audit path, leaf's sibling first, hex")
    checkpoint: str | None = Field(description="The signed checkpoint at this tree size, if any")


class ConsistencyProofOut(_Out):
    from_size: int = Field(alias="from")
    to_size: int = Field(alias="to")
    proof: list[str] = Field(description="RFC 9162 consistency proof, hex")


# --- issuers ------------------------------------------------------------------------------------


class IssuerOut(_Out):
    id: str
    did: str
    name: str
    jurisdiction: str
    credential_types: list[str]
    ledger_index: int
    did_document: str = Field(description="URL of the issuer's DID document")


class IssuersOut(_Out):
    issuers: list[IssuerOut]
