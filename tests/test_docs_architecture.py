"""docs/architecture.md matches the tree (issue 15): every package and every module of ``orgbook``
is named there, every ``orgbook/…`` path it names exists, and its layer table and contract list
stay those of ``pyproject.toml``."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "orgbook"
DOC = (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")


def _code_paths() -> set[str]:
    found: set[str] = set()
    for path in PACKAGE.rglob("*.py"):
        if "__pycache__" in path.parts or "versions" in path.parts:
            continue
        relative = path.relative_to(ROOT).as_posix()
        found.add(relative.removesuffix("__init__.py") if path.name == "__init__.py" else relative)
    return found


def test_every_package_and_module_is_in_the_architecture_document() -> None:
    named = set(re.findall(r"`(orgbook/[^`\s]*)`", DOC))
    assert sorted(_code_paths() - named) == []


def test_every_path_the_architecture_document_names_exists() -> None:
    named = set(re.findall(r"`(orgbook/[^`\s]*)`", DOC))
    assert sorted(p for p in named if not (ROOT / p).exists()) == []


def test_the_architecture_document_names_every_import_contract() -> None:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    contracts = config["tool"]["importlinter"]["contracts"]
    missing = [c["name"] for c in contracts if c["name"] not in DOC]
    assert missing == []
