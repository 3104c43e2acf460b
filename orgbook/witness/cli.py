"""``orgbook witness key | add-log | logs | serve | poll | refusals``: the witness's commands.

State lives in ``--data-dir`` (default ``ORGBOOK_WITNESS_DIR`` or ``./orgbook-witness``): the
sealed key ``witness.key`` (passphrase ``ORGBOOK_KEY_PASSPHRASE``), ``witness.vkey`` and the
SQLite database ``witness.sqlite3`` (or ``--db URL``). Exit codes: 0 success, 1 a poll that found
a refusal or failed, 2 unusable input or configuration.

This module parses arguments and prints; the work is in ``core``, ``store``, ``server`` and
``poller``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import threading
from pathlib import Path
from typing import Any

from orgbook.core.errors import BadInput, ConfigurationError
from orgbook.core.keystore import passphrase_from_env
from orgbook.ledger.note import CosignatureSigner, NoteVerifier
from orgbook.witness.store import WitnessStore, load_or_create_witness_key

__all__ = ["register"]

DEFAULT_DIR = "./orgbook-witness"


def _dir(args: argparse.Namespace) -> Path:
    return Path(args.data_dir or os.environ.get("ORGBOOK_WITNESS_DIR") or DEFAULT_DIR)


def _store(args: argparse.Namespace) -> WitnessStore:
    directory = _dir(args)
    directory.mkdir(parents=True, exist_ok=True)
    return WitnessStore.open(args.db or directory)


def _signer(args: argparse.Namespace) -> CosignatureSigner:
    return load_or_create_witness_key(
        _dir(args), getattr(args, "name", None), passphrase_from_env()
    )


def _cmd_key(args: argparse.Namespace) -> int:
    print(_signer(args).vkey())
    return 0


def _cmd_add_log(args: argparse.Namespace) -> int:
    keys = [NoteVerifier.from_vkey(v) for v in args.vkey]
    store = _store(args)
    try:
        log = store.add_log(args.origin, keys, args.url)
    finally:
        store.close()
    print(
        f"following {log.origin} with {len(log.keys)} key(s)"
        + (f" at {log.url}" if log.url else "")
    )
    return 0


def _cmd_logs(args: argparse.Namespace) -> int:
    store = _store(args)
    try:
        for log in store.logs():
            latest = store.latest(log.origin)
            size = latest.size if latest is not None else "-"
            print(f"{log.origin}\tcosigned size {size}\t{log.url or ''}")
    finally:
        store.close()
    return 0


def _cmd_poll(args: argparse.Namespace) -> int:
    import httpx

    from orgbook.witness.poller import poll_all

    signer = _signer(args)
    store = _store(args)
    try:
        with httpx.Client(timeout=args.timeout) as client:
            results = poll_all(store, signer, client, push=not args.no_push)
    finally:
        store.close()
    for r in results:
        pushed = " (cosignature pushed)" if r.pushed else ""
        print(f"{r.origin}: {r.outcome} {r.size if r.size is not None else ''}{pushed} {r.detail}")
    return 1 if any(r.outcome in ("refused", "error") for r in results) else 0


def _cmd_refusals(args: argparse.Namespace) -> int:
    store = _store(args)
    try:
        found = [r.to_json() for r in store.refusals(args.origin)]
    finally:
        store.close()
    json.dump(found, sys.stdout, indent=2, ensure_ascii=False)
    sys.stdout.write("\n")
    return 0


def _poll_forever(
    args: argparse.Namespace, signer: CosignatureSigner, stop: threading.Event
) -> None:
    import httpx

    from orgbook.witness.poller import poll_all

    store = _store(args)
    try:
        with httpx.Client(timeout=args.timeout) as client:
            while not stop.wait(args.poll_interval):
                for r in poll_all(store, signer, client):
                    if r.outcome != "unchanged":
                        print(f"witness poll: {r.origin}: {r.outcome} {r.detail}", file=sys.stderr)
    finally:
        store.close()


def _cmd_serve(args: argparse.Namespace) -> int:
    import uvicorn

    from orgbook.witness.server import create_witness_app

    signer = _signer(args)
    store = _store(args)
    stop = threading.Event()
    poller = None
    if args.poll_interval > 0:
        poller = threading.Thread(target=_poll_forever, args=(args, signer, stop), daemon=True)
        poller.start()
    print(f"orgbook witness {signer.vkey()}", file=sys.stderr)
    print(f"orgbook witness: serving on http://{args.host}:{args.port}/", file=sys.stderr)
    try:
        uvicorn.run(
            create_witness_app(store, signer),
            host=args.host,
            port=args.port,
            access_log=False,
            log_level="warning",
        )
    finally:
        stop.set()
        if poller is not None:
            poller.join(timeout=5)
        store.close()
    return 0


def _configured(command: Any) -> Any:
    def run(args: argparse.Namespace) -> int:
        try:
            result: int = command(args)
        except (ConfigurationError, BadInput) as exc:
            print(f"orgbook witness: {exc.diagnostics()}", file=sys.stderr)
            return 2
        return result

    return run


def register(subparsers: Any) -> None:
    """Add ``orgbook witness …`` to the ``orgbook`` command."""
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--data-dir",
        metavar="DIR",
        help=f"witness state (default: ORGBOOK_WITNESS_DIR, {DEFAULT_DIR})",
    )
    common.add_argument(
        "--db", metavar="URL", help="database URL (default: witness.sqlite3 in DIR)"
    )
    named = argparse.ArgumentParser(add_help=False)
    named.add_argument("--name", help="the witness's key name, e.g. witness.example/w1 (first use)")
    witness = subparsers.add_parser(
        "witness", help="a witness: check ledger consistency and cosign checkpoints"
    )
    commands = witness.add_subparsers(dest="witness_command", metavar="COMMAND")
    commands.required = True

    p = commands.add_parser("key", parents=[common, named], help="print (creating) the witness key")
    p.set_defaults(func=_configured(_cmd_key))

    p = commands.add_parser("add-log", parents=[common], help="follow a log")
    p.add_argument("--origin", required=True, help="the log's checkpoint origin line")
    p.add_argument(
        "--vkey", required=True, action="append", help="the log's verifier key (repeatable)"
    )
    p.add_argument("--url", help="the registry's base URL, to poll (GET /api/v1/ledger/…)")
    p.set_defaults(func=_configured(_cmd_add_log))

    p = commands.add_parser("logs", parents=[common], help="the logs followed and sizes cosigned")
    p.set_defaults(func=_configured(_cmd_logs))

    p = commands.add_parser("poll", parents=[common, named], help="poll every log with a URL once")
    p.add_argument("--no-push", action="store_true", help="do not push cosignatures back")
    p.add_argument("--timeout", type=float, default=10.0)
    p.set_defaults(func=_configured(_cmd_poll))

    p = commands.add_parser("refusals", parents=[common], help="print split-view evidence (JSON)")
    p.add_argument("--origin", help="only this log")
    p.set_defaults(func=_configured(_cmd_refusals))

    p = commands.add_parser("serve", parents=[common, named], help="serve tlog-witness over HTTP")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8100)
    p.add_argument(
        "--poll-interval",
        type=float,
        default=0.0,
        metavar="SECONDS",
        help="also poll the logs with a URL this often (0: never)",
    )
    p.add_argument("--timeout", type=float, default=10.0)
    p.set_defaults(func=_configured(_cmd_serve))
