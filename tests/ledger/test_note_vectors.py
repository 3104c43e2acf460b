"""Published signed-note, checkpoint and cosignature examples, reproduced byte for byte.

Sources and licences: tests/vectors/signed-note/SOURCE.md.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest

from orgbook.core.crypto import Ed25519Signer, verify_ed25519
from orgbook.core.errors import BadInput, MalformedNote, VerificationError
from orgbook.ledger.note import (
    Checkpoint,
    CosignatureSigner,
    CosignatureVerifier,
    NoteSigner,
    NoteVerifier,
    key_hash,
    open_checkpoint,
    open_note,
    parse_note,
    sign_note,
    verify_cosignatures,
)


def load(vectors: Path, name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((vectors / "signed-note" / name).read_text("utf-8"))
    return data


@pytest.fixture
def go(vectors: Path) -> dict[str, Any]:
    return load(vectors, "go-sumdb-note.json")


# --- golang.org/x/mod/sumdb/note ---------------------------------------------------------------


def test_go_verifier_key_parses(go: dict[str, Any]) -> None:
    v = NoteVerifier.from_vkey(go["peter_vkey"])
    assert v.name == "PeterNeumann"
    assert v.key_hash == bytes.fromhex(go["peter_key_hash"])
    assert v.key_hash == key_hash("PeterNeumann", v.public_key)
    assert v.vkey() == go["peter_vkey"]
    enoch = NoteVerifier.from_vkey(go["enoch_vkey"])
    assert enoch.key_hash == bytes.fromhex(go["enoch_key_hash"])


def _manglings(key: str) -> list[str]:
    """Go's TestNewVerifier/TestNewSigner: every proper substring and every byte incremented."""
    b = key.encode()
    n = len(b)
    out = {b[i:j].decode("utf-8", "replace") for i in range(n) for j in range(i + 1, n + 1)}
    for i in range(len(b)):
        out.add((b[:i] + bytes([b[i] + 1]) + b[i + 1 :]).decode("utf-8", "replace"))
    out.discard(key)
    return sorted(out)


def test_go_verifier_key_manglings_are_rejected(go: dict[str, Any]) -> None:
    bad = [*_manglings(go["peter_vkey"]), *go["bad_vkeys"]]
    assert len(bad) > 2000
    for k in bad:
        with pytest.raises(BadInput):
            NoteVerifier.from_vkey(k)


def test_go_signer_key_parses_and_matches_verifier(go: dict[str, Any]) -> None:
    s = NoteSigner.from_skey(go["peter_skey"])
    assert s.name == "PeterNeumann"
    assert s.key_hash == bytes.fromhex(go["peter_key_hash"])
    assert s.vkey() == go["peter_vkey"]
    assert s.skey() == go["peter_skey"]


def test_go_signer_key_manglings_are_rejected(go: dict[str, Any]) -> None:
    for k in _manglings(go["peter_skey"]):
        with pytest.raises(BadInput):
            NoteSigner.from_skey(k)


def test_go_sign_reproduces_expected_note(go: dict[str, Any]) -> None:
    signer = NoteSigner.from_skey(go["peter_skey"])
    assert sign_note(go["text"], [signer]) == go["signed_by_peter"]
    with pytest.raises(MalformedNote):
        sign_note("abc", [signer])  # Go: "Sign with short text"


def test_go_open_one_verified_one_unknown(go: dict[str, Any]) -> None:
    peter = NoteVerifier.from_vkey(go["peter_vkey"])
    note, verified = open_note(go["signed_by_peter_and_enoch"], [peter])
    assert note.text == go["text"]
    assert verified == [peter]
    assert [s.name for s in note.signatures] == ["PeterNeumann", "EnochRoot"]
    assert note.signatures[1].key_hash == bytes.fromhex(go["enoch_key_hash"])
    assert note.signatures[0].line() == go["peter_sig_line"]
    assert note.signatures[1].line() == go["enoch_sig_line"]


def test_go_open_both_verified(go: dict[str, Any]) -> None:
    peter = NoteVerifier.from_vkey(go["peter_vkey"])
    enoch = NoteVerifier.from_vkey(go["enoch_vkey"])
    _, verified = open_note(go["signed_by_peter_and_enoch"], [enoch, peter])
    assert verified == [peter, enoch]  # in signature order


def test_go_open_none_verified(go: dict[str, Any]) -> None:
    with pytest.raises(VerificationError, match="no signature by a known key"):
        open_note(go["signed_by_peter_and_enoch"], [])


