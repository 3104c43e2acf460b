"""The deployed topology on loopback: concurrent issuers, two verifier replicas, one PostgreSQL.

* issuing under concurrent load through the issuer API, then searching and verifying through
  both replicas behind the proxy: the same answers from each, a sound ledger;
* several ``orgbook ingest`` processes on different feeds at once while the replicas serve
  searches: no gap, no duplicate, no broken chain, every record issued once.
"""

from __future__ import annotations

import json
import subprocess
import threading
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import text

from orgbook.issuer.sample import write_feed
from orgbook.storage.engine import make_engine
from tests.deploy.conftest import Topology, issue_concurrently
from tests.factories import PASSPHRASE
from tests.installed import orgbook_argv

pytestmark = [pytest.mark.integration, pytest.mark.postgres, pytest.mark.slow]


def audit(topo: Topology) -> subprocess.CompletedProcess[str]:
    argv = orgbook_argv("ledger", "audit", "--db", topo.db_url,
            "--vkey", topo.vkey, "--data-dir", str(topo.tmp / "audit"))  # fmt: skip
    return subprocess.run(argv, capture_output=True, text=True, env=topo.env(), check=False)


def ledger_facts(db_url: str) -> dict[str, Any]:
    engine = make_engine(db_url)
    try:
        with engine.connect() as conn:
            count, low, high, distinct = conn.execute(
                text(
                    "SELECT count(*), min(idx), max(idx), count(DISTINCT leaf_hash) "
                    "FROM ledger_entries"
                )
            ).one()
            head = conn.execute(text("SELECT size FROM ledger_head")).scalar()
            issued_entries = conn.execute(
                text("SELECT count(*) FROM ledger_entries WHERE kind = 'credential.issued'")
            ).scalar()
            credentials, distinct_ids, distinct_ledger = conn.execute(
                text(
                    "SELECT count(*), count(DISTINCT id), count(DISTINCT ledger_index) "
                    "FROM credentials"
                )
            ).one()
            events = dict(
                conn.execute(
                    text("SELECT issuer_id, count(*) FROM ingested_events GROUP BY issuer_id")
                ).all()
            )
    finally:
        engine.dispose()
    return {
        "count": count,
        "low": low,
        "high": high,
        "distinct": distinct,
        "head": head,
        "issued_entries": issued_entries,
        "credentials": credentials,
        "distinct_ids": distinct_ids,
        "distinct_ledger": distinct_ledger,
        "events": events,
    }


