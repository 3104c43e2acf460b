"""The bulk export: matches the organisation profiles, verifies against its checkpoint (local
database and online proofs), refuses tampered or truncated files, stays at its checkpoint when
the ledger grows, streams over HTTP; the CLI; and search's bounds (bulk users go to the export)."""

from __future__ import annotations

import dataclasses
import io
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from orgbook.app import create_app
from orgbook.cli import main
from orgbook.core.errors import VerificationError
from orgbook.feeds.export import write_export
from orgbook.feeds.export_verify import LocalLeaves, OnlineProofs, verify_export
from orgbook.issuer.service import Issuance
from orgbook.ledger.note import NoteSigner, NoteVerifier
from orgbook.projections.tables import organisations
from orgbook.runtime.registry import Registry
from orgbook.storage.engine import reading
from orgbook.verifier.profiles import organisation_profile
from tests.factories import build_registry, issue


def export_bytes(registry: Registry, fmt: Any = "jsonl") -> bytes:
    out = io.BytesIO()
    write_export(registry.engine, fmt, out)
    return out.getvalue()


def key_of(registry: Registry) -> NoteVerifier:
    return registry.ledger.verifiers[0]


def check(registry: Registry, data: bytes) -> Any:
    return verify_export(io.BytesIO(data), [key_of(registry)], LocalLeaves(registry.engine))


@pytest.fixture
def registry(tmp_path: Path, db_url: str) -> Iterator[Registry]:
    reg = build_registry(tmp_path, 15, url=None if db_url.startswith("sqlite") else db_url)
    yield reg
    reg.close()


def test_export_matches_profiles_and_verifies(registry: Registry) -> None:
    data = export_bytes(registry)
    lines = [json.loads(line) for line in data.splitlines()]
    head, body, end = lines[0], lines[1:-1], lines[-1]
    assert head["type"] == "orgbook.export"
    with reading(registry.engine) as conn:
        size = registry.ledger.size(conn)
        assert head["treeSize"] == size  # issuance checkpoints every batch
        assert head["checkpoint"] == registry.ledger.latest_checkpoint(conn)
        assert [o["organisation"]["id"] for o in body] == sorted(
            conn.execute(select(organisations.c.id)).scalars()
        )
        for line in body:
            org = line["organisation"]
            profile = organisation_profile(conn, org["id"])
            current = {c.id for c in profile.credentials if c.state == "current"}
            assert {c["id"] for c in line["credentials"]} == current
            assert (org["name"], org["status"]) == (profile.name, profile.status)
            assert org["registrationNumber"] == profile.registration_number
            for cred in line["credentials"]:
                summary = next(c for c in profile.credentials if c.id == cred["id"])
                assert (cred["type"], cred["ledgerIndex"]) == (summary.type, summary.ledger_index)
                assert cred["suspended"] == summary.suspended
                assert cred["entry"]["payload"]["credential"]["id"] == cred["id"]
    assert end == {
        "type": "orgbook.export.end",
        "organisations": len(body),
        "credentials": sum(len(line["credentials"]) for line in body),
    }
    report = check(registry, data)
    assert report.valid, report.problems
    assert report.proven == report.credentials == end["credentials"]

    csv_data = export_bytes(registry, "csv")
    csv_report = check(registry, csv_data)
    assert csv_report.valid, csv_report.problems
    assert (csv_report.organisations, csv_report.credentials) == (len(body), report.credentials)


