"""``/healthz`` (the process answers) and ``/readyz`` (the database answers, at the right schema).

Load balancers and orchestrators poll these; they are not rate-limited, cheap, and never cached.
A readiness probe is one query, ``SELECT version_num FROM alembic_version``, compared with the
migration head this release ships (read from the migration scripts once per process). Not ready
is a 503 problem+json naming the failed check:

* ``database``: the database does not answer;
* ``schema``: the database is not at this release's head — never migrated, behind (run
  ``orgbook db upgrade``), or at a revision this release does not know (a newer release upgraded
  it). Servers upgrade at start-up, so a replica meets this when the database changes under it.

The ledger tables are not inspected: the migrations up to the head create them, and
``orgbook db check`` is the tool for a schema changed by hand.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from fastapi import APIRouter
from fastapi.routing import APIRoute
from pydantic import BaseModel
from sqlalchemy import Engine, text
from sqlalchemy.exc import DBAPIError
from starlette.concurrency import run_in_threadpool

from orgbook.core.errors import PROBLEM_BASE, OrgBookError
from orgbook.http.deps import EngineDep
from orgbook.http.routing import PooledRoute
from orgbook.storage.engine import read_only

__all__ = [
    "ExpectedSchema",
    "Health",
    "NotReady",
    "Readiness",
    "check_ready",
    "expected_schema",
    "router",
    "routes",
    "schema_problem",
]

log = logging.getLogger(__name__)

_REVISION_QUERY = text("SELECT version_num FROM alembic_version")


class Health(BaseModel):
    status: Literal["ok"] = "ok"


class Readiness(BaseModel):
    status: Literal["ready"] = "ready"
    checks: dict[str, str]


class NotReady(OrgBookError):
    status = 503
    title = "Not ready"
    slug = "not-ready"


@dataclass(frozen=True, slots=True)
class ExpectedSchema:
    """The migration head this release expects, and every revision it ships."""

    head: str
    known: frozenset[str]


@functools.cache
def expected_schema() -> ExpectedSchema:
    """Read from the migration scripts once per process.

    Once, so that a package replaced on disk under a running process does not change what that
    process (the old code) expects.
    """
    from alembic.script import ScriptDirectory

    from orgbook.storage.migrations import alembic_config

    scripts = ScriptDirectory.from_config(alembic_config())
    head = scripts.get_current_head()
    if head is None:
        raise RuntimeError("the migration scripts have no head")
    return ExpectedSchema(head=head, known=frozenset(s.revision for s in scripts.walk_revisions()))


def schema_problem(revisions: Sequence[str], expected: ExpectedSchema) -> str | None:
    """Why a database stamped with ``revisions`` is not ready for this release (None: it is)."""
    if list(revisions) == [expected.head]:
        return None
    wanted = f"this release expects {expected.head}"
    if not revisions:
        return f"Database has no schema revision, {wanted}; run `orgbook db upgrade`."
    at = ", ".join(sorted(revisions))
    if any(r not in expected.known for r in revisions):
        return (
            f"Database at revision {at}, which this release does not know (upgraded by a newer "
            f"release?); {wanted}."
        )
    return f"Database at revision {at}, {wanted}; run `orgbook db upgrade`."


def check_ready(engine: Engine) -> dict[str, str]:
    """Run the readiness checks; raise :class:`NotReady` naming the first that fails."""
    expected = expected_schema()
    try:
        # DEFERRED on SQLite: a probe must not queue behind writers for the write lock.
        with read_only(engine).connect() as conn:
            try:
                revisions = [str(r) for r in conn.execute(_REVISION_QUERY).scalars()]
            except DBAPIError as exc:
                if exc.connection_invalidated:
                    raise
                # The database answered: it has no ``alembic_version`` it will show us.
                log.debug("readiness: no schema revision: %s", type(exc.orig).__name__)
                revisions = []
    except Exception as exc:
        log.warning("readiness: database unreachable: %s", type(exc).__name__, exc_info=exc)
        raise NotReady("The database is unreachable.", check="database") from None
    problem = schema_problem(revisions, expected)
    if problem is not None:
        log.warning("readiness: %s", problem)
        raise NotReady(problem, check="schema")
    return {"database": "ok", "schema": "ok"}


def _readyz_description(head: str) -> str:
    return (
        "Readiness: one query of the database's schema revision (`alembic_version`). "
        "200 lists the checks passed (`database`, `schema`); 503 problem+json names the "
        "failed one in `check`: `database` (unreachable) or `schema` (not at revision "
        f"`{head}`, the migration head of this release: not upgraded yet — run "
        "`orgbook db upgrade` — or upgraded by a newer release)."
    )


routes = APIRouter(route_class=PooledRoute, tags=["health"])
"""``/healthz`` and ``/readyz``; :func:`router` writes the migration head into the latter's
description."""


@routes.get("/healthz", summary="The process is alive")
async def healthz() -> Health:
    return Health()


@routes.get(
    "/readyz",
    summary="The database is reachable and at this release's schema revision",
    description=_readyz_description("…"),  # the head: see router()
    responses={503: {"description": f"Not ready ({PROBLEM_BASE}not-ready)"}},
)
async def readyz(engine: EngineDep) -> Readiness:
    return Readiness(checks=await run_in_threadpool(check_ready, engine))


def router() -> APIRouter:
    """:data:`routes`, ``/readyz`` described with this release's migration head.

    The head is read from the migration scripts here, when an application is made, and not at
    import time (importing the shell does no work): the one thing the routes do not know when
    they are declared. The same head every time (:func:`expected_schema` reads it once).
    """
    head = expected_schema().head
    for route in routes.routes:
        if isinstance(route, APIRoute) and route.endpoint is readyz:
            route.description = _readyz_description(head)
    return routes
