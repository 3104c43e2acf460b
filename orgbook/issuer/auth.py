"""Who calls the issuer API: bearer authentication with per-issuer API keys.

What it owns: the ``IssuerApiKey`` security scheme, :class:`Caller` and the ``CallerDep``
dependency (``Authorization: Bearer <key>``; a missing, malformed, unknown or revoked key is 401
with ``WWW-Authenticate: Bearer``, RFC 6750, before anything is read or written), the
``no-store`` dependency every issuer answer gets, and the path parameters the routes share.

What it must not do: decide what a caller may do (the service decides, by issuer id) or hold
routes (:mod:`orgbook.issuer.api`). API keys themselves are :mod:`orgbook.issuer.keys`'.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Path, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from orgbook.core.errors import Unauthorized
from orgbook.http.deps import RegistryDep
from orgbook.http.middleware import no_store
from orgbook.http.problems import HEADERS_ATTR
from orgbook.issuer.keys import Issuer, authenticate_api_key, get_issuer

__all__ = ["ApiKeyIdPath", "Caller", "CallerDep", "CredentialIdPath", "no_store"]
# no_store (orgbook.http.middleware) is re-exported: every issuer answer gets it.

REALM = "orgbook issuer API"

_bearer = HTTPBearer(
    auto_error=False,
    scheme_name="IssuerApiKey",
    description="A per-issuer API key (`obk_<id>_<secret>`), created with "
    "`orgbook issuer api-key create` or `POST /api/v1/issuer/api-keys`.",
)


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
