"""``orgbook ledger tiles export --out DIR``: write the ledger as C2SP tlog-tiles.

Registers itself under the ``orgbook ledger`` command that :mod:`orgbook.ledger.cli` creates
(this module comes after it in ``COMMAND_MODULES``). Where things live is as for the other
ledger commands: ``--db``, ``--data-dir`` (``ledger.vkey`` checks the checkpoint), ``--origin``.
The work is :func:`orgbook.ledger.tiles.export_tiles`.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any

from orgbook.db import DEFAULT_DATA_DIR, create_all, default_database_url, make_engine, reading
from orgbook.errors import ConfigurationError
from orgbook.ledger.keys import DEFAULT_ORIGIN, load_ledger_verifier
from orgbook.ledger.note import NoteVerifier
from orgbook.ledger.store import Ledger, stored_origin
from orgbook.ledger.tiles import export_tiles

__all__ = ["register"]


def _cmd_export(args: argparse.Namespace) -> int:
    data_dir = Path(args.data_dir or os.environ.get("ORGBOOK_DATA_DIR") or DEFAULT_DATA_DIR)
    engine = make_engine(args.db or default_database_url(data_dir))
    try:
        create_all(engine)
        verifiers = [NoteVerifier.from_vkey(v) for v in args.vkey or ()]
        local = load_ledger_verifier(data_dir)
        if local is not None:
            verifiers.append(local)
        with reading(engine) as conn:
            origin = (
                stored_origin(conn)
                or args.origin
                or (verifiers[-1].name if verifiers else DEFAULT_ORIGIN)
            )
            ledger = Ledger(origin=origin, verifiers=verifiers)
            result = export_tiles(conn, ledger, Path(args.out))
    except ConfigurationError as exc:
        print(f"orgbook: {exc.diagnostics()}", file=sys.stderr)
        return 2
    finally:
        engine.dispose()
    print(
        f"tiles: tree size {result.size}, {result.written} files written, "
        f"{result.kept} kept, in {args.out}"
    )
    return 0


def _ledger_commands(subparsers: Any) -> Any:
    """The ``orgbook ledger`` sub-command group, made by :mod:`orgbook.ledger.cli`."""
    ledger = subparsers.choices.get("ledger")
    if ledger is None:
        ledger = subparsers.add_parser("ledger", help="the append-only ledger")
        commands = ledger.add_subparsers(dest="ledger_command", metavar="COMMAND")
        commands.required = True
        return commands
    for action in ledger._actions:  # argparse keeps its sub-command group here
        if isinstance(action, argparse._SubParsersAction):
            return action
    return ledger.add_subparsers(dest="ledger_command", metavar="COMMAND")


def register(subparsers: Any) -> None:
    """Add ``orgbook ledger tiles export``."""
    tiles = _ledger_commands(subparsers).add_parser(
        "tiles", help="serve the ledger as static C2SP tlog-tiles"
    )
    commands = tiles.add_subparsers(dest="tiles_command", metavar="COMMAND")
    commands.required = True
    p = commands.add_parser(
        "export", help="write tiles, entry bundles and the checkpoint (incremental)"
    )
    p.add_argument("--out", required=True, metavar="DIR", help="the directory to serve")
    p.add_argument("--db", metavar="URL", help="database URL (default: ORGBOOK_DATABASE_URL)")
    p.add_argument("--data-dir", metavar="DIR", help="data directory (default: ORGBOOK_DATA_DIR)")
    p.add_argument("--origin", help=f"ledger origin when the database has none ({DEFAULT_ORIGIN})")
    p.add_argument(
        "--vkey", action="append", metavar="VKEY", help="an extra trusted ledger verifier key"
    )
    p.set_defaults(func=_cmd_export)
