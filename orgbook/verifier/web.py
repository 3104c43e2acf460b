"""The bilingual (English/French) web page, served by the verifier: search, organisation, verify,
ledger.

What it owns: the HTML routes (``/``, ``/search``, ``/search/suggest``, ``/organisations/{id}``,
``/verify``, ``/ledger``, ``/static/…``), turning the verifier's read models into page models
and rendering them with Jinja templates (``templates/``), in the locale :mod:`.i18n` picks.
Every page works without JavaScript (GET forms, a form POST for verification); ``static/app.js``
adds search suggestions, inline verification and the like on top.

What it must not do: query the database itself or verify anything itself. Searches go through
:mod:`orgbook.verifier.search`, profiles and credentials through
:mod:`orgbook.verifier.profiles`, verification through :mod:`orgbook.verifier.api` (the same
path as ``POST /api/v1/verify``), the ledger through :class:`orgbook.ledger.store.Ledger`.
Errors of the pages (an unknown organisation, a bad cursor) are HTML in the reader's language;
the JSON API keeps its problem+json.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal
from urllib.parse import quote, urlencode

from fastapi import APIRouter
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from markupsafe import Markup
from sqlalchemy import Engine
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from orgbook.canonical import loads_strict
from orgbook.config import Settings
from orgbook.errors import BadInput, NotFound, OrgBookError
from orgbook.http.caching import IMMUTABLE, etag_for, not_modified
from orgbook.http.deps import get_engine
from orgbook.http.ratelimit import rate_limited
from orgbook.registry import Registry
from orgbook.resources import data_path
from orgbook.verifier.i18n import COOKIE_NAME, LOCALES, Translator, negotiate, translator

__all__ = ["ENTITY_TYPES", "JURISDICTIONS", "WebPages", "router"]

STATIC_TYPES = {".css": "text/css; charset=utf-8", ".js": "text/javascript; charset=utf-8"}
PAGE_SIZE = 20
RECENT_ENTRIES = 25
MAX_DOCUMENT_CHARS = 1_000_000
SUBJECT_PREFIX = "urn:orgbook:org:"
COOKIE_MAX_AGE = 365 * 24 * 3600

JURISDICTIONS = (
    "CA", "CA-AB", "CA-BC", "CA-MB", "CA-NB", "CA-NL", "CA-NS", "CA-NT", "CA-NU", "CA-ON",
    "CA-PE", "CA-QC", "CA-SK", "CA-YT",
)  # fmt: skip
"""Filter choices: Canada's federal register and its provinces and territories (ISO 3166-2)."""

ENTITY_TYPES = (
    "BC", "ULC", "BEN", "CC", "C", "A", "LLC", "XP", "XL", "XS", "XCP", "CP", "S", "SP", "GP",
    "LP", "LL", "NSLC", "NSULC", "SOC", "COOP", "EXP", "BN", "PTNR", "CBCA", "NFP",
)  # fmt: skip
"""Filter choices: the entity types of the registers orgbook knows (BC, Nova Scotia, federal)."""

_CSS_TOKEN = re.compile(r"[^a-z0-9-]+")
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}(T[0-9:.]+Z)?")
_ATTRIBUTE_ORDER = (
    "id", "registeredName", "legalName", "language", "alternateNames", "registeredId",
    "registeredDate", "entityType", "jurisdiction", "homeJurisdiction", "registrar", "schemeId",
    "registerType", "status", "statusReason", "addressType", "streetAddress", "addressLocality",
    "addressRegion", "postalCode", "addressCountry", "relationshipType", "relatedOrganisation",
    "businessNumber", "programAccount", "effectiveDate", "endDate",
)  # fmt: skip
"""The order a reader expects a credential's claims in (the signed form sorts them by name)."""
_JS_GROUPS = ("js.", "check.", "outcome.", "verify.")
"""Messages the script needs (verification reports it renders itself), sent in the page."""


