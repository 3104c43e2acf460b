"""Expiry counts everywhere a user looks (issue 16 item 6), on both backends.

A business licence with ``validUntil`` is an organisation's only licence: before that instant
the organisation matches the credential type and issuer filters and is counted in their facets;
from it on it is not, and its profile says ``expired``. The stored ``validUntil``
(``credentials`` and ``search_tag``) is derived again, row for row, by ``orgbook ledger replay``
and the projection audit, and filled in by migration 0015 on a database at 0014.
Times are passed explicitly (``SearchQuery.at``, ``now=``): no test waits for a clock.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from sqlalchemy import Connection, inspect, select

from orgbook.issuer.authorisations import grant
from orgbook.projections.audit import audit_projections
from orgbook.projections.replay import replay
from orgbook.projections.tables import credentials, organisations
from orgbook.search import SearchQuery, facets, search, search_tag
from orgbook.storage import migrations
from orgbook.storage.engine import reading
from orgbook.verifier.licences import organisation_licences
from orgbook.verifier.pages import path_quote
from tests.authorisations.scenario import LICENCE, LICENSING, T_LATE, Scenario, build, client
from tests.factories import PASSPHRASE

EXPIRY = datetime(2026, 5, 1, tzinfo=UTC)
BEFORE = datetime(2026, 4, 15, tzinfo=UTC)
AFTER = datetime(2026, 5, 2, tzinfo=UTC)


@dataclasses.dataclass
class Expiring:
    scenario: Scenario
    org: str  # a CA-BC organisation whose only licence expires at EXPIRY
    credential_id: str


@pytest.fixture
def expiring(db_url: str, tmp_path: Path) -> Iterator[Expiring]:
    built = build(tmp_path, url=db_url)
    with reading(built.registry.engine) as conn:
        org = conn.execute(
            select(organisations.c.id)
            .where(organisations.c.jurisdiction == "CA-BC", organisations.c.id != built.bc_org)
            .order_by(organisations.c.id)
        ).scalar()
    assert org
    # the first licensing authorisation was withdrawn: a new one, then a licence that expires
    with built.registry.engine.begin() as conn:
        grant(
            conn,
            built.registry.ledger,
            data_dir=Path(built.registry.settings.data_dir),
            passphrase=PASSPHRASE,
            issuer_did=LICENSING,
            credential_type=LICENCE,
            jurisdictions=["CA-BC"],
            valid_from=T_LATE,
            now=T_LATE,
        )
    issued = built.issue(
        organisation=org,
        claims={"licenceNumber": "BL-2"},
        event_id="licence-2",
        valid_until=EXPIRY,
        now=T_LATE,
    )
    yield Expiring(built, org, str(issued.credential["id"]))
    built.registry.close()


def _ids(conn: Connection, at: datetime, **filters: str) -> list[str]:
    page = search(conn, SearchQuery(text=None, limit=100, at=at, **filters))
    return [hit.org_id for hit in page.hits]


def _counts(conn: Connection, at: datetime, text: str | None = None) -> dict[str, dict[str, int]]:
    found = facets(conn, SearchQuery(text=text, at=at))
    return {
        "type": {v.value: v.count for v in found.credential_type},
        "issuer": {v.value: v.count for v in found.issuer},
    }


def test_search_filters_and_facets_count_the_licence_only_before_it_expires(
    expiring: Expiring,
) -> None:
    s, org = expiring.scenario, expiring.org
    with reading(s.registry.engine) as conn:
        assert org in _ids(conn, BEFORE, credential_type="business-licence")
        assert org in _ids(conn, BEFORE, issuer="bc-licensing")
        before = _counts(conn, BEFORE)
        assert before["type"]["business-licence"] == 2  # bc_org's licence does not expire
        assert before["issuer"]["bc-licensing"] == 2

        for at in (EXPIRY, AFTER):  # validUntil itself is already past
            assert _ids(conn, at, credential_type="business-licence") == [s.bc_org]
            assert _ids(conn, at, issuer="bc-licensing") == [s.bc_org]
            after = _counts(conn, at)
            assert after["type"]["business-licence"] == 1
            assert after["issuer"]["bc-licensing"] == 1

        # with text (the facets of a ranked query are counted in Python, not SQL)
        name = conn.execute(
            select(organisations.c.name).where(organisations.c.id == org)
        ).scalar_one()
        hits = search(conn, SearchQuery(text=name, credential_type="business-licence", at=BEFORE))
        assert org in [hit.org_id for hit in hits.hits]
        hits = search(conn, SearchQuery(text=name, credential_type="business-licence", at=AFTER))
        assert org not in [hit.org_id for hit in hits.hits]
        assert _counts(conn, BEFORE, name)["type"].get("business-licence", 0) >= 1
        matched = _counts(conn, AFTER, name)["type"]
        by_text = search(conn, SearchQuery(text=name, limit=100, at=AFTER)).hits
        assert matched.get("business-licence", 0) == (s.bc_org in {h.org_id for h in by_text})


def test_the_profile_says_expired_and_the_api_searches_at_the_present(
    expiring: Expiring,
) -> None:
    s, org = expiring.scenario, expiring.org
    with reading(s.registry.engine) as conn:
        (licence,) = organisation_licences(conn, org, now=BEFORE)
        assert licence.status == "current"
        (licence,) = organisation_licences(conn, org, now=AFTER)
        assert licence.status == "expired"
        assert (licence.valid_until or "").startswith("2026-05-01")
    # The API reads the clock: any day from today on is after the licence expired.
    assert datetime.now(UTC) > EXPIRY
    with client(s) as http:
        profile = http.get(f"/api/v1/organisations/{path_quote(org)}").json()
        assert [x["status"] for x in profile["licences"]] == ["expired"]
        answer = http.get("/api/v1/organisations", params={"credential_type": "business-licence"})
        assert [hit["orgId"] for hit in answer.json()["hits"]] == [s.bc_org]
        counts = {v["value"]: v["count"] for v in answer.json()["facets"]["credentialType"]}
        assert counts["business-licence"] == 1


def _rows(conn: Connection) -> dict[str, list[Any]]:
    c, t = credentials, search_tag
    return {
        "credentials": [
            (row.id, _utc(row.valid_until))
            for row in conn.execute(select(c.c.id, c.c.valid_until).order_by(c.c.id))
        ],
        "search_tag": [
            (row.org_id, row.kind, row.value, _utc(row.valid_until))
            for row in conn.execute(
                select(t.c.org_id, t.c.kind, t.c.value, t.c.valid_until).order_by(
                    t.c.org_id, t.c.kind, t.c.value
                )
            )
        ],
    }


def _utc(value: datetime | None) -> datetime | None:
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=UTC)  # SQLite returns UTC without its zone


def _expiring_rows(rows: dict[str, list[Any]], expiring: Expiring) -> None:
    """What issuance stored: the licence's validUntil, and its type and issuer tags."""
    assert (expiring.credential_id, EXPIRY) in rows["credentials"]
    assert sum(1 for _, until in rows["credentials"] if until is not None) == 1
    tags = {(org, kind, value): until for org, kind, value, until in rows["search_tag"]}
    assert tags[(expiring.org, "c", "business-licence")] == EXPIRY
    assert tags[(expiring.org, "i", "bc-licensing")] == EXPIRY
    assert tags[(expiring.scenario.bc_org, "c", "business-licence")] is None


