"""CSV rows → registry records: columns, aliases, empty cells, bad rows with line numbers."""

from __future__ import annotations

import io
from typing import Any

import pytest

from orgbook.core.errors import BadInput, InvalidRecord
from orgbook.issuer.csvmap import ALIASES, CSV_COLUMNS, iter_csv_records, record_to_row, write_rows
from orgbook.issuer.mapping import map_record
from orgbook.issuer.records import parse_record
from orgbook.issuer.sample import generate_feed


def read(text: str, **kwargs: Any) -> list[tuple[int, dict[str, Any] | Exception]]:
    return list(iter_csv_records(io.StringIO(text, newline=""), **kwargs))


def test_orgbook_columns_make_nested_records() -> None:
    text = (
        "event_id,kind,jurisdiction,registration_number,effective_date,name,name_language,"
        "alternate_name,alternate_name_language,entity_type,home_jurisdiction,business_number,"
        "program_account,address_type,street,city,region,postal_code,country\n"
        "e1,registration,CA-BC,BC1287139,2021-02-03,Boulangerie Lévesque Ltée,fr,"
        "Lévesque Bakery Ltd.,en,BC,,123456789,RC0001,registered,800 Granville St,Vancouver,"
        "BC,V6Z 1K3,CA\n"
    )
    ((line, row),) = read(text)
    assert line == 2
    assert row == {
        "event_id": "e1",
        "kind": "registration",
        "jurisdiction": "CA-BC",
        "registration_number": "BC1287139",
        "effective_date": "2021-02-03",
        "name": "Boulangerie Lévesque Ltée",
        "name_language": "fr",
        "alternate_names": [{"name": "Lévesque Bakery Ltd.", "language": "en"}],
        "entity_type": "BC",
        "business_number": "123456789",
        "program_account": "RC0001",
        "address": {
            "address_type": "registered",
            "street": "800 Granville St",
            "city": "Vancouver",
            "region": "BC",
            "postal_code": "V6Z 1K3",
            "country": "CA",
        },
    }
    assert "home_jurisdiction" not in row  # empty cell = absent
    assert parse_record(row).data["alternate_names"] == [
        {"name": "Lévesque Bakery Ltd.", "language": "en"}
    ]


def test_related_columns_mean_related_or_amalgamated_into() -> None:
    text = (
        "event_id,kind,jurisdiction,registration_number,effective_date,status,reason,"
        "relationship_type,related_jurisdiction,related_registration_number,related_name\n"
        "e1,relationship,CA-BC,BC1,2021-02-03,,,Parent-Of,CA-BC,BC2,Child Ltd.\n"
        "e2,status_change,CA-BC,BC3,2021-02-03,Amalgamated,amalgamation,,CA-BC,BC4,\n"
    )
    (_, relationship), (_, status) = read(text)
    assert isinstance(relationship, dict)
    assert isinstance(status, dict)
    assert relationship["relationship_type"] == "parent-of"
    assert relationship["related"] == {
        "jurisdiction": "CA-BC",
        "registration_number": "BC2",
        "name": "Child Ltd.",
    }
    assert status["status"] == "amalgamated"
    assert status["amalgamated_into"] == {"jurisdiction": "CA-BC", "registration_number": "BC4"}
    assert [
        d.type_slug
        for d in map_record(parse_record(status), issuer_did="did:web:x", issuer_name="X")
    ] == [
        "status",
        "relationship",
    ]


def test_bc_registries_export_columns_are_aliases() -> None:
    text = (
        "CORP_NUM,CORP_NME,corp_typ_cd,recognition_dts,state_typ_cd,othr_juris_desc,Colour\n"
        "BC1287139,1287139 B.C. LTD.,BC,2021-02-03 10:00:00,ACT,,blue\n"
        'A0116480,"ACME ""WIDGETS"", INC.",A,1999-01-01 00:00:00,HIS,'
        '"STATE OF DELAWARE, COUNTY OF NEW CASTLE,",\n'
    )
    rows = read(text, jurisdiction="CA-BC")
    assert [line for line, _ in rows] == [2, 3]
    first, second = (row for _, row in rows)
    assert isinstance(first, dict)
    assert isinstance(second, dict)
    # no kind column: a corporation summary; no event_id column: ids from the row's content
    assert first["kind"] == second["kind"] == "registration"
    assert first["event_id"].startswith("csv:")
    assert first["event_id"] != second["event_id"]
    assert read(text, jurisdiction="CA-BC")[0][1] == first  # same file, same ids
    assert first["extensions"] == {"Colour": "blue"}
    assert second["name"] == 'ACME "WIDGETS", INC.'
    a = parse_record(first)
    b = parse_record(second)
    assert a.data["status"] == "active"
    assert b.data["status"] == "inactive"
    assert b.data["home_jurisdiction_code"] == "US-DE"
    assert b.registration_number == "A0116480"


