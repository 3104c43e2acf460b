"""Registry records: validation against ``schemas/records/`` and normalisation.

A registry record is one event from a corporate registry (docs/data-model.md, "Registry records
(input)"; docs/records.md). :func:`parse_record` validates it against the JSON Schema of its
``kind`` and returns a :class:`Record` whose values are normalised:

* strings trimmed and NFC-normalised; names with runs of whitespace collapsed;
* jurisdictions upper-cased (``ca-bc`` → ``CA-BC``) and checked against ISO 3166;
* registration numbers upper-cased with inner whitespace collapsed, otherwise kept as the
  registry wrote them (``BC1287139``, ``A0116480``, ``FM0831620``, ``LLC0001174``…);
* the effective date as an aware UTC datetime (a bare date is 00:00 UTC, a date-time without an
  offset is taken as UTC);
* BC's summary statuses ``ACT``/``HIS`` as ``active``/``inactive``; a home jurisdiction kept as
  text with its ISO 3166 code beside it when one can be derived (never rejected); an address
  country as its ISO 3166-1 code; a 15-character business number split into number and program
  account; ``null`` and blank optional values dropped.

Invalid records raise :class:`orgbook.core.errors.InvalidRecord` listing every problem with its JSON
pointer. :func:`parse_record_fast` is the same, skipping ``jsonschema`` for a record the schema
layer's compiled check accepts (bulk issuance's hot path; the test suite compares the two).

What it owns: the :class:`Record` dataclass and mapping a validated record into it, the record
problems' messages, and the checks a schema cannot express (real dates, ISO 3166 codes).

What it must not do: load or compile schemas (:mod:`orgbook.core.schemas` does: the catalogue,
the compiled fast path and the ``jsonschema`` validator), or parse date-times itself
(:mod:`orgbook.core.time`). Pure: no storage, no HTTP.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import jsonschema
from jsonschema.exceptions import ValidationError

from orgbook.core.errors import ConfigurationError, InvalidRecord, NotFound
from orgbook.core.schemas import compiled_check, schema_by_id, schema_validator, schemas_dir
from orgbook.core.time import parse_registry_time
from orgbook.issuer.jurisdictions import (
    CANADIAN_SUBDIVISIONS,
    COUNTRY_CODES,
    US_SUBDIVISIONS,
    country_of,
    normalise_jurisdiction,
)

__all__ = [
    "RECORD_KINDS",
    "Record",
    "parse_record",
    "parse_record_fast",
    "record_schema",
    "record_schema_id",
]

SCHEMA_BASE = "https://orgbook.example/schemas/records"
RECORD_KINDS = (
    "registration",
    "name_change",
    "address_change",
    "status_change",
    "relationship",
    "business_number",
)
_SUMMARY_STATUS = {"ACT": "active", "HIS": "inactive"}
_MAX_MESSAGE = 300
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


@dataclass(frozen=True, slots=True)
class Record:
    """One validated, normalised registry event.

    ``data`` holds the kind-specific fields, normalised (plus ``home_jurisdiction_code`` for a
    registration); ``raw`` is the mapping as the registry sent it.
    """

    event_id: str
    kind: str
    jurisdiction: str
    registration_number: str
    effective_date: datetime
    data: dict[str, Any]
    raw: dict[str, Any]

    @property
    def organisation_id(self) -> str:
        """``CA-BC:BC1287139``."""
        return f"{self.jurisdiction}:{self.registration_number}"

    @property
    def registry_date(self) -> str:
        """The effective calendar date as the registry wrote it (``YYYY-MM-DD``, before any
        conversion to UTC): what registration and effective dates in credentials show."""
        text = self.raw.get("effective_date")
        if isinstance(text, str) and _DATE.match(text.strip()):
            return text.strip()[:10]
        return self.effective_date.date().isoformat()


def record_schema_id(kind: str) -> str:
    """The ``$id`` of the schema for ``kind`` (``record`` for the dispatching schema)."""
    return f"{SCHEMA_BASE}/{kind}/1.0.json"


def record_schema(kind: str) -> Mapping[str, Any]:
    """The record schema for ``kind`` from the one schema catalogue; a missing one is a
    :class:`ConfigurationError` (an incomplete installation), never a rejected record."""
    try:
        return schema_by_id(record_schema_id(kind))
    except NotFound:
        raise ConfigurationError(f"no record schema for kind {kind!r} in {schemas_dir()}") from None


# --- schemas -----------------------------------------------------------------------------------


def _validator(kind: str) -> jsonschema.Draft202012Validator:
    """The schema layer's validator for ``kind``, local references inlined (resolving them was
    most of ``jsonschema``'s cost per record; figures in docs/performance.md)."""
    record_schema(kind)  # a missing schema is a ConfigurationError, not a rejected record
    return schema_validator(record_schema_id(kind), inline_local_refs=True)


