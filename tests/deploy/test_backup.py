"""Backup and restore: a built registry restored into a fresh database audits sound, with the
same size and root; a tampered backup is caught by the audit. SQLite and PostgreSQL."""

from __future__ import annotations

import base64
import gzip
import json
import shutil
from pathlib import Path

import pytest
from sqlalchemy import text

from orgbook.cli import main
from orgbook.core.errors import Conflict
from orgbook.ledger.store import Ledger
from orgbook.storage.backup import backup, detect_format, restore
from orgbook.storage.engine import make_engine
from tests.factories import build_registry


def _size_root(url: str) -> tuple[int, bytes]:
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            ledger = Ledger(origin="x/ledger")
            return ledger.size(conn), ledger.root(conn)
    finally:
        engine.dispose()


def _audit(url: str, vkey: str) -> int:
    return main(["ledger", "audit", "--db", url, "--vkey", vkey, "--data-dir", "/nonexistent"])


@pytest.fixture
def built(db_url: str, tmp_path: Path) -> tuple[str, str]:
    registry = build_registry(tmp_path / "src", 40, url=db_url)
    vkey = registry.ledger.verifiers[0].vkey()
    registry.close()
    return db_url, vkey


def _target(kind: str, tmp_path: Path, request: pytest.FixtureRequest) -> str:
    if kind == "sqlite":
        return f"sqlite:///{tmp_path / 'restored.sqlite3'}"
    url: str = request.getfixturevalue("pg_url")
    return url


@pytest.mark.parametrize("fmt", ["native", "jsonl"])
def test_backup_restore_audit(
    built: tuple[str, str], fmt: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url, vkey = built
    backend = make_engine(url).dialect.name
    if fmt == "native" and backend == "postgresql" and shutil.which("pg_dump") is None:
        pytest.skip("pg_dump not on PATH")
    file = tmp_path / "backup.bin"
    argv = ["db", "backup", str(file), "--db", url]
    if fmt == "jsonl":
        argv += ["--format", "jsonl"]
    assert main(argv) == 0
    expected = {"sqlite": "sqlite", "postgresql": "pg_dump"}[backend] if fmt == "native" else fmt
    assert detect_format(file) == expected

    # Into a fresh database of the same backend (for PostgreSQL: a second fresh database).
    target = f"sqlite:///{tmp_path / 'restored.sqlite3'}" if backend == "sqlite" else None
    if target is None:
        from tests.conftest import pg_admin_url

        assert pg_admin_url() is not None
        target = _fresh_pg(tmp_path)
    try:
        assert main(["db", "restore", str(file), "--db", target]) == 0
        capsys.readouterr()
        assert _audit(target, vkey) == 0
        assert "ledger sound" in capsys.readouterr().out
        assert _size_root(target) == _size_root(url)
        assert main(["db", "check", "--db", target]) == 0
        # A second restore over a ledger needs --force.
        engine = make_engine(target)
        with pytest.raises(Conflict):
            restore(engine, file)
        assert restore(engine, file, force=True) == expected
        engine.dispose()
        assert _audit(target, vkey) == 0
    finally:
        _drop_pg(target)


def test_sqlite_registry_moves_to_postgresql(tmp_path: Path, pg_url: str) -> None:
    """A SQLite backup restores into PostgreSQL (rows copied): the same ledger, sound."""
    registry = build_registry(tmp_path / "src", 25)
    url, vkey = registry.settings.database_url, registry.ledger.verifiers[0].vkey()
    registry.close()
    file = tmp_path / "registry.sqlite3.bak"
    assert backup(make_engine(url), file) == "sqlite"
    engine = make_engine(pg_url)
    try:
        assert restore(engine, file) == "sqlite"
        with engine.connect() as conn:  # sequences moved past the copied ids
            conn.execute(text("SELECT nextval(pg_get_serial_sequence('search_name', 'id'))"))
    finally:
        engine.dispose()
    assert _audit(pg_url, vkey) == 0
    assert _size_root(pg_url) == _size_root(url)


def test_a_tampered_backup_fails_the_audit(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    registry = build_registry(tmp_path / "src", 20)
    url, vkey = registry.settings.database_url, registry.ledger.verifiers[0].vkey()
    registry.close()
    file = tmp_path / "backup.jsonl.gz"
    backup(make_engine(url), file, fmt="jsonl")

    # Rewrite one credential's bytes inside entry 7 (a name, say): the backup still loads.
    lines = gzip.decompress(file.read_bytes()).decode().splitlines()
    header = json.loads(lines[0])
    columns = header["tables"]["ledger_entries"]
    start = lines.index(json.dumps({"table": "ledger_entries"}))
    row = json.loads(lines[start + 1 + 7])
    data = bytearray(base64.b64decode(row[columns.index("data")]))
    data[data.index(b'"kind"') + 9] ^= 0x01  # one letter of the kind
    row[columns.index("data")] = base64.b64encode(bytes(data)).decode()
    lines[start + 1 + 7] = json.dumps(row)
    tampered = tmp_path / "tampered.jsonl.gz"
    tampered.write_bytes(gzip.compress(("\n".join(lines) + "\n").encode()))

    target = f"sqlite:///{tmp_path / 'restored.sqlite3'}"
    assert main(["db", "restore", str(tampered), "--db", target]) == 0
    capsys.readouterr()
    assert _audit(target, vkey) == 1
    assert "UNSOUND at entry 7" in capsys.readouterr().out


def _fresh_pg(tmp_path: Path) -> str:
    import uuid

    from sqlalchemy import create_engine

    from tests.conftest import pg_admin_url

    admin = (pg_admin_url() or "").replace("postgresql://", "postgresql+psycopg://", 1)
    name = f"orgbook_r_{uuid.uuid4().hex[:12]}"
    engine = create_engine(admin, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    engine.dispose()
    return admin.rsplit("/", 1)[0].replace("+psycopg", "") + f"/{name}"


def _drop_pg(url: str) -> None:
    if not url.startswith("postgresql"):
        return
    from sqlalchemy import create_engine

    from tests.conftest import pg_admin_url

    admin = (pg_admin_url() or "").replace("postgresql://", "postgresql+psycopg://", 1)
    engine = create_engine(admin, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{url.rsplit("/", 1)[1]}" WITH (FORCE)'))
    engine.dispose()
