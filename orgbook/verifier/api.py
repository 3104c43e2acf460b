"""The public verifier API: search, profiles, credentials, bundles, verify, issuers, schemas.

What it owns: the routes (``router(settings)``, included by ``orgbook.app.create_app``), their
parameters, caching headers and OpenAPI descriptions. Routes are thin: queries live in
``orgbook.verifier.profiles`` and ``orgbook.verifier.search``, verification in
``orgbook.verify`` and ``orgbook.verifier.checks``; every error is an ``OrgBookError`` that the
shell turns into problem+json. The ledger's own routes are in ``orgbook.verifier.ledger_api``.

``POST /api/v1/verify`` answers 200 with a report for anything that is a credential or a bundle,
valid or not; unusable bodies (not JSON, not an object, too deep, neither a credential nor a
bundle, a bundle whose structure is broken) are 4xx problems. It never fetches anything from the
network: keys come from the ledger and this registry's issuers, status lists from its database.
"""

from __future__ import annotations

import contextlib
import threading
import weakref
from collections import OrderedDict
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query, Request
from sqlalchemy import Connection, Engine
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from orgbook.canonical import canonicalize, loads_strict
from orgbook.config import Settings
from orgbook.db import is_sqlite, read_only, reading
from orgbook.did import LocalResolver
from orgbook.errors import BadInput, NotFound, OrgBookError, UnsupportedMediaType
from orgbook.http.caching import cached_json
from orgbook.http.deps import EngineDep, SettingsDep, get_engine, get_settings_dep
from orgbook.http.problems import PROBLEM_MEDIA_TYPE
from orgbook.http.ratelimit import rate_limited
from orgbook.ledger.note import Checkpoint, parse_note
from orgbook.registry import Registry
from orgbook.verifier import profiles
from orgbook.verifier.bundle import is_bundle, parse_bundle, parse_tlog_proof
from orgbook.verifier.checks import verify_bundle
from orgbook.verifier.models import (
    CheckOut,
    IssuerOut,
    IssuersOut,
    OrganisationOut,
    SearchPageOut,
    SuggestionsOut,
    VerifyReportOut,
)
from orgbook.verify import Report, verify_credential

__all__ = ["router"]

PROFILE_MAX_AGE = 60
SEARCH_MAX_AGE = 30
STATUS_LIST_MAX_AGE = 60
DID_MAX_AGE = 300

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


def _registry(request: Request) -> Registry | None:
    registry = getattr(request.app.state, "registry", None)
    return registry if isinstance(registry, Registry) else None


def _now() -> datetime:
    return datetime.now(UTC)


# --- verification, with what this registry knows --------------------------------------------


class _Remembered:
    """What a verifier process keeps between verifications: only what cannot change.

    A credential's bundle under a given signed checkpoint, and a consistency proof between two
    given trees, are immutable (the ledger is append-only and the keys name the trees by their
    signed note or roots), so they are kept (least recently used out first) and looked up with
    no query. What can change — the latest checkpoint, status lists — is read every time.
    """

    __slots__ = ("_bundles", "_lock", "_proofs", "capacity")

    def __init__(self, capacity: int = 4096) -> None:
        self.capacity = capacity
        self._bundles: OrderedDict[tuple[str, str], Mapping[str, Any]] = OrderedDict()
        self._proofs: OrderedDict[tuple[int, bytes, int, bytes], list[bytes]] = OrderedDict()
        self._lock = threading.Lock()

    def _get(self, table: OrderedDict[Any, Any], key: Any) -> Any:
        with self._lock:
            found = table.get(key)
            if found is not None:
                table.move_to_end(key)
            return found

    def _put(self, table: OrderedDict[Any, Any], key: Any, value: Any) -> None:
        with self._lock:
            table[key] = value
            while len(table) > self.capacity:
                table.popitem(last=False)

    def bundle(
        self, conn: Any, registry: Registry, credential_id: str, latest: str
    ) -> Mapping[str, Any] | None:
        """The credential's bundle under ``latest`` (the checkpoint read in this transaction)."""
        key = (credential_id, latest)
        found: Mapping[str, Any] | None = self._get(self._bundles, key)
        if found is None:
            try:
                found = profiles.bundle_for(conn, registry.ledger, credential_id)
            except NotFound:
                return None
            self._put(self._bundles, key, found)
        return found

    def consistency_proof(
        self, conn: Any, registry: Registry, stated: Checkpoint, newest: Checkpoint
    ) -> list[bytes]:
        key = (stated.size, stated.root, newest.size, newest.root)
        found: list[bytes] | None = self._get(self._proofs, key)
        if found is None:
            found = registry.ledger.consistency_proof(conn, stated.size, newest.size)
            self._put(self._proofs, key, found)
        return list(found)


