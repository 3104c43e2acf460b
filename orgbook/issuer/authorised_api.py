"""The issuer API's route for registered credential types: ``POST /api/v1/issuer/credentials``.

What it owns: the module-level :data:`routes` with one route: an authenticated issuer (an
authority) issues one credential of a registered type about a registered organisation,
``{eventId, type, organisation, claims, validFrom?, validUntil?, onBehalfOf?}``, through
:func:`orgbook.issuer.authorised.issue_authorised` in one transaction: 201 with the signed
credential (200 when the event id was seen before: the same credential, nothing logged), 403
with the reason when no authorisation covers it (nothing logged), 422 with every schema problem
as a JSON pointer under ``/claims``, 404 for an organisation not in the register or an
unregistered type, 409 for an event id reused with other content.

What it must not do: decide anything itself (thin route).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Depends, Response
from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

from orgbook.config import Settings
from orgbook.http.deps import RegistryDep
from orgbook.http.ratelimit import rate_limited
from orgbook.http.routing import PooledRoute
from orgbook.issuer.auth import CallerDep, no_store
from orgbook.issuer.authorised import issue_authorised, resolve_type

__all__ = ["AuthorisedIssue", "router", "routes"]


class _Model(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, frozen=True)


class AuthorisedIssue(_Model):
    event_id: str = Field(min_length=1, max_length=200, examples=["licence-2026-0042"])
    type: str = Field(
        min_length=1,
        max_length=300,
        description="The VC type (its latest registered version) or a type id URL.",
        examples=["BusinessLicenceCredential"],
    )
    organisation: str = Field(
        min_length=3, max_length=200, pattern=r"^[^:\s]+:\S+$", examples=["CA-BC:BC1234567"]
    )
    claims: dict[str, Any] = Field(description="The credentialSubject's members, but its id.")
    valid_from: datetime | None = None
    valid_until: datetime | None = Field(
        default=None, description="Default: validFrom plus the type's expires, if it has one."
    )
    on_behalf_of: str | None = Field(default=None, max_length=300)


class AuthorisedIssued(_Model):
    credential: dict[str, Any]
    ledger_index: int
    created: bool = Field(description="False when the event id was seen before.")
    superseded: str | None = None
    authorisation: str | None = Field(default=None, description="The authorisation's id.")


routes = APIRouter(
    route_class=PooledRoute,
    prefix="/api/v1/issuer/credentials",
    tags=["issuer"],
    dependencies=[Depends(no_store), rate_limited("issuer")],
)


@routes.post(
    "",
    status_code=201,
    summary="Issue a credential of a registered type (authorised issuers)",
    description="Claims about a registered organisation, validated against the type's "
    "registered schema, signed, logged and projected; idempotent on `eventId`. 403 (with "
    "the reason, nothing logged) unless an authorisation on the ledger covers the issuer, "
    "the type and the organisation's jurisdiction.",
    responses={
        200: {"description": "The event id was seen before: the same credential."},
        403: {"description": "Not authorised for this type and jurisdiction."},
        404: {"description": "No such organisation, or no such registered type."},
        409: {"description": "The event id was used for another credential."},
        422: {"description": "The claims do not match the type's schema (JSON pointers)."},
    },
)
def issue(
    caller: CallerDep, registry: RegistryDep, body: AuthorisedIssue, response: Response
) -> AuthorisedIssued:
    assert registry.passphrase is not None
    with registry.engine.begin() as conn:
        vc_type, type_id = resolve_type(conn, body.type)
        issued = issue_authorised(
            conn,
            registry.ledger,
            issuer_did=caller.issuer.did,
            vc_type=vc_type,
            type_id=type_id,
            organisation=body.organisation,
            claims=body.claims,
            event_id=body.event_id,
            valid_from=body.valid_from,
            valid_until=body.valid_until,
            on_behalf_of=body.on_behalf_of,
            passphrase=registry.passphrase,
            public_url=registry.settings.public_url,
        )
    if not issued.created:
        response.status_code = 200
    return AuthorisedIssued(
        credential=issued.credential,
        ledger_index=issued.index,
        created=issued.created,
        superseded=issued.superseded,
        authorisation=issued.authorisation.authorisation.id if issued.authorisation else None,
    )


def router(settings: Settings) -> APIRouter:
    """The route (module-level; ``settings`` is accepted for the shell's interface)."""
    del settings
    return routes
