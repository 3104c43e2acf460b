"""The bilingual (English/French) web page, served by the verifier: search, organisation, verify,
ledger.

What it owns: the HTML routes (``/``, ``/search``, ``/search/suggest``, ``/organisations/{id}``,
``/verify``, ``/ledger``, ``/static/…``), the module-level :data:`routes` (``router(settings)`` is
what ``orgbook.app.create_app`` includes), and turning the verifier's read models into page models
that :mod:`orgbook.verifier.pages` renders in the reader's locale. Every page works without
JavaScript (GET forms, a form POST for verification); ``static/app.js`` adds search suggestions,
inline verification and the like on top.

What it must not do: query the database itself or verify anything itself. Searches go through
:mod:`orgbook.search`, profiles and credentials through
:mod:`orgbook.verifier.profiles`, verification through :mod:`orgbook.verifier.service` (the
same path as ``POST /api/v1/verify``), the ledger through :class:`orgbook.ledger.store.Ledger`.
Errors of the pages (an unknown organisation, a bad cursor) are HTML in the reader's language;
the JSON API keeps its problem+json.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter
from sqlalchemy import Engine
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from orgbook.config import Settings
from orgbook.core.canonical import loads_strict
from orgbook.core.errors import BadInput, NotFound, OrgBookError
from orgbook.http.caching import asset_response
from orgbook.http.deps import get_engine, get_optional_registry, get_settings_dep
from orgbook.http.ratelimit import rate_limited
from orgbook.http.routing import PooledRoute
from orgbook.runtime.registry import Registry
from orgbook.verifier.claims import claims
from orgbook.verifier.i18n import Translator
from orgbook.verifier.pages import (
    ENTITY_TYPES,
    JURISDICTIONS,
    CheckpointView,
    CredentialView,
    EntryView,
    path_quote,
    subject_attributes,
    web_pages,
)
from orgbook.verifier.search_facets import filter_options
from orgbook.verifier.service import VerificationService, service_of
from orgbook.verifier.stats_api import home_summary
from orgbook.verifier.timeline import build_timeline

__all__ = ["router", "routes"]

PAGE_SIZE = 20
RECENT_ENTRIES = 25
MAX_DOCUMENT_CHARS = 1_000_000
READ = [rate_limited("read")]

routes = APIRouter(route_class=PooledRoute, include_in_schema=False)
"""The web page's routes, in matching order (not in the OpenAPI document: HTML, not the API)."""


def router(settings: Settings) -> APIRouter:
    """:data:`routes` (``settings`` unused: handlers read the application's, per request)."""
    _ = settings
    return routes


# --- search ----------------------------------------------------------------------------------


