"""Trust registry queries: the Trust over IP TRQP v2.0 RESTful binding, ``POST /authorization``
and ``POST /recognition``, answered from the ledger's authorisations.

What it owns: the two routes, mounted at the paths the binding defines (the site root), their
request and response shapes (the binding's snake_case members) and how an orgbook question maps
onto them:

* ``POST /authorization``: "may ``entity_id`` (an authority's DID) ``action`` (``issue``)
  ``resource`` (a VC type name, or a type's id URL) under ``authority_id`` (this registry) as of
  ``context.time`` (default now)?" — optionally about organisations of ``context.jurisdiction``
  and on behalf of ``context.on_behalf_of``; answered from
  :mod:`orgbook.projections.authorisations` (an authorisation granted by then, in force then,
  not withdrawn by then);
* ``POST /recognition``: "does this registry (``authority_id``) recognise ``entity_id`` as an
  authority as of ``context.time``?" — it registered it (``issuer.registered``) by then.

Every answer carries ``evidence`` (an orgbook extension the binding allows): the latest signed
checkpoint and each ledger entry the answer rests on with its RFC 9162 inclusion proof under it
(``{entry, proof}``, the bundle format's parts: the authorisation, the governance key entries,
a withdrawal), so the asker can check it without trusting this server. ``authority_id`` is this
registry's ``did:web`` (from ``ORGBOOK_PUBLIC_URL``) or a governance key's ``did:key``. An
unknown authority or entity is a 404 problem; malformed input a 400/422 problem.

What it must not do: write anything, or decide coverage differently from
:mod:`orgbook.verification.authorisation` (it uses :meth:`Authorisation.refuses`).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import Connection, select
from starlette.concurrency import run_in_threadpool

from orgbook.config import Settings
from orgbook.core.errors import BadInput, NotFound
from orgbook.core.time import as_utc, format_time, parse_time
from orgbook.http.deps import RegistryDep
from orgbook.http.ratelimit import rate_limited
from orgbook.http.routing import PooledRoute
from orgbook.ledger.note import Checkpoint, parse_note
from orgbook.ledger.store import Ledger
from orgbook.projections.authorisations import (
    AuthorisationRecord,
    authorisations_of,
    governance_entries,
)
from orgbook.projections.tables import issuers
from orgbook.runtime.registry import Registry
from orgbook.storage.engine import reading
from orgbook.verification.bundle import proven_entry_json

__all__ = ["ACTION", "router", "routes"]

ACTION = "issue"
RFC3339 = (
    r"^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{1,9})?"
    r"(Z|[+-][0-9]{2}:[0-9]{2})$"
)
_ID = 2048


class TrqpContext(BaseModel):
    model_config = ConfigDict(extra="allow")
    time: str | None = Field(
        default=None,
        max_length=64,
        pattern=RFC3339,
        description="RFC 3339 time (UTC, `Z`) the question is about; default: now",
        examples=["2026-02-01T00:00:00Z"],
    )
    jurisdiction: str | None = Field(
        default=None,
        max_length=16,
        description="orgbook: organisations of this jurisdiction (ISO 3166, e.g. `CA-BC`)",
    )
    on_behalf_of: str | None = Field(
        default=None, max_length=_ID, description="orgbook: issuing on behalf of this authority"
    )


class TrqpQuery(BaseModel):
    entity_id: str = Field(
        min_length=1, max_length=_ID, description="The authority asked about (its DID)"
    )
    authority_id: str = Field(
        min_length=1,
        max_length=_ID,
        description="This registry: its did:web, or a governance key's did:key",
    )
    action: str = Field(default=ACTION, max_length=64, examples=[ACTION])
    resource: str = Field(
        default="",
        max_length=_ID,
        description="The credential type: its VC type name or its type id URL",
        examples=["BusinessLicenceCredential"],
    )
    context: TrqpContext | None = None


class TrqpAnswer(BaseModel):
    entity_id: str
    authority_id: str
    action: str
    resource: str
    time_requested: str | None
    time_evaluated: str
    message: str
    context: dict[str, Any] | None
    evidence: dict[str, Any] = Field(
        description="orgbook: the latest signed checkpoint and each ledger entry the answer "
        "rests on with its inclusion proof under it (`{entry, proof}`: c2sp.org/tlog-proof@v1)"
    )


class TrqpAuthorizationOut(TrqpAnswer):
    authorized: bool


class TrqpRecognitionOut(TrqpAnswer):
    recognized: bool


def registry_did(public_url: str) -> str:
    """The registry's own ``did:web`` (as :func:`orgbook.demo.issuer_did` names its issuers)."""
    parts = urlsplit(public_url)
    path = [p for p in parts.path.split("/") if p]
    return ":".join(["did:web", parts.netloc.replace(":", "%3A"), *path])