def _pointer(path: Any) -> str:
    return "".join("/" + str(p).replace("~", "~0").replace("/", "~1") for p in path)


def _short(message: str) -> str:
    return message if len(message) <= _MAX_MESSAGE else message[: _MAX_MESSAGE - 1] + "…"


def _leaf(error: ValidationError) -> ValidationError:
    """The most telling sub-error of an ``anyOf``: not the ``null`` alternative's."""
    while error.context:
        candidates = [
            e
            for e in error.context
            if not (e.validator == "type" and e.validator_value == "null")
            and e.validator != "required"
        ]
        if not candidates:
            break
        best = jsonschema.exceptions.best_match(candidates)
        if best is None:
            break
        error = best
    return error


def _problem(path: str, message: str) -> dict[str, str]:
    return {"path": path, "message": _short(message)}


_PATTERN_MESSAGES = {
    "\\S": "must not be blank",
}
_PATTERN_HINTS = {
    "effective_date": "an ISO 8601 date or date-time (2021-02-03, 2021-02-03T17:42:00Z)",
    "end_date": "an ISO 8601 date or date-time (2021-02-03, 2021-02-03T17:42:00Z)",
    "jurisdiction": "an ISO 3166 code such as CA, CA-BC or US-DE",
    "business_number": "a 9-digit business number (123456789 or 123456789RC0001)",
    "program_account": "a program account such as RC0001",
    "name_language": "a BCP 47 language tag such as en, fr or fr-CA",
    "language": "a BCP 47 language tag such as en, fr or fr-CA",
}


def _schema_problems(kind: str, obj: Mapping[str, Any]) -> list[dict[str, str]]:
    validator = _validator(kind)
    problems = []
    for error in validator.iter_errors(obj):
        leaf = _leaf(error)
        path = list(leaf.absolute_path)
        value: Any = leaf.validator_value
        schema: Any = leaf.schema
        if leaf.validator == "required" and isinstance(leaf.instance, Mapping):
            # Point at the missing member itself, not at the object that lacks it.
            for member in value:
                if member not in leaf.instance:
                    problems.append(
                        _problem(_pointer([*path, member]), "required field is missing")
                    )
            continue
        if leaf.validator == "additionalProperties" and isinstance(leaf.instance, Mapping):
            allowed = schema.get("properties", {})
            for member in leaf.instance:
                if member not in allowed:
                    hint = " (registry-specific fields go in /extensions)" if not path else ""
                    problems.append(_problem(_pointer([*path, member]), "unknown field" + hint))
            continue
        if leaf.validator == "anyOf" and all(e.validator == "required" for e in leaf.context):
            options = ", ".join(m for e in leaf.context for m in _members(e.validator_value))
            problems.append(_problem(_pointer(path), f"needs at least one of: {options}"))
            continue
        if leaf.validator == "enum":
            options = ", ".join(repr(v) for v in value if v is not None)
            problems.append(_problem(_pointer(path), f"{leaf.instance!r} is not one of {options}"))
            continue
        if leaf.validator == "pattern":
            field = next((str(p) for p in reversed(path) if isinstance(p, str)), "")
            expected = _PATTERN_MESSAGES.get(str(value)) or (
                f"is not {_PATTERN_HINTS[field]}" if field in _PATTERN_HINTS else None
            )
            if expected:
                problems.append(_problem(_pointer(path), f"{leaf.instance!r} {expected}"))
                continue
        problems.append(_problem(_pointer(path), leaf.message))
    # jsonschema reports "required" once per missing member, each with the whole list.
    return list({(p["path"], p["message"]): p for p in problems}.values())


def _members(value: Any) -> list[str]:
    return [str(v) for v in value] if isinstance(value, list) else []


# --- values ------------------------------------------------------------------------------------


