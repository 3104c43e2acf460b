"""The main job, run from the installed wheel as a user would, on the embedded default (SQLite).

``pip install .`` once gave a package that rejected every record of every feed (its record
schemas were looked for outside the package) while ``orgbook ingest`` still exited 0. These
tests run nothing from the source tree: each step is the installed ``orgbook`` command, in a
working directory outside the checkout (see tests/installed.py) — create an issuer, ingest a
feed, serve, search, download a bundle, verify it offline, audit the ledger; and the README's
demo.
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
import subprocess
from pathlib import Path

import httpx
import pytest

from orgbook.demo import issuer_did
from tests.deploy.conftest import free_port, wait_ready
from tests.factories import PASSPHRASE
from tests.installed import clean_env, installed_python, orgbook_argv

pytestmark = pytest.mark.integration

ORGS = 25


def run(argv: list[str], env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        argv, capture_output=True, text=True, env=env, cwd=cwd, timeout=300, check=False
    )


def test_the_installed_package_is_the_wheel_not_the_checkout(tmp_path: Path) -> None:
    done = run(
        [installed_python(), "-c", "import orgbook, sys; print(orgbook.__file__)"],
        clean_env(),
        tmp_path,
    )
    assert done.returncode == 0, done.stderr
    where = Path(done.stdout.strip()).resolve()
    assert "site-packages" in where.parts
    assert not where.is_relative_to(Path(__file__).resolve().parents[2] / "orgbook")


def test_create_ingest_serve_search_bundle_verify_audit(tmp_path: Path) -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = clean_env(
        ORGBOOK_DATA_DIR=str(tmp_path / "data"),
        ORGBOOK_KEY_PASSPHRASE=PASSPHRASE.decode(),
        ORGBOOK_PUBLIC_URL=url,
        ORGBOOK_RATE_LIMIT_PER_MINUTE="0",
        ORGBOOK_VERIFY_RATE_LIMIT_PER_MINUTE="0",
    )
    created = run(
        orgbook_argv(
            "issuer", "create", "bc-registries", "--name", "BC Registries",
            "--did", issuer_did(url, "bc-registries"), "--jurisdiction", "CA-BC",
        ),
        env,
        tmp_path,
    )  # fmt: skip
    assert created.returncode == 0, created.stderr

    feed = tmp_path / "feed.jsonl"
    wrote = run(
        [installed_python(), "-c",
         "import sys; from orgbook.issuer.sample import write_feed; "
         "write_feed(sys.argv[1], int(sys.argv[2]), jurisdictions=('CA-BC',))",
         str(feed), str(ORGS)],
        env,
        tmp_path,
    )  # fmt: skip
    assert wrote.returncode == 0, wrote.stderr
    records = [json.loads(line) for line in feed.read_text(encoding="utf-8").splitlines()]

    ingested = run(orgbook_argv("ingest", str(feed), "--no-progress"), env, tmp_path)
    assert ingested.returncode == 0, ingested.stdout + ingested.stderr
    assert "rejected" not in ingested.stderr.lower() or " 0 rejected" in ingested.stderr

    with (tmp_path / "serve.log").open("wb") as log:
        server = subprocess.Popen(
            orgbook_argv("serve", "--host", "127.0.0.1", "--port", str(port)),
            env=env,
            cwd=tmp_path,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        wait_ready(url, server)
        with httpx.Client(base_url=url, timeout=30) as client:
            registration = next(r for r in records if r["kind"] == "registration")
            found = client.get("/api/v1/organisations", params={"q": registration["name"]})
            assert found.status_code == 200, found.text
            ids = [hit["orgId"] for hit in found.json()["hits"]]
            org_id = f"CA-BC:{registration['registration_number']}"
            assert org_id in ids

            profile = client.get(f"/api/v1/organisations/{org_id}")
            assert profile.status_code == 200, profile.text
            credential_id = profile.json()["credentials"][0]["id"]
            bundle = client.get(f"/api/v1/credentials/{credential_id}/bundle")
            assert bundle.status_code == 200, bundle.text
            (tmp_path / "bundle.json").write_bytes(bundle.content)
            vkey = client.get("/api/v1/ledger/key").text.strip()
    finally:
        server.terminate()
        server.wait(timeout=30)

    # Offline: nothing but the bundle and the ledger's key, no database, no server.
    offline = clean_env()
    verified = run(orgbook_argv("verify", "bundle.json", "--ledger-key", vkey), offline, tmp_path)
    assert verified.returncode == 0, verified.stdout + verified.stderr
    assert "VALID" in verified.stdout

    audited = run(orgbook_argv("ledger", "audit"), env, tmp_path)
    assert audited.returncode == 0, audited.stdout + audited.stderr


def test_the_readme_demo_builds_from_the_installed_package(tmp_path: Path) -> None:
    env = clean_env()
    done = run(
        orgbook_argv("demo", "--orgs", "20", "--no-serve", "--data-dir", str(tmp_path / "d")),
        env,
        tmp_path,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert not (tmp_path / "orgbook-data").exists()
    with contextlib.closing(sqlite3.connect(tmp_path / "d" / "orgbook.sqlite3")) as db:
        (count,) = db.execute("SELECT count(*) FROM organisations").fetchone()
    assert count == 20
