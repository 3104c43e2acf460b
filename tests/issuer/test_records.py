"""Registry records: schemas, parse_record's normalisation and its InvalidRecord problems."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from orgbook.core.errors import InvalidRecord
from orgbook.core.schemas import schemas_dir, validate_record
from orgbook.issuer.jurisdictions import COUNTRY_CODES, normalise_jurisdiction
from orgbook.issuer.records import RECORD_KINDS, parse_record, record_schema_id

SCHEMA_DIR = schemas_dir() / "records"


def base(kind: str = "registration", **fields: Any) -> dict[str, Any]:
    record: dict[str, Any] = {
        "event_id": "evt-1",
        "kind": kind,
        "jurisdiction": "CA-BC",
        "registration_number": "BC1287139",
        "effective_date": "2021-02-03",
    }
    if kind in ("registration", "name_change"):
        record["name"] = "1287139 B.C. LTD."
    record.update(fields)
    return record


def problems(obj: Any) -> list[dict[str, str]]:
    with pytest.raises(InvalidRecord) as caught:
        parse_record(obj)
    errors = caught.value.extra["errors"]
    assert caught.value.field == errors[0]["path"]
    assert caught.value.problem()["status"] == 422
    return list(errors)


def paths(obj: Any) -> set[str]:
    return {p["path"] for p in problems(obj)}


# --- the schema files ---------------------------------------------------------------------------


def test_one_schema_per_kind_plus_the_dispatcher() -> None:
    names = sorted(p.stem for p in SCHEMA_DIR.glob("*.json"))
    assert names == sorted([*RECORD_KINDS, "record"])
    for name in names:
        schema = json.loads((SCHEMA_DIR / f"{name}.json").read_text(encoding="utf-8"))
        jsonschema.Draft202012Validator.check_schema(schema)
        assert schema["$id"] == f"https://orgbook.example/schemas/records/{name}/1.0.json"
        assert schema["$id"] == record_schema_id(name)


@pytest.mark.parametrize("kind", RECORD_KINDS)
def test_schema_examples_parse_and_pass_the_shared_validator(kind: str) -> None:
    schema = json.loads((SCHEMA_DIR / f"{kind}.json").read_text(encoding="utf-8"))
    assert schema["examples"]
    for example in schema["examples"]:
        assert parse_record(example).kind == kind
        assert validate_record(example) == []


def test_common_definitions_are_identical_in_every_kind() -> None:
    """Each kind's schema stands alone; their shared $defs must not drift apart."""
    defs = [
        json.loads((SCHEMA_DIR / f"{kind}.json").read_text(encoding="utf-8"))["$defs"]
        for kind in RECORD_KINDS
    ]
    assert all(d == defs[0] for d in defs)


def test_dispatching_schema_applies_the_kind_schema() -> None:
    schema = json.loads((SCHEMA_DIR / "record.json").read_text(encoding="utf-8"))
    from referencing import Registry, Resource

    resources = [
        Resource.from_contents(json.loads(p.read_text(encoding="utf-8")))
        for p in Path(SCHEMA_DIR).glob("*.json")
    ]
    registry: Registry[Any] = Registry().with_resources((r.contents["$id"], r) for r in resources)
    validator = jsonschema.Draft202012Validator(schema, registry=registry)
    assert validator.is_valid(base())
    assert not validator.is_valid(base(name=""))
    assert not validator.is_valid(base(kind="bogus"))
    assert not validator.is_valid(base("name_change", name=None))


# --- normalisation ------------------------------------------------------------------------------


