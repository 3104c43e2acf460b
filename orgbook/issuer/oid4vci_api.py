"""The OpenID4VCI routes: a business's representative receives its credential in a wallet.

What it owns: ``router(settings)`` (included by ``orgbook.app.create_app``) with

* ``POST /api/v1/issuer/oid4vci/offers`` — the issuer API, authenticated like every issuer route
  (the issuer acts for the business's representative): a credential offer for an organisation,
  answered once with its ``openid-credential-offer://`` link, its ``credential_offer_uri``, the
  page that shows its QR code, and its PIN when one was asked for;
* the public OpenID4VCI 1.0 endpoints: ``GET /.well-known/openid-credential-issuer``,
  ``GET /.well-known/oauth-authorization-server``, ``GET /oid4vci/offers/{handle}`` (the offer
  by reference), ``POST /oid4vci/token`` (form-encoded, pre-authorised code),
  ``POST /oid4vci/nonce`` and ``POST /oid4vci/credential`` (Bearer access token, a ``jwt``
  proof of possession);
* ``GET /wallet-offers/{handle}`` — the offer's page: the organisation, the link and a
  server-rendered SVG QR code (``segno``), for whoever holds the handle (nothing secret is on a
  public page; an unknown, used or expired handle is a 404).

Errors of the OAuth endpoints are OAuth's JSON (``{"error", "error_description"}``, 400, or 401
with ``WWW-Authenticate: Bearer error="invalid_token"``), never a problem+json or a 500; every
answer that carries a secret is ``Cache-Control: no-store``. The decisions are
:mod:`orgbook.issuer.oid4vci`'s.

What it must not do: decide anything itself (thin routes), or log or cache a secret.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import segno
from fastapi import APIRouter, Depends, Path, Request
from jinja2 import Environment, select_autoescape
from markupsafe import Markup
from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel
from starlette.concurrency import run_in_threadpool
from starlette.responses import HTMLResponse, JSONResponse, Response

from orgbook.config import Settings
from orgbook.core.errors import NotFound
from orgbook.core.time import format_time
from orgbook.http.deps import RegistryDep
from orgbook.http.middleware import OWN_ERROR_BODY_SCOPE_KEY
from orgbook.http.ratelimit import rate_limited
from orgbook.http.routing import PooledRoute
from orgbook.issuer import oid4vci
from orgbook.issuer.auth import CallerDep, no_store
from orgbook.projections.tables import organisations

__all__ = ["router", "routes"]

_NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}
_OAUTH_ERROR = {
    "application/json": {
        "schema": {
            "type": "object",
            "required": ["error"],
            "properties": {
                "error": {"type": "string"},
                "error_description": {"type": "string"},
            },
        }
    }
}


class _Model(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, frozen=True)


class OfferRequest(_Model):
    organisation: str = Field(
        min_length=3, max_length=200, pattern=r"^[^:\s]+:\S+$", examples=["CA-BC:BC1234567"]
    )
    configurations: list[str] = Field(
        default_factory=lambda: list(oid4vci.CONFIGURATIONS),
        min_length=1,
        max_length=10,
        description="Credential configuration ids (see the issuer metadata); default all.",
        examples=[["DigitalIdentityAnchor"]],
    )
    tx_code: bool = Field(
        default=False,
        description="Also require a 6-digit PIN (answered once here) at the token endpoint.",
    )


class OfferOut(_Model):
    organisation: str
    configurations: list[str]
    expires: datetime
    link: str = Field(
        description="`openid-credential-offer://?credential_offer_uri=…`: open it in a wallet."
    )
    offer_uri: str = Field(description="The credential offer by reference (single use).")
    page: str = Field(description="A page showing the link and its QR code.")
    credential_offer: dict[str, Any] = Field(
        description="The credential offer by value (holds the pre-authorised code)."
    )
    tx_code: str | None = Field(
        default=None, description="The PIN to give the representative apart from the link."
    )


def _oauth_error(request: Request, err: oid4vci.Oid4vciError) -> JSONResponse:
    request.scope[OWN_ERROR_BODY_SCOPE_KEY] = True  # OAuth's JSON, not a problem+json
    headers = dict(_NO_STORE)
    if err.status == 401:
        headers["WWW-Authenticate"] = f'Bearer error="{err.error}"'
    return JSONResponse(err.body(), status_code=err.status, headers=headers)


routes = APIRouter(route_class=PooledRoute, tags=["wallets"])
issuer_routes = APIRouter(
    route_class=PooledRoute,
    prefix="/api/v1/issuer/oid4vci",
    tags=["issuer"],
    dependencies=[Depends(no_store), rate_limited("issuer")],
)


@issuer_routes.post(
    "/offers",
    status_code=201,
    summary="A credential offer for an organisation's wallet (OpenID4VCI, pre-authorised code)",
    description="For the business's authenticated representative: a single-use credential "
    "offer, valid 15 minutes, for an organisation of the issuer's jurisdiction. The "
    "representative opens `page` (the link and its QR code) and scans it with the wallet; "
    "the wallet's key becomes the organisation's bound DID (its Digital Identity Anchor, "
    "superseding a previous binding). Only hashes of the secrets are stored.",
    responses={
        400: {"description": "An unknown credential configuration."},
        401: {"description": "No valid API key."},
        403: {"description": "Not this issuer's jurisdiction, or not registered for anchors."},
        404: {"description": "No such organisation."},
    },
)
def create_offer(caller: CallerDep, registry: RegistryDep, body: OfferRequest) -> OfferOut:
    made = oid4vci.create_offer(
        registry, caller.issuer, body.organisation, body.configurations, tx_code=body.tx_code
    )
    return OfferOut(
        organisation=made.organisation,
        configurations=list(made.configurations),
        expires=made.expires,
        link=made.link,
        offer_uri=made.offer_uri,
        page=made.page,
        credential_offer=made.offer,
        tx_code=made.tx_code,
    )


_METADATA_SCHEMA = {"application/json": {"schema": {"type": "object"}}}


@routes.get(
    "/.well-known/openid-credential-issuer",
    summary="OpenID4VCI Credential Issuer Metadata",
    description="The credential configurations (format `ldp_vc`, W3C VC 2.0 signed "
    "`eddsa-jcs-2022`; a `jwt` proof of possession signed `EdDSA` with an Ed25519 key), the "
    "credential and nonce endpoints. The registry is its own authorisation server.",
    response_class=JSONResponse,
    responses={200: {"content": _METADATA_SCHEMA}},
    dependencies=[rate_limited("read")],
)
def issuer_metadata(registry: RegistryDep) -> JSONResponse:
    return JSONResponse(oid4vci.issuer_metadata(registry.settings.public_url))


@routes.get(
    "/.well-known/oauth-authorization-server",
    summary="OAuth 2.0 Authorization Server Metadata (RFC 8414) of the pre-authorised codes",
    response_class=JSONResponse,
    responses={200: {"content": _METADATA_SCHEMA}},
    dependencies=[rate_limited("read")],
)
def authorization_server_metadata(registry: RegistryDep) -> JSONResponse:
    return JSONResponse(oid4vci.authorization_server_metadata(registry.settings.public_url))


_HANDLE = Path(min_length=1, max_length=100, description="The offer's handle (a secret).")


@routes.get(
    "/oid4vci/offers/{handle}",
    summary="A credential offer by reference (`credential_offer_uri`)",
    description="The credential offer while its pre-authorised code is unused and unexpired; "
    "404 otherwise.",
    response_class=JSONResponse,
    responses={200: {"content": _METADATA_SCHEMA}, 404: {"description": "No such open offer."}},
    dependencies=[rate_limited("verify")],
)
def offer_by_reference(registry: RegistryDep, handle: str = _HANDLE) -> JSONResponse:
    found = oid4vci.offer_by_handle(registry, handle)
    if found is None:
        raise NotFound("no such credential offer: it was used, has expired or never existed")
    return JSONResponse(found.offer, headers=_NO_STORE)


@routes.post(
    "/oid4vci/token",
    summary="OAuth 2.0 token endpoint: a pre-authorised code for an access token",
    description="Form-encoded: `grant_type=urn:ietf:params:oauth:grant-type:pre-authorized_code`, "
    "`pre-authorized_code`, and `tx_code` when the offer asks for one. The code is single "
    "use; three wrong PINs use it up. Answers a Bearer access token valid 5 minutes.",
    response_class=JSONResponse,
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "application/x-www-form-urlencoded": {
                    "schema": {
                        "type": "object",
                        "required": ["grant_type", "pre-authorized_code"],
                        "properties": {
                            "grant_type": {
                                "type": "string",
                                "enum": [oid4vci.PRE_AUTHORIZED_GRANT],
                            },
                            "pre-authorized_code": {"type": "string"},
                            "tx_code": {"type": "string"},
                        },
                    }
                }
            },
        }
    },
    responses={
        200: {
            "content": {
                "application/json": {
                    "schema": {
                        "type": "object",
                        "properties": {
                            "access_token": {"type": "string"},
                            "token_type": {"type": "string", "enum": ["Bearer"]},
                            "expires_in": {"type": "integer"},
                        },
                    }
                }
            }
        },
        400: {
            "description": "`invalid_request`, `invalid_grant` (unknown, used or expired code; "
            "wrong PIN), `unsupported_grant_type`.",
            "content": _OAUTH_ERROR,
        },
    },
    dependencies=[rate_limited("verify")],
)
async def token(request: Request, registry: RegistryDep) -> Response:
    try:
        form = await request.form()
        fields = {k: v for k, v in form.items() if isinstance(v, str)}
    except Exception:  # a body that is not a form at all
        fields = {}
    try:
        answer = await run_in_threadpool(oid4vci.exchange_code, registry, fields)
    except oid4vci.Oid4vciError as err:
        return _oauth_error(request, err)
    return JSONResponse(answer, headers=_NO_STORE)


@routes.post(
    "/oid4vci/nonce",
    summary="OpenID4VCI nonce endpoint: a fresh `c_nonce`",
    description="A single-use nonce, valid 5 minutes, for the proof of possession.",
    response_class=JSONResponse,
    responses={
        200: {
            "content": {
                "application/json": {
                    "schema": {"type": "object", "properties": {"c_nonce": {"type": "string"}}}
                }
            }
        }
    },
    dependencies=[rate_limited("verify")],
)
def nonce(registry: RegistryDep) -> JSONResponse:
    return JSONResponse(oid4vci.new_nonce(registry), headers=_NO_STORE)


@routes.post(
    "/oid4vci/credential",
    summary="OpenID4VCI credential endpoint: the credential, bound to the wallet's key",
    description="`Authorization: Bearer <access token>`; JSON `{credential_configuration_id, "
    'proofs: {jwt: ["…"]}}`: the proof of possession is a JWT with `typ` '
    "`openid4vci-proof+jwt`, `alg` `EdDSA`, the wallet's Ed25519 key as `jwk` or as a "
    "did:key `kid`, `aud` the credential issuer, a recent `iat` and a `nonce` from the nonce "
    "endpoint (single use). Answers `{credentials: [{credential}]}`: a UNTP Digital Identity "
    "Anchor whose `credentialSubject.id` is the wallet key's did:key, signed "
    "`eddsa-jcs-2022` and logged on the ledger (verifiable and revocable like any credential).",
    response_class=JSONResponse,
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {
                    "schema": {
                        "type": "object",
                        "required": ["credential_configuration_id", "proofs"],
                        "properties": {
                            "credential_configuration_id": {"type": "string"},
                            "proofs": {
                                "type": "object",
                                "properties": {
                                    "jwt": {
                                        "type": "array",
                                        "items": {"type": "string"},
                                        "minItems": 1,
                                        "maxItems": 1,
                                    }
                                },
                            },
                        },
                    }
                }
            },
        }
    },
    responses={
        200: {
            "content": {
                "application/json": {
                    "schema": {
                        "type": "object",
                        "properties": {
                            "credentials": {
                                "type": "array",
                                "items": {
                                    "type": "object",
                                    "properties": {"credential": {"type": "object"}},
                                },
                            }
                        },
                    }
                }
            }
        },
        400: {
            "description": "`invalid_credential_request`, `unknown_credential_configuration`, "
            "`invalid_proof`, `invalid_nonce`, `credential_request_denied`.",
            "content": _OAUTH_ERROR,
        },
        401: {
            "description": "`invalid_token`: no, an unknown, expired or spent access token.",
            "content": _OAUTH_ERROR,
        },
    },
    dependencies=[rate_limited("verify")],
)
async def credential(request: Request, registry: RegistryDep) -> Response:
    raw = await request.body()
    try:
        body: Any = json.loads(raw)
    except ValueError:
        body = None
    try:
        answer = await run_in_threadpool(
            oid4vci.issue_credential, registry, request.headers.get("authorization"), body
        )
    except oid4vci.Oid4vciError as err:
        return _oauth_error(request, err)
    return JSONResponse(answer, headers=_NO_STORE)


_PAGE = Environment(autoescape=select_autoescape(default=True)).from_string(
    """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex">
