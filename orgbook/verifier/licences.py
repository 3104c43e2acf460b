"""An organisation's permits, licences and certifications: credentials of registered types.

What it owns: :func:`organisation_licences` — every credential about an organisation whose type
is a registered type of another authority (not one of the registry's own types), as a
:class:`Licence`: the type's names in English and French (from the registered definition the
credential names in ``credentialSchema``, else the type's latest version), the issuer's name and
DID, ``onBehalfOf``, the fields the type's ``display.profile`` (and ``display.web``) list with
their labels and values, its ``validFrom``/``validUntil`` and one status: ``revoked``,
``suspended``, ``expired`` (``validUntil`` passed) or ``current``; superseded credentials are
history (the profile's credential list has them), not listed here. Also
:func:`registered_types_by_slug`, the latest definition of each registered type, which the
organisation page's timeline labels credentials with.

What it must not do: write, know about HTTP or templates, or verify anything.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, select

from orgbook.core.canonical import loads_strict
from orgbook.core.credential_types import TypeDefinition
from orgbook.core.credentials import CredentialType
from orgbook.core.time import parse_time_or_none
from orgbook.projections.credential_types import all_types
from orgbook.projections.tables import (
    credential_document,
    credentials,
    credentials_with_entry,
    issuers,
)

__all__ = [
    "REGISTRY_SLUGS",
    "Licence",
    "LicenceField",
    "organisation_licences",
    "registered_types_by_slug",
]

#: The registry's own credential types: never listed as licences.
REGISTRY_SLUGS = frozenset({kind.slug for kind in CredentialType} | {"identity-anchor"})


@dataclass(frozen=True, slots=True)
class LicenceField:
    name: str  # the subject member, e.g. licenceNumber
    label: Mapping[str, str]  # {"en": …, "fr": …} from the type definition
    value: str


@dataclass(frozen=True, slots=True)
class Licence:
    credential_id: str
    type: str  # the type slug, e.g. business-licence
    vc_type: str
    type_id: str  # the registered type version's URL
    type_name: Mapping[str, str]  # {"en": …, "fr": …}
    issuer_name: str
    issuer_did: str
    on_behalf_of: str | None
    on_behalf_of_name: str | None
    fields: tuple[LicenceField, ...]  # display.profile
    web_fields: tuple[LicenceField, ...]  # display.web (the organisation page)
    status: str  # current | suspended | revoked | expired
    valid_from: str | None
    valid_until: str | None
    ledger_index: int


def registered_types_by_slug(conn: Connection) -> dict[str, TypeDefinition]:
    """The latest registered definition of each type slug (later versions win)."""
    return {r.definition.slug: r.definition for r in all_types(conn)}


def _text(value: object) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int | float):
        return str(value)
    return ""


def _fields(
    definition: TypeDefinition, names: tuple[str, ...], subject: Mapping[str, Any]
) -> tuple[LicenceField, ...]:
    out: list[LicenceField] = []
    for name in names:
        value: Any = subject
        for part in name.split("."):
            value = value.get(part) if isinstance(value, Mapping) else None
        text = _text(value)
        if text:
            label = {lang: definition.label(name, lang) for lang in ("en", "fr")}
            out.append(LicenceField(name=name, label=label, value=text))
    return tuple(out)


def _status(state: str, suspended: bool, valid_until: str | None, now: datetime) -> str:
    if state == "revoked":
        return "revoked"
    if suspended:
        return "suspended"
    until = parse_time_or_none(valid_until)
    if until is not None and until <= now:
        return "expired"
    return "current"


def organisation_licences(
    conn: Connection, org_id: str, *, now: datetime | None = None
) -> tuple[Licence, ...]:
    """The licences, permits and certifications of ``org_id`` (see the module docstring),
    by issuer name, then type name, then newest first."""
    at = (now or datetime.now(UTC)).astimezone(UTC)
    c = credentials
    rows = conn.execute(
        select(c.c.id, c.c.type, c.c.state, c.c.suspended, c.c.ledger_index, c.c.issuer_id)
        .add_columns(credential_document)
        .select_from(credentials_with_entry)
        .where(
            c.c.organisation_id == org_id,
            c.c.type.not_in(sorted(REGISTRY_SLUGS)),
            c.c.state != "superseded",
        )
    ).all()
    if not rows:
        return ()
    registered = all_types(conn)
    by_schema = {r.definition.credential_schema: r.definition for r in registered}
    by_vc_type = {r.definition.vc_type: r.definition for r in registered}
    authorities = {
        row.did: (str(row.id), str(row.name))
        for row in conn.execute(select(issuers.c.id, issuers.c.did, issuers.c.name))
    }
    names_by_id = dict(authorities.values())
    out: list[Licence] = []
    for row in rows:
        document = loads_strict(bytes(row.document))
        definition = _definition(document, by_schema, by_vc_type)
        if definition is None:
            continue
        subject = document.get("credentialSubject")
        subject = subject if isinstance(subject, Mapping) else {}
        issuer = document.get("issuer")
        issuer_did = _text(issuer.get("id")) if isinstance(issuer, Mapping) else _text(issuer)
        behalf = document.get("onBehalfOf")
        behalf_did = _text(behalf.get("id")) if isinstance(behalf, Mapping) else _text(behalf)
        until = document.get("validUntil")
        until_text = until if isinstance(until, str) else None
        since = document.get("validFrom")
        out.append(
            Licence(
                credential_id=str(row.id),
                type=definition.slug,
                vc_type=definition.vc_type,
                type_id=definition.id,
                type_name=dict(definition.name),
                issuer_name=names_by_id.get(str(row.issuer_id), str(row.issuer_id)),
                issuer_did=issuer_did,
                on_behalf_of=behalf_did or None,
                on_behalf_of_name=authorities[behalf_did][1] if behalf_did in authorities else None,
                fields=_fields(definition, definition.display.get("profile", ()), subject),
                web_fields=_fields(definition, definition.display.get("web", ()), subject),
                status=_status(str(row.state), bool(row.suspended), until_text, at),
                valid_from=since if isinstance(since, str) else None,
                valid_until=until_text,
                ledger_index=int(row.ledger_index),
            )
        )
    out.sort(key=lambda x: -x.ledger_index)
    out.sort(key=lambda x: (x.issuer_name.casefold(), x.type_name.get("en", x.type).casefold()))
    return tuple(out)


def _definition(
    document: Mapping[str, Any],
    by_schema: Mapping[str, TypeDefinition],
    by_vc_type: Mapping[str, TypeDefinition],
) -> TypeDefinition | None:
    schema = document.get("credentialSchema")
    schemas = schema if isinstance(schema, list) else [schema]
    for item in schemas:
        if isinstance(item, Mapping) and _text(item.get("id")) in by_schema:
            return by_schema[_text(item.get("id"))]
    types = document.get("type")
    for vc_type in types if isinstance(types, list) else []:
        if isinstance(vc_type, str) and vc_type in by_vc_type:
            return by_vc_type[vc_type]
    return None
