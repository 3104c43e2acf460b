"""Where orgbook's data files are, found one way: :func:`data_path`.

What it owns: where orgbook's run-time data files are — the JSON Schemas
(``orgbook/resources/schemas/``), the web page's templates, static assets and locales — for a
source checkout, an editable install and an installed wheel alike. Every reader of a data file
asks :func:`data_path`; no module builds a path to one from its own ``__file__``, which is how
an installed orgbook once looked for its record schemas outside the package. The files live
inside the package, so ``pip install .`` and the wheel carry them (``pyproject.toml``'s
``[tool.setuptools.package-data]``) with no copy step.

It must not: read the files (their owners do), or look anywhere outside the installed package.
"""

from __future__ import annotations

import importlib.resources
from pathlib import Path

from orgbook.core.errors import ConfigurationError

__all__ = ["data_path"]


def data_path(*parts: str) -> Path:
    """The data file or folder at ``parts`` below the ``orgbook`` package (it must exist).

    ``data_path("resources", "schemas")`` is the JSON Schemas' folder. A missing one is a
    :class:`ConfigurationError` naming the path: the installation is incomplete.
    """
    root = Path(str(importlib.resources.files("orgbook")))
    path = root.joinpath(*parts)
    if not path.exists():
        rel = "/".join(parts)
        raise ConfigurationError(
            f"orgbook's data files are incomplete: {rel} is missing from {root} (reinstall orgbook)"
        )
    return path
