"""Revision 0004 (the ``search_pending`` marks of bulk feeds), and a database newer than the
release, on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
from alembic import command
from sqlalchemy import inspect, select, text

from orgbook.cli import main
from orgbook.core.errors import ConfigurationError
from orgbook.projections.tables import search_pending
from orgbook.storage import migrations
from orgbook.storage.engine import make_engine
from orgbook.storage.schema import schema_diff


def test_0004_adopts_a_table_create_all_made_and_keeps_its_marks(db_url: str) -> None:
    """A registry that ran a build where the table was not in a revision yet: marks kept."""
    engine = make_engine(db_url)
    try:
        migrations.upgrade(engine, "0003")
        search_pending.create(engine)
        with engine.begin() as conn:
            conn.execute(search_pending.insert().values(organisation_id="CA-BC:BC0000001"))
        assert migrations.upgrade(engine) == ("0003", migrations.head_revision())
        with engine.connect() as conn:
            assert list(conn.execute(select(search_pending)).scalars()) == ["CA-BC:BC0000001"]
            assert schema_diff(conn) == []
    finally:
        engine.dispose()


def test_0004_creates_and_drops_the_table(db_url: str) -> None:
    engine = make_engine(db_url)
    try:
        migrations.upgrade(engine, "0003")
        assert not inspect(engine).has_table("search_pending")
        migrations.upgrade(engine, "0004")
        assert inspect(engine).has_table("search_pending")
        with engine.begin() as conn:
            command.downgrade(migrations.alembic_config(conn), "0003")
        with engine.connect() as conn:
            assert migrations.current_revision(conn) == "0003"
            assert not inspect(conn).has_table("search_pending")
            assert inspect(conn).has_table("ledger_cosignatures")  # 0003's table stays
    finally:
        engine.dispose()


def test_a_database_a_newer_release_upgraded_is_refused_clearly(
    db_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """An older replica restarted after a newer release upgraded the schema: a clear error
    naming both revisions (exit 2), not Alembic's "can't locate revision"."""
    engine = make_engine(db_url)
    try:
        migrations.upgrade(engine)
        with engine.begin() as conn:
            conn.execute(text("UPDATE alembic_version SET version_num = '0999'"))
        with pytest.raises(ConfigurationError) as caught:
            migrations.upgrade(engine)
        assert "revision 0999" in caught.value.detail
        assert f"its newest is {migrations.head_revision()}" in caught.value.detail
    finally:
        engine.dispose()
    capsys.readouterr()
    assert main(["db", "upgrade", "--db", db_url]) == 2
    assert "0999" in capsys.readouterr().err