def _text(value: Any) -> str | None:
    """Trimmed NFC text; blank or null is absent."""
    if not isinstance(value, str):
        return None
    text = unicodedata.normalize("NFC", value).strip()
    return text or None


def _name(value: Any) -> str | None:
    text = _text(value)
    return " ".join(text.split()) if text else None


def _number(value: Any) -> str | None:
    text = _text(value)
    return " ".join(text.upper().split()) if text else None


def _language(value: Any) -> str | None:
    text = _text(value)
    if text is None:
        return None
    parts = text.split("-")
    out = [parts[0].lower()]
    for part in parts[1:]:
        if len(part) == 2:
            out.append(part.upper())
        elif len(part) == 4 and part.isalpha():
            out.append(part.title())
        else:
            out.append(part.lower())
    return "-".join(out)


def _jurisdiction_problem(value: str) -> str | None:
    code = value.strip().upper()
    country, _, sub = code.partition("-")
    known = country in COUNTRY_CODES and (
        not sub
        or (country == "CA" and sub in CANADIAN_SUBDIVISIONS)
        or (country == "US" and sub in US_SUBDIVISIONS)
        or country not in ("CA", "US")
    )
    if known:
        return None
    hint = normalise_jurisdiction(value)
    suggestion = f"; did you mean {hint!r}?" if hint else ""
    return f"{value!r} is not an ISO 3166 country or subdivision code{suggestion}"


def _semantic_problems(obj: Mapping[str, Any], reported: set[str]) -> list[dict[str, str]]:
    """What a pattern cannot say: calendar dates that do not exist, unknown ISO 3166 codes."""
    problems = []
    dates = [("/effective_date", obj.get("effective_date")), ("/end_date", obj.get("end_date"))]
    for path, value in dates:
        if isinstance(value, str) and path not in reported:
            try:
                parse_registry_time(value)
            except ValueError as exc:
                problems.append(_problem(path, f"{value!r} is not a real date or time: {exc}"))
    places = [("/jurisdiction", obj.get("jurisdiction"))]
    for key in ("related", "amalgamated_into"):
        ref = obj.get(key)
        if isinstance(ref, Mapping):
            places.append((f"/{key}/jurisdiction", ref.get("jurisdiction")))
    for path, value in places:
        if isinstance(value, str) and path not in reported:
            message = _jurisdiction_problem(value)
            if message:
                problems.append(_problem(path, message))
    return problems


def _country(text: Any) -> str | None:
    value = _text(text)
    if value is None:
        return None
    if value.upper() in COUNTRY_CODES:
        return value.upper()
    code = normalise_jurisdiction(value)
    return country_of(code) if code else None


