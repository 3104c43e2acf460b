"""Pydantic models of the public verifier API: what the routes declare they return.

What it owns: the JSON shapes at the HTTP boundary (camelCase members, as the credentials
themselves use) and their conversion from the frozen dataclasses of the domain
(``orgbook.verifier.profiles``, ``orgbook.verifier.search``, ``orgbook.verify``). Declared
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
    "InclusionProofOut",
    "IssuerOut",
    "IssuersOut",
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


class SearchPageOut(_Out):
    hits: list[SearchHitOut]
    total: int
    total_is_estimate: bool
    next_cursor: str | None = Field(
        description="Pass as `cursor` for the next page; null on the last page"
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


# --- verification -------------------------------------------------------------------------------


class CheckOut(BaseModel):
    model_config = ConfigDict(frozen=True)

    name: str = Field(examples=["signature"])
    outcome: Literal["pass", "fail", "skip"]
    reason: str
    details: dict[str, Any] | None = None


class VerifyReportOut(_Out):
    valid: bool = Field(description="No check failed and the signature check passed")
    kind: Literal["credential", "bundle"]
    credential_id: str | None
    checks: list[CheckOut]


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
