"""The schema catalogue: every JSON Schema orgbook ships, by ``$id``, loaded once.

What it owns:

* the JSON Schemas (draft 2020-12) in ``orgbook/resources/schemas/`` (package data, found through
  :mod:`orgbook.core.datafiles` in a checkout and an installed wheel alike): credential schemas
  (``schemas/credentials/<slug>/<version>.json``) and registry-record schemas
  (``schemas/records/``), in one ``referencing`` registry so schemas ``$ref`` each other by
  ``$id`` (every credential schema extends ``credentials/common/1.0.json``);
* the format checker: ``date`` and ``date-time`` are asserted (jsonschema does not by default),
  ``date-time`` by :func:`orgbook.core.time.parse_time_or_none`;
* mapping a deployment's schema URL back to the stable ``$id``.

What it must not do: load a schema from anywhere else (``$ref`` never leaves the local
registry), or validate anything (:mod:`.validation` does). Schema files that do not load are a
:class:`ConfigurationError`. No I/O beyond reading the schema files, no network.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import jsonschema
import jsonschema.exceptions
import referencing
from referencing.jsonschema import DRAFT202012

from orgbook.core.datafiles import data_path
from orgbook.core.errors import ConfigurationError, NotFound
from orgbook.core.time import parse_time_or_none

__all__ = [
    "DEFAULT_SCHEMA_BASE",
    "Catalogue",
    "catalogue",
    "format_checker",
    "known_schema_ids",
    "schema_by_id",
    "schema_registry",
    "schemas_dir",
    "stable_schema_id",
]

DEFAULT_SCHEMA_BASE = "https://orgbook.example/schemas"


def schemas_dir() -> Path:
    """The JSON Schemas' folder, ``orgbook/resources/schemas/`` (checkout and wheel alike)."""
    return data_path("resources", "schemas")


@dataclass(frozen=True, slots=True)
class Catalogue:
    """Every schema file, by ``$id`` and by path, and the registry that resolves ``$ref``."""

    by_id: Mapping[str, Mapping[str, Any]]
    id_by_path: Mapping[str, str]  # "records/name_change.json" -> $id
    registry: referencing.Registry[Any]
    ids: frozenset[str]
    # schema $id -> its compiled acceptance check, or None when it cannot be compiled. Filled
    # lazily by .compiled; it lives and dies with the catalogue (tests that swap schemas clear
    # the catalogue's cache, and with it every compiled check).
    compiled: dict[str, Callable[[Any], bool] | None]


@functools.cache
def catalogue() -> Catalogue:
    """The catalogue, loaded on first use (``catalogue.cache_clear()`` reloads it)."""
    root = schemas_dir()
    by_id: dict[str, Mapping[str, Any]] = {}
    id_by_path: dict[str, str] = {}
    for path in sorted(root.rglob("*.json")):
        rel = path.relative_to(root).as_posix()
        try:
            schema = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise ConfigurationError(f"schema file {rel} does not load: {exc}") from exc
        if not isinstance(schema, dict) or not isinstance(schema.get("$id"), str):
            raise ConfigurationError(f"schema file {rel} has no $id")
        schema_id = schema["$id"]
        if schema_id in by_id:
            raise ConfigurationError(f"two schema files declare the $id {schema_id}")
        try:
            jsonschema.Draft202012Validator.check_schema(schema)
        except jsonschema.exceptions.SchemaError as exc:
            raise ConfigurationError(f"schema file {rel} is not a valid schema: {exc}") from exc
        by_id[schema_id] = schema
        id_by_path[rel] = schema_id
    resources = [
        (sid, referencing.Resource.from_contents(s, default_specification=DRAFT202012))
        for sid, s in by_id.items()
    ]
    registry: referencing.Registry[Any] = referencing.Registry().with_resources(resources)
    return Catalogue(
        by_id=by_id,
        id_by_path=id_by_path,
        registry=registry.crawl(),
        ids=frozenset(by_id),
        compiled={},
    )


def _check_date(value: object) -> bool:
    if not isinstance(value, str):
        return True
    date.fromisoformat(value)  # ValueError for 2025-02-30 and the like
    return True


def _check_date_time(value: object) -> bool:
    if not isinstance(value, str):
        return True
    return parse_time_or_none(value) is not None


@functools.cache
def format_checker() -> jsonschema.FormatChecker:
    """The formats every schema of the catalogue asserts: ``date`` and ``date-time``."""
    checker = jsonschema.FormatChecker(formats=())
    checker.checks("date", raises=ValueError)(_check_date)
    checker.checks("date-time")(_check_date_time)
    return checker


def known_schema_ids() -> frozenset[str]:
    """Every ``$id`` in ``schemas/``."""
    return catalogue().ids


def schema_registry() -> referencing.Registry[Any]:
    """Every schema of the catalogue as a ``referencing`` registry (``$ref`` by ``$id``)."""
    return catalogue().registry


def schema_by_id(schema_id: str) -> Mapping[str, Any]:
    """The schema document with this ``$id``; :class:`NotFound` when there is none."""
    try:
        return catalogue().by_id[schema_id]
    except KeyError:
        raise NotFound(f"unknown schema {schema_id}") from None


def stable_schema_id(schema_id: str, schema_base: str = DEFAULT_SCHEMA_BASE) -> str:
    """Map a deployment's schema URL back to the stable ``$id`` (ORGBOOK_SCHEMA_BASE)."""
    base = schema_base.rstrip("/") + "/"
    if schema_id.startswith(base):
        return DEFAULT_SCHEMA_BASE + "/" + schema_id[len(base) :]
    return schema_id
