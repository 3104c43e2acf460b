"""The public verifier API: search, profiles, credentials, bundles, verify, issuers, schemas.

What it owns: the routes (the module-level :data:`routes`; ``router(settings)`` is what
``orgbook.app.create_app`` includes), their parameters, caching headers and OpenAPI
descriptions. Routes are thin and get what they need as dependencies
(``orgbook.http.deps``): queries live in ``orgbook.verifier.profiles`` and
``orgbook.search``, verification in ``orgbook.verifier.service`` (over
``orgbook.verification``); every error is an ``OrgBookError`` that the shell turns into
problem+json. The ledger's own routes are in ``orgbook.verifier.ledger_api``.

``POST /api/v1/verify`` answers 200 with a report for anything that is a credential or a bundle,
valid or not; unusable bodies (not JSON, not an object, too deep, neither a credential nor a
bundle, a bundle whose structure is broken) are 4xx problems. It never fetches anything from the
network: keys come from the ledger and this registry's issuers, status lists from its database.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Query, Request
from sqlalchemy import Engine
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from orgbook.config import Settings
from orgbook.core.canonical import canonicalize, loads_strict
from orgbook.core.errors import BadInput, UnsupportedMediaType
from orgbook.http.caching import cached_json
from orgbook.http.deps import EngineDep, OptionalRegistryDep, RegistryDep, SettingsDep
from orgbook.http.problems import PROBLEM_MEDIA_TYPE
from orgbook.http.ratelimit import rate_limited
from orgbook.http.routing import PooledRoute
from orgbook.storage.engine import reading
from orgbook.verifier import bundles, presentations, profiles, status_lists
from orgbook.verifier.models import (
    FacetsOut,
    IssuerOut,
    IssuersOut,
    OrganisationOut,
    SearchPageOut,
    SuggestionsOut,
    VerifyReportOut,
)
from orgbook.verifier.service import VerificationService, service_of

__all__ = ["router", "routes"]

PROFILE_MAX_AGE = 60
SEARCH_MAX_AGE = 30
STATUS_LIST_MAX_AGE = 60
DID_MAX_AGE = 300
READ = [rate_limited("read")]
StatusFilter = Literal[
    "active", "inactive", "dissolved", "amalgamated", "continued-out", "cancelled", "restored"
]
"""``orgbook.search.STATUS_FILTERS`` (a test holds them equal)."""

VERIFY_EXAMPLES: dict[str, Any] = {
    "credential": {
        "summary": "A credential (VC 2.0, eddsa-jcs-2022)",
        "value": {
            "@context": ["https://www.w3.org/ns/credentials/v2"],
            "id": "urn:uuid:840f79b9-6e3f-5204-865f-5ee496d69203",
            "type": ["VerifiableCredential", "OrganisationRegistrationCredential"],
            "issuer": {"id": "did:web:registry.example:issuers:bc-registries"},
            "validFrom": "1991-03-15T00:00:00Z",
            "credentialSubject": {"id": "urn:orgbook:org:CA-BC:CP0000000"},
            "proof": {"type": "DataIntegrityProof", "cryptosuite": "eddsa-jcs-2022"},
        },
    },
    "bundle": {
        "summary": "A bundle (as downloaded from /api/v1/credentials/{id}/bundle)",
        "value": {
            "type": "OrgBookBundle",
            "version": 1,
            "credential": {"…": "the signed credential"},
            "entry": {"index": 6, "timestamp": "…", "kind": "credential.issued"},
            "proof": "c2sp.org/tlog-proof@v1\nindex 6\n…\n\n<signed checkpoint>",
            "issuer": {"entry": {}, "proof": "…"},
            "issuerKeys": [{"entry": {}, "proof": "…"}],
        },
    },
}


async def _verification_service(request: Request) -> VerificationService:
    return service_of(request.app)


VerificationServiceDep = Annotated[VerificationService, Depends(_verification_service)]

routes = APIRouter(route_class=PooledRoute)
"""Every route of this module, in the order of the OpenAPI document."""


def router(settings: Settings) -> APIRouter:
    """:data:`routes` (``settings`` unused: routes read the application's, as dependencies)."""
    _ = settings
    return routes


# --- organisations and credentials ---------------------------------------------------------------


@routes.get(
    "/api/v1/organisations",
    tags=["organisations"],
    summary="Search organisations",
    description=(
        "By name (current, former or alternate; accent- and case-insensitive, prefix and "
        "typo-tolerant) or registration/business number, best matches first, with filters. "
        "Without `q`, every organisation in name order. Pages are stable: pass `nextCursor` "
        "as `cursor`. The first page also counts each filter value (`facets`), over at most "
        "a bound of organisations, saying whether the counts are exact (`credential_type` and "
        "`issuer` count the types and issuers of current credentials, authorities' included). "
        "`status` is `active`, "
        "`inactive` (any other status) or one status: dissolved, amalgamated, continued-out, "
        "cancelled, restored."
    ),
    response_model=SearchPageOut,
    dependencies=READ,
)
def search_organisations(
    request: Request,
    engine: EngineDep,
    q: Annotated[str | None, Query(max_length=200, examples=["prairie realty"])] = None,
    jurisdiction: Annotated[str | None, Query(max_length=16, examples=["CA-BC"])] = None,
    status: Annotated[StatusFilter | None, Query()] = None,
    entity_type: Annotated[str | None, Query(max_length=32, examples=["BC"])] = None,
    credential_type: Annotated[
        str | None,
        Query(
            max_length=32,
            examples=["business-licence"],
            description="Organisations holding a current credential of this type: its slug, a "
            "registry type's (registration, legal-name, address, status, relationship, "
            "business-number) or a registered type's (GET /api/v1/credential-types), e.g. a "
            "licence issued by an authority. A credential past its validUntil does not count.",
        ),
    ] = None,
    issuer: Annotated[
        str | None,
        Query(
            max_length=64,
            examples=["bc-licensing"],
            description="Organisations holding a current credential from this issuer (its id, "
            "GET /api/v1/issuers): a corporate registry or an authority. A credential past its "
            "validUntil does not count.",
        ),
    ] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    cursor: Annotated[str | None, Query(max_length=500)] = None,
    facets: Annotated[bool, Query(description="Count each filter value (first page)")] = True,
) -> Response:
    from orgbook.search import SearchQuery, search_with_facets

    query = SearchQuery(
        text=q,
        jurisdiction=jurisdiction,
        status=status,
        entity_type=entity_type,
        credential_type=credential_type,
        issuer=issuer,
        limit=limit,
        cursor=cursor,
    )
    with reading(engine) as conn:
        page, counted = search_with_facets(conn, query, with_facets=facets and cursor is None)
    body = SearchPageOut.model_validate(page).model_copy(
        update={"facets": None if counted is None else FacetsOut.model_validate(counted)}
    )
    return cached_json(request, body, immutable=False, max_age=SEARCH_MAX_AGE)


@routes.get(
    "/api/v1/organisations/autocomplete",
    tags=["organisations"],
    summary="Suggest organisations as the user types",
    description="Names with a word starting with `q` (name starts first), or numbers.",
    response_model=SuggestionsOut,
    dependencies=READ,
)
def autocomplete_organisations(
    request: Request,
    engine: EngineDep,
    q: Annotated[str, Query(min_length=1, max_length=200, examples=["prai"])],
    limit: Annotated[int, Query(ge=1, le=20)] = 8,
    jurisdiction: Annotated[str | None, Query(max_length=16)] = None,
) -> Response:
    from orgbook.search import autocomplete

    with reading(engine) as conn:
        found = autocomplete(conn, q, limit=limit, jurisdiction=jurisdiction)
    body = SuggestionsOut.model_validate({"suggestions": found})
    return cached_json(request, body, immutable=False, max_age=SEARCH_MAX_AGE)


@routes.get(
    "/api/v1/organisations/{org_id}",
    tags=["organisations"],
    summary="An organisation's profile",
    description=(
        "Current and former names with dates, addresses, status, relationships in both "
        "directions, and every credential with its history (issued, superseded, revoked, "
        "suspended, with dates and reasons)."
    ),
    response_model=OrganisationOut,
    dependencies=READ,
)
def get_organisation(
    request: Request,
    engine: EngineDep,
    org_id: Annotated[str, Path(max_length=200, examples=["CA-BC:BC1287139"])],
) -> Response:
    with reading(engine) as conn:
        profile = profiles.organisation_profile(conn, org_id)
    body = OrganisationOut.model_validate(profile)
    return cached_json(request, body, immutable=False, max_age=PROFILE_MAX_AGE)


@routes.get(
    "/api/v1/credentials/{credential_id}",
    tags=["credentials"],
    summary="A signed credential",
    description=(
        "The W3C VC 2.0 credential exactly as issued (its RFC 8785 form). Immutable: its "
        "status is in its status lists, its history in the organisation's profile."
    ),
    responses={200: {"content": {"application/json": {}}}},
    dependencies=READ,
)
def get_credential(
    request: Request,
    engine: EngineDep,
    credential_id: Annotated[
        str, Path(max_length=200, examples=["urn:uuid:840f79b9-6e3f-5204-865f-5ee496d69203"])
    ],
) -> Response:
    with reading(engine) as conn:
        stored = profiles.find_credential(conn, credential_id)
    return cached_json(request, stored.document, immutable=True)


@routes.get(
    "/api/v1/credentials/{credential_id}/bundle",
    tags=["credentials"],
    summary="A credential's bundle, verifiable offline",
    description=(
        "The credential, its ledger entry and C2SP tlog-proof, and the issuer's registration "
        "and key entries with theirs, all under one signed checkpoint (the latest, or the "
        "one at `tree_size`), with the witness cosignatures received for it so far. "
        "Verify it with `orgbook verify` and the "
        "ledger key (`GET /api/v1/ledger/key`); see docs/verifying.md."
    ),
    responses={200: {"content": {"application/json": {}}}},
    dependencies=READ,
)
def get_bundle(
    request: Request,
    engine: EngineDep,
    registry: RegistryDep,
    credential_id: Annotated[str, Path(max_length=200)],
    tree_size: Annotated[int | None, Query(ge=1, le=2**53 - 1)] = None,
) -> Response:
    with reading(engine) as conn:
        body = bundles.bundle_for(conn, registry.ledger, credential_id, tree_size=tree_size)
    # Not immutable even at a fixed tree size: witnesses may still add cosignatures.
    return cached_json(request, canonicalize(body), immutable=False, max_age=PROFILE_MAX_AGE)


# --- verify --------------------------------------------------------------------------------------

CHALLENGE = "A presentation: the challenge this verifier gave the holder (replay protection)."
DOMAIN = "A presentation: this verifier's domain, which the holder's proof must name."


@routes.post(
    "/api/v1/verify",
    tags=["verify"],
    summary="Verify a credential, a bundle or a business's presentation",
    description=(
        "Body: a credential (from any issuer) or a bundle. Answers 200 with one result per "
        "check (schema, signature, issuer_key, issuer_trusted, key_valid_at_issuance, "
        "validity_period, status, status_logged and, for bundles and credentials issued here, "
        "ledger_inclusion, checkpoint, consistency, witnesses); `valid` is false when any "
        "failed. A body that is neither is a 400; over the size limit, a 413. Nothing is "
        "fetched from the network: DIDs other than did:key and this registry's issuers do "
        "not resolve here (use `orgbook verify` for those). A bundle is what "
        "`GET /api/v1/credentials/{credential_id}/bundle` answers: `{type: OrgBookBundle, "
        "version, credential, entry, proof, issuer, issuerKeys}`. A W3C Verifiable "
        "Presentation (type VerifiablePresentation; or `{verifiablePresentation, options: "
        "{challenge, domain}}`) is verified with the `challenge` and `domain` query parameters: "
        "presentation, holder_signature, challenge, domain, holder_anchor (a current UNTP "
        "Digital Identity Anchor binds the holder DID to the organisation), same_organisation, "
        "then `items`, one report per credential or bundle (docs/businesses.md)."
    ),
    response_model=VerifyReportOut,
    responses={
        415: {
            "description": "The body is not sent as `application/json` (problem+json).",
            "content": {PROBLEM_MEDIA_TYPE: {"schema": {"$ref": "#/components/schemas/Problem"}}},
        }
    },
    dependencies=[rate_limited("verify")],
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {
                    "schema": {"type": "object"},
                    "examples": VERIFY_EXAMPLES,
                }
            },
        }
    },
)
async def verify(
    request: Request,
    engine: EngineDep,
    settings: SettingsDep,
    registry: OptionalRegistryDep,
    service: VerificationServiceDep,
    challenge: Annotated[str | None, Query(max_length=200, description=CHALLENGE)] = None,
    domain: Annotated[str | None, Query(max_length=200, description=DOMAIN)] = None,
) -> VerifyReportOut:
    # async def: verification runs on the event loop (VerificationService.verify_async).
    _require_json(request)
    raw = await request.body()
    if not raw.strip():
        raise BadInput("the body is empty: send a credential or a bundle", field="")
    value = loads_strict(raw)  # not JSON, too deep, duplicate keys: 400
    asked = presentations.split_request(value, challenge, domain)
    if asked is not None:  # a presentation (docs/businesses.md)
        return await run_in_threadpool(
            presentations.verify_presentation_here,
            service,
            engine,
            registry,
            settings,
            asked[0],
            challenge=asked[1],
            domain=asked[2],
        )
    return await service.verify_async(engine, registry, settings, value)