# --- page models --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CredentialView:
    summary: Any  # profiles.CredentialSummary
    valid_until: str | None
    attributes: list[tuple[str, str]]
    pretty: str
    filename: str


@dataclass(frozen=True, slots=True)
class EntryView:
    index: int
    kind: str
    timestamp: str
    org_id: str | None
    credential_type: str | None
    subject: str | None


@dataclass(frozen=True, slots=True)
class CheckpointView:
    origin: str
    size: int
    root: str
    note: str


# --- helpers ------------------------------------------------------------------------------------


def _path_quote(value: object) -> str:
    return quote(str(value), safe=":@-._~")


def _css_token(value: object) -> str:
    return _CSS_TOKEN.sub("-", str(value).lower()).strip("-") or "unknown"


def _json_script(value: object) -> Markup:
    """JSON safe inside ``<script type="application/json">`` (no ``</script>``, no ``<!--``)."""
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    text = text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    return Markup(text)  # noqa: S704 - escaped above for a script data block


def _ledger_position(report: Mapping[str, Any]) -> dict[str, int] | None:
    """The entry index and tree size the ledger inclusion check proved, if it passed."""
    for check in report.get("checks", ()):
        if check.get("name") == "ledger_inclusion" and check.get("outcome") == "pass":
            details = check.get("details") or {}
            index, size = details.get("index"), details.get("treeSize")
            if isinstance(index, int) and isinstance(size, int):
                return {"index": index, "size": size}
    return None


def _flatten(value: Any, prefix: str = "") -> Iterator[tuple[str, Any]]:
    if isinstance(value, Mapping):
        for key, item in value.items():
            yield from _flatten(item, f"{prefix}.{key}" if prefix else str(key))
    elif isinstance(value, list) and any(isinstance(v, Mapping | list) for v in value):
        for i, item in enumerate(value):
            yield from _flatten(item, f"{prefix}.{i + 1}")
    else:
        yield prefix, value


def subject_attributes(credential: Mapping[str, Any], t: Translator) -> list[tuple[str, str]]:
    """A credential's claims as (attribute, text) rows: dates and known values localised."""
    rows: list[tuple[str, str]] = []
    issuer = credential.get("issuer")
    issuer_id = issuer.get("id") if isinstance(issuer, Mapping) else issuer
    if isinstance(issuer_id, str):
        rows.append(("issuer", issuer_id))
    for name in ("validFrom", "validUntil"):
        if isinstance(credential.get(name), str):
            rows.append((name, t.date(credential[name])))
    subject = credential.get("credentialSubject")
    if not isinstance(subject, Mapping):
        return rows
    rank = {name: i for i, name in enumerate(_ATTRIBUTE_ORDER)}
    claims = sorted(
        ((k, v) for k, v in subject.items() if k != "type"),
        key=lambda kv: (rank.get(kv[0], len(rank)), kv[0]),
    )
    for key, value in _flatten(dict(claims)):
        if value is None:
            continue
        leaf = key.rsplit(".", 1)[-1]
        if isinstance(value, list):
            text = ", ".join(str(v) for v in value)
        elif isinstance(value, bool):
            text = t("common.yes") if value else t("common.no")
        elif isinstance(value, str) and _DATE.fullmatch(value):
            text = t.date(value)
        elif leaf == "addressCountry" and isinstance(value, str):
            text = t.label("country", value)
        elif leaf == "status" and isinstance(value, str):
            text = t.label("status", value)
        elif leaf in ("addressType", "relationshipType") and isinstance(value, str):
            group = "address_type" if leaf == "addressType" else "rel_outgoing"
            text = t.label(group, value)
        else:
            text = str(value)
        rows.append((key, text))
    return rows


def _asset_table() -> dict[str, tuple[bytes, str, str]]:
    table: dict[str, tuple[bytes, str, str]] = {}
    for path in sorted(data_path("verifier", "static").iterdir()):
        media = STATIC_TYPES.get(path.suffix)
        if media is not None and path.is_file():
            body = path.read_bytes()
            table[path.name] = (body, media, etag_for(body))
    return table


