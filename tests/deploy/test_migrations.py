"""Migrations: from empty to exactly what ``metadata`` declares, on SQLite and PostgreSQL.

Upgrading twice is a no-op; a database made by ``metadata.create_all`` before migrations existed
is adopted; processes upgrading one empty database at once queue on the migration lock.
"""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from sqlalchemy import (
    BigInteger,
    Column,
    Engine,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    inspect,
    select,
    text,
)

import orgbook
from orgbook.cli import main
from orgbook.storage import migrations, schema
from orgbook.storage.engine import make_engine


def _schema(engine: Engine) -> dict[str, object]:
    """Tables, columns, indexes, keys: a fingerprint of the schema to compare runs with."""
    with engine.connect() as conn:
        insp = inspect(conn)
        return {
            name: (
                [(c["name"], str(c["type"]), c["nullable"]) for c in insp.get_columns(name)],
                sorted((i["name"] or "", tuple(i["column_names"])) for i in insp.get_indexes(name)),
                insp.get_pk_constraint(name)["constrained_columns"],
            )
            for name in sorted(insp.get_table_names())
        }


def _backend_objects_exist(engine: Engine) -> bool:
    with engine.connect() as conn:
        if engine.dialect.name == "sqlite":
            found = conn.execute(
                text("SELECT 1 FROM sqlite_master WHERE name = 'search_name_fts'")
            ).first()
        else:
            found = conn.execute(
                text("SELECT 1 FROM pg_indexes WHERE indexname = 'search_name_tokens_gin'")
            ).first()
    return found is not None


def test_scripts_live_inside_the_package() -> None:
    location = migrations.alembic_config().get_main_option("script_location")
    assert Path(location).is_relative_to(Path(orgbook.__file__).parent)
    assert (Path(location) / "versions").is_dir()
    from alembic.script import ScriptDirectory

    scripts = ScriptDirectory.from_config(migrations.alembic_config())
    assert scripts.get_revision(migrations.BASE_REVISION).down_revision is None
    assert len(scripts.get_heads()) == 1  # one line of history, no branches


def test_upgrade_from_empty_matches_metadata_and_twice_is_a_noop(db_url: str) -> None:
    engine = make_engine(db_url)
    try:
        before, after = migrations.upgrade(engine)
        assert (before, after) == (None, migrations.head_revision())
        with engine.connect() as conn:
            assert schema.schema_diff(conn) == []
            assert migrations.current_revision(conn) == after
        tables = set(inspect(engine).get_table_names())
        assert set(schema.metadata.tables) <= tables
        assert _backend_objects_exist(engine)
        fingerprint = _schema(engine)

        # Again, as every server, command and test does at start-up: nothing to do.
        assert migrations.upgrade(engine) == (after, after)
        assert _schema(engine) == fingerprint
        with engine.connect() as conn:
            assert schema.schema_diff(conn) == []
    finally:
        engine.dispose()


def test_migrations_equal_create_all(db_url: str, tmp_path: Path) -> None:
    """The migrated schema and the one ``metadata.create_all`` makes are the same."""
    migrated = make_engine(db_url)
    if migrated.dialect.name == "sqlite":
        plain = make_engine(f"sqlite:///{tmp_path / 'plain.sqlite3'}")
    else:
        plain = make_engine(db_url)  # a second schema in the same database is not possible:
        migrated.dispose()  # compare against a fresh create_all after dropping everything
    try:
        if migrated.dialect.name == "sqlite":
            migrations.upgrade(migrated)
            schema.metadata.create_all(plain)
            expected = _schema(plain)
            got = {k: v for k, v in _schema(migrated).items() if k != "alembic_version"}
            assert got == expected
            assert _backend_objects_exist(plain)
            assert _backend_objects_exist(migrated)
        else:
            schema.metadata.create_all(plain)
            expected = _schema(plain)
            with plain.connect() as conn:
                assert schema.schema_diff(conn) == []
            schema.metadata.drop_all(plain)
            migrations.upgrade(plain)
            got = {k: v for k, v in _schema(plain).items() if k != "alembic_version"}
            assert got == expected
    finally:
        migrated.dispose()
        plain.dispose()


