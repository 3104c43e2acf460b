"""``orgbook verify`` and ``orgbook serve``: the verifier's commands.

``orgbook verify FILE`` verifies a bundle or a credential and prints one line per check (or
JSON with ``--json``); exit 0 valid, 1 invalid (including a registry refused for an inconsistent
checkpoint), 2 unusable input (a bundle without ``--ledger-key`` or ``--online`` among them).
``orgbook serve`` runs the application through ``orgbook.http.serving`` (one worker process per
core unless ``--workers``; no access log unless ``ORGBOOK_ACCESS_LOG``); it first re-indexes for
search what an interrupted ingest left pending.

What it must not do: verification logic (``orgbook.verifier.offline``, ``checks``).
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from orgbook.errors import BadInput, OrgBookError

__all__ = ["register", "run_serve", "run_verify"]


def register(subparsers: Any) -> None:
    verify = subparsers.add_parser(
        "verify",
        help="verify a credential or a bundle (offline with --ledger-key)",
        description="Verify a bundle (offline, with the ledger's verifier key) or a credential. "
        "Exit 0 valid, 1 invalid, 2 unusable input.",
    )
    verify.add_argument("file", metavar="FILE", help="bundle or credential JSON ('-': stdin)")
    verify.add_argument(
        "--ledger-key",
        metavar="VKEY",
        help="the ledger's C2SP verifier key, or @FILE holding it (GET /api/v1/ledger/key)",
    )
    verify.add_argument(
        "--online",
        metavar="URL",
        help="also check status lists and checkpoint consistency against this registry",
    )
    verify.add_argument(
        "--witness",
        metavar="VKEY",
        action="append",
        default=[],
        help="a witness's cosignature verifier key (repeatable)",
    )
    verify.add_argument(
        "--min-witnesses",
        metavar="K",
        type=int,
        default=0,
        help="cosignatures required from the --witness keys (default 0)",
    )
    verify.add_argument(
        "--tiles",
        metavar="URL_OR_DIR",
        help="check the bundle's checkpoint for consistency with a tile export's newer one "
        "(orgbook ledger tiles export); needs --ledger-key",
    )
    verify.add_argument("--json", action="store_true", help="print the report as JSON")
    verify.set_defaults(func=run_verify)

    serve = subparsers.add_parser("serve", help="serve the verifier (and issuer) HTTP API")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--db", metavar="URL", help="database URL (default: ORGBOOK_DATABASE_URL)")
    serve.add_argument("--data-dir", metavar="DIR", help="data directory (default: ./orgbook-data)")
    serve.add_argument(
        "--workers",
        type=int,
        metavar="N",
        help="server processes (default: ORGBOOK_WORKERS, else one per core)",
    )
    serve.set_defaults(func=run_serve)


def run_verify(args: argparse.Namespace) -> int:
    import httpx

    from orgbook.did import ChainResolver, LocalResolver
    from orgbook.did_http import HttpsDidWebResolver
    from orgbook.ledger.note import CosignatureVerifier
    from orgbook.verifier.bundle import is_bundle
    from orgbook.verifier.client import RegistryClient, fetch_json
    from orgbook.verifier.offline import (
        CheckpointMemory,
        default_state_dir,
        format_report,
        parse_ledger_key,
        read_document,
        report_json,
        verify_document,
    )

    try:
        value = read_document(args.file)
        keys = [parse_ledger_key(args.ledger_key)] if args.ledger_key else []
        witnesses = [CosignatureVerifier.from_vkey(w) for w in args.witness]
        if args.min_witnesses < 0:
            raise BadInput("--min-witnesses must be >= 0", field="min-witnesses")
        if args.tiles and not keys:
            raise BadInput("--tiles needs --ledger-key to trust the tiles", field="tiles")
        if args.tiles and args.online:
            raise BadInput("--tiles and --online are alternatives", field="tiles")
        if not keys and not args.online and is_bundle(value):
            raise BadInput(
                "a bundle is verified against the ledger's verifier key, and none was given: "
                "pass --ledger-key VKEY (or @FILE; the registry publishes it at "
                "GET /api/v1/ledger/key, `orgbook ledger info` prints it), or check against "
                "the registry itself with --online URL",
                field="ledger-key",
            )
    except BadInput as exc:
        print(f"orgbook verify: {exc.diagnostics()}", file=sys.stderr)
        return 2
    with httpx.Client() as client:
        online = RegistryClient(args.online, client) if args.online else None

        def status_list(url: str) -> Any:
            if not url.startswith("https://"):
                raise BadInput(f"status list {url} is not an https URL")
            return fetch_json(client, url)

        resolver = ChainResolver(LocalResolver(), HttpsDidWebResolver(client))
        try:
            verification = verify_document(
                value,
                ledger_keys=keys,
                witnesses=witnesses,
                min_witnesses=args.min_witnesses,
                online=online,
                resolver=resolver,
                status_lists=status_list,
                memory=CheckpointMemory(default_state_dir()) if online is not None else None,
                tiles=args.tiles,
            )
        except BadInput as exc:
            print(f"orgbook verify: {exc.diagnostics()}", file=sys.stderr)
            return 2
        except OrgBookError as exc:  # the registry (--online) failed us: no verdict
            print(f"orgbook verify: {exc.diagnostics()}", file=sys.stderr)
            return 1
    print(report_json(verification) if args.json else format_report(verification))
    return 0 if verification.report.valid else 1


def run_serve(args: argparse.Namespace) -> int:
    import logging

    from sqlalchemy.exc import SQLAlchemyError

    from orgbook.cliutil import command_logging, settings_from_args
    from orgbook.errors import ConfigurationError
    from orgbook.http.serving import serve
    from orgbook.issuer.bulk import repair_search_index
    from orgbook.keystore import PASSPHRASE_ENV
    from orgbook.registry import open_registry, resolve_passphrase

    settings = settings_from_args(args)
    try:
        passphrase: bytes | None = resolve_passphrase(settings, prompt=False)
    except ConfigurationError:
        passphrase = None  # a verifier replica: public keys only, cached status lists
        print(
            f"orgbook: {PASSPHRASE_ENV} is not set: serving as a verifier replica "
            "(public keys only; the issuer API cannot sign)",
            file=sys.stderr,
        )
    registry = open_registry(settings, signing=passphrase is not None, passphrase=passphrase)
    with command_logging(settings):
        # An ingest killed while it built the search index left organisations unsearchable:
        # repaired once, here, before the workers start.
        try:
            repair_search_index(registry.engine)
        except SQLAlchemyError as exc:  # e.g. a read-only database user: serve all the same
            logging.getLogger(__name__).warning(
                "search index not repaired (%s): the next `orgbook ingest` will",
                type(exc).__name__,
            )
    registry.engine.dispose()
    serve(settings, host=args.host, port=args.port, workers=args.workers)
    return 0