# --- issuers -------------------------------------------------------------------------------------


@routes.get(
    "/api/v1/issuers",
    tags=["issuers"],
    summary="The issuers registered on the ledger",
    response_model=IssuersOut,
    dependencies=READ,
)
def get_issuers(request: Request, engine: EngineDep, settings: SettingsDep) -> Response:
    from orgbook.projections.issuers import list_issuers

    with reading(engine) as conn:
        found = list_issuers(conn)
    base = settings.public_url.rstrip("/")
    body = IssuersOut(
        issuers=[
            IssuerOut(
                id=i.id,
                did=i.did,
                name=i.name,
                jurisdiction=i.jurisdiction,
                credential_types=list(i.credential_types),
                ledger_index=i.ledger_index,
                did_document=f"{base}/issuers/{i.id}/did.json",
            )
            for i in found
        ]
    )
    return cached_json(request, body, immutable=False, max_age=DID_MAX_AGE)


def _did_json(request: Request, engine: Engine, issuer_id: str) -> Response:
    from orgbook.projections.issuers import did_document

    with reading(engine) as conn:
        document = did_document(conn, issuer_id)
    return cached_json(
        request,
        document,
        immutable=False,
        max_age=DID_MAX_AGE,
        media_type="application/did+json",
    )


_DID_DOC: dict[str, Any] = {
    "tags": ["issuers"],
    "summary": "An issuer's DID document (did:web)",
    "description": "Every key the issuer had; only active ones are assertion methods.",
    "responses": {200: {"content": {"application/did+json": {}}}},
    "dependencies": READ,
}


