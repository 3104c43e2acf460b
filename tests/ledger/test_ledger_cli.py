"""``orgbook ledger …`` exit codes and output, and the ledger's sealed key on disk."""

from __future__ import annotations

import stat
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Connection, Engine, update

from orgbook import cli
from orgbook.commands import ledger as ledger_cli
from orgbook.core.errors import ConfigurationError, VerificationError
from orgbook.ledger.keys import (
    DEFAULT_ORIGIN,
    KEY_FILE,
    VKEY_FILE,
    load_ledger_verifier,
    load_or_create_ledger_key,
)
from orgbook.ledger.note import open_checkpoint
from orgbook.ledger.store import Ledger, ledger_entries

PASSPHRASE = "a long enough passphrase"


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "data"


@pytest.fixture
def orgbook(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], db_url: str, data_dir: Path
) -> Any:
    monkeypatch.delenv("ORGBOOK_KEY_PASSPHRASE", raising=False)
    monkeypatch.delenv("ORGBOOK_DATABASE_URL", raising=False)

    def run(*args: str) -> tuple[int, str, str]:
        code = cli.main(["ledger", *args, "--db", db_url, "--data-dir", str(data_dir)])
        out, err = capsys.readouterr()
        return code, out, err

    return run


def fill(engine: Engine, count: int) -> None:
    with engine.begin() as conn:
        Ledger(origin=DEFAULT_ORIGIN).append_many(
            conn, [("credential.issued", {"n": i}) for i in range(count)]
        )


def test_info_on_an_empty_ledger(orgbook: Any, engine: Engine) -> None:
    code, out, _ = orgbook("info")
    assert code == 0
    assert "size: 0" in out
    assert f"origin: {DEFAULT_ORIGIN}" in out
    assert "root: e3b0c442" in out


def test_checkpoint_audit_and_info(
    orgbook: Any, engine: Engine, monkeypatch: pytest.MonkeyPatch, data_dir: Path
) -> None:
    fill(engine, 25)
    # The ledger grew: signing needs the passphrase.
    code, _, err = orgbook("checkpoint")
    assert code == 2
    assert "ORGBOOK_KEY_PASSPHRASE" in err
    monkeypatch.setenv("ORGBOOK_KEY_PASSPHRASE", PASSPHRASE)
    code, note, _ = orgbook("checkpoint")
    assert code == 0
    verifier = load_ledger_verifier(data_dir)
    assert verifier is not None
    checkpoint, _ = open_checkpoint(note, [verifier], origin=DEFAULT_ORIGIN)
    assert checkpoint.size == 25
    # Unchanged ledger: printed again without the key.
    monkeypatch.delenv("ORGBOOK_KEY_PASSPHRASE")
    assert orgbook("checkpoint") == (0, note, "")

    code, out, _ = orgbook("info")
    assert code == 0
    assert "size: 25" in out
    assert checkpoint.root.hex() in out
    assert verifier.vkey() in out
    assert "latest checkpoint size: 25" in out

    # Entries made up for the ledger alone: no projection derives from them.
    code, out, _ = orgbook("audit", "--ledger-only")
    assert code == 0, out
    assert "sound: 25 entries" in out
    assert "1 checkpoint(s) verified" in out


def test_audit_of_a_tampered_ledger_exits_1(orgbook: Any, engine: Engine) -> None:
    fill(engine, 12)
    assert orgbook("audit", "--ledger-only")[0] == 0
    with engine.begin() as conn:
        conn.execute(update(ledger_entries).where(ledger_entries.c.idx == 7).values(data=b"{}"))
    code, out, _ = orgbook("audit")
    assert code == 1
    assert "UNSOUND at entry 7" in out


def test_replay_hands_the_ledger_to_the_projections(
    orgbook: Any, engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    fill(engine, 3)
    calls: list[int] = []

    def replay(conn: Connection, ledger: Ledger) -> str:
        calls.append(ledger.size(conn))
        return "rebuilt 3 entries"

    monkeypatch.setattr(ledger_cli, "replay", replay)
    code, out, _ = orgbook("replay")
    assert code == 0
    assert calls == [3]
    assert "rebuilt 3 entries" in out


# --- the ledger key on disk ---------------------------------------------------------------------


def test_ledger_key_is_sealed_and_reloads(tmp_path: Path) -> None:
    signer = load_or_create_ledger_key(tmp_path, DEFAULT_ORIGIN, PASSPHRASE.encode())
    key_file = tmp_path / KEY_FILE
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    sealed = key_file.read_bytes()
    assert sealed.startswith(b"-----BEGIN ENCRYPTED PRIVATE KEY-----")
    seed = signer.signer.seed  # type: ignore[attr-defined]
    assert seed not in sealed
    assert (tmp_path / VKEY_FILE).read_text().strip() == signer.vkey()
    again = load_or_create_ledger_key(tmp_path, DEFAULT_ORIGIN, PASSPHRASE.encode())
    assert again.vkey() == signer.vkey()
    with pytest.raises(VerificationError):
        load_or_create_ledger_key(tmp_path, DEFAULT_ORIGIN, b"the wrong passphrase")
    with pytest.raises(ConfigurationError):
        load_or_create_ledger_key(tmp_path, "another.example/log", PASSPHRASE.encode())


def test_another_origin_for_an_existing_ledger_says_how_to_keep_serving_it(tmp_path: Path) -> None:
    # The origin follows ORGBOOK_PUBLIC_URL by default: serving an existing data directory at
    # another URL must say that the ledger's origin is fixed and how to keep it, not only that
    # two files disagree.
    load_or_create_ledger_key(tmp_path, "127.0.0.1:8000/ledger", PASSPHRASE.encode())
    with pytest.raises(ConfigurationError) as raised:
        load_or_create_ledger_key(tmp_path, "127.0.0.1:8791/ledger", PASSPHRASE.encode())
    detail = raised.value.detail
    assert "'127.0.0.1:8000/ledger'" in detail
    assert "'127.0.0.1:8791/ledger'" in detail
    assert "ORGBOOK_LEDGER_ORIGIN=127.0.0.1:8000/ledger" in detail
    again = load_or_create_ledger_key(tmp_path, "127.0.0.1:8000/ledger", PASSPHRASE.encode())
    assert again.vkey() == (tmp_path / VKEY_FILE).read_text().strip()


def test_a_key_that_is_not_the_published_one_is_refused(tmp_path: Path) -> None:
    load_or_create_ledger_key(tmp_path, DEFAULT_ORIGIN, PASSPHRASE.encode())
    other = tmp_path / "other"
    load_or_create_ledger_key(other, DEFAULT_ORIGIN, PASSPHRASE.encode())
    (tmp_path / KEY_FILE).write_bytes((other / KEY_FILE).read_bytes())
    with pytest.raises(ConfigurationError) as raised:
        load_or_create_ledger_key(tmp_path, DEFAULT_ORIGIN, PASSPHRASE.encode())
    assert "is not the key of" in raised.value.detail
    assert "ORGBOOK_LEDGER_ORIGIN" not in raised.value.detail


def test_a_published_vkey_without_its_key_is_not_replaced(tmp_path: Path) -> None:
    load_or_create_ledger_key(tmp_path, DEFAULT_ORIGIN, PASSPHRASE.encode())
    (tmp_path / KEY_FILE).unlink()
    with pytest.raises(ConfigurationError):
        load_or_create_ledger_key(tmp_path, DEFAULT_ORIGIN, PASSPHRASE.encode())
