"""Storage plumbing shared by the ledger, issuer and verifier: engines, the metadata, transactions.

One SQLAlchemy ``MetaData`` holds every table (each module declares its own tables on it); the
engine factory makes SQLite (WAL, foreign keys, ``BEGIN IMMEDIATE`` write transactions so
writers serialise instead of failing on lock upgrade) and PostgreSQL engines that the same code
runs on. No engine is created at import time.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, MetaData, Table, create_engine, event, inspect
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool, QueuePool

from orgbook.errors import ConfigurationError

log = logging.getLogger(__name__)

metadata = MetaData()

DEFAULT_DATA_DIR = "./orgbook-data"


def default_database_url(data_dir: str | os.PathLike[str] | None = None) -> str:
    """The configured database URL: ``ORGBOOK_DATABASE_URL`` or a SQLite file in the data dir."""
    url = os.environ.get("ORGBOOK_DATABASE_URL")
    if url:
        return url
    directory = Path(data_dir or os.environ.get("ORGBOOK_DATA_DIR") or DEFAULT_DATA_DIR)
    directory.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{(directory / 'orgbook.sqlite3').resolve()}"


def stored_utc(value: datetime) -> datetime:
    """A date-time read back from the database, as aware UTC (SQLite returns naive ones)."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def is_sqlite(bind: Engine | Connection) -> bool:
    return bind.dialect.name == "sqlite"


def is_postgres(bind: Engine | Connection) -> bool:
    return bind.dialect.name == "postgresql"


_BEGIN = {mode: f"BEGIN {mode}" for mode in ("DEFERRED", "IMMEDIATE", "EXCLUSIVE")}


