"""The letter rules a search index is built with (revision 0008): stored beside the index, read
by every process that indexes or queries, captured on PostgreSQL from the server's own
``unaccent`` dictionary, and brought up to date (with a re-index) by ``orgbook db upgrade``."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, event, select, text

from orgbook.cli import main
from orgbook.db import create_all, make_engine, reading
from orgbook.migrations import head_revision
from orgbook.verifier import search_fold
from orgbook.verifier.normalise import UNACCENT, Folding
from orgbook.verifier.search import (
    autocomplete,
    refresh_folding,
    reindex_stale,
    search_number,
    upsert_orgs,
)
from tests.verifier.test_search import CURATED, find, org

DANISH = Folding({**UNACCENT.rules, "ø": "oe", "Ø": "OE"})
ORSTED = org("ØK-1234", "Ørsted Imports Ltd.", former=("Ølbryggeriet Nord",))


def _number_keys(engine: Engine, org_id: str) -> set[str]:
    with engine.connect() as c:
        keys = c.execute(select(search_number.c.key).where(search_number.c.org_id == org_id))
        return set(keys.scalars())


def test_a_new_database_stores_the_rules_it_folds_with(engine: Engine) -> None:
    """SQLite: the shipped rules. PostgreSQL: what the server's unaccent() makes of every
    letter, which for PostgreSQL 15 are the same rules, so both backends fold alike."""
    with engine.connect() as c:
        assert c.execute(select(search_fold.search_fold)).all()  # stored, not implied
        assert search_fold.stored(c) == UNACCENT
        assert search_fold.folding_for(c) == UNACCENT


def test_the_stored_rules_fold_names_numbers_and_queries(engine: Engine, db_url: str) -> None:
    with engine.begin() as c:
        upsert_orgs(c, [*CURATED, ORSTED])
    with engine.connect() as c:
        assert find(c, "Orsted Imports").hits[0].match == "exact"
    assert _number_keys(engine, ORSTED.org_id) == {"ok1234"}

    with engine.begin() as c:  # other rules: only the organisation they fold differently
        search_fold.store(c, DANISH)
        assert reindex_stale(c) == 1
    with engine.connect() as c:
        hit = find(c, "Oersted Imports").hits[0]
        assert (hit.org_id, hit.match) == (ORSTED.org_id, "exact")
        assert find(c, "oelbryggeriet nord").hits[0].matched_name == "Ølbryggeriet Nord"
        assert find(c, "Orsted Imports").hits[0].match == "fuzzy"  # a typo of "oersted" now
        assert [h.match for h in find(c, "OEK 1234").hits] == ["number"]
        assert [s.org_id for s in autocomplete(c, "oersted im")] == [ORSTED.org_id]
    assert _number_keys(engine, ORSTED.org_id) == {"oek1234"}  # the old key is gone

    other = make_engine(db_url)  # another process reads the same rules
    try:
        with other.connect() as c:
            assert search_fold.folding_for(c) == DANISH
    finally:
        other.dispose()

    with engine.begin() as c:  # what orgbook db upgrade does: back to this backend's rules
        assert refresh_folding(c) == (DANISH, UNACCENT, 1)
    with engine.connect() as c:
        assert find(c, "Orsted Imports").hits[0].match == "exact"
        assert refresh_folding(c) == (UNACCENT, UNACCENT, 0)
    assert _number_keys(engine, ORSTED.org_id) == {"ok1234"}


def test_db_upgrade_brings_back_the_rules_of_the_backend_and_says_so(
    engine: Engine, db_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with engine.begin() as c:
        search_fold.store(c, DANISH)
        upsert_orgs(c, [*CURATED, ORSTED])
    engine.dispose()
    capsys.readouterr()
    assert main(["db", "upgrade", "--db", db_url]) == 0
    out = capsys.readouterr().out
    assert out.splitlines() == [
        f"database at {head_revision()}",
        "search letter rules changed (2 of 297 letters): re-indexed 1 organisations; "
        "restart running verifiers to fold queries alike",
    ]
    assert main(["db", "upgrade", "--db", db_url]) == 0
    assert "search letter rules" not in capsys.readouterr().out  # nothing changed this time
    with engine.connect() as c:
        assert search_fold.stored(c) == UNACCENT
        assert find(c, "Orsted Imports").hits[0].match == "exact"


def test_readers_pick_up_new_rules_after_the_reload_interval(
    sqlite_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    reader, writer = make_engine(sqlite_url), make_engine(sqlite_url)
    try:
        create_all(writer)
        with reader.connect() as c:
            assert search_fold.folding_for(c) == UNACCENT
        with writer.begin() as c:
            search_fold.store(c, DANISH)
        with reader.connect() as c:
            assert search_fold.folding_for(c) == UNACCENT  # cached
            later = search_fold.time.monotonic() + search_fold.RELOAD_SECONDS + 1
            monkeypatch.setattr(search_fold.time, "monotonic", lambda: later)
            assert search_fold.folding_for(c) == DANISH
    finally:
        reader.dispose()
        writer.dispose()


def test_the_rules_are_read_once_for_every_read_transaction_of_an_engine(engine: Engine) -> None:
    """Search reads through ``db.reading(engine)``, a new ``execution_options`` view of the
    engine each time: the cache once keyed by that view missed on every search and read the
    whole rules table per query."""
    reads: list[str] = []

    def count(_conn: object, _cursor: object, statement: str, *_: object) -> None:
        if "search_fold" in statement:
            reads.append(statement)

    event.listen(engine, "before_cursor_execute", count)
    try:
        for _ in range(5):
            with reading(engine) as c:
                assert search_fold.folding_for(c) == UNACCENT
    finally:
        event.remove(engine, "before_cursor_execute", count)
    assert len(reads) <= 1


def test_rules_with_no_letters_are_refused(engine: Engine) -> None:
    with engine.begin() as c, pytest.raises(ValueError, match="no rules"):
        search_fold.store(c, Folding({}))


# --- a PostgreSQL server whose unaccent rules differ -----------------------------------------


@pytest.fixture
def custom_rules(pg_url: str, vectors: Path) -> Iterator[tuple[str, str]]:
    """A rules file in the server's ``tsearch_data`` (the default rules, with "ø" → "oe" and a
    Cyrillic transliteration): its name, and the database URL. Skipped where the server's
    share directory is not writable (CI runs as root, so it is there)."""
    admin = create_engine(pg_url.replace("postgresql://", "postgresql+psycopg://", 1))
    with admin.connect() as c:
        share = c.execute(text("SELECT setting FROM pg_config WHERE name = 'SHAREDIR'")).scalar()
    admin.dispose()
    directory = Path(str(share)) / "tsearch_data"
    if not os.access(directory, os.W_OK):
        pytest.skip(f"{directory} is not writable: cannot give the server other unaccent rules")
    name = f"orgbook_test_{uuid.uuid4().hex[:10]}"
    lines = (vectors / "postgresql-unaccent" / "unaccent.rules").read_text("utf-8").splitlines()
    lines = [line for line in lines if line.split("\t")[0] not in ("ø", "Ø")]
    lines += ["ø\toe", "Ø\tOE", "Ж\tZh", "ж\tzh", "у\tu", "к\tk"]
    path = directory / f"{name}.rules"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    try:
        yield name, pg_url
    finally:
        path.unlink()


@pytest.mark.postgres
def test_postgresql_search_folds_as_the_servers_unaccent_dictionary_says(
    custom_rules: tuple[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    name, url = custom_rules
    admin = create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1))
    with admin.begin() as c:  # an administrator edits the unaccent dictionary's rules
        c.execute(text(f"ALTER TEXT SEARCH DICTIONARY unaccent (RULES = '{name}')"))
    engine = make_engine(url)
    try:
        create_all(engine)  # revision 0008 captures the server's rules
        zhuk = org("BC0000200", "Жук Trading Ltd.")
        with engine.begin() as c:
            stored = search_fold.stored(c)
            assert stored.rules["ø"] == "oe"
            assert stored.rules["Ж"] == "Zh"
            assert stored.rules["ł"] == "l"  # the rest as shipped
            upsert_orgs(c, [*CURATED, ORSTED, zhuk])
        with engine.connect() as c:
            assert find(c, "Oersted Imports").hits[0].match == "exact"
            hit = find(c, "zhuk trading").hits[0]
            assert (hit.org_id, hit.match, hit.name) == (zhuk.org_id, "exact", "Жук Trading Ltd.")
            assert find(c, "Жук").hits[0].org_id == zhuk.org_id

        with admin.begin() as c:  # and puts the default rules back
            c.execute(text("ALTER TEXT SEARCH DICTIONARY unaccent (RULES = 'unaccent')"))
        capsys.readouterr()
        assert main(["db", "upgrade", "--db", url]) == 0
        assert "re-indexed 2 organisations" in capsys.readouterr().out
        engine.dispose()
        engine = make_engine(url)  # a verifier started (or restarted) after the upgrade
        with engine.connect() as c:
            assert search_fold.stored(c) == UNACCENT
            assert find(c, "Orsted Imports").hits[0].match == "exact"
            assert find(c, "Жук").hits[0].org_id == zhuk.org_id  # as written, still found
    finally:
        engine.dispose()
        admin.dispose()


def test_revision_0008_up_down_and_up_again(db_url: str) -> None:
    from alembic import command
    from sqlalchemy import inspect

    from orgbook import migrations

    engine = make_engine(db_url)
    try:
        create_all(engine)
        with engine.begin() as c:
            upsert_orgs(c, [ORSTED])
            command.downgrade(migrations.alembic_config(c), "0007")
        with engine.connect() as c:
            assert "search_fold" not in inspect(c).get_table_names()
        migrations.upgrade(engine)
        with engine.connect() as c:
            assert search_fold.stored(c) == UNACCENT
            assert len(c.execute(select(search_fold.search_fold)).all()) == len(UNACCENT.rules)
            assert migrations.schema_diff(c) == []
            assert find(c, "orsted imports").hits[0].org_id == ORSTED.org_id
    finally:
        engine.dispose()
