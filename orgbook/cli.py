"""The ``orgbook`` command. Each area registers its own sub-commands; this module only wires them.

The command modules are imported by name below (:data:`COMMANDS`): a renamed or missing one
fails here, at import time. Each exposes ``register(subparsers)`` and keeps what only its
commands need (the application, the search index…) to import when they run, so that building
the parser stays cheap.

Exit codes: 0 success, 1 a negative answer (invalid credential, failed audit), 2 unusable input or
configuration, 130 interrupted.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from typing import Any

from orgbook import __version__, demo
from orgbook.commands import db, ledger, serve
from orgbook.core.errors import ConfigurationError, OrgBookError
from orgbook.feeds import cli as feeds_cli
from orgbook.issuer import authority_cli
from orgbook.issuer import cli as issuer_cli
from orgbook.verifier import cli as verifier_cli
from orgbook.verifier import present_cli
from orgbook.witness import cli as witness_cli

COMMANDS: tuple[Callable[[Any], None], ...] = (
    ledger.register,  # orgbook ledger audit|checkpoint|info|replay|tiles export
    issuer_cli.register,  # orgbook issuer …, orgbook ingest
    authority_cli.register,  # orgbook authority register|authorise|withdraw|list|…
    verifier_cli.register,  # orgbook verify
    present_cli.register,  # orgbook present
    serve.register,  # orgbook serve
    demo.register,  # orgbook demo
    witness_cli.register,  # orgbook witness …
    db.register,  # orgbook db …
    feeds_cli.register,  # orgbook export, orgbook webhooks …
)
"""Each command module's ``register(subparsers)``, in the order ``orgbook --help`` lists them."""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="orgbook",
        description="A verifiable organisation credential registry.",
        epilog="Exit codes: 0 success; 1 a negative answer (invalid, records rejected, a failed "
        "audit); 2 unusable input or configuration (nothing written); 130 interrupted. Per "
        "command: docs/operations.md, 'Exit codes'.",
    )
    parser.add_argument("--version", action="version", version=f"orgbook {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    subparsers.required = True
    for register in COMMANDS:
        register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        result: int = args.func(args)
    except OrgBookError as exc:
        print(f"orgbook: {exc.diagnostics()}", file=sys.stderr)
        # 2: the input or the configuration is unusable; 1: a negative answer or a failure.
        return 2 if exc.status < 500 or isinstance(exc, ConfigurationError) else 1
    except KeyboardInterrupt:
        print("orgbook: interrupted", file=sys.stderr)
        return 130
    return result


if __name__ == "__main__":
    sys.exit(main())