class _HeldReader:
    """One SQLite connection kept for the verify route's reads.

    ``orgbook.db`` opens SQLite connections without a pool, and opening one (with its PRAGMAs)
    cost as much as the rest of a verification's reads. The verify route reads SQLite on the
    event loop, one request at a time, so it keeps one connection and starts a new read
    transaction (a new snapshot) on it per request. A request that finds it busy (another
    thread), or a connection that failed, falls back to a connection of its own.
    """

    __slots__ = ("__weakref__", "_held", "_lock")

    def __init__(self) -> None:
        self._held: list[tuple[Engine, Connection]] = []  # at most one
        self._lock = threading.Lock()
        weakref.finalize(self, _close_held, self._held)

    @contextmanager
    def reading(self, engine: Engine) -> Iterator[Connection]:
        if not self._lock.acquire(blocking=False):
            with reading(engine) as conn:
                yield conn
            return
        try:
            if self._held and self._held[0][0] is not engine:
                _close_held(self._held)
            if not self._held:
                self._held.append((engine, read_only(engine).connect()))
            conn = self._held[0][1]
            try:
                with conn.begin():
                    yield conn
            except BaseException:
                _close_held(self._held)  # not reused after a failure
                raise
        finally:
            self._lock.release()


def _close_held(held: list[tuple[Engine, Connection]]) -> None:
    while held:
        _, conn = held.pop()
        with contextlib.suppress(Exception):
            conn.close()


@dataclass(frozen=True, slots=True)
class _Context:
    """Everything a verification needs from the database, gathered in one thread-pool trip."""

    bundle: Mapping[str, Any] | None
    status: Mapping[str, Mapping[str, Any] | OrgBookError] | None
    latest: str | None
    consistency: list[bytes] | None
    documents: Mapping[str, Mapping[str, Any]]
    trusted: Mapping[str, frozenset[str]]  # issuer DID -> VC types
    key_entries: tuple[Any, ...] = ()  # the issuer's key history, proven under ``latest``
    status_entries: tuple[Any, ...] | None = None  # the ledger's status entries, likewise


def _gather(
    engine: Engine,
    registry: Registry | None,
    settings: Settings,
    value: Mapping[str, Any],
    remembered: _Remembered | None = None,
    reader: _HeldReader | None = None,
) -> _Context:
    """Everything the verification of ``value`` needs from the database: one read transaction,
    a query for the latest checkpoint and one for the status lists when the bundle and the
    consistency proof are already remembered. ``reader`` (SQLite, one thread) holds its
    connection between requests.

    A status list that had to be signed on the way is logged in a transaction of its own, which
    the read transaction does not see: then everything is read again, once, so the ledger's
    entries and the lists come from one snapshot.
    """
    ctx, signed_anew = _gather_once(engine, registry, settings, value, remembered, reader)
    if signed_anew:
        ctx, _ = _gather_once(engine, registry, settings, value, remembered, reader)
    return ctx


