"""The compiled fast path: each schema of the catalogue turned once into Python checks.

``jsonschema`` interprets a schema (walking every ``$ref`` through ``referencing``) on each call,
a large share of verifying a credential and the largest cost of bulk issuance after the database
(figures in docs/performance.md). Each schema is therefore also compiled once into nested
closures, which *accept* a conforming instance without interpreting anything. Credentials
(:mod:`.validation`) and registry records (:func:`orgbook.issuer.records.parse_record_fast`) both
go through it.

What it owns: the compiler (:class:`Compiler`) and the compiled check of each ``$id``
(:func:`compiled_check`, :func:`accepts`), kept with the catalogue.

What it must not do: be a second opinion. It is conservative (exact types, ``enum`` and
``const`` by exact type, unknown keywords disable it for that schema, an ``if`` condition only
from keywords it decides exactly), so it may doubt an instance ``jsonschema`` accepts but never
accepts one it rejects (a tested property); whatever it doubts goes through ``jsonschema``, so
problems and their JSON pointers are exactly ``jsonschema``'s. Pure: no I/O.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import urldefrag, urljoin

from orgbook.core.schemas.catalogue import Catalogue, catalogue, format_checker

__all__ = ["Check", "Compiler", "Unsupported", "accepts", "compiled_check", "strictly_equal"]

Check = Callable[[Any], bool]
"""A compiled schema: True only when ``jsonschema`` would accept the instance too."""

# Keywords that say nothing about validity (``$id`` only at a resource's root: see build).
_ANNOTATIONS = frozenset(
    {
        "$schema",
        "$defs",
        "$comment",
        "title",
        "description",
        "examples",
        "default",
        "deprecated",
        "readOnly",
        "writeOnly",
    }
)


class Unsupported(Exception):
    """The schema uses something the compiler does not handle: no fast path for it."""


def _is_type(name: str) -> Check:
    # Exact Python types: stricter than jsonschema's Draft 2020-12 type checker (no subclasses,
    # no integral floats for "integer", no Decimal for "number"), and faster.
    if name == "string":
        return lambda v: type(v) is str
    if name == "object":
        return lambda v: type(v) is dict
    if name == "array":
        return lambda v: type(v) is list
    if name == "boolean":
        return lambda v: v is True or v is False
    if name == "null":
        return lambda v: v is None
    if name == "integer":
        return lambda v: type(v) is int
    if name == "number":
        return lambda v: type(v) is int or type(v) is float
    raise Unsupported(f"type {name!r}")


# jsonschema's own type checks, for an "if" condition, which must be decided exactly.
_EXACT_TYPES: dict[str, Check] = {
    "string": lambda v: isinstance(v, str),
    "object": lambda v: isinstance(v, dict),
    "array": lambda v: isinstance(v, list),
    "boolean": lambda v: isinstance(v, bool),
    "null": lambda v: v is None,
}


def strictly_equal(value: Any, expected: Any) -> bool:
    """Equal with exactly the same JSON types throughout: implies jsonschema's ``equal``."""
    if type(value) is not type(expected):
        return False
    if isinstance(expected, dict):
        return value.keys() == expected.keys() and all(
            strictly_equal(value[k], item) for k, item in expected.items()
        )
    if isinstance(expected, list):
        return len(value) == len(expected) and all(
            strictly_equal(a, b) for a, b in zip(value, expected, strict=True)
        )
    return bool(value == expected)


