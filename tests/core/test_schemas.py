"""The JSON Schemas in schemas/ and orgbook.core.schemas: loading by $id, formats, problems as JSON
pointers, registry records by kind, and the VC 2.0 data-model rules beyond the W3C fixtures."""

from __future__ import annotations

import copy
import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from orgbook.core.credentials import CredentialType, build_credential, subject_id
from orgbook.core.errors import ConfigurationError, NotFound
from orgbook.core.schemas import (
    SchemaProblem,
    is_url,
    known_schema_ids,
    schema_by_id,
    schemas_dir,
    validate_against,
    validate_credential,
    validate_data_model,
    validate_record,
)
from orgbook.core.schemas import catalogue as schema_catalogue
from orgbook.core.schemas import validation as schema_validation
from orgbook.core.time import parse_time_or_none
from tests.core.test_credentials import ISSUER_DID, LONG_NAME, sample_subject

BASE = "https://orgbook.example/schemas"


def unsigned(ctype: CredentialType, **subject_changes: Any) -> dict[str, Any]:
    return build_credential(
        credential_type=ctype,
        issuer=ISSUER_DID,
        subject=sample_subject(ctype) | subject_changes,
        credential_id="urn:uuid:3f1e6a52-7d5b-5c61-9a0e-6b1f2c3d4e5f",
        valid_from="2024-01-01T00:00:00Z",
        subject_jurisdiction="CA-BC",
        subject_number="BC1287139",
    )


# --- the files ----------------------------------------------------------------------------------


def test_every_schema_file_is_a_valid_2020_12_schema_with_its_path_as_id() -> None:
    root = schemas_dir()
    assert root == Path(__file__).resolve().parents[2] / "orgbook" / "resources" / "schemas"
    files = sorted((root / "credentials").rglob("*.json"))
    assert len(files) == 7
    for path in files:
        schema = json.loads(path.read_text(encoding="utf-8"))
        jsonschema.Draft202012Validator.check_schema(schema)
        assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
        assert schema["$id"] == f"{BASE}/{path.relative_to(root).as_posix()}"


def test_catalogue_holds_credentials_and_records() -> None:
    ids = known_schema_ids()
    for ctype in CredentialType:
        assert ctype.schema_id in ids
    assert f"{BASE}/credentials/common/1.0.json" in ids
    assert any(i.startswith(f"{BASE}/records/") for i in ids)
    assert schema_by_id(CredentialType.ADDRESS.schema_id)["title"] == "Address credential"
    with pytest.raises(NotFound):
        schema_by_id(f"{BASE}/credentials/nope/1.0.json")
    with pytest.raises(NotFound):
        validate_against(f"{BASE}/credentials/nope/1.0.json", {})


# --- credentials --------------------------------------------------------------------------------


@pytest.mark.parametrize("ctype", list(CredentialType), ids=lambda t: t.slug)
def test_sample_of_each_type_validates(ctype: CredentialType) -> None:
    assert validate_credential(unsigned(ctype)) == []


@pytest.mark.parametrize("ctype", list(CredentialType), ids=lambda t: t.slug)
def test_each_schema_rejects_another_types_subject(ctype: CredentialType) -> None:
    other = CredentialType.STATUS if ctype is not CredentialType.STATUS else CredentialType.ADDRESS
    cred = unsigned(ctype)
    cred["credentialSubject"] = {"id": cred["credentialSubject"]["id"], **sample_subject(other)}
    assert validate_credential(cred) != []


def test_unknown_or_missing_schema_is_a_problem() -> None:
    cred = unsigned(CredentialType.STATUS)
    cred["credentialSchema"]["id"] = "https://elsewhere.example/schema.json"
    assert validate_credential(cred) == [
        SchemaProblem("/credentialSchema", "unknown schema https://elsewhere.example/schema.json")
    ]
    del cred["credentialSchema"]
    assert validate_credential(cred)[0].path == "/credentialSchema"
    assert validate_credential("nope") == [SchemaProblem("", "a credential is a JSON object")]


