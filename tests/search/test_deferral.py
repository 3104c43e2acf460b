"""Bulk feeds build the search index once per organisation, at the feed's end.

``ingest_file`` issues each batch with ``defer_search=True``: the touched organisations are
marked in ``search_pending`` (in the batch's transaction) and indexed when the feed ends, or when
the next feed starts after a crash. What users rely on: after a feed the search index is exactly
the one per-batch indexing (the API's path) builds, and a feed killed before its end loses no
organisation from search.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Connection, func, select

from orgbook.issuer import bulk
from orgbook.issuer.bulk import ingest_file
from orgbook.issuer.sample import write_feed
from orgbook.issuer.service import Issuance
from orgbook.projections.replay import replay
from orgbook.projections.searchdocs import flush_pending, pending_count
from orgbook.projections.tables import organisations, search_pending
from orgbook.runtime.registry import Registry
from orgbook.search import SEARCH_TABLES, SearchQuery, search, search_term
from tests.factories import add_issuers, new_registry

BC = "bc-registries"


def _feed(path: Path, n_orgs: int, seed: int = 5) -> Path:
    write_feed(path, n_orgs, seed=seed, fmt="jsonl", jurisdictions=("CA-BC",))
    return path


def _registry(path: Path, url: str | None = None) -> Registry:
    registry = new_registry(path, url=url if url and url.startswith("postgresql") else None)
    add_issuers(registry)
    return registry


def _search_rows(conn: Connection) -> dict[str, Any]:
    """Every search table's rows, in a canonical order (vocabulary ids depend on timing)."""
    dump: dict[str, Any] = {}
    for table in SEARCH_TABLES:
        if table is search_term:
            dump[table.name] = sorted(conn.execute(select(table.c.term)).scalars())
            continue
        columns = [c for c in table.c if c.name != "id"]  # search_name's row id: insert order
        rows = conn.execute(select(*columns)).all()
        dump[table.name] = sorted(tuple(str(v) for v in row) for row in rows)
    return dump


def _org_names(conn: Connection) -> list[tuple[str, str]]:
    return [
        (row.id, row.name)
        for row in conn.execute(select(organisations.c.id, organisations.c.name))
        if row.name
    ]


def test_a_bulk_feed_indexes_exactly_what_per_batch_indexing_does(
    tmp_path: Path, db_url: str
) -> None:
    feed = _feed(tmp_path / "feed.jsonl", 70)
    records = [json.loads(line) for line in feed.read_text(encoding="utf-8").splitlines()]

    bulk_registry = _registry(tmp_path / "bulk", db_url)  # the API side is SQLite
    ingest_file(Issuance(bulk_registry), BC, feed, batch_size=37, progress=False)

    api_registry = _registry(tmp_path / "api")
    issuance: Any = Issuance(api_registry)
    for start in range(0, len(records), 37):
        issuance.submit(BC, records[start : start + 37])  # reindexes in every batch

    with bulk_registry.engine.connect() as a, api_registry.engine.connect() as b:
        assert pending_count(a) == 0
        bulk_rows, api_rows = _search_rows(a), _search_rows(b)
        assert len(bulk_rows["search_org"]) == len(_org_names(a)) > 0
    assert bulk_rows == api_rows
    bulk_registry.close()
    api_registry.close()


def test_a_feed_killed_before_indexing_is_indexed_by_the_next_run(
    tmp_path: Path, db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    feed = _feed(tmp_path / "feed.jsonl", 30)
    registry = _registry(tmp_path / "r", db_url)
    issuance: Any = Issuance(registry)
    # The process dies after its last batch committed, before the search index was built.
    monkeypatch.setattr(bulk, "_flush_search", lambda *args: None)
    ingest_file(issuance, BC, feed, batch_size=20, progress=False)
    with registry.engine.connect() as conn:
        names = _org_names(conn)
        assert pending_count(conn) == len(names) > 0
        missing = search(conn, SearchQuery(names[0][1]))
        assert names[0][0] not in {hit.org_id for hit in missing.hits}

    monkeypatch.undo()
    again = ingest_file(issuance, BC, feed, batch_size=20, progress=False)
    assert again.records == 0  # nothing left to issue, yet the search index is built
    with registry.engine.connect() as conn:
        assert pending_count(conn) == 0
        for org_id, name in names:
            hits = search(conn, SearchQuery(name, limit=100)).hits
            assert org_id in {hit.org_id for hit in hits}, name
    registry.close()


def test_flushing_is_resumable_chunk_by_chunk(tmp_path: Path, db_url: str) -> None:
    feed = _feed(tmp_path / "feed.jsonl", 25)
    registry = _registry(tmp_path / "r", db_url)
    issuance: Any = Issuance(registry)
    records = [json.loads(line) for line in feed.read_text(encoding="utf-8").splitlines()]
    issuance.submit(BC, records, defer_search=True)
    seen: list[int] = []
    with registry.engine.connect() as conn:
        with conn.begin():
            waiting = pending_count(conn)
            assert waiting == len(_org_names(conn))
        assert flush_pending(conn, chunk=7, progress=seen.append) == waiting
        assert seen == sorted(seen)
        assert seen[0] == 7
        assert seen[-1] == waiting
        assert flush_pending(conn) == 0
        with conn.begin():
            assert pending_count(conn) == 0
    registry.close()


def test_replay_rebuilds_search_and_clears_what_was_pending(tmp_path: Path) -> None:
    feed = _feed(tmp_path / "feed.jsonl", 20)
    registry = _registry(tmp_path / "r")
    issuance: Any = Issuance(registry)
    records = [json.loads(line) for line in feed.read_text(encoding="utf-8").splitlines()]
    issuance.submit(BC, records, defer_search=True)
    with registry.engine.begin() as conn:
        assert pending_count(conn) > 0
        replay(conn, registry.ledger)
    with registry.engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(search_pending)).scalar_one() == 0
        name_rows = _org_names(conn)
        assert len(_search_rows(conn)["search_org"]) == len(name_rows)
    registry.close()
