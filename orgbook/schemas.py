"""The shapes orgbook accepts: its JSON Schemas by ``$id``, and the W3C VC 2.0 data model rules.

What it owns:

* the JSON Schemas (draft 2020-12) in ``orgbook/resources/schemas/`` — credential schemas
  (``schemas/credentials/<slug>/<version>.json``) and registry-record schemas
  (``schemas/records/``) — loaded lazily, once, into a ``referencing`` registry so schemas can
  ``$ref`` each other by ``$id`` (every credential schema extends
  ``credentials/common/1.0.json``);
* ``validate_credential``, ``validate_record`` and ``validate_against``, which return
  :class:`SchemaProblem` values (a JSON pointer and a message) instead of raising;
* ``validate_data_model``: the conformance rules of the W3C Verifiable Credentials Data Model
  v2.0 (the ones its test suite checks) for any credential or presentation, orgbook's or not.

Formats are asserted (``date``, ``date-time``), which jsonschema does not do by default. Schema
files that do not load are a :class:`ConfigurationError`; an instance never makes these raise.
No I/O beyond reading the schema files, no network: ``$ref`` never leaves the local registry.

Speed: ``jsonschema`` interprets a schema (walking every ``$ref`` through ``referencing``) on
each call, ≈0.75 ms for a credential. Each schema is therefore also compiled once into nested
closures (:func:`_compile`), which *accept* a conforming instance in a few microseconds. It is a
fast path, never a second opinion: it is conservative (exact types, unknown keywords disable it
for that schema), so it may doubt an instance ``jsonschema`` accepts but never accepts one it
rejects (a tested property), and anything it doubts goes through ``jsonschema``, so problems
and their JSON pointers are exactly ``jsonschema``'s.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urldefrag, urljoin

import jsonschema
import jsonschema.exceptions
import referencing
import referencing.exceptions
from referencing.jsonschema import DRAFT202012

from orgbook.errors import ConfigurationError, NotFound
from orgbook.resources import data_path

__all__ = [
    "CREDENTIALS_V2_CONTEXT",
    "DEFAULT_SCHEMA_BASE",
    "SchemaProblem",
    "is_date_time_stamp",
    "is_url",
    "known_schema_ids",
    "parse_date_time",
    "schema_by_id",
    "schema_registry",
    "schemas_dir",
    "stable_schema_id",
    "validate_against",
    "validate_credential",
    "validate_data_model",
    "validate_record",
]

DEFAULT_SCHEMA_BASE = "https://orgbook.example/schemas"
CREDENTIALS_V2_CONTEXT = "https://www.w3.org/ns/credentials/v2"
MAX_PROBLEMS = 50


@dataclass(frozen=True, slots=True)
class SchemaProblem:
    """One reason an instance does not conform: where (RFC 6901 JSON pointer) and why."""

    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path or '/'}: {self.message}"


# --- loading ----------------------------------------------------------------------------------


def schemas_dir() -> Path:
    """The JSON Schemas' folder, ``orgbook/resources/schemas/`` (checkout and wheel alike)."""
    return data_path("resources", "schemas")


@dataclass(frozen=True, slots=True)
class _Catalogue:
    by_id: Mapping[str, Mapping[str, Any]]
    id_by_path: Mapping[str, str]  # "records/name_change.json" -> $id
    registry: referencing.Registry[Any]
    ids: frozenset[str]
    # schema $id -> its compiled acceptance check, or None when it cannot be compiled. Filled
    # lazily; it lives and dies with the catalogue (tests that swap schemas clear both).
    compiled: dict[str, Callable[[Any], bool] | None]


