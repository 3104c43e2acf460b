"""The authenticated issuer API, ``/api/v1/issuer/…``: records in, revocations, keys, API keys.

What it owns: the routes (``router(settings)``, included by ``orgbook.app.create_app``), bearer
authentication with per-issuer API keys, and the few read queries the routes need (an issuer's
credentials, signing keys and API keys). Issuance, supersession, revocation and key management
are the service's (:mod:`orgbook.issuer.service`, :mod:`orgbook.issuer.keys`); routes are thin.

Rules it enforces:

* every route needs ``Authorization: Bearer <key>``; a missing, malformed, unknown or revoked key
  is 401 with ``WWW-Authenticate: Bearer`` (RFC 6750), before anything is read or written;
* an issuer acts only for itself: records outside its jurisdiction or credential types, another
  issuer's credential or API key are 403 (the service decides, by issuer id);
* every failing request leaves the ledger and the projections as they were: each write is one
  transaction that the service rolls back on error.

The service is synchronous (SQLAlchemy, signing), so routes that touch the database are plain
``def`` and run in the thread pool.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Annotated, Any, ClassVar, Literal

from fastapi import APIRouter, Body, Depends, Path, Query, Request, Response
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy import Connection, select

from orgbook.canonical import loads_strict
from orgbook.config import Settings
from orgbook.errors import ConfigurationError, Forbidden, NotFound, OrgBookError, Unauthorized
from orgbook.http.deps import RegistryDep
from orgbook.http.middleware import add_response_header
from orgbook.http.problems import HEADERS_ATTR
from orgbook.http.ratelimit import rate_limited
from orgbook.issuer.keys import (
    Issuer,
    authenticate_api_key,
    create_api_key,
    get_issuer,
    revoke_api_key,
    rotate_key,
)
from orgbook.issuer.models import (
    ApiKeyCreated,
    ApiKeyCreateRequest,
    ApiKeyList,
    ApiKeyRevoked,
    ApiKeySummary,
    AuthenticatedIssuer,
    BatchRequest,
    BatchResult,
    CredentialDetail,
    CredentialEvent,
    CredentialPage,
    CredentialState,
    CredentialSummary,
    KeyHistory,
    KeyRotated,
    RecordOutcome,
    SigningKey,
    StatusAction,
    StatusChanged,
    StatusChangeRequest,
)
from orgbook.issuer.service import Issuance, Outcome
from orgbook.issuer.store import (
    api_keys,
    credential_document,
    credential_events,
    credentials,
    credentials_with_entry,
    issuer_keys,
)
from orgbook.ledger.entry import MAX_INDEX
from orgbook.multibase import encode_multikey_ed25519
from orgbook.registry import Registry

__all__ = ["RecordRejected", "router"]

PREFIX = "/api/v1/issuer"
TAG = "issuer"
DEFAULT_PAGE = 100
MAX_PAGE = 1000
REALM = "orgbook issuer API"
CREDENTIAL_TYPES = Literal[
    "registration", "legal-name", "address", "status", "relationship", "business-number"
]

_bearer = HTTPBearer(
    auto_error=False,
    scheme_name="IssuerApiKey",
    description="A per-issuer API key (`obk_<id>_<secret>`), created with "
    "`orgbook issuer api-key create` or `POST /api/v1/issuer/api-keys`.",
)


# --- authentication ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Caller:
    """The issuer an authenticated request acts for, and the API key it used."""

    issuer: Issuer
    api_key_id: str


def _unauthorized(detail: str, *, invalid_token: bool) -> Unauthorized:
    err = Unauthorized(detail)
    challenge = f'Bearer realm="{REALM}"'
    if invalid_token:
        challenge += ', error="invalid_token"'
    setattr(err, HEADERS_ATTR, {"WWW-Authenticate": challenge})
    return err


def _authenticate(
    request: Request,
    registry: RegistryDep,
    bearer: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Caller:
    """The calling issuer, from ``Authorization: Bearer <key>``; 401 otherwise."""
    if bearer is None:
        if request.headers.get("authorization"):
            raise _unauthorized(
                "the Authorization header must be 'Bearer <key>'", invalid_token=True
            )
        raise _unauthorized(
            "an issuer API key is required (Authorization: Bearer <key>)", invalid_token=False
        )
    key = bearer.credentials.strip()
    with registry.engine.connect() as conn:
        try:
            issuer_id = authenticate_api_key(conn, key)
        except Unauthorized as exc:
            raise _unauthorized(exc.detail, invalid_token=True) from None
        issuer = get_issuer(conn, issuer_id)
    # The key's id is its public prefix (obk_<id>_<secret>), already checked by authenticate.
    return Caller(issuer=issuer, api_key_id=key.split("_", 2)[1])


CallerDep = Annotated[Caller, Depends(_authenticate)]


async def _no_store(request: Request) -> None:
    """Issuer answers are private (and one holds a new API key): no cache may keep them."""
    add_response_header(request.scope, "Cache-Control", "no-store")


CredentialIdPath = Annotated[
    str,
    Path(
        min_length=1,
        max_length=100,
        description="The credential's id, e.g. `urn:uuid:af6bdb6b-4feb-51d4-87d2-36be118ba9e3`.",
    ),
]
ApiKeyIdPath = Annotated[
    str, Path(min_length=1, max_length=32, description="The API key's id (its public prefix).")
]


def _issuance(registry: Registry) -> Issuance:
    return registry.issuance()


def _passphrase(registry: Registry) -> bytes:
    if registry.passphrase is None:
        raise ConfigurationError("this registry was opened without signing keys")
    return registry.passphrase


# --- records ------------------------------------------------------------------------------------


class RecordRejected(OrgBookError):
    """A record the service rejected, answered with the service's own problem details.

    The problem's ``status`` (422 invalid record, 403 out of scope, 409 reused event id) is the
    HTTP status; ``field`` is the JSON pointer into the record and ``errors`` lists every problem.
    """

    status: ClassVar[int] = 422
    title: ClassVar[str] = "Record rejected"
    slug: ClassVar[str] = "invalid-record"

    def __init__(self, problem: Mapping[str, Any]) -> None:
        super().__init__(str(problem.get("detail", "the record was rejected")))
        self._problem = dict(problem)

    def problem(self, instance: str | None = None) -> dict[str, Any]:
        body = dict(self._problem)
        if instance:
            body["instance"] = instance
        return body


def _outcome(outcome: Outcome) -> RecordOutcome:
    return RecordOutcome(
        index=outcome.index,
        event_id=outcome.event_id,
        status=outcome.status,
        credentials=list(outcome.credentials),
        problem=dict(outcome.problem) if outcome.problem is not None else None,
    )


RECORD_EXAMPLES: dict[str, Any] = {
    "registration": {
        "summary": "A registration",
        "value": {
            "event_id": "bc-2021-000123",
            "kind": "registration",
            "jurisdiction": "CA-BC",
            "registration_number": "BC1287139",
            "effective_date": "2021-02-03T09:42:00-08:00",
            "name": "Boulangerie Lévesque Ltée",
            "name_language": "fr",
            "entity_type": "BC",
            "address": {
                "address_type": "registered",
                "street": "800 Granville St",
                "city": "Vancouver",
                "region": "BC",
                "postal_code": "V6Z 1K3",
                "country": "CA",
            },
            "business_number": "123456789RC0001",
        },
    },
    "name_change": {
        "summary": "A name change (supersedes the current legal name)",
        "value": {
            "event_id": "bc-2023-004567",
            "kind": "name_change",
            "jurisdiction": "CA-BC",
            "registration_number": "BC1287139",
            "effective_date": "2023-06-01",
            "name": "Lévesque Bakery Ltd.",
        },
    },
    "dissolution": {
        "summary": "A dissolution",
        "value": {
            "event_id": "bc-2025-000042",
            "kind": "status_change",
            "jurisdiction": "CA-BC",
            "registration_number": "BC1287139",
            "effective_date": "2025-01-31",
            "status": "dissolved",
            "reason": "voluntary dissolution",
        },
    },
}

RECORD_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {
        "model": RecordOutcome,
        "description": "Already processed (`unchanged`), or issued as history because a newer "
        "credential of the same type is current (`history`).",
    },
    401: {"description": "No valid API key (`WWW-Authenticate: Bearer`)."},
    403: {"description": "The record is outside the issuer's jurisdiction or credential types."},
    409: {"description": "The event id was already used for a different record."},
    422: {
        "description": "Invalid record: `field` is the JSON pointer of the first problem, "
        "`errors` lists every `{path, message}`."
    },
}


# --- credentials: queries ------------------------------------------------------------------------


def _summary(row: Any) -> CredentialSummary:
    return CredentialSummary(
        id=row.id,
        type=row.type,
        organisation=row.organisation_id,
        state=row.state,
        suspended=bool(row.suspended),
        effective=row.effective,
        event_id=row.event_id,
        ledger_index=row.ledger_index,
        superseded_by=row.superseded_by,
    )


def _credential_row(conn: Connection, issuer_id: str, credential_id: str) -> Any:
    row = conn.execute(
        select(credentials, credential_document)
        .select_from(credentials_with_entry)
        .where(credentials.c.id == credential_id)
    ).first()
    if row is None:
        raise NotFound(f"no credential {credential_id!r}", field="id")
    if row.issuer_id != issuer_id:
        raise Forbidden("this credential was issued by another issuer", field="id")
    return row


def list_credentials(
    conn: Connection,
    issuer_id: str,
    *,
    type_slug: str | None = None,
    organisation: str | None = None,
    state: str | None = None,
    suspended: bool | None = None,
    cursor: int | None = None,
    limit: int = DEFAULT_PAGE,
) -> CredentialPage:
    """A page of ``issuer_id``'s credentials in ledger order, after ledger index ``cursor``."""
    query = select(
        credentials.c.id,
        credentials.c.type,
        credentials.c.organisation_id,
        credentials.c.state,
        credentials.c.suspended,
        credentials.c.effective,
        credentials.c.event_id,
        credentials.c.ledger_index,
        credentials.c.superseded_by,
    ).where(credentials.c.issuer_id == issuer_id)
    if type_slug is not None:
        query = query.where(credentials.c.type == type_slug)
    if organisation is not None:
        query = query.where(credentials.c.organisation_id == organisation)
    if state is not None:
        query = query.where(credentials.c.state == state)
    if suspended is not None:
        query = query.where(credentials.c.suspended.is_(suspended))
    if cursor is not None:
        query = query.where(credentials.c.ledger_index > cursor)
    rows = conn.execute(query.order_by(credentials.c.ledger_index).limit(limit + 1)).all()
    items = [_summary(row) for row in rows[:limit]]
    next_cursor = items[-1].ledger_index if len(rows) > limit else None
    return CredentialPage(items=items, next_cursor=next_cursor)


