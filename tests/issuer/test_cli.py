"""``orgbook issuer …`` and ``orgbook ingest`` as an operator runs them: every action, its output,
its exit code on a refusal, and a ledger that audits sound afterwards."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from orgbook import cli
from orgbook.issuer.sample import write_feed
from orgbook.issuer.store import api_keys
from orgbook.ledger.store import ledger_entries
from orgbook.projections.tables import credentials
from orgbook.storage.engine import make_engine, reading

PASSPHRASE = "a long enough passphrase for the CLI tests"
DID = "did:web:registry.example:bc"

Run = Callable[..., tuple[int, str, str]]


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "data"


@pytest.fixture
def orgbook(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], data_dir: Path
) -> Run:
    """``orgbook ARGS… --data-dir DIR`` in this process: (exit code, stdout, stderr)."""
    monkeypatch.setenv("ORGBOOK_KEY_PASSPHRASE", PASSPHRASE)
    monkeypatch.delenv("ORGBOOK_DATABASE_URL", raising=False)
    monkeypatch.delenv("ORGBOOK_DATA_DIR", raising=False)

    def run(*args: str) -> tuple[int, str, str]:
        code = cli.main([*args, "--data-dir", str(data_dir)])
        out, err = capsys.readouterr()
        return code, out, err

    return run


def _json(out: str) -> Any:
    return json.loads(out)


def _db(data_dir: Path) -> str:
    return f"sqlite:///{data_dir / 'orgbook.sqlite3'}"


def _create(orgbook: Run, *extra: str) -> dict[str, Any]:
    code, out, err = orgbook(
        "issuer", "create", "bc", "--name", "BC Registries", "--did", DID,
        "--jurisdiction", "CA-BC", *extra,
    )  # fmt: skip
    assert code == 0, err
    created: dict[str, Any] = _json(out)
    return created


def _audit_sound(orgbook: Run) -> str:
    code, out, err = orgbook("ledger", "audit")
    assert code == 0, out + err
    assert "ledger sound" in out
    return out


def test_create_list_and_did(orgbook: Run) -> None:
    created = _create(orgbook, "--types", "registration,legal-name", "--api-key")
    assert created["id"] == "bc"
    assert created["did"] == DID
    assert created["credentialTypes"] == ["registration", "legal-name"]
    assert created["apiKey"].startswith("obk_")

    code, out, _ = orgbook("issuer", "list")
    assert code == 0
    assert [issuer["id"] for issuer in _json(out)] == ["bc"]
    assert "apiKey" not in _json(out)[0]

    code, out, _ = orgbook("issuer", "did", "bc")
    assert code == 0
    document = _json(out)
    assert document["id"] == DID
    assert [vm["id"] for vm in document["verificationMethod"]] == [f"{DID}#key-1"]
    assert document["assertionMethod"] == [f"{DID}#key-1"]

    # The same id twice, or an unknown issuer, is refused with exit code 2.
    code, _, err = orgbook(
        "issuer", "create", "bc", "--name", "x", "--did", "did:web:other.example",
        "--jurisdiction", "CA-BC",
    )  # fmt: skip
    assert code == 2
    assert err.startswith("orgbook: ")
    code, _, err = orgbook("issuer", "did", "nobody")
    assert code == 2
    assert "nobody" in err
    _audit_sound(orgbook)


def test_rotate_key_then_retire_key(orgbook: Run, data_dir: Path) -> None:
    _create(orgbook)
    code, out, _ = orgbook("issuer", "rotate-key", "bc")
    assert code == 0
    assert _json(out) == {"issuer": "bc", "activeKey": f"{DID}#key-2"}

    code, out, _ = orgbook("issuer", "did", "bc")
    methods = {vm["id"]: vm for vm in _json(out)["verificationMethod"]}
    assert set(methods) == {f"{DID}#key-1", f"{DID}#key-2"}
    assert "revoked" in methods[f"{DID}#key-1"]  # rotation retired the old key
    assert "revoked" not in methods[f"{DID}#key-2"]
    assert _json(out)["assertionMethod"] == [f"{DID}#key-2"]

    # Retiring it again, or a key the issuer never had, is refused.
    code, _, err = orgbook("issuer", "retire-key", "bc", f"{DID}#key-1")
    assert code == 2
    assert "already retired" in err
    code, _, err = orgbook("issuer", "retire-key", "bc", f"{DID}#key-9")
    assert code == 2
    assert "has no key" in err

    code, out, _ = orgbook("issuer", "retire-key", "bc", f"{DID}#key-2")
    assert code == 0
    assert _json(out) == {"issuer": "bc", "retired": f"{DID}#key-2"}
    code, out, _ = orgbook("issuer", "did", "bc")
    assert all("revoked" in vm for vm in _json(out)["verificationMethod"])
    assert _json(out)["assertionMethod"] == []
    # The key history is on the ledger: registered with key-1, key-2 added, both retired.
    _audit_sound(orgbook)
    engine = make_engine(_db(data_dir))
    try:
        with reading(engine) as conn:
            kinds = conn.execute(
                select(ledger_entries.c.kind)
                .where(ledger_entries.c.kind.like("issuer.%"))
                .order_by(ledger_entries.c.idx)
            ).scalars()
            assert list(kinds) == [
                "issuer.registered",
                "issuer.key.added",  # key-1
                "issuer.key.added",  # key-2, by the rotation
                "issuer.key.retired",  # key-1, by the rotation
                "issuer.key.retired",  # key-2, retired by hand
            ]
    finally:
        engine.dispose()


def test_api_key_create_and_revoke(orgbook: Run, data_dir: Path) -> None:
    _create(orgbook)
    code, out, err = orgbook("issuer", "api-key", "create", "bc", "--label", "nightly feed")
    assert code == 0
    key = _json(out)
    assert key["issuer"] == "bc"
    assert key["apiKey"].startswith(f"obk_{key['id']}_")
    assert "shown once" in err

    engine = make_engine(_db(data_dir))
    try:
        with reading(engine) as conn:
            row = conn.execute(select(api_keys).where(api_keys.c.id == key["id"])).one()
        stored = " ".join(str(value) for value in row)
        assert key["apiKey"] not in stored  # hashed at rest
        assert "nightly feed" in stored

        code, out, _ = orgbook("issuer", "api-key", "revoke", key["id"])
        assert code == 0
        assert _json(out) == {"id": key["id"], "revoked": True}
        with reading(engine) as conn:
            revoked = conn.execute(select(api_keys).where(api_keys.c.id == key["id"])).one()
        assert revoked != row

        code, _, err = orgbook("issuer", "api-key", "create", "nobody")
        assert code == 2
        code, _, err = orgbook("issuer", "api-key", "revoke", "no-such-key")
        assert code == 2
    finally:
        engine.dispose()


def test_ingest_then_suspend_unsuspend_and_revoke(
    orgbook: Run, data_dir: Path, tmp_path: Path
) -> None:
    _create(orgbook)
    feed = tmp_path / "feed.jsonl"
    records = write_feed(feed, 3, seed=1, jurisdictions=("CA-BC",))
    code, out, err = orgbook("ingest", str(feed), "--issuer", "bc", "--no-progress")
    assert code == 0, err
    summary = _json(out)
    assert summary["records"] == records
    assert summary["rejected"] == 0
    assert summary["credentials"] > 0

    engine = make_engine(_db(data_dir))
    try:
        with reading(engine) as conn:
            credential_id = conn.execute(
                select(credentials.c.id)
                .where(credentials.c.state == "current")
                .order_by(credentials.c.id)
            ).scalar()
        assert isinstance(credential_id, str)

        def state() -> tuple[str, bool]:
            with reading(engine) as conn:
                row = conn.execute(
                    select(credentials.c.state, credentials.c.suspended).where(
                        credentials.c.id == credential_id
                    )
                ).one()
            return str(row.state), bool(row.suspended)

        indexes = []
        for action, expected in (
            ("suspend", ("current", True)),
            ("unsuspend", ("current", False)),
            ("revoke", ("revoked", False)),
        ):
            code, out, err = orgbook(
                "issuer", "revoke", "bc", credential_id, "--reason", f"test {action}",
                "--action", action,
            )  # fmt: skip
            assert code == 0, err
            answer = _json(out)
            assert (answer["credential"], answer["action"]) == (credential_id, action)
            indexes.append(answer["ledgerIndex"])
            assert state() == expected
        assert indexes == sorted(indexes)
        assert len(set(indexes)) == 3

        # Revoking twice, or another issuer's or an unknown credential, is refused.
        code, _, err = orgbook("issuer", "revoke", "bc", credential_id, "--reason", "again")
        assert code == 2
        assert "already revoked" in err
        code, _, err = orgbook("issuer", "revoke", "bc", "urn:uuid:nope", "--reason", "x")
        assert code == 2
    finally:
        engine.dispose()
    _audit_sound(orgbook)
