"""The web page as a browser without JavaScript sees it: server-rendered HTML, in two languages.

Runs against a generated registry (``web_registry``) through the whole application
(``create_app``: middleware, problem handlers, the API the pages share their code with).
"""

from __future__ import annotations

import copy
import html
import json
import re
from datetime import date
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from fastapi.testclient import TestClient

from orgbook.app import create_app
from orgbook.core.credentials import CredentialType
from orgbook.runtime.registry import Registry
from orgbook.verification.bundle_checks import LEDGER_CHECK_NAMES
from orgbook.verification.credential import CHECK_NAMES
from orgbook.verifier import pages, web
from orgbook.verifier.i18n import (
    NNBSP,
    catalogue,
    format_date,
    format_datetime,
    format_number,
    negotiate,
    parse_accept_language,
    translator,
)
from tests.factories import add_issuers, issue, new_registry

TEMPLATES = Path(web.__file__).parent / "templates"
STATIC = Path(web.__file__).parent / "static"


def text_of(page: str) -> str:
    """The visible text of the <main> element, tags stripped, whitespace collapsed."""
    main = page[page.index("<main") : page.index("</main>")]
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", main))).strip()


def hrefs(page: str, pattern: str) -> list[str]:
    return [html.unescape(h) for h in re.findall(r'href="([^"]*)"', page) if re.search(pattern, h)]


def first_org_link(page: str) -> str:
    return hrefs(page, r"^/organisations/")[0]


# --- search without JavaScript ------------------------------------------------------------------


def test_home_is_a_search_form_that_works_without_javascript(client: TestClient) -> None:
    r = client.get("/", headers={"Accept-Language": "en"})
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/html")
    page = r.text
    assert '<html lang="en">' in page
    assert re.search(r'<form[^>]*role="search"[^>]*method="get"[^>]*action="/search"', page)
    assert '<label for="q">' in page
    assert 'id="q" name="q"' in page
    # landmarks and the skip link
    for landmark in ("<header", "<nav", '<main id="main"', "<footer"):
        assert landmark in page
    assert '<a class="skip-link" href="#main">Skip to main content</a>' in page
    # the combobox roles are added by the script, not promised to browsers without it
    assert 'role="combobox"' not in page


def test_search_finds_accented_names_without_accents(client: TestClient) -> None:
    r = client.get("/search", params={"q": "societe", "lang": "en"})
    assert r.status_code == 200
    text = text_of(r.text)
    assert "Société" in text
    assert re.search(r"\d+ organisations?", text)
    link = first_org_link(r.text)
    assert client.get(link).status_code == 200


def test_search_results_show_number_jurisdiction_status_badge(client: TestClient) -> None:
    r = client.get("/search", params={"q": "soci", "lang": "en"})
    page = r.text
    results = re.findall(
        r'<li class="result">(.*?)</li>\s*(?=<li class="result">|</ol>)', page, re.S
    )
    assert results
    for item in results:
        assert "Registration number" in item
        assert "Jurisdiction" in item
        badge = re.search(r'<span class="badge status-([a-z-]+)">(.*?)</span>\s*$', item, re.M)
        assert badge is not None
        # status is conveyed in words, not only by colour
        word = re.sub(r"<[^>]+>", "", badge.group(2)).strip(" ✓■")
        assert word in {"Active", "Dissolved", "Amalgamated", "Continued out", "Cancelled"}


def test_search_shows_the_former_name_that_matched(
    client: TestClient, web_registry: Registry
) -> None:
    from orgbook.search import SearchQuery, search
    from orgbook.verifier.profiles import organisation_profile

    with web_registry.engine.connect() as conn:
        listing = search(conn, SearchQuery(text=None, limit=100)).hits
        former = None
        for hit in listing:
            names = organisation_profile(conn, hit.org_id).names
            old = [n.name for n in names if not n.current and n.name != hit.name]
            if old and not re.match(r"^\d", old[0]):
                former = old[0]
                break
    assert former is not None, "the generated registry has name changes"
    r = client.get("/search", params={"q": former, "lang": "en"})
    assert "Former or other name:" in r.text
    assert f"<mark>{html.escape(former, quote=True)}</mark>" in r.text


