"""Reading a presented document's issuer, proofs and type: what every check agrees a document
says, and never an exception for a missing or malformed field."""

from __future__ import annotations

from typing import Any

import pytest

from orgbook.core.credentials import CredentialType
from orgbook.verification.document import as_list, credential_type, issuer_id, proof_methods


def test_a_member_that_may_be_one_value_or_a_list() -> None:
    assert as_list(None) == []
    assert as_list("a") == ["a"]
    assert as_list({"id": 1}) == [{"id": 1}]
    assert as_list(["a", "b"]) == ["a", "b"]
    assert as_list([]) == []
    assert as_list(0) == [0]  # falsy but present


@pytest.mark.parametrize(
    ("document", "expected"),
    [
        ({"issuer": "did:web:a.example"}, "did:web:a.example"),
        ({"issuer": {"id": "did:web:a.example", "name": "A"}}, "did:web:a.example"),
        ({"issuer": {"name": "A"}}, None),
        ({"issuer": {"id": 7}}, None),
        ({"issuer": 7}, None),
        ({"issuer": ["did:web:a.example"]}, None),
        ({}, None),
        (["issuer"], None),
        ("did:web:a.example", None),
        (None, None),
    ],
)
def test_the_issuer_is_a_string_or_an_objects_id(document: Any, expected: str | None) -> None:
    assert issuer_id(document) == expected


def test_every_proof_that_names_a_method_with_its_creation_time() -> None:
    document = {
        "proof": [
            {"verificationMethod": "did:web:a#k1", "created": "2026-01-01T00:00:00Z"},
            {"verificationMethod": "did:web:a#k2"},
            {"verificationMethod": "did:web:a#k3", "created": 2026},
            {"created": "2026-01-01T00:00:00Z"},
            {"verificationMethod": ["did:web:a#k4"]},
            "not a proof",
        ]
    }
    assert proof_methods(document) == [
        ("did:web:a#k1", "2026-01-01T00:00:00Z"),
        ("did:web:a#k2", None),
        ("did:web:a#k3", None),
    ]


def test_a_single_proof_object_and_documents_without_proofs() -> None:
    one = {"proof": {"verificationMethod": "did:web:a#k1", "created": "2026-01-01T00:00:00Z"}}
    assert proof_methods(one) == [("did:web:a#k1", "2026-01-01T00:00:00Z")]
    assert proof_methods({}) == []
    assert proof_methods({"proof": None}) == []
    assert proof_methods([one]) == []
    assert proof_methods(None) == []


@pytest.mark.parametrize(
    ("credential", "expected"),
    [
        (
            {"type": ["VerifiableCredential", "LegalNameCredential"]},
            (CredentialType.LEGAL_NAME, "LegalNameCredential"),
        ),
        ({"type": "AddressCredential"}, (CredentialType.ADDRESS, "AddressCredential")),
        # Not one of orgbook's: the last type other than VerifiableCredential is named.
        (
            {"type": ["VerifiableCredential", "DiplomaCredential", "AwardCredential"]},
            (None, "AwardCredential"),
        ),
        (
            {"type": ["DiplomaCredential", "VerifiableCredential"]},
            (None, "DiplomaCredential"),
        ),
        ({"type": ["VerifiableCredential"]}, (None, "VerifiableCredential")),
        ({"type": [7, "DiplomaCredential", None]}, (None, "DiplomaCredential")),
        ({}, (None, "VerifiableCredential")),
        (["LegalNameCredential"], (None, "VerifiableCredential")),
        (None, (None, "VerifiableCredential")),
    ],
)
def test_the_credential_type_to_check_and_to_name(
    credential: Any, expected: tuple[CredentialType | None, str]
) -> None:
    assert credential_type(credential) == expected
