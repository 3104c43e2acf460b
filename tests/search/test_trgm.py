"""PostgreSQL typo correction through the ``pg_trgm`` vocabulary index (revision 0007): the same
answers as the in-memory scan, served by the index, and a role that may not create the
extension still gets a working (scanning) search."""

from __future__ import annotations

import logging
import random
import uuid
from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, create_engine, text

from orgbook.cli import main
from orgbook.search import fold as search_fold
from orgbook.search import postgres as search_pg
from orgbook.search import search_term
from orgbook.search.normalise import UNACCENT
from orgbook.search.vocabulary import _VOCABULARIES, Vocabulary, alternatives, alternatives_of
from orgbook.storage import migrations
from orgbook.storage.engine import make_engine
from orgbook.storage.migrations import upgrade
from orgbook.storage.schema import schema_diff
from tests.conftest import pg_admin_url
from tests.search.test_typos import apply_edit

pytestmark = pytest.mark.postgres


def _vocabulary_words(rng: random.Random, n: int = 6000, letters: str = "abcde") -> list[str]:
    """Dense neighbourhoods: words over a few letters, so many queries have several words
    within one or two edits."""
    words = {"".join(rng.choice(letters) for _ in range(rng.randint(3, 12))) for _ in range(n)}
    words |= {"smith", "smyth", "societe", "generale", "ontario", "holdings", "consulting"}
    return sorted(words)


def _typo(rng: random.Random, word: str) -> str:
    op, at = rng.randrange(4), rng.randrange(len(word) + 1)
    return apply_edit(word, (op, at, rng.choice("abcdez")))


@pytest.fixture
def pg_engine(pg_url: str) -> Iterator[Engine]:
    engine = make_engine(pg_url)
    upgrade(engine)
    search_pg._HAS_TERM_INDEX.clear()
    yield engine
    search_pg._HAS_TERM_INDEX.clear()
    engine.dispose()


def _load(engine: Engine, words: list[str]) -> Vocabulary:
    with engine.begin() as conn:
        conn.execute(search_term.insert(), [{"term": w} for w in words])
        conn.exec_driver_sql("ANALYZE search_term")
    vocab = Vocabulary()
    for w in words:
        vocab.terms.add(w)
        vocab.by_length.setdefault(len(w), []).append(w)
    return vocab


def test_the_trigram_lookup_gives_the_in_memory_answers(pg_engine: Engine) -> None:
    rng = random.Random(11)
    words = _vocabulary_words(rng)
    vocab = _load(pg_engine, words)
    queries = []
    for _ in range(400):
        q = rng.choice(words)
        for _ in range(rng.randint(0, 3)):
            q = _typo(rng, q) or q
        queries.append(q)
    queries += ["smiht", "societee", "generael", "ontraio", "hodlings", "consluting", "ab", "x1y2"]
    cache = pg_engine._compiled_cache
    assert cache is not None
    cached_before = len(cache)
    with pg_engine.connect() as conn:
        assert search_pg.has_term_index(conn)
        found = 0
        for q in queries:
            expected = alternatives(vocab, q)
            assert alternatives_of(conn, [q]) == [expected], q
            found += len(expected) > 1
        assert found > 150  # the queries do have typo neighbours to find
        # numbers are matched as they are, without loading the vocabulary into this process
        assert alternatives_of(conn, ["12345"]) == [("12345",)]
        assert pg_engine.url.render_as_string(hide_password=True) not in _VOCABULARIES
        # the inlined patterns stay out of the compiled-statement cache (one entry per word
        # would push out the search statements that repeat)
        assert len(cache) - cached_before < 5
        # several words in one statement: each gets its own answer
        assert alternatives_of(conn, queries[:8]) == [alternatives(vocab, q) for q in queries[:8]]


def test_the_trigram_index_serves_the_lookup(pg_engine: Engine) -> None:
    """The planner answers the patterns with the trigram index (from about 20,000 words on; a
    smaller vocabulary is read whole, which is cheaper)."""
    _load(pg_engine, _vocabulary_words(random.Random(3), 60_000, "abcdefghijklmnopqrstuvwxyz"))
    stmt = search_pg.similar_terms(search_term, ["smiht", "consluting"])
    sql = str(stmt.compile(pg_engine, compile_kwargs={"literal_binds": True}))
    with pg_engine.connect() as conn:
        raw = conn.connection.driver_connection
        assert raw is not None
        rows = raw.execute("EXPLAIN " + sql.replace("%%", "%")).fetchall()  # no parameters
        plan = "\n".join(row[0] for row in rows)
    assert f"Bitmap Index Scan on {search_pg.TERMS_INDEX}" in plan, plan
    assert "Seq Scan" not in plan, plan


