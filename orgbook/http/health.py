"""``/healthz`` (the process answers) and ``/readyz`` (the database answers, the ledger exists).

Load balancers and orchestrators poll these; they are not rate-limited, cheap, and never cached.
Not ready is a 503 problem+json naming the failed check.
"""

from __future__ import annotations

import logging
from typing import Literal

from fastapi import APIRouter
from pydantic import BaseModel
from sqlalchemy import Engine, inspect, text
from starlette.concurrency import run_in_threadpool

from orgbook.db import import_table_modules, metadata
from orgbook.errors import PROBLEM_BASE, OrgBookError
from orgbook.http.deps import EngineDep

log = logging.getLogger(__name__)

LEDGER_TABLE_PREFIX = "ledger"


class Health(BaseModel):
    status: Literal["ok"] = "ok"


class Readiness(BaseModel):
    status: Literal["ready"] = "ready"
    checks: dict[str, str]


class NotReady(OrgBookError):
    status = 503
    title = "Not ready"
    slug = "not-ready"


def ledger_tables() -> list[str]:
    """The tables the ledger store declares (empty until ``orgbook.ledger.store`` exists)."""
    import_table_modules()
    return sorted(t for t in metadata.tables if t.startswith(LEDGER_TABLE_PREFIX))


def check_ready(engine: Engine) -> dict[str, str]:
    """Run the readiness checks; raise :class:`NotReady` naming the first that fails."""
    checks: dict[str, str] = {}
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
            checks["database"] = "ok"
            wanted = ledger_tables()
            present = set(inspect(conn).get_table_names())
    except Exception as exc:
        log.warning("readiness: database unreachable: %s", type(exc).__name__, exc_info=exc)
        raise NotReady("The database is unreachable.", check="database") from None
    missing = [t for t in wanted if t not in present]
    if missing:
        raise NotReady(f"Ledger tables missing: {', '.join(missing)}.", check="ledger")
    checks["ledger"] = "ok" if wanted else "not installed"
    return checks


def router() -> APIRouter:
    api = APIRouter(tags=["health"])

    @api.get("/healthz", summary="The process is alive")
    async def healthz() -> Health:
        return Health()

    @api.get(
        "/readyz",
        summary="The database is reachable and the ledger exists",
        responses={503: {"description": f"Not ready ({PROBLEM_BASE}not-ready)"}},
    )
    async def readyz(engine: EngineDep) -> Readiness:
        return Readiness(checks=await run_in_threadpool(check_ready, engine))

    return api


__all__ = ["Health", "NotReady", "Readiness", "check_ready", "ledger_tables", "router"]
