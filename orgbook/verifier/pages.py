"""The web page's rendering: Jinja templates, static assets, the reader's locale, page models.

What it owns: the template environment (``templates/``) and its filters, the static asset table
(``static/``, with content-hashed URLs), picking the locale (:mod:`.i18n`) and rendering a page in
it (language cookie, ``Content-Language``, the messages the script needs), the HTML error page,
the page models and the formatting of a credential's claims for a reader
(:func:`subject_attributes`), and the filter choices the search form offers.

What it must not do: route, query or verify (:mod:`orgbook.verifier.web` does the pages'
handling). It reads nothing but the package's data files.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlencode

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from markupsafe import Markup
from starlette.requests import Request
from starlette.responses import Response

from orgbook.core.datafiles import data_path
from orgbook.http.caching import etag_for
from orgbook.verifier.i18n import COOKIE_NAME, LOCALES, Translator, negotiate, translator

__all__ = [
    "ENTITY_TYPES",
    "JURISDICTIONS",
    "CheckpointView",
    "CredentialView",
    "EntryView",
    "WebPages",
    "subject_attributes",
    "web_pages",
]

STATIC_TYPES = {".css": "text/css; charset=utf-8", ".js": "text/javascript; charset=utf-8"}
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
_SCHEME = re.compile(r"https?://\S+/registers/([A-Z]{2}(?:-[A-Z0-9]{1,3})?)")
"""A registration credential's ``schemeId``: the register of a jurisdiction (a URI that names it;
it is shown as the jurisdiction's register, not as the URI)."""
_ATTRIBUTE_ORDER = (
    "id", "registeredName", "legalName", "language", "alternateNames", "registeredId",
    "registeredDate", "entityType", "jurisdiction", "homeJurisdiction", "registrar", "schemeId",
    "registerType", "status", "statusReason", "addressType", "streetAddress", "addressLocality",
    "addressRegion", "postalCode", "addressCountry", "relationshipType", "relatedOrganisation",
    "businessNumber", "programAccount", "effectiveDate", "endDate",
)  # fmt: skip
"""The order a reader expects a credential's claims in (the signed form sorts them by name)."""
_JS_GROUPS = ("js.", "check.", "check_reason.", "outcome.", "verify.")
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


def path_quote(value: object) -> str:
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
        elif leaf == "schemeId" and isinstance(value, str) and (scheme := _SCHEME.fullmatch(value)):
            text = t.label("jurisdiction", scheme.group(1))
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
    """Templates, assets and the page handlers' shared plumbing (one: :func:`web_pages`)."""

    def __init__(self) -> None:
        self.assets = _asset_table()
        self.env = Environment(
            loader=FileSystemLoader(data_path("verifier", "templates")),
            autoescape=select_autoescape(["html"]),
            undefined=StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
        )
        self.env.filters.update(
            pathq=path_quote,
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


@functools.cache
def web_pages() -> WebPages:
    """The process's :class:`WebPages`, made on first use (templates and assets load once)."""
    return WebPages()
