"""The compiled record check (orgbook.core.schemas.compiled) as the issuer's fast path uses it:
it accepts exactly what ``parse_record`` accepts, ``parse_record_fast`` builds the same records,
and it never accepts what jsonschema rejects.
"""

from __future__ import annotations

from typing import Any

from orgbook.core.schemas import accepts, compiled_check
from orgbook.core.schemas.compiled import Check
from orgbook.issuer import records as records_module
from orgbook.issuer.records import RECORD_KINDS, parse_record, parse_record_fast, record_schema_id
from orgbook.issuer.sample import generate_feed


def _sample_records() -> list[dict[str, Any]]:
    return list(generate_feed(150, seed=11))


def compiled_checks() -> dict[str, Check]:
    """The schema layer's compiled check of each record kind (kinds without one absent)."""
    checks = {kind: compiled_check(record_schema_id(kind)) for kind in RECORD_KINDS}
    return {kind: check for kind, check in checks.items() if check is not None}


def test_every_kind_has_a_compiled_check() -> None:
    assert set(compiled_checks()) == set(RECORD_KINDS)


def test_the_dispatching_record_schema_compiles_too() -> None:
    """``record.json`` dispatches by ``if``/``then``: conditions the compiler decides exactly."""
    assert compiled_check(record_schema_id("record")) is not None
    for raw in _sample_records()[:20]:
        assert accepts(record_schema_id("record"), raw)


def test_fast_parse_builds_the_same_records_as_parse_record() -> None:
    records = _sample_records()
    assert {r["kind"] for r in records} == set(RECORD_KINDS)
    for raw in records:
        assert parse_record_fast(raw) == parse_record(raw)


_MUTATIONS: list[Any] = [
    None,
    "",
    " ",
    0,
    1.5,
    True,
    [],
    {},
    "x" * 1001,
    "2021-13-01",
    "2021-02-30",
    "BC 123",
    "zz",
    {"name": None},
    [{"name": ""}],
    [{"name": "A", "language": "english!"}],
    {"street": None},
    {"address_type": "home", "city": "Victoria"},
    {"jurisdiction": "CA-BC"},
]


def _mutants(record: dict[str, Any]) -> list[dict[str, Any]]:
    out = []
    for key in list(record):
        dropped = dict(record)
        del dropped[key]
        out.append(dropped)
        for value in _MUTATIONS:
            out.append(dict(record) | {key: value})
        if isinstance(record[key], dict):
            for inner in list(record[key]):
                for value in _MUTATIONS[:9]:
                    out.append(dict(record) | {key: dict(record[key]) | {inner: value}})
    for extra in ("unknown_field", "status", "amalgamated_into", "end_date", "alternate_names"):
        for value in _MUTATIONS[:10]:
            out.append(dict(record) | {extra: value})
    return out


def test_the_compiled_check_never_accepts_what_jsonschema_rejects() -> None:
    checks = compiled_checks()
    seen = dict.fromkeys(RECORD_KINDS, 0)
    accepted = rejected = 0
    for record in _sample_records()[:120]:
        kind = record["kind"]
        if seen[kind] >= 6:
            continue
        seen[kind] += 1
        for mutant in _mutants(record):
            valid = not records_module._schema_problems(kind, mutant)
            if checks[kind](mutant):
                accepted += 1
                assert valid, mutant
            else:
                rejected += 1
            # Whatever the compiled check says, the outcome is parse_record's.
            try:
                expected: Any = parse_record(mutant)
            except Exception as exc:
                expected = (type(exc), str(exc))
            try:
                got: Any = parse_record_fast(mutant)
            except Exception as exc:
                got = (type(exc), str(exc))
            assert got == expected
    assert accepted > 100
    assert rejected > 100