def test_revision_0007_adds_and_drops_the_index(pg_url: str) -> None:
    engine = make_engine(pg_url)
    try:
        migrations.upgrade(engine)
        with engine.connect() as conn:
            assert search_pg.term_index_exists(conn)
        with engine.begin() as conn:
            from alembic import command

            command.downgrade(migrations.alembic_config(conn), "0006")
        with engine.connect() as conn:
            assert not search_pg.term_index_exists(conn)
        migrations.upgrade(engine)
        with engine.connect() as conn:
            assert search_pg.term_index_exists(conn)
            assert schema_diff(conn) == []
    finally:
        engine.dispose()


@pytest.fixture
def unprivileged_url() -> Iterator[tuple[str, str]]:
    """A database without pg_trgm and a role that may create tables in it but not extensions:
    ``(role's URL, admin's URL)``."""
    admin = pg_admin_url()
    if admin is None:
        pytest.skip("PostgreSQL not configured: set ORGBOOK_TEST_PG_URL (see .ci/pg-start)")
    suffix = uuid.uuid4().hex[:10]
    name, role = f"orgbook_np_{suffix}", f"orgbook_np_{suffix}"
    admin = admin.replace("postgresql://", "postgresql+psycopg://", 1)
    base = admin.rsplit("/", 1)[0]
    admin_engine = create_engine(admin, isolation_level="AUTOCOMMIT")
    try:
        with admin_engine.connect() as conn:
            conn.execute(text(f'CREATE ROLE "{role}" LOGIN'))
            conn.execute(text(f"CREATE DATABASE \"{name}\" TEMPLATE template0 ENCODING 'UTF8'"))
        db_admin = create_engine(f"{base}/{name}", isolation_level="AUTOCOMMIT")
        with db_admin.connect() as conn:
            conn.execute(text(f'GRANT CREATE ON SCHEMA public TO "{role}"'))
        db_admin.dispose()
        user_base = base.replace("//postgres@", f"//{role}@", 1)
        assert user_base != base, "the admin URL is expected to name the postgres role"
        yield f"{user_base}/{name}", f"{base}/{name}"
    finally:
        with admin_engine.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            conn.execute(text(f'DROP ROLE IF EXISTS "{role}"'))
        admin_engine.dispose()


def test_a_role_that_cannot_create_pg_trgm_gets_a_scanning_search_then_the_index(
    unprivileged_url: tuple[str, str],
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
) -> None:
    url, admin_url = unprivileged_url
    with caplog.at_level(logging.WARNING):
        assert main(["db", "upgrade", "--db", url]) == 0
    assert "pg_trgm is not installed" in caplog.text
    assert "unaccent is not installed" in caplog.text  # letters folded with the shipped rules
    engine = make_engine(url)
    search_pg._HAS_TERM_INDEX.clear()
    try:
        words = ["smith", "smyth", "smithe", "consulting", "consultants"]
        vocab = _load(engine, words)
        with engine.connect() as conn:
            assert migrations.current_revision(conn) == migrations.head_revision()
            assert search_fold.stored_folding(conn) == UNACCENT
            assert not search_pg.has_term_index(conn)  # falls back: scanning in memory
            assert alternatives_of(conn, ["smiht", "consluting"]) == [
                alternatives(vocab, "smiht"),
                alternatives(vocab, "consluting"),
            ]
        capsys.readouterr()
        admin = create_engine(admin_url.replace("postgresql://", "postgresql+psycopg://", 1))
        with admin.begin() as conn:
            conn.execute(text("CREATE EXTENSION pg_trgm"))
            conn.execute(text("CREATE EXTENSION unaccent"))
        admin.dispose()
        assert main(["db", "upgrade", "--db", url]) == 0
        out = capsys.readouterr().out
        assert "created the pg_trgm vocabulary index" in out
        assert "search letter rules" not in out  # the server's rules are the shipped ones
        search_pg._HAS_TERM_INDEX.clear()
        with engine.connect() as conn:
            assert search_pg.has_term_index(conn)
            assert alternatives_of(conn, ["smiht"]) == [alternatives(vocab, "smiht")]
    finally:
        search_pg._HAS_TERM_INDEX.clear()
        engine.dispose()
