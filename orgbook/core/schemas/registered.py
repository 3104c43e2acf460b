"""Schemas registered at runtime: a credential type's subject schema, from the ledger.

The catalogue (:mod:`.catalogue`) holds the schemas orgbook ships. A credential type defined on
the ledger (:mod:`orgbook.core.credential_types`) carries its own JSON Schema (draft 2020-12)
for its credential subject: this is the second source of schemas, beside the catalogue.

What it owns: :func:`check_registered_schema` (is a schema acceptable for registration: a valid
2020-12 schema whose every ``$ref`` stays in the document or names a shipped schema, such as the
common one), :func:`registered_validator` (one ``jsonschema`` validator per ``(id, schema)``,
built once and cached, resolving ``$ref`` through the catalogue's registry and asserting the
catalogue's formats) and :func:`validate_registered` (problems as JSON pointers, as
:func:`orgbook.core.schemas.validation.validate_against` gives them).

What it must not do: fetch a schema from anywhere (``$ref`` to anything but a shipped schema or
the document itself is refused at registration), or raise for anything in an instance. Pure:
no I/O beyond the catalogue.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Iterator, Mapping
from typing import Any
from urllib.parse import urldefrag

import jsonschema
import jsonschema.exceptions
import referencing.exceptions

from orgbook.core.errors import BadInput
from orgbook.core.schemas.catalogue import catalogue, format_checker
from orgbook.core.schemas.validation import SchemaProblem, problems_of

__all__ = ["check_registered_schema", "registered_validator", "validate_registered"]


def _refs(node: Any, path: str = "") -> Iterator[tuple[str, str]]:
    if isinstance(node, Mapping):
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str):
                yield path + "/$ref", value
            else:
                yield from _refs(value, f"{path}/{key}")
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from _refs(value, f"{path}/{i}")


def check_registered_schema(schema: Any, *, field: str = "schema") -> None:
    """:class:`BadInput` (naming the member at fault) unless ``schema`` can be registered."""
    if not isinstance(schema, Mapping):
        raise BadInput("a type's schema is a JSON Schema object", field=field)
    try:
        jsonschema.Draft202012Validator.check_schema(dict(schema))
    except jsonschema.exceptions.SchemaError as exc:
        where = "".join(f"/{p}" for p in exc.absolute_path)
        raise BadInput(
            f"not a JSON Schema 2020-12: {exc.message}", field=f"{field}{where}"
        ) from None
    known = catalogue().by_id
    for where, ref in _refs(schema):
        document, _ = urldefrag(ref)
        if document and document not in known:
            raise BadInput(
                f"$ref {ref!r} names no schema this registry ships: a type's schema refers "
                "only to itself (#/…) or to a shipped schema by its $id",
                field=f"{field}{where}",
            )


@functools.lru_cache(maxsize=512)
def _validator(type_id: str, text: str) -> jsonschema.Draft202012Validator:
    del type_id  # part of the cache key: one validator per registered type and schema
    return jsonschema.Draft202012Validator(
        json.loads(text), registry=catalogue().registry, format_checker=format_checker()
    )


def registered_validator(
    type_id: str, schema: Mapping[str, Any]
) -> jsonschema.Draft202012Validator:
    """The validator of a registered type's schema: built once per ``(type_id, schema)``."""
    return _validator(type_id, json.dumps(schema, sort_keys=True, separators=(",", ":")))


def validate_registered(
    type_id: str, schema: Mapping[str, Any], instance: Any
) -> list[SchemaProblem]:
    """Problems of ``instance`` against a registered type's schema (empty when it conforms)."""
    validator = registered_validator(type_id, schema)
    try:
        errors = sorted(
            validator.iter_errors(instance), key=lambda e: list(map(str, e.absolute_path))
        )
    except referencing.exceptions.Unresolvable as exc:
        return [SchemaProblem("", f"the type's schema has an unresolvable $ref: {exc}")]
    except RecursionError:
        return [SchemaProblem("", "nested too deeply")]
    return problems_of(errors)