def test_tampered_truncated_or_foreign_exports_fail(registry: Registry) -> None:
    data = export_bytes(registry)
    lines = data.splitlines(keepends=True)
    line = json.loads(lines[1])
    cred = line["credentials"][0]
    subject = cred["entry"]["payload"]["credential"]["credentialSubject"]
    subject["tampered"] = True
    forged = b"".join([lines[0], json.dumps(line).encode() + b"\n", *lines[2:]])
    assert not check(registry, forged).valid
    line = json.loads(lines[1])
    line["credentials"][0]["leafHash"] = "00" * 32
    assert not check(
        registry, b"".join([lines[0], json.dumps(line).encode() + b"\n", *lines[2:]])
    ).valid
    line = json.loads(lines[1])
    line["credentials"][0]["id"] = "urn:uuid:00000000-0000-0000-0000-000000000000"
    assert not check(
        registry, b"".join([lines[0], json.dumps(line).encode() + b"\n", *lines[2:]])
    ).valid
    truncated = check(registry, b"".join(lines[:-3]))
    assert not truncated.valid
    assert any("truncated" in p for p in truncated.problems)
    dropped = check(registry, b"".join([*lines[:2], *lines[3:]]))
    assert not dropped.valid  # a whole organisation removed: the end marker's counts differ
    stranger = NoteSigner.generate(key_of(registry).name).verifier()
    with pytest.raises(VerificationError):
        verify_export(io.BytesIO(data), [stranger], LocalLeaves(registry.engine))
    csv_lines = export_bytes(registry, "csv").splitlines(keepends=True)
    row = next(i for i, text in enumerate(csv_lines) if text.startswith(b"CA"))
    bad_row = csv_lines[row].replace(b"|", b"|9", 1)  # another ledger index
    assert not check(registry, b"".join([*csv_lines[:row], bad_row, *csv_lines[row + 1 :]])).valid


def test_export_stays_at_its_checkpoint_when_the_ledger_grows(registry: Registry) -> None:
    before = export_bytes(registry)
    with reading(registry.engine) as conn:
        org = conn.execute(
            select(organisations).where(organisations.c.jurisdiction == "CA-BC").limit(1)
        ).one()
        size = registry.ledger.size(conn)
    issuance: Any = Issuance(registry)
    record = {
        "event_id": "late-rename",
        "kind": "name_change",
        "jurisdiction": "CA-BC",
        "registration_number": org.registration_number,
        "effective_date": "2031-01-01",
        "name": "Not Yet Checkpointed Ltd.",
    }
    issuance.submit("bc-registries", [record], checkpoint=False)
    with reading(registry.engine) as conn:
        assert registry.ledger.size(conn) > size
        assert registry.ledger.latest_checkpoint(conn) is not None
    after = export_bytes(registry)
    strip = [json.loads(line) for line in before.splitlines()[1:]]
    again = [json.loads(line) for line in after.splitlines()[1:]]
    assert again == strip  # the register as of the same checkpoint, byte for byte after the head
    assert check(registry, after).valid
    with registry.engine.begin() as conn:
        registry.ledger.sign_checkpoint(conn)
    moved = {
        json.loads(line)["organisation"]["id"]: json.loads(line)
        for line in export_bytes(registry).splitlines()[1:-1]
    }
    assert moved[org.id]["organisation"]["name"] == "Not Yet Checkpointed Ltd."


def test_export_over_http_and_online_proofs(tmp_path: Path) -> None:
    registry = build_registry(tmp_path, 6)
    settings = dataclasses.replace(registry.settings, rate_limit_per_minute=0)
    with TestClient(create_app(settings, registry=registry)) as client:
        response = client.get("/api/v1/export")
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("application/jsonl")
        assert "attachment" in response.headers["content-disposition"]
        local = export_bytes(registry)
        assert response.content.splitlines()[1:] == local.splitlines()[1:]

        def fetch(index: int, size: int) -> list[bytes]:
            body = client.get(
                "/api/v1/ledger/proof/inclusion", params={"index": index, "tree_size": size}
            ).json()
            return [bytes.fromhex(h) for h in body["proof"]]

        report = verify_export(
            io.BytesIO(response.content), [key_of(registry)], OnlineProofs(fetch)
        )
        assert report.valid, report.problems
        assert report.proven == report.credentials > 0
        csv_response = client.get("/api/v1/export", params={"format": "csv"})
        assert csv_response.headers["content-type"].startswith("text/csv")
        assert check(registry, csv_response.content).valid
        assert client.get("/api/v1/export", params={"format": "xml"}).status_code == 422
        for _ in range(3):  # each export gives its slot back (two at a time per process)
            assert client.get("/api/v1/export", params={"format": "csv"}).status_code == 200
    registry.close()


