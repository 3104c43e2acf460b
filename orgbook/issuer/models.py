"""Pydantic models of the issuer HTTP API: what goes in and what comes out of ``/api/v1/issuer``.

Only the HTTP boundary uses these; the service works with its own dataclasses
(:class:`orgbook.issuer.service.Outcome`, :class:`orgbook.issuer.keys.Issuer`). JSON members are
camelCase, as in credentials and ledger entries. Registry records themselves are not modelled
here: they are validated against their JSON Schemas (``schemas/records/``) by the service, which
reports every problem with its JSON pointer.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints
from pydantic.alias_generators import to_camel

from orgbook.http.timestamps import UtcDateTime

__all__ = [
    "MAX_BATCH",
    "ApiKeyCreateRequest",
    "ApiKeyCreated",
    "ApiKeyList",
    "ApiKeyRevoked",
    "ApiKeySummary",
    "AuthenticatedIssuer",
    "BatchRequest",
    "BatchResult",
    "CredentialDetail",
    "CredentialEvent",
    "CredentialPage",
    "CredentialSummary",
    "KeyHistory",
    "KeyRotated",
    "RecordOutcome",
    "SigningKey",
    "StatusChangeRequest",
    "StatusChanged",
]

MAX_BATCH = 1000
"""Most records one ``POST /api/v1/issuer/records/batch`` takes (one transaction)."""

OutcomeStatus = Literal["issued", "history", "unchanged", "rejected"]
CredentialState = Literal["current", "superseded", "revoked"]
StatusAction = Literal["revoke", "suspend", "unsuspend"]

NOT_BLANK = (
    "[^\\t-\\r\\x1c-\\x20\\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000]"
)
"""Pattern: at least one character that is not whitespace (Python's ``str.isspace``, spelt out
so that the JSON Schema, pydantic's Rust regex and Python's ``re`` agree on every character)."""

# Declared exactly as checked: no stripping before the length checks (routes strip afterwards),
# so what the OpenAPI document calls valid is what the server accepts.
Reason = Annotated[str, StringConstraints(min_length=1, max_length=1000, pattern=NOT_BLANK)]
_EXAMPLE_KEY_1 = "z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK"
_EXAMPLE_KEY_2 = "z6MkpTHR8VNsBxYAAWHut2Geadd9jSwuBV8xRoAnwWsdvktH"

Label = Annotated[str, StringConstraints(max_length=200)]


class _Model(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, frozen=True)


# --- who is calling ---------------------------------------------------------------------------


class AuthenticatedIssuer(_Model):
    """The issuer an API key belongs to, and which key authenticated the request."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": "bc-registries",
                    "did": "did:web:orgbook.example:issuers:bc-registries",
                    "name": "BC Registries and Online Services",
                    "jurisdiction": "CA-BC",
                    "credentialTypes": ["registration", "legal-name", "address", "status"],
                    "apiKeyId": "k3v9q2x7m1pa",
                    "ledgerIndex": 0,
                }
            ]
        }
    )

    id: str
    did: str
    name: str
    jurisdiction: str
    credential_types: list[str]
    api_key_id: str = Field(description="The id (public prefix) of the API key used.")
    ledger_index: int = Field(description="Ledger index of the issuer's `issuer.registered`.")


# --- records in ---------------------------------------------------------------------------------


class RecordOutcome(_Model):
    """What became of one registry record."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "index": 0,
                    "eventId": "bc-2021-000123",
                    "status": "issued",
                    "credentials": [
                        "urn:uuid:f199f80a-5ea1-5179-9a31-241910d38d4b",
                        "urn:uuid:866ba2bf-da26-5aaf-9ad0-0833928ea473",
                        "urn:uuid:af6bdb6b-4feb-51d4-87d2-36be118ba9e3",
                    ],
                    "problem": None,
                }
            ]
        }
    )

    index: int = Field(description="Position of the record in the request (0 for one record).")
    event_id: str | None = Field(description="The registry's event id, when the record had one.")
    status: OutcomeStatus = Field(
        description="`issued`: new current credentials; `history`: issued but older than what "
        "is current (superseded at once); `unchanged`: this event id was already processed with "
        "the same content; `rejected`: see `problem`."
    )
    credentials: list[str] = Field(
        description="Ids of the credentials this record issued; for `unchanged` (a snapshot "
        "sent again under a new event id), of the current credentials that already state it."
    )
    problem: dict[str, Any] | None = Field(
        default=None,
        description="For a rejected record: the RFC 9457 problem (`type`, `status`, `detail`, "
        "`field` the JSON pointer into the record, `errors` every problem).",
    )


class BatchRequest(_Model):
    """Up to 1000 registry records, issued in one transaction."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "records": [
                        {
                            "event_id": "bc-2021-000123",
                            "kind": "registration",
                            "jurisdiction": "CA-BC",
                            "registration_number": "BC1287139",
                            "effective_date": "2021-02-03",
                            "name": "Boulangerie Lévesque Ltée",
                        },
                        {
                            "event_id": "bc-2023-004567",
                            "kind": "name_change",
                            "jurisdiction": "CA-BC",
                            "registration_number": "BC1287139",
                            "effective_date": "2023-06-01",
                            "name": "Lévesque Bakery Ltd.",
                        },
                    ]
                }
            ]
        }
    )

    # Items are not modelled: a record that is not even an object is rejected with its index by
    # the service, like any other invalid record, instead of failing the whole batch.
    records: list[Any] = Field(min_length=1, max_length=MAX_BATCH)