def test_filters_narrow_results_and_stay_selected(client: TestClient) -> None:
    r = client.get("/search", params={"jurisdiction": "CA-NS", "status": "active", "lang": "en"})
    assert r.status_code == 200
    page = r.text
    assert '<option value="CA-NS" selected>' in page
    assert '<option value="active" selected>' in page
    assert '<details class="filters" open>' in page
    items = re.findall(r'<li class="result">(.*?)</li>', page, re.S)
    assert items
    # Every result's jurisdiction is Nova Scotia (names may mention anywhere, e.g. "… of British
    # Columbia Ltd.": look at the jurisdiction field only).
    places = [re.search(r"Jurisdiction</dt><dd>(.*?)</dd>", item, re.S) for item in items]
    assert all(place is not None and place.group(1) == "Nova Scotia" for place in places)
    assert "Canada (federal)" not in items[0]
    assert "Nova Scotia" in items[0]
    assert "Dissolved" not in items[0]
    r = client.get("/search", params={"entity_type": "S", "lang": "en"})
    facts = re.findall(r"<dt>Entity type</dt><dd>(.*?)</dd>", r.text)
    assert facts
    assert all(f == "Society (S)" for f in facts)


def test_pagination_is_by_cursor_links(client: TestClient) -> None:
    first = client.get("/search", params={"lang": "en"})
    assert first.status_code == 200
    next_links = hrefs(first.text, r"^/search\?.*cursor=")
    assert len(next_links) == 1
    assert 'rel="next"' in first.text
    query = parse_qs(urlsplit(next_links[0]).query)
    assert set(query) == {"cursor"}  # no offset, no page number
    second = client.get(next_links[0])
    assert second.status_code == 200
    names_1 = set(re.findall(r'<h3 class="result-name"><a [^>]+>(.*?)</a>', first.text))
    names_2 = set(re.findall(r'<h3 class="result-name"><a [^>]+>(.*?)</a>', second.text))
    assert names_1
    assert names_2
    assert not names_1 & names_2
    assert "First page" in second.text
    assert hrefs(second.text, r"^/search$|^/search\?$")


def test_pagination_keeps_the_query_and_filters(client: TestClient) -> None:
    r = client.get("/search", params={"q": "inc", "jurisdiction": "CA-BC", "lang": "en"})
    links = hrefs(r.text, r"cursor=")
    if links:  # few enough hits fit on one page
        query = parse_qs(urlsplit(links[0]).query)
        assert query["q"] == ["inc"]
        assert query["jurisdiction"] == ["CA-BC"]


def test_bad_cursor_is_an_html_error_in_the_readers_language(client: TestClient) -> None:
    r = client.get("/search", params={"q": "soci", "cursor": "not-a-cursor", "lang": "fr"})
    assert r.status_code == 400
    assert r.headers["content-type"].startswith("text/html")
    assert "Recommencez à la première page" in r.text
    assert 'role="alert"' in r.text


def test_too_long_search_text_is_explained(client: TestClient) -> None:
    r = client.get("/search", params={"q": "x" * 300, "lang": "en"})
    assert r.status_code == 400
    assert "at most 200 characters" in r.text


def test_no_results_says_so(client: TestClient) -> None:
    r = client.get("/search", params={"q": "zzzqqqxxyy", "lang": "en"})
    assert r.status_code == 200
    assert "No organisation matches" in r.text
    assert "0 organisations" in text_of(r.text)


# --- languages ----------------------------------------------------------------------------------


def test_french_labels_and_lang_attribute(client: TestClient) -> None:
    r = client.get("/search", params={"q": "soci", "lang": "fr"})
    page = r.text
    assert '<html lang="fr">' in page
    assert r.headers["content-language"] == "fr"
    for label in ("Rechercher des organisations", "Numéro d’enregistrement", "Compétence"):
        assert label in page
    assert "Registration number" not in page
    # the toggle leads back to English with the same query
    toggle = re.search(r'<a class="lang-toggle" href="([^"]+)"[^>]*lang="en">English</a>', page)
    assert toggle is not None
    query = parse_qs(urlsplit(html.unescape(toggle.group(1))).query)
    assert query == {"q": ["soci"], "lang": ["en"]}


