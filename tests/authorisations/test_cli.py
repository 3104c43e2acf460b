"""``orgbook authority …`` as an operator runs it: register, authorise, list, withdraw, rotate
the governance key; refusals exit 2 with the reason; the ledger audits sound afterwards."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from orgbook import cli

PASSPHRASE = "a long enough passphrase for the CLI tests"
LICENSING = "did:web:registry.example:issuers:bc-licensing"
FEDERAL = "did:web:registry.example:issuers:federal-dept"

Run = Callable[..., tuple[int, str, str]]


@pytest.fixture
def orgbook(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    db_url: str,
) -> Run:
    """``orgbook ARGS… --data-dir DIR --db URL`` in this process: (exit code, stdout, stderr)."""
    monkeypatch.setenv("ORGBOOK_KEY_PASSPHRASE", PASSPHRASE)
    monkeypatch.delenv("ORGBOOK_DATABASE_URL", raising=False)
    monkeypatch.delenv("ORGBOOK_DATA_DIR", raising=False)

    def run(*args: str) -> tuple[int, str, str]:
        code = cli.main([*args, "--data-dir", str(tmp_path / "data"), "--db", db_url])
        out, err = capsys.readouterr()
        return code, out, err

    return run


def test_an_authority_joins_is_authorised_and_withdrawn(orgbook: Run) -> None:
    for slug, did in (("bc-licensing", LICENSING), ("federal-dept", FEDERAL)):
        code, out, err = orgbook(
            "authority", "register", slug, "--name", slug.title(), "--did", did,
            "--jurisdiction", "CA-BC",
        )  # fmt: skip
        assert code == 0, err
        assert json.loads(out)["credentialTypes"] == []

    code, out, err = orgbook(
        "authority", "authorise", "bc-licensing", "--type", "PermitCredential",
        "--jurisdiction", "CA-BC", "--jurisdiction", "CA-AB", "--from", "2026-01-01",
        "--until", "2027-01-01T00:00:00Z", "--on-behalf-of", "federal-dept",
    )  # fmt: skip
    assert code == 0, err
    granted = json.loads(out)
    auth = granted["authorisation"]
    assert auth["issuer"] == LICENSING
    assert auth["onBehalfOf"] == FEDERAL
    assert auth["jurisdictions"] == ["CA-BC", "CA-AB"]
    assert auth["validFrom"] == "2026-01-01T00:00:00Z"
    assert auth["proof"]["verificationMethod"].startswith("did:key:z6Mk")

    code, out, _ = orgbook("authority", "list", "--authority", "bc-licensing")
    assert code == 0
    assert [r["authorisation"]["id"] for r in json.loads(out)] == [auth["id"]]

    code, out, err = orgbook("authority", "withdraw", auth["id"], "--reason", "moved")
    assert code == 0, err
    withdrawn_at = json.loads(out)["withdrawnAt"]
    assert withdrawn_at > granted["ledgerIndex"]

    code, _, err = orgbook("authority", "withdraw", auth["id"])
    assert code == 2
    assert f"already withdrawn at ledger entry {withdrawn_at}" in err

    code, out, err = orgbook("authority", "rotate-governance-key")
    assert code == 0, err
    new_key = json.loads(out)["governanceKey"]
    assert new_key != auth["proof"]["verificationMethod"]
    code, out, err = orgbook(
        "authority", "authorise", LICENSING, "--type", "PermitCredential",
        "--jurisdiction", "CA-BC",
    )  # fmt: skip
    assert code == 0, err
    assert json.loads(out)["authorisation"]["proof"]["verificationMethod"] == new_key

    code, out, err = orgbook("ledger", "audit")
    assert code == 0, out + err
    assert "projections sound" in out


def test_refusals_exit_2_with_the_reason(orgbook: Run) -> None:
    code, _, err = orgbook(
        "authority", "authorise", "nobody", "--type", "PermitCredential", "--jurisdiction", "CA-BC"
    )
    assert code == 2
    assert "no authority 'nobody'" in err
    code, _, err = orgbook(
        "authority", "authorise", LICENSING, "--type", "PermitCredential", "--jurisdiction", "BC"
    )
    assert code == 2
    assert "is not a registered authority" in err
    code, _, err = orgbook(
        "authority", "authorise", LICENSING, "--type", "X", "--jurisdiction", "CA-BC",
        "--from", "yesterday",
    )  # fmt: skip
    assert code == 2
    assert "--from must be an RFC 3339 date-time or a date" in err
    code, _, err = orgbook("authority", "withdraw", "urn:uuid:nope")
    assert code == 2
    assert "no authorisation 'urn:uuid:nope'" in err
