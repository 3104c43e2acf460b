"""The sample feed generator: deterministic, valid, realistic, ordered, streaming."""

from __future__ import annotations

import gc
import io
import itertools
import json
import re
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from orgbook.core.errors import BadInput
from orgbook.issuer.csvmap import iter_csv_records
from orgbook.issuer.records import parse_record
from orgbook.issuer.sample import generate_feed, main, write_feed


@pytest.fixture(scope="module")
def feed() -> list[dict[str, Any]]:
    return list(generate_feed(2000, seed=42))


def test_deterministic_for_a_seed() -> None:
    first = list(generate_feed(300, seed=7))
    assert first == list(generate_feed(300, seed=7))
    assert first != list(generate_feed(300, seed=8))


def test_every_record_validates_in_effective_date_order(feed: list[dict[str, Any]]) -> None:
    records = [parse_record(obj) for obj in feed]
    instants = [r.effective_date for r in records]
    assert instants == sorted(instants)
    assert len({r.event_id for r in records}) == len(records)
    assert 5.0 <= len(records) / 2000 <= 7.0  # about six records per organisation


def test_organisation_count_and_unique_numbers(feed: list[dict[str, Any]]) -> None:
    registrations = [obj for obj in feed if obj["kind"] == "registration"]
    assert len(registrations) == 2000
    keys = [(obj["jurisdiction"], obj["registration_number"]) for obj in registrations]
    assert len(set(keys)) == len(keys)
    assert {j for j, _ in keys} == {"CA-BC", "CA-NS", "CA"}
    registered = set(keys)
    for obj in feed:  # every event is about an organisation registered before it
        key = (obj["jurisdiction"], obj["registration_number"])
        assert key in registered


def test_every_kind_and_the_realistic_cases(feed: list[dict[str, Any]]) -> None:
    kinds = Counter(obj["kind"] for obj in feed)
    assert set(kinds) == {
        "registration", "name_change", "address_change", "status_change", "relationship",
        "business_number",
    }  # fmt: skip
    statuses = Counter(obj["status"] for obj in feed if obj["kind"] == "status_change")
    assert {"dissolved", "restored", "amalgamated", "cancelled", "continued-out"} <= set(statuses)
    relationships = Counter(
        obj["relationship_type"] for obj in feed if obj["kind"] == "relationship"
    )
    assert {"parent-of", "subsidiary-of", "doing-business-as"} <= set(relationships)
    numbers = [obj["registration_number"] for obj in feed if obj["kind"] == "registration"]
    for prefix in ("BC", "A", "C", "S", "FM", "CP", "LP", "LLC"):
        assert any(re.fullmatch(prefix + r"\d{7}", n) for n in numbers), prefix
    assert any(obj.get("business_number") for obj in feed if obj["kind"] == "registration")
    assert kinds["business_number"] > 0


def test_amalgamation_is_two_organisations_into_a_new_one(feed: list[dict[str, Any]]) -> None:
    into: dict[str, list[dict[str, Any]]] = {}
    for obj in feed:
        if obj["kind"] == "status_change" and obj["status"] == "amalgamated":
            target = obj["amalgamated_into"]["registration_number"]
            into.setdefault(target, []).append(obj)
    assert into
    registered_at = {
        obj["registration_number"]: i for i, obj in enumerate(feed) if obj["kind"] == "registration"
    }
    for target, sources in into.items():
        assert len(sources) == 2
        assert sources[0]["registration_number"] != sources[1]["registration_number"]
        assert sources[0]["effective_date"] <= sources[1]["effective_date"]
        first = feed.index(sources[0])
        assert registered_at[target] < first  # the new company exists first
        record = parse_record(sources[0])
        assert record.data["amalgamated_into"]["jurisdiction"] == record.jurisdiction