def test_lang_choice_is_remembered_in_a_cookie(web_app: Any) -> None:
    with TestClient(web_app) as fresh:
        r = fresh.get("/ledger", params={"lang": "fr"})
        cookie = r.headers["set-cookie"]
        assert "orgbook_lang=fr" in cookie
        assert "Path=/" in cookie
        assert "SameSite=lax" in cookie
        again = fresh.get("/verify", headers={"Accept-Language": "en"})
        assert '<html lang="fr">' in again.text
        back = fresh.get("/verify", params={"lang": "en"})
        assert '<html lang="en">' in back.text
        assert '<html lang="en">' in fresh.get("/ledger").text


def test_accept_language_negotiation(web_app: Any) -> None:
    with TestClient(web_app) as fresh:
        fr = fresh.get("/", headers={"Accept-Language": "fr-CA,fr;q=0.9,en;q=0.5"})
        assert '<html lang="fr">' in fr.text
        assert "set-cookie" not in fr.headers  # only an explicit choice is remembered
        en = fresh.get("/", headers={"Accept-Language": "de-DE, en;q=0.8, fr;q=0.3"})
        assert '<html lang="en">' in en.text
        default = fresh.get("/", headers={"Accept-Language": "de"})
        assert '<html lang="en">' in default.text
        assert "Accept-Language" in fr.headers["vary"]


def test_negotiation_rules() -> None:
    assert negotiate("fr", "en", "en") == ("fr", True)
    assert negotiate("xx", "fr", "en") == ("fr", False)
    assert negotiate(None, None, "fr-CA;q=0.2, en-GB;q=0.9") == ("en", False)
    assert negotiate(None, "de", None) == ("en", False)
    assert parse_accept_language("fr;q=0, en") == ["en"]
    assert parse_accept_language("fr;q=abc, en;q=0.1") == ["en"]


def test_dates_and_numbers_per_locale() -> None:
    assert format_date("2026-11-23", "fr") == "23 novembre 2026"
    assert format_date("2026-11-01", "fr") == "1er novembre 2026"
    assert format_date("2026-02-03T10:00:00Z", "en") == "February 3, 2026"
    assert format_date(date(2026, 8, 15), "fr") == "15 août 2026"
    assert format_date("not a date", "fr") == "not a date"
    assert format_datetime("2026-11-23T16:06:23Z", "fr") == "23 novembre 2026, 16 h 06 UTC"
    assert format_datetime("2026-11-23T16:06:23Z", "en") == "November 23, 2026, 16:06 UTC"
    assert format_number(1234, "fr") == f"1{NNBSP}234"
    assert format_number(1234567, "fr") == f"1{NNBSP}234{NNBSP}567"
    assert format_number(1234, "en") == "1,234"
    assert format_number(-1234.5, "fr") == f"-1{NNBSP}234,50"
    assert format_number(999, "fr") == "999"


def test_plurals() -> None:
    fr, en = translator("fr"), translator("en")
    assert fr.plural("search.results", 1) == "1 organisation"
    assert fr.plural("search.results", 0) == "0 organisation"
    assert en.plural("search.results", 0) == "0 organisations"
    assert fr.plural("search.results", 1234) == f"1{NNBSP}234 organisations"


def test_french_dates_and_numbers_on_pages(client: TestClient) -> None:
    r = client.get("/ledger", params={"lang": "fr"})
    size = re.search(r"<dt>Taille \(entrées\)</dt><dd>([^<]+)</dd>", r.text)
    assert size is not None
    assert NNBSP in size.group(1)
    months = "janvier|février|mars|avril|mai|juin|juillet|août|septembre|octobre|novembre|décembre"
    assert re.search(rf"\b(1er|\d{{1,2}}) ({months}) \d{{4}}, \d{{1,2}} h \d\d UTC", r.text)


# --- translations are complete ------------------------------------------------------------------


def test_locale_files_have_the_same_keys_and_placeholders() -> None:
    en, fr = catalogue("en"), catalogue("fr")
    assert set(en) == set(fr)
    for key in en:
        assert set(re.findall(r"\{(\w+)\}", en[key])) == set(re.findall(r"\{(\w+)\}", fr[key])), key
        assert en[key].strip(), key
        assert fr[key].strip(), key