def test_cli_export_and_verify(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    registry = build_registry(tmp_path, 5)
    db = registry.settings.database_url
    data_dir = str(registry.settings.data_dir)
    vkey = key_of(registry).vkey()
    out = tmp_path / "register.jsonl"
    storage = ["--db", db, "--data-dir", data_dir]
    assert main(["export", *storage, "--out", str(out)]) == 0
    assert main(["export", "verify", str(out), "--ledger-key", vkey, *storage]) == 0
    assert "export VALID" in capsys.readouterr().out
    assert main(["export", *storage, "--format", "csv", "--out", str(tmp_path / "r.csv")]) == 0
    assert main(["export", "verify", str(tmp_path / "r.csv"), "--ledger-key", vkey, *storage]) == 0
    lines = out.read_bytes().splitlines(keepends=True)
    (tmp_path / "cut.jsonl").write_bytes(b"".join(lines[:-1]))
    assert (
        main(["export", "verify", str(tmp_path / "cut.jsonl"), "--ledger-key", vkey, *storage]) == 1
    )
    assert "truncated" in capsys.readouterr().out
    assert main(["export", "verify", str(tmp_path / "none"), "--ledger-key", vkey]) == 2
    assert main(["export", "verify", str(out), "--ledger-key", "junk", *storage]) == 2
    registry.close()


# --- search is not a bulk channel ---------------------------------------------------------------


def test_search_is_bounded_and_cursor_paginated(tmp_path: Path) -> None:
    registry = build_registry(tmp_path, 30)
    settings = dataclasses.replace(registry.settings, rate_limit_per_minute=0)
    with TestClient(create_app(settings, registry=registry)) as client:
        assert client.get("/api/v1/organisations", params={"limit": 101}).status_code == 422
        assert client.get("/api/v1/organisations", params={"q": "x" * 201}).status_code == 422
        first = client.get("/api/v1/organisations", params={"limit": 5}).json()
        # no offset or page parameter: they are ignored, only the opaque cursor moves on
        assert (
            client.get("/api/v1/organisations", params={"limit": 5, "offset": 20}).json() == first
        )
        assert client.get("/api/v1/organisations", params={"limit": 5, "page": 4}).json() == first
        seen: list[str] = []
        cursor = None
        for _ in range(20):
            params: dict[str, Any] = {"limit": 5}
            if cursor:
                params["cursor"] = cursor
            body = client.get("/api/v1/organisations", params=params).json()
            seen += [hit["orgId"] for hit in body["hits"]]
            cursor = body["nextCursor"]
            if cursor is None:
                break
        assert len(seen) == len(set(seen))
        with reading(registry.engine) as conn:
            total = conn.execute(select(func.count()).select_from(organisations)).scalar_one()
        assert len(seen) == total
        assert client.get("/api/v1/organisations", params={"cursor": "AAAA"}).status_code == 400
    registry.close()


def test_issue_helper_is_the_real_path(tmp_path: Path) -> None:
    """The export sees what ingestion wrote, including a revoked credential."""
    registry = build_registry(tmp_path, 3)
    outcomes = issue(
        registry,
        [
            {
                "event_id": "revoke-me",
                "kind": "registration",
                "jurisdiction": "CA-BC",
                "registration_number": "BC7770001",
                "effective_date": "2020-01-01",
                "name": "Short Lived Ltd.",
            }
        ],
    )
    issuance: Any = Issuance(registry)
    revoked = outcomes[0].credentials[0]
    issuance.change_status("bc-registries", revoked, "revoke", reason="error")
    lines = [json.loads(line) for line in export_bytes(registry).splitlines()[1:-1]]
    org = next(line for line in lines if line["organisation"]["id"] == "CA-BC:BC7770001")
    assert revoked not in {c["id"] for c in org["credentials"]}
    assert check(registry, export_bytes(registry)).valid
    registry.close()
