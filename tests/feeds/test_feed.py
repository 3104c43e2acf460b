"""The follow-the-ledger feed: pages, resume and filters against a naive oracle (both backends),
long-polling, Server-Sent Events resumed with Last-Event-ID."""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from starlette.concurrency import run_in_threadpool

from orgbook.app import create_app
from orgbook.core.canonical import loads_strict
from orgbook.core.errors import BadInput
from orgbook.feeds.feed import FeedFilter, FeedItem, LedgerWatcher, ledger_size, read_page
from orgbook.issuer.service import Issuance
from orgbook.ledger.store import ledger_entries
from orgbook.projections.tables import credentials
from orgbook.runtime.registry import Registry
from orgbook.storage.engine import reading
from tests.factories import build_registry, issue


def oracle(registry: Registry, flt: FeedFilter) -> list[FeedItem]:
    """Every entry, read whole and filtered in Python: what the feed must answer."""
    with reading(registry.engine) as conn:
        creds: dict[str, Any] = {r.id: r for r in conn.execute(select(credentials))}
        rows = conn.execute(select(ledger_entries).order_by(ledger_entries.c.idx)).all()
    first_registration: dict[str, str] = {}
    for cred in sorted(creds.values(), key=lambda c: c.ledger_index):
        if cred.type == "registration":
            first_registration.setdefault(cred.organisation_id, cred.id)
    out = []
    for row in rows:
        entry = loads_strict(bytes(row.data))
        payload = entry["payload"]
        cid = payload.get("credential")
        cid = cid.get("id") if isinstance(cid, dict) else cid
        cred = creds.get(cid) if cid else None
        issuer = payload.get("issuer")
        issuer = issuer.get("id") if isinstance(issuer, dict) else issuer
        item = FeedItem(
            index=entry["index"],
            kind=entry["kind"],
            timestamp=entry["timestamp"],
            leaf_hash=bytes(row.leaf_hash),
            organisation=cred.organisation_id if cred else None,
            credential=cid if cred else None,
            type=cred.type if cred else None,
            issuer=cred.issuer_id if cred else issuer,
        )
        if flt.organisation and item.organisation != flt.organisation:
            continue
        if flt.type and item.type != flt.type:
            continue
        if flt.issuer and item.issuer != flt.issuer:
            continue
        if flt.kind and item.kind != flt.kind:
            continue
        if flt.new_organisations and not (
            item.kind == "credential.issued"
            and item.type == "registration"
            and first_registration.get(item.organisation or "") == item.credential
        ):
            continue
        out.append(item)
    return out


def follow(registry: Registry, flt: FeedFilter, *, limit: int, window: int) -> list[FeedItem]:
    """Follow the feed page by page from the start, a new transaction per page."""
    items: list[FeedItem] = []
    after = -1
    for _ in range(10_000):
        with reading(registry.engine) as conn:
            page = read_page(conn, flt, after=after, limit=limit, window=window)
        assert len(page.items) <= limit
        assert all(item.index > after for item in page.items)
        assert page.next >= after
        items += page.items
        after = page.next
        if page.caught_up:
            return items
    raise AssertionError("the feed did not end")


@pytest.fixture
def registry(tmp_path: Path, db_url: str) -> Iterator[Registry]:
    reg = build_registry(tmp_path, 12, url=None if db_url.startswith("sqlite") else db_url)
    # a revocation and a suspension, so every credential entry kind is there
    issuance: Any = Issuance(reg)
    with reading(reg.engine) as conn:
        ids = conn.execute(
            select(credentials.c.id, credentials.c.issuer_id)
            .where(credentials.c.state == "current")
            .order_by(credentials.c.id)
            .limit(2)
        ).all()
    issuance.change_status(ids[0].issuer_id, ids[0].id, "revoke", reason="test")
    issuance.change_status(ids[1].issuer_id, ids[1].id, "suspend", reason="test")
    yield reg
    reg.close()