@routes.get("/issuers/{issuer_id}/did.json", **_DID_DOC)
def get_did_document(
    request: Request, engine: EngineDep, issuer_id: Annotated[str, Path(max_length=64)]
) -> Response:
    return _did_json(request, engine, issuer_id)


@routes.get("/api/v1/issuers/{issuer_id}/did.json", **_DID_DOC)
def get_did_document_v1(
    request: Request, engine: EngineDep, issuer_id: Annotated[str, Path(max_length=64)]
) -> Response:
    return _did_json(request, engine, issuer_id)


@routes.get(
    "/issuers/{issuer_id}/status/{purpose}/{number}",
    tags=["issuers"],
    summary="A signed Bitstring Status List credential",
    description=(
        "The issuer's revocation or suspension list number `number` (131,072 entries), "
        "signed by its active key; re-signed when a bit changes, each signed version logged "
        "on the ledger (statuslist.published). Short max-age."
    ),
    responses={200: {"content": {"application/json": {}}}},
    dependencies=READ,
)
def get_status_list(
    request: Request,
    engine: EngineDep,
    settings: SettingsDep,
    registry: OptionalRegistryDep,
    issuer_id: Annotated[str, Path(max_length=64)],
    purpose: Literal["revocation", "suspension"],
    number: Annotated[int, Path(ge=0, le=10**9)],
) -> Response:
    url = f"{settings.public_url.rstrip('/')}/issuers/{issuer_id}/status/{purpose}/{number}"
    document = status_lists.status_list_for_url(
        engine,
        url,
        public_url=settings.public_url,
        passphrase=registry.passphrase if registry else None,
        ledger=registry.ledger if registry else None,
    )
    return cached_json(
        request, canonicalize(document), immutable=False, max_age=STATUS_LIST_MAX_AGE
    )


