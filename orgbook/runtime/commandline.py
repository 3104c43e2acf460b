"""Options every ``orgbook`` sub-command shares (``--db``, ``--data-dir``), settings, and the
log handler a command uses while it works (before uvicorn, if it serves, takes over)."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from orgbook.config import Settings, get_settings


def add_storage_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--db",
        metavar="URL",
        help="database URL (default: ORGBOOK_DATABASE_URL or a SQLite file in the data dir)",
    )
    parser.add_argument(
        "--data-dir",
        metavar="DIR",
        help="data directory for the SQLite file and keys (default: ORGBOOK_DATA_DIR or "
        "./orgbook-data)",
    )


def settings_from_args(args: argparse.Namespace, **extra: Any) -> Settings:
    overrides: dict[str, Any] = {
        "database_url": getattr(args, "db", None),
        "data_dir": getattr(args, "data_dir", None),
    }
    overrides.update(extra)
    return get_settings(**overrides)


def print_json(value: Any) -> None:
    json.dump(value, sys.stdout, indent=2, ensure_ascii=False, default=str)
    sys.stdout.write("\n")


@contextmanager
def command_logging(settings: Settings) -> Iterator[None]:
    """orgbook's log handler (plain or JSON lines on stderr, per settings) for the duration.

    For what a command logs before or besides its own output (e.g. the search index repaired at
    start-up); removed afterwards so that a server's own start-up installs logging as usual.
    """
    from orgbook.runtime.logging import configure_logging

    root = logging.getLogger()
    level = root.level
    handler = configure_logging(settings)
    try:
        yield
    finally:
        root.removeHandler(handler)
        root.setLevel(level)
