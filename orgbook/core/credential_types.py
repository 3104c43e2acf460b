"""Credential types as data: what a type definition says, checked, and what follows from it.

A credential type is registered on the ledger (``type.registered``, signed by the
registry's governance key) as a ``CredentialTypeDefinition``::

    {"id": "<public url>/types/<slug>/<version>", "type": "CredentialTypeDefinition",
     "vcType": "BusinessLicenceCredential", "slug": "business-licence", "version": "1.0",
     "name": {"en": …, "fr": …}, "fields": {"<member>": {"en": …, "fr": …}},
     "schema": {<JSON Schema 2020-12 of the credentialSubject, id included>},
     "credentialSchema": "<URL of the credential's JSON Schema>",
     "supersessionKey": ["<member>", …], "expires": "P1Y" | null,
     "display": {"profile": […], "search": […], "web": […]}, "proof": {…}}

What it owns: :class:`TypeDefinition` (parsing and checking a definition, :class:`BadInput`
naming the member at fault), :func:`type_id`, :func:`definition_body` (a definition file plus
the registry's URL → the document to sign), :func:`registry_type_bodies` (the six registry
types, with their shipped schemas and VC types, as definitions), :func:`add_duration` (a type's
``expires``), and the supersession key of a subject.

What it must not do: sign, store or look anything up (the issuer and the projections do). Pure.
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from orgbook.core.credentials import CredentialType
from orgbook.core.errors import BadInput
from orgbook.core.schemas import DEFAULT_SCHEMA_BASE
from orgbook.core.schemas.registered import check_registered_schema

__all__ = [
    "DEFINITION_TYPE",
    "REGISTERED_KIND",
    "TypeDefinition",
    "add_duration",
    "definition_body",
    "registry_type_bodies",
    "type_id",
]

REGISTERED_KIND = "type.registered"
DEFINITION_TYPE = "CredentialTypeDefinition"
LANGUAGES = ("en", "fr")
DISPLAY = ("profile", "search", "web")
_SLUG = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")
_VERSION = re.compile(r"^[0-9]+(\.[0-9]+){0,2}$")
_VC_TYPE = re.compile(r"^[A-Z][A-Za-z0-9]{2,99}$")
_DURATION = re.compile(r"^P(?:(\d+)Y)?(?:(\d+)M)?(?:(\d+)D)?$")
_CAMEL = re.compile(r"(?<!^)(?=[A-Z])")


def slug_of(vc_type: str) -> str:
    """``BusinessLicenceCredential`` → ``business-licence``."""
    return _CAMEL.sub("-", vc_type.removesuffix("Credential")).lower() or vc_type.lower()


def type_id(public_url: str, slug: str, version: str) -> str:
    """A type's id: the URL it resolves at on the registry."""
    return f"{public_url.rstrip('/')}/types/{slug}/{version}"


def add_duration(start: datetime, duration: str) -> datetime:
    """``start`` plus an ISO 8601 duration of years, months and days (``P1Y``, ``P6M``,
    ``P1Y6M``, ``P90D``); the day is clamped to the month's last."""
    match = _DURATION.fullmatch(duration)
    if match is None or duration == "P":
        raise BadInput(f"expires must be an ISO 8601 duration such as P1Y, not {duration!r}")
    years, months, days = (int(g or 0) for g in match.groups())
    total = start.month - 1 + months + 12 * years
    year, month = start.year + total // 12, total % 12 + 1
    day = min(start.day, calendar.monthrange(year, month)[1])
    return start.replace(year=year, month=month, day=day) + timedelta(days=days)


def _labels(value: Any, field: str) -> dict[str, str]:
    if not isinstance(value, Mapping) or not all(
        isinstance(value.get(lang), str) and value[lang].strip() for lang in LANGUAGES
    ):
        raise BadInput('give an English and a French label: {"en": …, "fr": …}', field=field)
    return {lang: str(value[lang]) for lang in LANGUAGES}