class BatchResult(_Model):
    """Per-record outcomes of a batch, in request order, and their tally."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "issued": 1,
                    "history": 0,
                    "unchanged": 0,
                    "rejected": 1,
                    "credentials": 3,
                    "outcomes": [
                        {
                            "index": 0,
                            "eventId": "bc-2021-000123",
                            "status": "issued",
                            "credentials": [
                                "urn:uuid:f199f80a-5ea1-5179-9a31-241910d38d4b",
                                "urn:uuid:866ba2bf-da26-5aaf-9ad0-0833928ea473",
                                "urn:uuid:af6bdb6b-4feb-51d4-87d2-36be118ba9e3",
                            ],
                            "problem": None,
                        },
                        {
                            "index": 1,
                            "eventId": "bc-2023-004567",
                            "status": "rejected",
                            "credentials": [],
                            "problem": {
                                "type": "https://orgbook.example/problems/invalid-record",
                                "title": "Invalid record",
                                "status": 422,
                                "detail": "/name: required field is missing",
                                "field": "/name",
                                "errors": [
                                    {"path": "/name", "message": "required field is missing"}
                                ],
                            },
                        },
                    ],
                }
            ]
        }
    )

    issued: int
    history: int
    unchanged: int
    rejected: int
    credentials: int = Field(description="Credentials issued by the whole batch.")
    outcomes: list[RecordOutcome]


# --- credentials ----------------------------------------------------------------------------------


class StatusChangeRequest(_Model):
    """Why a credential is revoked, suspended or unsuspended (recorded on the ledger)."""

    model_config = ConfigDict(json_schema_extra={"examples": [{"reason": "issued in error"}]})

    reason: Reason = Field(description="Free text, 1–1000 characters; public on the ledger.")


class StatusChanged(_Model):
    """The result of a revocation, suspension or unsuspension."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "credential": "urn:uuid:af6bdb6b-4feb-51d4-87d2-36be118ba9e3",
                    "action": "revoke",
                    "ledgerIndex": 4211,
                    "state": "revoked",
                    "suspended": False,
                }
            ]
        }
    )

    credential: str
    action: StatusAction
    ledger_index: int = Field(description="Index of the ledger entry that records the change.")
    state: CredentialState
    suspended: bool


class CredentialSummary(_Model):
    """One credential this issuer issued, without the signed document."""

    id: str
    type: str = Field(description="Credential type slug, e.g. `legal-name`.")
    organisation: str = Field(description="Organisation id, e.g. `CA-BC:BC1287139`.")
    state: CredentialState
    suspended: bool
    effective: UtcDateTime = Field(description="The record's effective date-time (`validFrom`).")
    event_id: str = Field(description="The registry event id that produced it.")
    ledger_index: int = Field(description="Index of its `credential.issued` ledger entry.")
    superseded_by: str | None = None