def test_registration_is_normalised() -> None:
    record = parse_record(
        base(
            event_id="  evt-1 ",
            jurisdiction=" ca-bc ",
            registration_number=" a0116480 ",
            effective_date="2019-04-03T08:12:11-07:00",
            name="  Cafe\u0301   Lévesque\n Ltée ",
            name_language="FR-ca",
            entity_type=" a ",
            home_jurisdiction="STATE OF DELAWARE, COUNTY OF NEW CASTLE,",
            business_number="123 456 789 RC0001",
            status="HIS",
            address={"street": " 1 Main St ", "city": "Victoria", "region": "BC"},
            extensions={"colin": {"corp_class": "BC"}},
        )
    )
    assert record.event_id == "evt-1"
    assert record.jurisdiction == "CA-BC"
    assert record.registration_number == "A0116480"
    assert record.organisation_id == "CA-BC:A0116480"
    assert record.effective_date == datetime(2019, 4, 3, 15, 12, 11, tzinfo=UTC)
    assert record.registry_date == "2019-04-03"
    assert record.data == {
        "name": "Café Lévesque Ltée",
        "name_language": "fr-CA",
        "entity_type": "A",
        "home_jurisdiction": "STATE OF DELAWARE, COUNTY OF NEW CASTLE,",
        "home_jurisdiction_code": "US-DE",
        "status": "inactive",
        "address": {
            "address_type": "registered",
            "street": "1 Main St",
            "city": "Victoria",
            "region": "BC",
            "country": "CA",
        },
        "business_number": "123456789",
        "program_account": "RC0001",
    }
    assert record.raw["name"] == "  Cafe\u0301   Lévesque\n Ltée "


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2021-02-03", datetime(2021, 2, 3, tzinfo=UTC)),
        ("2021-02-03T17:42:00Z", datetime(2021, 2, 3, 17, 42, tzinfo=UTC)),
        ("2021-02-03 17:42", datetime(2021, 2, 3, 17, 42, tzinfo=UTC)),
        ("2021-02-03T17:42:00.5+0100", datetime(2021, 2, 3, 16, 42, 0, 500000, tzinfo=UTC)),
        ("2021-02-03T23:30:00-08:00", datetime(2021, 2, 4, 7, 30, tzinfo=UTC)),
        (" 1999-12-31 ", datetime(1999, 12, 31, tzinfo=UTC)),
    ],
)
def test_effective_date_forms(text: str, expected: datetime) -> None:
    record = parse_record(base(effective_date=text))
    assert record.effective_date == expected
    assert record.effective_date.tzinfo is UTC
    assert record.registry_date == text.strip()[:10]


@pytest.mark.parametrize(
    "number",
    [
        "BC1287139", "A0116480", "C1287119", "CP0002373", "S0074403", "FM0831620", "LP0831619",
        "LL0001951", "LLC0001174", "XL0000074", "XP0831595", "XCP0002358", "XS0070020",
        "QA0000017", "QE0003058", "REG0000088", "LIC0000609", "FOR0000237", "1234567-8",
        "3012345", "bc 1287139",
    ],
)  # fmt: skip
def test_messy_registration_numbers_are_accepted(number: str) -> None:
    record = parse_record(base(registration_number=number))
    assert record.registration_number == " ".join(number.upper().split())


@pytest.mark.parametrize(
    "home",
    ["STATE OF DELAWARE, COUNTY OF NEW CASTLE,", "DELEWARE", "US, LA", "ZM", "No Where",
     "1100 ELVEDEN HOUSE", "C/O TAYLOR MCCAFFREY", "CONTINUED OUT OF AB-JURISDICTION UNKNOWN",
     "x" * 1000],
)  # fmt: skip
def test_home_jurisdiction_is_never_rejected(home: str) -> None:
    record = parse_record(
        base(entity_type="A", registration_number="A0116480", home_jurisdiction=home)
    )
    assert record.data["home_jurisdiction"] == home
    assert record.data["home_jurisdiction_code"] == normalise_jurisdiction(home)


def test_names_any_unicode_and_long() -> None:
    long_name = "Société coopérative " + "ÉÀÇÔ ñ 日本 " * 80
    record = parse_record(base(name=long_name[:1000]))
    assert record.data["name"] == " ".join(long_name[:1000].split())
    assert problems(base(name="x" * 1001))[0]["path"] == "/name"


