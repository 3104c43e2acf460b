"""``orgbook ingest FILE --authority ID``: an authority's feed of registered-type credentials,
under the issuer API's rules, line by line (both backends)."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from orgbook import cli
from orgbook.issuer.authorisations import grant
from orgbook.projections.tables import credentials
from orgbook.storage.engine import reading
from tests.authorisations.scenario import LICENCE, LICENSING, VENDOR, Scenario, build
from tests.factories import PASSPHRASE, PUBLIC_URL

Run = Callable[..., tuple[int, str, str]]


@pytest.fixture
def scenario(db_url: str, tmp_path: Path) -> Iterator[Scenario]:
    built = build(tmp_path, url=db_url)
    # the scenario withdrew bc-licensing's authorisation: authorise it again, open-ended
    with built.registry.engine.begin() as conn:
        grant(
            conn,
            built.registry.ledger,
            data_dir=Path(built.registry.settings.data_dir),
            passphrase=PASSPHRASE,
            issuer_did=LICENSING,
            credential_type=LICENCE,
            jurisdictions=["CA-BC"],
            valid_from=datetime(2026, 3, 2, tzinfo=UTC),
        )
    yield built
    built.registry.close()


@pytest.fixture
def orgbook(
    scenario: Scenario,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    db_url: str,
) -> Run:
    monkeypatch.setenv("ORGBOOK_KEY_PASSPHRASE", PASSPHRASE.decode())
    monkeypatch.setenv("ORGBOOK_PUBLIC_URL", PUBLIC_URL)
    monkeypatch.delenv("ORGBOOK_DATABASE_URL", raising=False)
    monkeypatch.delenv("ORGBOOK_DATA_DIR", raising=False)
    data_dir = str(scenario.registry.settings.data_dir)

    def run(*args: str) -> tuple[int, str, str]:
        code = cli.main([*args, "--data-dir", data_dir, "--db", db_url])
        out, err = capsys.readouterr()
        return code, out, err

    return run


def _feed(path: Path, lines: list[Any]) -> Path:
    path.write_text(
        "".join((line if isinstance(line, str) else json.dumps(line)) + "\n" for line in lines),
        encoding="utf-8",
    )
    return path


def _size(s: Scenario) -> int:
    with reading(s.registry.engine) as conn:
        return s.registry.ledger.size(conn)


def _issued_by_licensing(s: Scenario) -> int:
    with reading(s.registry.engine) as conn:
        return int(
            conn.execute(
                select(func.count())
                .select_from(credentials)
                .where(credentials.c.issuer_id == "bc-licensing")
            ).scalar_one()
        )


def test_ingest_issues_a_feed_under_the_issuer_api_rules(
    scenario: Scenario, orgbook: Run, tmp_path: Path
) -> None:
    org = scenario.bc_org
    claims = {"licenceNumber": "BL-77"}
    good = {"eventId": "feed-1", "type": LICENCE, "organisation": org, "claims": claims}
    feed = _feed(
        tmp_path / "licences.jsonl",
        [
            good,
            good,  # the same event id again: unchanged, nothing logged
            {**good, "eventId": "feed-2", "claims": {"licenceNumber": 7}},
            {**good, "eventId": "feed-3", "organisation": "CA-BC:NOPE0000"},
            {**good, "eventId": "feed-4", "type": VENDOR, "claims": {"vendorNumber": "V"}},
            {**good, "eventId": "feed-5", "claim": {}},
            "{not json",
            {**good, "eventId": "feed-6", "validFrom": "yesterday"},
            {**good, "eventId": "feed-7", "claims": {"licenceNumber": "BL-78"}},
        ],
    )
    before, issued_before = _size(scenario), _issued_by_licensing(scenario)
    code, out, err = orgbook("ingest", str(feed), "--authority", "bc-licensing")
    assert code == 1, err
    assert "Traceback" not in err
    summary = json.loads(out)
    assert summary["issued"] == 2
    assert summary["unchanged"] == 1
    assert summary["rejected"] == 6
    said = {line.split(":")[0]: line for line in err.splitlines() if line.startswith("line ")}
    assert "/claims/licenceNumber" in said["line 3 (event feed-2)"]
    assert "not in the register" in said["line 4 (event feed-3)"]
    assert "not authorised to issue VendorCredential" in said["line 5 (event feed-4)"]
    assert "unknown member 'claim'" in said["line 6 (event feed-5)"]
    assert "line 7" in said
    assert "[at validFrom]" in said["line 8 (event feed-6)"]
    rejects = [json.loads(x) for x in Path(summary["rejectFile"]).read_text().splitlines()]
    assert [r["line"] for r in rejects] == [3, 4, 5, 6, 7, 8]
    assert rejects[0]["problem"]["errors"][0]["path"] == "/claims/licenceNumber"
    assert rejects[2]["problem"]["status"] == 403
    # two credentials, each one credential.issued entry
    assert _issued_by_licensing(scenario) == issued_before + 2
    grown = _size(scenario) - before
    assert grown == 2  # two issued (other licence numbers: nothing superseded), no refusal

    # idempotent: the whole feed again logs nothing
    code, out, err = orgbook("ingest", str(feed), "--authority", LICENSING)
    assert code == 1
    again = json.loads(out)
    assert (again["issued"], again["unchanged"], again["rejected"]) == (0, 3, 6)
    assert _size(scenario) - before == grown


def test_ingest_with_a_type_and_unusable_input(
    scenario: Scenario, orgbook: Run, tmp_path: Path
) -> None:
    org = scenario.bc_org
    feed = _feed(
        tmp_path / "typed.jsonl",
        [
            {"eventId": "t-1", "organisation": org, "claims": {"licenceNumber": "BL-2"}},
            {"eventId": "t-2", "type": VENDOR, "organisation": org, "claims": {}},
        ],
    )
    before = _size(scenario)
    code, out, err = orgbook("ingest", str(feed), "--authority", "bc-licensing", "--type", LICENCE)
    assert code == 1, err
    assert json.loads(out)["issued"] == 1
    assert "line 2 (event t-2): the line names type 'VendorCredential'" in err
    assert _size(scenario) == before + 1
    # what would refuse every line stops the feed before anything is written: exit 2
    for args in (
        ("--authority", "no-such-authority"),
        ("--authority", "bc-licensing", "--type", "NothingCredential"),
        ("--authority", "bc-licensing", "--issuer", "bc-registries"),
        ("--type", LICENCE),
    ):
        code, out, err = orgbook("ingest", str(feed), *args)
        assert code == 2, (args, err)
        assert err.startswith("orgbook: ")
        assert "Traceback" not in err
    assert _size(scenario) == before + 1


def test_authority_issue_is_the_same_feed(scenario: Scenario, orgbook: Run, tmp_path: Path) -> None:
    feed = _feed(
        tmp_path / "one.jsonl",
        [{"eventId": "a-1", "type": LICENCE, "organisation": scenario.bc_org, "claims": {}}],
    )
    code, _, err = orgbook("authority", "issue", "bc-licensing", str(feed))
    assert code == 1  # as `orgbook ingest --authority` (it once said 2, "unusable input")
    assert "line 1 (event a-1): claims do not match" in err
