"""Backups of a registry's database, and restoring them: ``orgbook db backup|restore``.

Three formats, told apart by their first bytes on restore:

* ``sqlite``: a SQLite database file made with SQLite's online backup API (consistent while
  the server keeps writing). The default for a SQLite registry.
* ``pg_dump``: PostgreSQL's custom format (``pg_dump -Fc``), restored with ``pg_restore``. The
  default for PostgreSQL when ``pg_dump`` is on ``PATH``.
* ``jsonl``: portable and backend-independent: gzip'd JSON Lines, a header (format, schema
  revision, tables and their columns), then every table's rows in foreign-key order, read in one
  snapshot and streamed (bounded memory). Bytes are base64, times RFC 3339. Restores into
  either backend, so it also moves a registry from SQLite to PostgreSQL.

A backup is not trusted on restore: run ``orgbook ledger audit`` afterwards (it re-derives every
hash, the chain and the checkpoints' signatures, and so catches a tampered or truncated backup).
Keys are not in the database: back up the data directory (sealed ``*.key`` files, ``ledger.vkey``)
separately. Restoring refuses a target that already holds a ledger unless ``force``.
"""

from __future__ import annotations

import base64
import gzip
import json
import shutil
import sqlite3
import subprocess
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import IO, Any, Literal

from sqlalchemy import Connection, Engine, LargeBinary, Table, inspect, select, text
from sqlalchemy.types import DateTime

from orgbook.core.errors import BadInput, ConfigurationError, Conflict
from orgbook.storage.engine import reading
from orgbook.storage.migrations import current_revision, upgrade
from orgbook.storage.schema import tables as declared_tables

__all__ = ["FORMAT", "Format", "backup", "detect_format", "restore"]

Format = Literal["sqlite", "pg_dump", "jsonl"]
FORMAT = "orgbook-backup"
VERSION = 1
BATCH = 5000

_SQLITE_MAGIC = b"SQLite format 3\x00"
_PGDUMP_MAGIC = b"PGDMP"
_GZIP_MAGIC = b"\x1f\x8b"


def _libpq_url(engine: Engine) -> str:
    """The engine's URL as libpq tools take it (no SQLAlchemy driver suffix), password included."""
    url = engine.url.set(drivername="postgresql")
    return url.render_as_string(hide_password=False)


def _sqlite_path(engine: Engine) -> str:
    database = engine.url.database
    if not database or database == ":memory:":
        raise ConfigurationError("a backup needs a SQLite database file, not :memory:")
    return database


def detect_format(path: Path) -> Format:
    with path.open("rb") as handle:
        head = handle.read(16)
    if head.startswith(_SQLITE_MAGIC):
        return "sqlite"
    if head.startswith(_PGDUMP_MAGIC):
        return "pg_dump"
    if head.startswith(_GZIP_MAGIC):
        return "jsonl"
    raise BadInput(f"{path} is not an orgbook backup (SQLite, pg_dump or jsonl)", field="file")


def default_format(engine: Engine) -> Format:
    if engine.dialect.name == "sqlite":
        return "sqlite"
    return "pg_dump" if shutil.which("pg_dump") else "jsonl"


# --- backup ------------------------------------------------------------------------------------


def backup(engine: Engine, path: Path, *, fmt: Format | None = None) -> Format:
    """Write a backup of the database behind ``engine`` to ``path``; returns the format used."""
    fmt = fmt or default_format(engine)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".partial")
    tmp.unlink(missing_ok=True)
    if fmt == "sqlite":
        if engine.dialect.name != "sqlite":
            raise BadInput("the sqlite format backs up SQLite databases only", field="format")
        source = sqlite3.connect(_sqlite_path(engine), timeout=30)
        target = sqlite3.connect(tmp)
        try:
            source.backup(target)
        finally:
            target.close()
            source.close()
    elif fmt == "pg_dump":
        if engine.dialect.name != "postgresql":
            raise BadInput("the pg_dump format backs up PostgreSQL databases only", field="format")
        _run(["pg_dump", "--format=custom", "--no-owner", "--no-privileges", "--file", str(tmp),
              "--dbname", _libpq_url(engine)])  # fmt: skip
    else:
        with gzip.open(tmp, "wt", encoding="utf-8", compresslevel=6) as out:
            _dump_jsonl(engine, out)
    tmp.replace(path)
    return fmt