def _used_keys() -> set[str]:
    sources = [p.read_text(encoding="utf-8") for p in TEMPLATES.glob("*.html")]
    sources += [Path(m.__file__).read_text(encoding="utf-8") for m in (web, pages)]
    keys: set[str] = set()
    for source in sources:
        keys |= set(re.findall(r"""\bt\(\s*["']([a-z_.]+)["']""", source))
        keys |= {f"{k}.one" for k in re.findall(r"""\bt\.plural\(\s*["']([a-z_.]+)["']""", source)}
        keys |= {
            f"{k}.other" for k in re.findall(r"""\bt\.plural\(\s*["']([a-z_.]+)["']""", source)
        }
    js = (STATIC / "app.js").read_text(encoding="utf-8")
    keys |= set(re.findall(r"""\bt\(\s*["']([a-z_.]+)["']""", js))
    for base in re.findall(r"""\bplural\(\s*["']([a-z_.]+)["']""", js):
        keys |= {f"{base}.one", f"{base}.other"}
    return keys


def test_every_message_used_exists_in_both_languages() -> None:
    used = _used_keys()
    assert len(used) > 80
    for locale in ("en", "fr"):
        missing = sorted(k for k in used if k not in catalogue(locale))
        assert not missing, f"{locale}: {missing}"


def test_every_vocabulary_value_has_a_label() -> None:
    groups: dict[str, list[str]] = {
        "status": ["active", "dissolved", "amalgamated", "continued-out", "cancelled", "inactive"],
        "credential_type": [t.slug for t in CredentialType],
        "check": [*CHECK_NAMES, *LEDGER_CHECK_NAMES, "bundle"],
        "outcome": ["pass", "fail", "skip"],
        "state": ["current", "superseded", "revoked", "suspended"],
        "event": ["issued", "superseded", "revoked", "suspended", "unsuspended"],
        "jurisdiction": list(pages.JURISDICTIONS),
        "entity_type": list(pages.ENTITY_TYPES),
        "address_type": ["registered", "mailing", "delivery", "records"],
        "entry_kind": [
            "issuer.registered",
            "issuer.key.added",
            "issuer.key.retired",
            "credential.issued",
            "credential.superseded",
            "credential.revoked",
            "credential.suspended",
            "credential.unsuspended",
        ],
    }
    rel = [
        "parent-of",
        "subsidiary-of",
        "doing-business-as",
        "amalgamated-into",
        "amalgamated-from",
    ]
    groups["rel_outgoing"] = rel
    groups["rel_incoming"] = rel
    for locale in ("en", "fr"):
        messages = catalogue(locale)
        missing = [f"{g}.{v}" for g, values in groups.items() for v in values]
        assert [k for k in missing if k not in messages] == [], locale


class _TextCollector(HTMLParser):
    """Text and human-facing attributes of a template with its Jinja parts removed."""

    HUMAN_ATTRS = ("aria-label", "title", "placeholder", "alt", "content")

    def __init__(self) -> None:
        super().__init__()
        self.found: list[str] = []
        self.stack: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in ("br", "meta", "link", "input", "img"):
            self.stack.append(tag)
        for name, value in attrs:
            if tag == "meta" and name == "content" and ("name", "viewport") in attrs:
                continue  # a directive to the browser, not text
            if name in self.HUMAN_ATTRS and value and re.search(r"[^\W\d_]", value):
                self.found.append(f"{tag}[{name}]={value!r}")

    def handle_endtag(self, tag: str) -> None:
        if tag in self.stack:
            while self.stack and self.stack.pop() != tag:
                pass

    def handle_data(self, data: str) -> None:
        if "code" in self.stack or "script" in self.stack or "style" in self.stack:
            return  # commands and data blocks are not prose
        if re.search(r"[^\W\d_]", data):
            self.found.append(data.strip())


@pytest.mark.parametrize("template", sorted(p.name for p in TEMPLATES.glob("*.html")))
def test_no_template_text_is_untranslated(template: str) -> None:
    source = (TEMPLATES / template).read_text(encoding="utf-8")
    stripped = re.sub(r"\{\{.*?\}\}|\{%.*?%\}|\{#.*?#\}", " ", source, flags=re.S)
    stripped = stripped.replace("&nbsp;", " ")
    collector = _TextCollector()
    collector.feed(stripped)
    assert collector.found == []


# --- organisation page --------------------------------------------------------------------------


