"""``orgbook ingest`` exit codes, configuration errors and the search index repair (issue 14).

Exit 0 for a clean feed, 1 when records were rejected (summary printed), 2 for unusable
configuration — found before any record is rejected or anything is written: no ledger entry, no
projection row, no reject file, the resume point unmoved. A feed killed before it built the search
index is repaired by the next ``orgbook ingest`` or ``orgbook serve``, which say how many
organisations they re-indexed.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from orgbook.cli import main
from orgbook.core.errors import ConfigurationError
from orgbook.core.schemas import catalogue as schema_catalogue
from orgbook.core.schemas import validation as schema_validation
from orgbook.issuer import bulk
from orgbook.issuer.keys import IssuerKeys, create_issuer
from orgbook.issuer.sample import write_feed
from orgbook.issuer.service import Issuance
from orgbook.issuer.store import ingest_progress, ingested_events
from orgbook.ledger.store import ledger_entries
from orgbook.projections.searchdocs import pending_count
from orgbook.projections.tables import credentials, organisations, search_pending
from orgbook.runtime.registry import DEMO_PASSPHRASE_FILE, Registry
from orgbook.search import SearchQuery, search
from tests.factories import PASSPHRASE, PUBLIC_URL, add_issuers, new_registry

BC = "bc-registries"
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def registry(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Registry]:
    for name in [k for k in os.environ if k.startswith("ORGBOOK_")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("ORGBOOK_KEY_PASSPHRASE", PASSPHRASE.decode())
    monkeypatch.setenv("ORGBOOK_PUBLIC_URL", PUBLIC_URL)  # the ledger's origin derives from it
    reg = new_registry(tmp_path)
    add_issuers(reg)
    for issuer in ("bc-registries", "ns-rjsc", "corporations-canada"):
        IssuerKeys.forget(issuer)  # a new `orgbook ingest` process has nothing unsealed yet
    yield reg
    reg.close()


def _feed(path: Path, n_orgs: int = 12) -> Path:
    write_feed(path, n_orgs, seed=4, fmt="jsonl", jurisdictions=("CA-BC",))
    return path


def _storage(registry: Registry) -> list[str]:
    return ["--db", registry.settings.database_url, "--data-dir", str(registry.settings.data_dir)]


def _ingest(registry: Registry, feed: Path, *extra: str) -> int:
    return main(["ingest", str(feed), "--issuer", BC, "--no-progress", *_storage(registry), *extra])


def _state(registry: Registry) -> dict[str, Any]:
    """Everything an ingest writes: ledger, projections, idempotency and resume state."""
    with registry.engine.connect() as conn:
        counts = {
            table.name: conn.execute(select(func.count()).select_from(table)).scalar_one()
            for table in (ledger_entries, credentials, organisations, ingested_events)
        }
        progress = conn.execute(
            select(ingest_progress.c.lines_done, ingest_progress.c.rejected)
        ).all()
    return {**counts, "progress": [tuple(row) for row in progress]}


@pytest.fixture
def broken_record_schemas(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The schema catalogue has no record schemas (as when they are not installed)."""
    root = tmp_path / "schemas"
    shutil.copytree(schema_catalogue.schemas_dir() / "credentials", root / "credentials")
    caches = [
        schema_catalogue.catalogue,
        schema_validation.schema_validator,
    ]
    for cached in caches:
        cached.cache_clear()
    monkeypatch.setattr(schema_catalogue, "schemas_dir", lambda: root)
    yield
    monkeypatch.undo()
    for cached in caches:
        cached.cache_clear()


def test_a_clean_feed_exits_0(registry: Registry, tmp_path: Path, capsys: Any) -> None:
    feed = _feed(tmp_path / "feed.jsonl")
    assert _ingest(registry, feed) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["rejected"] == 0
    assert summary["records"] == len(feed.read_text(encoding="utf-8").splitlines()) > 0


def test_a_feed_with_rejected_records_exits_1_with_its_summary(
    registry: Registry, tmp_path: Path, capsys: Any
) -> None:
    feed = _feed(tmp_path / "feed.jsonl")
    with feed.open("a", encoding="utf-8") as handle:
        handle.write('{"event_id": "bad-1", "kind": "registration"}\n')
        handle.write("not json\n")
    assert _ingest(registry, feed) == 1
    out, err = capsys.readouterr()
    summary = json.loads(out)
    assert summary["rejected"] == 2
    assert summary["issued"] > 0
    assert Path(summary["rejectFile"]).is_file()
    assert "2 records rejected" in err