def _names(value: Any, field: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise BadInput("a list of subject member names", field=field)
    return tuple(value)


@dataclass(frozen=True, slots=True)
class TypeDefinition:
    """A checked ``CredentialTypeDefinition``; ``document`` is the JSON (signed, if it was)."""

    id: str
    vc_type: str
    slug: str
    version: str
    name: Mapping[str, str]
    fields: Mapping[str, Mapping[str, str]]
    schema: Mapping[str, Any]
    credential_schema: str
    supersession_key: tuple[str, ...]
    expires: str | None
    display: Mapping[str, tuple[str, ...]]
    document: Mapping[str, Any]

    @classmethod
    def parse(cls, document: Any) -> TypeDefinition:
        if not isinstance(document, Mapping):
            raise BadInput("a credential type definition is a JSON object")
        if document.get("type") != DEFINITION_TYPE:
            raise BadInput(f"type must be {DEFINITION_TYPE!r}", field="type")
        for member in ("id", "credentialSchema"):
            if not isinstance(document.get(member), str) or not document[member]:
                raise BadInput(f"{member} is a URL", field=member)
        vc_type, slug, version = (document.get(k) for k in ("vcType", "slug", "version"))
        if not isinstance(vc_type, str) or not _VC_TYPE.fullmatch(vc_type):
            raise BadInput(
                "vcType is a VC type name, e.g. BusinessLicenceCredential", field="vcType"
            )
        if vc_type in ("VerifiableCredential", "VerifiablePresentation"):
            raise BadInput("vcType names the credential's own type", field="vcType")
        if not isinstance(slug, str) or not _SLUG.fullmatch(slug) or len(slug) > 32:
            raise BadInput("slug: lowercase words joined by '-', at most 32", field="slug")
        if not isinstance(version, str) or not _VERSION.fullmatch(version):
            raise BadInput("version: numbers joined by '.', e.g. 1.0", field="version")
        check_registered_schema(document.get("schema"))
        fields_in = document.get("fields") or {}
        if not isinstance(fields_in, Mapping):
            raise BadInput("fields: member name → {en, fr}", field="fields")
        fields = {str(k): _labels(v, f"fields/{k}") for k, v in fields_in.items()}
        expires = document.get("expires")
        if expires is not None:
            if not isinstance(expires, str):
                raise BadInput("expires is an ISO 8601 duration (P1Y) or null", field="expires")
            try:
                add_duration(datetime(2000, 1, 31), expires)
            except BadInput as exc:
                raise BadInput(exc.detail, field="expires") from None
        display_in = document.get("display") or {}
        if not isinstance(display_in, Mapping) or set(display_in) - set(DISPLAY):
            raise BadInput(f"display has {', '.join(DISPLAY)}", field="display")
        display = {k: _names(display_in.get(k), f"display/{k}") for k in DISPLAY}
        return cls(
            id=str(document["id"]),
            vc_type=vc_type,
            slug=slug,
            version=version,
            name=_labels(document.get("name"), "name"),
            fields=fields,
            schema=dict(document["schema"]),
            credential_schema=str(document["credentialSchema"]),
            supersession_key=_names(document.get("supersessionKey"), "supersessionKey"),
            expires=expires,
            display=display,
            document=document,
        )

    def valid_until(self, valid_from: datetime) -> datetime | None:
        return None if self.expires is None else add_duration(valid_from, self.expires)

    def supersession_values(self, subject: Mapping[str, Any]) -> tuple[str, ...]:
        """``(subject id, *key member values)``: credentials sharing it supersede each other."""
        values = [str(subject.get("id", ""))]
        for name in self.supersession_key:
            value: Any = subject
            for part in name.split("."):
                value = value.get(part) if isinstance(value, Mapping) else None
            values.append("" if value is None else str(value))
        return tuple(values)

    def label(self, member: str, language: str) -> str:
        labels = self.fields.get(member)
        return labels.get(language, member) if labels else member

    def credential_json_schema(self) -> dict[str, Any]:
        """The JSON Schema of the whole credential, served at ``credentialSchema``: the common
        envelope, this VC type, and the registered subject schema."""
        return {
            "$schema": "https://json-schema.org/draft/2020-12/schema",
            "$id": self.credential_schema,
            "title": self.name["en"],
            "allOf": [
                {"$ref": f"{DEFAULT_SCHEMA_BASE}/credentials/common/1.0.json#/$defs/credential"}
            ],
            "properties": {
                "type": {"contains": {"const": self.vc_type}},
                "credentialSubject": dict(self.schema),
            },
        }


def definition_body(definition: Mapping[str, Any], public_url: str) -> dict[str, Any]:
    """A definition file (``vcType``, ``version``, ``name``, ``fields``, ``schema``, …) as the
    document the governance key signs: ``id``, ``type``, ``slug`` and ``credentialSchema``
    filled in from the registry's public URL. Checked (:class:`BadInput`)."""
    if not isinstance(definition, Mapping):
        raise BadInput("a credential type definition is a JSON object")
    vc_type = definition.get("vcType")
    slug = definition.get("slug") or (slug_of(vc_type) if isinstance(vc_type, str) else None)
    version = definition.get("version", "1.0")
    if not isinstance(slug, str) or not isinstance(version, str):
        raise BadInput("vcType and version are strings", field="vcType")
    tid = type_id(public_url, slug, version)
    body: dict[str, Any] = {
        "id": tid,
        "type": DEFINITION_TYPE,
        "vcType": vc_type,
        "slug": slug,
        "version": version,
        "name": definition.get("name"),
        "fields": definition.get("fields", {}),
        "schema": definition.get("schema"),
        "credentialSchema": definition.get("credentialSchema") or f"{tid}/schema.json",
        "supersessionKey": list(definition.get("supersessionKey") or []),
        "expires": definition.get("expires"),
        "display": definition.get("display") or {},
    }
    extra = set(definition) - set(body) - {"proof"}
    if extra:
        raise BadInput(f"unknown member {sorted(extra)[0]!r}", field=sorted(extra)[0])
    TypeDefinition.parse(body)
    return body


_REGISTRY_NAMES: dict[str, tuple[str, str]] = {
    "registration": ("Registration", "Immatriculation"),
    "legal-name": ("Legal name", "Dénomination légale"),
    "address": ("Address", "Adresse"),
    "status": ("Status", "Statut"),
    "relationship": ("Relationship", "Relation"),
    "business-number": ("Business number", "Numéro d'entreprise"),
}


def registry_type_bodies(
    public_url: str, schema_base: str = DEFAULT_SCHEMA_BASE
) -> list[dict[str, Any]]:
    """The six registry types as definitions: same VC types and schema URLs as ever (so every
    credential issued before keeps verifying), their subject schema the shipped one's."""
    bodies: list[dict[str, Any]] = []
    for member in CredentialType:
        en, fr = _REGISTRY_NAMES[member.slug]
        bodies.append(
            {
                "id": type_id(public_url, member.slug, member.version),
                "type": DEFINITION_TYPE,
                "vcType": member.vc_type,
                "slug": member.slug,
                "version": member.version,
                "name": {"en": en, "fr": fr},
                "fields": {},
                "schema": {"$ref": f"{member.schema_id}#/$defs/subject"},
                "credentialSchema": member.schema_url(schema_base),
                "supersessionKey": list(member.supersession_fields),
                "expires": None,
                "display": {"profile": [], "search": [], "web": []},
            }
        )
    return bodies


def member_names(schema: Mapping[str, Any]) -> Sequence[str]:
    """The subject members a schema declares at its top level (for labels and display)."""
    props = schema.get("properties")
    return [str(k) for k in props] if isinstance(props, Mapping) else []