def _gather_once(
    engine: Engine,
    registry: Registry | None,
    settings: Settings,
    value: Mapping[str, Any],
    remembered: _Remembered | None,
    reader: _HeldReader | None,
) -> tuple[_Context, bool]:
    from orgbook.credentials import CredentialType
    from orgbook.issuer.keys import did_document, list_issuers

    remembered = remembered or _Remembered()
    bundle: Mapping[str, Any] | None = value if is_bundle(value) else None
    credential = value.get("credential") if bundle is not None else value
    credential = credential if isinstance(credential, Mapping) else {}
    latest: str | None = None
    consistency: list[bytes] | None = None
    documents: dict[str, Mapping[str, Any]] = {}
    trusted: dict[str, frozenset[str]] = {}
    key_entries: tuple[Any, ...] = ()
    status_entries: tuple[Any, ...] | None = None
    with reader.reading(engine) if reader is not None else reading(engine) as conn:
        if registry is not None:
            latest = registry.ledger.latest_checkpoint(conn)
            cid = credential.get("id")
            if latest is not None and isinstance(cid, str) and len(cid) <= 200:
                found = remembered.bundle(conn, registry, cid, latest)
                if found is not None:
                    # Keys are resolved from the ledger's key history as it stands now, so a
                    # status list signed after a rotation verifies against a bundle made before.
                    key_entries = tuple(found.get("issuerKeys", ()))
                    # Revocation is decided from the ledger's entries, not from editable rows.
                    status_entries = _status_entries(found)
                    if bundle is None:
                        # The presented credential is what is checked.
                        bundle = {**found, "credential": dict(credential)}
            if bundle is not None and latest is not None:
                consistency = _consistency_proof(conn, registry, bundle, latest, remembered)
        # Issuer documents and trust serve plain credentials this registry did not issue.
        for issuer in list_issuers(conn) if bundle is None else ():
            documents[issuer.did] = did_document(conn, issuer.id)
            trusted[issuer.did] = frozenset(
                CredentialType.from_slug(slug).vc_type for slug in issuer.credential_types
            )
        status, signed_anew = _status_lists(conn, engine, registry, settings, credential)
    ctx = _Context(
        bundle, status, latest, consistency, documents, trusted, key_entries, status_entries
    )
    return ctx, signed_anew


def _status_entries(bundle: Mapping[str, Any]) -> tuple[Any, ...] | None:
    """A bundle's ``status`` entries (logged list versions and the credential's status
    entries), or None when it has no ``status`` member."""
    status = bundle.get("status")
    if not isinstance(status, Mapping):
        return None
    return tuple(status.get("lists") or ()) + tuple(status.get("events") or ())


def _consistency_proof(
    conn: Any,
    registry: Registry,
    bundle: Mapping[str, Any],
    latest: str,
    remembered: _Remembered,
) -> list[bytes] | None:
    try:
        stated = Checkpoint.parse(parse_note(parse_tlog_proof(bundle.get("proof"))[2]).text)
        newest = Checkpoint.parse(parse_note(latest).text)
    except OrgBookError:
        return None
    if stated.origin != newest.origin or stated.size > newest.size:
        return None
    return remembered.consistency_proof(conn, registry, stated, newest)


def _status_lists(
    conn: Any,
    engine: Engine,
    registry: Registry | None,
    settings: Settings,
    credential: Mapping[str, Any],
) -> tuple[dict[str, Mapping[str, Any] | OrgBookError] | None, bool]:
    """This registry's status lists the credential names (None if any list is someone else's),
    and whether any had to be signed anew."""
    urls = list(profiles.status_urls(credential))
    base = settings.public_url.rstrip("/") + "/"
    if not urls or len(urls) > 8 or not all(url.startswith(base) for url in urls):
        return None, False
    found: dict[str, Mapping[str, Any] | OrgBookError] = {}
    signed = profiles.cached_status_lists(conn, urls, public_url=settings.public_url)
    signed_anew = False
    for url in urls:
        try:
            cached = signed.get(url)
            signed_anew = signed_anew or cached is None
            found[url] = cached or profiles.status_list_for_url(
                engine,
                url,
                public_url=settings.public_url,
                passphrase=registry.passphrase if registry else None,
                ledger=registry.ledger if registry else None,
            )
        except OrgBookError as exc:
            found[url] = exc
    return found, signed_anew


def _fetcher(
    status: Mapping[str, Mapping[str, Any] | OrgBookError] | None,
) -> Callable[[str], Mapping[str, Any]] | None:
    if status is None:
        return None

    def fetch(url: str) -> Mapping[str, Any]:
        found = status.get(url)
        if found is None:
            raise NotFound(f"status list {url} was not fetched")
        if isinstance(found, OrgBookError):
            raise found
        return found

    return fetch


def _report_out(report: Report, kind: Literal["credential", "bundle"], cid: Any) -> VerifyReportOut:
    return VerifyReportOut(
        valid=report.valid,
        kind=kind,
        credential_id=cid if isinstance(cid, str) else None,
        checks=[
            CheckOut(
                name=c.name,
                outcome=c.outcome,
                reason=c.reason,
                details=dict(c.details) if c.details else None,
            )
            for c in report.checks
        ],
    )