<title>Receive {{ name }}'s credential in a wallet — orgbook</title>
</head>
<body>
<main>
<h1>Receive {{ name }}'s credential in a wallet</h1>
<p lang="fr">Recevoir l'attestation de {{ name }} dans un portefeuille</p>
<p>Organisation: <a href="/organisations/{{ organisation }}">{{ organisation }}</a></p>
<p>Credentials offered: {{ configurations | join(", ") }}</p>
<figure>
{{ qr }}
<figcaption>Scan this code with your wallet, or open the link on the device that holds it.
</figcaption>
</figure>
<p><a id="offer-link" href="{{ link }}">Open the offer in a wallet</a></p>
{% if tx_code %}<p>The wallet will ask for the 6-digit PIN the registry gave you.</p>{% endif %}
<p>This offer is single use and expires at <time datetime="{{ expires }}">{{ expires }}</time>.
Keep this page to yourself: whoever opens the offer first receives the credential, and the
wallet's key becomes {{ name }}'s bound DID.</p>
</main>
</body>
</html>
"""
)


@routes.get(
    "/wallet-offers/{handle}",
    summary="The page of a credential offer: its link and QR code",
    response_class=HTMLResponse,
    include_in_schema=False,
    dependencies=[rate_limited("read")],
)
def offer_page(registry: RegistryDep, handle: str = _HANDLE) -> Response:
    found = oid4vci.offer_by_handle(registry, handle)
    if found is None:
        return HTMLResponse(
            "<!doctype html><title>No such offer</title><h1>No such credential offer</h1>"
            "<p>It was used, has expired or never existed: ask the registry for a new one.</p>",
            status_code=404,
            headers=_NO_STORE,
        )
    with registry.engine.connect() as conn:
        org = conn.execute(
            organisations.select().where(organisations.c.id == found.organisation)
        ).first()
    name = (org.name if org is not None else None) or found.organisation
    qr = segno.make(found.link, error="m").svg_inline(
        scale=4, title="QR code of the credential offer", omitsize=False
    )
    html = _PAGE.render(
        name=name,
        organisation=found.organisation,
        configurations=found.configurations,
        qr=Markup(qr),  # noqa: S704 - segno's own SVG of our link
        link=found.link,
        tx_code=found.tx_code,
        expires=format_time(found.expires, "seconds"),
    )
    return HTMLResponse(html, headers=_NO_STORE)


def router(settings: Settings) -> APIRouter:
    """The wallet routes (module-level; ``settings`` is accepted for the shell's interface)."""
    del settings
    combined = APIRouter(route_class=PooledRoute)
    combined.include_router(issuer_routes)
    combined.include_router(routes)
    return combined