@routes.get("/search", response_class=Response, dependencies=READ)
@routes.get("/", response_class=Response, dependencies=READ)
def home(request: Request) -> Response:
    from orgbook.search import STATUS_FILTERS, SearchQuery, facets, search_with_facets

    pages = web_pages()
    t, _ = pages.locale_of(request)
    params = request.query_params
    q = (params.get("q") or "").strip()
    jurisdiction = (params.get("jurisdiction") or "").strip()
    status = params.get("status") or ""
    status = status if status in STATUS_FILTERS else ""
    entity_type = (params.get("entity_type") or "").strip()
    credential_type = (params.get("credential_type") or "").strip()[:32]
    issuer = (params.get("issuer") or "").strip()[:64]
    cursor = params.get("cursor") or None
    chosen = (jurisdiction, status, entity_type, credential_type, issuer)
    filters_active = sum(1 for f in chosen if f)
    context: dict[str, Any] = {
        "q": q,
        "jurisdiction": jurisdiction,
        "status": status,
        "entity_type": entity_type,
        "credential_type": credential_type,
        "issuer": issuer,
        "type_labels": {},
        "issuer_names": {},
        "filters_active": filters_active,
        "facets": None,
        "page": None,
        "error": None,
        "first_url": None,
        "next_url": None,
        "home_stats": None if q or filters_active or cursor else home_summary(request),
    }
    code = 200
    query = SearchQuery(
        text=q or None,
        jurisdiction=jurisdiction or None,
        status=status or None,
        entity_type=entity_type or None,
        credential_type=credential_type or None,
        issuer=issuer or None,
        limit=PAGE_SIZE,
        cursor=cursor,
    )
    searching = bool(q or filters_active or cursor or request.url.path == "/search")
    try:
        with get_engine(request).connect() as conn:
            context["type_labels"], context["issuer_names"] = _filter_labels(conn, t)
            if searching:  # the page and its facets in one pass over the tiers
                page, context["facets"] = search_with_facets(conn, query)
            else:
                page, context["facets"] = None, facets(conn, query)
    except BadInput as exc:
        code = 400
        key = f"search.error.{exc.field}"
        context["error"] = t(key) if t.has(key) else t("search.error.other")
    else:
        context["page"] = page
        base = [
            (k, v)
            for k, v in (
                ("q", q),
                ("jurisdiction", jurisdiction),
                ("status", status),
                ("entity_type", entity_type),
                ("credential_type", credential_type),
                ("issuer", issuer),
            )
            if v
        ]
        if page is not None and cursor:
            context["first_url"] = "/search?" + urlencode(base)
        if page is not None and page.next_cursor:
            context["next_url"] = "/search?" + urlencode([*base, ("cursor", page.next_cursor)])
    found = context["facets"]
    context["jurisdictions"] = filter_options(found, "jurisdiction", JURISDICTIONS, jurisdiction)
    context["statuses"] = filter_options(found, "status", STATUS_FILTERS, status)
    context["entity_types"] = filter_options(found, "entity_type", ENTITY_TYPES, entity_type)
    context["credential_types"] = filter_options(
        found, "credential_type", sorted(context["type_labels"]), credential_type
    )
    context["issuers"] = filter_options(found, "issuer", sorted(context["issuer_names"]), issuer)
    return pages.render(request, "search.html", "search", status_code=code, **context)


def _filter_labels(conn: Any, t: Translator) -> tuple[dict[str, str], dict[str, str]]:
    """The search page's labels: credential type slug → its name in ``t``'s language (from the
    latest registered version of each type; the registry's own types named by the locale when
    none is registered) and issuer id → name."""
    from orgbook.core.credentials import CredentialType
    from orgbook.projections.credential_types import all_types
    from orgbook.projections.issuers import list_issuers

    labels = {c.slug: t.label("credential_type", c.slug) for c in CredentialType}
    for registered in all_types(conn):  # ledger order: the latest version wins
        names = registered.definition.name
        labels[registered.definition.slug] = names.get(t.locale) or names.get("en", "")
    return labels, {i.id: i.name for i in list_issuers(conn)}


@routes.get("/search/suggest", response_class=Response, dependencies=READ)
def suggest(request: Request) -> Response:
    from orgbook.search import autocomplete

    pages = web_pages()
    t, _ = pages.locale_of(request)
    q = (request.query_params.get("q") or "").strip()[:200]
    found = []
    if q:
        with get_engine(request).connect() as conn:
            found = autocomplete(conn, q, limit=8)
    body = {
        "query": q,
        "suggestions": [
            {
                "orgId": s.org_id,
                "name": s.name,
                "matchedName": s.matched_name if s.matched_name != s.name else None,
                "registrationNumber": s.registration_number,
                "jurisdiction": s.jurisdiction,
                "status": s.status,
                "statusLabel": t.label("status", s.status),
                "url": "/organisations/" + path_quote(s.org_id),
            }
            for s in found
        ],
    }
    return JSONResponse(
        body, headers={"Cache-Control": "public, max-age=30", "Vary": "Accept-Language, Cookie"}
    )


# --- organisation ----------------------------------------------------------------------------


