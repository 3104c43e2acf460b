"""Public statistics on both backends: the figures agree with the projections, row by row;
they are stated as of the latest checkpoint and recomputed only when it changes."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from sqlalchemy import select

from orgbook.issuer.sample import generate_feed
from orgbook.projections.stats import StatsCache, compute_stats
from orgbook.projections.tables import credential_events, credentials, organisations
from tests.factories import ISSUER_FOR, build_registry, issue


def test_figures_match_the_projections(tmp_path: Path, db_url: str) -> None:
    registry = build_registry(tmp_path, 60, url=db_url)
    try:
        with registry.engine.connect() as conn:
            stats = compute_stats(conn)
            orgs = conn.execute(
                select(
                    organisations.c.jurisdiction,
                    organisations.c.status,
                    organisations.c.entity_type,
                )
            ).all()
            creds = conn.execute(
                select(
                    credentials.c.type,
                    credentials.c.issuer_id,
                    credentials.c.state,
                    credentials.c.effective,
                )
            ).all()
            issued = conn.execute(
                select(credential_events.c.at).where(credential_events.c.kind == "issued")
            ).all()
            size = registry.ledger.size(conn)
        assert stats.organisations == len(orgs) == 60
        as_dict = lambda counts: {c.value: c.count for c in counts}  # noqa: E731
        assert as_dict(stats.by_jurisdiction) == Counter(r.jurisdiction for r in orgs)
        assert as_dict(stats.by_status) == Counter(r.status for r in orgs)
        assert as_dict(stats.by_entity_type) == Counter(
            r.entity_type for r in orgs if r.entity_type
        )
        assert stats.credentials == len(creds)
        assert as_dict(stats.by_credential_type) == Counter(r.type for r in creds)
        assert as_dict(stats.by_issuer) == Counter(r.issuer_id for r in creds)
        assert all(c.label for c in stats.by_issuer)  # the issuer's name
        registrations = Counter(
            r.effective.strftime("%Y-%m")
            for r in creds
            if r.type == "registration" and r.state != "superseded"
        )
        assert as_dict(stats.registrations_per_month) == dict(registrations)
        assert as_dict(stats.issuances_per_month) == Counter(r.at.strftime("%Y-%m") for r in issued)
        assert [c.value for c in stats.issuances_per_month] == sorted(
            c.value for c in stats.issuances_per_month
        )
        # the figures name the checkpoint they are of: the whole ledger (signed per issuance)
        assert stats.checkpoint is not None
        assert stats.checkpoint.tree_size == stats.ledger_size == size
        assert len(stats.checkpoint.note_sha256) == 64
        # largest first
        counts = [c.count for c in stats.by_jurisdiction]
        assert counts == sorted(counts, reverse=True)
    finally:
        registry.close()


def test_cache_recomputes_only_for_a_new_checkpoint(tmp_path: Path, db_url: str) -> None:
    registry = build_registry(tmp_path, 10, url=db_url)
    try:
        cache = StatsCache()
        first = cache.get(registry.engine)
        assert cache.get(registry.engine) is first
        assert cache.computations == 1
        issue(registry, list(generate_feed(3, seed=99, jurisdictions=tuple(ISSUER_FOR))))
        second = cache.get(registry.engine)
        assert second is not first
        assert cache.computations == 2
        assert second.checkpoint is not None
        assert first.checkpoint is not None
        assert second.checkpoint.tree_size > first.checkpoint.tree_size
        assert cache.get(registry.engine) is second
    finally:
        registry.close()


def test_empty_register(tmp_path: Path, engine: object) -> None:
    from sqlalchemy import Engine

    assert isinstance(engine, Engine)
    with engine.connect() as conn:
        stats = compute_stats(conn)
    assert stats.checkpoint is None
    assert stats.organisations == stats.credentials == stats.ledger_size == 0
    assert stats.issuances_per_month == []
