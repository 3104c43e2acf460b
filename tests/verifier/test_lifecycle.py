"""One registry run through the years: every earlier bundle keeps the verdict it should, on
every path (offline ``orgbook verify``, ``--online``, ``POST /api/v1/verify``, the web page's
server path, and ``orgbook export`` + ``export verify``: the export verifies and lists the
credential exactly while it is not revoked), after each step: issue; rotate and retire keys
twice; revoke, suspend, unsuspend; ``orgbook db upgrade``; back up and restore into a new
database.

The regression it pins: after a key rotation and a status-list change, the API and the web page
called a bundle downloaded before the rotation *not valid* ("cannot resolve verification method
'…#key-2'"), while ``--online`` called it valid. Every path now resolves keys from the ledger's
key history, as of when the credential or the list was signed.
"""

from __future__ import annotations

import dataclasses
import io
import json
import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select

from orgbook.app import create_app
from orgbook.cli import main
from orgbook.config import get_settings
from orgbook.feeds.export import write_export
from orgbook.feeds.export_verify import LocalLeaves, verify_export
from orgbook.issuer.keys import retire_key, rotate_key
from orgbook.issuer.sample import generate_feed
from orgbook.issuer.service import Issuance
from orgbook.projections.tables import credentials, issuer_keys
from orgbook.runtime.registry import Registry, open_registry
from orgbook.storage.backup import backup, restore
from orgbook.storage.engine import make_engine, reading
from orgbook.verifier.bundles import bundle_for
from orgbook.verifier.client import RegistryClient
from orgbook.verifier.offline import verify_document
from tests.factories import PASSPHRASE, PUBLIC_URL, add_issuers, issue, new_registry

ISSUER = "bc-registries"


def year(y: int) -> datetime:
    return datetime(y, 3, 1, 12, tzinfo=UTC)


@contextmanager
def serving(registry: Registry) -> Iterator[TestClient]:
    settings = dataclasses.replace(
        registry.settings, rate_limit_per_minute=0, verify_rate_limit_per_minute=0
    )
    with TestClient(create_app(settings, registry=registry), base_url=PUBLIC_URL) as client:
        yield client


def _status_reason(checks: list[dict[str, Any]]) -> str:
    return next((c["reason"] for c in checks if c["name"] == "status"), "")


def verdict(valid: bool, checks: list[dict[str, Any]]) -> str:
    """``valid``, ``revoked``, ``suspended`` or the failing checks with their reasons."""
    if valid:
        return "valid"
    failed = {c["name"]: c["reason"] for c in checks if c["outcome"] == "fail"}
    if set(failed) == {"status"}:
        reason = failed["status"]
        if reason.startswith("revoked"):
            return "revoked"
        if reason.startswith("suspended"):
            return "suspended"
    return f"invalid: {failed}"


def every_path(
    registry: Registry, client: TestClient, bundle: dict[str, Any], now: datetime, tmp: Path
) -> dict[str, str]:
    """The verdict of each path for ``bundle``; ``now`` for the paths that take it."""
    keys = registry.ledger.verifiers
    offline = verify_document(bundle, now=now, ledger_keys=keys)
    online = verify_document(
        bundle, now=now, ledger_keys=keys, online=RegistryClient(PUBLIC_URL, client)
    )
    api = client.post("/api/v1/verify", json=bundle).json()
    web = client.post("/verify", data={"document": json.dumps(bundle)}, params={"lang": "en"})
    assert web.status_code == 200
    heading = re.search(r'<h2 id="report-heading"[^>]*>(.*?)</h2>', web.text, re.S)
    assert heading is not None, web.text
    web_verdict = "valid" if "Valid: every check passed" in heading.group(1) else "not valid"
    found = {
        "offline": verdict(offline.report.valid, offline.to_dict()["checks"]),
        "online": verdict(online.report.valid, online.to_dict()["checks"]),
        "api": verdict(api["valid"], api["checks"]),
        "web": web_verdict,
    }
    if found["offline"] == "valid":
        status = _status_reason(offline.to_dict()["checks"])
        assert "status" in status or "no status list" in status or status == "", status
    return found


def exported(registry: Registry) -> set[str]:
    """The credential ids of a fresh export, after checking it verifies against the ledger."""
    out = io.BytesIO()
    write_export(registry.engine, "jsonl", out)
    out.seek(0)
    found = verify_export(out, registry.ledger.verifiers, LocalLeaves(registry.engine))
    assert found.valid, found.problems
    lines = [json.loads(line) for line in out.getvalue().splitlines()[1:-1]]
    return {cred["id"] for line in lines for cred in line["credentials"]}


