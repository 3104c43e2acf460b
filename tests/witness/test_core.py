"""add-checkpoint parsing, and the witness CLI's key and log commands."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest

from orgbook.cli import main
from orgbook.core.errors import BadInput
from orgbook.ledger.note import Checkpoint, NoteSigner, sign_checkpoint
from orgbook.witness.core import (
    MAX_PROOF_LINES,
    LogConfig,
    evaluate,
    format_add_checkpoint,
    parse_add_checkpoint,
)
from orgbook.witness.store import WitnessStore

SIGNER = NoteSigner.generate("log.test/l")
NOTE = sign_checkpoint(Checkpoint("log.test/l", 5, bytes(32)), [SIGNER])
HASH = base64.b64encode(bytes(range(32))).decode()


def test_parse_round_trip() -> None:
    body = format_add_checkpoint(3, [bytes(range(32))] * 2, NOTE)
    assert body.startswith(f"old 3\n{HASH}\n{HASH}\n\nlog.test/l\n5\n")
    request = parse_add_checkpoint(body.encode())
    assert (request.old_size, request.proof, request.note) == (3, (bytes(range(32)),) * 2, NOTE)
    assert request.checkpoint.size == 5


@pytest.mark.parametrize(
    "body",
    [
        "old 3\n" + NOTE,  # no blank line after the proof
        "old 03\n\n" + NOTE,
        "old -1\n\n" + NOTE,
        "new 3\n\n" + NOTE,
        "old 3\nnot base64!\n\n" + NOTE,
        "old 3\n" + base64.b64encode(b"short").decode() + "\n\n" + NOTE,
        "old 3\n" + (HASH + "\n") * (MAX_PROOF_LINES + 1) + "\n" + NOTE,
        "old 3\n\nlog.test/l\n5\nnot a root\n\n— log.test/l AAAA\n",
        "old 18446744073709551616\n\n" + NOTE,
    ],
)
def test_malformed_requests(body: str) -> None:
    with pytest.raises(BadInput):
        parse_add_checkpoint(body)
    with pytest.raises(BadInput):
        parse_add_checkpoint(b"\xff" + body.encode())


def test_empty_tree_needs_the_empty_root() -> None:
    note = sign_checkpoint(Checkpoint("log.test/l", 0, bytes(32)), [SIGNER])
    log = LogConfig("log.test/l", (SIGNER.verifier(),))
    refusal = evaluate(parse_add_checkpoint(format_add_checkpoint(0, [], note)), log, None)
    assert refusal.status == 422  # type: ignore[union-attr]


def test_cli_key_add_log_logs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("ORGBOOK_KEY_PASSPHRASE", "witness cli passphrase")
    data = ["--data-dir", str(tmp_path / "w")]
    assert main(["witness", "key", *data]) == 2  # a new witness needs a name
    assert main(["witness", "key", *data, "--name", "witness.test/cli"]) == 0
    vkey = capsys.readouterr().out.strip()
    assert vkey.startswith("witness.test/cli+")
    assert main(["witness", "key", *data]) == 0
    assert capsys.readouterr().out.strip() == vkey
    assert main(["witness", "key", *data, "--name", "other.test/w"]) == 2
    args = ["witness", "add-log", *data, "--origin", "log.test/l", "--vkey", SIGNER.vkey()]
    assert main([*args, "--url", "http://log.test"]) == 0
    assert main(["witness", "add-log", *data, "--origin", "log.test/l", "--vkey", "bad"]) == 2
    assert main(["witness", "logs", *data]) == 0
    assert "log.test/l\tcosigned size -\thttp://log.test" in capsys.readouterr().out
    assert main(["witness", "refusals", *data]) == 0
    store = WitnessStore.open(tmp_path / "w")
    (log,) = store.logs()
    store.close()
    assert log.keys == (SIGNER.verifier(),)
    assert log.url == "http://log.test"