@pytest.mark.parametrize(
    "name",
    [
        LONG_NAME,
        "É" * 96,
        "x" * 500,
        "x" * 2000,
        "Ĳssel & Zoon B.V.",
        "株式会社オルグブック",
        "O'Brien-Ñúñez (Québec) inc.",
    ],
)
def test_names_any_unicode_and_long(name: str) -> None:
    assert validate_credential(unsigned(CredentialType.LEGAL_NAME, legalName=name)) == []
    assert validate_credential(unsigned(CredentialType.REGISTRATION, registeredName=name)) == []


def test_empty_name_is_rejected_with_its_path() -> None:
    problems = validate_credential(unsigned(CredentialType.LEGAL_NAME, legalName=""))
    assert [p.path for p in problems] == ["/credentialSubject/legalName"]


@pytest.mark.parametrize(
    ("field", "value", "ok"),
    [
        ("registeredDate", "2019-03-14", True),
        ("registeredDate", "2024-02-29", True),
        ("registeredDate", "2023-02-29", False),  # format: not a real date
        ("registeredDate", "2019-13-01", False),  # pattern
        ("registeredDate", "2019-03-14T00:00:00Z", False),
        ("registeredDate", "14/03/2019", False),
        ("registeredDate", "20190314", False),
    ],
)
def test_dates_are_iso_8601(field: str, value: str, ok: bool) -> None:
    problems = validate_credential(unsigned(CredentialType.REGISTRATION, **{field: value}))
    assert (problems == []) is ok
    if not ok:
        assert {p.path for p in problems} == {f"/credentialSubject/{field}"}


@pytest.mark.parametrize(
    ("value", "ok"),
    [
        ("2024-01-01T00:00:00Z", True),
        ("2024-01-01T00:00:00.123456789Z", True),
        ("2024-01-01T19:10:39-06:00", True),
        ("2024-01-01T00:00:00", False),  # no time zone
        ("2024-02-30T00:00:00Z", False),  # format: not a real date
        ("2024-01-01T24:00:00Z", False),
        ("2024-01-01 00:00:00Z", False),
        ("2024-01-01", False),
    ],
)
def test_valid_from_is_a_date_time_stamp(value: str, ok: bool) -> None:
    cred = unsigned(CredentialType.STATUS) | {"validFrom": value}
    assert (validate_credential(cred) == []) is ok
    assert (validate_data_model(cred) == []) is ok
    assert (parse_time_or_none(value) is not None) is ok


def test_effective_date_accepts_date_or_date_time() -> None:
    for value in ("2024-05-01", "2024-05-01T08:00:00-07:00"):
        assert validate_credential(unsigned(CredentialType.STATUS, effectiveDate=value)) == []
    assert validate_credential(unsigned(CredentialType.STATUS, effectiveDate="May 2024")) != []


@pytest.mark.parametrize(
    ("ctype", "changes", "path"),
    [
        (CredentialType.STATUS, {"status": "bankrupt"}, "/credentialSubject/status"),
        (CredentialType.STATUS, {"colour": "blue"}, "/credentialSubject"),
        (CredentialType.ADDRESS, {"addressCountry": "Canada"}, "/credentialSubject/addressCountry"),
        (CredentialType.ADDRESS, {"addressType": "home"}, "/credentialSubject/addressType"),
        (
            CredentialType.BUSINESS_NUMBER,
            {"businessNumber": "12345678"},
            "/credentialSubject/businessNumber",
        ),
        (
            CredentialType.BUSINESS_NUMBER,
            {"programAccount": "rc0001"},
            "/credentialSubject/programAccount",
        ),
        (
            CredentialType.RELATIONSHIP,
            {"relationshipType": "friend-of"},
            "/credentialSubject/relationshipType",
        ),
        (
            CredentialType.REGISTRATION,
            {"registerType": "Person"},
            "/credentialSubject/registerType",
        ),
        (CredentialType.REGISTRATION, {"type": ["Organisation"]}, "/credentialSubject/type"),
        (
            CredentialType.REGISTRATION,
            {"jurisdiction": "British Columbia"},
            "/credentialSubject/jurisdiction",
        ),
        (
            CredentialType.REGISTRATION,
            {"registrar": {"name": "BC"}},
            "/credentialSubject/registrar/id",
        ),
        (CredentialType.LEGAL_NAME, {"language": "French language"}, "/credentialSubject/language"),
    ],
)
def test_subject_problems_point_at_the_field(
    ctype: CredentialType, changes: dict[str, Any], path: str
) -> None:
    problems = validate_credential(unsigned(ctype, **changes))
    assert [p.path for p in problems] == [path], problems


