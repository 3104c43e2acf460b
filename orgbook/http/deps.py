"""Dependencies routes declare, as ``Annotated`` aliases: ``SettingsDep``, ``EngineDep``…

Everything comes from the application (``app.state``), never from module globals, so an app made
by ``create_app(settings, engine=…)`` in a test serves exactly that configuration; tests may also
replace any of these with ``app.dependency_overrides[get_engine] = …``.

The ``*Dep`` aliases resolve through ``async def`` twins of these functions: FastAPI runs a
plain ``def`` dependency in the thread pool, and a route taking ``EngineDep``, ``SettingsDep``
and ``RegistryDep`` paid three thread hops (each a wait for a free worker thread and for the
GIL under load) to read three attributes. The twins honour overrides of the plain functions,
which stay what other modules call directly.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, TypeVar

from fastapi import Depends
from sqlalchemy import Engine
from starlette.requests import Request

from orgbook.config import Settings
from orgbook.core.errors import ConfigurationError
from orgbook.http.middleware import new_request_id
from orgbook.http.problems import REQUEST_ID_SCOPE_KEY
from orgbook.runtime.registry import Registry


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


def get_optional_registry(request: Request) -> Registry | None:
    """The application's registry, or None (verification, status lists and most pages work
    without one; a verifier replica opened without keys has none)."""
    registry = getattr(request.app.state, "registry", None)
    return registry if isinstance(registry, Registry) else None


def get_request_id(request: Request) -> str:
    """This request's id (as echoed in ``X-Request-ID`` and in logs)."""
    rid = request.scope.get(REQUEST_ID_SCOPE_KEY)
    if not isinstance(rid, str):
        rid = new_request_id()
        request.scope[REQUEST_ID_SCOPE_KEY] = rid
    return rid


T = TypeVar("T")


def resolve(request: Request, dependency: Callable[[Request], T]) -> T:
    """``dependency(request)``, or its override in ``app.dependency_overrides`` if any."""
    overrides = getattr(request.app, "dependency_overrides", None) or {}
    found: Callable[[Request], T] = overrides.get(dependency, dependency)
    return found(request)


async def _settings_dep(request: Request) -> Settings:
    return resolve(request, get_settings_dep)


async def _engine_dep(request: Request) -> Engine:
    return resolve(request, get_engine)


async def _registry_dep(request: Request) -> Registry:
    return resolve(request, get_registry)


async def _optional_registry_dep(request: Request) -> Registry | None:
    return resolve(request, get_optional_registry)


async def _request_id_dep(request: Request) -> str:
    return resolve(request, get_request_id)


SettingsDep = Annotated[Settings, Depends(_settings_dep)]
EngineDep = Annotated[Engine, Depends(_engine_dep)]
RegistryDep = Annotated[Registry, Depends(_registry_dep)]
OptionalRegistryDep = Annotated[Registry | None, Depends(_optional_registry_dep)]
RequestIdDep = Annotated[str, Depends(_request_id_dep)]

__all__ = [
    "EngineDep",
    "OptionalRegistryDep",
    "RegistryDep",
    "RequestIdDep",
    "SettingsDep",
    "get_engine",
    "get_optional_registry",
    "get_registry",
    "get_request_id",
    "get_settings_dep",
    "resolve",
]
