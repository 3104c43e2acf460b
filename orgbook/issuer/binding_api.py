"""The issuer API's binding routes, ``/api/v1/issuer/bindings…``: a business's DID bound.

What it owns: ``router(settings)`` (included by ``orgbook.app.create_app``) with three routes,
each authenticated like every issuer route (the issuer acts for the business's representative,
whom it authenticates its own way):

* ``POST /api/v1/issuer/bindings/challenges`` — a single-use challenge for an organisation;
* ``POST /api/v1/issuer/bindings`` — the business's signed proof in, its Digital Identity Anchor
  out (logged on the ledger; the previous binding superseded);
* ``POST /api/v1/issuer/bindings/{organisation}/end`` — the binding ends: its anchor revoked.

DID documents are resolved by ``app.state.did_resolver`` (the application wires did:web over
HTTPS; did:key needs nothing). The decisions are :mod:`orgbook.issuer.binding`'s.

What it must not do: verify or issue anything itself (thin routes), or cache answers.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Request
from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

from orgbook.config import Settings
from orgbook.core.did import DidResolver, LocalResolver
from orgbook.http.deps import RegistryDep
from orgbook.http.ratelimit import rate_limited
from orgbook.http.routing import PooledRoute
from orgbook.issuer import binding
from orgbook.issuer.auth import CallerDep, no_store

__all__ = ["router", "routes"]

ORG_ID = Field(min_length=3, max_length=200, pattern=r"^[^:\s]+:\S+$", examples=["CA-BC:BC1234567"])
_RESPONSES: dict[int | str, dict[str, Any]] = {
    400: {"description": "Unknown or expired challenge; a proof that does not verify."},
    401: {"description": "No valid API key."},
    403: {"description": "Not this issuer's jurisdiction, or not registered for anchors."},
    404: {"description": "No such organisation."},
    409: {"description": "The challenge was already used; the DID is already bound."},
}


class _Model(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, frozen=True)


class ChallengeRequest(_Model):
    organisation: str = ORG_ID


class ChallengeOut(_Model):
    challenge: str = Field(description="Random, single use: sign it within 10 minutes.")
    domain: str = Field(description="The registry's domain: the proof must name it.")
    organisation: str
    expires: datetime


class BindingRequest(_Model):
    organisation: str = ORG_ID
    proof: dict[str, Any] = Field(
        description="A VerifiablePresentation (no credentials) whose holder is the business's "
        "DID, signed eddsa-jcs-2022 by that DID's authentication key with proofPurpose "
        "`authentication`, the challenge and the domain (`orgbook present --challenge C "
        "--domain D --key FILE`)."
    )


class BindingOut(_Model):
    organisation: str
    did: str
    credential_id: str
    ledger_index: int | None = None
    superseded: str | None = Field(default=None, description="The previous anchor, if any.")
    credential: dict[str, Any] | None = Field(
        default=None, description="The signed UNTP Digital Identity Anchor."
    )


class EndRequest(_Model):
    reason: str = Field(min_length=1, max_length=1000, examples=["the business left the DID"])


def _resolver(request: Request) -> DidResolver:
    found = getattr(request.app.state, "did_resolver", None)
    return found if isinstance(found, DidResolver) else LocalResolver()


def _out(result: binding.Binding) -> BindingOut:
    return BindingOut(
        organisation=result.organisation,
        did=result.did,
        credential_id=result.credential_id,
        ledger_index=result.ledger_index,
        superseded=result.superseded,
        credential=dict(result.credential) if result.credential is not None else None,
    )


routes = APIRouter(
    route_class=PooledRoute,
    prefix="/api/v1/issuer/bindings",
    tags=["issuer"],
    dependencies=[Depends(no_store), rate_limited("issuer")],
)


@routes.post(
    "/challenges",
    status_code=201,
    summary="A challenge for a business to sign with its DID",
    description="Random, single use, valid 10 minutes, for one organisation of the "
    "issuer's jurisdiction; the business signs it (with the `domain`) to bind its DID.",
    responses=_RESPONSES,
)
def challenge(caller: CallerDep, registry: RegistryDep, body: ChallengeRequest) -> ChallengeOut:
    made = binding.create_challenge(registry, caller.issuer, body.organisation)
    return ChallengeOut(
        challenge=made.challenge,
        domain=made.domain,
        organisation=made.organisation,
        expires=made.expires,
    )


@routes.post(
    "",
    status_code=201,
    summary="Bind a business's DID: issue its UNTP Digital Identity Anchor",
    description="Checks the signed proof against the challenge (consumed by this call), "
    "then issues a UNTP Digital Identity Anchor (0.6.0) binding the DID to the "
    "organisation, logged on the ledger; the organisation's previous anchor is superseded. "
    "A refused proof is a problem+json and nothing is logged.",
    responses=_RESPONSES,
)
def bind(
    caller: CallerDep, registry: RegistryDep, request: Request, body: BindingRequest
) -> BindingOut:
    result = binding.bind(
        registry, caller.issuer, body.organisation, body.proof, resolver=_resolver(request)
    )
    return _out(result)


@routes.post(
    "/{organisation}/end",
    summary="End a binding: revoke the Digital Identity Anchor",
    description="Revokes the organisation's current Digital Identity Anchor (a "
    "`credential.revoked` entry on the ledger, its status-list bit set): from then on a "
    "presentation by that DID no longer proves the organisation.",
    responses=_RESPONSES,
)
def end(
    caller: CallerDep,
    registry: RegistryDep,
    organisation: Annotated[str, Path(min_length=3, max_length=200)],
    body: EndRequest,
) -> BindingOut:
    return _out(binding.unbind(registry, caller.issuer, organisation, reason=body.reason, now=None))


def router(settings: Settings) -> APIRouter:
    """The binding routes (module-level; ``settings`` is accepted for the shell's interface)."""
    del settings
    return routes
