"""Storage plumbing shared by the ledger, issuer and verifier: engines, the metadata, transactions.

One SQLAlchemy ``MetaData`` holds every table (each module declares its own tables on it;
:mod:`orgbook.storage.schema` imports them all); the engine factory makes SQLite (WAL, foreign
keys, ``BEGIN IMMEDIATE`` write transactions so writers serialise instead of failing on lock
upgrade) and PostgreSQL engines that the same code runs on. No engine is created at import time.

It must not: create or upgrade the schema. That is :func:`orgbook.storage.migrations.upgrade`,
which whoever starts (a server, a command, a test) calls explicitly.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, DateTime, Engine, MetaData, Table, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool, QueuePool

from orgbook.core.errors import ConfigurationError

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


def driver_placeholder(conn: Connection) -> str:
    """The driver's positional placeholder: ``?`` for sqlite3, ``%s`` for psycopg."""
    return "?" if conn.dialect.paramstyle == "qmark" else "%s"


def insert_rows(conn: Connection, table: Table, rows: Sequence[Mapping[str, Any]]) -> None:
    """``conn.execute(table.insert(), rows)`` through the driver's ``executemany`` directly.

    SQLAlchemy's per-row parameter processing was most of the cost of writing the projections.
    Each value still goes through its column type's own bind processor for this dialect
    (SQLite's ``DateTime`` text, ``Boolean`` integers), so what is stored is exactly what
    ``execute`` stores. Every row must have the same keys, all of them columns (the tables'
    Python defaults are not applied).
    """
    if not rows:
        return
    dialect = conn.dialect
    names = list(rows[0])
    processors: list[tuple[int, Any]] = []
    for position, name in enumerate(names):
        column_type = table.c[name].type
        process = column_type.dialect_impl(dialect).bind_processor(dialect)
        if process is not None:
            if isinstance(column_type, DateTime):
                process = _memoised(process)  # a batch shares a few instants
            processors.append((position, process))
    params: list[tuple[Any, ...]] = []
    for row in rows:
        if len(row) != len(names):
            raise ValueError(f"rows for {table.name} have different columns")
        values = [row[name] for name in names]
        for position, process in processors:
            value = values[position]
            if value is not None:
                values[position] = process(value)
        params.append(tuple(values))
    quote = dialect.identifier_preparer.quote
    mark = driver_placeholder(conn)
    conn.exec_driver_sql(
        f"INSERT INTO {quote(table.name)} ({', '.join(quote(name) for name in names)}) "
        f"VALUES ({', '.join([mark] * len(names))})",
        params,
    )


def _memoised(process: Any) -> Any:
    # Keyed on the offset too: equal instants in other zones have other field values.
    seen: dict[Any, Any] = {}

    def run(value: Any) -> Any:
        key = (value, value.utcoffset())
        found = seen.get(key, seen)
        if found is seen:
            found = seen[key] = process(value)
        return found

    return run