def duplicate_status_indexes(db_url: str) -> list[tuple[str, int, int]]:
    engine = make_engine(db_url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(
                text(
                    "SELECT issuer_id, status_index, count(*) FROM credentials "
                    "GROUP BY issuer_id, status_index HAVING count(*) > 1"
                )
            ).all()
    finally:
        engine.dispose()
    return [(str(a), int(b), int(c)) for a, b, c in rows]


def assert_sound(topo: Topology) -> dict[str, Any]:
    done = audit(topo)
    assert done.returncode == 0, done.stdout + done.stderr + topo.logs()
    assert "ledger sound" in done.stdout
    facts = ledger_facts(topo.db_url)
    # No gap, no duplicate: indexes 0..n-1, each leaf once, the head at n.
    assert facts["low"] == 0
    assert facts["high"] == facts["count"] - 1 == facts["head"] - 1
    assert facts["distinct"] == facts["count"]
    # Every credential issued once: one row, one ledger entry each.
    assert facts["credentials"] == facts["distinct_ids"] == facts["distinct_ledger"]
    assert facts["issued_entries"] == facts["credentials"]
    return facts


def test_issue_search_and_verify_through_two_replicas(topology: Topology) -> None:
    topo = topology
    records = issue_concurrently(topo, orgs=80, seed=3, requests=8)
    facts = assert_sound(topo)
    assert facts["events"]["bc-registries"] == len(records)

    with httpx.Client(base_url=topo.proxy_url, timeout=60) as client:
        # The same search, answered by each replica in turn: the same page.
        name = records[0]["name"]
        pages: dict[str, Any] = {}
        for _ in range(4):
            answer = client.get("/api/v1/organisations", params={"q": name})
            assert answer.status_code == 200, answer.text
            pages[answer.headers["x-upstream"]] = answer.json()
        assert set(pages) == set(topo.replica_urls)
        first, second = pages.values()
        assert first == second
        assert first["hits"]

        # Both replicas serve the same signed checkpoint, and count the same registry.
        notes = {client.get("/api/v1/ledger/checkpoint").text for _ in range(2)}
        assert len(notes) == 1
    for url in topo.replica_urls:
        metrics = httpx.get(f"{url}/metrics", timeout=30).text
        assert 'route="/api/v1/organisations"' in metrics
        assert f"orgbook_ledger_entries {facts['head']}" in metrics
        assert "orgbook_credentials_issued_total{" in metrics

    # Issuance locks the issuer's row (orgbook.issuer.service), so concurrent PostgreSQL batches
    # of one issuer never share a status index: a shared one would make revoking a superseded
    # credential revoke a current one.
    assert duplicate_status_indexes(topo.db_url) == []

    with httpx.Client(base_url=topo.proxy_url, timeout=60) as client:
        # A bundle from one replica verifies on the other.
        hit = first["hits"][0]
        org_id = hit.get("orgId") or hit.get("org_id")
        profile = client.get(f"/api/v1/organisations/{org_id}").json()
        credential_id = next(
            c["id"]
            for c in profile["credentials"]
            if c["state"] == "current" and not c["suspended"]
        )
        bundle = client.get(f"/api/v1/credentials/{credential_id}/bundle")
        assert bundle.status_code == 200, bundle.text
        # Status lists are signed by the issuer (the proxy sends their URLs there) and cached
        # in the database, where the replicas' verify endpoints find them.
        for entry in bundle.json()["credential"]["credentialStatus"]:
            listed = client.get(entry["statusListCredential"].removeprefix(topo.public_url))
            assert listed.status_code == 200, listed.text
            assert listed.headers["x-upstream"] == topo.issuer_url
        verdicts = {}
        for _ in range(2):
            answer = client.post("/api/v1/verify", json=bundle.json())
            assert answer.status_code == 200, answer.text
            report = answer.json()
            failed = [c for c in report["checks"] if c.get("outcome") != "pass"]
            assert report["valid"], failed
            verdicts[answer.headers["x-upstream"]] = report["valid"]
        assert verdicts == dict.fromkeys(topo.replica_urls, True)


def test_concurrent_ingest_processes_on_one_database(topology: Topology, tmp_path: Path) -> None:
    topo = topology
    feeds = {
        "bc-registries": ("CA-BC", 300),
        "ns-rjsc": ("CA-NS", 200),
        "corporations-canada": ("CA", 200),
    }
    env = topo.env(ORGBOOK_KEY_PASSPHRASE=PASSPHRASE.decode())
    expected: dict[str, int] = {}
    processes = []
    for n, (issuer_id, (jurisdiction, orgs)) in enumerate(feeds.items()):
        feed = tmp_path / f"{issuer_id}.jsonl"
        expected[issuer_id] = write_feed(feed, orgs, seed=10 + n, jurisdictions=(jurisdiction,))
    for issuer_id in feeds:
        argv = orgbook_argv("ingest", str(tmp_path / f"{issuer_id}.jsonl"),
                "--issuer", issuer_id, "--batch-size", "50", "--no-progress",
                "--data-dir", str(topo.tmp / "data"))  # fmt: skip
        processes.append(
            subprocess.Popen(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        )

    # Readers during the load: searches through the proxy must keep answering.
    stop = threading.Event()
    failures: list[str] = []

    def read() -> None:
        with httpx.Client(base_url=topo.proxy_url, timeout=60) as client:
            while not stop.is_set():
                answer = client.get("/api/v1/organisations", params={"q": "holdings"})
                if answer.status_code != 200:
                    failures.append(answer.text)

    readers = [threading.Thread(target=read) for _ in range(2)]
    for reader in readers:
        reader.start()
    outputs = [p.communicate(timeout=600) for p in processes]
    stop.set()
    for reader in readers:
        reader.join()
    for process, (_out, err) in zip(processes, outputs, strict=True):
        assert process.returncode == 0, err.decode() + topo.logs()
    assert failures == []

    results = [json.loads(out) for out, _ in outputs]
    facts = assert_sound(topo)
    for issuer_id, result in zip(feeds, results, strict=True):
        assert result["records"] == expected[issuer_id]
        # Every record once: the idempotency table holds each event id of each feed.
        assert facts["events"][issuer_id] == expected[issuer_id] - result["rejected"]
    assert sum(r["credentials"] for r in results) == facts["credentials"]
    assert duplicate_status_indexes(topo.db_url) == []  # one process per issuer: no race
