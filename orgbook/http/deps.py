"""Dependencies routes declare, as ``Annotated`` aliases: ``SettingsDep``, ``EngineDep``…

Everything comes from the application (``app.state``), never from module globals, so an app made
by ``create_app(settings, engine=…)`` in a test serves exactly that configuration; tests may also
replace any of these with ``app.dependency_overrides[get_engine] = …``.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends
from sqlalchemy import Engine
from starlette.requests import Request

from orgbook.config import Settings
from orgbook.errors import ConfigurationError
from orgbook.http.middleware import new_request_id
from orgbook.http.problems import REQUEST_ID_SCOPE_KEY
from orgbook.registry import Registry


def get_settings_dep(request: Request) -> Settings:
    """The settings the application was created with."""
    settings = getattr(request.app.state, "settings", None)
    if not isinstance(settings, Settings):
        raise ConfigurationError("the application has no settings (use orgbook.app.create_app)")
    return settings


def get_engine(request: Request) -> Engine:
    """The application's database engine."""
    engine = getattr(request.app.state, "engine", None)
    if not isinstance(engine, Engine):
        raise ConfigurationError("the application has no engine (use orgbook.app.create_app)")
    return engine


def get_registry(request: Request) -> Registry:
    """The registry (ledger, issuance) the application was created with."""
    registry = getattr(request.app.state, "registry", None)
    if not isinstance(registry, Registry):
        raise ConfigurationError(
            "the application has no registry (create_app(settings, registry=open_registry(…)))"
        )
    return registry


def get_request_id(request: Request) -> str:
    """This request's id (as echoed in ``X-Request-ID`` and in logs)."""
    rid = request.scope.get(REQUEST_ID_SCOPE_KEY)
    if not isinstance(rid, str):
        rid = new_request_id()
        request.scope[REQUEST_ID_SCOPE_KEY] = rid
    return rid


SettingsDep = Annotated[Settings, Depends(get_settings_dep)]
EngineDep = Annotated[Engine, Depends(get_engine)]
RegistryDep = Annotated[Registry, Depends(get_registry)]
RequestIdDep = Annotated[str, Depends(get_request_id)]

__all__ = [
    "EngineDep",
    "RegistryDep",
    "RequestIdDep",
    "SettingsDep",
    "get_engine",
    "get_registry",
    "get_request_id",
    "get_settings_dep",
]