def test_names_are_varied_and_realistic(feed: list[dict[str, Any]]) -> None:
    names = [obj["name"] for obj in feed if obj["kind"] in ("registration", "name_change")]
    assert any(re.fullmatch(r"\d+ B\.C\. LTD\.", n) for n in names)
    assert any(n.endswith("Nova Scotia Limited") for n in names)
    assert any(n.endswith("Canada Inc.") for n in names)
    assert any(n.endswith("& Sons Ltd.") for n in names)
    assert any(n.endswith("AND SONS LTD.") for n in names)
    assert any(n.startswith("Les Entreprises") and n.endswith("Ltée") for n in names)
    assert any("é" in n or "è" in n or "ô" in n for n in names)
    assert any(len(n) >= 96 for n in names)
    french = [obj for obj in feed if obj.get("name_language") == "fr"]
    assert len(french) > len(names) // 20
    assert any(obj.get("alternate_names") for obj in french)


def test_extraprovincial_registrations_have_messy_home_jurisdictions(
    feed: list[dict[str, Any]],
) -> None:
    homes = [obj for obj in feed if obj["kind"] == "registration" and "home_jurisdiction" in obj]
    assert homes
    codes = Counter(parse_record(obj).data["home_jurisdiction_code"] for obj in homes)
    assert any(str(code).startswith("US-") for code in codes)
    assert None in codes  # some texts name no jurisdiction at all, and are kept anyway
    assert all(
        obj["registration_number"][0] in "ACLX" for obj in homes if obj["jurisdiction"] == "CA-BC"
    )


def test_effective_date_forms(feed: list[dict[str, Any]]) -> None:
    forms = {
        obj["effective_date"][10:][-6:] if len(obj["effective_date"]) > 10 else "date"
        for obj in feed
    }
    assert {"date", "-08:00", "-04:00"} <= forms
    assert any(obj["effective_date"].endswith("Z") for obj in feed)


def test_other_jurisdictions_and_bounds() -> None:
    records = list(generate_feed(50, seed=1, jurisdictions=("CA-ON",)))
    assert {obj["jurisdiction"] for obj in records} == {"CA-ON"}
    for obj in records:
        parse_record(obj)
    assert list(generate_feed(0)) == []
    with pytest.raises(BadInput):
        generate_feed(-1)
    with pytest.raises(BadInput):
        generate_feed(10, jurisdictions=())


def test_memory_stays_flat_over_200k_records() -> None:
    """Nothing is retained per record: Python's live allocations do not grow as records flow.

    (Per organisation the generator keeps three bytes in bytearrays, sized up front.)
    """
    records = generate_feed(40_000, seed=3)
    assert sum(1 for _ in itertools.islice(records, 10_000)) == 10_000
    gc.collect()
    before = sys.getallocatedblocks()
    assert sum(1 for _ in itertools.islice(records, 190_000)) == 190_000
    gc.collect()
    growth = sys.getallocatedblocks() - before
    assert growth < 2_000, growth


def test_write_feed_jsonl_and_csv(tmp_path: Path) -> None:
    jsonl = tmp_path / "feed.jsonl"
    csv_path = tmp_path / "feed.csv"
    count = write_feed(jsonl, 80, 9)
    assert write_feed(csv_path, 80, 9, "csv") == count
    lines = jsonl.read_text(encoding="utf-8").splitlines()
    assert len(lines) == count
    from_json = [parse_record(json.loads(line)) for line in lines]
    with csv_path.open(encoding="utf-8", newline="") as handle:
        from_csv = [parse_record(row) for _, row in iter_csv_records(handle)]
    assert [r.data for r in from_csv] == [r.data for r in from_json]
    assert "é" in jsonl.read_text(encoding="utf-8") or "è" in jsonl.read_text(encoding="utf-8")
    with pytest.raises(BadInput):
        write_feed(tmp_path / "x", 1, 0, "xml")


def test_command_line(capsysbinary: pytest.CaptureFixture[bytes]) -> None:
    assert main(["25", "--seed", "4", "--format", "jsonl"]) == 0
    out = capsysbinary.readouterr().out.decode("utf-8")
    records = [json.loads(line) for line in out.splitlines()]
    assert records == list(generate_feed(25, seed=4))
    assert main(["5", "--format", "csv", "--jurisdictions", "CA-NS"]) == 0
    text = capsysbinary.readouterr().out.decode("utf-8")
    rows = list(iter_csv_records(io.StringIO(text, newline="")))
    assert rows
    assert all(isinstance(row, dict) and row["jurisdiction"] == "CA-NS" for _, row in rows)