def test_pages_and_filters_match_the_oracle(registry: Registry) -> None:
    with reading(registry.engine) as conn:
        org = conn.execute(
            select(credentials.c.organisation_id).where(credentials.c.type == "relationship")
        ).scalar()
    assert org is not None
    filters = [
        FeedFilter(),
        FeedFilter(type="legal-name"),
        FeedFilter(type="relationship"),
        FeedFilter(organisation=org),
        FeedFilter(organisation=org, type="legal-name"),
        FeedFilter(issuer="bc-registries"),
        FeedFilter(issuer="ns-rjsc", kind="issuer.key.added"),
        FeedFilter(kind="credential.superseded"),
        FeedFilter(kind="credential.revoked"),
        FeedFilter(kind="credential.suspended"),
        FeedFilter(new_organisations=True),
        FeedFilter(new_organisations=True, issuer="corporations-canada"),
        FeedFilter(type="status", organisation="CA-BC:NOPE0000"),
    ]
    for flt in filters:
        want = oracle(registry, flt)
        assert follow(registry, flt, limit=7, window=13) == want, flt
        assert follow(registry, flt, limit=1000, window=10_000) == want, flt
    everything = oracle(registry, FeedFilter())
    assert [item.index for item in everything] == list(range(len(everything)))
    assert len(oracle(registry, FeedFilter(new_organisations=True))) >= 12


def test_resume_after_any_page_and_bad_input(registry: Registry) -> None:
    flt = FeedFilter(type="address")
    want = oracle(registry, flt)
    with reading(registry.engine) as conn:
        first = read_page(conn, flt, after=-1, limit=3)
        # a client that crashed after processing the second item resumes from its index
        resumed = read_page(conn, flt, after=first.items[1].index, limit=1000)
        assert [first.items[0], first.items[1], *resumed.items] == want
        tail = read_page(conn, flt, after=10**9, limit=5)
        assert (tail.items, tail.caught_up) == ((), True)
        for after, limit in ((-2, 5), (0, 0), (0, 1001)):
            with pytest.raises(BadInput):
                read_page(conn, flt, after=after, limit=limit)
        # a slug no type has (registered types' slugs are filters too: tests/feeds/
        # test_authority_credentials.py)
        with pytest.raises(BadInput, match="no credential type 'nope'"):
            read_page(conn, FeedFilter(type="nope"))
    for name, value in (
        ("type", "Not A Slug"),
        ("organisation", "not an id"),
        ("issuer", "Bad Issuer"),
        ("kind", "Credential"),
    ):
        with pytest.raises(BadInput):
            FeedFilter(**{name: value})  # type: ignore[arg-type]


# --- HTTP ---------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Registry, TestClient]]:
    reg = build_registry(tmp_path_factory.mktemp("feed-http"), 8)
    settings = dataclasses.replace(reg.settings, rate_limit_per_minute=0)
    with TestClient(create_app(settings, registry=reg)) as client:
        yield reg, client
    reg.close()


def test_http_feed_pages_and_problems(served: tuple[Registry, TestClient]) -> None:
    registry, client = served
    want = [item.to_json() for item in oracle(registry, FeedFilter(type="legal-name"))]
    got: list[dict[str, Any]] = []
    after = -1
    while True:
        response = client.get("/api/v1/feed", params={"after": after, "type": "legal-name"})
        assert response.status_code == 200
        assert response.headers["cache-control"] == "no-store"
        body = response.json()
        got += body["items"]
        after = body["next"]
        if body["caughtUp"]:
            break
    assert got == want
    assert set(got[0]) == {
        "index",
        "kind",
        "timestamp",
        "organisation",
        "credential",
        "type",
        "issuer",
        "leafHash",
    }
    for params in ({"type": "nope"}, {"limit": 0}, {"limit": 1001}, {"wait": 31}, {"after": -2}):
        bad = client.get("/api/v1/feed", params=params)
        assert bad.status_code in (400, 422), params
        assert bad.headers["content-type"] == "application/problem+json"


def new_org(registry: Registry, tag: str) -> None:
    issue(
        registry,
        [
            {
                "event_id": f"feed-new-{tag}",
                "kind": "registration",
                "jurisdiction": "CA-BC",
                "registration_number": f"BC88{tag}",
                "effective_date": "2024-01-01",
                "name": f"Long Poll {tag} Ltd.",
            }
        ],
    )