@functools.cache
def _catalogue() -> _Catalogue:
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
    return _Catalogue(
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
    return parse_date_time(value) is not None


@functools.cache
def _format_checker() -> jsonschema.FormatChecker:
    checker = jsonschema.FormatChecker(formats=())
    checker.checks("date", raises=ValueError)(_check_date)
    checker.checks("date-time")(_check_date_time)
    return checker


@functools.cache
def _validator(schema_id: str) -> jsonschema.Draft202012Validator:
    catalogue = _catalogue()
    return jsonschema.Draft202012Validator(
        catalogue.by_id[schema_id],
        registry=catalogue.registry,
        format_checker=_format_checker(),
    )


def known_schema_ids() -> frozenset[str]:
    """Every ``$id`` in ``schemas/``."""
    return _catalogue().ids


def schema_registry() -> referencing.Registry[Any]:
    """Every schema of the catalogue as a ``referencing`` registry (``$ref`` by ``$id``)."""
    return _catalogue().registry


def schema_by_id(schema_id: str) -> Mapping[str, Any]:
    """The schema document with this ``$id``; :class:`NotFound` when there is none."""
    try:
        return _catalogue().by_id[schema_id]
    except KeyError:
        raise NotFound(f"unknown schema {schema_id}") from None


# --- the compiled fast path -------------------------------------------------------------------

_Check = Callable[[Any], bool]

# Keywords that say nothing about validity (``$id`` only at a resource's root: see _build).
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


class _Unsupported(Exception):
    """The schema uses something the compiler does not handle: no fast path for it."""


def _is_type(name: str) -> _Check:
    # jsonschema's Draft 2020-12 type checker, minus integral floats for "integer" (stricter).
    if name == "string":
        return lambda v: isinstance(v, str)
    if name == "object":
        return lambda v: isinstance(v, dict)
    if name == "array":
        return lambda v: isinstance(v, list)
    if name == "boolean":
        return lambda v: isinstance(v, bool)
    if name == "null":
        return lambda v: v is None
    if name == "integer":
        return lambda v: isinstance(v, int) and not isinstance(v, bool)
    if name == "number":
        return lambda v: isinstance(v, int | float) and not isinstance(v, bool)
    raise _Unsupported(f"type {name!r}")


def _strictly_equal(value: Any, expected: Any) -> bool:
    """Equal with exactly the same JSON types throughout: implies jsonschema's ``equal``."""
    if type(value) is not type(expected):
        return False
    if isinstance(expected, dict):
        return value.keys() == expected.keys() and all(
            _strictly_equal(value[k], item) for k, item in expected.items()
        )
    if isinstance(expected, list):
        return len(value) == len(expected) and all(
            _strictly_equal(a, b) for a, b in zip(value, expected, strict=True)
        )
    return bool(value == expected)


class _Compiler:
    """Turns schemas of the catalogue into predicates; ``$ref`` followed by absolute URI."""

    def __init__(self, catalogue: _Catalogue) -> None:
        self.catalogue = catalogue
        self.refs: dict[str, _Check] = {}

    def resource(self, schema_id: str) -> _Check:
        return self.ref(schema_id, schema_id)

    def ref(self, base: str, reference: str) -> _Check:
        uri = urljoin(base, reference)
        if uri not in self.refs:
            document, fragment = urldefrag(uri)
            target: Any = self.catalogue.by_id.get(document)
            if target is None:
                raise _Unsupported(f"unresolvable $ref {reference!r}")
            if fragment:
                if not fragment.startswith("/"):
                    raise _Unsupported(f"$ref to an anchor {reference!r}")
                for part in fragment[1:].split("/"):
                    part = part.replace("~1", "/").replace("~0", "~")
                    if not isinstance(target, Mapping) or part not in target:
                        raise _Unsupported(f"unresolvable $ref {reference!r}")
                    target = target[part]
            slot: list[_Check] = []
            self.refs[uri] = lambda v: slot[0](v)  # recursion-safe placeholder
            slot.append(self.build(target, document, root=not fragment))
            self.refs[uri] = slot[0]
        return self.refs[uri]

    def build(self, node: Any, base: str, *, root: bool = False) -> _Check:
        if node is True:
            return lambda v: True
        if node is False:
            return lambda v: False
        if not isinstance(node, Mapping):
            raise _Unsupported("a schema is an object or a boolean")
        if "$id" in node and not root:
            raise _Unsupported("embedded resources ($id below the root)")
        checks = [
            self.keyword(node, key, arg, base)
            for key, arg in node.items()
            if key not in _ANNOTATIONS and key != "$id"
        ]
        if len(checks) == 1:
            return checks[0]
        every = tuple(checks)
        return lambda v: all(check(v) for check in every)

    def keyword(self, node: Mapping[str, Any], key: str, arg: Any, base: str) -> _Check:
        if key == "$ref":
            return self.ref(base, arg)
        if key == "type":
            tests = tuple(_is_type(name) for name in ([arg] if isinstance(arg, str) else arg))
            return lambda v: any(test(v) for test in tests)
        if key == "const":
            return lambda v: _strictly_equal(v, arg)
        if key == "enum":
            options = tuple(arg)
            return lambda v: any(_strictly_equal(v, option) for option in options)
        if key == "minLength":
            return lambda v: not isinstance(v, str) or len(v) >= arg
        if key == "maxLength":
            return lambda v: not isinstance(v, str) or len(v) <= arg
        if key == "pattern":
            search = re.compile(arg).search
            return lambda v: not isinstance(v, str) or search(v) is not None
        if key == "format":
            if arg not in ("date", "date-time"):
                raise _Unsupported(f"format {arg!r}")
            conforms = _format_checker().conforms
            return lambda v: conforms(v, arg)
        if key == "required":
            names = tuple(arg)
            return lambda v: not isinstance(v, dict) or all(name in v for name in names)
        if key == "properties":
            props = {name: self.build(sub, base) for name, sub in arg.items()}
            return lambda v: (
                not isinstance(v, dict)
                or all(props[name](item) for name, item in v.items() if name in props)
            )
        if key == "additionalProperties":
            if "patternProperties" in node:
                raise _Unsupported("patternProperties")
            known = frozenset(node.get("properties", {}))
            extra = self.build(arg, base)
            return lambda v: (
                not isinstance(v, dict)
                or all(extra(item) for name, item in v.items() if name not in known)
            )
        if key == "items":
            if "prefixItems" in node:
                raise _Unsupported("prefixItems")
            each = self.build(arg, base)
            return lambda v: not isinstance(v, list) or all(each(item) for item in v)
        if key == "minItems":
            return lambda v: not isinstance(v, list) or len(v) >= arg
        if key == "maxItems":
            return lambda v: not isinstance(v, list) or len(v) <= arg
        if key == "contains":
            if "minContains" in node or "maxContains" in node:
                raise _Unsupported("minContains/maxContains")
            match = self.build(arg, base)
            return lambda v: not isinstance(v, list) or any(match(item) for item in v)
        if key == "allOf":
            subs = tuple(self.build(sub, base) for sub in arg)
            return lambda v: all(sub(v) for sub in subs)
        if key == "anyOf":
            subs = tuple(self.build(sub, base) for sub in arg)
            return lambda v: any(sub(v) for sub in subs)
        raise _Unsupported(f"keyword {key!r}")


def _compiled(catalogue: _Catalogue, schema_id: str) -> _Check | None:
    """The compiled acceptance check of a schema (None: none; ``jsonschema`` decides alone)."""
    if schema_id not in catalogue.compiled:
        try:
            check: _Check | None = _Compiler(catalogue).resource(schema_id)
        except (_Unsupported, re.error, TypeError, ValueError, AttributeError):
            check = None
        catalogue.compiled[schema_id] = check
    return catalogue.compiled[schema_id]


def _accepted(catalogue: _Catalogue, schema_id: str, instance: Any) -> bool:
    """True when the compiled check accepts ``instance`` (so ``jsonschema`` would too)."""
    check = _compiled(catalogue, schema_id)
    if check is None:
        return False
    try:
        return check(instance)
    except Exception:  # RecursionError and the like: jsonschema gives the precise answer
        return False


# --- validation -------------------------------------------------------------------------------


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
    catalogue = _catalogue()
    if schema_id not in catalogue.by_id:
        raise NotFound(f"unknown schema {schema_id}")
    if _accepted(catalogue, schema_id, instance):
        return []
    validator = _validator(schema_id)
    problems: list[SchemaProblem] = []
    try:
        errors = sorted(
            validator.iter_errors(instance), key=lambda e: list(map(str, e.absolute_path))
        )
    except referencing.exceptions.Unresolvable as exc:
        raise ConfigurationError(f"schema {schema_id} has an unresolvable $ref: {exc}") from exc
    except RecursionError:
        return [SchemaProblem("", "nested too deeply")]
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


def stable_schema_id(schema_id: str, schema_base: str = DEFAULT_SCHEMA_BASE) -> str:
    """Map a deployment's schema URL back to the stable ``$id`` (ORGBOOK_SCHEMA_BASE)."""
    base = schema_base.rstrip("/") + "/"
    if schema_id.startswith(base):
        return DEFAULT_SCHEMA_BASE + "/" + schema_id[len(base) :]
    return schema_id


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
        if stable not in _catalogue().by_id:
            problems.append(SchemaProblem("/credentialSchema", f"unknown schema {schema_id}"))
            continue
        problems.extend(validate_against(stable, credential))
    return problems


def _record_schema_id(kind: str) -> str | None:
    catalogue = _catalogue()
    for name in dict.fromkeys((kind, kind.replace("_", "-"), kind.replace("-", "_"))):
        for rel in (f"records/{name}.json", f"records/{name}/1.0.json"):
            if rel in catalogue.id_by_path:
                return catalogue.id_by_path[rel]
        for sid in (
            f"{DEFAULT_SCHEMA_BASE}/records/{name}/1.0.json",
            f"{DEFAULT_SCHEMA_BASE}/records/{name}.json",
        ):
            if sid in catalogue.by_id:
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


# --- W3C VC Data Model 2.0 conformance --------------------------------------------------------

# RFC 3986 scheme, then no whitespace: did:…, urn:…, https://… (not "https ://…", "fake-issuer").
_URL = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]*:\S+")
# XML Schema dateTimeStamp, as VC 2.0 §4.9 requires for validFrom and validUntil.
_DATE_TIME_STAMP = re.compile(
    r"-?([1-9][0-9]{3,}|0[0-9]{3})-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])"
    r"T(([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](\.[0-9]+)?|(24:00:00(\.0+)?))"
    r"(Z|[+-]((0[0-9]|1[0-3]):[0-5][0-9]|14:00))"
)
# The top-level terms of the v2 context, all @protected: no later context may redefine them.
_V2_TERMS = frozenset(
    {
        "id",
        "type",
        "description",
        "digestMultibase",
        "digestSRI",
        "mediaType",
        "name",
        "VerifiableCredential",
        "VerifiablePresentation",
        "JsonSchemaCredential",
        "JsonSchema",
        "BitstringStatusListCredential",
        "BitstringStatusList",
        "BitstringStatusListEntry",
        "DataIntegrityProof",
        "EnvelopedVerifiableCredential",
        "EnvelopedVerifiablePresentation",
        "RenderMethod",
    }
)
_V2_IDENTICAL = {"id": "@id", "type": "@type"}