class Compiler:
    """Turns schemas of the catalogue into predicates; ``$ref`` followed by absolute URI."""

    def __init__(self, catalogue: Catalogue) -> None:
        self.catalogue = catalogue
        self.refs: dict[str, Check] = {}

    def resource(self, schema_id: str) -> Check:
        return self.ref(schema_id, schema_id)

    def ref(self, base: str, reference: str) -> Check:
        uri = urljoin(base, reference)
        if uri not in self.refs:
            document, fragment = urldefrag(uri)
            target: Any = self.catalogue.by_id.get(document)
            if target is None:
                raise Unsupported(f"unresolvable $ref {reference!r}")
            if fragment:
                if not fragment.startswith("/"):
                    raise Unsupported(f"$ref to an anchor {reference!r}")
                for part in fragment[1:].split("/"):
                    part = part.replace("~1", "/").replace("~0", "~")
                    if not isinstance(target, Mapping) or part not in target:
                        raise Unsupported(f"unresolvable $ref {reference!r}")
                    target = target[part]
            slot: list[Check] = []
            self.refs[uri] = lambda v: slot[0](v)  # recursion-safe placeholder
            slot.append(self.build(target, document, root=not fragment))
            self.refs[uri] = slot[0]
        return self.refs[uri]

    def build(self, node: Any, base: str, *, root: bool = False, exact: bool = False) -> Check:
        """``node`` as a check: conservative, or with ``exact`` (an ``if`` condition, where
        doubting would pick the wrong branch) exactly ``jsonschema``'s answer, or Unsupported."""
        if node is True:
            return lambda v: True
        if node is False:
            return lambda v: False
        if not isinstance(node, Mapping):
            raise Unsupported("a schema is an object or a boolean")
        if "$id" in node and not root:
            raise Unsupported("embedded resources ($id below the root)")
        make = self.exact_keyword if exact else self.keyword
        checks = [
            make(node, key, arg, base)
            for key, arg in node.items()
            if key not in _ANNOTATIONS and key not in ("$id", "then", "else")
        ]
        if not checks:
            return lambda v: True
        if len(checks) == 1:
            return checks[0]
        every = tuple(checks)
        return lambda v: all(check(v) for check in every)

    def keyword(self, node: Mapping[str, Any], key: str, arg: Any, base: str) -> Check:
        if key == "$ref":
            return self.ref(base, arg)
        if key == "type":
            tests = tuple(_is_type(name) for name in ([arg] if isinstance(arg, str) else arg))
            return lambda v: any(test(v) for test in tests)
        if key == "const":
            return lambda v: strictly_equal(v, arg)
        if key == "enum":
            options = tuple(arg)
            return lambda v: any(strictly_equal(v, option) for option in options)
        if key == "minLength":
            return lambda v: not isinstance(v, str) or len(v) >= arg
        if key == "maxLength":
            return lambda v: not isinstance(v, str) or len(v) <= arg
        if key == "pattern":
            search = re.compile(arg).search
            return lambda v: not isinstance(v, str) or search(v) is not None
        if key == "format":
            if arg not in ("date", "date-time"):
                raise Unsupported(f"format {arg!r}")
            conforms = format_checker().conforms
            return lambda v: conforms(v, arg)
        if key == "required":
            names = tuple(arg)
            return lambda v: not isinstance(v, dict) or all(name in v for name in names)
        if key == "minProperties":
            return lambda v: not isinstance(v, dict) or len(v) >= arg
        if key == "properties":
            props = {name: self.build(sub, base) for name, sub in arg.items()}
            return lambda v: (
                not isinstance(v, dict)
                or all(props[name](item) for name, item in v.items() if name in props)
            )
        if key == "additionalProperties":
            if "patternProperties" in node:
                raise Unsupported("patternProperties")
            known = frozenset(node.get("properties", {}))
            extra = self.build(arg, base)
            return lambda v: (
                not isinstance(v, dict)
                or all(extra(item) for name, item in v.items() if name not in known)
            )
        if key == "items":
            if "prefixItems" in node:
                raise Unsupported("prefixItems")
            each = self.build(arg, base)
            return lambda v: not isinstance(v, list) or all(each(item) for item in v)
        if key == "minItems":
            return lambda v: not isinstance(v, list) or len(v) >= arg
        if key == "maxItems":
            return lambda v: not isinstance(v, list) or len(v) <= arg
        if key == "contains":
            if "minContains" in node or "maxContains" in node:
                raise Unsupported("minContains/maxContains")
            match = self.build(arg, base)
            return lambda v: not isinstance(v, list) or any(match(item) for item in v)
        if key == "allOf":
            subs = tuple(self.build(sub, base) for sub in arg)
            return lambda v: all(sub(v) for sub in subs)
        if key == "anyOf":
            subs = tuple(self.build(sub, base) for sub in arg)
            return lambda v: any(sub(v) for sub in subs)
        if key == "if":
            condition = self.build(arg, base, exact=True)
            then = self.build(node.get("then", True), base)
            otherwise = self.build(node.get("else", True), base)
            return lambda v: then(v) if condition(v) else otherwise(v)
        raise Unsupported(f"keyword {key!r}")

    def exact_keyword(self, node: Mapping[str, Any], key: str, arg: Any, base: str) -> Check:
        """The few keywords decided exactly as ``jsonschema`` does, for any JSON value."""
        if key == "type":
            names = [arg] if isinstance(arg, str) else list(arg)
            if not all(name in _EXACT_TYPES for name in names):
                raise Unsupported(f"type {arg!r} in an if")
            tests = tuple(_EXACT_TYPES[name] for name in names)
            return lambda v: any(test(v) for test in tests)
        if key == "const" and isinstance(arg, str):
            return lambda v: isinstance(v, str) and v == arg
        if key == "enum" and all(isinstance(option, str) for option in arg):
            options = frozenset(arg)
            return lambda v: isinstance(v, str) and v in options
        if key == "required":
            members = tuple(arg)
            return lambda v: not isinstance(v, dict) or all(name in v for name in members)
        if key == "properties":
            props = {name: self.build(sub, base, exact=True) for name, sub in arg.items()}
            return lambda v: (
                not isinstance(v, dict)
                or all(props[name](item) for name, item in v.items() if name in props)
            )
        raise Unsupported(f"keyword {key!r} in an if")


def compiled_check(schema_id: str) -> Check | None:
    """The compiled check of the schema with this ``$id``; None when it has none (an unknown
    ``$id``, or a schema the compiler does not handle): ``jsonschema`` then decides alone."""
    loaded = catalogue()
    if schema_id not in loaded.compiled:
        check: Check | None = None
        if schema_id in loaded.by_id:
            try:
                check = Compiler(loaded).resource(schema_id)
            except (Unsupported, re.error, TypeError, ValueError, AttributeError):
                check = None
        loaded.compiled[schema_id] = check
    return loaded.compiled[schema_id]


def accepts(schema_id: str, instance: Any) -> bool:
    """True when the compiled check accepts ``instance`` (so ``jsonschema`` would too)."""
    check = compiled_check(schema_id)
    if check is None:
        return False
    try:
        return check(instance)
    except Exception:  # RecursionError and the like: jsonschema gives the precise answer
        return False
