"""The ``orgbook`` command. Each area registers its own sub-commands; this module only wires them.

Exit codes: 0 success, 1 a negative answer (invalid credential, failed audit), 2 unusable input or
configuration, 130 interrupted.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from orgbook import __version__
from orgbook.errors import ConfigurationError, OrgBookError

# Modules that expose ``register(subparsers)``; a module not written yet is skipped.
COMMAND_MODULES = (
    "orgbook.ledger.cli",
    "orgbook.ledger.tiles_cli",
    "orgbook.issuer.cli",
    "orgbook.verifier.cli",
    "orgbook.demo",
    "orgbook.witness.cli",
    "orgbook.dbcli",
    "orgbook.feeds.cli",
)


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
    for name in COMMAND_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name != name:
                raise
            continue
        module.register(subparsers)
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
