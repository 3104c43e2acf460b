"""``orgbook ledger audit|checkpoint|replay|info|tiles export``: the ledger's commands.

Where things live: the database from ``--db`` (default
``orgbook.storage.engine.default_database_url``), the
ledger's sealed signing key ``<data-dir>/ledger.key`` and its public verifier key
``<data-dir>/ledger.vkey`` (``--data-dir``, default ``ORGBOOK_DATA_DIR`` or ``./orgbook-data``).
The origin is the one recorded in the database by the first checkpoint, else the vkey's name,
else ``--origin``/the default.

Exit codes (``orgbook.cli``): 0 success, 1 a failed audit (the ledger, or a projection that is
not what the ledger derives), 2 unusable input or configuration. This module parses arguments
and prints; the work is in :mod:`orgbook.ledger.store`, :mod:`orgbook.ledger.audit`,
:mod:`orgbook.ledger.tiles` and the projections (:mod:`orgbook.projections.audit`,
:mod:`orgbook.projections.replay`), which is why it sits with the wiring and not in the ledger
package: the ledger's own modules never reach up to what is derived from it.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine

from orgbook.core.errors import ConfigurationError
from orgbook.core.keystore import passphrase_from_env
from orgbook.ledger.audit import audit
from orgbook.ledger.keys import DEFAULT_ORIGIN, load_ledger_verifier, load_or_create_ledger_key
from orgbook.ledger.note import NoteVerifier
from orgbook.ledger.store import Ledger, stored_origin
from orgbook.ledger.tiles import export_tiles
from orgbook.projections.audit import audit_projections
from orgbook.projections.replay import replay
from orgbook.runtime.progress import Progress
from orgbook.storage.engine import DEFAULT_DATA_DIR, default_database_url, make_engine, reading
from orgbook.storage.migrations import upgrade

__all__ = ["register"]


def _data_dir(args: argparse.Namespace) -> Path:
    return Path(args.data_dir or os.environ.get("ORGBOOK_DATA_DIR") or DEFAULT_DATA_DIR)


def _engine(args: argparse.Namespace) -> Engine:
    engine = make_engine(args.db or default_database_url(_data_dir(args)))
    upgrade(engine)
    return engine


@contextmanager
def _snapshot(engine: Engine) -> Iterator[Connection]:
    """A read transaction seeing one snapshot on either backend (no write lock on SQLite)."""
    if engine.dialect.name == "postgresql":
        conn = engine.connect().execution_options(isolation_level="REPEATABLE READ")
        with conn, conn.begin():
            yield conn
    else:
        with reading(engine) as conn:
            yield conn


def _verifiers(args: argparse.Namespace) -> list[NoteVerifier]:
    found = [NoteVerifier.from_vkey(v) for v in args.vkey or ()]
    local = load_ledger_verifier(_data_dir(args))
    if local is not None:
        found.append(local)
    return found


def _origin(args: argparse.Namespace, conn: Connection, verifiers: list[NoteVerifier]) -> str:
    origin = stored_origin(conn)
    if origin:
        return origin
    if args.origin:
        return str(args.origin)
    return verifiers[-1].name if verifiers else DEFAULT_ORIGIN


def _cmd_audit(args: argparse.Namespace) -> int:
    if args.scratch_dir is not None and not Path(args.scratch_dir).is_dir():
        raise ConfigurationError(f"--scratch-dir {args.scratch_dir} is not a directory")
    engine = _engine(args)
    verifiers = _verifiers(args)
    bars: dict[str, Progress] = {}

    def show(label: str, unit: str, done: int, total: int) -> None:
        bar = bars.get(label)
        if bar is None:
            bar = bars[label] = Progress(label, total=total, unit=unit)
        bar.update(count=done, done=done, force=done >= total)

    def phase(name: str, done: int, total: int) -> None:
        if name == "replay":
            show("projections: derive", "entries", done, total)
        else:
            show("projections: compare", "tables", done, total)

    try:
        with _snapshot(engine) as conn:
            ledger = Ledger(origin=_origin(args, conn, verifiers), verifiers=verifiers)
            report = audit(
                conn,
                ledger,
                verifiers,
                progress=lambda done, total: show("ledger audit", "entries", done, total),
            )
            projections = None
            if report.ok and not args.ledger_only:
                projections = audit_projections(
                    conn, ledger, scratch_dir=args.scratch_dir, progress=phase
                )
    finally:
        engine.dispose()
    print(report.summary())
    if projections is not None:
        print(projections.summary())
    if not report.ok or (projections is not None and not projections.ok):
        return 1
    if not report.checked_checkpoint and report.checkpoints:
        print("warning: no ledger.vkey found, checkpoint signatures unchecked", file=sys.stderr)
    return 0


def _cmd_checkpoint(args: argparse.Namespace) -> int:
    engine = _engine(args)
    try:
        verifiers = _verifiers(args)
        with _snapshot(engine) as conn:
            origin = _origin(args, conn, verifiers)
            reader = Ledger(origin=origin, verifiers=verifiers)
            size = reader.size(conn)
            latest = reader.checkpoint_at(conn, size)
        if latest is None or args.force_sign:
            # The ledger grew (or was never checkpointed): that takes the signing key.
            signer = load_or_create_ledger_key(_data_dir(args), origin, passphrase_from_env())
            ledger = Ledger(origin=origin, signer=signer, verifiers=verifiers)
            with engine.begin() as conn:
                latest = ledger.sign_checkpoint(conn)
    finally:
        engine.dispose()
    sys.stdout.write(latest)
    return 0


def _cmd_info(args: argparse.Namespace) -> int:
    engine = _engine(args)
    try:
        verifiers = _verifiers(args)
        with _snapshot(engine) as conn:
            origin = _origin(args, conn, verifiers)
            ledger = Ledger(origin=origin, verifiers=verifiers)
            size = ledger.size(conn)
            root = ledger.root(conn)
            latest = ledger.latest_checkpoint(conn)
            signed = "none"
            if latest is not None:
                signed = latest.split("\n", 2)[1]
    finally:
        engine.dispose()
    print(f"origin: {origin}")
    print(f"size: {size}")
    print(f"root: {root.hex()}")
    print(f"latest checkpoint size: {signed}")
    print(f"vkey: {verifiers[-1].vkey() if verifiers else 'none (no ledger.vkey yet)'}")
    return 0


def _cmd_replay(args: argparse.Namespace) -> int:
    engine = _engine(args)
    try:
        verifiers = _verifiers(args)
        with engine.begin() as conn:
            ledger = Ledger(origin=_origin(args, conn, verifiers), verifiers=verifiers)
            result = replay(conn, ledger)
    finally:
        engine.dispose()
    print(result)
    return 0


def _cmd_tiles_export(args: argparse.Namespace) -> int:
    engine = _engine(args)
    try:
        verifiers = _verifiers(args)
        with reading(engine) as conn:
            ledger = Ledger(origin=_origin(args, conn, verifiers), verifiers=verifiers)
            result = export_tiles(conn, ledger, Path(args.out))
    finally:
        engine.dispose()
    print(
        f"tiles: tree size {result.size}, {result.written} files written, "
        f"{result.kept} kept, in {args.out}"
    )
    return 0


def _configured(
    command: Callable[[argparse.Namespace], int],
) -> Callable[[argparse.Namespace], int]:
    """Configuration errors (no passphrase, wrong key) are unusable configuration: exit 2.

    ``orgbook.cli`` maps errors by HTTP status, and ConfigurationError is a 500 there.
    """

    def run(args: argparse.Namespace) -> int:
        try:
            return command(args)
        except ConfigurationError as exc:
            print(f"orgbook: {exc.diagnostics()}", file=sys.stderr)
            return 2

    return run


def register(subparsers: Any) -> None:
    """Add ``orgbook ledger …`` to the ``orgbook`` command."""
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--db", metavar="URL", help="database URL (default: ORGBOOK_DATABASE_URL)")
    common.add_argument(
        "--data-dir", metavar="DIR", help="data directory (default: ORGBOOK_DATA_DIR)"
    )
    common.add_argument(
        "--origin", help=f"ledger origin when the database has none yet ({DEFAULT_ORIGIN})"
    )
    common.add_argument(
        "--vkey",
        action="append",
        metavar="VKEY",
        help="an extra trusted ledger verifier key (name+hash+base64); repeatable",
    )
    ledger = subparsers.add_parser("ledger", help="the append-only ledger: audit, checkpoints")
    commands = ledger.add_subparsers(dest="ledger_command", metavar="COMMAND")
    commands.required = True
    p = commands.add_parser(
        "audit",
        parents=[common],
        help="re-derive every entry, hash and checkpoint, then every projection served",
    )
    p.add_argument(
        "--ledger-only",
        action="store_true",
        help="audit the ledger tables only, not the projections derived from them",
    )
    p.add_argument(
        "--scratch-dir",
        metavar="DIR",
        help="where the projections are re-derived (a temporary SQLite database; default: the "
        "system's temporary directory)",
    )
    p.set_defaults(func=_configured(_cmd_audit))
    p = commands.add_parser(
        "checkpoint",
        parents=[common],
        help="print the signed checkpoint (signing a new one if the ledger grew)",
    )
    p.add_argument(
        "--force-sign", action="store_true", help="always go through signing (needs the key)"
    )
    p.set_defaults(func=_configured(_cmd_checkpoint))
    p = commands.add_parser("info", parents=[common], help="size, root, origin and verifier key")
    p.set_defaults(func=_configured(_cmd_info))
    p = commands.add_parser(
        "replay", parents=[common], help="rebuild the projections from the ledger"
    )
    p.set_defaults(func=_configured(_cmd_replay))
    p = commands.add_parser("tiles", help="serve the ledger as static C2SP tlog-tiles")
    tiles = p.add_subparsers(dest="tiles_command", metavar="COMMAND")
    tiles.required = True
    p = tiles.add_parser(
        "export",
        parents=[common],
        help="write tiles, entry bundles and the checkpoint (incremental)",
    )
    p.add_argument("--out", required=True, metavar="DIR", help="the directory to serve")
    p.set_defaults(func=_configured(_cmd_tiles_export))