@routes.get("/organisations/{org_id:path}", response_class=Response, dependencies=READ)
def organisation(request: Request, org_id: str) -> Response:
    from orgbook.projections.issuers import list_issuers
    from orgbook.verifier.licences import registered_types_by_slug
    from orgbook.verifier.profiles import find_credential, organisation_profile

    pages = web_pages()
    t, _ = pages.locale_of(request)
    try:
        with get_engine(request).connect() as conn:
            profile = organisation_profile(conn, org_id)
            documents = {c.id: find_credential(conn, c.id).document for c in profile.credentials}
            issuer_names = {i.id: i.name for i in list_issuers(conn)}
            types = registered_types_by_slug(conn)
    except NotFound:
        return pages.error_page(request, 404, t("error.organisation_not_found", id=org_id[:200]))
    views: list[CredentialView] = []
    parsed = {cid: loads_strict(raw) for cid, raw in documents.items()}
    for summary in profile.credentials:
        document = parsed[summary.id]
        until = document.get("validUntil")
        views.append(
            CredentialView(
                summary=summary,
                valid_until=until if isinstance(until, str) else None,
                attributes=subject_attributes(document, t),
                pretty=json.dumps(document, indent=2, ensure_ascii=False),
                filename=f"{summary.type}-{summary.id.rsplit(':', 1)[-1]}.bundle.json",
            )
        )
    return pages.render(
        request,
        "organisation.html",
        "organisation",
        org=profile,
        timeline=build_timeline(views, parsed, t, types),
        issuer_names=issuer_names,
    )


# --- verify ----------------------------------------------------------------------------------


@routes.get("/verify", response_class=Response, dependencies=READ)
def verify_form(request: Request) -> Response:
    pages = web_pages()
    return pages.render(
        request, "verify.html", "verify", document="", report=None, error=None, **_asked(None, None)
    )


@routes.post("/verify", response_class=Response, dependencies=[rate_limited("verify")])
async def verify_post(request: Request) -> Response:
    pages = web_pages()
    t, _ = pages.locale_of(request)
    form = await request.form()
    text = ""
    upload = form.get("file")
    if isinstance(upload, UploadFile) and upload.filename:
        raw = await upload.read(MAX_DOCUMENT_CHARS + 1)
        text = raw.decode("utf-8", errors="replace")
    if not text.strip():
        pasted = form.get("document")
        text = pasted if isinstance(pasted, str) else ""
    credential_id = form.get("credential_id")
    asked = _asked(form.get("challenge"), form.get("domain"))
    await form.close()
    engine = get_engine(request)
    registry = get_optional_registry(request)
    settings = get_settings_dep(request)
    service = service_of(request.app)
    try:
        if isinstance(credential_id, str) and credential_id and not text.strip():
            report, value = await run_in_threadpool(
                _verify_stored, service, engine, registry, settings, credential_id
            )
            text = ""
        else:
            if not text.strip():
                raise BadInput("empty", field="document")
            if len(text) > MAX_DOCUMENT_CHARS:
                raise BadInput("too large", field="document")
            value = loads_strict(text.encode("utf-8"))
            report = await run_in_threadpool(
                _verify, service, engine, registry, settings, value, **asked
            )
    except NotFound:
        return pages.error_page(request, 404, t("error.credential_not_found"))
    except OrgBookError as exc:
        message = _verify_error_message(t, exc, text)
        return pages.render(
            request,
            "verify.html",
            "verify",
            status_code=400,
            document=text[:MAX_DOCUMENT_CHARS],
            report=None,
            error=message,
            **asked,
        )
    return pages.render(
        request,
        "verify.html",
        "verify",
        document=text,
        report=report,
        claims=_claims_of(value, t),
        error=None,
        **asked,
    )


# --- ledger ----------------------------------------------------------------------------------