def test_an_unversioned_create_all_database_is_adopted(db_url: str, tmp_path: Path) -> None:
    """A first-release database, made before migrations existed: no ``alembic_version``."""
    engine = make_engine(db_url)
    try:
        # The first release's schema exactly (revision 0001 is its frozen snapshot), without
        # the version table that release did not have.
        migrations.upgrade(engine, migrations.BASE_REVISION)
        with engine.begin() as conn:
            conn.execute(text("DROP TABLE alembic_version"))
        with engine.begin() as conn:
            conn.execute(text("INSERT INTO ledger_meta (key, value) VALUES ('origin', 'x/ledger')"))
        before, after = migrations.upgrade(engine)
        assert (before, after) == (migrations.BASE_REVISION, migrations.head_revision())
        with engine.connect() as conn:
            assert conn.execute(text("SELECT value FROM ledger_meta")).scalar() == "x/ledger"
            assert schema.schema_diff(conn) == []
    finally:
        engine.dispose()


def _cosignatures_as_the_push_endpoint_made_them() -> Table:
    """``ledger_cosignatures`` as ``witness_api.ensure_table`` created it on the first push,
    before revision 0003 existed (a copy: the declaration it was made from is gone)."""
    return Table(
        "ledger_cosignatures",
        MetaData(),
        Column("size", BigInteger().with_variant(Integer(), "sqlite"), primary_key=True,
               autoincrement=False),
        Column("witness", String(500), primary_key=True),
        Column("key_hash", LargeBinary(4), primary_key=True),
        Column("line", Text, nullable=False),
        Column("timestamp", BigInteger, nullable=False),
        Column("received_at", String(32), nullable=False),
    )  # fmt: skip


COSIGNATURE = {
    "size": 7,
    "witness": "witness.test/w1",
    "key_hash": b"\x01\x02\x03\x04",
    "line": "— witness.test/w1 AQIDBA==",
    "timestamp": 1_795_000_000,
    "received_at": "2026-11-23T12:00:00Z",
}


def test_0003_adopts_the_cosignatures_table_made_on_first_push(
    db_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """A registry at 0002 whose witnesses had pushed: the table and its rows are kept."""
    engine = make_engine(db_url)
    try:
        migrations.upgrade(engine, "0002")
        old = _cosignatures_as_the_push_endpoint_made_them()
        old.create(engine)
        with engine.begin() as conn:
            conn.execute(old.insert().values(**COSIGNATURE))
        assert migrations.upgrade(engine) == ("0002", migrations.head_revision())
        with engine.connect() as conn:
            assert conn.execute(select(old)).mappings().one() == COSIGNATURE
            assert schema.schema_diff(conn) == []
    finally:
        engine.dispose()
    capsys.readouterr()
    assert main(["db", "check", "--db", db_url]) == 0
    assert "matches the table declarations" in capsys.readouterr().out


def test_0003_creates_and_drops_the_cosignatures_table(db_url: str) -> None:
    from alembic import command

    from orgbook.ledger.cosignatures import ledger_cosignatures

    engine = make_engine(db_url)
    try:
        migrations.upgrade(engine, "0002")
        assert not inspect(engine).has_table("ledger_cosignatures")
        migrations.upgrade(engine, "0003")
        with engine.begin() as conn:
            conn.execute(ledger_cosignatures.insert().values(**COSIGNATURE))
        with engine.begin() as conn:
            command.downgrade(migrations.alembic_config(conn), "0002")
        with engine.connect() as conn:
            assert migrations.current_revision(conn) == "0002"
            assert not inspect(conn).has_table("ledger_cosignatures")
            assert inspect(conn).has_table("feed_subscriptions")  # 0002's tables stay
        migrations.upgrade(engine)
        with engine.connect() as conn:
            assert conn.execute(select(ledger_cosignatures)).first() is None
            assert schema.schema_diff(conn) == []
    finally:
        engine.dispose()


def test_concurrent_upgrades_of_one_empty_database(db_url: str) -> None:
    """Replicas starting together: every upgrade succeeds, the schema is made once."""
    errors: list[BaseException] = []
    engines = [make_engine(db_url) for _ in range(4)]
    barrier = threading.Barrier(len(engines))

    def run(engine: Engine) -> None:
        try:
            barrier.wait()
            migrations.upgrade(engine)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(e,)) for e in engines]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    try:
        assert errors == []
        with engines[0].connect() as conn:
            assert conn.execute(text("SELECT count(*) FROM alembic_version")).scalar() == 1
            assert schema.schema_diff(conn) == []
    finally:
        for e in engines:
            e.dispose()