def _looks_like_credential(value: Mapping[str, Any]) -> bool:
    kinds = value.get("type")
    names = kinds if isinstance(kinds, list) else [kinds]
    return "@context" in value or "proof" in value or "VerifiableCredential" in names


def verify_value(value: Any, ctx: _Context, *, ledger_keys: Any, now: datetime) -> VerifyReportOut:
    """The report for a parsed body, given what the database said (pure, CPU only)."""
    if not isinstance(value, Mapping):
        raise BadInput("a credential or a bundle is a JSON object", field="")
    fetch = _fetcher(ctx.status)
    if is_bundle(value):
        parse_bundle(value)  # structure: BadInput naming the field at fault
        credential = value["credential"]
        report = verify_bundle(
            value,
            ledger_keys=ledger_keys,
            now=now,
            status_lists=fetch,
            newer_checkpoint=ctx.latest,
            consistency_proof=ctx.consistency,
            key_entries=ctx.key_entries,
            status_entries=ctx.status_entries,
        )
        return _report_out(report, "bundle", credential.get("id"))
    if not _looks_like_credential(value):
        raise BadInput(
            "neither a credential (@context, type VerifiableCredential, proof) nor a bundle "
            "(type OrgBookBundle)",
            field="/type",
        )
    if ctx.bundle is not None:
        report = verify_bundle(
            ctx.bundle,
            ledger_keys=ledger_keys,
            now=now,
            status_lists=fetch,
            newer_checkpoint=ctx.latest,
            consistency_proof=ctx.consistency,
            key_entries=ctx.key_entries,
            status_entries=ctx.status_entries,
        )
        return _report_out(report, "credential", value.get("id"))
    trusted = ctx.trusted

    def policy(issuer: str, vc_type: str) -> bool:
        return vc_type in trusted.get(issuer, frozenset())

    report = verify_credential(
        value,
        resolver=LocalResolver(ctx.documents),
        status_lists=fetch,
        now=now,
        trusted_issuers=policy,
    )
    return _report_out(report, "credential", value.get("id"))


# --- routes ---------------------------------------------------------------------------------


