"""``orgbook demo``: the one command that may seal keys with ``<data-dir>/demo-passphrase``.

It says so on stderr; every other command on that data directory then needs
``ORGBOOK_KEY_PASSPHRASE`` (issue 14: they used to fall back to the file silently).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from orgbook.cli import main
from orgbook.demo import DEMO_ISSUERS
from orgbook.runtime.registry import DEMO_PASSPHRASE_FILE


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


def _quiet_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in [k for k in os.environ if k.startswith("ORGBOOK_")]:
        monkeypatch.delenv(name)


def test_a_rerun_revokes_the_keys_it_printed_before_and_says_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from orgbook.issuer.keys import authenticate_api_key, list_issuers
    from orgbook.storage.engine import default_database_url, make_engine

    _quiet_env(monkeypatch)
    storage = ["--data-dir", str(tmp_path / "demo")]
    assert main(["demo", "--no-serve", "--orgs", "4", *storage]) == 0
    first = capsys.readouterr()
    old = [line.split(": ")[-1] for line in first.out.splitlines() if "issuer API key" in line]
    assert len(old) == 3
    assert "revoked" not in first.err
    assert "http://" not in first.out  # --no-serve serves nothing, so it prints no URL
    assert "serve it with: orgbook demo --data-dir" in first.out

    assert main(["demo", "--no-serve", "--orgs", "4", *storage]) == 0
    second = capsys.readouterr()
    new = [line.split(": ")[-1] for line in second.out.splitlines() if "issuer API key" in line]
    assert "3 API key(s) printed by earlier runs are revoked" in second.err
    engine = make_engine(default_database_url(tmp_path / "demo"))
    try:
        with engine.connect() as conn:
            for key in new:
                assert authenticate_api_key(conn, key)
            # businesses can bind their DIDs with the demo's registries (docs/businesses.md)
            registries = {slug for slug, _, _ in DEMO_ISSUERS}
            listed = [i for i in list_issuers(conn) if i.id in registries]
            assert len(listed) == 3
            assert all("identity-anchor" in i.credential_types for i in listed)
            for key in old:
                with pytest.raises(Exception, match="revoked"):
                    authenticate_api_key(conn, key)
    finally:
        engine.dispose()


def test_another_port_on_a_built_data_directory_is_refused_with_a_hint(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    _quiet_env(monkeypatch)
    storage = ["--data-dir", str(tmp_path / "demo")]
    assert main(["demo", "--no-serve", "--orgs", "3", "--port", "8123", *storage]) == 0
    capsys.readouterr()
    assert main(["demo", "--no-serve", "--orgs", "3", "--port", "8124", *storage]) == 2
    err = capsys.readouterr().err
    assert "built for '127.0.0.1:8123/ledger'" in err
    assert "--data-dir" in err
    assert "--port" in err


@pytest.mark.parametrize("command", ["demo", "serve"])
def test_every_option_is_described(command: str) -> None:
    import argparse

    from orgbook.cli import build_parser

    parser = build_parser()
    commands = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    sub = commands.choices[command]
    undescribed = [a.dest for a in sub._actions if not a.help]
    assert undescribed == []


def test_the_demo_holds_a_network_of_authorities_and_a_rerun_logs_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from datetime import UTC, datetime

    from sqlalchemy import func, select

    from orgbook.config import get_settings
    from orgbook.demo import issuer_did
    from orgbook.issuer.demo_network import LICENCE, PERMIT
    from orgbook.projections.credential_types import latest_type
    from orgbook.projections.tables import credentials
    from orgbook.runtime.registry import demo_passphrase, open_registry
    from orgbook.storage.engine import reading
    from orgbook.verification.bundle_checks import verify_bundle
    from orgbook.verifier.bundles import bundle_for

    _quiet_env(monkeypatch)
    data_dir = tmp_path / "demo"
    storage = ["--data-dir", str(data_dir)]
    assert main(["demo", "--no-serve", "--orgs", "20", *storage]) == 0
    first = capsys.readouterr().err
    assert "3 authorities beyond the registries" in first
    assert "BC Mines Permitting Branch on behalf of Natural Resources Canada" in first

    settings = get_settings(data_dir=str(data_dir), public_url="http://127.0.0.1:8000")
    registry = open_registry(settings, passphrase=demo_passphrase(data_dir))
    url = settings.public_url
    try:
        with reading(registry.engine) as conn:
            licence = latest_type(conn, LICENCE)
            permit = latest_type(conn, PERMIT)
            assert licence is not None
            assert permit is not None
            assert licence.definition.expires == "P1Y"
            assert licence.definition.label("premisesAddress", "fr") == (
                "Adresse de l'établissement"
            )
            held = dict(
                conn.execute(
                    select(credentials.c.issuer_id, func.count())
                    .where(
                        credentials.c.issuer_id.in_(["victoria-licensing", "bc-mines-permitting"])
                    )
                    .group_by(credentials.c.issuer_id)
                ).all()
            )
            assert held["victoria-licensing"] > held["bc-mines-permitting"] > 0
            permit_id = (
                conn.execute(
                    select(credentials.c.id)
                    .where(credentials.c.issuer_id == "bc-mines-permitting")
                    .order_by(credentials.c.id)
                )
                .scalars()
                .first()
            )
            assert permit_id is not None
            bundle = bundle_for(conn, registry.ledger, permit_id)
            size = registry.ledger.size(conn)
        assert bundle["credential"]["onBehalfOf"] == issuer_did(url, "nrcan")
        report = verify_bundle(bundle, ledger_keys=registry.ledger.verifiers, now=datetime.now(UTC))
        assert report.valid, [c.to_dict() for c in report.failures]
        trusted = report.check("issuer_trusted")
        assert trusted is not None
        assert trusted.reason.startswith(
            f"{issuer_did(url, 'bc-mines-permitting')} on behalf of {issuer_did(url, 'nrcan')} "
            f"was authorised to issue {PERMIT} by ledger entry "
        )
    finally:
        registry.close()

    # A second run registers, defines, authorises and issues nothing: the ledger keeps its size.
    assert main(["demo", "--no-serve", "--orgs", "20", *storage]) == 0
    assert "(0 issued now)" in capsys.readouterr().err
    registry = open_registry(settings, passphrase=demo_passphrase(data_dir))
    try:
        with reading(registry.engine) as conn:
            assert registry.ledger.size(conn) == size
    finally:
        registry.close()