class CountedWatcher:
    """The application's :class:`LedgerWatcher`, reading the real ledger size, but telling the
    test each time it read: so the test knows the request is waiting, without a clock."""

    def __init__(self, registry: Registry) -> None:
        self.reads = threading.Semaphore(0)
        self.count = 0

        async def read_size() -> int:
            size = await run_in_threadpool(self._size, registry)
            self.count += 1
            self.reads.release()
            return size

        self.watcher = LedgerWatcher(read_size, interval=0.01)

    @staticmethod
    def _size(registry: Registry) -> int:
        with reading(registry.engine) as conn:
            return ledger_size(conn)


@pytest.fixture
def watched(
    served: tuple[Registry, TestClient],
) -> Iterator[tuple[Registry, TestClient, CountedWatcher]]:
    registry, client = served
    state = client.app.state  # type: ignore[attr-defined]
    previous = getattr(state, "feeds_watcher", None)
    counted = CountedWatcher(registry)
    state.feeds_watcher = counted.watcher
    yield registry, client, counted
    state.feeds_watcher = previous


def test_long_poll_without_news_waits_then_answers_empty(
    watched: tuple[Registry, TestClient, CountedWatcher],
) -> None:
    _, client, counted = watched
    end = client.get("/api/v1/feed", params={"after": 10**6}).json()["treeSize"] - 1
    assert counted.count == 0  # no wait asked, no watching
    quiet = client.get("/api/v1/feed", params={"after": end, "wait": 1})
    assert quiet.status_code == 200
    assert quiet.json()["items"] == []
    assert counted.count >= 1  # it watched the ledger instead of answering at once


def test_long_poll_returns_when_an_entry_arrives(
    watched: tuple[Registry, TestClient, CountedWatcher],
) -> None:
    registry, client, counted = watched
    end = client.get("/api/v1/feed", params={"after": 10**6}).json()["treeSize"] - 1
    answers: list[Any] = []

    def poll() -> None:
        params = {"after": end, "wait": 30, "newOrganisations": "true"}
        answers.append(client.get("/api/v1/feed", params=params))

    waiting = threading.Thread(target=poll)
    waiting.start()
    # The request found nothing and is watching the ledger: only now does the entry arrive.
    assert counted.reads.acquire(timeout=60)
    new_org(registry, "00001")
    waiting.join(timeout=60)
    assert not waiting.is_alive()
    body = answers[0].json()
    assert [item["type"] for item in body["items"]] == ["registration"]
    assert body["items"][0]["organisation"] == "CA-BC:BC8800001"


def sse_events(text: str) -> list[dict[str, str]]:
    events = []
    for block in text.split("\n\n"):
        fields: dict[str, str] = {}
        for line in block.splitlines():
            if line.startswith(":") or ": " not in line:
                continue
            name, value = line.split(": ", 1)
            fields[name] = value
        if fields:
            events.append(fields)
    return events


def test_sse_stream_resumes_with_last_event_id(served: tuple[Registry, TestClient]) -> None:
    registry, client = served
    import json

    want = [item.to_json() for item in oracle(registry, FeedFilter(type="status"))]
    response = client.get("/api/v1/feed/stream", params={"type": "status", "timeout": 1})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/event-stream")
    events = sse_events(response.text)
    data = [json.loads(e["data"]) for e in events if "data" in e]
    assert data == want
    assert all(
        e["id"] == str(d["index"])
        for e, d in zip([e for e in events if "data" in e], data, strict=True)
    )
    assert [e["event"] for e in events if "data" in e] == [d["kind"] for d in want]
    # an id-only message moves the cursor past what the filter skipped
    assert int(events[-1]["id"]) >= want[-1]["index"]

    middle = want[len(want) // 2]["index"]
    again = client.get(
        "/api/v1/feed/stream",
        params={"type": "status", "timeout": 1},
        headers={"Last-Event-ID": str(middle)},
    )
    resumed = [json.loads(e["data"]) for e in sse_events(again.text) if "data" in e]
    assert resumed == [d for d in want if d["index"] > middle]
    bad = client.get("/api/v1/feed/stream", headers={"Last-Event-ID": "x"})
    assert bad.status_code == 422  # declared in OpenAPI (a pattern), so a validation error
    assert bad.json()["field"] == "last-event-id"