def test_go_open_duplicated_verifier_is_harmless(go: dict[str, Any]) -> None:
    # Go calls VerifierList(enoch, peter, enoch) ambiguous; the same key twice is not a
    # different key, so orgbook accepts it (distinct keys under one name+hash are refused).
    peter = NoteVerifier.from_vkey(go["peter_vkey"])
    enoch = NoteVerifier.from_vkey(go["enoch_vkey"])
    _, verified = open_note(go["text"] + "\n" + go["enoch_sig_line"], [enoch, peter, enoch])
    assert verified == [enoch]


def test_go_open_too_many_signatures(go: dict[str, Any]) -> None:
    peter = NoteVerifier.from_vkey(go["peter_vkey"])
    msg = go["text"] + "\n" + go["peter_sig_line"] * 101
    for verifiers in ([peter], []):
        with pytest.raises(MalformedNote, match="more than 100"):
            open_note(msg, verifiers)
    # 100 is still fine.
    _, verified = open_note(go["text"] + "\n" + go["peter_sig_line"] * 100, [peter])
    assert verified == [peter]


def test_go_open_invalid_signature(go: dict[str, Any]) -> None:
    peter = NoteVerifier.from_vkey(go["peter_vkey"])
    sig = go["peter_sig_line"].encode()
    msg = go["text"].encode() + b"\n" + sig[:60] + b"ABCD" + sig[60:]
    with pytest.raises(VerificationError, match="PeterNeumann\\+c74f20a3"):
        open_note(msg, [peter])


def test_go_open_duplicated_verified_and_unverified(go: dict[str, Any]) -> None:
    peter = NoteVerifier.from_vkey(go["peter_vkey"])
    enoch = go["enoch_sig_line"].encode()
    peter_sig = go["peter_sig_line"].encode()
    msg = (
        go["text"].encode() + b"\n" + peter_sig * 2 + enoch * 2 + enoch[:60] + b"ABCD" + enoch[60:]
    )
    note, verified = open_note(msg, [peter])
    assert verified == [peter]
    assert len(note.signatures) == 5


def test_go_open_malformed_messages(go: dict[str, Any]) -> None:
    peter = NoteVerifier.from_vkey(go["peter_vkey"])
    assert len(go["malformed_notes"]) == 7
    for case in go["malformed_notes"]:
        msg = base64.b64decode(case["base64"])
        with pytest.raises(MalformedNote):
            open_note(msg, [peter])
        with pytest.raises(MalformedNote):
            parse_note(msg)


def test_go_misnamed_or_rehashed_signature_is_unknown(go: dict[str, Any]) -> None:
    peter = NoteVerifier.from_vkey(go["peter_vkey"])
    misnamed = go["peter_sig_line"].replace("PeterNeumann", "CarmenSandiego")
    wrong_hash = go["peter_sig_line"].replace("x08g", "xxxx")
    for line in (misnamed, wrong_hash):
        with pytest.raises(VerificationError, match="no signature by a known key"):
            open_note(go["text"] + "\n" + line, [peter])


# --- C2SP signed-note, tlog-checkpoint, tlog-cosignature ----------------------------------------


def test_c2sp_signed_note_example_verifies(vectors: Path) -> None:
    ex = load(vectors, "c2sp-signed-note.json")["verified_example"]
    v = NoteVerifier.from_vkey(ex["vkey"])
    assert v.name == ex["name"]
    assert v.key_hash.hex() == ex["key_hash"]
    assert v.public_key.hex() == ex["public_key_hex"]
    note, verified = open_note(ex["note"], [v])
    assert note.text == ex["text"]
    assert verified == [v]
    tampered = ex["note"].replace("example message", "example massage")
    with pytest.raises(VerificationError):
        open_note(tampered, [v])


def test_c2sp_signed_note_opening_example_parses(vectors: Path) -> None:
    ex = load(vectors, "c2sp-signed-note.json")["parse_only_example"]
    note = parse_note(ex["note"])
    assert note.text == ex["text"]  # the text's own blank line stays in the text
    (sig,) = note.signatures
    assert (sig.name, sig.key_hash.hex(), len(sig.signature)) == (ex["name"], ex["key_hash"], 64)


def test_c2sp_checkpoint_and_cosignature_example(vectors: Path) -> None:
    ex = load(vectors, "c2sp-tlog-checkpoint.json")
    note = parse_note(ex["note"])
    assert note.text == ex["body"]
    cp = Checkpoint.parse(note.text)
    assert (cp.origin, cp.size) == (ex["origin"], ex["size"])
    assert cp.root == base64.b64decode(ex["root_base64"])
    assert cp.body() == ex["body"]
    log_sig, witness_sig = note.signatures
    assert log_sig.key_hash.hex() == ex["log_key_hash"]
    assert len(log_sig.signature) == 64
    assert (witness_sig.name, witness_sig.key_hash.hex()) == (
        ex["witness_name"],
        ex["witness_key_hash"],
    )
    assert len(witness_sig.signature) == 8 + 64
    timestamp = int.from_bytes(witness_sig.signature[:8], "big")
    assert timestamp == ex["cosignature_timestamp"]


