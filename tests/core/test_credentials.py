"""Credential types, identifiers, building and signing; every type end to end.

The helpers at the top (a fixed test issuer, one sample subject per type, signed status lists)
are shared with tests/verification, test_statuslist.py and the docs example generator.
"""

from __future__ import annotations

import copy
import hashlib
import json
import os
import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from orgbook.core.credentials import (
    CREDENTIAL_ID_NAMESPACE,
    CredentialType,
    build_credential,
    credential_id,
    organisation_id,
    sign_credential,
    subject_id,
)
from orgbook.core.crypto import Ed25519Signer
from orgbook.core.dataintegrity import add_proof
from orgbook.core.did import LocalResolver, build_did_document, did_key_from_public_key
from orgbook.core.errors import BadInput
from orgbook.core.schemas import known_schema_ids, validate_credential, validate_data_model
from orgbook.core.statuslist import StatusList, build_status_list_credential, status_entry
from orgbook.verification.credential import verify_credential

NOW = datetime(2026, 11, 23, 12, 0, 0, tzinfo=UTC)
ISSUER_DID = "did:web:registry.orgbook.example"
ISSUED = "2025-06-01T09:30:00Z"
LONG_NAME = (
    "Société coopérative de développement économique et culturel des Îles-de-la-Madeleine "
    "et de la Gaspésie — Ŝŭdâ Œuvres Ltée"
)


def fixed_signer(label: str = "orgbook test issuer") -> Ed25519Signer:
    """A fixed key, so examples and vectors are reproducible. Never a real key."""
    return Ed25519Signer.from_seed(hashlib.sha256(label.encode()).digest())


@dataclass
class Issuer:
    """A test issuer: its DID, key, verification method, resolver and status lists."""

    did: str
    signer: Ed25519Signer
    vm: str
    resolver: LocalResolver
    lists: dict[str, dict[str, Any]]
    bits: dict[str, StatusList]

    def list_url(self, purpose: str) -> str:
        base = self.did.removeprefix("did:web:").replace(":", "/")
        host = base if self.did.startswith("did:web:") else "status.orgbook.example"
        return f"https://{host}/status/{purpose}/1"

    def publish(
        self,
        purpose: str,
        *,
        signer: Ed25519Signer | None = None,
        vm: str | None = None,
        issuer: str | None = None,
    ) -> dict[str, Any]:
        """(Re)sign the status list for ``purpose`` from ``self.bits`` and serve it."""
        unsigned = build_status_list_credential(
            list_id=self.list_url(purpose),
            issuer=issuer or self.did,
            purpose=purpose,  # type: ignore[arg-type]
            status_list=self.bits[purpose],
            valid_from="2025-01-01T00:00:00Z",
        )
        signed = add_proof(
            unsigned, signer or self.signer, verification_method=vm or self.vm, created=ISSUED
        )
        self.lists[self.list_url(purpose)] = signed
        return signed

    def fetch(self, url: str) -> Mapping[str, Any]:
        return copy.deepcopy(self.lists[url])

    def entries(self, index: int) -> list[dict[str, Any]]:
        return [status_entry(self.list_url(p), index, p) for p in ("revocation", "suspension")]  # type: ignore[arg-type]


def make_issuer(kind: str = "web", label: str = "orgbook test issuer") -> Issuer:
    signer = fixed_signer(label)
    if kind == "web":
        did = (
            ISSUER_DID
            if label == "orgbook test issuer"
            else f"did:web:{label.replace(' ', '-')}.example"
        )
        vm = f"{did}#key-1"
        resolver = LocalResolver(
            {did: build_did_document(did, [("key-1", signer.public_key, True)])}
        )
    else:
        did = did_key_from_public_key(signer.public_key)
        vm = f"{did}#{did.removeprefix('did:key:')}"
        resolver = LocalResolver()
    issuer = Issuer(
        did, signer, vm, resolver, {}, {"revocation": StatusList(), "suspension": StatusList()}
    )
    issuer.publish("revocation")
    issuer.publish("suspension")
    return issuer