# --- schemas -------------------------------------------------------------------------------------


@routes.get(
    "/schemas/{group}/{slug}/{version}.json",
    tags=["credentials"],
    summary="A JSON Schema (credential types, registry records)",
    description="Served under its stable `$id`; immutable for a given version.",
    responses={200: {"content": {"application/schema+json": {}}}},
    dependencies=READ,
)
def get_schema(
    request: Request,
    group: Literal["credentials", "records"],
    slug: Annotated[str, Path(pattern=r"^[a-z0-9_-]{1,64}$")],
    version: Annotated[str, Path(pattern=r"^[0-9]{1,4}\.[0-9]{1,4}$")],
) -> Response:
    from orgbook.core.schemas import DEFAULT_SCHEMA_BASE, schema_by_id

    schema = schema_by_id(f"{DEFAULT_SCHEMA_BASE}/{group}/{slug}/{version}.json")
    return cached_json(
        request,
        canonicalize(dict(schema)),
        immutable=True,
        media_type="application/schema+json",
    )


def _require_json(request: Request) -> None:
    """415 unless the body is declared JSON (``application/json`` or a ``+json`` type).

    A body sent as ``text/plain`` or without a ``Content-Type`` is refused rather than guessed
    at: what the client meant is unknown, and a cross-origin form post must not reach here.
    """
    media = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if media != "application/json" and not (
        media.startswith("application/") and media.endswith("+json")
    ):
        raise UnsupportedMediaType(
            "send the credential or bundle as application/json"
            + (f", not {media}" if media else " (the Content-Type header is missing)"),
            field="Content-Type",
        )