def credential_detail(conn: Connection, issuer_id: str, credential_id: str) -> CredentialDetail:
    row = _credential_row(conn, issuer_id, credential_id)
    events = conn.execute(
        select(credential_events)
        .where(credential_events.c.credential_id == credential_id)
        .order_by(credential_events.c.ledger_index)
    ).all()
    return CredentialDetail(
        **_summary(row).model_dump(),
        credential=loads_strict(bytes(row.document)),
        history=[
            CredentialEvent(
                ledger_index=event.ledger_index,
                kind=event.kind,
                at=event.at,
                reason=event.reason,
                related_credential=event.related_credential_id,
            )
            for event in events
        ],
    )


# --- keys: queries -------------------------------------------------------------------------------


def key_history(conn: Connection, issuer: Issuer) -> KeyHistory:
    rows = conn.execute(
        select(issuer_keys)
        .where(issuer_keys.c.issuer_id == issuer.id)
        .order_by(issuer_keys.c.added_index)
    ).all()
    return KeyHistory(
        issuer=issuer.id,
        did=issuer.did,
        keys=[
            SigningKey(
                key_id=row.key_id,
                public_key_multibase=encode_multikey_ed25519(bytes(row.public_key)),
                active=bool(row.active),
                created_at=row.created_at,
                added_index=row.added_index,
                retired_at=row.retired_at,
                retired_index=row.retired_index,
            )
            for row in rows
        ],
    )


