"""A suspended credential leaves the search filters and facets until it is unsuspended.

The business licence of the scenario's CA-BC organisation is its only one: while suspended,
the organisation no longer matches the credential type and issuer filters, nor counts in their
facets (a suspended licence is not a licence to show); unsuspended, it does again. The index
after each step is what ``orgbook ledger replay`` derives and what the projection audit
expects, on both backends; migration 0016 derives it on a database whose index still counted
suspended credentials.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import Connection, delete, insert, select

from orgbook.issuer.service import Issuance
from orgbook.projections.audit import audit_projections
from orgbook.search import SearchQuery, facets, search, search_tag
from orgbook.storage import migrations
from orgbook.storage.engine import reading
from tests.authorisations.scenario import NOW, T_LATE, Scenario, build

pytestmark = pytest.mark.integration


@pytest.fixture
def scenario(db_url: str, tmp_path: Path) -> Iterator[Scenario]:
    built = build(tmp_path, url=db_url)
    yield built
    built.registry.close()


def _seen(s: Scenario, *, audited: bool = True) -> tuple[bool, bool, int, int]:
    """Whether the organisation matches the type and issuer filters, and the two facet counts."""
    with reading(s.registry.engine) as conn:
        by_type = search(
            conn, SearchQuery(text=None, limit=100, at=NOW, credential_type="business-licence")
        )
        by_issuer = search(conn, SearchQuery(text=None, limit=100, at=NOW, issuer="bc-licensing"))
        counted = facets(conn, SearchQuery(text=None, at=NOW))
        audit = audit_projections(conn, s.registry.ledger).summary()
    if audited:
        assert audit.startswith("projections sound"), audit
    else:  # the audit sees what a stale index holds
        assert "search_tag[" in audit, audit
    return (
        s.bc_org in {hit.org_id for hit in by_type.hits},
        s.bc_org in {hit.org_id for hit in by_issuer.hits},
        {v.value: v.count for v in counted.credential_type}.get("business-licence", 0),
        {v.value: v.count for v in counted.issuer}.get("bc-licensing", 0),
    )


def test_a_suspended_licence_leaves_the_filters_and_facets_until_unsuspended(
    scenario: Scenario,
) -> None:
    licence = str(scenario.licence.credential["id"])
    issuance = Issuance(scenario.registry)
    assert _seen(scenario) == (True, True, 1, 1)

    issuance.change_status("bc-licensing", licence, "suspend", reason="inspection", now=T_LATE)
    assert _seen(scenario) == (False, False, 0, 0)

    issuance.change_status("bc-licensing", licence, "unsuspend", reason="cleared", now=NOW)
    assert _seen(scenario) == (True, True, 1, 1)

    issuance.change_status("bc-licensing", licence, "revoke", reason="closed", now=NOW)
    assert _seen(scenario) == (False, False, 0, 0)


def _tags(conn: Connection, org_id: str) -> list[tuple[str, str]]:
    t = search_tag
    query = select(t.c.kind, t.c.value).where(t.c.org_id == org_id).order_by(t.c.kind, t.c.value)
    return [(row.kind, row.value) for row in conn.execute(query)]


def test_migration_0016_drops_the_tags_of_suspended_credentials(scenario: Scenario) -> None:
    s, engine = scenario, scenario.registry.engine
    with reading(engine) as conn:
        held = _tags(conn, s.bc_org)
    assert ("c", "business-licence") in held
    licence = str(s.licence.credential["id"])
    Issuance(s.registry).change_status("bc-licensing", licence, "suspend", reason="x", now=T_LATE)
    with reading(engine) as conn:
        suspended = _tags(conn, s.bc_org)
    assert ("c", "business-licence") not in suspended
    assert ("i", "bc-licensing") not in suspended
    # A database at 0015: its index was written while suspension did not count.
    with engine.begin() as conn:
        command.downgrade(migrations.alembic_config(conn), "0015")
        conn.execute(delete(search_tag).where(search_tag.c.org_id == s.bc_org))
        rows = [{"org_id": s.bc_org, "kind": k, "value": v, "valid_until": None} for k, v in held]
        conn.execute(insert(search_tag), rows)
    assert _seen(s, audited=False)[:2] == (True, True)
    assert migrations.upgrade(engine) == ("0015", migrations.head_revision())
    with reading(engine) as conn:
        assert _tags(conn, s.bc_org) == suspended
    assert _seen(s) == (False, False, 0, 0)
