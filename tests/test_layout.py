"""Rules the package's layout keeps (issue 15): the top level is the wiring, modules stay small,
every module sits in a layer of the import contracts, and no import goes round in a circle.

The contracts themselves are in ``pyproject.toml`` (``[tool.importlinter]``) and checked by
``lint-imports`` (``make lint``); these tests keep them complete and cover what the tool cannot
see: Alembic's revision scripts, whose file names are not module names.
"""

from __future__ import annotations

import ast
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "orgbook"

MAX_LINES = 500

WIRING = {"__init__.py", "__main__.py", "cli.py", "config.py", "app.py", "demo.py"}
"""The only modules at the top of the package: the entry points and the settings."""

OVER_MAX_LINES = {
    # One concept each that reads best whole.
    "core/dataintegrity.py",  # one specification: W3C Data Integrity eddsa-jcs-2022
    "ledger/note.py",  # C2SP signed notes and the checkpoints and cosignatures written as notes
    "issuer/sample.py",  # data: the generator's name, street and activity tables
}
"""Modules allowed over :data:`MAX_LINES`, each for a stated reason."""


def _modules() -> list[Path]:
    return sorted(p for p in PACKAGE.rglob("*.py") if "__pycache__" not in p.parts)


def _name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _contracts() -> list[dict[str, object]]:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    contracts: list[dict[str, object]] = config["tool"]["importlinter"]["contracts"]
    return contracts


def _layers() -> list[list[str]]:
    """The layers contract's layers, top first, each as its modules."""
    (layers,) = [c["layers"] for c in _contracts() if c["type"] == "layers"]
    assert isinstance(layers, list)
    return [[m.strip() for m in layer.replace(":", "|").split("|")] for layer in layers]


def _layer_of(module: str, layers: list[list[str]]) -> int | None:
    for number, layer in enumerate(layers):
        if any(module == m or module.startswith(m + ".") for m in layer):
            return number
    return None


def test_no_module_is_longer_than_the_limit_unless_allowed() -> None:
    lengths = {
        str(p.relative_to(PACKAGE)): len(p.read_text(encoding="utf-8").splitlines())
        for p in _modules()
    }
    too_long = {name: n for name, n in lengths.items() if n > MAX_LINES}
    assert sorted(set(too_long) - OVER_MAX_LINES) == [], too_long
    # An allowed module that shrank below the limit leaves the list.
    assert sorted(OVER_MAX_LINES - set(too_long)) == []


def test_the_top_level_holds_only_the_wiring() -> None:
    top = {p.name for p in PACKAGE.glob("*.py")}
    assert top - WIRING == set()


def test_every_module_is_in_a_layer() -> None:
    """Except a package whose modules the layers list one by one (``orgbook.storage``): its
    ``__init__`` then imports nothing, so it cannot carry an import across layers."""
    layers = _layers()
    outside = [
        _name(p)
        for p in _modules()
        if _name(p) != "orgbook"
        and _layer_of(_name(p), layers) is None
        and not (p.name == "__init__.py" and not _orgbook_imports(p))
    ]
    assert outside == []


def test_the_contracts_name_modules_that_exist() -> None:
    names = {_name(p) for p in _modules()}
    listed = {m for layer in _layers() for m in layer}
    assert sorted(m for m in listed if m not in names) == []


def test_no_module_imports_itself_back() -> None:
    grimp = pytest.importorskip("grimp")
    graph = grimp.build_graph("orgbook", include_external_packages=False, cache_dir=None)
    cycles = [
        (module, imported)
        for module in sorted(graph.modules)
        for imported in sorted(graph.find_modules_directly_imported_by(module))
        if graph.chain_exists(importer=imported, imported=module)
    ]
    assert cycles == []


def _orgbook_imports(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return {name for name in found if name == "orgbook" or name.startswith("orgbook.")}


def test_migration_revisions_import_only_layers_below_the_migrations() -> None:
    """Revision files (``0001_initial.py``…) are not importable names, so import-linter does
    not see them: they may call the search package's DDL, never an area's code (a revision is
    a frozen snapshot; it must work when the areas have changed)."""
    layers = _layers()
    own = _layer_of("orgbook.storage.migrations", layers)
    assert own is not None
    wrong = {
        f"{path.name}: {name}"
        for path in sorted((PACKAGE / "storage" / "migrations" / "versions").glob("*.py"))
        for name in _orgbook_imports(path)
        if (_layer_of(name, layers) or -1) <= own
    }
    assert sorted(wrong) == []