@routes.get("/ledger", response_class=Response, dependencies=READ)
def ledger(request: Request) -> Response:
    from orgbook.ledger.note import Checkpoint, parse_note

    pages = web_pages()
    registry = get_optional_registry(request)
    if registry is None:
        return pages.error_page(request, 503)
    ledger = registry.ledger
    with get_engine(request).connect() as conn:
        note = ledger.latest_checkpoint(conn)
        size = ledger.size(conn)
        stored = ledger.entries(conn, max(0, size - RECENT_ENTRIES), size)
    checkpoint = None
    if note is not None:
        parsed = Checkpoint.parse(parse_note(note).text)
        checkpoint = CheckpointView(parsed.origin, parsed.size, parsed.root.hex(), note)
    entries = [_entry_view(s.entry) for s in reversed(stored)]
    vkey = ledger.verifiers[0].vkey() if ledger.verifiers else ""
    return pages.render(
        request,
        "ledger.html",
        "ledger",
        checkpoint=checkpoint,
        size=size,
        entries=entries,
        vkey=vkey,
    )


# --- static ----------------------------------------------------------------------------------


@routes.get("/static/{name}", response_class=Response)
def static(request: Request, name: str) -> Response:
    pages = web_pages()
    found = pages.assets.get(name)
    if found is None:
        return pages.error_page(request, 404)
    return asset_response(request, *found)


def _entry_view(entry: Any) -> EntryView:
    payload = entry.payload
    org = payload.get("organisation")
    ctype = payload.get("type")
    issuer = payload.get("issuer")
    subject = issuer.get("id") if isinstance(issuer, Mapping) else issuer
    return EntryView(
        index=entry.index,
        kind=entry.kind,
        timestamp=entry.timestamp,
        org_id=org if isinstance(org, str) else None,
        credential_type=ctype if isinstance(ctype, str) else None,
        subject=subject if isinstance(subject, str) else None,
    )


def _verify(
    service: VerificationService,
    engine: Engine,
    registry: Registry | None,
    settings: Settings,
    value: Any,
    challenge: str | None = None,
    domain: str | None = None,
) -> dict[str, Any]:
    """What ``POST /api/v1/verify`` answers for ``value`` (a presentation's ``challenge`` and
    ``domain`` are the form's fields, or its VC-API body's options), as its JSON object."""
    from orgbook.verifier.presentations import split_request, verify_presentation_here

    asked = split_request(value, challenge, domain)
    out = (
        verify_presentation_here(
            service, engine, registry, settings, asked[0], challenge=asked[1], domain=asked[2]
        )
        if asked is not None
        else service.verify(engine, registry, settings, value)
    )
    report: dict[str, Any] = out.model_dump(mode="json", by_alias=True)
    return report


def _asked(challenge: Any, domain: Any) -> dict[str, Any]:
    """The verify form's challenge and domain (a presentation's), trimmed; None when empty."""
    return {
        name: (value.strip()[:200] or None) if isinstance(value, str) else None
        for name, value in (("challenge", challenge), ("domain", domain))
    }


def _verify_stored(
    service: VerificationService,
    engine: Engine,
    registry: Registry | None,
    settings: Settings,
    credential_id: str,
) -> tuple[dict[str, Any], Any]:
    """Verify a credential this registry issued (the no-JavaScript Verify button): the report
    and the credential."""
    from orgbook.verifier.profiles import find_credential

    with engine.connect() as conn:
        document = loads_strict(find_credential(conn, credential_id[:200]).document)
    return _verify(service, engine, registry, settings, document), document


def _claims_of(value: Any, t: Translator) -> list[tuple[str, str]]:
    """What the verified credential (or a bundle's) states, for the report; none for others."""
    from orgbook.verification.bundle import is_bundle

    if isinstance(value, Mapping) and is_bundle(value):
        value = value.get("credential")
    if not isinstance(value, Mapping) or "credentialSubject" not in value:
        return []
    return claims(value, t)


def _verify_error_message(t: Translator, exc: OrgBookError, text: str) -> str:
    if not text.strip():
        return t("verify.error.empty")
    if exc.field == "document":
        return t("verify.error.too_large")
    detail = getattr(exc, "detail", "") or ""
    return t("verify.error.unusable", detail=detail)
