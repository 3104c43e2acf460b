"""The VC-API specification's published OpenAPI (tests/vectors/vc-api/, SOURCES.md there): load a
file, follow ``$ref`` across the copied files, and check a JSON value against a schema."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

import jsonschema
import yaml

ROOT = Path(__file__).parent / "vectors" / "vc-api"


@functools.cache
def load(name: str) -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load((ROOT / name).read_text(encoding="utf-8"))
    return data


def _at(document: dict[str, Any], pointer: str) -> Any:
    found: Any = document
    for part in pointer.strip("/").split("/"):
        found = found[part.replace("~1", "/").replace("~0", "~")]
    return found


def resolve(schema: Any, base: str) -> Any:
    """``schema`` with every ``$ref`` (local or to another copied file) inlined."""
    if isinstance(schema, list):
        return [resolve(item, base) for item in schema]
    if not isinstance(schema, dict):
        return schema
    ref = schema.get("$ref")
    if isinstance(ref, str):
        target, _, pointer = ref.partition("#")
        name = str((Path(base).parent / target).as_posix()).removeprefix("./") if target else base
        name = name.replace("components/components/", "components/")
        return resolve(_at(load(name), pointer), name)
    return {key: resolve(value, base) for key, value in schema.items() if key != "example"}


def schema(name: str, pointer: str) -> Any:
    """The schema at ``pointer`` of the copied file ``name``, references resolved."""
    return resolve(_at(load(name), pointer), name)


def response_schema(name: str, path: str, status: str) -> Any:
    """The JSON schema of ``POST path``'s ``status`` response in the copied ``name``."""
    operation = load(name)["paths"][path]["post"]
    found = operation["responses"][status]["content"]["application/json"]["schema"]
    return resolve(found, name)


def check(value: Any, against: Any) -> None:
    """Raise unless ``value`` is valid against the OpenAPI 3.0 schema ``against``."""
    jsonschema.Draft7Validator(against).validate(value)