def test_summary_statuses_and_defaults() -> None:
    assert parse_record(base()).data["status"] == "active"
    assert parse_record(base(status="ACT")).data["status"] == "active"
    change = parse_record(base("status_change", status="HIS"))
    assert change.data == {"status": "inactive"}


def test_blank_and_null_optional_values_are_absent() -> None:
    record = parse_record(
        base(name_language=None, home_jurisdiction="  ", business_number=None, address=None)
    )
    assert record.data == {"name": "1287139 B.C. LTD.", "status": "active"}


def test_address_country_normalised_or_inferred_from_region() -> None:
    def country(address: dict[str, Any]) -> str | None:
        record = parse_record(base("address_change", address=address))
        value = record.data["address"].get("country")
        return None if value is None else str(value)

    assert country({"city": "Halifax", "country": "Canada"}) == "CA"
    assert country({"city": "Seattle", "country": "U.S.A."}) == "US"
    assert country({"city": "Montréal", "region": "Québec"}) == "CA"
    assert country({"city": "Atlantis", "country": "Mu"}) == "MU"
    assert country({"city": "Nowhere", "country": "Daisyland"}) is None


def test_related_organisation_normalised() -> None:
    record = parse_record(
        base(
            "relationship",
            relationship_type="doing-business-as",
            related={"jurisdiction": "ca-bc", "registration_number": " fm0831620 ", "name": None},
            end_date="2024-01-31T00:00:00Z",
        )
    )
    assert record.data == {
        "relationship_type": "doing-business-as",
        "related": {"jurisdiction": "CA-BC", "registration_number": "FM0831620"},
        "end_date": "2024-01-31",
    }


# --- invalid records ----------------------------------------------------------------------------


def test_not_an_object() -> None:
    assert problems(["a list"]) == [
        {"path": "", "message": "a registry record is a JSON object, not list"}
    ]


@pytest.mark.parametrize("kind", [None, "merger", 7, "Registration"])
def test_unknown_or_missing_kind(kind: Any) -> None:
    record = base()
    if kind is None:
        del record["kind"]
    else:
        record["kind"] = kind
    found = problems(record)
    assert [p["path"] for p in found] == ["/kind"]
    assert ("needs a kind" if kind is None else "unknown record kind") in found[0]["message"]


@pytest.mark.parametrize(
    "field", ["event_id", "jurisdiction", "registration_number", "effective_date", "name"]
)
def test_missing_field_is_reported_at_its_pointer(field: str) -> None:
    record = base()
    del record[field]
    assert problems(record) == [{"path": f"/{field}", "message": "required field is missing"}]


def test_every_problem_is_listed_with_its_pointer() -> None:
    found = problems(
        base(
            "name_change",
            event_id="",
            jurisdiction="BC",
            registration_number="   ",
            effective_date="2023-02-30",
            name=5,
            name_language=7,
            colour="blue",
        )
    )
    by_path = {p["path"]: p["message"] for p in found}
    assert set(by_path) == {
        "/colour", "/effective_date", "/event_id", "/jurisdiction", "/name", "/name_language",
        "/registration_number",
    }  # fmt: skip
    assert "unknown field" in by_path["/colour"]
    assert "extensions" in by_path["/colour"]
    assert "not a real date" in by_path["/effective_date"]
    assert "did you mean 'CA-BC'" in by_path["/jurisdiction"]
    assert "not of type 'string'" in by_path["/name"]
    assert "blank" in by_path["/registration_number"]


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("03/02/2021", "ISO 8601"),
        ("2021-13-01", "ISO 8601"),
        ("2021-02-03T25:00", "ISO 8601"),
        ("2021-02-29", "not a real date"),
        ("20210203", "ISO 8601"),
        (20210203, "not of type 'string'"),
    ],
)
def test_bad_effective_dates(value: Any, reason: str) -> None:
    found = problems(base(effective_date=value))
    assert [p["path"] for p in found] == ["/effective_date"]
    assert reason in found[0]["message"]


