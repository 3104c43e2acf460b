"""A witness beside the deployed topology: issuer, two verifier replicas, one PostgreSQL.

The witness is its own process (``orgbook witness serve``, its own data directory and key),
following the registry's ledger (``witness add-log`` with the ledger key, origin and URL):

* issuance under concurrent load through the issuer API;
* ``orgbook witness poll`` cosigns the registry's checkpoint and pushes the cosignature, which
  the replicas then serve with the checkpoint (``ORGBOOK_WITNESSES`` set on every server);
* a forged fork (another ledger, same key and origin, other entries) presented to the witness's
  ``POST /add-checkpoint``: refused (409 same size, 422 larger) and recorded in ``/refusals``;
* ``orgbook verify --witness … --min-witnesses 1``: exit 1 on a bundle under the forged
  checkpoint, exit 0 on a bundle under the cosigned one.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from orgbook.ledger.keys import load_or_create_ledger_key
from orgbook.ledger.note import Checkpoint, CosignatureVerifier, parse_note, verify_cosignatures
from orgbook.witness.core import format_add_checkpoint
from tests.deploy.conftest import Topology, build_topology, free_port, issue_concurrently
from tests.factories import PASSPHRASE
from tests.installed import orgbook_argv
from tests.witness.helpers import TestLog

pytestmark = [pytest.mark.integration, pytest.mark.postgres]

WITNESS_NAME = "witness.test/w1"


def orgbook(topo: Topology, *argv: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        orgbook_argv(*argv),
        capture_output=True,
        text=True,
        env=topo.env(**env),
        cwd=topo.tmp,
        timeout=60,
        check=False,
    )


def witness_key(tmp: Path) -> str:
    """Create the witness's key before the registry starts: its servers must know it."""
    env = Topology(db_url="", tmp=tmp).env(ORGBOOK_KEY_PASSPHRASE=PASSPHRASE.decode())
    done = subprocess.run(
        [
            *orgbook_argv(),
            "witness",
            "key",
            "--data-dir",
            str(tmp / "witness"),
            "--name",
            WITNESS_NAME,
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


@pytest.fixture
def witnessed(pg_url: str, tmp_path: Path) -> Iterator[tuple[Topology, str, str]]:
    """The topology with ``ORGBOOK_WITNESSES`` set, and a witness serving: (topo, vkey, url)."""
    wvkey = witness_key(tmp_path)
    topo = build_topology(pg_url, tmp_path, env={"ORGBOOK_WITNESSES": wvkey})
    try:
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        # The witness serves add-checkpoint; polling is driven by the test (``witness poll``).
        topo.start_process(
            "witness",
            ["witness", "serve", "--data-dir", str(tmp_path / "witness"), "--port", str(port)],
            topo.env(ORGBOOK_KEY_PASSPHRASE=PASSPHRASE.decode()),
        )
        wait_witness(url, topo)
        yield topo, wvkey, url
    finally:
        topo.stop()


def wait_witness(url: str, topo: Topology) -> None:
    import time

    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if topo.processes[-1].poll() is not None:
            raise RuntimeError("the witness exited\n" + topo.logs())
        try:
            if httpx.get(f"{url}/key", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise TimeoutError(f"{url} not ready\n" + topo.logs())


def splice(bundle: dict[str, Any], old_note: str, new_note: str) -> dict[str, Any]:
    """The bundle with every embedded copy of ``old_note`` replaced by ``new_note``."""
    text = json.dumps(bundle)
    old, new = json.dumps(old_note)[1:-1], json.dumps(new_note)[1:-1]
    assert old in text
    spliced: dict[str, Any] = json.loads(text.replace(old, new))
    return spliced


def verify(topo: Topology, bundle: dict[str, Any], name: str, wvkey: str) -> tuple[int, Any]:
    path = topo.tmp / f"{name}.json"
    path.write_text(json.dumps(bundle))
    done = orgbook(
        topo,
        "verify",
        str(path),
        "--ledger-key",
        topo.vkey,
        "--witness",
        wvkey,
        "--min-witnesses",
        "1",
        "--json",
    )
    assert done.returncode in (0, 1), done.stderr
    return done.returncode, json.loads(done.stdout)


def check(report: Any, name: str) -> dict[str, Any]:
    checks = report["checks"] if "checks" in report else report["report"]["checks"]
    found: dict[str, Any] = next(c for c in checks if c["name"] == name)
    return found


def test_witness_cosigns_refuses_a_fork_and_verifiers_require_it(
    witnessed: tuple[Topology, str, str],
) -> None:
    topo, wvkey, witness_url = witnessed
    wdir = str(topo.tmp / "witness")
    witness = CosignatureVerifier.from_vkey(wvkey)

    # a. Issuance under concurrent load.
    issue_concurrently(topo, orgs=40, seed=5, requests=4)

    # b. The witness follows the registry, polls once, cosigns and pushes its cosignature.
    note = httpx.get(f"{topo.proxy_url}/api/v1/ledger/checkpoint", timeout=30).text
    checkpoint = Checkpoint.parse(parse_note(note).text)
    origin = checkpoint.origin
    added = orgbook(
        topo,
        "witness",
        "add-log",
        "--data-dir",
        wdir,
        "--origin",
        origin,
        "--vkey",
        topo.vkey,
        "--url",
        topo.proxy_url,
    )
    assert added.returncode == 0, added.stderr
    polled = orgbook(
        topo, "witness", "poll", "--data-dir", wdir, ORGBOOK_KEY_PASSPHRASE=PASSPHRASE.decode()
    )
    assert polled.returncode == 0, polled.stdout + polled.stderr + topo.logs()
    assert f"cosigned {checkpoint.size} (cosignature pushed)" in polled.stdout, polled.stdout
    # Both replicas serve the checkpoint with the witness's cosignature.
    for url in topo.replica_urls:
        served = httpx.get(f"{url}/api/v1/ledger/checkpoint", timeout=30).text
        assert parse_note(served).text == parse_note(note).text
        assert WITNESS_NAME in verify_cosignatures(served, [witness]), served
    cosigned_note = served
    listed = httpx.get(f"{witness_url}/checkpoints", timeout=10).json()
    assert [(w["origin"], w["size"]) for w in listed] == [(origin, checkpoint.size)]

    # c. A forged fork: the registry's own sealed key and origin, other entries.
    signer = load_or_create_ledger_key(topo.tmp / "data", origin, PASSPHRASE)
    assert signer.vkey() == topo.vkey
    fork = TestLog(topo.tmp / "fork.sqlite3", signer, tag="forged")
    try:
        forged_same = fork.grow(checkpoint.size)  # same size, another root
        assert Checkpoint.parse(parse_note(forged_same).text).root != checkpoint.root
        answer = httpx.post(
            f"{witness_url}/add-checkpoint",
            content=fork.request(checkpoint.size, forged_same),
            timeout=10,
        )
        assert answer.status_code == 409, answer.text
        assert answer.text == f"{checkpoint.size}\n"
        fork.grow(5)  # larger: no consistency proof from the cosigned tree can verify
        with fork.engine.connect() as conn:
            forged_larger = fork.ledger.latest_checkpoint(conn)
            assert forged_larger is not None
            proof = fork.ledger.consistency_proof(conn, checkpoint.size, checkpoint.size + 5)
        body = format_add_checkpoint(checkpoint.size, proof, forged_larger)
        answer = httpx.post(f"{witness_url}/add-checkpoint", content=body, timeout=10)
        assert answer.status_code == 422, answer.text
    finally:
        fork.close()
    refusals = httpx.get(f"{witness_url}/refusals", params={"origin": origin}, timeout=10).json()
    kinds = sorted(r["kind"] for r in refusals)
    assert kinds == ["fork", "inconsistent"], refusals
    printed = orgbook(topo, "witness", "refusals", "--data-dir", wdir)
    assert len(json.loads(printed.stdout)) == 2
    # The witness still stands by the real checkpoint.
    listed = httpx.get(f"{witness_url}/checkpoints", timeout=10).json()
    assert [w["size"] for w in listed] == [checkpoint.size]

    # d. A verifier requiring the witness: the real bundle passes once it carries the cosigned
    # checkpoint; under the forged checkpoint it fails.
    with httpx.Client(base_url=topo.proxy_url, timeout=60) as client:
        hits = client.get("/api/v1/organisations", params={"q": "a"}).json()["hits"]
        org_id = hits[0].get("orgId") or hits[0].get("org_id")
        profile = client.get(f"/api/v1/organisations/{org_id}").json()
        credential_id = next(c["id"] for c in profile["credentials"] if c["state"] == "current")
        bundle: dict[str, Any] = client.get(f"/api/v1/credentials/{credential_id}/bundle").json()
    text = json.dumps(bundle)
    # The downloaded bundle carries the witness's cosignature: it verifies under a witness policy
    # on its own, offline.
    assert json.dumps(cosigned_note)[1:-1] in text
    real = bundle
    code, report = verify(topo, real, "cosigned", wvkey)
    assert code == 0, report
    assert check(report, "witnesses")["outcome"] == "pass"

    forged = splice(bundle, cosigned_note, forged_same)
    code, report = verify(topo, forged, "forged", wvkey)
    assert code == 1
    assert check(report, "witnesses")["outcome"] == "fail"
    # A forged checkpoint with a cosignature copied from the real one does not count either.
    copied = parse_note(cosigned_note).signatures
    forged_copy = forged_same + "".join(s.line() + "\n" for s in copied if s.name == WITNESS_NAME)
    code, report = verify(topo, splice(bundle, cosigned_note, forged_copy), "forged-copy", wvkey)
    assert code == 1
    assert check(report, "witnesses")["outcome"] == "fail"