@pytest.mark.usefixtures("broken_record_schemas")
def test_unloadable_record_schemas_stop_the_feed_with_exit_2_and_write_nothing(
    registry: Registry, tmp_path: Path, capsys: Any
) -> None:
    feed = _feed(tmp_path / "feed.jsonl")
    before = _state(registry)
    assert _ingest(registry, feed, "--batch-size", "5") == 2
    out, err = capsys.readouterr()
    assert out == ""  # no summary counting every record as rejected
    assert "Configuration error" in err
    assert "record schema" in err
    assert not (tmp_path / "feed.jsonl.rejects.jsonl").exists()
    after = _state(registry)
    assert after["progress"] in ([], [(0, 0)])  # the resume point did not move
    assert {**after, "progress": None} == {**before, "progress": None}


@pytest.mark.usefixtures("broken_record_schemas")
def test_submit_raises_a_configuration_error_instead_of_rejecting_every_record(
    registry: Registry, tmp_path: Path
) -> None:
    """The issuer API's path too: no 'rejected' outcomes for a fault of the deployment."""
    feed = _feed(tmp_path / "feed.jsonl", 3)
    records = [json.loads(line) for line in feed.read_text(encoding="utf-8").splitlines()]
    before = _state(registry)
    with pytest.raises(ConfigurationError, match="record schema"):
        Issuance(registry).submit(BC, records)
    assert _state(registry) == before