@pytest.mark.parametrize("value", ["XX", "CA-ZZ", "US-XX", "Canada", "CA_BC", ""])
def test_bad_jurisdictions(value: str) -> None:
    assert paths(base(jurisdiction=value)) == {"/jurisdiction"}


def test_kind_specific_fields() -> None:
    assert paths(base("name_change", entity_type="BC")) == {"/entity_type"}
    assert paths(base("status_change", status="zombie")) == {"/status"}
    assert paths(base("status_change")) == {"/status"}
    assert paths(
        base(
            "status_change",
            status="dissolved",
            amalgamated_into={"jurisdiction": "CA-BC", "registration_number": "BC2"},
        )
    ) == {"/status"}
    assert paths(base("relationship", relationship_type="owner-of", related={})) == {
        "/relationship_type",
        "/related/jurisdiction",
        "/related/registration_number",
    }
    assert paths(base("address_change", address={"address_type": "home", "zip": "V8W"})) == {
        "/address",
        "/address/address_type",
        "/address/zip",
    }
    assert paths(base("business_number", business_number="12345678")) == {"/business_number"}
    assert paths(base(alternate_names=[{"name": ""}])) == {"/alternate_names/0/name"}
    assert paths(
        base(
            "relationship",
            relationship_type="parent-of",
            related={"jurisdiction": "Narnia", "registration_number": "N1"},
        )
    ) == {"/related/jurisdiction"}


def test_extensions_carry_anything_but_must_be_an_object() -> None:
    record = parse_record(base(extensions={"corp_class": "BC", "n": [1, 2]}))
    assert record.raw["extensions"] == {"corp_class": "BC", "n": [1, 2]}
    assert paths(base(extensions="text")) == {"/extensions"}


def test_messages_are_bounded() -> None:
    found = problems(base(name_language="x" * 10_000))
    assert all(len(p["message"]) <= 300 for p in found)


def test_country_codes_table() -> None:
    assert len(COUNTRY_CODES) == 249
    assert {"CA", "US", "ZM", "GB", "DE"} <= COUNTRY_CODES
    assert not {"UK", "EU", "XX", "BC"} & COUNTRY_CODES


# --- free-text jurisdictions (orgbook.issuer.jurisdictions) ----------------------------------
# Texts from BC Registries' own test sample (bcgov/aries-vcr,
# server/test/prod-corp-test-sample-corps.csv), plus names and codes.

