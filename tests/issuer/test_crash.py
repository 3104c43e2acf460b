"""``kill -9`` during ``orgbook ingest``: restarted until done, every record issued exactly once.

The real CLI runs as a subprocess (``python -m orgbook ingest FILE --db … --data-dir …``) on a
generated feed of a few thousand records. Each time it has committed more batches (polled from
``ingest_progress``), it is killed with SIGKILL at a random moment and started again, until a run
finishes. Then ``orgbook ledger audit`` must pass, and the database must hold exactly what one
uninterrupted run into a fresh database holds: every event id once, the same credentials (ids
are deterministic), no duplicate credential on the ledger, ledger indices 0…n-1.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from orgbook.issuer.sample import write_feed
from orgbook.issuer.store import ingest_progress, ingested_events
from orgbook.ledger.store import ledger_entries, ledger_head
from orgbook.projections.tables import credentials
from orgbook.storage.engine import make_engine

pytestmark = [pytest.mark.integration, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]
PASSPHRASE = "crash-test passphrase, not secret"
ISSUER = "bc-registries"
KILLS = 4
BATCH = 150


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ORGBOOK_")}
    env["ORGBOOK_KEY_PASSPHRASE"] = PASSPHRASE
    env["PYTHONPATH"] = str(ROOT)
    return env


def _cli(*args: str, db: str, data_dir: Path) -> list[str]:
    return [sys.executable, "-m", "orgbook", *args, "--db", db, "--data-dir", str(data_dir)]


def _create_issuer(db: str, data_dir: Path) -> None:
    subprocess.run(
        _cli(
            "issuer",
            "create",
            ISSUER,
            "--name",
            "BC Registries",
            "--did",
            "did:web:registry.test:issuers:bc-registries",
            "--jurisdiction",
            "CA-BC",
            db=db,
            data_dir=data_dir,
        ),
        env=_env(),
        check=True,
        capture_output=True,
        timeout=120,
    )


def _ingest_cmd(feed: Path, db: str, data_dir: Path) -> list[str]:
    return _cli(
        "ingest", str(feed), "--batch-size", str(BATCH), "--no-progress", db=db, data_dir=data_dir
    )


def _lines_done(engine: Any) -> int:
    with engine.connect() as conn:
        value = conn.execute(select(func.max(ingest_progress.c.lines_done))).scalar()
    return int(value or 0)


def _url(backend: str, tmp_path: Path, name: str, request: pytest.FixtureRequest) -> str:
    if backend == "sqlite":
        return f"sqlite:///{tmp_path / name / 'orgbook.sqlite3'}"
    url: str = request.getfixturevalue("pg_url")
    return url


@pytest.fixture(scope="module")
def feed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("feed") / "feed.jsonl"
    write_feed(path, 1400, seed=21, jurisdictions=("CA-BC",))
    return path


@pytest.fixture(scope="module")
def reference(feed: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """What one uninterrupted run into a fresh database issues."""
    data_dir = tmp_path_factory.mktemp("reference")
    db = f"sqlite:///{data_dir / 'orgbook.sqlite3'}"
    _create_issuer(db, data_dir)
    done = subprocess.run(
        _ingest_cmd(feed, db, data_dir), env=_env(), capture_output=True, timeout=900, check=True
    )
    summary = json.loads(done.stdout)
    engine = make_engine(db)
    with engine.connect() as conn:
        ids = set(conn.execute(select(credentials.c.id)).scalars())
    engine.dispose()
    assert len(ids) == summary["credentials"]
    return {"summary": summary, "credential_ids": ids}


@pytest.mark.parametrize(
    "backend", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def test_kill_9_and_restart_issues_every_record_exactly_once(
    backend: str,
    feed: Path,
    reference: dict[str, Any],
    tmp_path: Path,
    request: pytest.FixtureRequest,
) -> None:
    rng = random.Random(f"crash-{backend}")
    data_dir = tmp_path / "crashed"
    data_dir.mkdir()
    db = _url(backend, tmp_path, "crashed", request)
    _create_issuer(db, data_dir)
    engine = make_engine(db)
    records = sum(1 for line in feed.read_text(encoding="utf-8").splitlines() if line.strip())

    kills = 0
    runs = 0
    while True:
        runs += 1
        assert runs <= KILLS + 3, "ingest never finished"
        before = _lines_done(engine)
        proc = subprocess.Popen(
            _ingest_cmd(feed, db, data_dir),
            env=_env(),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        if kills < KILLS:
            # Wait until this run has committed at least one batch, then kill it at a random
            # moment (mid-batch, mid-commit, between batches: wherever it happens to be).
            deadline = time.monotonic() + 300
            while proc.poll() is None and _lines_done(engine) <= before:
                assert time.monotonic() < deadline, "no batch committed in 300 s"
                time.sleep(0.02)
            if proc.poll() is None:
                time.sleep(rng.uniform(0.0, 0.6))
                proc.send_signal(signal.SIGKILL)
                proc.communicate(timeout=60)
                kills += 1
                if proc.returncode == -signal.SIGKILL:
                    continue
        _, err = proc.communicate(timeout=900)
        assert proc.returncode == 0, err.decode()
        break
    assert kills >= 2, "the feed finished before it could be interrupted: make it longer"

    # 1. The ledger audits clean.
    audit = subprocess.run(
        _cli("ledger", "audit", db=db, data_dir=data_dir),
        env=_env(),
        capture_output=True,
        timeout=600,
    )
    assert audit.returncode == 0, audit.stdout.decode() + audit.stderr.decode()

    with engine.connect() as conn:
        # 2. Every record processed once: each event id once, all of them.
        event_ids = list(conn.execute(select(ingested_events.c.event_id)).scalars())
        assert len(event_ids) == len(set(event_ids)) == records
        # 3. The same credentials as one uninterrupted run, none twice.
        ids = list(conn.execute(select(credentials.c.id)).scalars())
        assert len(ids) == len(set(ids)) == reference["summary"]["credentials"]
        assert set(ids) == reference["credential_ids"]
        # 4. On the ledger: indices 0…n-1, each credential issued by exactly one entry.
        size = conn.execute(select(ledger_head.c.size)).scalar_one()
        indices = list(conn.execute(select(ledger_entries.c.idx).order_by(ledger_entries.c.idx)))
        assert [int(row[0]) for row in indices] == list(range(size))
        issued: Counter[str] = Counter()
        for (data,) in conn.execute(
            select(ledger_entries.c.data).where(ledger_entries.c.kind == "credential.issued")
        ):
            issued[json.loads(bytes(data))["payload"]["credential"]["id"]] += 1
        assert set(issued) == set(ids)
        assert max(issued.values()) == 1
        row = conn.execute(select(ingest_progress)).one()
        assert row.finished
        assert row.lines_done == records
    engine.dispose()
