"""The letter rules a search index is built with (revision 0008): stored beside the index, read
by every process that indexes or queries, captured on PostgreSQL from the server's own
``unaccent`` dictionary, and brought up to date (with a re-index) by ``orgbook db upgrade``."""

from __future__ import annotations

import functools
import os
import shutil
import socket
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, event, select, text

from orgbook.cli import main
from orgbook.search import (
    autocomplete,
    refresh_folding,
    reindex_stale,
    search_number,
    upsert_orgs,
)
from orgbook.search import fold as search_fold
from orgbook.search.normalise import UNACCENT, Folding
from orgbook.storage.engine import make_engine, reading
from orgbook.storage.migrations import head_revision, upgrade
from orgbook.storage.schema import schema_diff
from tests.search.test_search import CURATED, find, org

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
        assert search_fold.stored_folding(c) == UNACCENT
        assert search_fold.folding_for(c) == UNACCENT


def test_the_stored_rules_fold_names_numbers_and_queries(engine: Engine, db_url: str) -> None:
    with engine.begin() as c:
        upsert_orgs(c, [*CURATED, ORSTED])
    with engine.connect() as c:
        assert find(c, "Orsted Imports").hits[0].match == "exact"
    assert _number_keys(engine, ORSTED.org_id) == {"ok1234"}

    with engine.begin() as c:  # other rules: only the organisation they fold differently
        search_fold.store_folding(c, DANISH)
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
        search_fold.store_folding(c, DANISH)
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
        assert search_fold.stored_folding(c) == UNACCENT
        assert find(c, "Orsted Imports").hits[0].match == "exact"