def test_alias_table_targets_only_known_columns() -> None:
    assert set(ALIASES.values()) <= set(CSV_COLUMNS)


def test_headers_match_loosely() -> None:
    text = "Event ID, Kind ,JURISDICTION,Registration-Number,effective date,Legal Name\n" + (
        "e1,Registration,CA-BC,BC1,2021-02-03,X Ltd.\n"
    )
    ((_, row),) = read(text)
    assert isinstance(row, dict)
    assert row["kind"] == "registration"
    assert row["name"] == "X Ltd."
    assert row["registration_number"] == "BC1"


def test_bad_rows_are_reported_with_their_line_and_reading_goes_on() -> None:
    text = (
        "event_id,kind,jurisdiction,registration_number,effective_date,name,extensions\n"
        "e1,registration,CA-BC,BC1,2021-02-03,One,\n"  # line 2
        "\n"  # line 3: blank, skipped
        "e2,registration,CA-BC,BC2,2021-02-03\n"  # line 4: too few cells
        'e3,registration,CA-BC,BC3,2021-02-03,"Multi\nLine Name",\n'  # lines 5-6
        "e4,registration,CA-BC,BC4,2021-02-03,Four,{not json}\n"  # line 7
        "e5,registration,CA-BC,BC5,2021-02-03,Five,[1]\n"  # line 8
        'e6,registration,CA-BC,BC6,2021-02-03,Six,"{""a"": 1}"\n'  # line 9
        "e7,registration,CA-BC,BC7,not-a-date,Seven,,extra\n"  # line 10: too many cells
        "e8,registration,CA-BC,BC8,not-a-date,Eight,\n"  # line 11: maps, but is invalid
    )
    rows = read(text)
    assert [line for line, _ in rows] == [2, 4, 5, 7, 8, 9, 10, 11]
    kinds = [type(value).__name__ for _, value in rows]
    assert kinds == ["dict", "BadInput", "dict", "BadInput", "BadInput", "dict", "BadInput", "dict"]
    assert str(rows[1][1]) == "line 4: 5 cells where the header has 7"
    assert isinstance(rows[3][1], BadInput)
    assert rows[3][1].field == "/extensions"
    multi = rows[2][1]
    assert isinstance(multi, dict)
    assert parse_record(multi).data["name"] == "Multi Line Name"
    six = rows[5][1]
    assert isinstance(six, dict)
    assert six["extensions"] == {"a": 1}
    with pytest.raises(InvalidRecord) as caught:
        parse_record(rows[7][1])
    assert caught.value.field == "/effective_date"


def test_header_problems() -> None:
    assert read("") == []
    ((line, error),) = read("corp_num,registration_number\nBC1,BC1\n")
    assert line == 1
    assert isinstance(error, BadInput)
    assert "both mean 'registration_number'" in str(error)


def test_csv_syntax_error_has_a_line_number() -> None:
    text = 'event_id,kind\n"e1,registration\n'
    rows = read(text)
    assert len(rows) == 1
    assert rows[0][0] == 2
    assert isinstance(rows[0][1], BadInput)


def test_round_trip_of_generated_records_through_csv() -> None:
    records = list(generate_feed(120, seed=5))
    stream = io.StringIO(newline="")
    assert write_rows(stream, records) == len(records)
    stream.seek(0)
    back = list(iter_csv_records(stream))
    assert len(back) == len(records)
    for original, (_, row) in zip(records, back, strict=True):
        assert isinstance(row, dict)
        assert parse_record(row).data == parse_record(original).data
        assert parse_record(row).effective_date == parse_record(original).effective_date


def test_record_to_row_refuses_what_a_row_cannot_carry() -> None:
    with pytest.raises(BadInput):
        record_to_row({"unknown_field": 1})
    with pytest.raises(BadInput):
        record_to_row({"alternate_names": [{"name": "a"}, {"name": "b"}]})
    row = record_to_row({"extensions": {"b": 1, "a": "é"}})
    assert row["extensions"] == '{"a": "é", "b": 1}'