def is_url(value: object) -> bool:
    """True for an absolute URL/URI string (a scheme, then no whitespace)."""
    return isinstance(value, str) and _URL.fullmatch(value) is not None


def is_date_time_stamp(value: object) -> bool:
    """True for an XML Schema dateTimeStamp that is also a real instant."""
    return isinstance(value, str) and parse_date_time(value) is not None


def parse_date_time(value: str) -> datetime | None:
    """The aware datetime of a dateTimeStamp, or None when it is not one (or not a real date)."""
    if not isinstance(value, str) or _DATE_TIME_STAMP.fullmatch(value) is None:
        return None
    text = value[:-1] + "+00:00" if value.endswith("Z") else value
    if "T24:00:00" in text:
        return None  # legal in XML Schema, but no verifier should have to think about it
    try:
        # Python 3.11 fromisoformat accepts any number of fraction digits only up to 6.
        head, sep, tail = text.partition(".")
        if sep:
            digits = re.match(r"[0-9]+", tail)
            assert digits is not None
            frac = digits.group(0)
            text = f"{head}.{(frac + '000000')[:6]}{tail[len(frac) :]}"
        return datetime.fromisoformat(text)
    except (ValueError, OverflowError):
        return None


class _Rules:
    """Collects problems while walking one document; each method is one spec rule."""

    def __init__(self) -> None:
        self.problems: list[SchemaProblem] = []

    def fail(self, path: str, message: str) -> None:
        self.problems.append(SchemaProblem(path, message))

    # §4.3 Contexts
    def contexts(self, doc: Mapping[str, Any], path: str) -> tuple[set[str], bool, bool]:
        """Check @context; return (terms defined inline, @vocab nulled, unknown remote seen)."""
        ctx = doc.get("@context")
        defined: set[str] = set()
        if ctx is None:
            self.fail(f"{path}/@context", "@context is missing")
            return defined, False, False
        items = ctx if isinstance(ctx, list) else [ctx]
        if not items or items[0] != CREDENTIALS_V2_CONTEXT:
            self.fail(
                f"{path}/@context", f"the first @context item must be {CREDENTIALS_V2_CONTEXT}"
            )
        protected: dict[str, Any] = {t: _V2_IDENTICAL.get(t, ...) for t in _V2_TERMS}
        vocab_null = False
        remote = False
        for i, item in enumerate(items):
            where = f"{path}/@context/{i}"
            if isinstance(item, str):
                if not is_url(item):
                    self.fail(where, f"@context item {item!r} is not a URL")
                elif i and item != CREDENTIALS_V2_CONTEXT:
                    remote = True
            elif isinstance(item, dict):
                vocab_null = self._inline_context(item, where, protected, defined, vocab_null)
            else:
                self.fail(where, "a @context item must be a URL or an object")
        return defined, vocab_null, remote

    def _inline_context(
        self,
        item: Mapping[str, Any],
        where: str,
        protected: dict[str, Any],
        defined: set[str],
        vocab_null: bool,
    ) -> bool:
        all_protected = item.get("@protected") is True
        for term, definition in item.items():
            if term == "@vocab":
                vocab_null = definition is None
                continue
            if term.startswith("@"):
                continue
            key = f"{where}/{term}"
            if term in protected and protected[term] != definition:
                self.fail(key, f"@context redefines the protected term {term!r}")
            iri = definition.get("@id") if isinstance(definition, dict) else definition
            if isinstance(iri, str) and not iri.startswith("@") and not is_url(iri):
                self.fail(key, f"term {term!r} maps to {iri!r}, which is not a URL")
            elif iri is not None and not isinstance(iri, str):
                self.fail(key, f"term {term!r} has a definition that is not a URL")
            if definition is not None:
                defined.add(term)
            term_protected = isinstance(definition, dict) and definition.get("@protected") is True
            if all_protected or term_protected:
                protected[term] = definition
        return vocab_null

    # §4.4 Identifiers
    def identifier(self, doc: Mapping[str, Any], path: str, what: str) -> None:
        if "id" in doc and not is_url(doc["id"]):
            self.fail(f"{path}/id", f"the {what} id must be a single URL")

    # §4.5 Types
    def types(
        self,
        doc: Mapping[str, Any],
        path: str,
        required: str,
        mapping: tuple[set[str], bool, bool],
    ) -> None:
        value = doc.get("type")
        if value is None:
            self.fail(f"{path}/type", f"type is missing (it must include {required})")
            return
        types = value if isinstance(value, list) else [value]
        if not types:
            self.fail(f"{path}/type", f"type is empty (it must include {required})")
            return
        if not all(isinstance(t, str) and t for t in types):
            self.fail(f"{path}/type", "type must be a string or a list of strings")
            return
        if required not in types:
            self.fail(f"{path}/type", f"type must include {required}")
        defined, vocab_null, remote = mapping
        for i, name in enumerate(types):
            if ":" in name:
                if not is_url(name):
                    self.fail(f"{path}/type/{i}", f"type {name!r} is not a URL")
            elif vocab_null and not remote and name not in _V2_TERMS and name not in defined:
                self.fail(f"{path}/type/{i}", f"type {name!r} is not mapped to a URL")

    def typed_objects(self, doc: Mapping[str, Any], path: str, prop: str) -> None:
        """§4.10-4.12, §5.4-5.6: credentialStatus, credentialSchema, evidence, … need a type."""
        if prop not in doc:
            return
        value = doc[prop]
        entries = value if isinstance(value, list) else [value]
        if not entries:
            self.fail(f"{path}/{prop}", f"{prop} must not be empty")
        for i, entry in enumerate(entries):
            where = f"{path}/{prop}" + (f"/{i}" if isinstance(value, list) else "")
            if not isinstance(entry, dict):
                self.fail(where, f"{prop} must be an object or a list of objects")
                continue
            kind = entry.get("type")
            kinds = kind if isinstance(kind, list) else [kind]
            if kind is None:
                self.fail(f"{where}/type", f"{prop} type is missing")
            elif not kinds or not all(isinstance(k, str) and k for k in kinds):
                self.fail(f"{where}/type", f"{prop} type must be a string or list of strings")
            if "id" in entry and not is_url(entry["id"]):
                self.fail(f"{where}/id", f"{prop} id must be a single URL")
            elif prop == "credentialSchema" and "id" not in entry:
                self.fail(f"{where}/id", "credentialSchema id is missing")

    # §4.6 Names and descriptions
    def names(self, doc: Mapping[str, Any], path: str) -> None:
        for prop in ("name", "description"):
            if prop not in doc:
                continue
            value = doc[prop]
            values = value if isinstance(value, list) else [value]
            for item in values:
                if isinstance(item, str):
                    continue
                if (
                    isinstance(item, dict)
                    and isinstance(item.get("@value"), str)
                    and set(item) <= {"@value", "@language", "@direction"}
                    and isinstance(item.get("@language", ""), str)
                    and item.get("@direction", "ltr") in ("ltr", "rtl")
                ):
                    continue
                self.fail(
                    f"{path}/{prop}",
                    f"{prop} must be a string or language value objects "
                    "(@value, @language, @direction only)",
                )
                break

    # §4.7 Issuer
    def issuer(self, doc: Mapping[str, Any], path: str) -> None:
        if "issuer" not in doc:
            self.fail(f"{path}/issuer", "issuer is missing")
            return
        issuer = doc["issuer"]
        if isinstance(issuer, dict):
            if not is_url(issuer.get("id")):
                self.fail(f"{path}/issuer/id", "issuer id must be a URL")
            self.names(issuer, f"{path}/issuer")
        elif not is_url(issuer):
            self.fail(f"{path}/issuer", "issuer must be a URL or an object with a URL id")

    # §4.8 Credential subject
    def subjects(self, doc: Mapping[str, Any], path: str) -> None:
        if "credentialSubject" not in doc:
            self.fail(f"{path}/credentialSubject", "credentialSubject is missing")
            return
        value = doc["credentialSubject"]
        subjects = value if isinstance(value, list) else [value]
        if not subjects:
            self.fail(f"{path}/credentialSubject", "credentialSubject must not be empty")
        for i, subject in enumerate(subjects):
            where = f"{path}/credentialSubject" + (f"/{i}" if isinstance(value, list) else "")
            if not isinstance(subject, dict):
                self.fail(where, "credentialSubject must be an object or a list of objects")
            elif not subject:
                self.fail(where, "credentialSubject has no claims")
            elif "id" in subject and not is_url(subject["id"]):
                self.fail(f"{where}/id", "credentialSubject id must be a single URL")

    # §4.9 Validity period
    def validity(self, doc: Mapping[str, Any], path: str) -> None:
        parsed: dict[str, datetime] = {}
        for prop in ("validFrom", "validUntil"):
            if prop in doc:
                when = parse_date_time(doc[prop]) if isinstance(doc[prop], str) else None
                if when is None:
                    self.fail(f"{path}/{prop}", f"{prop} is not an XML Schema dateTimeStamp")
                else:
                    parsed[prop] = when
        if len(parsed) == 2 and parsed["validFrom"] > parsed["validUntil"]:
            self.fail(f"{path}/validUntil", "validUntil is before validFrom")

    def credential(self, doc: Any, path: str) -> None:
        if not isinstance(doc, dict):
            self.fail(path, "a verifiable credential is a JSON object")
            return
        mapping = self.contexts(doc, path)
        self.identifier(doc, path, "credential")
        self.types(doc, path, "VerifiableCredential", mapping)
        self.names(doc, path)
        self.issuer(doc, path)
        self.subjects(doc, path)
        self.validity(doc, path)
        for prop in (
            "credentialStatus",
            "credentialSchema",
            "proof",
            "refreshService",
            "termsOfUse",
            "evidence",
        ):
            self.typed_objects(doc, path, prop)

    # §4.13 Verifiable presentations
    def presentation(self, doc: Mapping[str, Any], path: str) -> None:
        mapping = self.contexts(doc, path)
        self.identifier(doc, path, "presentation")
        self.types(doc, path, "VerifiablePresentation", mapping)
        if "holder" in doc:
            holder = doc["holder"]
            holder_id = holder.get("id") if isinstance(holder, dict) else holder
            if not is_url(holder_id):
                self.fail(f"{path}/holder", "holder must be a URL or an object with a URL id")
        self.typed_objects(doc, path, "proof")
        if "verifiableCredential" not in doc:
            return
        value = doc["verifiableCredential"]
        for i, vc in enumerate(value if isinstance(value, list) else [value]):
            where = f"{path}/verifiableCredential/{i}"
            if not isinstance(vc, dict):
                self.fail(where, "verifiableCredential entries must be objects")
            elif _has_type(vc, "EnvelopedVerifiableCredential"):
                self.contexts(vc, where)
                if not (isinstance(vc.get("id"), str) and vc["id"].startswith("data:")):
                    self.fail(f"{where}/id", "an enveloped credential's id must be a data: URL")
            else:
                self.credential(vc, where)


def _has_type(doc: Mapping[str, Any], name: str) -> bool:
    value = doc.get("type")
    return value == name or (isinstance(value, list) and name in value)


def _is_presentation(doc: Any) -> bool:
    if not isinstance(doc, dict):
        return False
    if _has_type(doc, "VerifiablePresentation"):
        return True
    # No type to go by: a document with neither credential property is meant as a presentation.
    return not _has_type(doc, "VerifiableCredential") and not (
        {"credentialSubject", "issuer"} & doc.keys()
    )


def validate_data_model(document: Any) -> list[SchemaProblem]:
    """Problems of a credential or presentation under the W3C VC Data Model 2.0 rules.

    Checks what can be checked without fetching remote contexts: the base context first and
    well-formed contexts (URLs, no redefinition of protected terms, mapped types), ``type``,
    ``id`` and ``issuer`` URLs, ``credentialSubject`` claims, dateTimeStamp validity periods, and
    a ``type`` on every status, schema, proof, refresh, terms-of-use and evidence object. Never
    raises.
    """
    rules = _Rules()
    try:
        if _is_presentation(document):
            rules.presentation(document, "")
        else:
            rules.credential(document, "")
    except RecursionError:
        rules.fail("", "nested too deeply")
    return rules.problems
