"""``orgbook verify BUNDLE --ledger-key VKEY --tiles DIR``: consistency against a tile export."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import select

from orgbook.cli import main
from orgbook.issuer.sample import generate_feed
from orgbook.ledger.tiles import export_tiles
from orgbook.projections.tables import credentials
from orgbook.storage.engine import reading
from orgbook.verifier.bundles import bundle_for
from tests.factories import build_registry, issue
from tests.witness.helpers import TestLog


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, dict[str, object]]:
    code = main(["verify", *argv, "--json"])
    out = capsys.readouterr().out
    return code, json.loads(out) if out.strip() else {}


def consistency(report: dict[str, object]) -> dict[str, object]:
    checks = report["checks"]
    assert isinstance(checks, list)
    found: dict[str, object] = next(c for c in checks if c["name"] == "consistency")
    return found


def test_verify_against_tiles(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    registry = build_registry(tmp_path / "registry", 6)
    try:
        with reading(registry.engine) as conn:
            cid = conn.execute(
                select(credentials.c.id).where(credentials.c.state == "current")
            ).scalar()
            bundle = bundle_for(conn, registry.ledger, str(cid))
            old_size = registry.ledger.size(conn)
        vkey = registry.ledger.verifiers[0].vkey()
        path = tmp_path / "bundle.json"
        path.write_text(json.dumps(bundle))

        # Tiles at the bundle's own size: the checkpoint is the latest one.
        same = tmp_path / "tiles-same"
        with reading(registry.engine) as conn:
            export_tiles(conn, registry.ledger, same)
        code, report = run(capsys, str(path), "--ledger-key", vkey, "--tiles", str(same))
        assert code == 0, report
        assert consistency(report)["outcome"] == "pass"

        # The ledger grows; the tiles' newer checkpoint extends the bundle's.
        issue(registry, list(generate_feed(4, seed=99)))
        with registry.engine.begin() as conn:
            registry.ledger.sign_checkpoint(conn)
        newer = tmp_path / "tiles"
        with reading(registry.engine) as conn:
            export_tiles(conn, registry.ledger, newer)
            new_size = registry.ledger.size(conn)
        assert new_size > old_size
        code, report = run(capsys, str(path), "--ledger-key", vkey, "--tiles", str(newer))
        assert code == 0, report
        check = consistency(report)
        assert check["outcome"] == "pass"
        assert check["details"] == {"size": old_size, "newerSize": new_size}

        # A fork with the ledger's own key: its tiles are not an extension of the bundle's tree.
        assert registry.ledger.signer is not None
        fork = TestLog(tmp_path / "fork.sqlite3", registry.ledger.signer, tag="forged")
        try:
            fork.grow(new_size)
            forked = tmp_path / "tiles-fork"
            with reading(fork.engine) as conn:
                export_tiles(conn, fork.ledger, forked)
        finally:
            fork.close()
        code, report = run(capsys, str(path), "--ledger-key", vkey, "--tiles", str(forked))
        assert code == 1
        check = consistency(report)
        assert check["outcome"] == "fail"
        assert "history was rewritten" in str(check["reason"])

        # Tiles older than the bundle, or missing: no proof, a failed check.
        code, report = run(
            capsys, str(path), "--ledger-key", vkey, "--tiles", str(tmp_path / "nowhere")
        )
        assert code == 1
        assert consistency(report)["outcome"] == "fail"
    finally:
        registry.close()


def test_tiles_needs_a_ledger_key(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "bundle.json"
    path.write_text("{}")
    assert main(["verify", str(path), "--tiles", str(tmp_path)]) == 2
    assert "--tiles needs --ledger-key" in capsys.readouterr().err
