"""``GET /api/v1/stats``: the register's public statistics as JSON, as of a signed checkpoint.

What it owns: the statistics endpoint, its response model (in the OpenAPI document), and the
application's one :class:`~orgbook.projections.stats.StatsCache` (:func:`stats_of`), which the
web pages share (:mod:`orgbook.verifier.stats_web`; :func:`home_summary` for the home page).

What it must not do: compute a figure (:mod:`orgbook.projections.stats` does, in SQL), or
render HTML.
"""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, FastAPI, Request
from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel
from starlette.concurrency import run_in_threadpool

from orgbook.config import Settings
from orgbook.http.deps import get_engine
from orgbook.http.ratelimit import rate_limited
from orgbook.http.routing import PooledRoute
from orgbook.projections.stats import Count, RegisterStats, StatsCache

__all__ = ["CHECKPOINT_URL", "StatsOut", "home_summary", "router", "routes", "stats_of"]

CHECKPOINT_URL = "/api/v1/ledger/checkpoint"


class _Out(BaseModel):
    model_config = ConfigDict(
        alias_generator=to_camel, populate_by_name=True, serialize_by_alias=True, frozen=True
    )


class CountOut(_Out):
    value: str = Field(description="The value counted (a code, a slug, an issuer id, `YYYY-MM`)")
    count: int
    label: str | None = Field(
        None, description="An issuer's name; a registered credential type's English name"
    )
    names: dict[str, str] | None = Field(
        None, description="A registered credential type's names by language (`en`, `fr`)"
    )


class CheckpointOut(_Out):
    origin: str
    tree_size: int = Field(description="Entries the checkpoint commits to")
    root_hash: str = Field(description="Its Merkle tree root, hex")
    note_sha256: str = Field(description="SHA-256 of the signed checkpoint note (UTF-8), hex")
    url: str = Field(description="Where the latest signed checkpoint note is served")


class OrganisationStatsOut(_Out):
    total: int
    by_jurisdiction: list[CountOut]
    by_entity_type: list[CountOut]
    by_status: list[CountOut]


class CredentialStatsOut(_Out):
    total: int = Field(description="Every credential issued (current, superseded, revoked)")
    by_type: list[CountOut]
    by_issuer: list[CountOut]


class StatsOut(_Out):
    as_of: CheckpointOut | None = Field(
        description="The signed checkpoint every figure is stated against (none before the "
        "first issuance)"
    )
    ledger_size: int = Field(description="Ledger entries reflected by the figures")
    computed_at: datetime
    organisations: OrganisationStatsOut
    credentials: CredentialStatsOut
    registrations_per_month: list[CountOut] = Field(
        description="Registration credentials (not superseded) by the month they took effect"
    )
    issuances_per_month: list[CountOut] = Field(
        description="`credential.issued` ledger entries by the month they were logged"
    )


def _counts(counts: list[Count]) -> list[CountOut]:
    return [CountOut(value=c.value, count=c.count, label=c.label, names=c.names) for c in counts]


def to_out(stats: RegisterStats) -> StatsOut:
    cp = stats.checkpoint
    return StatsOut(
        as_of=None
        if cp is None
        else CheckpointOut(
            origin=cp.origin,
            tree_size=cp.tree_size,
            root_hash=cp.root_hex,
            note_sha256=cp.note_sha256,
            url=CHECKPOINT_URL,
        ),
        ledger_size=stats.ledger_size,
        computed_at=stats.computed_at,
        organisations=OrganisationStatsOut(
            total=stats.organisations,
            by_jurisdiction=_counts(stats.by_jurisdiction),
            by_entity_type=_counts(stats.by_entity_type),
            by_status=_counts(stats.by_status),
        ),
        credentials=CredentialStatsOut(
            total=stats.credentials,
            by_type=_counts(stats.by_credential_type),
            by_issuer=_counts(stats.by_issuer),
        ),
        registrations_per_month=_counts(stats.registrations_per_month),
        issuances_per_month=_counts(stats.issuances_per_month),
    )


def stats_of(app: FastAPI) -> StatsCache:
    """The application's statistics cache (one per application, made on first use)."""
    cache = getattr(app.state, "stats_cache", None)
    if not isinstance(cache, StatsCache):
        cache = StatsCache()
        app.state.stats_cache = cache
    return cache


async def current_stats(request: Request) -> RegisterStats:
    """The figures as of the latest checkpoint (computed in a worker thread when it changed)."""
    return await run_in_threadpool(stats_of(request.app).get, get_engine(request))


def home_summary(request: Request) -> RegisterStats:
    """The figures the home page summarises, for a sync page handler (from the cache)."""
    return stats_of(request.app).get(get_engine(request))


routes = APIRouter(
    route_class=PooledRoute,
    prefix="/api/v1",
    tags=["statistics"],
    dependencies=[rate_limited("read")],
)
"""``GET /api/v1/stats``."""


@routes.get(
    "/stats",
    summary="Public statistics of the register",
    description=(
        "Organisations by jurisdiction, entity type and status; credentials by type and "
        "issuer; registrations and issuances per month; the ledger's size. Every figure is "
        "stated as of the signed checkpoint in `asOf` and computed once per checkpoint."
    ),
    response_model=StatsOut,
)
async def stats(request: Request) -> StatsOut:
    return to_out(await current_stats(request))


def router(settings: Settings) -> APIRouter:
    """:data:`routes` (``settings`` unused: routes read the application's, as dependencies)."""
    _ = settings
    return routes