def _api_key_summary(row: Any) -> ApiKeySummary:
    return ApiKeySummary(
        id=row.id, label=row.label, created_at=row.created_at, revoked_at=row.revoked_at
    )


# --- the router ----------------------------------------------------------------------------------


def router(settings: Settings) -> APIRouter:
    """The issuer API's routes (``settings`` is accepted for the shell's interface)."""
    del settings  # everything comes from the application's registry at request time
    api = APIRouter(
        prefix=PREFIX,
        tags=[TAG],
        dependencies=[Depends(_no_store), rate_limited("issuer")],
    )

    @api.get(
        "/me",
        summary="The authenticated issuer",
        description="Who the API key belongs to: the issuer's id, `did:web`, jurisdiction and "
        "the credential types it may issue, plus the id of the key used.",
        responses={401: {"description": "No valid API key."}},
    )
    def me(caller: CallerDep) -> AuthenticatedIssuer:
        issuer = caller.issuer
        return AuthenticatedIssuer(
            id=issuer.id,
            did=issuer.did,
            name=issuer.name,
            jurisdiction=issuer.jurisdiction,
            credential_types=list(issuer.credential_types),
            api_key_id=caller.api_key_id,
            ledger_index=issuer.ledger_index,
        )

    # --- records -------------------------------------------------------------------------------

    @api.post(
        "/records",
        status_code=201,
        summary="Submit one registry record",
        description="Validates the record against its JSON Schema (`schemas/records/<kind>.json`)"
        ", maps it to credentials, signs them with the issuer's active key and appends them to "
        "the ledger, all in one transaction. **201** `issued`; **200** `unchanged` (this event "
        "id was already processed with the same content: nothing is written) or `history` (an "
        "older record than what is current: issued and superseded at once). A rejected record is "
        "a problem+json (422, 403 or 409) and nothing is written.",
        responses=RECORD_RESPONSES,
    )
    def submit_record(
        caller: CallerDep,
        registry: RegistryDep,
        response: Response,
        record: Annotated[
            dict[str, Any],
            Body(
                description="One registry record (docs/data-model.md, `schemas/records/`).",
                openapi_examples=RECORD_EXAMPLES,
            ),
        ],
    ) -> RecordOutcome:
        (outcome,) = _issuance(registry).submit(caller.issuer.id, [record])
        if outcome.status == "rejected":
            raise RecordRejected(outcome.problem or {"status": 422})
        if outcome.status != "issued":
            response.status_code = 200
        return _outcome(outcome)

    @api.post(
        "/records/batch",
        summary="Submit up to 1000 registry records",
        description="Issues a batch in one transaction and answers **200** with one outcome per "
        "record, in request order (a 207-style body): valid records are issued, invalid ones "
        "are `rejected` with their `index` and a problem (`field` the JSON pointer into that "
        "record) and do not stop the others. Records for the same organisation are applied in "
        "effective-date order against what is current.",
        responses={
            401: {"description": "No valid API key."},
            422: {"description": "Not a batch: `records` missing, empty or over 1000."},
        },
    )
    def submit_batch(caller: CallerDep, registry: RegistryDep, batch: BatchRequest) -> BatchResult:
        outcomes = _issuance(registry).submit(caller.issuer.id, batch.records)
        counts = {"issued": 0, "history": 0, "unchanged": 0, "rejected": 0}
        for outcome in outcomes:
            counts[outcome.status] += 1
        return BatchResult(
            **counts,
            credentials=sum(len(o.credentials) for o in outcomes),
            outcomes=[_outcome(o) for o in outcomes],
        )

    # --- credentials ---------------------------------------------------------------------------

    @api.get(
        "/credentials",
        summary="Credentials this issuer issued",
        description="In ledger order, filtered by credential type, organisation, state and "
        "suspension. Pages are bounded (`limit`, at most 1000); `nextCursor` (a ledger index) "
        "is the `cursor` of the next page, stable while new credentials are issued.",
        responses={401: {"description": "No valid API key."}},
    )
    def credentials_list(
        caller: CallerDep,
        registry: RegistryDep,
        type_slug: Annotated[
            CREDENTIAL_TYPES | None,
            Query(alias="type", description="Credential type slug."),
        ] = None,
        organisation: Annotated[
            str | None,
            Query(
                max_length=200,
                description="Organisation id, e.g. `CA-BC:BC1287139`.",
                examples=["CA-BC:BC1287139"],
            ),
        ] = None,
        state: Annotated[CredentialState | None, Query(description="Credential state.")] = None,
        suspended: Annotated[bool | None, Query(description="Only (not) suspended.")] = None,
        cursor: Annotated[
            int | None,
            Query(
                ge=-1,
                le=MAX_INDEX,
                description="Ledger index after which to start (`nextCursor`).",
            ),
        ] = None,
        limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = DEFAULT_PAGE,
    ) -> CredentialPage:
        with registry.engine.connect() as conn:
            return list_credentials(
                conn,
                caller.issuer.id,
                type_slug=type_slug,
                organisation=organisation,
                state=state,
                suspended=suspended,
                cursor=cursor,
                limit=limit,
            )

    @api.get(
        "/credentials/{credential_id}",
        summary="One of this issuer's credentials, with its history",
        description="The signed credential, its state and every change recorded on the ledger "
        "(issued, superseded, revoked, suspended, unsuspended).",
        responses={
            401: {"description": "No valid API key."},
            403: {"description": "Another issuer's credential."},
            404: {"description": "No such credential."},
        },
    )
    def credential_get(
        caller: CallerDep,
        registry: RegistryDep,
        credential_id: CredentialIdPath,
    ) -> CredentialDetail:
        with registry.engine.connect() as conn:
            return credential_detail(conn, caller.issuer.id, credential_id)

    def change_status(
        caller: Caller,
        registry: Registry,
        credential_id: str,
        action: StatusAction,
        body: StatusChangeRequest,
    ) -> StatusChanged:
        index = _issuance(registry).change_status(
            caller.issuer.id, credential_id, action, reason=body.reason.strip()
        )
        with registry.engine.connect() as conn:
            row = _credential_row(conn, caller.issuer.id, credential_id)
        return StatusChanged(
            credential=credential_id,
            action=action,
            ledger_index=index,
            state=row.state,
            suspended=bool(row.suspended),
        )

    status_responses: dict[int | str, dict[str, Any]] = {
        401: {"description": "No valid API key."},
        403: {"description": "Another issuer's credential."},
        404: {"description": "No such credential."},
        409: {"description": "Already revoked; already suspended; not suspended."},
    }

    @api.post(
        "/credentials/{credential_id}/revoke",
        summary="Revoke a credential",
        description="Appends `credential.revoked` (with the reason) to the ledger and sets the "
        "credential's bit in the issuer's revocation status list. Final: a revoked credential "
        "cannot be revoked, suspended or unsuspended again (409).",
        responses=status_responses,
    )
    def revoke(
        caller: CallerDep,
        registry: RegistryDep,
        credential_id: CredentialIdPath,
        body: StatusChangeRequest,
    ) -> StatusChanged:
        return change_status(caller, registry, credential_id, "revoke", body)

    @api.post(
        "/credentials/{credential_id}/suspend",
        summary="Suspend a credential",
        description="Appends `credential.suspended` to the ledger and sets the credential's bit "
        "in the suspension status list; undone by `/unsuspend`.",
        responses=status_responses,
    )
    def suspend(
        caller: CallerDep,
        registry: RegistryDep,
        credential_id: CredentialIdPath,
        body: StatusChangeRequest,
    ) -> StatusChanged:
        return change_status(caller, registry, credential_id, "suspend", body)

    @api.post(
        "/credentials/{credential_id}/unsuspend",
        summary="Lift a suspension",
        description="Appends `credential.unsuspended` to the ledger and clears the credential's "
        "bit in the suspension status list.",
        responses=status_responses,
    )
    def unsuspend(
        caller: CallerDep,
        registry: RegistryDep,
        credential_id: CredentialIdPath,
        body: StatusChangeRequest,
    ) -> StatusChanged:
        return change_status(caller, registry, credential_id, "unsuspend", body)

    # --- signing keys --------------------------------------------------------------------------

    @api.get(
        "/keys",
        summary="The issuer's signing keys",
        description="Every Ed25519 key the issuer ever had (public parts only), with the ledger "
        "indices of their `issuer.key.added` and `issuer.key.retired` entries.",
        responses={401: {"description": "No valid API key."}},
    )
    def keys_list(caller: CallerDep, registry: RegistryDep) -> KeyHistory:
        with registry.engine.connect() as conn:
            return key_history(conn, caller.issuer)

    @api.post(
        "/keys/rotate",
        summary="Rotate the signing key",
        description="Generates a new Ed25519 key (sealed at rest), appends `issuer.key.added` "
        "and an `issuer.key.retired` for each previous active key, and signs a checkpoint. New "
        "credentials are signed with the new key; credentials signed before keep verifying "
        "(the DID document lists the retired key with the time it was retired).",
        responses={401: {"description": "No valid API key."}},
    )
    def keys_rotate(caller: CallerDep, registry: RegistryDep) -> KeyRotated:
        passphrase = _passphrase(registry)
        with registry.engine.begin() as conn:
            before = key_history(conn, caller.issuer)
            key_id = rotate_key(conn, registry.ledger, caller.issuer.id, passphrase=passphrase)
            registry.ledger.sign_checkpoint(conn)
            after = key_history(conn, caller.issuer)
        added = next(key for key in after.keys if key.key_id == key_id)
        return KeyRotated(
            key_id=key_id,
            retired=[key.key_id for key in before.keys if key.active],
            ledger_index=added.added_index,
        )

    # --- API keys ------------------------------------------------------------------------------

    @api.get(
        "/api-keys",
        summary="The issuer's API keys",
        description="Ids, labels and dates; the secrets are never stored and never shown again.",
        responses={401: {"description": "No valid API key."}},
    )
    def api_keys_list(caller: CallerDep, registry: RegistryDep) -> ApiKeyList:
        with registry.engine.connect() as conn:
            rows = conn.execute(
                select(api_keys)
                .where(api_keys.c.issuer_id == caller.issuer.id)
                .order_by(api_keys.c.created_at, api_keys.c.id)
            ).all()
        return ApiKeyList(items=[_api_key_summary(row) for row in rows])

    @api.post(
        "/api-keys",
        status_code=201,
        summary="Create another API key",
        description="A new key for this issuer (e.g. one per feed or per operator, so each can "
        "be revoked alone). The whole key is in this response only: it is stored hashed.",
        responses={401: {"description": "No valid API key."}},
    )
    def api_keys_create(
        caller: CallerDep,
        registry: RegistryDep,
        body: Annotated[ApiKeyCreateRequest | None, Body()] = None,
    ) -> ApiKeyCreated:
        label = body.label.strip() if body is not None else ""
        with registry.engine.begin() as conn:
            key = create_api_key(conn, caller.issuer.id, label=label)
            row = conn.execute(select(api_keys).where(api_keys.c.id == key.id)).one()
        return ApiKeyCreated(**_api_key_summary(row).model_dump(), api_key=key.key)

    @api.delete(
        "/api-keys/{api_key_id}",
        summary="Revoke an API key",
        description="The key stops authenticating at once (401 afterwards), including when it "
        "is the key making this request.",
        responses={
            401: {"description": "No valid API key."},
            403: {"description": "Another issuer's API key."},
            404: {"description": "No such API key."},
            409: {"description": "Already revoked (the first revocation time is kept)."},
        },
    )
    def api_keys_revoke(
        caller: CallerDep,
        registry: RegistryDep,
        api_key_id: ApiKeyIdPath,
    ) -> ApiKeyRevoked:
        with registry.engine.begin() as conn:
            revoke_api_key(conn, api_key_id, issuer_id=caller.issuer.id)
            row = conn.execute(select(api_keys).where(api_keys.c.id == api_key_id)).one()
        return ApiKeyRevoked(id=row.id, revoked_at=row.revoked_at)

    return api