def test_home_jurisdiction_keeps_messy_text() -> None:
    for text, code in [("DELEWARE", None), ("US, LA", "US-LA"), ("ZM", "ZM"), ("", None)]:
        cred = unsigned(CredentialType.REGISTRATION, homeJurisdiction={"text": text, "code": code})
        assert validate_credential(cred) == [], text


@pytest.mark.parametrize(
    ("change", "path"),
    [
        ({"type": ["VerifiableCredential"]}, "/type"),
        ({"type": ["LegalNameCredential", "OrganisationStatusCredential"]}, "/type"),
        ({"issuer": "https://registry.example"}, "/issuer"),
        ({"id": "https://registry.example/c/1"}, "/id"),
        ({"validUntil": "soon"}, "/validUntil"),
        ({"credentialStatus": [{"type": "BitstringStatusListEntry"}]}, "/credentialStatus"),
        (
            {"credentialSchema": {"id": f"{BASE}/credentials/status/1.0.json", "type": "Json"}},
            "/credentialSchema/type",
        ),
        ({"@context": ["https://www.w3.org/2018/credentials/v1"]}, "/@context"),
        ({"proof": {"cryptosuite": "eddsa-jcs-2022"}}, "/proof"),
    ],
)
def test_envelope_problems(change: dict[str, Any], path: str) -> None:
    problems = validate_credential(unsigned(CredentialType.STATUS) | change)
    assert problems
    assert problems[0].path.startswith(path), problems


def test_subject_id_must_be_an_orgbook_urn() -> None:
    cred = unsigned(CredentialType.STATUS)
    cred["credentialSubject"]["id"] = "did:example:someone"
    assert [p.path for p in validate_credential(cred)] == ["/credentialSubject/id"]
    cred["credentialSubject"]["id"] = subject_id("CA-NS", "A 01/2#É")
    assert validate_credential(cred) == []


def test_custom_schema_base_maps_to_the_stable_id() -> None:
    cred = unsigned(CredentialType.STATUS)
    cred["credentialSchema"]["id"] = "https://gov.example/s/credentials/status/1.0.json"
    assert validate_credential(cred, schema_base="https://gov.example/s") == []
    assert "unknown schema" in validate_credential(cred)[0].message


def test_problems_are_capped_and_never_raise_on_odd_instances() -> None:
    huge = {f"k{i}": i for i in range(500)}
    cred = unsigned(CredentialType.STATUS)
    cred["credentialSubject"] |= huge
    assert len(validate_credential(cred)) <= schema_validation.MAX_PROBLEMS
    deep: Any = []
    for _ in range(50_000):
        deep = [deep]
    cred["credentialSubject"] = {"id": cred["credentialSubject"]["id"], "x": deep}
    assert validate_credential(cred)  # reported, not raised
    assert validate_against(CredentialType.STATUS.schema_id, {1, 2}) != []


# --- records ------------------------------------------------------------------------------------


def test_validate_record_by_kind() -> None:
    record = {
        "event_id": "evt-1",
        "kind": "name_change",
        "jurisdiction": "CA-BC",
        "registration_number": "BC1287139",
        "effective_date": "2024-01-01",
        "name": "Société de l'Érable Ltée",
    }
    assert validate_record(record) == []
    missing = validate_record({"kind": "name_change"})
    assert SchemaProblem("/event_id", "'event_id' is a required property") in missing
    assert validate_record({"kind": "merger"}) == [
        SchemaProblem("/kind", "unknown record kind 'merger'")
    ]
    assert validate_record({}) == [SchemaProblem("/kind", "a registry record needs a kind")]
    assert validate_record([]) == [SchemaProblem("", "a registry record is a JSON object")]


