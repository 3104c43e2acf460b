"""The issuer API's key routes, ``/api/v1/issuer/keys…`` and ``/api/v1/issuer/api-keys…``: the
issuer's signing keys (list, rotate) and its API keys (list, create, revoke).

What it owns: those routes (the module-level :data:`routes`, which :mod:`orgbook.issuer.api`
includes last, under its prefix, tag and dependencies) and their OpenAPI descriptions.

What it must not do: authenticate (:mod:`orgbook.issuer.auth`) or manage keys itself: rotation,
creation and revocation are :mod:`orgbook.issuer.keys`'; reads are :mod:`orgbook.issuer.queries`'.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body
from sqlalchemy import select

from orgbook.core.errors import ConfigurationError
from orgbook.http.deps import RegistryDep
from orgbook.http.routing import PooledRoute
from orgbook.issuer.auth import ApiKeyIdPath, CallerDep
from orgbook.issuer.keys import create_api_key, revoke_api_key, rotate_key
from orgbook.issuer.models import (
    ApiKeyCreated,
    ApiKeyCreateRequest,
    ApiKeyList,
    ApiKeyRevoked,
    KeyHistory,
    KeyRotated,
)
from orgbook.issuer.queries import api_key_summary, key_history
from orgbook.issuer.store import api_keys
from orgbook.runtime.registry import Registry

__all__ = ["routes"]

routes = APIRouter(route_class=PooledRoute)
"""The key routes, in the order of the OpenAPI document."""


def _passphrase(registry: Registry) -> bytes:
    if registry.passphrase is None:
        raise ConfigurationError("this registry was opened without signing keys")
    return registry.passphrase


# --- signing keys --------------------------------------------------------------------------


@routes.get(
    "/keys",
    summary="The issuer's signing keys",
    description="Every Ed25519 key the issuer ever had (public parts only), with the ledger "
    "indices of their `issuer.key.added` and `issuer.key.retired` entries.",
    responses={401: {"description": "No valid API key."}},
)
def keys_list(caller: CallerDep, registry: RegistryDep) -> KeyHistory:
    with registry.engine.connect() as conn:
        return key_history(conn, caller.issuer)


@routes.post(
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


@routes.get(
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
    return ApiKeyList(items=[api_key_summary(row) for row in rows])


@routes.post(
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
    return ApiKeyCreated(**api_key_summary(row).model_dump(), api_key=key.key)


@routes.delete(
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