# --- the pages ----------------------------------------------------------------------------------


class WebPages:
    """Templates, assets and the page handlers' shared plumbing (made by :func:`router`)."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.assets = _asset_table()
        self.env = Environment(
            loader=FileSystemLoader(data_path("verifier", "templates")),
            autoescape=select_autoescape(["html"]),
            undefined=StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
        )
        self.env.filters.update(
            pathq=_path_quote,
            css_token=_css_token,
            json_script=_json_script,
            ledger_position=_ledger_position,
        )
        self.env.globals["asset"] = self.asset_url

    def asset_url(self, name: str) -> str:
        """``/static/<name>?v=<hash>``: immutable URLs, new ones when the file changes."""
        etag = self.assets[name][2]
        return f"/static/{name}?v={etag.strip(chr(34))[:12]}"

    # --- locale and rendering ------------------------------------------------------------------

    @staticmethod
    def locale_of(request: Request) -> tuple[Translator, bool]:
        locale, explicit = negotiate(
            request.query_params.get("lang"),
            request.cookies.get(COOKIE_NAME),
            request.headers.get("accept-language"),
        )
        return translator(locale), explicit

    @staticmethod
    def _lang_url(request: Request, locale: str) -> str:
        params = [(k, v) for k, v in request.query_params.multi_items() if k != "lang"]
        params.append(("lang", locale))
        return request.url.path + "?" + urlencode(params)

    def render(
        self,
        request: Request,
        template: str,
        page_id: str,
        *,
        status_code: int = 200,
        **context: Any,
    ) -> Response:
        t, explicit = self.locale_of(request)
        other = next(code for code in LOCALES if code != t.locale)
        js_messages = {k: v for k, v in t.messages.items() if k.startswith(_JS_GROUPS)}
        html = self.env.get_template(template).render(
            t=t,
            page_id=page_id,
            other_locale=other,
            lang_url=self._lang_url(request, other),
            js_messages=js_messages,
            entity_label=lambda code: self.entity_label(t, code),
            attr_label=lambda key: self.attr_label(t, key),
            **context,
        )
        response = Response(html, status_code=status_code, media_type="text/html; charset=utf-8")
        response.headers["Content-Language"] = t.locale
        response.headers["Vary"] = "Accept-Language, Cookie"
        response.headers["Cache-Control"] = "no-cache"
        if explicit:
            response.set_cookie(
                COOKIE_NAME, t.locale, max_age=COOKIE_MAX_AGE, path="/", samesite="lax"
            )
        return response

    @staticmethod
    def attr_label(t: Translator, key: str) -> str:
        """``registrar.name`` → its own label, else its last part's (``name``), else itself."""
        plain = re.sub(r"\.\d+(?=\.|$)", "", key)
        found = t.messages.get(f"attr.{plain}")
        return found if found is not None else t.label("attr", plain.rsplit(".", 1)[-1])

    @staticmethod
    def entity_label(t: Translator, code: str) -> str:
        name = t.messages.get(f"entity_type.{code}")
        return f"{name} ({code})" if name else code

    def error_page(self, request: Request, status: int, message: str | None = None) -> Response:
        t, _ = self.locale_of(request)
        key = {404: "not_found", 400: "bad_request"}.get(status, "unavailable")
        return self.render(
            request,
            "error.html",
            "error",
            status_code=status,
            heading=t(f"error.{key}.heading"),
            message=message or t(f"error.{key}.message"),
        )

    # --- search ----------------------------------------------------------------------------------

    def search_page(self, request: Request) -> Response:
        from orgbook.verifier.search import SearchQuery, search

        t, _ = self.locale_of(request)
        params = request.query_params
        q = (params.get("q") or "").strip()
        jurisdiction = (params.get("jurisdiction") or "").strip()
        status = params.get("status") or ""
        status_filter: Literal["active", "inactive"] | None = (
            "active" if status == "active" else "inactive" if status == "inactive" else None
        )
        status = status_filter or ""
        entity_type = (params.get("entity_type") or "").strip()
        cursor = params.get("cursor") or None
        filters_active = sum(1 for f in (jurisdiction, status, entity_type) if f)
        context: dict[str, Any] = {
            "q": q,
            "jurisdiction": jurisdiction,
            "status": status,
            "entity_type": entity_type,
            "jurisdictions": JURISDICTIONS,
            "entity_types": ENTITY_TYPES,
            "filters_active": filters_active,
            "page": None,
            "error": None,
            "first_url": None,
            "next_url": None,
        }
        code = 200
        if q or filters_active or cursor or request.url.path == "/search":
            query = SearchQuery(
                text=q or None,
                jurisdiction=jurisdiction or None,
                status=status_filter,
                entity_type=entity_type or None,
                limit=PAGE_SIZE,
                cursor=cursor,
            )
            try:
                with get_engine(request).connect() as conn:
                    page = search(conn, query)
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
                    )
                    if v
                ]
                if cursor:
                    context["first_url"] = "/search?" + urlencode(base)
                if page.next_cursor:
                    context["next_url"] = "/search?" + urlencode(
                        [*base, ("cursor", page.next_cursor)]
                    )
        return self.render(request, "search.html", "search", status_code=code, **context)

    def suggestions(self, request: Request) -> Response:
        from orgbook.verifier.search import autocomplete

        t, _ = self.locale_of(request)
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
                    "url": "/organisations/" + _path_quote(s.org_id),
                }
                for s in found
            ],
        }
        return JSONResponse(
            body, headers={"Cache-Control": "public, max-age=30", "Vary": "Accept-Language, Cookie"}
        )

    # --- organisation ----------------------------------------------------------------------------

    def organisation_page(self, request: Request, org_id: str) -> Response:
        from orgbook.issuer.keys import list_issuers
        from orgbook.verifier.profiles import find_credential, organisation_profile

        t, _ = self.locale_of(request)
        try:
            with get_engine(request).connect() as conn:
                profile = organisation_profile(conn, org_id)
                documents = {
                    c.id: find_credential(conn, c.id).document for c in profile.credentials
                }
                issuer_names = {i.id: i.name for i in list_issuers(conn)}
        except NotFound:
            return self.error_page(request, 404, t("error.organisation_not_found", id=org_id[:200]))
        order = {"current": 0, "superseded": 2, "revoked": 3}
        views: list[CredentialView] = []
        for summary in sorted(
            profile.credentials, key=lambda c: (order.get(c.state, 1), c.type, c.effective)
        ):
            document = loads_strict(documents[summary.id])
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
        return self.render(
            request,
            "organisation.html",
            "organisation",
            org=profile,
            credentials=views,
            issuer_names=issuer_names,
        )

    # --- verify ----------------------------------------------------------------------------------

    def verify_form(self, request: Request) -> Response:
        return self.render(request, "verify.html", "verify", document="", report=None, error=None)

    async def verify_post(self, request: Request) -> Response:
        t, _ = self.locale_of(request)
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
        await form.close()
        engine = get_engine(request)
        registry = _registry_of(request)
        settings = self.settings
        try:
            if isinstance(credential_id, str) and credential_id and not text.strip():
                report = await run_in_threadpool(
                    _verify_stored, engine, registry, settings, credential_id
                )
                text = ""
            else:
                if not text.strip():
                    raise BadInput("empty", field="document")
                if len(text) > MAX_DOCUMENT_CHARS:
                    raise BadInput("too large", field="document")
                value = loads_strict(text.encode("utf-8"))
                report = await run_in_threadpool(_verify, engine, registry, settings, value)
        except NotFound:
            return self.error_page(request, 404, t("error.credential_not_found"))
        except OrgBookError as exc:
            message = _verify_error_message(t, exc, text)
            return self.render(
                request,
                "verify.html",
                "verify",
                status_code=400,
                document=text[:MAX_DOCUMENT_CHARS],
                report=None,
                error=message,
            )
        return self.render(
            request, "verify.html", "verify", document=text, report=report, error=None
        )

    # --- ledger ----------------------------------------------------------------------------------

    def ledger_page(self, request: Request) -> Response:
        from orgbook.ledger.note import Checkpoint, parse_note

        registry = _registry_of(request)
        if registry is None:
            return self.error_page(request, 503)
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
        return self.render(
            request,
            "ledger.html",
            "ledger",
            checkpoint=checkpoint,
            size=size,
            entries=entries,
            vkey=vkey,
        )

    # --- static ----------------------------------------------------------------------------------

    def static(self, request: Request, name: str) -> Response:
        found = self.assets.get(name)
        if found is None:
            return self.error_page(request, 404)
        body, media, etag = found
        headers = {
            "ETag": etag,
            "Cache-Control": IMMUTABLE if "v" in request.query_params else "no-cache",
        }
        if not_modified(request, etag):
            return Response(status_code=304, headers=headers)
        return Response(body, media_type=media, headers=headers)


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


