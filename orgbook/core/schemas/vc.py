"""The W3C Verifiable Credentials Data Model v2.0 rules, for any credential or presentation.

What it owns: :func:`validate_data_model`, the conformance rules of the data model (the ones its
test suite checks) that hold for any credential or presentation, orgbook's or not, and the
small predicates they use (:func:`is_url`; :func:`orgbook.core.time.is_date_time_stamp`).

What it must not do: fetch remote contexts, raise for anything in a document, or know orgbook's
own schemas (:mod:`.validation` checks those). Pure: no I/O.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from orgbook.core.schemas.validation import SchemaProblem
from orgbook.core.time import is_date_time_stamp, parse_time_or_none

__all__ = ["CREDENTIALS_V2_CONTEXT", "is_date_time_stamp", "is_url", "validate_data_model"]

CREDENTIALS_V2_CONTEXT = "https://www.w3.org/ns/credentials/v2"

# RFC 3986 scheme, then no whitespace: did:…, urn:…, https://… (not "https ://…", "fake-issuer").
_URL = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]*:\S+")
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
                when = parse_time_or_none(doc[prop]) if isinstance(doc[prop], str) else None
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
