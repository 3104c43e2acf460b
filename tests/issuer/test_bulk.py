"""Bulk feeds (``orgbook ingest``): JSON Lines and CSV, rejects, re-runs, flat memory, progress.

The compiled record check the bulk path relies on is tested in tests/issuer/test_record_fast.py.
"""

from __future__ import annotations

import copy
import json
import resource
from pathlib import Path
from typing import Any

import orjson
import pytest
from sqlalchemy import func, select

from orgbook.issuer.bulk import ingest_file
from orgbook.issuer.sample import generate_feed, write_feed
from orgbook.issuer.service import Issuance
from orgbook.issuer.store import ingest_progress, ingested_events
from orgbook.projections.tables import credentials
from orgbook.runtime.registry import Registry
from tests.factories import add_issuers, new_registry

BC = "bc-registries"


@pytest.fixture
def registry(tmp_path: Path) -> Registry:
    registry = new_registry(tmp_path)
    add_issuers(registry)
    return registry


def _count(registry: Registry, table: Any) -> int:
    with registry.engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(table)).scalar_one())


def _ledger_size(registry: Registry) -> int:
    with registry.engine.connect() as conn:
        return registry.ledger.size(conn)


def _feed(path: Path, n_orgs: int, fmt: str = "jsonl", seed: int = 3) -> Path:
    write_feed(path, n_orgs, seed=seed, fmt=fmt, jurisdictions=("CA-BC",))
    return path


def test_jsonl_feed_is_issued(registry: Registry, tmp_path: Path) -> None:
    feed = _feed(tmp_path / "feed.jsonl", 60)
    lines = len(feed.read_text(encoding="utf-8").splitlines())
    result = ingest_file(Issuance(registry), BC, feed, batch_size=50, progress=False)  # type: ignore[arg-type]
    assert result.records == lines
    assert result.rejected == 0
    assert result.reject_file is None
    assert result.issued + result.history == lines
    assert _count(registry, credentials) == result.credentials > lines
    assert _count(registry, ingested_events) == lines
    with registry.engine.connect() as conn:
        row = conn.execute(select(ingest_progress)).one()
    assert row.finished
    assert row.lines_done == lines
    assert row.issued == result.credentials


def test_csv_feed_issues_what_the_jsonl_feed_issues(tmp_path: Path) -> None:
    counts = []
    for fmt in ("jsonl", "csv"):
        registry = new_registry(tmp_path / fmt)
        add_issuers(registry)
        feed = _feed(tmp_path / f"feed.{fmt}", 40, fmt)
        result = ingest_file(Issuance(registry), BC, feed, batch_size=64, progress=False)  # type: ignore[arg-type]
        assert result.rejected == 0
        counts.append((result.records, result.credentials, _count(registry, credentials)))
        registry.close()
    assert counts[0] == counts[1]


def _bad_feed(path: Path) -> tuple[Path, dict[int, str]]:
    """A feed with good records and, at known lines, records that must be rejected."""
    good = list(generate_feed(10, seed=5, jurisdictions=("CA-BC",)))
    bad_lines: dict[int, str] = {}
    lines: list[str] = []
    for record in good:
        lines.append(orjson.dumps(record).decode())
        if len(lines) == 3:
            lines.append('{"event_id": "broken", "kind": ')  # not JSON
            bad_lines[len(lines)] = "malformed JSON"
        if len(lines) == 7:
            wrong = copy.deepcopy(good[0]) | {"event_id": "x-1", "effective_date": "2021-02-30"}
            lines.append(json.dumps(wrong))
            bad_lines[len(lines)] = "/effective_date"
        if len(lines) == 12:
            lines.append(json.dumps({"event_id": "x-2", "kind": "registration"}))
            bad_lines[len(lines)] = "/jurisdiction"
        if len(lines) == 15:
            elsewhere = copy.deepcopy(good[0]) | {"event_id": "x-3", "jurisdiction": "CA-NS"}
            lines.append(json.dumps(elsewhere))
            bad_lines[len(lines)] = "CA-NS"
    lines.insert(5, "")  # blank lines are skipped, line numbers still count them
    bad_lines = {(n + 1 if n >= 6 else n): why for n, why in bad_lines.items()}
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path, bad_lines


def test_invalid_records_go_to_the_reject_file_and_the_rest_continue(
    registry: Registry, tmp_path: Path
) -> None:
    feed, bad = _bad_feed(tmp_path / "mixed.jsonl")
    total = sum(1 for line in feed.read_text(encoding="utf-8").splitlines() if line.strip())
    result = ingest_file(Issuance(registry), BC, feed, batch_size=4, progress=False)  # type: ignore[arg-type]
    assert result.rejected == len(bad)
    assert result.issued + result.history == total - len(bad)
    assert result.reject_file is not None
    rejects = [json.loads(line) for line in Path(result.reject_file).read_text().splitlines()]
    assert [r["line"] for r in rejects] == sorted(bad)
    for reject in rejects:
        text = json.dumps(reject["problem"], ensure_ascii=False)
        assert bad[reject["line"]] in text, (reject, bad[reject["line"]])
    for reject in rejects[1:]:
        assert reject["problem"]["detail"]
    # Every good record was issued exactly once.
    assert _count(registry, ingested_events) == total - len(bad)


