"""``orgbook db upgrade|current|check|backup|restore``: the database's command-line adapter.

* ``upgrade`` brings the schema to the newest migration (every server and command start does it
  too; run it explicitly before rolling out a release with several replicas).
* ``current`` prints the database's revision and the code's head; exit 1 when they differ.
* ``check`` compares the database with the table declarations (Alembic autogenerate); exit 1 on
  any difference (a table changed without a migration, or a schema changed by hand).
* ``backup FILE`` / ``restore FILE``: :mod:`orgbook.storage.backup`; audit the ledger after a
restore.

Exit codes (``orgbook.cli``): 0 success, 1 a negative answer, 2 unusable input or configuration.

With the wiring, not in :mod:`orgbook.storage`'s lower layers: ``check`` and ``backup`` need every
table (:mod:`orgbook.storage.schema`), and ``upgrade`` the search package's DDL.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from orgbook.core.errors import ConfigurationError
from orgbook.runtime.commandline import add_storage_options, settings_from_args

__all__ = ["register"]


def _engine(args: argparse.Namespace) -> Any:
    from orgbook.storage.engine import make_engine

    return make_engine(settings_from_args(args).database_url)


def _cmd_upgrade(args: argparse.Namespace) -> int:
    from orgbook.storage.migrations import head_revision, upgrade

    engine = _engine(args)
    try:
        before, after = upgrade(engine, args.revision)
        at_head = after == head_revision()
        added = _add_missing_term_index(engine) if at_head else False
        refolded = _refresh_folding(engine) if at_head else None
    finally:
        engine.dispose()
    if before == after:
        print(
            f"database at {after}" if added or refolded else f"database at {after}: nothing to do"
        )
    else:
        print(f"database upgraded: {before or 'empty'} -> {after}")
    if added:
        print("created the pg_trgm vocabulary index (search_term_trgm)")
    if refolded:
        print(refolded)
    return 0


def _add_missing_term_index(engine: Any) -> bool:
    """PostgreSQL: create the ``pg_trgm`` typo-correction index revision 0007 could not (the
    extension was missing and this role could not create it then). True if it was created."""
    if engine.dialect.name != "postgresql":
        return False
    from orgbook.search import create_term_index, term_index_exists

    with engine.begin() as conn:
        if term_index_exists(conn):
            return False
        return create_term_index(conn)


def _refresh_folding(engine: Any) -> str | None:
    """Capture the letter rules of the server's ``unaccent`` again (PostgreSQL; SQLite: the
    shipped rules) and re-index what they fold differently. A line to print when they
    changed."""
    from orgbook.search import refresh_folding
    from orgbook.storage.migrations import migration_lock

    with engine.begin() as conn:
        migration_lock(conn)  # two upgrades at once: one stores the rules, the other sees them
        before, now, reindexed = refresh_folding(conn)
    if now == before:
        return None
    letters = before.rules.keys() | now.rules.keys()
    changed = sum(before.rules.get(letter) != now.rules.get(letter) for letter in letters)
    return (
        f"search letter rules changed ({changed} of {len(now.rules)} letters): re-indexed "
        f"{reindexed} organisations; restart running verifiers to fold queries alike"
    )


def _cmd_current(args: argparse.Namespace) -> int:
    from orgbook.storage.migrations import current_revision, head_revision

    engine = _engine(args)
    try:
        with engine.connect() as conn:
            current = current_revision(conn)
    finally:
        engine.dispose()
    head = head_revision()
    print(f"database: {current or 'not migrated'}")
    print(f"code head: {head}")
    return 0 if current == head else 1


def _cmd_check(args: argparse.Namespace) -> int:
    from orgbook.storage.migrations import current_revision, head_revision
    from orgbook.storage.schema import schema_diff

    engine = _engine(args)
    try:
        with engine.connect() as conn:
            current = current_revision(conn)
            diffs = schema_diff(conn)
    finally:
        engine.dispose()
    if current != head_revision():
        print(f"database at {current or 'no revision'}, code head {head_revision()}: upgrade it")
        return 1
    if diffs:
        print("the database differs from the table declarations:")
        for diff in diffs:
            print(f"  {diff}")
        return 1
    print(f"database at {current}: matches the table declarations")
    return 0


def _cmd_backup(args: argparse.Namespace) -> int:
    from orgbook.storage.backup import backup

    engine = _engine(args)
    try:
        fmt = backup(engine, args.file, fmt=args.format)
    finally:
        engine.dispose()
    print(f"backup written: {args.file} ({fmt}, {args.file.stat().st_size:,} bytes)")
    print("keys live in the data directory, not in this backup: keep a copy of it too")
    return 0


def _cmd_restore(args: argparse.Namespace) -> int:
    from orgbook.storage.backup import restore

    engine = _engine(args)
    try:
        fmt = restore(engine, args.file, force=args.force)
    finally:
        engine.dispose()
    print(f"restored {args.file} ({fmt}); now run: orgbook ledger audit")
    return 0


def _configured(command: Any) -> Any:
    """Configuration errors (a missing tool, a bad URL) are unusable configuration: exit 2."""

    def run(args: argparse.Namespace) -> int:
        try:
            result: int = command(args)
        except ConfigurationError as exc:
            print(f"orgbook: {exc.diagnostics()}", file=sys.stderr)
            return 2
        return result

    return run


def register(subparsers: Any) -> None:
    """Add ``orgbook db …`` to the ``orgbook`` command."""
    db = subparsers.add_parser("db", help="database schema (migrations), backup and restore")
    commands = db.add_subparsers(dest="db_command", metavar="COMMAND")
    commands.required = True

    p = commands.add_parser("upgrade", help="migrate the schema to the newest revision")
    p.add_argument("revision", nargs="?", default="head", help="target revision (default: head)")
    p.set_defaults(func=_configured(_cmd_upgrade))
    parsers = [p]

    p = commands.add_parser("current", help="the database's revision (exit 1: not at head)")
    p.set_defaults(func=_configured(_cmd_current))
    parsers.append(p)

    p = commands.add_parser("check", help="compare the database with the table declarations")
    p.set_defaults(func=_configured(_cmd_check))
    parsers.append(p)

    p = commands.add_parser("backup", help="back up the database to FILE")
    p.add_argument("file", type=Path, metavar="FILE")
    p.add_argument(
        "--format",
        choices=["sqlite", "pg_dump", "jsonl"],
        help="default: sqlite for SQLite, pg_dump for PostgreSQL (jsonl without pg_dump)",
    )
    p.set_defaults(func=_configured(_cmd_backup))
    parsers.append(p)

    p = commands.add_parser("restore", help="restore FILE into the database, then audit")
    p.add_argument("file", type=Path, metavar="FILE")
    p.add_argument("--force", action="store_true", help="replace a database holding a ledger")
    p.set_defaults(func=_configured(_cmd_restore))
    parsers.append(p)

    for parser in parsers:
        add_storage_options(parser)
