"""OpenID4VCI end to end with an independent wallet (issue 19 item 4), both backends.

orgbook runs on a real uvicorn server; the wallet is the TypeScript ``@openid4vc/openid4vci``
client from npm (tests/issuer/oid4vci_wallet/, its versions pinned by package-lock.json and
installed with ``npm ci`` when node_modules is missing), run by Node: it resolves the offer,
fetches the issuer metadata, redeems the pre-authorised code (and a PIN), takes a nonce, signs
the proof with a key of its own and receives the credential. orgbook's verifiers then accept
the credential (``POST /api/v1/verify``, ``orgbook verify`` on its bundle) and a presentation
signed with the wallet's key (``orgbook verify`` offline: the wallet's did:key is the holder of
the organisation's current Digital Identity Anchor). Skipped, saying why, only without Node/npm.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from orgbook.app import create_app
from orgbook.cli import main
from orgbook.core.anchor import ANCHOR_TYPE
from orgbook.core.crypto import Ed25519Signer
from orgbook.core.did import did_key_from_public_key
from orgbook.runtime.registry import Registry
from orgbook.storage.engine import reading
from orgbook.verifier.bundles import bundle_for
from tests.issuer.test_binding import ORG, ledger_size, open_binding_registry
from tests.verifier.test_presentation import DOMAIN, NONCE, bundles, present
from tests.web.conftest import _free_port

WALLET = Path(__file__).parent / "oid4vci_wallet"
pytestmark = [pytest.mark.integration, pytest.mark.xdist_group("oid4vci_wallet")]


def _node() -> tuple[str, str]:
    """(node, npm), with the wallet's packages installed (``npm ci``, from the lock file)."""
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None or npm is None:
        pytest.skip(
            "Node.js and npm are not installed: the independent OpenID4VCI wallet needs them"
        )
    if not (WALLET / "node_modules" / "@openid4vc" / "openid4vci").is_dir():
        done = subprocess.run(
            [npm, "ci", "--no-audit", "--no-fund", "--loglevel=error"],
            cwd=WALLET,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        assert done.returncode == 0, f"npm ci failed in {WALLET}:\n{done.stderr}"
    return node, npm


class Served:
    def __init__(self, url: str, registry: Registry, key: str) -> None:
        self.url = url
        self.registry = registry
        self.key = key


@pytest.fixture
def served(tmp_path: Path, db_url: str) -> Iterator[Served]:
    """The registry of tests.issuer.test_binding on uvicorn, its public URL the server's own."""
    import uvicorn

    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    registry, key = open_binding_registry(tmp_path, db_url, public_url=url)
    app = create_app(registry.settings, registry=registry)
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="uvicorn-oid4vci", daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.02)
    yield Served(url, registry, key)
    server.should_exit = True
    thread.join(timeout=10)
    registry.close()


def wallet(link: str, pin: str | None = None) -> dict[str, Any]:
    node, _ = _node()
    done = subprocess.run(
        [node, str(WALLET / "wallet.mjs"), link, *([pin] if pin else [])],
        cwd=WALLET,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={**os.environ, "NODE_NO_WARNINGS": "1"},
    )
    assert done.returncode == 0, f"the wallet failed:\n{done.stderr}"
    answer: dict[str, Any] = json.loads(done.stdout)
    return answer


def test_an_independent_wallet_receives_the_credential(
    served: Served, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _node()
    headers = {"Authorization": f"Bearer {served.key}"}
    made = httpx.post(
        served.url + "/api/v1/issuer/oid4vci/offers",
        json={"organisation": ORG, "txCode": True},
        headers=headers,
    )
    assert made.status_code == 201, made.text
    offer = made.json()
    before = ledger_size(served.registry)

    got = wallet(offer["link"], offer["txCode"])

    assert got["offer"]["credential_configuration_ids"] == [ANCHOR_TYPE]
    assert got["metadata"]["credential_issuer"] == served.url
    [item] = got["credentials"]
    credential = item["credential"]
    signer = Ed25519Signer.from_seed(bytes.fromhex(got["seed"]))
    assert got["did"] == did_key_from_public_key(signer.public_key)
    assert credential["type"] == ["VerifiableCredential", ANCHOR_TYPE]
    assert credential["credentialSubject"]["id"] == got["did"]
    assert credential["proof"]["cryptosuite"] == "eddsa-jcs-2022"
    assert ledger_size(served.registry) > before  # logged like every issuance

    # orgbook's verifiers: the public API, and `orgbook verify` on the credential's bundle.
    report = httpx.post(served.url + "/api/v1/verify", json=credential).json()
    assert report["valid"], report
    profile = httpx.get(served.url + f"/api/v1/organisations/{ORG}").json()
    assert profile["boundDid"] == got["did"]
    vkey = served.registry.ledger.verifiers[0].vkey()
    with reading(served.registry.engine) as conn:
        bundle = bundle_for(conn, served.registry.ledger, credential["id"])
    (tmp_path / "anchor.json").write_text(json.dumps(bundle))
    assert main(["verify", str(tmp_path / "anchor.json"), "--ledger-key", vkey]) == 0
    # The wallet's key presents the organisation's credentials; `orgbook verify` accepts it.
    vp = present(signer, bundles(served.registry))
    (tmp_path / "vp.json").write_text(json.dumps(vp))
    argv = ["verify", str(tmp_path / "vp.json"), "--ledger-key", vkey]
    capsys.readouterr()
    assert main([*argv, "--challenge", NONCE, "--domain", DOMAIN]) == 0
    out = capsys.readouterr().out
    assert out.strip().endswith("VALID presentation")
    assert "✓ holder_anchor" in out

    # The same offer again: its code is spent, the wallet is refused.
    node, _ = _node()
    again = subprocess.run(
        [node, str(WALLET / "wallet.mjs"), offer["link"], offer["txCode"]],
        cwd=WALLET,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert again.returncode == 1