def router(settings: Settings) -> APIRouter:
    api = APIRouter()
    read = [rate_limited("read")]
    remembered = _Remembered()
    sqlite_reader = _HeldReader()

    @api.get(
        "/api/v1/organisations",
        tags=["organisations"],
        summary="Search organisations",
        description=(
            "By name (current, former or alternate; accent- and case-insensitive, prefix and "
            "typo-tolerant) or registration/business number, best matches first, with filters. "
            "Without `q`, every organisation in name order. Pages are stable: pass `nextCursor` "
            "as `cursor`."
        ),
        response_model=SearchPageOut,
        dependencies=read,
    )
    def search_organisations(
        request: Request,
        engine: EngineDep,
        q: Annotated[str | None, Query(max_length=200, examples=["prairie realty"])] = None,
        jurisdiction: Annotated[str | None, Query(max_length=16, examples=["CA-BC"])] = None,
        status: Annotated[Literal["active", "inactive"] | None, Query()] = None,
        entity_type: Annotated[str | None, Query(max_length=32, examples=["BC"])] = None,
        credential_type: Annotated[
            str | None, Query(max_length=32, examples=["relationship"])
        ] = None,
        issuer: Annotated[str | None, Query(max_length=64, examples=["bc-registries"])] = None,
        limit: Annotated[int, Query(ge=1, le=100)] = 20,
        cursor: Annotated[str | None, Query(max_length=500)] = None,
    ) -> Response:
        from orgbook.verifier.search import SearchQuery, search

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
            page = search(conn, query)
        body = SearchPageOut.model_validate(page)
        return cached_json(request, body, immutable=False, max_age=SEARCH_MAX_AGE)

    @api.get(
        "/api/v1/organisations/autocomplete",
        tags=["organisations"],
        summary="Suggest organisations as the user types",
        description="Names with a word starting with `q` (name starts first), or numbers.",
        response_model=SuggestionsOut,
        dependencies=read,
    )
    def autocomplete_organisations(
        request: Request,
        engine: EngineDep,
        q: Annotated[str, Query(min_length=1, max_length=200, examples=["prai"])],
        limit: Annotated[int, Query(ge=1, le=20)] = 8,
        jurisdiction: Annotated[str | None, Query(max_length=16)] = None,
    ) -> Response:
        from orgbook.verifier.search import autocomplete

        with reading(engine) as conn:
            found = autocomplete(conn, q, limit=limit, jurisdiction=jurisdiction)
        body = SuggestionsOut.model_validate({"suggestions": found})
        return cached_json(request, body, immutable=False, max_age=SEARCH_MAX_AGE)

    @api.get(
        "/api/v1/organisations/{org_id}",
        tags=["organisations"],
        summary="An organisation's profile",
        description=(
            "Current and former names with dates, addresses, status, relationships in both "
            "directions, and every credential with its history (issued, superseded, revoked, "
            "suspended, with dates and reasons)."
        ),
        response_model=OrganisationOut,
        dependencies=read,
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

    @api.get(
        "/api/v1/credentials/{credential_id}",
        tags=["credentials"],
        summary="A signed credential",
        description=(
            "The W3C VC 2.0 credential exactly as issued (its RFC 8785 form). Immutable: its "
            "status is in its status lists, its history in the organisation's profile."
        ),
        responses={200: {"content": {"application/json": {}}}},
        dependencies=read,
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

    @api.get(
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
        dependencies=read,
    )
    def get_bundle(
        request: Request,
        engine: EngineDep,
        credential_id: Annotated[str, Path(max_length=200)],
        tree_size: Annotated[int | None, Query(ge=1, le=2**53 - 1)] = None,
    ) -> Response:
        registry = _require_registry(request)
        with reading(engine) as conn:
            body = profiles.bundle_for(conn, registry.ledger, credential_id, tree_size=tree_size)
        # Not immutable even at a fixed tree size: witnesses may still add cosignatures.
        return cached_json(request, canonicalize(body), immutable=False, max_age=PROFILE_MAX_AGE)

    @api.post(
        "/api/v1/verify",
        tags=["verify"],
        summary="Verify a credential or a bundle",
        description=(
            "Body: a credential (from any issuer) or a bundle. Answers 200 with one result per "
            "check (schema, signature, issuer_key, issuer_trusted, key_valid_at_issuance, "
            "validity_period, status, status_logged and, for bundles and credentials issued here, "
            "ledger_inclusion, checkpoint, consistency, witnesses); `valid` is false when any "
            "failed. A body that is neither is a 400; over the size limit, a 413. Nothing is "
            "fetched from the network: DIDs other than did:key and this registry's issuers do "
            "not resolve here (use `orgbook verify` for those). A bundle is what "
            "`GET /api/v1/credentials/{credential_id}/bundle` answers: `{type: OrgBookBundle, "
            "version, credential, entry, proof, issuer, issuerKeys}`."
        ),
        response_model=VerifyReportOut,
        responses={
            415: {
                "description": "The body is not sent as `application/json` (problem+json).",
                "content": {
                    PROBLEM_MEDIA_TYPE: {"schema": {"$ref": "#/components/schemas/Problem"}}
                },
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
    async def verify(request: Request) -> VerifyReportOut:
        _require_json(request)
        engine, settings = _engine_and_settings(request)
        # async def: verification is CPU-bound, and running it on the event loop is about
        # twice as fast as a thread-pool hop (DESIGN.md). The database reads go to the thread
        # pool on a server database; SQLite answers them from a local file in well under a
        # millisecond, which is cheaper done here than handed to a thread and back.
        raw = await request.body()
        if not raw.strip():
            raise BadInput("the body is empty: send a credential or a bundle", field="")
        value = loads_strict(raw)  # not JSON, too deep, duplicate keys: 400
        if not isinstance(value, dict):
            raise BadInput("a credential or a bundle is a JSON object", field="")
        registry = _registry(request)
        if is_sqlite(engine):
            ctx = _gather(engine, registry, settings, value, remembered, sqlite_reader)
        else:
            ctx = await run_in_threadpool(_gather, engine, registry, settings, value, remembered)
        keys = registry.ledger.verifiers if registry is not None else ()
        return verify_value(value, ctx, ledger_keys=keys, now=_now())

    # --- issuers ------------------------------------------------------------------------------

    @api.get(
        "/api/v1/issuers",
        tags=["issuers"],
        summary="The issuers registered on the ledger",
        response_model=IssuersOut,
        dependencies=read,
    )
    def get_issuers(request: Request, engine: EngineDep, settings: SettingsDep) -> Response:
        from orgbook.issuer.keys import list_issuers

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

    def did_json(request: Request, engine: Engine, issuer_id: str) -> Response:
        from orgbook.issuer.keys import did_document

        with reading(engine) as conn:
            document = did_document(conn, issuer_id)
        return cached_json(
            request,
            document,
            immutable=False,
            max_age=DID_MAX_AGE,
            media_type="application/did+json",
        )

    did_doc = {
        "tags": ["issuers"],
        "summary": "An issuer's DID document (did:web)",
        "description": "Every key the issuer had; only active ones are assertion methods.",
        "responses": {200: {"content": {"application/did+json": {}}}},
        "dependencies": read,
    }

    @api.get("/issuers/{issuer_id}/did.json", **did_doc)  # type: ignore[arg-type]
    def get_did_document(
        request: Request, engine: EngineDep, issuer_id: Annotated[str, Path(max_length=64)]
    ) -> Response:
        return did_json(request, engine, issuer_id)

    @api.get("/api/v1/issuers/{issuer_id}/did.json", **did_doc)  # type: ignore[arg-type]
    def get_did_document_v1(
        request: Request, engine: EngineDep, issuer_id: Annotated[str, Path(max_length=64)]
    ) -> Response:
        return did_json(request, engine, issuer_id)

    @api.get(
        "/issuers/{issuer_id}/status/{purpose}/{number}",
        tags=["issuers"],
        summary="A signed Bitstring Status List credential",
        description=(
            "The issuer's revocation or suspension list number `number` (131,072 entries), "
            "signed by its active key; re-signed when a bit changes, each signed version logged "
            "on the ledger (statuslist.published). Short max-age."
        ),
        responses={200: {"content": {"application/json": {}}}},
        dependencies=read,
    )
    def get_status_list(
        request: Request,
        engine: EngineDep,
        settings: SettingsDep,
        issuer_id: Annotated[str, Path(max_length=64)],
        purpose: Literal["revocation", "suspension"],
        number: Annotated[int, Path(ge=0, le=10**9)],
    ) -> Response:
        registry = _registry(request)
        url = f"{settings.public_url.rstrip('/')}/issuers/{issuer_id}/status/{purpose}/{number}"
        document = profiles.status_list_for_url(
            engine,
            url,
            public_url=settings.public_url,
            passphrase=registry.passphrase if registry else None,
            ledger=registry.ledger if registry else None,
        )
        return cached_json(
            request, canonicalize(document), immutable=False, max_age=STATUS_LIST_MAX_AGE
        )

    # --- schemas ------------------------------------------------------------------------------

    @api.get(
        "/schemas/{group}/{slug}/{version}.json",
        tags=["credentials"],
        summary="A JSON Schema (credential types, registry records)",
        description="Served under its stable `$id`; immutable for a given version.",
        responses={200: {"content": {"application/schema+json": {}}}},
        dependencies=read,
    )
    def get_schema(
        request: Request,
        group: Literal["credentials", "records"],
        slug: Annotated[str, Path(pattern=r"^[a-z0-9_-]{1,64}$")],
        version: Annotated[str, Path(pattern=r"^[0-9]{1,4}\.[0-9]{1,4}$")],
    ) -> Response:
        from orgbook.schemas import DEFAULT_SCHEMA_BASE, schema_by_id

        schema = schema_by_id(f"{DEFAULT_SCHEMA_BASE}/{group}/{slug}/{version}.json")
        return cached_json(
            request,
            canonicalize(dict(schema)),
            immutable=True,
            media_type="application/schema+json",
        )

    _ = settings
    return api


def _engine_and_settings(request: Request) -> tuple[Engine, Settings]:
    """``EngineDep`` and ``SettingsDep`` resolved here, honouring ``dependency_overrides``.

    They are plain ``def`` dependencies, which FastAPI runs in the thread pool: two thread
    hops per request, more than the rest of a verification's framework overhead.
    """
    overrides = getattr(request.app, "dependency_overrides", {})
    engine = overrides.get(get_engine, get_engine)(request)
    settings = overrides.get(get_settings_dep, get_settings_dep)(request)
    return engine, settings


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


def _require_registry(request: Request) -> Registry:
    registry = _registry(request)
    if registry is None:
        from orgbook.errors import ConfigurationError

        raise ConfigurationError("this application has no registry (ledger) configured")
    return registry