JURISDICTION_TABLE = [
    ("STATE OF DELAWARE, COUNTY OF NEW CASTLE,", "US-DE"),
    ("DELEWARE", "US-DE"),
    ("DELEWARE, U.S.A.", "US-DE"),
    ("US, LA", "US-LA"),
    ("US, DC", "US-DC"),
    ("KING COUNTY, WA, USA", "US-WA"),
    ("ZM", "ZM"),
    ("DE", "DE"),
    ("IN", "IN"),
    ("BC", "CA-BC"),
    ("British Columbia", "CA-BC"),
    ("Colombie-Britannique", "CA-BC"),
    ("Québec", "CA-QC"),
    ("QUEBEC", "CA-QC"),
    ("QC", "CA-QC"),
    ("PQ", "CA-QC"),
    ("NF", "CA-NL"),
    ("NEWFOUNDLAND AND LABRADOR", "CA-NL"),
    ("Nouvelle-Écosse", "CA-NS"),
    ("Île-du-Prince-Édouard", "CA-PE"),
    ("NORTHWEST - TERRITORIES", "CA-NT"),
    ("YUKON TERRITORY", "CA-YT"),
    ("ALBERTA, CANADA", "CA-AB"),
    ("ALBERA", "CA-AB"),
    ("LBERTA", "CA-AB"),
    ("SASKATCHEWA", "CA-SK"),
    ("REGINA, SASKATCHEWAN", "CA-SK"),
    ("ST.-HUBERT, DISTRICT OF MONTREAL, QUEBEC", "CA-QC"),
    ("CANADA (FEDERAL)", "CA"),
    ("FEDRAL", "CA"),
    ("C.B.C.A.", "CA"),
    ("CA", "CA"),
    ("WASHINTON, USA", "US-WA"),
    ("WASHINTGON STATE", "US-WA"),
    ("WASHINGTON, U.S. OF A.", "US-WA"),
    ("WASHINGTON STATE, SUA", "US-WA"),
    ("THE COMMONWEATH OF MASSACHUSETTS, U.S.A.", "US-MA"),
    ("COMMONWEALTH OF PENNSYLANIA, U.S.A.", "US-PA"),
    ("RHODE ISALAND AND PROVIDENCE PL", "US-RI"),
    ("NEWJERSEY", "US-NJ"),
    ("NEW JERSEY", "US-NJ"),
    ("NEW YORK, N.Y.", "US-NY"),
    ("USA (NEW YORK)", "US-NY"),
    ("U.S.A. DELAWARE", "US-DE"),
    ("MONTANO", "US-MT"),
    ("SO. DAKOTA", "US-SD"),
    ("GEORGIA", "US-GA"),
    ("INDIANA", "US-IN"),
    ("INDIA", "IN"),
    ("Texas", "US-TX"),
    ("USA", "US"),
    ("LONDON, ENGLAND", "GB"),
    ("ENGLAND & WALES , UNITED KINGDOM", "GB"),
    ("NEW SOUTH WALES", "AU-NSW"),
    ("QUEENSLAND AUSTRIALIA", "AU"),
    ("COMMONWESLTH OF THE BAHAMAS", "BS"),
    ("ISLAND OF NEVIS, WEST INDIES", "KN"),
    ("BRITISH VIRGIN ISLAND (TORTOLA)", "VG"),
    ("BRITSH VIRGIN ISLANDS", "VG"),
    ("CAYMAN ISLANDS, B.W.I.", "KY"),
    ("JERSEY CHANNEL ISLANDS", "JE"),
    ("TAIWAN, REPUBLIC OF CHIN", "TW"),
    ("P.R. CHINA", "CN"),
    ("PEOPLE'S REPUBLIC OF CHINA", "CN"),
    ("DORTMUND, FEDERAL REPUBLIC OF GERMANY", "DE"),
    ("ZURICH SWITZERLAND", "CH"),
    ("TOYKO, JAPAN", "JP"),
    ("KINGDON OF NORWAY", "NO"),
    ("BLIZE, CENTRAL AMERICA", "BZ"),
    ("ca-bc", "CA-BC"),
    ("US-DE", "US-DE"),
    # not jurisdictions: kept as text only
    ("1100 ELVEDEN HOUSE", None),
    ("P.O. BOX 2211", None),
    ("30TH FLR", None),
    ("19940912", None),
    ("C/O MACKIMMIE MATTHEWS", None),
    ("123 Main Street, Vancouver, BC", None),
    ("MAIN FLOOR", None),
    ("RAMA ROAD", None),
    ("LETTERS PATENT", None),
    ("REG. DOCTS.", None),
    ("No Where", None),
    ("UNKNOWN", None),
    ("DAISYLAND", None),
    ("YU", None),
    ("CONTINUED OUT OF AB-JURISDICTION UNKNOWN", None),
    ("", None),
    ("   ", None),
]


@pytest.mark.parametrize(("text", "code"), JURISDICTION_TABLE)
def test_normalise_jurisdiction(text: str, code: str | None) -> None:
    assert normalise_jurisdiction(text) == code


def test_normalise_jurisdiction_never_raises() -> None:
    for text in (None, "\x00", "é" * 5000, ",,,", "()", "-", "A-", "🙂"):
        assert normalise_jurisdiction(text) is None