@pytest.fixture
def scratch_schemas(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A private copy of schemas/ that the catalogue loads instead (cache cleared around it)."""
    root = tmp_path / "schemas"
    shutil.copytree(schemas_dir() / "credentials", root / "credentials")
    (root / "records").mkdir()
    monkeypatch.setattr(schema_catalogue, "schemas_dir", lambda: root)
    for cached in (schema_catalogue.catalogue, schema_validation.schema_validator):
        cached.cache_clear()
    yield root
    for cached in (schema_catalogue.catalogue, schema_validation.schema_validator):
        cached.cache_clear()


def _record_schema(kind_id: str) -> dict[str, Any]:
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": f"{BASE}/records/{kind_id}",
        "type": "object",
        "required": ["kind", "name"],
        "properties": {"name": {"$ref": f"{BASE}/credentials/common/1.0.json#/$defs/name"}},
    }


@pytest.mark.parametrize("layout", ["flat", "folder", "hyphen"])
def test_record_schema_layouts_are_found(scratch_schemas: Path, layout: str) -> None:
    if layout == "flat":
        path, sid = scratch_schemas / "records" / "name_change.json", "name_change.json"
    elif layout == "folder":
        path, sid = scratch_schemas / "records" / "name_change" / "1.0.json", "name_change/1.0.json"
    else:
        path, sid = scratch_schemas / "records" / "name-change" / "1.0.json", "name-change/1.0.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(_record_schema(sid)), encoding="utf-8")
    assert validate_record({"kind": "name_change", "name": "Érable"}) == []
    # The $ref into the credential schemas resolved through the registry:
    assert [p.path for p in validate_record({"kind": "name_change", "name": ""})] == ["/name"]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{not json", "does not load"),
        ('{"type": "object"}', "has no $id"),
        (
            '{"$id": "https://orgbook.example/schemas/records/x.json", "type": 5}',
            "not a valid schema",
        ),
        (json.dumps({"$id": f"{BASE}/credentials/common/1.0.json"}), "two schema files"),
    ],
)
def test_broken_schema_files_are_configuration_errors(
    scratch_schemas: Path, content: str, message: str
) -> None:
    (scratch_schemas / "records" / "x.json").write_text(content, encoding="utf-8")
    with pytest.raises(ConfigurationError) as err:
        known_schema_ids()
    assert message in err.value.detail


def test_unresolvable_ref_is_a_configuration_error(scratch_schemas: Path) -> None:
    schema = _record_schema("x.json") | {
        "properties": {"name": {"$ref": "https://nowhere.example/s.json"}}
    }
    (scratch_schemas / "records" / "x.json").write_text(json.dumps(schema), encoding="utf-8")
    with pytest.raises(ConfigurationError):
        validate_record({"kind": "x", "name": "a"})


# --- data-model rules beyond the W3C fixtures ---------------------------------------------------


def test_data_model_rules() -> None:
    base = unsigned(CredentialType.STATUS)
    assert validate_data_model(base) == []
    assert validate_data_model(None) == [
        SchemaProblem("", "a verifiable credential is a JSON object")
    ]
    bad = copy.deepcopy(base) | {
        "validFrom": "2025-01-01T00:00:00Z",
        "validUntil": "2024-01-01T00:00:00Z",
    }
    assert [p.message for p in validate_data_model(bad)] == ["validUntil is before validFrom"]
    assert validate_data_model(base | {"credentialSubject": []})[0].message == (
        "credentialSubject must not be empty"
    )
    assert validate_data_model(base | {"@context": [{"@vocab": None}]})[0].path == "/@context"


@pytest.mark.parametrize(
    ("value", "ok"),
    [
        ("did:web:x.example", True),
        ("urn:uuid:1", True),
        ("https://x.example/a b", False),
        ("https ://x", False),
        ("fake-issuer", False),
        ("", False),
        (None, False),
        ("a:", False),
    ],
)
def test_is_url(value: Any, ok: bool) -> None:
    assert is_url(value) is ok