def _registry_of(request: Request) -> Registry | None:
    registry = getattr(request.app.state, "registry", None)
    return registry if isinstance(registry, Registry) else None


def _verify(
    engine: Engine, registry: Registry | None, settings: Settings, value: Any
) -> dict[str, Any]:
    """What ``POST /api/v1/verify`` answers for ``value``, as its JSON object."""
    from orgbook.verifier import api

    if not isinstance(value, dict):
        raise BadInput("a credential or a bundle is a JSON object", field="")
    ctx = api._gather(engine, registry, settings, value)  # the API's own gathering
    keys = registry.ledger.verifiers if registry is not None else ()
    out = api.verify_value(value, ctx, ledger_keys=keys, now=datetime.now(UTC))
    report: dict[str, Any] = out.model_dump(mode="json", by_alias=True)
    return report


def _verify_stored(
    engine: Engine, registry: Registry | None, settings: Settings, credential_id: str
) -> dict[str, Any]:
    """Verify a credential this registry issued (the no-JavaScript Verify button)."""
    from orgbook.verifier.profiles import find_credential

    with engine.connect() as conn:
        document = find_credential(conn, credential_id[:200]).document
    return _verify(engine, registry, settings, loads_strict(document))


def _verify_error_message(t: Translator, exc: OrgBookError, text: str) -> str:
    if not text.strip():
        return t("verify.error.empty")
    if exc.field == "document":
        return t("verify.error.too_large")
    detail = getattr(exc, "detail", "") or ""
    return t("verify.error.unusable", detail=detail)


