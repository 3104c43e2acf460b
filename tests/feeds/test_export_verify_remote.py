"""``orgbook export verify`` without a database: a rate-limited registry, static tiles (issue 14).

A registry answering 429 is waited for as ``Retry-After`` says, a bounded number of times; a
credential it never gives a proof for is *unchecked* (exit 2, "could not check N"), never
INVALID. ``--tiles URL_OR_DIR`` takes the proofs from ``orgbook ledger tiles export``. None of it
creates ``./orgbook-data``.
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
import socket
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
import uvicorn
from fastapi.testclient import TestClient

from orgbook.app import create_app
from orgbook.cli import main
from orgbook.feeds.export import write_export
from orgbook.feeds.export_verify import OnlineProofs, verify_export
from orgbook.feeds.remote import RegistryProofs, retry_after_seconds
from orgbook.runtime.registry import Registry
from tests.factories import build_registry, issue


@pytest.fixture(scope="module")
def registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Registry]:
    reg = build_registry(tmp_path_factory.mktemp("remote"), 3)
    yield reg
    reg.close()


@pytest.fixture
def export_file(registry: Registry, tmp_path: Path) -> Path:
    path = tmp_path / "register.jsonl"
    with path.open("wb") as handle:
        write_export(registry.engine, "jsonl", handle)
    return path


@pytest.fixture
def elsewhere(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty working directory, with no ORGBOOK_* settings: where ./orgbook-data would go."""
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    monkeypatch.chdir(cwd)
    for name in [k for k in os.environ if k.startswith("ORGBOOK_")]:
        monkeypatch.delenv(name)
    return cwd


def _vkey(registry: Registry) -> str:
    return registry.ledger.verifiers[0].vkey()


def _credentials(export_file: Path) -> int:
    lines = [json.loads(line) for line in export_file.read_bytes().splitlines()]
    return int(lines[-1]["credentials"])


# --- the Retry-After behaviour, through httpx's transport seam --------------------------------


def _app_transport(client: TestClient, refusals: list[httpx.Response]) -> httpx.MockTransport:
    """The real application behind a transport that first answers each refusal in turn."""

    def handle(request: httpx.Request) -> httpx.Response:
        if refusals:
            return refusals.pop(0)
        answer = client.get(request.url.path, params=request.url.params)
        return httpx.Response(answer.status_code, headers=answer.headers, content=answer.content)

    return httpx.MockTransport(handle)


def _too_many(retry_after: str | None) -> httpx.Response:
    headers = {"Retry-After": retry_after} if retry_after is not None else {}
    return httpx.Response(429, headers=headers, json={"status": 429})


def test_a_429_is_waited_for_as_retry_after_says(registry: Registry, export_file: Path) -> None:
    settings = dataclasses.replace(registry.settings, rate_limit_per_minute=0)
    waits: list[float] = []
    with TestClient(create_app(settings, registry=registry)) as app_client:
        refusals = [_too_many("3"), _too_many("7"), _too_many(None)]
        transport = _app_transport(app_client, refusals)
        with httpx.Client(transport=transport, base_url="http://registry.test") as client:
            fetch = RegistryProofs("http://registry.test", client, sleep=waits.append)
            with export_file.open("rb") as handle:
                report = verify_export(handle, [registry.ledger.verifiers[0]], OnlineProofs(fetch))
    assert waits == [3.0, 7.0, 4.0]  # Retry-After, then 1, 2, 4… without one (third attempt)
    assert report.valid, (report.problems, report.unchecked_reasons)
    assert report.proven == report.credentials == _credentials(export_file)
    assert fetch.retries == 3


