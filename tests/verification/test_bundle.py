"""Bundle and C2SP tlog-proof formats: round trips, the spec's example, every malformed form."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest

from orgbook.core.errors import BadInput
from orgbook.ledger.entry import GENESIS_PREV, Entry
from orgbook.verification.bundle import (
    TLOG_PROOF_HEADER,
    build_bundle,
    format_tlog_proof,
    is_bundle,
    parse_bundle,
    parse_tlog_proof,
)

NOTE = (
    "example.com/fancylog\n109482\nsFodV/vSp5O8n9a8QpW6PRY97tfOSW5bsc2Xl/EQi08=\n\n"
    "— example.com/fancylog hI2DJwAAAA==\n"
)
HASHES = [bytes([i]) * 32 for i in range(5)]

# The example of c2sp.org/tlog-proof (signature lines shortened, as in the spec).
SPEC_EXAMPLE = (
    "c2sp.org/tlog-proof@v1\n"
    "extra YWdlLXYxLjIuMS1kYXJ3aW4tYXJtNjQudGFyLmd6kYXJ3aW4tYXJ\n"
    "index 73894\n"
    "gSKyXoYZUgZ6jduWYrkDOARinOMGJveXjgMkBTcdPlQ=\n"
    "B95lDa8R83lS8n0eG+o0buTxRKQTYFi//1U8anccXmA=\n"
    "EKNzoDWG8LGC0Yp9o+sv3qllpMP9uHQ9B20KNL+Q1zs=\n"
    "RoopEkOdqkYqMB4MJXrbt/hMjOxsVn0IrWjpz1ZMMes=\n"
    "AHCioX9nLjsrse6YhjRRmk1WUEirVOLLRoOQ6vfO5vk=\n"
    "\n" + NOTE
)


def entry(index: int = 0, kind: str = "credential.issued", **payload: Any) -> Entry:
    return Entry(index, "2026-01-01T00:00:00.000000Z", kind, payload or {"n": index}, GENESIS_PREV)


def test_format_then_parse_round_trips() -> None:
    text = format_tlog_proof(42, HASHES, NOTE)
    assert text.startswith(TLOG_PROOF_HEADER + "\nindex 42\n")
    assert text.endswith("\n\n" + NOTE)
    assert parse_tlog_proof(text) == (42, tuple(HASHES), NOTE)
    assert format_tlog_proof(*parse_tlog_proof(text)) == text


def test_an_empty_proof_round_trips() -> None:
    text = format_tlog_proof(0, [], NOTE)
    assert text == f"{TLOG_PROOF_HEADER}\nindex 0\n\n{NOTE}"
    assert parse_tlog_proof(text) == (0, (), NOTE)


def test_the_spec_example_parses() -> None:
    index, proof, note = parse_tlog_proof(SPEC_EXAMPLE)
    assert index == 73894
    assert len(proof) == 5
    assert proof[0] == base64.b64decode("gSKyXoYZUgZ6jduWYrkDOARinOMGJveXjgMkBTcdPlQ=")
    assert note == NOTE


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (5, "a tlog-proof is a string"),
        ("c2sp.org/tlog-proof@v1\nindex 1\n", "no blank line"),
        ("c2sp.org/tlog-proof@v1\nindex 1\n\n", "no checkpoint"),
        ("c2sp.org/tlog-proof@v2\nindex 1\n\n" + NOTE, "does not start with"),
        ("c2sp.org/tlog-proof@v1\n\n" + NOTE, "no 'index N' line"),
        ("c2sp.org/tlog-proof@v1\nindex 01\n\n" + NOTE, "leading zeros"),
        ("c2sp.org/tlog-proof@v1\nindex -1\n\n" + NOTE, "leading zeros"),
        ("c2sp.org/tlog-proof@v1\nindex 18446744073709551616\n\n" + NOTE, "leading zeros"),
        ("c2sp.org/tlog-proof@v1\nindex 1\nAAAA\n\n" + NOTE, "not base64 of 32 bytes"),
        ("c2sp.org/tlog-proof@v1\nindex 1\n" + "A" * 43 + "\n\n" + NOTE, "not base64"),
        ("c2sp.org/tlog-proof@v1\nindex 1\n" + ("A" * 43 + "=\n") * 65 + "\n" + NOTE, "more than"),
    ],
)
def test_malformed_tlog_proofs(text: Any, message: str) -> None:
    with pytest.raises(BadInput, match=message):
        parse_tlog_proof(text)


def test_format_refuses_what_would_not_parse() -> None:
    with pytest.raises(BadInput):
        format_tlog_proof(-1, [], NOTE)
    with pytest.raises(BadInput):
        format_tlog_proof(1, [b"short"], NOTE)
    with pytest.raises(BadInput):
        format_tlog_proof(1, [], "no newline")


def sample_bundle() -> dict[str, Any]:
    cred = {"@context": ["https://www.w3.org/ns/credentials/v2"], "id": "urn:uuid:1"}
    main = entry(2, credential=cred)
    return build_bundle(
        credential=cred,
        entry=main,
        proof=HASHES[:2],
        checkpoint_note=NOTE,
        issuer=(entry(0, "issuer.registered", issuer={"did": "did:web:x.example"}), HASHES[:1]),
        issuer_keys=[(entry(1, "issuer.key.added", keyId="did:web:x.example#k"), HASHES[:3])],
    )


def test_build_then_parse() -> None:
    body = sample_bundle()
    assert is_bundle(body)
    # Through JSON, as a file would go.
    parsed = parse_bundle(json.loads(json.dumps(body)))
    assert parsed.entry.entry.index == 2
    assert parsed.entry.index == 2
    assert parsed.entry.proof == tuple(HASHES[:2])
    assert parsed.entry.note == NOTE
    assert parsed.issuer is not None
    assert parsed.issuer.entry.kind == "issuer.registered"
    assert [k.entry.kind for k in parsed.issuer_keys] == ["issuer.key.added"]
    assert body["entry"] == parsed.entry.entry.to_json()


def test_the_bundle_shares_nothing_with_its_inputs() -> None:
    body = sample_bundle()
    body["credential"]["id"] = "changed"
    assert body["entry"]["payload"]["credential"]["id"] == "urn:uuid:1"


@pytest.mark.parametrize(
    ("mutate", "field"),
    [
        (lambda b: b.update(type="Bundle"), "/type"),
        (lambda b: b.update(version=2), "/version"),
        (lambda b: b.update(version="1"), "/version"),
        (lambda b: b.update(credential=[]), "/credential"),
        (lambda b: b.update(extra=1), "/extra"),
        (lambda b: b.update(issuerKeys={}), "/issuerKeys"),
        (lambda b: b.update(issuerKeys=[{}] * 300), "/issuerKeys"),
        (lambda b: b.update(entry=None), "/entry"),
        (lambda b: b["entry"].pop("prev"), "/entry"),
        (lambda b: b["entry"].update(extra=1), "/entry"),
        (lambda b: b["entry"].update(index=-1), "/entry/index"),
        (lambda b: b["entry"].update(timestamp="yesterday"), "/entry/timestamp"),
        (lambda b: b["entry"].update(payload=[]), "/entry/payload"),
        (lambda b: b.update(proof="nonsense"), "/proof"),
        (lambda b: b.update(issuer=[]), "/issuer"),
        (lambda b: b["issuer"].update(extra=1), "/issuer"),
        (lambda b: b["issuer"].update(proof=None), "/issuer/proof"),
        (lambda b: b["issuerKeys"][0].update(entry={}), "/issuerKeys/0/entry"),
    ],
)
def test_parse_names_the_field_at_fault(mutate: Any, field: str) -> None:
    body = sample_bundle()
    mutate(body)
    with pytest.raises(BadInput) as caught:
        parse_bundle(body)
    assert caught.value.field == field


def test_not_an_object() -> None:
    values: list[Any] = [None, [], "x", 1]
    for value in values:
        with pytest.raises(BadInput):
            parse_bundle(value)
        assert not is_bundle(value)
