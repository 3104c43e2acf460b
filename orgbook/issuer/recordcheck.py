"""A compiled fast path for registry records: the record schemas turned into Python checks once.

``jsonschema`` interprets a schema on every call (≈0.2–0.5 ms per record here, the largest cost
of bulk issuance after the database). The record schemas use a small keyword set, so
:func:`compile_schema` turns each into nested closures once per process, and
:func:`parse_record_fast` uses them to accept a *valid* record without ``jsonschema``.

It is a fast path only, never a second opinion:

* the compiled check may say "invalid" for a record ``jsonschema`` accepts (it is conservative:
  ``enum`` and ``const`` compare by exact type, unknown keywords disable it for that schema),
  never the reverse: a tested property;
* any record it does not accept goes through :func:`orgbook.issuer.records.parse_record`, so
  rejected records carry exactly the problems and JSON pointers they always did;
* an accepted record is built with the same normalisation helpers as ``parse_record`` (the test
  suite compares the two on generated feeds).

Pure: no I/O beyond reading the schema files once (through ``records``).
"""

from __future__ import annotations

import contextlib
import functools
import re
import unicodedata
from collections.abc import Callable, Mapping
from typing import Any

from orgbook.issuer import records as _records
from orgbook.issuer.records import RECORD_KINDS, Record, parse_record, record_schema

__all__ = ["Unsupported", "compile_schema", "compiled_checks", "parse_record_fast"]

Check = Callable[[Any], bool]

# Keywords that say nothing about validity.
_ANNOTATIONS = frozenset(
    {"$schema", "$id", "$defs", "$comment", "title", "description", "examples", "default"}
)
_TYPES: dict[str, Callable[[Any], bool]] = {
    "string": lambda v: type(v) is str,
    "object": lambda v: type(v) is dict,
    "array": lambda v: type(v) is list,
    "null": lambda v: v is None,
    "boolean": lambda v: type(v) is bool,
    "integer": lambda v: type(v) is int,
    "number": lambda v: type(v) is int or type(v) is float,
}


class Unsupported(Exception):
    """The schema uses a keyword this compiler does not handle: no fast path for it."""


def _same(value: Any, expected: Any) -> bool:
    # Exact type and value, scalars only: stricter than JSON Schema equality (1 vs 1.0, lists),
    # which only costs a fall-back to jsonschema.
    return (
        type(value) is type(expected) and not isinstance(value, dict | list) and value == expected
    )


def compile_schema(schema: Any, root: Mapping[str, Any] | None = None) -> Check:
    """A predicate equivalent to (or stricter than) validating against ``schema``."""
    root = schema if root is None else root
    cache: dict[str, Check] = {}

    def ref(pointer: str) -> Check:
        if not pointer.startswith("#/"):
            raise Unsupported(f"non-local $ref {pointer!r}")
        if pointer not in cache:
            target: Any = root
            for part in pointer[2:].split("/"):
                part = part.replace("~1", "/").replace("~0", "~")
                if not isinstance(target, Mapping) or part not in target:
                    raise Unsupported(f"unresolvable $ref {pointer!r}")
                target = target[part]
            slot: list[Check] = []
            cache[pointer] = lambda v: slot[0](v)  # recursion-safe placeholder
            slot.append(build(target))
            cache[pointer] = slot[0]
        return cache[pointer]

    def build(node: Any) -> Check:
        if node is True:
            return lambda v: True
        if node is False:
            return lambda v: False
        if not isinstance(node, Mapping):
            raise Unsupported("a schema is an object or a boolean")
        checks: list[Check] = []
        for key, arg in node.items():
            if key in _ANNOTATIONS or key in ("then", "else"):
                continue
            checks.append(keyword(node, key, arg))
        if len(checks) == 1:
            return checks[0]
        all_checks = tuple(checks)
        return lambda v: all(check(v) for check in all_checks)

    def keyword(node: Mapping[str, Any], key: str, arg: Any) -> Check:
        if key == "$ref":
            return ref(arg)
        if key == "type":
            names = [arg] if isinstance(arg, str) else list(arg)
            try:
                tests = tuple(_TYPES[name] for name in names)
            except KeyError as exc:
                raise Unsupported(f"type {exc}") from None
            return lambda v: any(test(v) for test in tests)
        if key == "const":
            return lambda v: _same(v, arg)
        if key == "enum":
            options = tuple(arg)
            return lambda v: any(_same(v, option) for option in options)
        if key in ("minLength", "maxLength"):
            limit = int(arg)
            if key == "minLength":
                return lambda v: type(v) is not str or len(v) >= limit
            return lambda v: type(v) is not str or len(v) <= limit
        if key == "pattern":
            search = re.compile(arg).search
            return lambda v: type(v) is not str or search(v) is not None
        if key == "required":
            required = tuple(arg)
            return lambda v: type(v) is not dict or all(name in v for name in required)
        if key == "minProperties":
            count = int(arg)
            return lambda v: type(v) is not dict or len(v) >= count
        if key == "properties":
            props = {name: build(sub) for name, sub in arg.items()}
            return lambda v: (
                type(v) is not dict
                or all(props[name](item) for name, item in v.items() if name in props)
            )
        if key == "additionalProperties":
            if node.get("patternProperties"):
                raise Unsupported("patternProperties")
            known = frozenset(node.get("properties", {}))
            extra = build(arg)
            return lambda v: (
                type(v) is not dict
                or all(extra(item) for name, item in v.items() if name not in known)
            )
        if key == "items":
            each = build(arg)
            return lambda v: type(v) is not list or all(each(item) for item in v)
        if key == "maxItems":
            most = int(arg)
            return lambda v: type(v) is not list or len(v) <= most
        if key in ("anyOf", "allOf"):
            subs = tuple(build(sub) for sub in arg)
            if key == "anyOf":
                return lambda v: any(sub(v) for sub in subs)
            return lambda v: all(sub(v) for sub in subs)
        if key == "if":
            condition = build(arg)
            then = build(node.get("then", True))
            otherwise = build(node.get("else", True))
            return lambda v: then(v) if condition(v) else otherwise(v)
        raise Unsupported(f"keyword {key!r}")

    return build(schema)


@functools.cache
def compiled_checks() -> dict[str, Check]:
    """One compiled check per record kind (kinds whose schema cannot be compiled are absent)."""
    checks: dict[str, Check] = {}
    for kind in RECORD_KINDS:
        with contextlib.suppress(Unsupported, re.error, TypeError, ValueError):
            checks[kind] = compile_schema(record_schema(kind))
    return checks


def parse_record_fast(obj: Any) -> Record:
    """:func:`orgbook.issuer.records.parse_record`, skipping ``jsonschema`` for valid records."""
    if type(obj) is dict:
        kind = obj.get("kind")
        check = compiled_checks().get(kind) if type(kind) is str else None
        if check is not None and check(obj) and not _records._semantic_problems(obj, set()):
            try:
                return Record(
                    event_id=unicodedata.normalize("NFC", obj["event_id"]).strip(),
                    kind=kind,  # type: ignore[arg-type]
                    jurisdiction=obj["jurisdiction"].strip().upper(),
                    registration_number=_records._number(obj["registration_number"]) or "",
                    effective_date=_records._parse_date_time(obj["effective_date"]),
                    data=_records._data(kind, obj),  # type: ignore[arg-type]
                    raw=dict(obj),
                )
            except (KeyError, TypeError, ValueError, AttributeError):
                pass  # whatever went wrong, the full path says it properly
    return parse_record(obj)