def _run(argv: list[str]) -> None:
    if shutil.which(argv[0]) is None:
        raise ConfigurationError(f"{argv[0]} is not on PATH (use --format jsonl)")
    done = subprocess.run(argv, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        # The URL (with its password) is in argv: report the tool's own message only.
        raise ConfigurationError(f"{argv[0]} failed: {done.stderr.strip()[-2000:]}")


def _tables() -> list[Table]:
    return declared_tables()


def _encode(value: Any) -> Any:
    if isinstance(value, bytes | memoryview):
        return base64.b64encode(bytes(value)).decode("ascii")
    if isinstance(value, datetime):
        return value.isoformat()
    return value


def _dump_jsonl(engine: Engine, out: IO[str]) -> None:
    with _snapshot(engine) as conn:
        present = set(inspect(conn).get_table_names())
        tables = [t for t in _tables() if t.name in present]
        header = {
            "format": FORMAT,
            "version": VERSION,
            "revision": current_revision(conn),
            "dialect": engine.dialect.name,
            "tables": {t.name: [c.name for c in t.columns] for t in tables},
        }
        out.write(json.dumps(header) + "\n")
        for table in tables:
            out.write(json.dumps({"table": table.name}) + "\n")
            query = select(*table.columns).order_by(*table.primary_key.columns)
            result = conn.execution_options(stream_results=True, yield_per=BATCH).execute(query)
            for row in result:
                out.write(json.dumps([_encode(v) for v in row], ensure_ascii=False) + "\n")


def _snapshot(engine: Engine) -> Any:
    """One consistent read snapshot on either backend."""
    if engine.dialect.name == "postgresql":
        return _pg_snapshot(engine)
    return reading(engine)


def _pg_snapshot(engine: Engine) -> Any:
    from contextlib import contextmanager

    @contextmanager
    def snap() -> Iterator[Connection]:
        conn = engine.connect().execution_options(isolation_level="REPEATABLE READ")
        with conn, conn.begin():
            conn.execute(text("SET TRANSACTION READ ONLY"))
            yield conn

    return snap()


# --- restore -----------------------------------------------------------------------------------


def _holds_ledger(engine: Engine) -> bool:
    with reading(engine) as conn:
        if "ledger_entries" not in inspect(conn).get_table_names():
            return False
        return conn.execute(text("SELECT 1 FROM ledger_entries LIMIT 1")).first() is not None


def restore(engine: Engine, path: Path, *, force: bool = False) -> Format:
    """Restore the backup at ``path`` into the database behind ``engine``; returns its format.

    The schema ends at the newest migration. Audit the ledger afterwards.
    """
    if not path.is_file():
        raise BadInput(f"no such file: {path}", field="file")
    fmt = detect_format(path)
    if not force and _holds_ledger(engine):
        raise Conflict("the target database already holds a ledger (restore --force replaces it)")
    if fmt == "pg_dump":
        if engine.dialect.name != "postgresql":
            raise BadInput("a pg_dump backup restores into PostgreSQL only", field="db")
        _run(["pg_restore", "--no-owner", "--no-privileges", "--clean", "--if-exists",
              "--single-transaction", "--exit-on-error", "--dbname", _libpq_url(engine),
              str(path)])  # fmt: skip
    elif fmt == "sqlite" and engine.dialect.name == "sqlite":
        source = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        target = sqlite3.connect(_sqlite_path(engine), timeout=30)
        try:
            source.backup(target)
        finally:
            target.close()
            source.close()
    elif fmt == "sqlite":
        # A SQLite backup into PostgreSQL: copy the rows (the way to move a registry over).
        from orgbook.storage.engine import make_engine

        source_engine = make_engine(f"sqlite:///{path.resolve()}")
        try:
            with _snapshot(source_engine) as src:
                _load(engine, _rows_from_connection(src), current_revision(src))
        finally:
            source_engine.dispose()
    else:
        with gzip.open(path, "rt", encoding="utf-8") as handle:
            header = json.loads(handle.readline())
            if header.get("format") != FORMAT or header.get("version") != VERSION:
                raise BadInput(f"{path} is not an orgbook jsonl backup (version {VERSION})")
            _load(engine, _rows_from_jsonl(handle, header), header.get("revision"))
    upgrade(engine)
    return fmt


Rows = Iterator[tuple[Table, list[str], list[list[Any]]]]
"""Batches of (table, column names, rows) in foreign-key order."""


def _rows_from_connection(conn: Connection) -> Rows:
    present = set(inspect(conn).get_table_names())
    for table in _tables():
        if table.name not in present:
            continue
        names = [c.name for c in table.columns]
        query = select(*table.columns).order_by(*table.primary_key.columns)
        result = conn.execution_options(stream_results=True, yield_per=BATCH).execute(query)
        for chunk in result.partitions(BATCH):
            yield table, names, [list(row) for row in chunk]


def _rows_from_jsonl(handle: IO[str], header: dict[str, Any]) -> Rows:
    known = {t.name: t for t in _tables()}
    table: Table | None = None
    names: list[str] = []
    batch: list[list[Any]] = []
    for line in handle:
        value = json.loads(line)
        if isinstance(value, dict):
            if table is not None and batch:
                yield table, names, batch
            batch = []
            name = value.get("table")
            if name not in known:
                raise BadInput(f"the backup has a table this version does not know: {name!r}")
            table = known[name]
            names = list(header["tables"][name])
            continue
        if table is None or not isinstance(value, list) or len(value) != len(names):
            raise BadInput("malformed backup: a row outside a table or of the wrong width")
        batch.append(value)
        if len(batch) >= BATCH:
            yield table, names, batch
            batch = []
    if table is not None and batch:
        yield table, names, batch


def _decode(table: Table, names: list[str], row: list[Any]) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for name, value in zip(names, row, strict=True):
        column_type = table.c[name].type
        if value is not None and isinstance(value, str):
            if isinstance(column_type, LargeBinary):
                value = base64.b64decode(value, validate=True)
            elif isinstance(column_type, DateTime):
                value = datetime.fromisoformat(value)
        values[name] = value
    return values


def _load(engine: Engine, rows: Rows, revision: str | None) -> None:
    """Empty the target's orgbook tables, load the rows, fix sequences and search indexes."""
    upgrade(engine, revision or "head")
    with engine.begin() as conn:
        present = set(inspect(conn).get_table_names())
        tables = [t for t in _tables() if t.name in present]
        for table in reversed(tables):  # empty: restore() refused a ledger unless forced
            conn.execute(table.delete())
        for table, names, batch in rows:
            conn.execute(table.insert(), [_decode(table, names, row) for row in batch])
        _after_load(conn, tables)


def _after_load(conn: Connection, tables: list[Table]) -> None:
    if conn.dialect.name == "postgresql":
        # Explicit ids were inserted: move identity/serial sequences past them.
        for table in tables:
            for column in table.primary_key.columns:
                if column.autoincrement is True:
                    conn.execute(
                        text(
                            f"SELECT setval(pg_get_serial_sequence('{table.name}', "
                            f"'{column.name}'), COALESCE(MAX({column.name}), 0) + 1, false) "
                            f"FROM {table.name}"
                        )
                    )
    else:
        from orgbook.search import rebuild_token_index

        # The FTS5 index is external-content: rebuild it from the restored search_name rows.
        rebuild_token_index(conn)