def test_readers_pick_up_new_rules_after_the_reload_interval(
    sqlite_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    reader, writer = make_engine(sqlite_url), make_engine(sqlite_url)
    try:
        upgrade(writer)
        with reader.connect() as c:
            assert search_fold.folding_for(c) == UNACCENT
        with writer.begin() as c:
            search_fold.store_folding(c, DANISH)
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
        search_fold.store_folding(c, Folding({}))


# --- a PostgreSQL server whose unaccent rules differ -----------------------------------------


def _pg_bindir() -> Path | None:
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin"), key=lambda p: int(p.parent.name))
    return found[-1] if found else None


def _as_server_user(argv: list[str]) -> list[str]:
    """PostgreSQL refuses to run as root: then run it as 'postgres', as .ci/pg-start does."""
    return ["runuser", "-u", "postgres", "--", *argv] if os.geteuid() == 0 else argv


def _private_installation(bindir: Path, root: Path) -> tuple[Path, Path]:
    """A copy of the PostgreSQL installation whose share directory this test may write.

    The server finds its share directory relative to its own executable (after resolving
    symbolic links), so the programs are hard links (or copies) under ``root`` at the same
    relative place, the libraries a symbolic link, and the share directory a tree of links
    around a ``tsearch_data`` of our own. Returns the new bin directory and tsearch_data.
    """
    version = bindir.parent
    share = Path("/usr/share/postgresql") / version.name
    new_bin = root / "usr/lib/postgresql" / version.name / "bin"
    new_bin.mkdir(parents=True)
    for program in bindir.iterdir():
        try:
            os.link(program.resolve(), new_bin / program.name)
        except OSError:
            shutil.copy2(program.resolve(), new_bin / program.name)
    (new_bin.parent / "lib").symlink_to(version / "lib")
    new_share = root / "usr/share/postgresql" / version.name
    new_share.mkdir(parents=True)
    for item in share.iterdir():
        if item.name != "tsearch_data":
            (new_share / item.name).symlink_to(item)
    tsearch = new_share / "tsearch_data"
    tsearch.mkdir()
    for item in (share / "tsearch_data").iterdir():
        (tsearch / item.name).symlink_to(item)
    return new_bin, tsearch


@pytest.fixture
def custom_rules(vectors: Path) -> Iterator[tuple[str, str]]:
    """A PostgreSQL server of this test's own (a private copy of the installation, so its
    ``tsearch_data`` is writable by anyone, root or not) with an unaccent rules file there: the
    default rules with "ø" → "oe" and a Cyrillic transliteration. Its name, and a database URL."""
    bindir = _pg_bindir()
    if bindir is None:
        pytest.skip("no PostgreSQL server binaries (apt-get install postgresql)")
    root = Path(tempfile.mkdtemp(prefix="orgbook-pg-fold-"))
    root.chmod(0o755)  # the server user must reach its programs and data
    data = root / "data"
    port = _free_port()
    started = False
    try:
        new_bin, tsearch = _private_installation(bindir, root)
        name = f"orgbook_test_{uuid.uuid4().hex[:10]}"
        lines = (vectors / "postgresql-unaccent" / "unaccent.rules").read_text("utf-8")
        kept = [line for line in lines.splitlines() if line.split("\t")[0] not in ("ø", "Ø")]
        kept += ["ø\toe", "Ø\tOE", "Ж\tZh", "ж\tzh", "у\tu", "к\tk"]
        (tsearch / f"{name}.rules").write_text("\n".join(kept) + "\n", encoding="utf-8")
        data.mkdir()
        if os.geteuid() == 0:
            shutil.chown(data, "postgres", "postgres")
        run = functools.partial(subprocess.run, check=True, capture_output=True, text=True)
        run(_as_server_user([str(new_bin / "initdb"), "-D", str(data), "-U", "postgres",
                             "--auth=trust", "-E", "UTF8", "--locale=C.UTF-8"]))  # fmt: skip
        options = f"-p {port} -k {data} -c listen_addresses=127.0.0.1 -c fsync=off"
        run(_as_server_user([str(new_bin / "pg_ctl"), "-D", str(data), "-l",
                             str(data / "server.log"), "-w", "-o", options, "start"]))  # fmt: skip
        started = True
        admin_url = f"postgresql+psycopg://postgres@127.0.0.1:{port}/postgres"
        admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
        with admin.connect() as c:
            c.execute(text("CREATE DATABASE fold TEMPLATE template0 ENCODING 'UTF8'"))
        admin.dispose()
        url = f"postgresql://postgres@127.0.0.1:{port}/fold"
        ext = create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1))
        with ext.begin() as c:
            c.execute(text("CREATE EXTENSION IF NOT EXISTS pg_trgm"))
            c.execute(text("CREATE EXTENSION IF NOT EXISTS unaccent"))
        ext.dispose()
        yield name, url
    finally:
        if started:
            subprocess.run(
                _as_server_user([str(root / "usr/lib/postgresql" / bindir.parent.name / "bin"
                                     / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"]),
                capture_output=True,
                check=False,
            )  # fmt: skip
        shutil.rmtree(root, ignore_errors=True)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


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
        upgrade(engine)  # revision 0008 captures the server's rules
        zhuk = org("BC0000200", "Жук Trading Ltd.")
        with engine.begin() as c:
            stored = search_fold.stored_folding(c)
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
            assert search_fold.stored_folding(c) == UNACCENT
            assert find(c, "Orsted Imports").hits[0].match == "exact"
            assert find(c, "Жук").hits[0].org_id == zhuk.org_id  # as written, still found
    finally:
        engine.dispose()
        admin.dispose()


def test_revision_0008_up_down_and_up_again(db_url: str) -> None:
    from alembic import command
    from sqlalchemy import inspect

    from orgbook.storage import migrations

    engine = make_engine(db_url)
    try:
        upgrade(engine)
        with engine.begin() as c:
            upsert_orgs(c, [ORSTED])
            command.downgrade(migrations.alembic_config(c), "0007")
        with engine.connect() as c:
            assert "search_fold" not in inspect(c).get_table_names()
        migrations.upgrade(engine)
        with engine.connect() as c:
            assert search_fold.stored_folding(c) == UNACCENT
            assert len(c.execute(select(search_fold.search_fold)).all()) == len(UNACCENT.rules)
            assert schema_diff(c) == []
            assert find(c, "orsted imports").hits[0].org_id == ORSTED.org_id
    finally:
        engine.dispose()