def test_cosign_signs_exactly_the_message_in_tlog_cosignature_md(vectors: Path) -> None:
    ex = load(vectors, "c2sp-tlog-checkpoint.json")
    key = Ed25519Signer.from_seed(bytes(range(32)))
    sig = CosignatureSigner(ex["witness_name"], key).cosign(ex["body"], ex["cosignature_timestamp"])
    assert sig.signature[:8] == ex["cosignature_timestamp"].to_bytes(8, "big")
    message = ex["cosigned_message"].encode()
    assert verify_ed25519(key.public_key, sig.signature[8:], message)


def test_real_sumdb_checkpoint_verifies(vectors: Path) -> None:
    ex = load(vectors, "sumdb-checkpoint.json")
    v = NoteVerifier.from_vkey(ex["vkey"])
    cp, note = open_checkpoint(ex["note"], [v], origin=ex["origin"])
    assert (cp.origin, cp.size) == (ex["origin"], ex["size"])
    assert cp.root == base64.b64decode(ex["root_base64"])
    assert note.text == cp.body()
    with pytest.raises(VerificationError):
        open_checkpoint(ex["note"], [v], origin="Go rocks but I might have the wrong ID")
    bumped = ex["note"].replace(str(ex["size"]), str(ex["size"] + 1))
    with pytest.raises(VerificationError):
        open_checkpoint(bumped, [v])


def test_trillian_examples_key_pairs(vectors: Path) -> None:
    for pair in load(vectors, "sumdb-checkpoint.json")["key_pairs"]:
        signer = NoteSigner.from_skey(pair["skey"])
        assert signer.vkey() == pair["vkey"]
        assert signer.skey() == pair["skey"]
        assert NoteVerifier.from_vkey(pair["vkey"]) == signer.verifier()


def test_real_cosigned_checkpoint(vectors: Path) -> None:
    ex = load(vectors, "cosigned-checkpoint.json")
    log = NoteVerifier.from_vkey(ex["log_vkey"])
    cp, note = open_checkpoint(ex["note"], [log], origin=ex["origin"])
    assert cp.size == ex["size"]
    assert len(note.signatures) == 6  # log (Ed25519 + RFC 6962 STH) and four witnesses
    witnesses = [CosignatureVerifier.from_vkey(k) for k in ex["witness_vkeys"]]
    assert [w.vkey() for w in witnesses] == ex["witness_vkeys"]
    elsewhere = ex["witness_vkeys_without_cosignature_here"]
    absent = [CosignatureVerifier.from_vkey(k) for k in elsewhere]
    got = verify_cosignatures(ex["note"], [*witnesses, *absent])
    assert got == {w.name: ex["witness_timestamp"] for w in witnesses}
    # Any change to the body voids the log signature and every cosignature.
    bumped = ex["note"].replace(str(ex["size"]), str(ex["size"] - 1))
    assert verify_cosignatures(bumped, witnesses) == {}
    with pytest.raises(VerificationError):
        open_checkpoint(bumped, [log])


def test_transparency_dev_cosignature_keys(vectors: Path) -> None:
    ex = load(vectors, "transparency-dev-cosignature.json")
    w = CosignatureVerifier.from_vkey(ex["cosignature_vkey"])
    assert w.vkey() == ex["cosignature_vkey"]
    assert w.key_hash == key_hash(w.name, w.public_key, 0x04)
    # A type 0x04 key is not a note key, and a type 0x01 key is not a witness key.
    with pytest.raises(BadInput):
        NoteVerifier.from_vkey(ex["cosignature_vkey"])
    NoteVerifier.from_vkey(ex["ed25519_vkey"])
    with pytest.raises(BadInput):
        CosignatureVerifier.from_vkey(ex["ed25519_vkey"])
    for bad in ex["bad_vkeys"]:
        with pytest.raises(BadInput):
            CosignatureVerifier.from_vkey(bad)
        with pytest.raises(BadInput):
            NoteVerifier.from_vkey(bad)


def test_transparency_dev_cosignature_timestamp(vectors: Path) -> None:
    ex = load(vectors, "transparency-dev-cosignature.json")
    (cosig,) = parse_note("a\nb\nc\n\n\u2014 w " + ex["cosignature_base64"] + "\n").signatures
    assert len(cosig.signature) == 72
    assert int.from_bytes(cosig.signature[:8], "big") == ex["cosignature_timestamp"]
    (plain,) = parse_note("a\n\n\u2014 w " + ex["plain_signature_base64"] + "\n").signatures
    assert len(plain.signature) == 64  # too short to be a cosignature