def test_rerunning_a_finished_file_issues_nothing(registry: Registry, tmp_path: Path) -> None:
    feed = _feed(tmp_path / "feed.jsonl", 30)
    issuance: Any = Issuance(registry)
    first = ingest_file(issuance, BC, feed, batch_size=25, progress=False)
    size, creds = _ledger_size(registry), _count(registry, credentials)
    again = ingest_file(issuance, BC, feed, batch_size=25, progress=False)
    assert again.records == 0
    assert again.credentials == 0
    assert again.resumed_from_line == first.records
    assert (_ledger_size(registry), _count(registry, credentials)) == (size, creds)


def test_the_same_records_in_a_new_file_are_unchanged(registry: Registry, tmp_path: Path) -> None:
    """Idempotency on event ids backs up the progress bookkeeping."""
    feed = _feed(tmp_path / "feed.jsonl", 20)
    issuance: Any = Issuance(registry)
    ingest_file(issuance, BC, feed, progress=False)
    copy_of = tmp_path / "copy.jsonl"
    copy_of.write_bytes(feed.read_bytes())
    size = _ledger_size(registry)
    again = ingest_file(issuance, BC, copy_of, batch_size=7, progress=False)
    assert again.unchanged == again.records > 0
    assert again.credentials == 0
    assert _ledger_size(registry) == size


def test_progress_bar_shows_count_rate_and_eta_on_stderr(
    registry: Registry, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    feed = _feed(tmp_path / "feed.jsonl", 15)
    result = ingest_file(Issuance(registry), BC, feed, batch_size=20)  # type: ignore[arg-type]
    captured = capsys.readouterr()
    assert captured.out == ""
    lines = captured.err.strip().splitlines()
    last = [line for line in lines if line.startswith("ingest feed.jsonl")][-1]
    assert f"{result.records:,} records" in last
    assert "/s" in last
    assert "ETA" in last
    assert "100.0%" in last
    # Then the deferred search index, with its own bar, after the feed's.
    assert lines[-1].startswith("search index")
    assert "100.0%" in lines[-1]
    assert "organisations" in lines[-1]


def test_the_cycle_collector_is_given_back_as_it_was(
    registry: Registry, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Bulk ingest runs the collector once per batch; afterwards it is as the caller had it,
    also when the feed fails half-way."""
    import gc

    feed = _feed(tmp_path / "feed.jsonl", 20)
    issuance: Any = Issuance(registry)
    assert gc.isenabled()
    ingest_file(issuance, BC, feed, batch_size=10, progress=False)
    assert gc.isenabled()

    def boom(*args: Any, **kwargs: Any) -> None:
        assert not gc.isenabled()  # off while batches run
        raise RuntimeError("disk full")

    monkeypatch.setattr("orgbook.issuer.bulk._issue_batch", boom)
    with pytest.raises(RuntimeError):
        ingest_file(issuance, BC, _feed(tmp_path / "other.jsonl", 5, seed=4), progress=False)
    assert gc.isenabled()
    gc.disable()
    try:
        ingest_file(issuance, BC, _feed(tmp_path / "third.jsonl", 5, seed=6), progress=False)
    except RuntimeError:
        pass
    finally:
        assert not gc.isenabled()  # a caller that had it off still has it off
        gc.enable()


@pytest.mark.slow
def test_memory_stays_flat_on_a_large_feed(registry: Registry, tmp_path: Path) -> None:
    """100k+ records streamed: peak RSS grows by far less than the feed would take in memory."""
    issuance: Any = Issuance(registry)
    warm = _feed(tmp_path / "warm.jsonl", 1500, seed=8)
    ingest_file(issuance, BC, warm, batch_size=2000, progress=False)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
    big = _feed(tmp_path / "big.jsonl", 17_000, seed=9)
    result = ingest_file(issuance, BC, big, batch_size=2000, progress=False)
    after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    assert result.records >= 100_000
    grown_mib = (after - before) / 1024
    # Held in memory, the parsed feed alone would be several hundred MiB; the SQLite page cache
    # (64 MiB at most) and one batch are what may grow.
    assert grown_mib < 100, f"peak RSS grew {grown_mib:.0f} MiB over {result.records:,} records"


def test_batch_size_does_not_change_the_projections(tmp_path: Path) -> None:
    """Organisations updated across batches (executemany per column set) end up as in one batch."""
    from orgbook.projections.tables import organisation_names, organisations

    feed = _feed(tmp_path / "feed.jsonl", 80)
    tables = []
    for batch in (7, 10_000):
        registry = new_registry(tmp_path / f"b{batch}")
        add_issuers(registry)
        ingest_file(Issuance(registry), BC, feed, batch_size=batch, progress=False)  # type: ignore[arg-type]
        with registry.engine.connect() as conn:
            orgs = conn.execute(
                select(
                    organisations.c.id,
                    organisations.c.name,
                    organisations.c.status,
                    organisations.c.entity_type,
                    organisations.c.business_number,
                ).order_by(organisations.c.id)
            ).all()
            names = conn.execute(
                select(organisation_names.c.credential_id, organisation_names.c.current).order_by(
                    organisation_names.c.credential_id
                )
            ).all()
            states = conn.execute(
                select(credentials.c.id, credentials.c.state, credentials.c.superseded_by).order_by(
                    credentials.c.id
                )
            ).all()
        tables.append((orgs, names, states))
        registry.close()
    assert tables[0] == tables[1]
    assert any(row.status != "active" for row in tables[0][0])
