"""Credential types, public: ``GET /api/v1/credential-types`` and ``/types/{slug}/{version}``.

What it owns: the module-level :data:`routes`: the list of every registered type version (its
signed definition, schema included, its ledger entry, and the issuers authorised for it, from
the authorisation projection), the type document at its id URL, and the credential's JSON
Schema at the type's ``credentialSchema`` URL (``/types/{slug}/{version}/schema.json``), whose
``$ref`` to shipped schemas point at where this registry serves them (``ORGBOOK_SCHEMA_BASE``,
else ``<public url>/schemas``), never at the ``orgbook.example`` placeholder.

What it must not do: define or change a type (``orgbook authority define-type``), or answer
from anything but the projections of the ledger.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Path
from sqlalchemy import Connection

from orgbook.config import Settings
from orgbook.core.credential_types import type_id
from orgbook.core.errors import NotFound
from orgbook.core.schemas import DEFAULT_SCHEMA_BASE
from orgbook.core.time import format_time
from orgbook.http.deps import RegistryDep
from orgbook.http.ratelimit import rate_limited
from orgbook.http.routing import PooledRoute
from orgbook.projections.authorisations import authorisations_of
from orgbook.projections.credential_types import RegisteredType, all_types, type_by_id
from orgbook.storage.engine import reading

__all__ = ["router", "routes"]

routes = APIRouter(route_class=PooledRoute, tags=["issuers"], dependencies=[rate_limited("read")])

Slug = Annotated[str, Path(pattern=r"^[a-z0-9]+(-[a-z0-9]+)*$", max_length=32)]
Version = Annotated[str, Path(pattern=r"^[0-9]+(\.[0-9]+){0,2}$", max_length=20)]


def _issuers(conn: Connection, vc_type: str, now: datetime) -> list[dict[str, Any]]:
    out = []
    for record in authorisations_of(conn, vc_type=vc_type):
        auth = record.authorisation
        out.append(
            {
                "issuer": auth.issuer,
                "onBehalfOf": auth.on_behalf_of,
                "jurisdictions": list(auth.jurisdictions),
                "authorisation": auth.id,
                "ledgerIndex": record.index,
                "inForce": not record.withdrawn_by(now)
                and not auth.refuses(
                    issuer=auth.issuer,
                    vc_types=[vc_type],
                    jurisdiction=auth.jurisdictions[0],
                    at=now,
                ),
                "withdrawnIndex": record.withdrawn_index,
            }
        )
    return out


def _type_json(conn: Connection, registered: RegisteredType, now: datetime) -> dict[str, Any]:
    return {
        "ledgerIndex": registered.index,
        "registeredAt": format_time(registered.registered_at, "trimmed"),
        "definition": dict(registered.definition.document),
        "issuers": _issuers(conn, registered.definition.vc_type, now),
    }


@routes.get(
    "/api/v1/credential-types",
    summary="Every registered credential type, with its schema and authorised issuers",
    description="One item per registered type version (`type.registered` ledger entries, "
    "signed by the governance key), in ledger order: the signed definition (id, VC type, "
    "version, EN/FR names and field labels, the subject's JSON Schema, supersession key, "
    "expiry, display fields) and every authorisation for its VC type (withdrawn ones too, "
    "`inForce` as of now).",
)
def list_types(registry: RegistryDep) -> dict[str, Any]:
    now = datetime.now(UTC)
    with reading(registry.engine) as conn:
        return {"items": [_type_json(conn, t, now) for t in all_types(conn)]}


def _find(registry: Any, slug: str, version: str) -> RegisteredType:
    tid = type_id(registry.settings.public_url, slug, version)
    with reading(registry.engine) as conn:
        found = type_by_id(conn, tid)
    if found is None:
        raise NotFound(f"no credential type {slug} version {version}", field="type")
    return found


@routes.get(
    "/types/{slug}/{version}",
    summary="A credential type's document (its id resolves here)",
    description="The signed `CredentialTypeDefinition`, its schema included.",
)
def type_document(registry: RegistryDep, slug: Slug, version: Version) -> dict[str, Any]:
    now = datetime.now(UTC)
    tid = type_id(registry.settings.public_url, slug, version)
    with reading(registry.engine) as conn:
        found = type_by_id(conn, tid)
        if found is None:
            raise NotFound(f"no credential type {slug} version {version}", field="type")
        return _type_json(conn, found, now)


@routes.get(
    "/types/{slug}/{version}/schema.json",
    summary="The JSON Schema of a credential of this type (its credentialSchema)",
)
def type_schema(registry: RegistryDep, slug: Slug, version: Version) -> dict[str, Any]:
    schema = _find(registry, slug, version).definition.credential_json_schema()
    served = registry.settings.schema_base.rstrip("/")  # default <public url>/schemas
    return _resolvable(schema, served) if served != DEFAULT_SCHEMA_BASE else schema


def _resolvable(node: Any, base: str) -> Any:
    """``node`` with every ``$ref`` to a shipped schema's stable ``$id`` pointed at ``base``,
    where this registry serves it, so a client following them reaches this registry."""
    if isinstance(node, dict):
        return {
            key: base + value[len(DEFAULT_SCHEMA_BASE) :]
            if key == "$ref"
            and isinstance(value, str)
            and value.startswith(DEFAULT_SCHEMA_BASE + "/")
            else _resolvable(value, base)
            for key, value in node.items()
        }
    if isinstance(node, list):
        return [_resolvable(value, base) for value in node]
    return node


def router(settings: Settings) -> APIRouter:
    """The type routes (module-level; ``settings`` is accepted for the shell's interface)."""
    del settings
    return routes