def _audit(s: Scenario) -> str:
    with reading(s.registry.engine) as conn:
        return audit_projections(conn, s.registry.ledger).summary()


def test_replay_and_the_audit_derive_the_same_rows(expiring: Expiring) -> None:
    s = expiring.scenario
    with reading(s.registry.engine) as conn:
        before = _rows(conn)
    _expiring_rows(before, expiring)
    assert _audit(s).startswith("projections sound")
    with s.registry.engine.begin() as conn:
        replay(conn, s.registry.ledger)
    with reading(s.registry.engine) as conn:
        assert _rows(conn) == before
    # a stored expiry that the ledger does not say is caught by the audit
    with s.registry.engine.begin() as conn:
        conn.execute(
            credentials.update()
            .where(credentials.c.id == expiring.credential_id)
            .values(valid_until=None)
        )
    summary = _audit(s)
    assert summary.startswith("projections UNSOUND: credentials[id="), summary
    assert ".valid_until" in summary


def test_migration_0015_fills_the_expiry_of_a_database_at_0014(expiring: Expiring) -> None:
    s = expiring.scenario
    engine = s.registry.engine
    with reading(engine) as conn:
        before = _rows(conn)
    with engine.begin() as conn:
        command.downgrade(migrations.alembic_config(conn), "0014")
        for table in ("credentials", "search_tag"):
            assert "valid_until" not in {c["name"] for c in inspect(conn).get_columns(table)}
    assert migrations.upgrade(engine) == ("0014", migrations.head_revision())
    with reading(engine) as conn:
        assert _rows(conn) == before
        assert _ids(conn, AFTER, credential_type="business-licence") == [s.bc_org]
    assert _audit(s).startswith("projections sound")