def test_a_wrong_passphrase_exits_2_before_anything_is_written(
    registry: Registry, tmp_path: Path, capsys: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    feed = _feed(tmp_path / "feed.jsonl")
    before = _state(registry)
    monkeypatch.setenv("ORGBOOK_KEY_PASSPHRASE", "a different passphrase entirely")
    assert _ingest(registry, feed) == 2
    _, err = capsys.readouterr()
    assert "ORGBOOK_KEY_PASSPHRASE" in err
    assert _state(registry) == before
    assert not (tmp_path / "feed.jsonl.rejects.jsonl").exists()


def test_an_issuer_key_the_passphrase_does_not_unseal_exits_2_before_anything_is_written(
    registry: Registry, tmp_path: Path, capsys: Any
) -> None:
    with registry.engine.begin() as conn:
        create_issuer(
            conn,
            registry.ledger,
            slug="ontario",
            did="did:web:registry.test:issuers:ontario",
            name="Ontario Business Registry",
            jurisdiction="CA-ON",
            credential_types=["registration", "legal-name"],
            passphrase=b"sealed with another passphrase",
        )
        registry.ledger.sign_checkpoint(conn)
    IssuerKeys.forget("ontario")
    feed = tmp_path / "on.jsonl"
    write_feed(feed, 5, seed=4, fmt="jsonl", jurisdictions=("CA-ON",))
    before = _state(registry)
    code = main(["ingest", str(feed), "--issuer", "ontario", "--no-progress", *_storage(registry)])
    assert code == 2
    err = capsys.readouterr().err
    assert "Configuration error" in err
    assert "'ontario'" in err
    assert "ORGBOOK_KEY_PASSPHRASE" in err
    assert _state(registry) == before  # not even a resume point
    assert not (tmp_path / "on.jsonl.rejects.jsonl").exists()


def test_an_unknown_issuer_exits_2_and_leaves_no_resume_state(
    registry: Registry, tmp_path: Path, capsys: Any
) -> None:
    feed = _feed(tmp_path / "feed.jsonl")
    before = _state(registry)
    code = main(["ingest", str(feed), "--issuer", "nobody", "--no-progress", *_storage(registry)])
    assert code == 2
    assert "nobody" in capsys.readouterr().err
    assert _state(registry) == before


def test_a_missing_passphrase_is_a_configuration_error_even_beside_a_demo_passphrase(
    registry: Registry, tmp_path: Path, capsys: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Only ``orgbook demo`` may use ``<data-dir>/demo-passphrase``; ingest must not, silently."""
    feed = _feed(tmp_path / "feed.jsonl")
    demo_file = Path(registry.settings.data_dir) / DEMO_PASSPHRASE_FILE
    demo_file.write_bytes(PASSPHRASE + b"\n")  # the very passphrase the keys are sealed with
    monkeypatch.delenv("ORGBOOK_KEY_PASSPHRASE")
    before = _state(registry)
    assert _ingest(registry, feed) == 2
    err = capsys.readouterr().err
    assert "ORGBOOK_KEY_PASSPHRASE is not set" in err
    assert str(demo_file) in err  # and says where the demo's passphrase is
    assert _state(registry) == before


def _kill_while_indexing(registry: Registry, feed: Path) -> None:
    """A feed whose process died while it built the search index: the first chunk of
    organisations committed, the rest still marked pending (as SIGKILL would leave them)."""
    real_flush = bulk.flush_pending

    def interrupt(done: int) -> None:
        raise KeyboardInterrupt  # stands in for SIGKILL after the first chunk committed

    def dying_flush(conn: Any, **kwargs: Any) -> int:
        return real_flush(conn, chunk=3, progress=interrupt)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(bulk, "flush_pending", dying_flush)
        assert _ingest(registry, feed) == 130


def _unsearchable(registry: Registry) -> list[tuple[str, str]]:
    """Every organisation's (id, name); checks some are left out of search."""
    with registry.engine.connect() as conn:
        names = [
            (row.id, row.name)
            for row in conn.execute(select(organisations.c.id, organisations.c.name))
            if row.name
        ]
        pending = set(conn.execute(select(search_pending.c.organisation_id)).scalars())
        assert len(pending) == len(names) - 3 > 0
        org_id, name = next((i, n) for i, n in names if i in pending)
        hits = search(conn, SearchQuery(name, limit=100)).hits
        assert org_id not in {hit.org_id for hit in hits}
    return names


def _assert_searchable(registry: Registry, names: list[tuple[str, str]]) -> None:
    with registry.engine.connect() as conn:
        assert pending_count(conn) == 0
        for org_id, name in names:
            hits = search(conn, SearchQuery(name, limit=100)).hits
            assert org_id in {hit.org_id for hit in hits}, name


def test_the_next_ingest_repairs_the_search_index_and_says_so(
    registry: Registry, tmp_path: Path, capsys: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    feed = _feed(tmp_path / "feed.jsonl")
    _kill_while_indexing(registry, feed)
    names = _unsearchable(registry)
    capsys.readouterr()
    other = tmp_path / "empty.jsonl"
    other.write_text("", encoding="utf-8")  # another feed, with nothing to issue
    assert _ingest(registry, other) == 0
    err = capsys.readouterr().err
    assert f"search index repaired: {len(names) - 3} organisations re-indexed" in err
    _assert_searchable(registry, names)


@pytest.mark.integration
def test_the_next_serve_repairs_the_search_index_and_says_so(
    registry: Registry, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    feed = _feed(tmp_path / "feed.jsonl")
    _kill_while_indexing(registry, feed)
    names = _unsearchable(registry)
    with __import__("socket").socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    env = {k: v for k, v in os.environ.items() if not k.startswith("ORGBOOK_")}
    env["PYTHONPATH"] = str(ROOT)
    env["ORGBOOK_RATE_LIMIT_PER_MINUTE"] = "0"
    env["ORGBOOK_PUBLIC_URL"] = PUBLIC_URL
    log = tmp_path / "serve.log"
    with log.open("wb") as stderr:
        process = subprocess.Popen(  # a replica: no passphrase, it still repairs search
            [sys.executable, "-m", "orgbook", "serve", "--port", str(port), *_storage(registry)],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=stderr,
        )
        try:
            url = f"http://127.0.0.1:{port}"
            deadline = time.monotonic() + 60
            while True:
                try:
                    if httpx.get(f"{url}/healthz", timeout=2).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                assert process.poll() is None, log.read_text()
                assert time.monotonic() < deadline, log.read_text()
                time.sleep(0.1)
            for org_id, name in names:
                body = httpx.get(
                    f"{url}/api/v1/organisations", params={"q": name, "limit": 100}, timeout=10
                ).json()
                assert org_id in {hit["orgId"] for hit in body["hits"]}, name
        finally:
            process.terminate()
            process.wait(timeout=30)
    text = log.read_text()
    assert f"search index repaired: {len(names) - 3} organisations re-indexed" in text
    assert "serving as a verifier replica" in text
    _assert_searchable(registry, names)
