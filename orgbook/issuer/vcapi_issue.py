"""The VC-API issuer route, ``POST /credentials/issue``: an authorised issuer issues a credential.

What it owns: the module-level :data:`routes` with one route, W3C CCG VC-API ``issueCredential``
for authenticated issuers (an issuer API key, ``Authorization: Bearer``):
``{credential: {type, credentialSubject: {id, …claims}, validFrom?, onBehalfOf?, issuer?},
options: {credentialId?}}`` → 201 ``{verifiableCredential}``. The subject id is the
organisation's (``urn:orgbook:org:CA-BC:BC1234567``) or its register id (``CA-BC:BC1234567``);
the one type besides ``VerifiableCredential`` must be a registered type. It issues through
:func:`orgbook.issuer.authorised.issue_authorised`, in one transaction, exactly as
``POST /api/v1/issuer/credentials`` does: 403 with the reason when no authorisation covers it
(nothing logged), 422 with every schema problem as a JSON pointer under
``/credential/credentialSubject``, 404 for an organisation not in the register, 409 for an event
id reused with other content. The event id is ``options.credentialId`` or, without one, a hash of
the request's credential: the same request again answers the same credential, logging nothing.

What it must not do: decide anything itself (thin route), or sign for another issuer than the
caller (an ``issuer`` naming another DID is refused).
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Any
from urllib.parse import unquote

from fastapi import APIRouter, Depends
from pydantic import BaseModel, ConfigDict, Field

from orgbook.config import Settings
from orgbook.core.canonical import canonicalize
from orgbook.core.credentials import SUBJECT_PREFIX
from orgbook.core.errors import BadInput, Forbidden, InvalidRecord
from orgbook.http.deps import RegistryDep
from orgbook.http.ratelimit import rate_limited
from orgbook.http.routing import PooledRoute
from orgbook.issuer.auth import CallerDep, no_store
from orgbook.issuer.authorised import issue_authorised

__all__ = ["IssueCredentialRequest", "IssueCredentialResponse", "router", "routes"]

_BASE = "VerifiableCredential"
_POINTER = "/credential/credentialSubject"


class UnsignedCredential(BaseModel):
    """The credential to issue (other members, such as ``@context``, are ignored)."""

    model_config = ConfigDict(extra="ignore", frozen=True, populate_by_name=True)

    type: str | list[str] = Field(
        description="`VerifiableCredential` and one registered type (or the type alone).",
        examples=[["VerifiableCredential", "BusinessLicenceCredential"]],
    )
    credential_subject: dict[str, Any] = Field(
        alias="credentialSubject",
        description="`id`: the organisation (`urn:orgbook:org:CA-BC:BC1234567` or "
        "`CA-BC:BC1234567`); the other members are the claims, checked against the type's "
        "schema.",
    )
    valid_from: datetime | None = Field(default=None, alias="validFrom")
    on_behalf_of: str | None = Field(default=None, alias="onBehalfOf", max_length=300)
    issuer: str | dict[str, Any] | None = Field(
        default=None, description="If given, the caller's DID (or an object with it as `id`)."
    )


class IssueOptions(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True, populate_by_name=True)

    credential_id: str | None = Field(
        default=None,
        alias="credentialId",
        min_length=1,
        max_length=200,
        description="The issuer's id for this issuance (its event id): the same id and content "
        "answer the same credential; default a hash of the credential requested.",
    )


class IssueCredentialRequest(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    credential: UnsignedCredential
    options: IssueOptions | None = None


class IssueCredentialResponse(BaseModel):
    model_config = ConfigDict(frozen=True, populate_by_name=True)

    verifiable_credential: dict[str, Any] = Field(
        alias="verifiableCredential", description="The signed credential (eddsa-jcs-2022)."
    )


routes = APIRouter(
    route_class=PooledRoute,
    tags=["vc-api"],
    dependencies=[Depends(no_store), rate_limited("issuer")],
)


def _vc_type(value: str | list[str]) -> str:
    listed = [value] if isinstance(value, str) else value
    others = [t for t in listed if t != _BASE]
    if len(others) != 1:
        raise BadInput(
            "type is VerifiableCredential and exactly one registered type",
            field="/credential/type",
        )
    return others[0]


def _organisation(subject: dict[str, Any]) -> str:
    sid = subject.get("id")
    if not isinstance(sid, str) or not sid:
        raise BadInput("credentialSubject.id names the organisation", field=_POINTER + "/id")
    if sid.startswith(SUBJECT_PREFIX):
        jurisdiction, _, number = sid.removeprefix(SUBJECT_PREFIX).partition(":")
        return f"{jurisdiction}:{unquote(number)}"
    return sid


def _issuer_of(issuer: str | dict[str, Any] | None) -> str | None:
    return issuer.get("id") if isinstance(issuer, dict) else issuer


def _event_id(body: IssueCredentialRequest) -> str:
    if body.options is not None and body.options.credential_id is not None:
        return body.options.credential_id
    content = body.credential.model_dump(mode="json", by_alias=True, exclude_none=True)
    return "vcapi-" + hashlib.sha256(canonicalize(content)).hexdigest()


@routes.post(
    "/credentials/issue",
    status_code=201,
    summary="VC-API: issue a credential (authorised issuers)",
    description="W3C CCG VC-API `issueCredential`: `{credential, options}` → "
    "`{verifiableCredential}`. The credential's type must be a registered type the caller "
    "is authorised for (403 with the reason, nothing logged); its subject is the "
    "organisation, the other subject members the claims (422 with JSON pointers when they "
    "do not match the type's schema). Idempotent on `options.credentialId` (default: a hash "
    "of the credential requested). Issued as `POST /api/v1/issuer/credentials` issues.",
    responses={
        400: {"description": "Not one registered type; no subject id."},
        401: {"description": "No valid API key."},
        403: {"description": "Not authorised for this type and jurisdiction; another issuer."},
        404: {"description": "No such organisation."},
        409: {"description": "The credentialId was used for another credential."},
        422: {"description": "The claims do not match the type's schema (JSON pointers)."},
    },
)
def issue_credential(
    caller: CallerDep, registry: RegistryDep, body: IssueCredentialRequest
) -> IssueCredentialResponse:
    credential = body.credential
    named = _issuer_of(credential.issuer)
    if named is not None and named != caller.issuer.did:
        raise Forbidden(
            f"the caller issues as {caller.issuer.did}, not {named}", field="/credential/issuer"
        )
    vc_type = _vc_type(credential.type)
    organisation = _organisation(credential.credential_subject)
    claims = {k: v for k, v in credential.credential_subject.items() if k != "id"}
    assert registry.passphrase is not None
    try:
        with registry.engine.begin() as conn:
            issued = issue_authorised(
                conn,
                registry.ledger,
                issuer_did=caller.issuer.did,
                vc_type=vc_type,
                organisation=organisation,
                claims=claims,
                event_id=_event_id(body),
                valid_from=credential.valid_from,
                on_behalf_of=credential.on_behalf_of,
                passphrase=registry.passphrase,
                public_url=registry.settings.public_url,
            )
    except InvalidRecord as err:
        errors = [
            {**e, "path": _POINTER + str(e["path"]).removeprefix("/claims")}
            for e in err.extra.get("errors", [])
        ]
        field = _POINTER + (err.field or "").removeprefix("/claims")
        raise InvalidRecord(err.detail, field=field, errors=errors) from err
    return IssueCredentialResponse(verifiableCredential=issued.credential)


def router(settings: Settings) -> APIRouter:
    """The route (module-level; ``settings`` is accepted for the shell's interface)."""
    del settings
    return routes