def test_a_registry_that_keeps_refusing_leaves_credentials_unchecked_not_invalid(
    registry: Registry, export_file: Path
) -> None:
    requests: list[str] = []
    waits: list[float] = []

    def refuse(request: httpx.Request) -> httpx.Response:
        requests.append(str(request.url))
        return _too_many("30")

    with httpx.Client(transport=httpx.MockTransport(refuse)) as client:
        fetch = RegistryProofs("http://registry.test", client, max_wait=65, sleep=waits.append)
        with export_file.open("rb") as handle:
            report = verify_export(handle, [registry.ledger.verifiers[0]], OnlineProofs(fetch))
    assert waits == [30.0, 30.0]  # a third wait would pass the 65 s budget
    assert len(requests) == 3  # then it stops asking: the rest are unchecked at once
    assert not report.invalid
    assert not report.valid
    assert report.problems == []
    assert report.proven == 0
    assert report.unchecked == report.credentials == _credentials(export_file)
    assert "429" in report.unchecked_reasons[0]


def test_a_registry_that_fails_leaves_that_credential_unchecked(
    registry: Registry, export_file: Path
) -> None:
    calls = {"n": 0}
    settings = dataclasses.replace(registry.settings, rate_limit_per_minute=0)
    with TestClient(create_app(settings, registry=registry)) as app_client:
        real = _app_transport(app_client, [])

        def flaky(request: httpx.Request) -> httpx.Response:
            calls["n"] += 1
            if calls["n"] == 2:
                return httpx.Response(503, text="down for a moment")
            return real.handle_request(request)

        with httpx.Client(transport=httpx.MockTransport(flaky)) as client:
            fetch = RegistryProofs("http://registry.test", client, sleep=lambda s: None)
            with export_file.open("rb") as handle:
                report = verify_export(handle, [registry.ledger.verifiers[0]], OnlineProofs(fetch))
    assert report.problems == []
    assert report.unchecked == 1
    assert report.proven == report.credentials - 1


def test_retry_after_is_seconds_or_an_http_date() -> None:
    now = datetime(2026, 12, 4, 12, 0, 0, tzinfo=UTC)
    assert retry_after_seconds("12", now=now) == 12.0
    assert retry_after_seconds("Fri, 04 Dec 2026 12:00:30 GMT", now=now) == 30.0
    assert retry_after_seconds("Fri, 04 Dec 2026 11:00:00 GMT", now=now) == 0.0
    assert retry_after_seconds("soon", now=now) is None
    assert retry_after_seconds(None, now=now) is None


# --- the CLI against a real, rate-limited server ------------------------------------------------


@pytest.fixture
def limited_server(registry: Registry) -> Iterator[str]:
    """The application on uvicorn, 127.0.0.1, with a public read limit of 120 per minute."""
    settings = dataclasses.replace(registry.settings, rate_limit_per_minute=120)
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    config = uvicorn.Config(
        create_app(settings, registry=registry),
        host="127.0.0.1",
        port=port,
        log_level="warning",
        access_log=False,
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.02)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)


def _drain(url: str) -> None:
    """Spend this client's whole burst, so the next read is answered 429."""
    with httpx.Client() as client:
        for _ in range(200):
            if client.get(f"{url}/api/v1/ledger/checkpoint").status_code == 429:
                return
    raise AssertionError("the rate limit never answered 429")


