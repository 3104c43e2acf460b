"""CSV rows → registry record dicts (and back), by a documented column mapping.

One row is one registry record (docs/records.md, "CSV"). Columns are the record's fields, with
nested values flattened: ``address_type, street, city, region, postal_code, country`` make the
``address``; ``related_jurisdiction, related_registration_number, related_name`` make ``related``
(a relationship) or ``amalgamated_into`` (a status change); ``alternate_name`` and
``alternate_name_language`` one alternate name; ``extensions`` may hold a JSON object.

Rules:

* headers match case-insensitively, spaces and hyphens read as underscores; BC Registries' own
  export names are aliases (``corp_num``, ``corp_nme``, ``corp_typ_cd``, ``recognition_dts``,
  ``state_typ_cd``…, see :data:`ALIASES`);
* an empty (or blank) cell is an absent field;
* a column the mapping does not know goes into ``extensions`` under its header, so nothing the
  registry sent is lost and the record schema still rejects typos in known fields;
* a file without a ``kind`` column is a corporation summary: every row is a ``registration``;
  without an ``event_id`` column each row gets ``csv:<SHA-256 of its cells>`` (re-reading the
  same file gives the same ids, so ingestion stays idempotent); without a ``jurisdiction``
  column, the ``jurisdiction`` argument fills it;
* ``kind``, ``status``, ``relationship_type`` and ``address_type`` are lower-cased, except BC's
  summary statuses ``ACT``/``HIS``, which the record schema accepts as such.

Validation is :func:`orgbook.issuer.records.parse_record`'s job; this module only reshapes, and
reports rows it cannot reshape (ragged rows, bad ``extensions`` JSON, CSV syntax) as errors with
their line numbers. Pure: reads the text stream it is given, nothing else.
"""

from __future__ import annotations

import csv
import hashlib
import json
from collections.abc import Iterable, Iterator, Mapping
from typing import Any, TextIO

from orgbook.core.errors import BadInput

__all__ = ["ALIASES", "CSV_COLUMNS", "iter_csv_records", "record_to_row", "write_rows"]

CSV_COLUMNS: tuple[str, ...] = (
    "event_id",
    "kind",
    "jurisdiction",
    "registration_number",
    "effective_date",
    "name",
    "name_language",
    "alternate_name",
    "alternate_name_language",
    "entity_type",
    "entity_type_name",
    "home_jurisdiction",
    "status",
    "reason",
    "address_type",
    "street",
    "city",
    "region",
    "postal_code",
    "country",
    "relationship_type",
    "related_jurisdiction",
    "related_registration_number",
    "related_name",
    "end_date",
    "business_number",
    "program_account",
    "extensions",
)
"""orgbook's own columns, in the order :func:`record_to_row` writes them."""

ALIASES: dict[str, str] = {
    # BC Registries (COLIN) export names
    "corp_num": "registration_number",
    "corp_nme": "name",
    "corp_name": "name",
    "corp_typ_cd": "entity_type",
    "corp_typ_desc": "entity_type_name",
    "corp_type": "entity_type",
    "recognition_dts": "effective_date",
    "event_timestmp": "effective_date",
    "state_typ_cd": "status",
    "corp_state": "status",
    "othr_juris_desc": "home_jurisdiction",
    "home_juris": "home_jurisdiction",
    "home_jurisdiction_text": "home_jurisdiction",
    "bn_9": "business_number",
    "bn_15": "business_number",
    "addr_line_1": "street",
    "street_address": "street",
    "province": "region",
    "postal_cd": "postal_code",
    "country_typ_cd": "country",
    # common spellings
    "registration_no": "registration_number",
    "registration_id": "registration_number",
    "legal_name": "name",
    "language": "name_language",
    "effective": "effective_date",
    "date": "effective_date",
    "event": "event_id",
    "record_kind": "kind",
    "state": "status",
    "bn": "business_number",
}
"""Other column names → orgbook's (matched after lower-casing, spaces and hyphens as ``_``)."""

_ADDRESS = ("address_type", "street", "city", "region", "postal_code", "country")
_RELATED = ("jurisdiction", "registration_number", "name")
_LOWER = ("kind", "status", "relationship_type", "address_type")
_KNOWN = frozenset(CSV_COLUMNS)


def _canonical(header: str) -> str:
    key = "_".join(header.strip().lower().replace("-", " ").split())
    return ALIASES.get(key, key)


def _columns(headers: list[str]) -> list[str | None]:
    """orgbook's name for each column (None: an unknown column, kept under extensions)."""
    names: list[str | None] = []
    seen: dict[str, str] = {}
    for header in headers:
        name = _canonical(header)
        if name not in _KNOWN:
            names.append(None)
            continue
        if name in seen:
            raise BadInput(
                f"columns {seen[name]!r} and {header!r} both mean {name!r}", field="/header"
            )
        seen[name] = header
        names.append(name)
    return names