def _org_with_history(client: TestClient, web_registry: Registry) -> tuple[str, Any]:
    """An organisation with a former name and relationships in both directions if any."""
    from orgbook.search import SearchQuery, search
    from orgbook.verifier.profiles import organisation_profile

    with web_registry.engine.connect() as conn:
        best = None
        for hit in search(conn, SearchQuery(text=None, limit=100)).hits:
            profile = organisation_profile(conn, hit.org_id)
            score = (
                any(not n.current for n in profile.names)
                + len({r.direction for r in profile.relationships})
                + bool(profile.addresses)
            )
            if best is None or score > best[0]:
                best = (score, profile)
    assert best is not None
    return best[1].id, best[1]


def test_organisation_page(client: TestClient, web_registry: Registry) -> None:
    org_id, profile = _org_with_history(client, web_registry)
    r = client.get(f"/organisations/{org_id}", params={"lang": "en"})
    assert r.status_code == 200
    page = r.text
    assert f"<h1>{html.escape(profile.name, quote=True)}</h1>" in page
    assert "Current name" in page
    assert "Former name" in page
    assert re.search(r"[A-Z][a-z]+ \d{1,2}, \d{4} to [A-Z][a-z]+ \d{1,2}, \d{4}", page)
    for rel in profile.relationships:
        assert f'href="/organisations/{rel.organisation_id}"' in page
    # every credential is a card with its state in words, its details, bundle and verify
    cards = re.findall(r'<li class="card card-([a-z-]+)"', page)
    assert len(cards) == len(profile.credentials)
    assert page.count('<details class="card-details">') == len(profile.credentials)
    assert page.count('<form method="post" action="/verify" class="verify-form"') == len(cards)
    for credential in profile.credentials:
        assert f'href="/api/v1/credentials/{credential.id}/bundle"' in page
    assert "Superseded" in page
    assert "Current" in page
    en = translator("en")
    for address in profile.addresses:
        assert f"<h3>{en.label('address_type', address.address_type)}</h3>" in page
    # raw JSON, escaped
    assert "&#34;@context&#34;" in page or "&quot;@context&quot;" in page


def test_organisation_page_in_french(client: TestClient, web_registry: Registry) -> None:
    org_id, _ = _org_with_history(client, web_registry)
    r = client.get(f"/organisations/{org_id}", params={"lang": "fr"})
    assert '<html lang="fr">' in r.text
    for label in ("Ancien nom", "Attestations", "Vérifier", "Télécharger le dossier de preuve"):
        assert label in r.text
    assert re.search(r"Du (1er|\d{1,2}) [a-zéû]+ \d{4} au", r.text)


def test_unknown_organisation_is_an_html_404_in_french(client: TestClient) -> None:
    r = client.get("/organisations/CA-BC:BC0000000", params={"lang": "fr"})
    assert r.status_code == 404
    assert r.headers["content-type"].startswith("text/html")
    assert '<html lang="fr">' in r.text
    assert "Page introuvable" in r.text
    assert "CA-BC:BC0000000" in r.text
    api = client.get("/api/v1/organisations/CA-BC:BC0000000")
    assert api.headers["content-type"] == "application/problem+json"  # the API keeps its format


# --- hostile names ------------------------------------------------------------------------------


HOSTILE = '<script>alert("x")</script> & <img src=x onerror=alert(1)> Ltd.'


@pytest.fixture(scope="module")
def hostile_client(tmp_path_factory: pytest.TempPathFactory) -> Any:
    registry = new_registry(tmp_path_factory.mktemp("hostile"))
    add_issuers(registry)
    issue(
        registry,
        [
            {
                "event_id": "hostile-1",
                "kind": "registration",
                "jurisdiction": "CA-BC",
                "registration_number": "BC9999999",
                "effective_date": "2020-01-02",
                "name": HOSTILE,
                "entity_type": "BC",
            }
        ],
    )
    with registry.engine.begin() as conn:
        registry.ledger.sign_checkpoint(conn)
    with TestClient(create_app(registry.settings, registry=registry)) as client:
        yield client
    registry.close()


def test_hostile_names_are_escaped(hostile_client: TestClient) -> None:
    for url in ("/search?q=script", "/organisations/CA-BC:BC9999999"):
        r = hostile_client.get(url)
        assert r.status_code == 200, url
        assert "<script>alert" not in r.text
        assert "<img src=x" not in r.text
        assert "&lt;script&gt;alert(" in r.text
    suggest = hostile_client.get("/search/suggest", params={"q": "script"}).json()
    assert suggest["suggestions"][0]["name"] == HOSTILE  # JSON, rendered with textContent