def router(settings: Settings) -> APIRouter:
    """The web page's routes (not in the OpenAPI document: they are HTML, not the API)."""
    pages = WebPages(settings)
    web = APIRouter(include_in_schema=False)

    def get(path: str, handler: Callable[..., Any], *, limited: bool = True) -> None:
        web.add_api_route(
            path,
            handler,
            methods=["GET"],
            response_class=Response,
            dependencies=[rate_limited("read")] if limited else [],
        )

    def home(request: Request) -> Response:
        return pages.search_page(request)

    def suggest(request: Request) -> Response:
        return pages.suggestions(request)

    def organisation(request: Request, org_id: str) -> Response:
        return pages.organisation_page(request, org_id)

    def verify_form(request: Request) -> Response:
        return pages.verify_form(request)

    async def verify_post(request: Request) -> Response:
        return await pages.verify_post(request)

    def ledger(request: Request) -> Response:
        return pages.ledger_page(request)

    def static(request: Request, name: str) -> Response:
        return pages.static(request, name)

    get("/", home)
    get("/search", home)
    get("/search/suggest", suggest)
    get("/organisations/{org_id:path}", organisation)
    get("/verify", verify_form)
    web.add_api_route(
        "/verify",
        verify_post,
        methods=["POST"],
        response_class=Response,
        dependencies=[rate_limited("verify")],
    )
    get("/ledger", ledger)
    get("/static/{name}", static, limited=False)
    return web