class CredentialPage(_Model):
    """A page of credentials in ledger order; pass ``nextCursor`` as ``cursor`` for the next."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "items": [
                        {
                            "id": "urn:uuid:866ba2bf-da26-5aaf-9ad0-0833928ea473",
                            "type": "legal-name",
                            "organisation": "CA-BC:BC1287139",
                            "state": "superseded",
                            "suspended": False,
                            "effective": "2021-02-03T00:00:00Z",
                            "eventId": "bc-2021-000123",
                            "ledgerIndex": 7,
                            "supersededBy": "urn:uuid:0d6f3c8e-9a51-5e0b-8d55-0f5b1b2e9c44",
                        }
                    ],
                    "nextCursor": 7,
                }
            ]
        }
    )

    items: list[CredentialSummary]
    next_cursor: int | None = Field(
        description="Ledger index to pass as `cursor` for the next page; null on the last page."
    )


class CredentialEvent(_Model):
    """One change in a credential's life, as recorded on the ledger."""

    ledger_index: int
    kind: str = Field(description="`issued`, `superseded`, `revoked`, `suspended`, `unsuspended`.")
    at: UtcDateTime
    reason: str | None = None
    related_credential: str | None = Field(
        default=None, description="For `superseded`: the credential that replaced it."
    )


class CredentialDetail(CredentialSummary):
    """A credential with its signed document and its history."""

    credential: dict[str, Any] = Field(description="The signed W3C VC 2.0 document.")
    history: list[CredentialEvent]


# --- signing keys ---------------------------------------------------------------------------------


class SigningKey(_Model):
    """The public part of one of the issuer's Ed25519 signing keys."""

    key_id: str = Field(description="The verification method's DID URL.")
    public_key_multibase: str = Field(description="Multikey (`z6Mk…`).")
    active: bool
    created_at: UtcDateTime
    added_index: int = Field(description="Ledger index of its `issuer.key.added` entry.")
    retired_at: UtcDateTime | None = None
    retired_index: int | None = Field(
        default=None, description="Ledger index of its `issuer.key.retired` entry."
    )


class KeyHistory(_Model):
    """Every signing key the issuer ever had, oldest first."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "issuer": "bc-registries",
                    "did": "did:web:orgbook.example:issuers:bc-registries",
                    "keys": [
                        {
                            "keyId": "did:web:orgbook.example:issuers:bc-registries#key-1",
                            "publicKeyMultibase": _EXAMPLE_KEY_1,
                            "active": False,
                            "createdAt": "2024-01-01T00:00:00Z",
                            "addedIndex": 1,
                            "retiredAt": "2025-03-01T12:00:00Z",
                            "retiredIndex": 9120,
                        },
                        {
                            "keyId": "did:web:orgbook.example:issuers:bc-registries#key-2",
                            "publicKeyMultibase": _EXAMPLE_KEY_2,
                            "active": True,
                            "createdAt": "2025-03-01T12:00:00Z",
                            "addedIndex": 9119,
                            "retiredAt": None,
                            "retiredIndex": None,
                        },
                    ],
                }
            ]
        }
    )

    issuer: str
    did: str
    keys: list[SigningKey]


class KeyRotated(_Model):
    """The new signing key, and the ones it retired."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "keyId": "did:web:orgbook.example:issuers:bc-registries#key-2",
                    "retired": ["did:web:orgbook.example:issuers:bc-registries#key-1"],
                    "ledgerIndex": 9119,
                }
            ]
        }
    )

    key_id: str = Field(description="The new active key's DID URL.")
    retired: list[str] = Field(description="Keys retired by this rotation.")
    ledger_index: int = Field(description="Ledger index of the new key's `issuer.key.added`.")


# --- API keys -----------------------------------------------------------------------------------


class ApiKeyCreateRequest(_Model):
    """An optional note on what a new API key is for."""

    model_config = ConfigDict(json_schema_extra={"examples": [{"label": "nightly feed"}]})

    label: Label = ""


class ApiKeySummary(_Model):
    """An API key, without its secret (which is never stored)."""

    id: str = Field(description="The key's public prefix (`obk_<id>_…`).")
    label: str
    created_at: UtcDateTime
    revoked_at: UtcDateTime | None = None


class ApiKeyCreated(ApiKeySummary):
    """A new API key. ``apiKey`` is shown this once: store it now."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": "k3v9q2x7m1pa",
                    "label": "nightly feed",
                    "createdAt": "2026-01-05T09:00:00Z",
                    "revokedAt": None,
                    "apiKey": "obk_k3v9q2x7m1pa_0TlM3w5w2zQ0l5o3Jx6F0v3sRkq3n0yW7fQm6y1zK2c",
                }
            ]
        }
    )

    api_key: str = Field(description="The whole key, for `Authorization: Bearer …`.")


class ApiKeyList(_Model):
    items: list[ApiKeySummary]


class ApiKeyRevoked(_Model):
    id: str
    revoked_at: UtcDateTime