def _authority_ids(conn: Connection, settings: Settings) -> set[str]:
    ids = {registry_did(settings.public_url)}
    for entry in governance_entries(conn):
        key_id = entry.payload.get("keyId")
        if isinstance(key_id, str):
            ids.add(key_id.partition("#")[0])
    return ids


class _Evidence:
    """Entries cited by an answer, each proven under the latest signed checkpoint."""

    def __init__(self, conn: Connection, ledger: Ledger) -> None:
        self.conn, self.ledger = conn, ledger
        self.note = ledger.latest_checkpoint(conn)
        self.size = Checkpoint.parse(parse_note(self.note).text).size if self.note else 0
        self.body: dict[str, Any] = {"checkpoint": self.note}

    def proven(self, index: int) -> dict[str, Any]:
        entry = self.ledger.entry(self.conn, index).entry
        if self.note is None or index >= self.size:
            return {"entry": entry.to_json(), "proof": None}
        proof = self.ledger.inclusion_proof(self.conn, index, self.size)
        return proven_entry_json(entry, proof, self.note)

    def authorisation(self, record: AuthorisationRecord, at: datetime) -> None:
        self.body["ledgerIndex"] = record.index
        self.body["authorisation"] = self.proven(record.index)
        self.body["governance"] = [
            self.proven(e.index) for e in governance_entries(self.conn) if e.index < self.size
        ]
        if record.withdrawn_index is not None and record.withdrawn_by(at):
            self.body["withdrawals"] = [self.proven(record.withdrawn_index)]


def _time(query: TrqpQuery) -> tuple[str | None, datetime]:
    asked = query.context.time if query.context else None
    if asked is None:
        return None, datetime.now(UTC)
    try:
        return asked, parse_time(asked)
    except BadInput:
        raise BadInput(
            "context.time must be an RFC 3339 date-time (UTC, e.g. 2026-02-01T00:00:00Z)",
            field="/context/time",
        ) from None


def _check_parties(conn: Connection, settings: Settings, query: TrqpQuery) -> Any:
    if query.authority_id not in _authority_ids(conn, settings):
        raise NotFound(
            f"authority_id {query.authority_id} is not this trust registry (it is "
            f"{registry_did(settings.public_url)})",
            field="/authority_id",
        )
    row = conn.execute(select(issuers).where(issuers.c.did == query.entity_id)).first()
    if row is None:
        raise NotFound(
            f"entity_id {query.entity_id} is not an authority registered with this registry "
            "(unknown entity)",
            field="/entity_id",
        )
    return row


def _matches(record: AuthorisationRecord, resource: str) -> bool:
    auth = record.authorisation
    return resource in (auth.credential_type, auth.credential_type_id)


def _authorization(
    conn: Connection, registry: Registry, query: TrqpQuery, at: datetime
) -> tuple[bool, str, dict[str, Any]]:
    _check_parties(conn, registry.settings, query)
    evidence = _Evidence(conn, registry.ledger)
    who, what = query.entity_id, query.resource or "(no resource)"
    if query.action != ACTION:
        return False, f"orgbook authorises only the action {ACTION!r}", evidence.body
    context = query.context or TrqpContext()
    records = [r for r in authorisations_of(conn, who) if _matches(r, query.resource)]
    known = [r for r in records if r.granted_at <= at]
    if not known:
        return False, f"{who} has no authorisation to issue {what} as of {_show(at)}", evidence.body
    reasons: list[str] = []  # why each, latest first
    for record in reversed(known):
        auth = record.authorisation
        if record.withdrawn_by(at):
            reasons.append(
                f"authorisation {auth.id} was withdrawn at ledger entry {record.withdrawn_index}"
            )
        elif context.on_behalf_of is not None and auth.on_behalf_of != context.on_behalf_of:
            reasons.append(
                f"authorisation {auth.id} is on behalf of {auth.on_behalf_of or 'no one'}"
            )
        else:
            refused = auth.refuses(
                issuer=who,
                vc_types=[auth.credential_type],
                jurisdiction=context.jurisdiction or auth.jurisdictions[0],
                at=at,
            )
            if refused is None:
                evidence.authorisation(record, at)
                where = context.jurisdiction or ", ".join(auth.jurisdictions)
                behalf = f" on behalf of {auth.on_behalf_of}" if auth.on_behalf_of else ""
                return (
                    True,
                    f"{who} may issue {auth.credential_type}{behalf} about organisations of "
                    f"{where} as of {_show(at)}: authorised by ledger entry {record.index}",
                    evidence.body,
                )
            reasons.append(refused)
    evidence.authorisation(known[-1], at)
    return False, f"{who} may not issue {what} as of {_show(at)}: {reasons[0]}", evidence.body