def _address(obj: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {"address_type": obj.get("address_type") or "registered"}
    for key in ("street", "city", "region", "postal_code"):
        value = _text(obj.get(key))
        if value is not None:
            out[key] = " ".join(value.split()) if key != "street" else value
    country = _country(obj.get("country"))
    if country is None and obj.get("country") is None and "region" in out:
        # "BC" or "Ontario" as the region, no country: the region says which one.
        region_code = normalise_jurisdiction(out["region"])
        if region_code and "-" in region_code:
            country = country_of(region_code)
    if country is not None:
        out["country"] = country
    return out


def _organisation_ref(obj: Mapping[str, Any]) -> dict[str, Any]:
    out = {
        "jurisdiction": str(obj["jurisdiction"]).strip().upper(),
        "registration_number": _number(obj["registration_number"]),
    }
    name = _name(obj.get("name"))
    if name is not None:
        out["name"] = name
    return out


def _names(obj: Mapping[str, Any], out: dict[str, Any]) -> None:
    out["name"] = _name(obj["name"])
    language = _language(obj.get("name_language"))
    if language:
        out["name_language"] = language
    alternates = []
    for item in obj.get("alternate_names") or ():
        alt: dict[str, Any] = {"name": _name(item["name"])}
        alt_language = _language(item.get("language"))
        if alt_language:
            alt["language"] = alt_language
        alternates.append(alt)
    if alternates:
        out["alternate_names"] = alternates


def _business_number(obj: Mapping[str, Any], out: dict[str, Any]) -> None:
    text = _text(obj.get("business_number"))
    if text is None:
        return
    compact = "".join(text.split()).upper()
    out["business_number"] = compact[:9]
    account = _text(obj.get("program_account"))
    if account is not None:
        out["program_account"] = "".join(account.split()).upper()
    elif len(compact) > 9:
        out["program_account"] = compact[9:]


def _data(kind: str, obj: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if kind in ("registration", "name_change"):
        _names(obj, out)
    if kind == "registration":
        for key in ("entity_type", "entity_type_name"):
            value = _name(obj.get(key))
            if value is not None:
                out[key] = value.upper() if key == "entity_type" else value
        home = _text(obj.get("home_jurisdiction"))
        if home is not None:
            out["home_jurisdiction"] = home
            out["home_jurisdiction_code"] = normalise_jurisdiction(home)
        status = obj.get("status") or "active"
        out["status"] = _SUMMARY_STATUS.get(status, status)
        if isinstance(obj.get("address"), Mapping):
            out["address"] = _address(obj["address"])
        _business_number(obj, out)
    elif kind == "address_change":
        out["address"] = _address(obj["address"])
    elif kind == "status_change":
        out["status"] = _SUMMARY_STATUS.get(obj["status"], obj["status"])
        reason = _text(obj.get("reason"))
        if reason is not None:
            out["reason"] = reason
        if isinstance(obj.get("amalgamated_into"), Mapping):
            out["amalgamated_into"] = _organisation_ref(obj["amalgamated_into"])
    elif kind == "relationship":
        out["relationship_type"] = obj["relationship_type"]
        out["related"] = _organisation_ref(obj["related"])
        end = _text(obj.get("end_date"))
        if end is not None:
            out["end_date"] = end[:10]
    elif kind == "business_number":
        _business_number(obj, out)
    return out


# --- the entry point ---------------------------------------------------------------------------


def _fail(problems: list[dict[str, str]]) -> InvalidRecord:
    problems.sort(key=lambda p: (p["path"], p["message"]))
    first = problems[0]
    where = first["path"] or "the record"
    more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
    return InvalidRecord(f"{where}: {first['message']}{more}", field=first["path"], errors=problems)


def parse_record(obj: Any) -> Record:
    """Validate a registry record (a JSON object) and return it normalised.

    Raises :class:`InvalidRecord` whose ``field`` is the JSON pointer of the first problem and
    whose ``errors`` list every ``{"path", "message"}``.
    """
    if not isinstance(obj, Mapping):
        raise _fail([_problem("", f"a registry record is a JSON object, not {type(obj).__name__}")])
    kind = obj.get("kind")
    if not isinstance(kind, str) or kind not in RECORD_KINDS:
        message = (
            "a registry record needs a kind"
            if kind is None
            else f"unknown record kind {kind!r}; one of: {', '.join(RECORD_KINDS)}"
        )
        raise _fail([_problem("/kind", message)])
    problems = _schema_problems(kind, obj)
    problems += _semantic_problems(obj, {p["path"] for p in problems})
    if problems:
        raise _fail(problems)
    return _record(kind, obj)


def _record(kind: str, obj: Mapping[str, Any]) -> Record:
    """The normalised :class:`Record` of a record that passed every check."""
    return Record(
        event_id=unicodedata.normalize("NFC", obj["event_id"]).strip(),
        kind=kind,
        jurisdiction=obj["jurisdiction"].strip().upper(),
        registration_number=_number(obj["registration_number"]) or "",
        effective_date=parse_registry_time(obj["effective_date"]),
        data=_data(kind, obj),
        raw=dict(obj),
    )


def parse_record_fast(obj: Any) -> Record:
    """:func:`parse_record`, skipping ``jsonschema`` for a record the compiled check accepts.

    The schema layer's compiled check never accepts what ``jsonschema`` rejects; anything it
    doubts (and anything that goes wrong building the record) goes through :func:`parse_record`,
    so rejected records carry exactly the problems they always did.
    """
    if type(obj) is dict:
        kind = obj.get("kind")
        if not (type(kind) is str and kind in RECORD_KINDS):
            return parse_record(obj)
        check = compiled_check(record_schema_id(kind))
        if check is not None and check(obj) and not _semantic_problems(obj, set()):
            try:
                return _record(kind, obj)
            except (KeyError, TypeError, ValueError, AttributeError):
                pass  # whatever went wrong, the full path says it properly
    return parse_record(obj)