def test_hostile_query_is_escaped(client: TestClient) -> None:
    q = '"><script>alert(1)</script>'
    r = client.get("/search", params={"q": q})
    assert "<script>alert(1)" not in r.text
    assert 'value="&#34;&gt;&lt;script&gt;' in r.text or 'value="&quot;&gt;&lt;script' in r.text


def test_i18n_data_block_cannot_close_its_script() -> None:
    assert "<" not in pages._json_script({"x": "</script><script>alert(1)</script>"})


def test_pages_have_no_inline_script_and_a_csp(client: TestClient) -> None:
    r = client.get("/search", params={"q": "soci"})
    assert "default-src 'self'" in r.headers["content-security-policy"]
    for tag in re.findall(r"<script[^>]*>", r.text):
        assert 'src="/static/' in tag or 'type="application/json"' in tag
    assert " style=" not in r.text
    assert "onclick" not in r.text


# --- verify page --------------------------------------------------------------------------------


def _a_credential(client: TestClient, web_registry: Registry) -> dict[str, Any]:
    _org_id, profile = _org_with_history(client, web_registry)
    current = next(c for c in profile.credentials if c.state == "current")
    body: dict[str, Any] = client.get(f"/api/v1/credentials/{current.id}").json()
    return body


def test_verify_form_without_javascript(client: TestClient, web_registry: Registry) -> None:
    page = client.get("/verify", params={"lang": "en"}).text
    assert 'enctype="multipart/form-data"' in page
    assert '<textarea id="document"' in page
    credential = _a_credential(client, web_registry)
    r = client.post("/verify", data={"document": json.dumps(credential)})
    assert r.status_code == 200
    assert "Valid: every check passed" in r.text
    assert re.search(r"Recorded in the ledger as entry [\d,]+, under the signed checkpoint", r.text)
    assert r.text.count('class="check check-pass"') >= 9
    assert 'class="check check-fail"' not in r.text


def test_verify_upload_of_a_bundle(client: TestClient, web_registry: Registry) -> None:
    credential = _a_credential(client, web_registry)
    bundle = client.get(f"/api/v1/credentials/{credential['id']}/bundle").content
    r = client.post(
        "/verify",
        data={"document": ""},
        files={"file": ("bundle.json", bundle, "application/json")},
    )
    assert r.status_code == 200
    assert "Valid: every check passed" in r.text


def test_verify_a_tampered_credential_in_french(client: TestClient, web_registry: Registry) -> None:
    credential = copy.deepcopy(_a_credential(client, web_registry))
    subject = credential["credentialSubject"]
    key = next(k for k, v in subject.items() if isinstance(v, str) and k not in ("id", "type"))
    subject[key] = subject[key] + " (altered)"
    r = client.post("/verify", data={"document": json.dumps(credential)}, params={"lang": "fr"})
    assert r.status_code == 200
    assert "Non valide" in r.text
    failed = re.search(
        r'<li class="check check-fail">\s*<span class="check-outcome">.*?Échouée</span>\s*'
        r'<span class="check-name">Signature</span>\s*'
        r'<span class="check-reason">(.+?)</span>\s*<details class="check-more">'
        r'<summary>[^<]+</summary><span lang="en">(.+?)</span>',
        r.text,
        re.S,
    )
    assert failed is not None
    assert failed.group(1).startswith("La signature ne correspond pas")  # in French
    assert failed.group(2).strip()  # the technical reason, in English, folded away


def test_verify_stored_credential_button_without_javascript(
    client: TestClient, web_registry: Registry
) -> None:
    credential = _a_credential(client, web_registry)
    r = client.post("/verify", data={"credential_id": credential["id"]}, params={"lang": "en"})
    assert r.status_code == 200
    assert "Valid: every check passed" in r.text


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ("", "Paste a credential or a bundle"),
        ("{not json", "not a credential or a bundle that can be verified"),
        ("[1, 2]", "not a credential or a bundle that can be verified"),
        ('{"hello": "world"}', "not a credential or a bundle that can be verified"),
    ],
)
def test_verify_unusable_input(client: TestClient, document: str, message: str) -> None:
    r = client.post("/verify", data={"document": document}, params={"lang": "en"})
    assert r.status_code == 400
    assert r.headers["content-type"].startswith("text/html")
    assert message in r.text
    assert 'role="alert"' in r.text