def sample_subject(ctype: CredentialType, issuer_did: str = ISSUER_DID) -> dict[str, Any]:
    """One realistic subject (without ``id``) per credential type."""
    samples: dict[CredentialType, dict[str, Any]] = {
        CredentialType.REGISTRATION: {
            "type": ["RegisteredIdentity"],
            "registeredId": "BC1287139",
            "registeredName": "Société de l'Érable Ltée",
            "registeredDate": "2019-03-14",
            "schemeId": "https://orgbook.example/registers/CA-BC",
            "registrar": {"id": issuer_did, "name": "BC Registries and Online Services"},
            "registerType": "Business",
            "jurisdiction": "CA-BC",
            "entityType": {"code": "BC", "name": "BC Company"},
            "homeJurisdiction": {
                "text": "STATE OF DELAWARE, COUNTY OF NEW CASTLE,",
                "code": "US-DE",
            },
        },
        CredentialType.LEGAL_NAME: {
            "legalName": "Société de l'Érable Ltée",
            "language": "fr",
            "alternateNames": [{"name": "Maple Society Ltd.", "language": "en"}],
            "effectiveDate": "2019-03-14",
        },
        CredentialType.ADDRESS: {
            "addressType": "registered",
            "streetAddress": "1234 rue Saint-Denis, bureau 5",
            "addressLocality": "Victoria",
            "addressRegion": "BC",
            "postalCode": "V8W 1A1",
            "addressCountry": "CA",
            "effectiveDate": "2019-03-14",
        },
        CredentialType.STATUS: {
            "status": "active",
            "statusReason": "restored",
            "effectiveDate": "2024-02-01T00:00:00Z",
        },
        CredentialType.RELATIONSHIP: {
            "relationshipType": "doing-business-as",
            "relatedOrganisation": {
                "id": subject_id("CA-BC", "FM0831620"),
                "registeredId": "FM0831620",
                "jurisdiction": "CA-BC",
                "name": "Café de l'Érable",
            },
            "effectiveDate": "2020-07-01",
        },
        CredentialType.BUSINESS_NUMBER: {"businessNumber": "123456789", "programAccount": "RC0001"},
    }
    return copy.deepcopy(samples[ctype])


def make_credential(
    ctype: CredentialType,
    issuer: Issuer,
    *,
    index: int = 42,
    subject: Mapping[str, Any] | None = None,
    **overrides: Any,
) -> dict[str, Any]:
    """A signed credential of ``ctype`` about BC1287139 from ``issuer``."""
    args: dict[str, Any] = {
        "credential_type": ctype,
        "issuer": issuer.did,
        "subject": subject if subject is not None else sample_subject(ctype, issuer.did),
        "credential_id": credential_id(issuer.did, f"event-{ctype.slug}", ctype.slug),
        "valid_from": "2019-03-14T00:00:00Z",
        "status_entries": issuer.entries(index),
        "subject_jurisdiction": "CA-BC",
        "subject_number": "BC1287139",
    }
    args.update(overrides)
    return sign_credential(
        build_credential(**args), issuer.signer, verification_method=issuer.vm, created=ISSUED
    )


# --- identifiers --------------------------------------------------------------------------------


def test_organisation_and_subject_ids() -> None:
    assert organisation_id("CA-BC", "BC1287139") == "CA-BC:BC1287139"
    assert subject_id("CA-BC", "BC1287139") == "urn:orgbook:org:CA-BC:BC1287139"
    assert subject_id("CA", "LLC0001174") == "urn:orgbook:org:CA:LLC0001174"
    # Messy numbers stay one URN: spaces, '#', '/', non-ASCII are percent-encoded.
    assert subject_id("CA-NS", "A 01/2#É") == "urn:orgbook:org:CA-NS:A%2001%2F2%23%C3%89"