def test_db_commands(db_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["db", "current", "--db", db_url]) == 1  # not migrated yet
    assert main(["db", "upgrade", "--db", db_url]) == 0
    assert f"upgraded: empty -> {migrations.head_revision()}" in capsys.readouterr().out
    assert main(["db", "upgrade", "--db", db_url]) == 0
    assert "nothing to do" in capsys.readouterr().out
    assert main(["db", "current", "--db", db_url]) == 0
    assert main(["db", "check", "--db", db_url]) == 0
    engine = make_engine(db_url)
    try:
        with engine.begin() as conn:  # a schema changed by hand is drift
            conn.execute(text("ALTER TABLE ledger_meta ADD COLUMN note TEXT"))
    finally:
        engine.dispose()
    capsys.readouterr()
    assert main(["db", "check", "--db", db_url]) == 1
    assert "note" in capsys.readouterr().out


def test_sqlite_read_transactions_reuse_pooled_connections(tmp_path: Path) -> None:
    """Each SQLite connection once was opened per request (NullPool): five PRAGMAs and a cold
    page cache for every search, which made search slower the more clients read at once."""
    from sqlalchemy import event

    from orgbook.storage.engine import make_engine, reading

    engine = make_engine(f"sqlite:///{tmp_path / 'pool.sqlite3'}")
    opened: list[object] = []
    event.listen(engine, "connect", lambda conn, _record: opened.append(conn))
    try:
        for _ in range(20):
            with reading(engine) as conn:
                assert conn.exec_driver_sql("SELECT 1").scalar() == 1
    finally:
        engine.dispose()
    assert len(opened) == 1


def test_sqlite_pool_size_from_the_environment() -> None:
    from orgbook.core.errors import ConfigurationError
    from orgbook.storage.engine import sqlite_pool_size

    assert sqlite_pool_size({}) == 16
    assert sqlite_pool_size({"ORGBOOK_DB_POOL_SIZE": "4"}) == 4
    for bad in ("many", "0"):
        with pytest.raises(ConfigurationError, match="ORGBOOK_DB_POOL_SIZE"):
            sqlite_pool_size({"ORGBOOK_DB_POOL_SIZE": bad})


def test_pool_settings_from_the_environment() -> None:
    from orgbook.core.errors import ConfigurationError
    from orgbook.storage.engine import POOL_DEFAULTS, pool_settings

    assert pool_settings({}) == POOL_DEFAULTS
    got = pool_settings(
        {
            "ORGBOOK_DB_POOL_SIZE": "5",
            "ORGBOOK_DB_MAX_OVERFLOW": "0",
            "ORGBOOK_DB_POOL_PRE_PING": "off",
            "ORGBOOK_DB_POOL_RECYCLE": "-1",
        }
    )
    assert got["pool_size"] == 5
    assert got["max_overflow"] == 0
    assert got["pool_pre_ping"] is False
    assert got["pool_recycle"] == -1
    with pytest.raises(ConfigurationError, match="ORGBOOK_DB_POOL_SIZE"):
        pool_settings({"ORGBOOK_DB_POOL_SIZE": "many"})
    docs = (Path(__file__).parents[2] / "docs" / "configuration.md").read_text(encoding="utf-8")
    for var in ("ORGBOOK_DB_POOL_SIZE", "ORGBOOK_DB_MAX_OVERFLOW", "ORGBOOK_DB_POOL_TIMEOUT",
                "ORGBOOK_DB_POOL_RECYCLE", "ORGBOOK_DB_POOL_PRE_PING"):  # fmt: skip
        assert f"`{var}`" in docs
