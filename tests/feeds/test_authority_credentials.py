"""The feed, webhooks and the export carry credentials issued by authorities (registered types),
issued and revoked, like the registry's own (both backends)."""

from __future__ import annotations

import dataclasses
import io
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from orgbook.app import create_app
from orgbook.core.errors import BadInput
from orgbook.feeds import webhooks
from orgbook.feeds.delivery import DeliveryPolicy, DeliveryWorker
from orgbook.feeds.export import write_export
from orgbook.feeds.feed import FeedFilter, read_page
from orgbook.issuer.service import Issuance
from orgbook.storage.engine import reading
from tests.authorisations.scenario import Scenario, build
from tests.factories import PUBLIC_URL
from tests.feeds.receiver import Receiver, running_receiver

FAST = DeliveryPolicy(base_delay=1.0, max_delay=8.0, max_attempts=4, lease=30.0, concurrency=1)


@pytest.fixture
def scenario(db_url: str, tmp_path: Path) -> Iterator[Scenario]:
    built = build(tmp_path, url=db_url)
    yield built
    built.registry.close()


def _revoke_vendor(s: Scenario) -> int:
    return Issuance(s.registry).change_status(
        "service-agency", s.vendor.credential["id"], "revoke", reason="contract ended"
    )


def _export(s: Scenario, fmt: Any = "jsonl") -> bytes:
    out = io.BytesIO()
    write_export(s.registry.engine, fmt, out)
    return out.getvalue()


def _exported_ids(data: bytes) -> set[str]:
    ids: set[str] = set()
    for line in data.splitlines():
        credentials = json.loads(line).get("credentials")
        if isinstance(credentials, list):  # not the checkpoint's or the end's line
            ids.update(cred["id"] for cred in credentials)
    return ids


def test_the_feed_carries_authority_credentials_issued_and_revoked(scenario: Scenario) -> None:
    revoked_at = _revoke_vendor(scenario)
    vendor_id = scenario.vendor.credential["id"]
    with reading(scenario.registry.engine) as conn:
        page = read_page(conn, FeedFilter(type="vendor"), after=-1, limit=1000)
        by_issuer = read_page(conn, FeedFilter(issuer="bc-licensing"), after=-1, limit=1000)
        with pytest.raises(BadInput, match="no credential type 'nothing'"):
            read_page(conn, FeedFilter(type="nothing"))
    kinds = [(item.kind, item.credential, item.issuer) for item in page.items]
    assert ("credential.issued", vendor_id, "service-agency") in kinds
    assert ("credential.revoked", vendor_id, "service-agency") in kinds
    assert revoked_at in {item.index for item in page.items}
    assert {item.type for item in page.items} == {"vendor"}
    licence = scenario.licence.credential["id"]
    assert licence in {item.credential for item in by_issuer.items}

    settings = dataclasses.replace(scenario.registry.settings, rate_limit_per_minute=0)
    app = create_app(settings, registry=scenario.registry)
    with TestClient(app, base_url=PUBLIC_URL) as http:
        answer = http.get("/api/v1/feed", params={"type": "business-licence", "after": -1})
        assert answer.status_code == 200, answer.text
        items = answer.json()["items"]
        assert [i["credential"] for i in items if i["kind"] == "credential.issued"] == [licence]
        assert http.get("/api/v1/feed", params={"type": "nothing"}).status_code == 400
        assert http.get("/api/v1/feed", params={"type": "Not A Slug"}).status_code == 422
        # The stream checks its filter before it starts: a 400, not a stream cut short.
        stream = http.get("/api/v1/feed/stream", params={"type": "nothing", "timeout": 1})
        assert stream.status_code == 400, stream.text
        assert stream.json()["field"] == "type"


def _deliver(s: Scenario, receiver: Receiver, sub: webhooks.Subscription) -> None:
    flt = webhooks.feed_filter(sub.filter, sub.filter_value)
    for _ in range(30):
        worker = DeliveryWorker(s.registry.engine, policy=FAST)
        try:
            worker.run_once()
        finally:
            worker.close()
        with reading(s.registry.engine) as conn:
            cursor = webhooks.get_subscription(conn, sub.id).cursor
            if read_page(conn, flt, after=cursor).items == ():
                return
        time.sleep(0.2)
    raise AssertionError("deliveries did not finish")


def test_webhooks_deliver_authority_credentials(scenario: Scenario) -> None:
    with running_receiver() as receiver:
        with scenario.registry.engine.begin() as conn:
            subscriber = webhooks.create_subscriber(conn, "a licensing watcher")
            sub = webhooks.create_subscription(
                conn,
                subscriber.id,
                url=receiver.url,
                filter_kind="type",
                filter_value="vendor",
                after=-1,
            )
            with pytest.raises(BadInput, match="no credential type"):
                webhooks.create_subscription(
                    conn, subscriber.id, url=receiver.url, filter_kind="type", filter_value="zzz"
                )
        receiver.secrets[sub.id] = sub.secret
        _revoke_vendor(scenario)
        _deliver(scenario, receiver, sub)
        assert not receiver.rejected
        events = [p["event"] for s, _, p in receiver.accepted if s == sub.id]
    vendor_id = scenario.vendor.credential["id"]
    assert [(e["kind"], e["credential"]) for e in events] == [
        ("credential.issued", vendor_id),
        ("credential.revoked", vendor_id),
    ]
    assert {e["issuer"] for e in events} == {"service-agency"}


def test_the_export_carries_current_authority_credentials(scenario: Scenario) -> None:
    licence, vendor = scenario.licence.credential["id"], scenario.vendor.credential["id"]
    before = _export(scenario)
    assert {licence, vendor} <= _exported_ids(before)
    entry = next(
        cred
        for line in before.splitlines()
        if isinstance(json.loads(line).get("credentials"), list)
        for cred in json.loads(line)["credentials"]
        if cred["id"] == vendor
    )
    assert entry["type"] == "vendor"
    assert entry["entry"]["payload"]["credential"]["onBehalfOf"]
    assert f"vendor|{scenario.vendor.index}|".encode() in _export(scenario, "csv")
    _revoke_vendor(scenario)
    after = _exported_ids(_export(scenario))
    assert licence in after
    assert vendor not in after