def _sqlite_setup(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        # Let SQLAlchemy, not the driver, decide where transactions begin (pysqlite's own
        # transaction handling would defer BEGIN and break BEGIN IMMEDIATE below).
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA busy_timeout=30000")
        # 64 MiB page cache: the leaf-hash and node indexes of a large ledger stay in memory.
        cur.execute("PRAGMA cache_size=-65536")
        # Sorts and temporary indexes (bulk ingest, the projection audit) in memory. Set here,
        # when the connection opens: a pooled connection that has used temporary storage
        # refuses to change it later.
        cur.execute("PRAGMA temp_store=MEMORY")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        # Every transaction takes the write lock up front: concurrent writers queue on
        # busy_timeout rather than dead-locking on a shared->reserved upgrade.
        mode = conn.get_execution_options().get("sqlite_begin", "IMMEDIATE")
        # Straight to the driver: exec_driver_sql's execution context and events cost more
        # than the statement (≈9 % of a small read request's CPU).
        driver: Any = conn.connection.driver_connection
        driver.execute(_BEGIN[mode])


def make_engine(url: str | None = None, *, echo: bool = False, **kwargs: Any) -> Engine:
    """Create an engine for ``url`` (default: :func:`default_database_url`)."""
    url = url or default_database_url()
    try:
        parsed = make_url(url)
    except Exception as exc:
        raise ConfigurationError(f"not a database URL: {url!r}") from exc
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        if parsed.database and parsed.database != ":memory:" and "poolclass" not in kwargs:
            kwargs.setdefault("poolclass", QueuePool)
            kwargs.setdefault("pool_size", sqlite_pool_size())
            kwargs.setdefault("max_overflow", -1)
        engine = create_engine(
            parsed,
            echo=echo,
            poolclass=kwargs.pop("poolclass", NullPool),
            connect_args={"check_same_thread": False, "timeout": 30},
            **kwargs,
        )
        _sqlite_setup(engine)
        return engine
    if backend == "postgresql":
        if parsed.drivername == "postgresql":
            parsed = parsed.set(drivername="postgresql+psycopg")
        for name, value in pool_settings().items():
            kwargs.setdefault(name, value)
        return create_engine(parsed, echo=echo, **kwargs)
    raise ConfigurationError(f"unsupported database backend {backend!r} (use sqlite or postgresql)")


POOL_DEFAULTS: dict[str, int | bool] = {
    "pool_size": 10,
    "max_overflow": 20,
    "pool_timeout": 30,
    "pool_recycle": 1800,
    "pool_pre_ping": True,
}
"""PostgreSQL connection pool, per process; each is overridden by ``ORGBOOK_DB_<NAME>``."""

POOL_VARIABLES = {
    "pool_size": "ORGBOOK_DB_POOL_SIZE",
    "max_overflow": "ORGBOOK_DB_MAX_OVERFLOW",
    "pool_timeout": "ORGBOOK_DB_POOL_TIMEOUT",
    "pool_recycle": "ORGBOOK_DB_POOL_RECYCLE",
    "pool_pre_ping": "ORGBOOK_DB_POOL_PRE_PING",
}


def pool_settings(environ: Mapping[str, str] | None = None) -> dict[str, int | bool]:
    """The PostgreSQL pool options: :data:`POOL_DEFAULTS` overridden by the environment.

    Processes x (pool size + overflow) must stay below the server's ``max_connections``.
    """
    env = os.environ if environ is None else environ
    options = dict(POOL_DEFAULTS)
    for name, var in POOL_VARIABLES.items():
        raw = env.get(var, "").strip()
        if not raw:
            continue
        if isinstance(POOL_DEFAULTS[name], bool):
            if raw.lower() not in ("1", "0", "true", "false", "yes", "no", "on", "off"):
                raise ConfigurationError(f"{var} must be a boolean, got {raw!r}", field=var)
            options[name] = raw.lower() in ("1", "true", "yes", "on")
            continue
        try:
            number = int(raw)
        except ValueError:
            number = -2
        if number < (-1 if name == "pool_recycle" else 0):
            raise ConfigurationError(
                f"{var} must be a non-negative integer, got {raw!r}", field=var
            )
        options[name] = number
    return options


def sqlite_pool_size(environ: Mapping[str, str] | None = None) -> int:
    """Open SQLite connections kept per engine (``ORGBOOK_DB_POOL_SIZE``, default 16), parsed
    as :func:`pool_settings` parses it, and at least 1."""
    env = os.environ if environ is None else environ
    var = POOL_VARIABLES["pool_size"]
    raw = env.get(var, "").strip()
    if not raw:
        return 16
    size = int(pool_settings({var: raw})["pool_size"])
    if size < 1:
        raise ConfigurationError(f"{var} must be at least 1 for SQLite, got {raw!r}", field=var)
    return size


def read_only(engine: Engine) -> Engine:
    """A view of ``engine`` whose SQLite transactions start DEFERRED (readers never block)."""
    return engine.execution_options(sqlite_begin="DEFERRED")


@contextmanager
def reading(engine: Engine) -> Iterator[Connection]:
    """A read transaction that takes no write lock on SQLite."""
    with read_only(engine).connect() as conn, conn.begin():
        yield conn


def create_all(engine: Engine) -> None:
    """Bring the schema to the newest migration, then create any table no migration has yet.

    ``orgbook db upgrade`` and every start-up (server, CLI, tests) come through here: the
    migrations (:mod:`orgbook.migrations`) make the schema, concurrently started processes
    queue on the migration lock, and an up-to-date database costs one query. A table declared on
    :data:`metadata` but not in a migration yet (work in progress) is still created, with a
    warning; ``orgbook db check`` and the migration tests report it as drift to be turned into a
    revision before a release.
    """
    from orgbook.migrations import migration_lock, upgrade

    import_table_modules()
    upgrade(engine)
    with read_only(engine).connect() as conn:
        present = set(inspect(conn).get_table_names())
    missing = [t for name, t in metadata.tables.items() if name not in present]
    if missing:
        log.warning(
            "tables not in any migration yet, created directly: %s",
            ", ".join(t.name for t in missing),
        )
        with engine.begin() as conn:
            migration_lock(conn)  # processes starting together: one creates, the others see
            metadata.create_all(conn, tables=missing, checkfirst=True)


def import_table_modules() -> None:
    """Import every module that declares tables, so ``metadata`` is complete."""
    import importlib

    for name in TABLE_MODULES:
        try:
            importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name != name:
                raise


TABLE_MODULES = (
    "orgbook.ledger.store",
    "orgbook.ledger.cosignatures",
    "orgbook.issuer.store",
    "orgbook.verifier.search",
    "orgbook.feeds.store",
)


def insert_ignoring_conflicts(
    conn: Connection, table: Table, rows: Mapping[str, Any] | list[dict[str, Any]]
) -> None:
    """``INSERT … ON CONFLICT DO NOTHING`` of one row or many, on SQLite and PostgreSQL."""
    from sqlalchemy.dialects import postgresql, sqlite

    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    statement = dialect.insert(table).on_conflict_do_nothing()
    if isinstance(rows, list):
        if rows:
            conn.execute(statement, rows)
    else:
        conn.execute(statement.values(**rows))