def _recognition(
    conn: Connection, registry: Registry, query: TrqpQuery, at: datetime
) -> tuple[bool, str, dict[str, Any]]:
    row = _check_parties(conn, registry.settings, query)
    evidence = _Evidence(conn, registry.ledger)
    evidence.body["ledgerIndex"] = int(row.ledger_index)
    evidence.body["registration"] = evidence.proven(int(row.ledger_index))
    if as_utc(row.created_at) > at:
        return (
            False,
            f"{query.entity_id} was registered at ledger entry {row.ledger_index}, after "
            f"{_show(at)}",
            evidence.body,
        )
    return (
        True,
        f"{query.entity_id} ({row.name}) is an authority registered with this registry since "
        f"ledger entry {row.ledger_index}",
        evidence.body,
    )


def _show(at: datetime) -> str:
    return format_time(at.replace(microsecond=0), "trimmed")


_PROBLEMS: dict[int | str, dict[str, Any]] = {
    404: {"description": "Unknown authority_id or entity_id (problem+json)"},
    400: {"description": "Malformed context.time (problem+json)"},
}


routes = APIRouter(
    route_class=PooledRoute, tags=["trust-registry"], dependencies=[rate_limited("read")]
)
"""``POST /authorization`` and ``POST /recognition`` at the site root, as the binding says."""


def _answer(query: TrqpQuery, registry: Registry, decide: Any) -> dict[str, Any]:
    asked, at = _time(query)
    with reading(registry.engine) as conn:
        ok, message, evidence = decide(conn, registry, query, at)
    return {
        "entity_id": query.entity_id,
        "authority_id": query.authority_id,
        "action": query.action,
        "resource": query.resource,
        "time_requested": asked,
        "time_evaluated": format_time(at, "trimmed"),
        "message": message,
        "context": query.context.model_dump(exclude_none=True) if query.context else None,
        "evidence": evidence,
        "ok": ok,
    }


@routes.post(
    "/authorization",
    summary="TRQP v2.0: may this authority issue this credential type?",
    description=(
        "Trust over IP TRQP v2.0 authorization query. `entity_id`: the authority's DID; "
        "`authority_id`: this registry; `action`: `issue`; `resource`: the VC type (or "
        "its type id URL); `context.time` (default now), `context.jurisdiction`, "
        "`context.on_behalf_of`. `authorized` is decided from the ledger's authorisation "
        "entries as of that time; `evidence` holds them with inclusion proofs under the "
        "latest signed checkpoint."
    ),
    response_model=TrqpAuthorizationOut,
    responses=_PROBLEMS,
)
async def authorization(query: TrqpQuery, registry: RegistryDep) -> TrqpAuthorizationOut:
    body = await run_in_threadpool(_answer, query, registry, _authorization)
    return TrqpAuthorizationOut(authorized=body.pop("ok"), **body)


@routes.post(
    "/recognition",
    summary="TRQP v2.0: is this authority registered here?",
    description=(
        "Trust over IP TRQP v2.0 recognition query. `entity_id`: an authority's DID; "
        "`authority_id`: this registry; `context.time` (default now). `recognized`: the "
        "authority was registered on the ledger (`issuer.registered`) by then; `evidence` "
        "holds that entry with its inclusion proof."
    ),
    response_model=TrqpRecognitionOut,
    responses=_PROBLEMS,
)
async def recognition(query: TrqpQuery, registry: RegistryDep) -> TrqpRecognitionOut:
    body = await run_in_threadpool(_answer, query, registry, _recognition)
    return TrqpRecognitionOut(recognized=body.pop("ok"), **body)


def router(settings: Settings) -> APIRouter:
    """:data:`routes` (``settings`` unused: routes read the application's, as dependencies)."""
    _ = settings
    return routes