def expected(state: str) -> dict[str, str]:
    # Offline, a bundle says nothing newer than itself: its status is not checked.
    return {
        "offline": "valid",
        "online": state,
        "api": state,
        "web": "valid" if state == "valid" else "not valid",
    }


def current_credentials(registry: Registry, count: int) -> list[str]:
    with reading(registry.engine) as conn:
        rows = conn.execute(
            select(credentials.c.id)
            .where(credentials.c.issuer_id == ISSUER, credentials.c.state == "current")
            .order_by(credentials.c.ledger_index)
        ).all()
    assert len(rows) >= count
    return [row.id for row in rows[:count]]


def download(registry: Registry, cid: str) -> dict[str, Any]:
    with reading(registry.engine) as conn:
        return bundle_for(conn, registry.ledger, cid)


def rotate(registry: Registry, at: datetime) -> str:
    with registry.engine.begin() as conn:
        new = rotate_key(conn, registry.ledger, ISSUER, passphrase=PASSPHRASE, now=at)
        registry.ledger.sign_checkpoint(conn, now=at)
    return new


def change(registry: Registry, cid: str, action: str, at: datetime) -> None:
    issuance: Any = Issuance(registry)
    issuance.change_status(ISSUER, cid, action, reason=f"{action} in {at.year}", now=at)


def reopen(registry: Registry, url: str) -> Registry:
    settings = get_settings(
        data_dir=registry.settings.data_dir, database_url=url, public_url=PUBLIC_URL
    )
    return open_registry(settings, passphrase=PASSPHRASE, create=False)


def test_bundles_keep_their_verdicts_through_the_years(tmp_path: Path) -> None:
    registry = new_registry(tmp_path)
    add_issuers(registry, now=year(2001))
    issue(registry, list(generate_feed(8, seed=11, jurisdictions=("CA-BC",))), now=year(2002))
    a, b, c, d = current_credentials(registry, 4)
    bundles = {cid: download(registry, cid) for cid in (a, b, c, d)}
    states = dict.fromkeys(bundles, "valid")
    step = 0

    def all_agree(reg: Registry) -> None:
        nonlocal step
        step += 1
        now = year(2030 + 3 * step)  # years after every event, further each step
        with serving(reg) as client:
            for name, bundle in bundles.items():
                cid = bundle["credential"]["id"]
                got = every_path(reg, client, bundle, now, tmp_path)
                assert got == expected(states[cid]), (step, name, got)
        in_export = exported(reg)
        for cid, state in states.items():
            assert (cid in in_export) == (state != "revoked"), (step, cid, state)

    all_agree(registry)

    # 1. A key rotation, then a status list changes: it is signed by key-2, which no bundle
    # made before the rotation carries.
    assert rotate(registry, year(2004)).endswith("#key-2")
    all_agree(registry)
    change(registry, b, "revoke", year(2005))
    states[b] = "revoked"
    all_agree(registry)
    bundles["a after key-2"] = download(registry, a)
    all_agree(registry)

    # 2. A second rotation, and key-2 retired by it; suspend and unsuspend under key-3.
    assert rotate(registry, year(2007)).endswith("#key-3")
    with reading(registry.engine) as conn:
        active = conn.execute(
            select(issuer_keys.c.key_id).where(
                issuer_keys.c.issuer_id == ISSUER, issuer_keys.c.active.is_(True)
            )
        ).scalars()
        assert [k.rsplit("#", 1)[1] for k in active] == ["key-3"]
    change(registry, c, "suspend", year(2009))
    states[c] = "suspended"
    all_agree(registry)
    change(registry, c, "unsuspend", year(2011))
    states[c] = "valid"
    all_agree(registry)

    # 3. The schema migration command on the running registry changes no verdict.
    url = registry.settings.database_url
    assert main(["db", "upgrade", "--db", url, "--data-dir", str(tmp_path / "data")]) == 0
    all_agree(registry)

    # 4. Back up, restore into a new database, carry on there: rotate, retire, revoke.
    file = tmp_path / "backup.sqlite3"
    backup(registry.engine, file)
    registry.close()
    target = f"sqlite:///{tmp_path / 'restored.sqlite3'}"
    engine = make_engine(target)
    try:
        restore(engine, file)
    finally:
        engine.dispose()
    restored = reopen(registry, target)
    try:
        all_agree(restored)
        key4 = rotate(restored, year(2013))
        with restored.engine.begin() as conn:
            retire_key(conn, restored.ledger, ISSUER, key4, now=year(2014))
            restored.ledger.sign_checkpoint(conn, now=year(2014))
        # Retired without a successor: the lists stay as signed (by key-4, before retiring).
        all_agree(restored)
        rotate(restored, year(2015))  # key-5
        change(restored, d, "revoke", year(2016))
        states[d] = "revoked"
        all_agree(restored)
    finally:
        restored.close()