# --- ledger page --------------------------------------------------------------------------------


def test_ledger_page(client: TestClient, web_registry: Registry) -> None:
    with web_registry.engine.connect() as conn:
        note = web_registry.ledger.latest_checkpoint(conn)
        size = web_registry.ledger.size(conn)
    assert note is not None
    r = client.get("/ledger", params={"lang": "en"})
    assert r.status_code == 200
    page = r.text
    assert html.escape(note.splitlines()[2], quote=True) in page  # the root line of the note
    assert f"{size:,}" in page
    rows = re.findall(r"<tr>\s*<td data-label=\"Entry\">([\d,]+)</td>", page)
    assert len(rows) == min(size, web.RECENT_ENTRIES)
    assert rows[0] == f"{size - 1:,}"  # newest first
    assert "Credential issued" in page or "Credential superseded" in page
    assert 'id="audit"' in page
    assert "orgbook ledger audit" in page
    assert web_registry.ledger.verifiers[0].vkey() in page


# --- assets and suggestions ---------------------------------------------------------------------


def test_static_assets_are_cached_and_revalidated(client: TestClient) -> None:
    page = client.get("/").text
    css = re.search(r'href="(/static/app\.css\?v=[0-9a-f]+)"', page)
    assert css is not None
    r = client.get(css.group(1))
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/css")
    assert "immutable" in r.headers["cache-control"]
    again = client.get(css.group(1), headers={"If-None-Match": r.headers["etag"]})
    assert again.status_code == 304
    assert client.get("/static/../web.py").status_code == 404
    assert client.get("/static/nothing.js").status_code == 404


def test_suggestions_json(client: TestClient) -> None:
    r = client.get("/search/suggest", params={"q": "soci", "lang": "fr"})
    assert r.status_code == 200
    suggestions = r.json()["suggestions"]
    assert suggestions
    assert len(suggestions) <= 8
    first = suggestions[0]
    assert set(first) >= {"orgId", "name", "registrationNumber", "jurisdiction", "statusLabel"}
    assert first["url"] == "/organisations/" + first["orgId"]
    assert first["statusLabel"] in {"Active", "Dissoute", "Fusionnée", "Prorogée à l’extérieur"}
    assert client.get("/search/suggest", params={"q": ""}).json()["suggestions"] == []


def test_filters_show_counts_only_for_values_with_organisations(client: TestClient) -> None:
    r = client.get("/search", params={"q": "ltd", "lang": "en"})
    assert r.status_code == 200
    options = re.findall(r'<option value="([^"]+)"[^>]*>[^<(]*\((\d+)\)</option>', r.text)
    assert options, "every listed value has a count"
    assert "Numbers in brackets" in r.text
    counted = dict(options)
    assert "CA-YT" not in counted  # no organisation in the Yukon: not listed
    for value, count in options:
        if value.startswith("CA"):
            chosen = client.get("/search", params={"q": "ltd", "jurisdiction": value})
            heading = re.search(r'<h2 id="results-heading">(\d+) organisation', chosen.text)
            assert heading is not None
            assert heading.group(1) == count
    every = client.get("/search", params={"lang": "fr", "status": "dissolved"})
    assert '<option value="dissolved" selected>Dissoute' in every.text


@pytest.mark.parametrize(("lang", "register"), [("en", "British Columbia"), ("fr", "Colombie-")])
def test_the_register_is_named_not_shown_as_a_uri(lang: str, register: str) -> None:
    """A registration credential's ``schemeId`` names its register by a URI that need not
    resolve (``https://orgbook.example/registers/CA-BC``): people read the register's name."""
    credential = {
        "issuer": "did:web:registry.example:issuers:bc-registries",
        "credentialSubject": {
            "registeredId": "BC0460007",
            "schemeId": "https://orgbook.example/registers/CA-BC",
        },
    }
    rows = dict(pages.subject_attributes(credential, translator(lang)))
    assert rows["schemeId"].startswith(register)
    assert rows["registeredId"] == "BC0460007"