def _row_to_record(
    headers: list[str],
    names: list[str | None],
    cells: list[str],
    *,
    default_kind: str | None,
    jurisdiction: str | None,
    synthesise_id: bool,
) -> dict[str, Any]:
    flat: dict[str, str] = {}
    extensions: dict[str, Any] = {}
    for header, name, cell in zip(headers, names, cells, strict=True):
        value = cell.strip()
        if not value:
            continue
        if name is None:
            extensions[header.strip()] = value
        else:
            flat[name] = value
    record: dict[str, Any] = {}
    if synthesise_id:
        digest = hashlib.sha256("\x1f".join(cells).encode("utf-8")).hexdigest()
        record["event_id"] = f"csv:{digest[:32]}"
    if default_kind is not None:
        record["kind"] = default_kind
    if jurisdiction is not None:
        record["jurisdiction"] = jurisdiction
    for name in _LOWER:
        if name in flat and flat[name].upper() not in ("ACT", "HIS"):
            flat[name] = flat[name].lower()

    address = {k: flat.pop(k) for k in _ADDRESS if k in flat}
    related = {k: flat.pop(f"related_{k}") for k in _RELATED if f"related_{k}" in flat}
    alternate = flat.pop("alternate_name", None)
    alternate_language = flat.pop("alternate_name_language", None)
    raw_extensions = flat.pop("extensions", None)
    record.update(flat)
    if address:
        record["address"] = address
    if related:
        key = "amalgamated_into" if record.get("kind") == "status_change" else "related"
        record[key] = related
    if alternate is not None:
        alt = {"name": alternate}
        if alternate_language is not None:
            alt["language"] = alternate_language
        record["alternate_names"] = [alt]
    if raw_extensions is not None:
        try:
            parsed = json.loads(raw_extensions)
        except ValueError as exc:
            raise BadInput(f"extensions is not JSON: {exc}", field="/extensions") from exc
        if not isinstance(parsed, dict):
            raise BadInput("extensions must be a JSON object", field="/extensions")
        extensions = {**parsed, **extensions}
    if extensions:
        record["extensions"] = extensions
    return record


def iter_csv_records(
    text_stream: Iterable[str], *, jurisdiction: str | None = None
) -> Iterator[tuple[int, dict[str, Any] | Exception]]:
    """``(line number, record dict or the error)`` for each row of a CSV file with a header.

    The line number is where the row starts (1 is the header). Errors are
    :class:`orgbook.core.errors.BadInput`; reading goes on after a bad row.
    """
    reader = csv.reader(text_stream, strict=True)
    try:
        headers = next(reader)
    except StopIteration:
        return
    except csv.Error as exc:
        yield 1, BadInput(f"CSV header does not parse: {exc}", field="/header")
        return
    try:
        names = _columns(headers)
    except BadInput as exc:
        yield 1, exc
        return
    default_kind = None if "kind" in names else "registration"
    synthesise_id = "event_id" not in names
    fill_jurisdiction = jurisdiction if "jurisdiction" not in names else None
    line = reader.line_num
    while True:
        start = line + 1
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            line = reader.line_num
            yield start, BadInput(f"line {start}: CSV does not parse: {exc}")
            continue
        line = reader.line_num
        if not cells or all(not c.strip() for c in cells):
            continue
        if len(cells) != len(headers):
            yield (
                start,
                BadInput(f"line {start}: {len(cells)} cells where the header has {len(headers)}"),
            )
            continue
        try:
            record = _row_to_record(
                headers,
                names,
                cells,
                default_kind=default_kind,
                jurisdiction=fill_jurisdiction,
                synthesise_id=synthesise_id,
            )
        except BadInput as exc:
            yield start, exc
            continue
        yield start, record


def record_to_row(record: Mapping[str, Any]) -> dict[str, str]:
    """A record dict as a CSV row over :data:`CSV_COLUMNS` (the inverse of the reading rules;
    one alternate name at most)."""
    row = dict.fromkeys(CSV_COLUMNS, "")
    for key, value in record.items():
        if value is None:
            continue
        if key == "address":
            row.update({k: str(v) for k, v in value.items() if v is not None})
        elif key in ("related", "amalgamated_into"):
            row.update({f"related_{k}": str(v) for k, v in value.items() if v is not None})
        elif key == "alternate_names":
            if len(value) > 1:
                raise BadInput("a CSV row carries one alternate name", field="/alternate_names")
            if value:
                row["alternate_name"] = value[0]["name"]
                row["alternate_name_language"] = value[0].get("language") or ""
        elif key == "extensions":
            row["extensions"] = json.dumps(value, ensure_ascii=False, sort_keys=True)
        elif key in row:
            row[key] = str(value)
        else:
            raise BadInput(f"no CSV column for {key!r}", field=f"/{key}")
    return row


def write_rows(stream: TextIO, records: Iterable[Mapping[str, Any]]) -> int:
    """Write records as CSV (header first) and return how many rows were written."""
    writer = csv.DictWriter(stream, fieldnames=CSV_COLUMNS, lineterminator="\n")
    writer.writeheader()
    count = 0
    for record in records:
        writer.writerow(record_to_row(record))
        count += 1
    return count
