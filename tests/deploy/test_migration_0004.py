"""Revision 0004: the ``search_pending`` marks of bulk feeds, on SQLite and PostgreSQL."""

from __future__ import annotations

from alembic import command
from sqlalchemy import inspect, select

from orgbook import migrations
from orgbook.db import make_engine
from orgbook.issuer.store import search_pending


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
            assert migrations.schema_diff(conn) == []
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
