"""Options every ``orgbook`` sub-command shares (``--db``, ``--data-dir``), and settings."""

from __future__ import annotations

import argparse
import json
import sys
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
