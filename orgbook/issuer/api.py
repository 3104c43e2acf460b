"""The authenticated issuer API, ``/api/v1/issuer/…``: records in, revocations, keys, API keys.

What it owns: the module-level :data:`routes` (``router(settings)`` is what
``orgbook.app.create_app`` includes): who the caller is, records in, the issuer's credentials and
their revocation and suspension, and, last, the key routes of :mod:`orgbook.issuer.keys_api`.
Authentication is :mod:`orgbook.issuer.auth`'s, the read queries :mod:`orgbook.issuer.queries`'.
Issuance, supersession, revocation and key management are the service's
(:mod:`orgbook.issuer.service`, :mod:`orgbook.issuer.keys`); routes are thin.

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
from typing import Annotated, Any, ClassVar, Literal

from fastapi import APIRouter, Body, Depends, Query, Response

from orgbook.config import Settings
from orgbook.core.errors import OrgBookError
from orgbook.http.deps import RegistryDep
from orgbook.http.ratelimit import rate_limited
from orgbook.http.routing import PooledRoute
from orgbook.issuer import keys_api
from orgbook.issuer.auth import Caller, CallerDep, CredentialIdPath, no_store
from orgbook.issuer.models import (
    AuthenticatedIssuer,
    BatchRequest,
    BatchResult,
    CredentialDetail,
    CredentialPage,
    CredentialState,
    RecordOutcome,
    StatusAction,
    StatusChanged,
    StatusChangeRequest,
)
from orgbook.issuer.queries import (
    DEFAULT_PAGE,
    credential_detail,
    credential_row,
    list_credentials,
)
from orgbook.issuer.service import Issuance, Outcome
from orgbook.ledger.entry import MAX_INDEX
from orgbook.runtime.registry import Registry

__all__ = ["RecordRejected", "router", "routes"]

PREFIX = "/api/v1/issuer"
TAG = "issuer"
MAX_PAGE = 1000
CREDENTIAL_TYPES = Literal[
    "registration", "legal-name", "address", "status", "relationship", "business-number"
]


def _issuance(registry: Registry) -> Issuance:
    return Issuance(registry)


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


routes = APIRouter(
    route_class=PooledRoute,
    prefix=PREFIX,
    tags=[TAG],
    dependencies=[Depends(no_store), rate_limited("issuer")],
)
"""Every route of the issuer API, in the order of the OpenAPI document."""


def router(settings: Settings) -> APIRouter:
    """:data:`routes` (``settings`` unused: everything comes from the application's registry at
    request time)."""
    _ = settings
    return routes


@routes.get(
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


@routes.post(
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


@routes.post(
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
        credentials=sum(o.issued for o in outcomes),
        outcomes=[_outcome(o) for o in outcomes],
    )


# --- credentials ---------------------------------------------------------------------------


@routes.get(
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


@routes.get(
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


def _change_status(
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
        row = credential_row(conn, caller.issuer.id, credential_id)
    return StatusChanged(
        credential=credential_id,
        action=action,
        ledger_index=index,
        state=row.state,
        suspended=bool(row.suspended),
    )


STATUS_RESPONSES: dict[int | str, dict[str, Any]] = {
    401: {"description": "No valid API key."},
    403: {"description": "Another issuer's credential."},
    404: {"description": "No such credential."},
    409: {"description": "Already revoked; already suspended; not suspended."},
}


@routes.post(
    "/credentials/{credential_id}/revoke",
    summary="Revoke a credential",
    description="Appends `credential.revoked` (with the reason) to the ledger and sets the "
    "credential's bit in the issuer's revocation status list. Final: a revoked credential "
    "cannot be revoked, suspended or unsuspended again (409).",
    responses=STATUS_RESPONSES,
)
def revoke(
    caller: CallerDep,
    registry: RegistryDep,
    credential_id: CredentialIdPath,
    body: StatusChangeRequest,
) -> StatusChanged:
    return _change_status(caller, registry, credential_id, "revoke", body)


@routes.post(
    "/credentials/{credential_id}/suspend",
    summary="Suspend a credential",
    description="Appends `credential.suspended` to the ledger and sets the credential's bit "
    "in the suspension status list; undone by `/unsuspend`.",
    responses=STATUS_RESPONSES,
)
def suspend(
    caller: CallerDep,
    registry: RegistryDep,
    credential_id: CredentialIdPath,
    body: StatusChangeRequest,
) -> StatusChanged:
    return _change_status(caller, registry, credential_id, "suspend", body)


@routes.post(
    "/credentials/{credential_id}/unsuspend",
    summary="Lift a suspension",
    description="Appends `credential.unsuspended` to the ledger and clears the credential's "
    "bit in the suspension status list.",
    responses=STATUS_RESPONSES,
)
def unsuspend(
    caller: CallerDep,
    registry: RegistryDep,
    credential_id: CredentialIdPath,
    body: StatusChangeRequest,
) -> StatusChanged:
    return _change_status(caller, registry, credential_id, "unsuspend", body)


# The key routes come last in the document (orgbook.issuer.keys_api), under the same prefix,
# tags and dependencies.
routes.include_router(keys_api.routes)