@pytest.mark.parametrize(
    ("jurisdiction", "number"),
    [
        ("", "BC1"),
        ("CA-BC", ""),
        ("CA-BC", " BC1"),
        ("CA:BC", "BC1"),
        ("CA-BC", "BC\n1"),
        (None, "x"),
        (["CA-BC"], "BC1"),  # unhashable: still BadInput (the id is cached per organisation)
        ("CA-BC", {"n": 1}),
    ],
)
def test_bad_identifier_parts_are_rejected(jurisdiction: Any, number: Any) -> None:
    with pytest.raises(BadInput):
        subject_id(jurisdiction, number)


@settings(max_examples=300, deadline=None)
@given(st.text(min_size=1), st.text(min_size=1), st.text(min_size=1))
def test_credential_id_equals_the_standard_library_uuid5(did: str, event: str, slug: str) -> None:
    assume(all(_encodes(v) for v in (did, event, slug)))
    expected = uuid.uuid5(CREDENTIAL_ID_NAMESPACE, f"{did}\x00{event}\x00{slug}").urn
    assert credential_id(did, event, slug) == expected


def _encodes(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def test_credential_id_is_deterministic_uuid5() -> None:
    first = credential_id(ISSUER_DID, "evt-1", "legal-name")
    assert first == credential_id(ISSUER_DID, "evt-1", "legal-name")
    parsed = uuid.UUID(first.removeprefix("urn:uuid:"))
    assert first.startswith("urn:uuid:")
    assert parsed.version == 5
    # Pinned: changing the namespace or the name layout would re-key every credential.
    assert first == "urn:uuid:" + str(
        uuid.uuid5(
            uuid.uuid5(uuid.NAMESPACE_URL, "https://orgbook.example/credentials"),
            f"{ISSUER_DID}\x00evt-1\x00legal-name",
        )
    )
    others = {
        credential_id(ISSUER_DID, "evt-2", "legal-name"),
        credential_id(ISSUER_DID, "evt-1", "address"),
        credential_id("did:web:other.example", "evt-1", "legal-name"),
    }
    assert first not in others
    assert len(others) == 3
    with pytest.raises(BadInput):
        credential_id(ISSUER_DID, "", "legal-name")


# --- credential types ---------------------------------------------------------------------------


def test_credential_types_match_the_data_model() -> None:
    table = {(t.slug, t.vc_type) for t in CredentialType}
    assert table == {
        ("registration", "OrganisationRegistrationCredential"),
        ("legal-name", "LegalNameCredential"),
        ("address", "AddressCredential"),
        ("status", "OrganisationStatusCredential"),
        ("relationship", "OrganisationRelationshipCredential"),
        ("business-number", "BusinessNumberCredential"),
    }
    for ctype in CredentialType:
        assert (
            ctype.schema_id == f"https://orgbook.example/schemas/credentials/{ctype.slug}/1.0.json"
        )
        assert ctype.schema_id in known_schema_ids()
        assert CredentialType.from_slug(ctype.slug) is ctype
        assert CredentialType.from_vc_type(["VerifiableCredential", ctype.vc_type]) is ctype
    assert CredentialType.from_vc_type("VerifiableCredential") is None
    with pytest.raises(BadInput):
        CredentialType.from_slug("nope")


def test_supersession_keys() -> None:
    sid = subject_id("CA-BC", "BC1")
    assert CredentialType.LEGAL_NAME.supersession_key({"id": sid, "legalName": "A"}) == (sid,)
    assert CredentialType.ADDRESS.supersession_key({"id": sid, "addressType": "mailing"}) == (
        sid,
        "mailing",
    )
    rel = {"id": sid, "relationshipType": "parent-of", "relatedOrganisation": {"id": "urn:x"}}
    assert CredentialType.RELATIONSHIP.supersession_key(rel) == (sid, "parent-of", "urn:x")


# --- building -----------------------------------------------------------------------------------


def test_build_credential_envelope() -> None:
    cred = build_credential(
        credential_type=CredentialType.STATUS,
        issuer=ISSUER_DID,
        subject={"status": "active", "effectiveDate": "2024-01-01", "id": "ignored-first?"},
        credential_id="urn:uuid:00000000-0000-5000-8000-000000000000",
        valid_from="2024-01-01T00:00:00Z",
        valid_until="2030-01-01T00:00:00Z",
        issuer_name="BC Registries",
        subject_jurisdiction="CA-BC",
        subject_number="BC1287139",
    )
    assert cred["@context"] == ["https://www.w3.org/ns/credentials/v2"]
    assert cred["type"] == ["VerifiableCredential", "OrganisationStatusCredential"]
    assert cred["issuer"] == {"id": ISSUER_DID, "name": "BC Registries"}
    assert cred["validUntil"] == "2030-01-01T00:00:00Z"
    assert cred["credentialSchema"] == {
        "id": "https://orgbook.example/schemas/credentials/status/1.0.json",
        "type": "JsonSchema",
    }
    assert "credentialStatus" not in cred
    assert "proof" not in cred
    assert list(cred["credentialSubject"]) == ["id", "status", "effectiveDate"]
    assert cred["credentialSubject"]["id"] == "urn:orgbook:org:CA-BC:BC1287139"
    assert validate_credential(cred) == []


def test_build_credential_keeps_a_given_subject_id_and_custom_schema_base() -> None:
    sid = subject_id("CA", "123")
    cred = build_credential(
        credential_type=CredentialType.BUSINESS_NUMBER,
        issuer=ISSUER_DID,
        subject={"businessNumber": "123456789", "id": sid},
        credential_id="urn:uuid:00000000-0000-5000-8000-000000000000",
        valid_from="2024-01-01T00:00:00Z",
        schema_base="https://registry.gov.example/schemas/",
    )
    assert cred["credentialSubject"]["id"] == sid
    assert cred["credentialSchema"]["id"] == (
        "https://registry.gov.example/schemas/credentials/business-number/1.0.json"
    )
    assert validate_credential(cred, schema_base="https://registry.gov.example/schemas") == []
    assert "unknown schema" in validate_credential(cred)[0].message


@pytest.mark.parametrize(
    "change",
    [
        {"valid_from": "2024-01-01"},
        {"valid_from": "2024-01-01T00:00:00"},
        {"valid_until": "tomorrow"},
        {"issuer": "https://not-a-did.example"},
        {"credential_id": ""},
        {"subject": {"status": "active"}, "subject_jurisdiction": None, "subject_number": None},
        {"subject_number": None},
        {"credential_type": "status"},
    ],
)
def test_build_credential_rejects_bad_arguments(change: dict[str, Any]) -> None:
    args: dict[str, Any] = {
        "credential_type": CredentialType.STATUS,
        "issuer": ISSUER_DID,
        "subject": {"status": "active", "effectiveDate": "2024-01-01"},
        "credential_id": "urn:uuid:00000000-0000-5000-8000-000000000000",
        "valid_from": "2024-01-01T00:00:00Z",
        "subject_jurisdiction": "CA-BC",
        "subject_number": "BC1",
    }
    args.update(change)
    with pytest.raises(BadInput):
        build_credential(**args)


def test_sign_credential_refuses_a_signed_credential() -> None:
    issuer = make_issuer()
    signed = make_credential(CredentialType.STATUS, issuer)
    with pytest.raises(BadInput):
        sign_credential(signed, issuer.signer, verification_method=issuer.vm, created=ISSUED)


# --- every type, end to end ---------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["web", "key"])
@pytest.mark.parametrize("ctype", list(CredentialType), ids=lambda t: t.slug)
def test_each_type_builds_signs_validates_and_verifies(ctype: CredentialType, kind: str) -> None:
    issuer = make_issuer(kind)
    cred = make_credential(ctype, issuer)
    assert validate_data_model(cred) == []
    assert validate_credential(cred) == []
    proof = cred["proof"]
    assert proof["type"] == "DataIntegrityProof"
    assert proof["cryptosuite"] == "eddsa-jcs-2022"
    assert proof["verificationMethod"] == issuer.vm
    assert proof["proofValue"].startswith("z")
    report = verify_credential(cred, resolver=issuer.resolver, status_lists=issuer.fetch, now=NOW)
    assert report.valid, report.to_dict()
    outcomes = {c.name: c.outcome for c in report.checks}
    assert outcomes == {
        "schema": "pass",
        "signature": "pass",
        "issuer_key": "pass",
        "issuer_trusted": "skip",
        "validity_period": "pass",
        "status": "pass",
    }
    assert ctype.schema_id in report.check("schema").reason  # type: ignore[union-attr]


def test_names_with_accents_and_length_validate() -> None:
    issuer = make_issuer()
    assert len(LONG_NAME) >= 96
    for name in (LONG_NAME, "Œ" * 500, "株式会社オルグブック", "Ĳssel & Zoon B.V."):
        subject = sample_subject(CredentialType.LEGAL_NAME) | {"legalName": name}
        cred = make_credential(CredentialType.LEGAL_NAME, issuer, subject=subject)
        assert validate_credential(cred) == [], name
        assert verify_credential(cred, resolver=issuer.resolver, now=NOW).valid


def test_reissuing_reproduces_the_same_credential() -> None:
    issuer = make_issuer()
    assert make_credential(CredentialType.ADDRESS, issuer) == make_credential(
        CredentialType.ADDRESS, issuer
    )


# --- docs/credentials.md examples ---------------------------------------------------------------

DOCS = Path(__file__).resolve().parents[2] / "docs" / "credentials.md"
_BLOCK = re.compile(r"<!-- example:(?P<name>[a-z-]+) -->\n```json\n(?P<body>.*?)\n```", re.S)


def docs_examples() -> dict[str, dict[str, Any]]:
    """The examples docs/credentials.md shows, generated with the fixed test key."""
    issuer = make_issuer()
    examples: dict[str, dict[str, Any]] = {}
    for position, ctype in enumerate(CredentialType):
        examples[ctype.slug] = make_credential(ctype, issuer, index=42 + position)
    examples["status-list"] = issuer.lists[issuer.list_url("revocation")]
    examples["did-document"] = issuer.resolver.resolve(issuer.did)
    return examples


def _render(value: Mapping[str, Any]) -> str:
    return json.dumps(value, indent=2, ensure_ascii=False)


def test_docs_examples_are_current_and_verify() -> None:
    """docs/credentials.md shows real credentials. ORGBOOK_REGEN_DOCS=1 rewrites them."""
    examples = docs_examples()
    text = DOCS.read_text(encoding="utf-8")
    if os.environ.get("ORGBOOK_REGEN_DOCS") == "1":

        def replace(match: re.Match[str]) -> str:
            body = _render(examples[match["name"]])
            return f"<!-- example:{match['name']} -->\n```json\n{body}\n```"

        text = _BLOCK.sub(replace, text)
        DOCS.write_text(text, encoding="utf-8")
    shown = {m["name"]: json.loads(m["body"]) for m in _BLOCK.finditer(text)}
    assert set(shown) == set(examples)
    assert shown == examples, "docs/credentials.md is stale: run with ORGBOOK_REGEN_DOCS=1"
    issuer = make_issuer()
    resolver = LocalResolver({issuer.did: shown["did-document"]})

    def lists(url: str) -> Mapping[str, Any]:
        return shown["status-list"] if url == issuer.list_url("revocation") else issuer.fetch(url)

    for ctype in CredentialType:
        report = verify_credential(
            shown[ctype.slug], resolver=resolver, status_lists=lists, now=NOW
        )
        assert report.valid, (ctype.slug, report.to_dict())
