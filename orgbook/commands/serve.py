"""``orgbook serve``: the application (every area's routes) over HTTP.

Runs :func:`orgbook.app.app_factory` through :mod:`orgbook.http.serving` (one worker process per
core unless ``--workers``; no access log unless ``ORGBOOK_ACCESS_LOG``). It first re-indexes for
search what an interrupted ingest left pending, once, before the workers start.

Without ``ORGBOOK_KEY_PASSPHRASE`` it serves as a verifier replica: public keys only, status
lists as stored, the issuer API unable to sign.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

__all__ = ["register", "run_serve"]


def register(subparsers: Any) -> None:
    """Add ``orgbook serve``."""
    serve = subparsers.add_parser("serve", help="serve the verifier (and issuer) HTTP API")
    serve.add_argument(
        "--host", default="127.0.0.1", help="address to listen on (default: 127.0.0.1)"
    )
    serve.add_argument("--port", type=int, default=8000, help="port to listen on (default: 8000)")
    serve.add_argument("--db", metavar="URL", help="database URL (default: ORGBOOK_DATABASE_URL)")
    serve.add_argument("--data-dir", metavar="DIR", help="data directory (default: ./orgbook-data)")
    serve.add_argument(
        "--workers",
        type=int,
        metavar="N",
        help="server processes (default: ORGBOOK_WORKERS, else one per core)",
    )
    serve.set_defaults(func=run_serve)


def run_serve(args: argparse.Namespace) -> int:
    import logging

    from sqlalchemy.exc import SQLAlchemyError

    # Imported here, not at the top: ``orgbook`` imports every command module to build its
    # parser, and the application (FastAPI, every area's routes) is only for this command.
    from orgbook.app import app_factory
    from orgbook.core.errors import ConfigurationError
    from orgbook.core.keystore import PASSPHRASE_ENV
    from orgbook.http.serving import serve
    from orgbook.issuer.bulk import repair_search_index
    from orgbook.runtime.commandline import command_logging, settings_from_args
    from orgbook.runtime.registry import open_registry, resolve_passphrase

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
    serve(settings, app_factory, host=args.host, port=args.port, workers=args.workers)
    return 0
