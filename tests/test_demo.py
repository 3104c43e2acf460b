"""``orgbook demo``: the one command that may seal keys with ``<data-dir>/demo-passphrase``.

It says so on stderr; every other command on that data directory then needs
``ORGBOOK_KEY_PASSPHRASE`` (issue 14: they used to fall back to the file silently).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from orgbook.cli import main
from orgbook.registry import DEMO_PASSPHRASE_FILE


def test_demo_says_it_uses_its_passphrase_file_and_others_do_not(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for name in [k for k in os.environ if k.startswith("ORGBOOK_")]:
        monkeypatch.delenv(name)
    data_dir = tmp_path / "demo"
    storage = ["--data-dir", str(data_dir)]
    assert main(["demo", "--no-serve", "--orgs", "6", *storage]) == 0
    err = capsys.readouterr().err
    demo_file = data_dir / DEMO_PASSPHRASE_FILE
    assert demo_file.is_file()
    assert "ORGBOOK_KEY_PASSPHRASE is not set" in err
    assert str(demo_file) in err

    # Another signing command on the demo's data directory: a configuration error, exit 2.
    monkeypatch.setenv("ORGBOOK_PUBLIC_URL", "http://127.0.0.1:8000")
    assert main(["issuer", "rotate-key", "bc-registries", *storage]) == 2
    err = capsys.readouterr().err
    assert "Configuration error" in err
    assert "ORGBOOK_KEY_PASSPHRASE is not set" in err
    assert str(demo_file) in err  # and where the demo's passphrase is

    # Given explicitly, it works.
    monkeypatch.setenv("ORGBOOK_KEY_PASSPHRASE", demo_file.read_text(encoding="utf-8").strip())
    assert main(["issuer", "rotate-key", "bc-registries", *storage]) == 0
