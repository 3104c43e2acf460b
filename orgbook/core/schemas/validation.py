"""Validation against the schema catalogue: problems as JSON pointers and messages.

What it owns: :func:`validate_against` (any ``$id``), :func:`validate_credential` (the schemas a
credential's ``credentialSchema`` names), :func:`validate_record` (``schemas/records/`` chosen by
a record's ``kind``), the :class:`SchemaProblem` they return, and :func:`schema_validator`, the
one ``jsonschema`` validator per schema (with the catalogue's registry and format checker) that
anything reporting schema problems uses.

What it must not do: raise for anything in an instance (only for an unknown ``$id`` or broken
schema files), or decide on its own what the compiled fast path (:mod:`.compiled`) accepts:
an instance the fast path accepts has no problems; every other goes through ``jsonschema``, so
problems and their JSON pointers are exactly ``jsonschema``'s. Pure: no I/O beyond the catalogue.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import jsonschema
import jsonschema.exceptions
import referencing.exceptions

from orgbook.core.errors import ConfigurationError, NotFound
from orgbook.core.schemas.catalogue import (
    DEFAULT_SCHEMA_BASE,
    catalogue,
    format_checker,
    stable_schema_id,
)
from orgbook.core.schemas.compiled import accepts

__all__ = [
    "MAX_PROBLEMS",
    "SchemaProblem",
    "problems_of",
    "schema_validator",
    "validate_against",
    "validate_credential",
    "validate_record",
]

MAX_PROBLEMS = 50


@dataclass(frozen=True, slots=True)
class SchemaProblem:
    """One reason an instance does not conform: where (RFC 6901 JSON pointer) and why."""

    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path or '/'}: {self.message}"


@functools.cache
def schema_validator(
    schema_id: str, *, inline_local_refs: bool = False
) -> jsonschema.Draft202012Validator:
    """The ``jsonschema`` validator of the schema with this ``$id`` (:class:`NotFound` if none).

    With ``inline_local_refs``, the schema's ``{"$ref": "#/$defs/…"}`` are replaced by their
    definitions first: resolving them is most of ``jsonschema``'s cost per registry record
    (figures in docs/performance.md). Errors and their instance paths are the same either way.
    """
    loaded = catalogue()
    if schema_id not in loaded.by_id:
        raise NotFound(f"unknown schema {schema_id}")
    schema: Any = loaded.by_id[schema_id]
    if inline_local_refs:
        schema = _inline_local_refs(schema, schema.get("$defs", {}), ())
    return jsonschema.Draft202012Validator(
        schema, registry=loaded.registry, format_checker=format_checker()
    )


def _inline_local_refs(node: Any, defs: Mapping[str, Any], seen: tuple[str, ...]) -> Any:
    """``node`` with every ``{"$ref": "#/$defs/x"}`` replaced by ``x`` (a recursive definition
    keeps its ``$ref``, so ``$defs`` stay in place)."""
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/$defs/") and len(node) == 1:
            name = ref.removeprefix("#/$defs/")
            if name in defs and name not in seen:
                return _inline_local_refs(defs[name], defs, (*seen, name))
        return {k: _inline_local_refs(v, defs, seen) for k, v in node.items()}
    if isinstance(node, list):
        return [_inline_local_refs(v, defs, seen) for v in node]
    return node


def _pointer(parts: Iterator[Any] | Any) -> str:
    return "".join("/" + str(p).replace("~", "~0").replace("/", "~1") for p in parts)


def _leaf(error: jsonschema.exceptions.ValidationError) -> jsonschema.exceptions.ValidationError:
    """The most relevant error inside an anyOf/oneOf, so a message says what is really wrong."""
    while error.context:
        best = jsonschema.exceptions.best_match(error.context)
        if best is None or best is error:
            break
        error = best
    return error


def validate_against(schema_id: str, instance: Any) -> list[SchemaProblem]:
    """Problems of ``instance`` against the schema with this ``$id`` (empty when it conforms).

    Raises :class:`NotFound` for an unknown ``$id`` and :class:`ConfigurationError` when the
    schemas themselves are broken; never for anything in ``instance``.
    """
    if schema_id not in catalogue().by_id:
        raise NotFound(f"unknown schema {schema_id}")
    if accepts(schema_id, instance):
        return []
    validator = schema_validator(schema_id)
    try:
        errors = sorted(
            validator.iter_errors(instance), key=lambda e: list(map(str, e.absolute_path))
        )
    except referencing.exceptions.Unresolvable as exc:
        raise ConfigurationError(f"schema {schema_id} has an unresolvable $ref: {exc}") from exc
    except RecursionError:
        return [SchemaProblem("", "nested too deeply")]
    return problems_of(errors)


def problems_of(errors: list[jsonschema.exceptions.ValidationError]) -> list[SchemaProblem]:
    """The first :data:`MAX_PROBLEMS` validation errors as problems, each at the JSON pointer of
    its most specific cause, a missing member pointed at itself; each problem once."""
    problems: list[SchemaProblem] = []
    for error in errors[:MAX_PROBLEMS]:
        leaf = _leaf(error)
        path = list(leaf.absolute_path)
        if leaf.validator == "required" and isinstance(leaf.validator_value, list):
            # Point at the missing member itself, not at the object that lacks it.
            missing = [
                n for n in leaf.validator_value if leaf.message == f"{n!r} is a required property"
            ]
            path += missing[:1]
        problems.append(SchemaProblem(_pointer(path), leaf.message))
    # The envelope and a type schema can both reject one value: report it once.
    return list(dict.fromkeys(problems))


def _credential_schema_ids(credential: Any) -> list[str]:
    if not isinstance(credential, Mapping):
        return []
    schemas = credential.get("credentialSchema")
    entries = schemas if isinstance(schemas, list) else [schemas]
    return [e["id"] for e in entries if isinstance(e, Mapping) and isinstance(e.get("id"), str)]


def validate_credential(
    credential: Any, *, schema_base: str = DEFAULT_SCHEMA_BASE
) -> list[SchemaProblem]:
    """Problems of a credential against the JSON Schema its ``credentialSchema`` names.

    A deployment that serves the schemas under another base passes it as ``schema_base``; the
    schemas' ``$id`` stay stable. No ``credentialSchema``, or one naming a schema orgbook does not
    know, is a problem ("unknown schema").
    """
    if not isinstance(credential, Mapping):
        return [SchemaProblem("", "a credential is a JSON object")]
    ids = _credential_schema_ids(credential)
    if not ids:
        return [SchemaProblem("/credentialSchema", "no credentialSchema with an id")]
    problems: list[SchemaProblem] = []
    for schema_id in ids:
        stable = stable_schema_id(schema_id, schema_base)
        if stable not in catalogue().by_id:
            problems.append(SchemaProblem("/credentialSchema", f"unknown schema {schema_id}"))
            continue
        problems.extend(validate_against(stable, credential))
    return problems


def _record_schema_id(kind: str) -> str | None:
    loaded = catalogue()
    for name in dict.fromkeys((kind, kind.replace("_", "-"), kind.replace("-", "_"))):
        for rel in (f"records/{name}.json", f"records/{name}/1.0.json"):
            if rel in loaded.id_by_path:
                return loaded.id_by_path[rel]
        for sid in (
            f"{DEFAULT_SCHEMA_BASE}/records/{name}/1.0.json",
            f"{DEFAULT_SCHEMA_BASE}/records/{name}.json",
        ):
            if sid in loaded.by_id:
                return sid
    return None


def validate_record(record: Any) -> list[SchemaProblem]:
    """Problems of a registry record against ``schemas/records/`` chosen by its ``kind``."""
    if not isinstance(record, Mapping):
        return [SchemaProblem("", "a registry record is a JSON object")]
    kind = record.get("kind")
    if not isinstance(kind, str) or not kind:
        return [SchemaProblem("/kind", "a registry record needs a kind")]
    schema_id = _record_schema_id(kind)
    if schema_id is None:
        return [SchemaProblem("/kind", f"unknown record kind {kind!r}")]
    return validate_against(schema_id, record)