@pytest.mark.integration
def test_cli_backs_off_and_verifies_against_a_rate_limited_server(
    registry: Registry,
    export_file: Path,
    limited_server: str,
    elsewhere: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    _drain(limited_server)
    args = ["export", "verify", str(export_file), "--ledger-key", _vkey(registry)]
    code = main([*args, "--online", limited_server])
    out, err = capsys.readouterr()
    assert code == 0, out + err
    assert out.startswith("export VALID")
    assert not (elsewhere / "orgbook-data").exists()


@pytest.mark.integration
def test_cli_says_could_not_check_when_the_limit_outlasts_its_patience(
    registry: Registry,
    export_file: Path,
    limited_server: str,
    elsewhere: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    _drain(limited_server)
    args = ["export", "verify", str(export_file), "--ledger-key", _vkey(registry)]
    code = main([*args, "--online", limited_server, "--max-wait", "0"])
    out, err = capsys.readouterr()
    assert code == 2, out + err
    assert "INVALID" not in out
    assert out.startswith("export NOT VERIFIED")
    # The bucket refills 2 tokens a second: a proof or two may still get through after draining.
    found = re.search(r"could not check (\d+) credentials", err)
    assert found is not None, err
    assert 0 < int(found.group(1)) <= _credentials(export_file)
    assert "429" in err
    code = main([*args, "--online", limited_server, "--max-wait", "0", "--json"])
    body = json.loads(capsys.readouterr().out)
    assert code == 2
    assert body["valid"] is False
    assert body["problems"] == []
    assert body["unchecked"] > 0
    assert body["unchecked"] + body["proven"] == _credentials(export_file)
    assert not (elsewhere / "orgbook-data").exists()


# --- --tiles, and no database at all ------------------------------------------------------------


def _tiles(registry: Registry, out: Path) -> Path:
    storage = [
        "--db",
        registry.settings.database_url,
        "--data-dir",
        str(registry.settings.data_dir),
    ]
    assert main(["ledger", "tiles", "export", "--out", str(out), *storage]) == 0
    return out


def test_cli_takes_proofs_from_a_tile_export(
    tmp_path: Path, elsewhere: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    registry = build_registry(tmp_path / "reg", 3)
    export_file = tmp_path / "register.jsonl"
    with export_file.open("wb") as handle:
        write_export(registry.engine, "jsonl", handle)
    older_tiles = _tiles(registry, tmp_path / "tiles-then")
    record = {
        "event_id": "after-the-export",
        "kind": "registration",
        "jurisdiction": "CA-BC",
        "registration_number": "BC7770002",
        "effective_date": "2021-01-01",
        "name": "Later Ltd.",
    }
    issue(registry, [record])  # the ledger grows past the export's checkpoint
    newer_tiles = _tiles(registry, tmp_path / "tiles-now")
    capsys.readouterr()
    args = ["export", "verify", str(export_file), "--ledger-key", _vkey(registry)]
    for tiles in (older_tiles, newer_tiles):  # same size, then newer: a consistency proof
        assert main([*args, "--tiles", str(tiles)]) == 0
        assert capsys.readouterr().out.startswith("export VALID")

    # An export newer than the tiles cannot be checked from them: exit 2, not INVALID.
    newer_export = tmp_path / "newer.jsonl"
    with newer_export.open("wb") as handle:
        write_export(registry.engine, "jsonl", handle)
    code = main(["export", "verify", str(newer_export), "--ledger-key", _vkey(registry),
                 "--tiles", str(older_tiles)])  # fmt: skip
    out, err = capsys.readouterr()
    assert code == 2
    assert "INVALID" not in out
    assert "could not check" in err
    assert "older than the export's" in err

    # A tampered leaf hash is still INVALID through the tiles.
    lines = export_file.read_bytes().splitlines(keepends=True)
    line = json.loads(lines[1])
    line["credentials"][0]["leafHash"] = "00" * 32
    forged = tmp_path / "forged.jsonl"
    forged.write_bytes(b"".join([lines[0], json.dumps(line).encode() + b"\n", *lines[2:]]))
    assert main(["export", "verify", str(forged), "--ledger-key", _vkey(registry),
                 "--tiles", str(newer_tiles)]) == 1  # fmt: skip
    assert "INVALID" in capsys.readouterr().out
    assert not (elsewhere / "orgbook-data").exists()
    registry.close()


def test_without_a_database_it_says_so_and_creates_none(
    registry: Registry, export_file: Path, elsewhere: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["export", "verify", str(export_file), "--ledger-key", _vkey(registry)])
    err = capsys.readouterr().err
    assert code == 2
    assert "no local ledger" in err
    assert "--online URL" in err
    assert "--tiles URL_OR_DIR" in err
    assert not (elsewhere / "orgbook-data").exists()


def test_online_and_tiles_are_alternatives(registry: Registry, export_file: Path) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["export", "verify", str(export_file), "--ledger-key", _vkey(registry),
              "--online", "http://127.0.0.1:9", "--tiles", "tiles"])  # fmt: skip
    assert exit_info.value.code == 2
