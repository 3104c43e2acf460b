"""Signed notes, checkpoints and cosignatures: round trips, rejections, fuzzing."""

from __future__ import annotations

import base64
import contextlib
import hashlib
from collections.abc import Callable

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from orgbook.core.crypto import Ed25519Signer
from orgbook.core.errors import BadInput, MalformedNote, OrgBookError, VerificationError
from orgbook.ledger.note import (
    Checkpoint,
    CosignatureSigner,
    CosignatureVerifier,
    Note,
    NoteSignature,
    NoteSigner,
    NoteVerifier,
    add_signatures,
    format_note,
    key_hash,
    open_checkpoint,
    open_note,
    parse_note,
    sign_checkpoint,
    sign_note,
    verify_cosignatures,
)

EM = "\u2014"
TEXT = "orgbook test note\nsecond line\n"
ROOT = hashlib.sha256(b"root").digest()


def seeded(name: str, n: int) -> NoteSigner:
    return NoteSigner(name, Ed25519Signer.from_seed(bytes([n]) * 32))


def witness(name: str, n: int) -> CosignatureSigner:
    return CosignatureSigner(name, Ed25519Signer.from_seed(bytes([n]) * 32))


ALICE = seeded("example.org/alice", 1)
BOB = seeded("example.org/bob", 2)
SIGNED = sign_note(TEXT, [ALICE])


class HsmSigner:
    """A Signer that is not an Ed25519Signer (an HSM stand-in)."""

    def __init__(self) -> None:
        self._inner = Ed25519Signer.from_seed(b"\x07" * 32)

    @property
    def public_key(self) -> bytes:
        return self._inner.public_key

    def sign(self, message: bytes) -> bytes:
        return self._inner.sign(message)


# --- keys ---------------------------------------------------------------------------------------


def test_key_hash_is_sha256_of_name_newline_alg_key() -> None:
    pub = ALICE.public_key
    expected = hashlib.sha256(b"example.org/alice\n\x01" + pub).digest()[:4]
    assert key_hash("example.org/alice", pub) == expected
    assert key_hash("example.org/alice", pub, 0x04) != expected
    assert ALICE.key_hash == expected


def test_generated_signer_round_trips_through_key_strings() -> None:
    signer = NoteSigner.generate("log.example/one")
    again = NoteSigner.from_skey(signer.skey())
    assert again.vkey() == signer.vkey()
    assert NoteVerifier.from_vkey(signer.vkey()) == signer.verifier()
    assert signer.skey().startswith("PRIVATE+KEY+log.example/one+" + signer.key_hash.hex() + "+")
    assert "PRIVATE" not in repr(signer)
    assert len(signer.sign(b"x")) == 64


def test_signer_behind_the_protocol_signs_but_does_not_export() -> None:
    signer = NoteSigner("hsm.example/key", HsmSigner())
    _, verified = open_note(sign_note(TEXT, [signer]), [signer.verifier()])
    assert verified == [signer.verifier()]
    with pytest.raises(BadInput):
        signer.skey()


@pytest.mark.parametrize(
    "name", ["", "a b", "a+b", "a\tb", "a\u00a0b", "a\u3000b", "a\u2028b", "a\x01b", "\ud800"]
)
def test_bad_key_names_are_refused(name: str) -> None:
    with pytest.raises(BadInput):
        NoteSigner(name, Ed25519Signer.generate())
    with pytest.raises(BadInput):
        CosignatureSigner(name, Ed25519Signer.generate())


def _vkey(name: str, raw: bytes, alg: int = 1) -> str:
    body = bytes([alg]) + raw
    h = hashlib.sha256(name.encode() + b"\n" + body).digest()[:4].hex()
    return f"{name}+{h}+{base64.b64encode(body).decode()}"


@pytest.mark.parametrize(
    "vkey",
    [
        _vkey("a b", b"\x01" * 32),  # space in name
        _vkey("a\u00a0b", b"\x01" * 32),  # no-break space (Go's unicode.IsSpace)
        _vkey("", b"\x01" * 32),
        _vkey("n", b"\x01" * 31),  # short key, hash adjusted
        _vkey("n", b"\x01" * 33),  # long key, hash adjusted
        _vkey("n", b"\x01" * 32, alg=2),  # other algorithm, hash adjusted
        _vkey("n", b"\x01" * 32, alg=4),  # a witness key is not a note key
        _vkey("n", b"", alg=1),
        "n+00000000+" + base64.b64encode(b"\x01" + b"\x01" * 32).decode(),  # wrong hash
        _vkey("n", b"\x01" * 32) + "\n",
        _vkey("n", b"\x01" * 32) + "=",
        " " + _vkey("n", b"\x01" * 32),
        "n",
        "n+",
        "n++",
    ],
)
def test_malformed_verifier_keys(vkey: str) -> None:
    assert NoteVerifier.from_vkey(_vkey("n", b"\x01" * 32)).name == "n"  # the helper is sound
    with pytest.raises(BadInput):
        NoteVerifier.from_vkey(vkey)


@pytest.mark.parametrize("mangle", [" {}", "{} ", "_{}", "+{}", "0x{}"])
def test_hash_field_must_be_exactly_eight_hex_digits(mangle: str) -> None:
    # int(x, 16) would accept all of these; Go's ParseUint plus the length check does not.
    good = ALICE.vkey()
    name, h, key = good.split("+", 2)
    bad = f"{name}+{mangle.format(h[1:])}+{key}"
    with pytest.raises(BadInput):
        NoteVerifier.from_vkey(bad)


def test_uppercase_hash_is_accepted_like_go() -> None:
    name, h, key = ALICE.vkey().split("+", 2)
    v = NoteVerifier.from_vkey(f"{name}+{h.upper()}+{key}")
    assert v.vkey() == ALICE.vkey()


def test_verifier_constructor_checks_the_hash() -> None:
    with pytest.raises(BadInput):
        NoteVerifier(ALICE.name, b"\x00\x00\x00\x00", ALICE.public_key)
    assert NoteVerifier.from_public_key(ALICE.name, ALICE.public_key) == ALICE.verifier()


def test_verify_never_raises() -> None:
    v = ALICE.verifier()
    sig = ALICE.sign(b"m")
    assert v.verify(b"m", sig)
    assert not v.verify(b"n", sig)
    assert not v.verify(b"m", sig[:-1])
    assert not v.verify(b"m", b"")
    assert not v.verify(b"m", b"\xff" * 64)


# --- notes --------------------------------------------------------------------------------------


def test_sign_parse_format_round_trip() -> None:
    msg = sign_note(TEXT, [ALICE, BOB])
    note = parse_note(msg)
    assert note.text == TEXT
    assert [s.name for s in note.signatures] == [ALICE.name, BOB.name]
    assert format_note(note) == msg
    assert parse_note(msg.encode()) == note
    _, verified = open_note(msg, [BOB.verifier(), ALICE.verifier()])
    assert verified == [ALICE.verifier(), BOB.verifier()]


def test_text_with_blank_lines_and_unicode_round_trips() -> None:
    text = "première ligne\n\n\n— not a signature\nfin 🙂\n"
    note, _ = open_note(sign_note(text, [ALICE]), [ALICE.verifier()])
    assert note.text == text


def test_duplicate_signers_sign_once() -> None:
    assert sign_note(TEXT, [ALICE, ALICE]) == SIGNED
    # A repeated signer is skipped, not the end of the list.
    assert sign_note(TEXT, [ALICE, ALICE, BOB]) == sign_note(TEXT, [ALICE, BOB])
    assert [s.name for s in parse_note(sign_note(TEXT, [ALICE, ALICE, BOB])).signatures] == [
        ALICE.name,
        BOB.name,
    ]


@pytest.mark.parametrize(
    "text", ["", "no newline", "a\r\nb\n", "tab\there\n", "\x00\n", "\ud800\n"]
)
def test_sign_rejects_bad_text(text: str) -> None:
    with pytest.raises(MalformedNote):
        sign_note(text, [ALICE])


def test_sign_needs_a_signer() -> None:
    with pytest.raises(BadInput):
        sign_note(TEXT, [])


def test_unknown_signers_are_ignored() -> None:
    msg = sign_note(TEXT, [BOB, ALICE])
    note, verified = open_note(msg, [ALICE.verifier()])
    assert verified == [ALICE.verifier()]
    assert len(note.signatures) == 2
    with pytest.raises(VerificationError, match="no signature by a known key"):
        open_note(msg, [seeded("example.org/carol", 3).verifier()])


def test_same_name_other_key_is_ignored() -> None:
    # The spec: unknown keys are ignored "even if they share a name or ID (but not both)".
    impostor = seeded(ALICE.name, 9)
    msg = sign_note(TEXT, [impostor, BOB])
    _, verified = open_note(msg, [ALICE.verifier(), BOB.verifier()])
    assert verified == [BOB.verifier()]


def test_tampered_text_is_rejected() -> None:
    tampered = SIGNED.replace("second", "Second")
    with pytest.raises(VerificationError):
        open_note(tampered, [ALICE.verifier()])


def test_tampered_signature_is_rejected() -> None:
    note = parse_note(SIGNED)
    sig = note.signatures[0]
    for i in (0, 31, 63):
        flipped = bytearray(sig.signature)
        flipped[i] ^= 0x01
        bad = format_note(Note(note.text, (NoteSignature(sig.name, sig.key_hash, bytes(flipped)),)))
        with pytest.raises(VerificationError, match="invalid signature"):
            open_note(bad, [ALICE.verifier()])


def test_one_bad_signature_by_a_known_key_rejects_the_note() -> None:
    good = parse_note(sign_note(TEXT, [ALICE, BOB]))
    forged = NoteSignature(ALICE.name, ALICE.key_hash, b"\x00" * 64)
    msg = format_note(Note(TEXT, (*good.signatures, forged)))
    with pytest.raises(VerificationError):
        open_note(msg, [ALICE.verifier(), BOB.verifier()])
    # ... but not when that key is unknown to the caller.
    _, verified = open_note(msg, [BOB.verifier()])
    assert verified == [BOB.verifier()]


def test_repeated_identical_signature_counts_once() -> None:
    line = parse_note(SIGNED).signatures[0].line()
    _, verified = open_note(TEXT + "\n" + line * 3, [ALICE.verifier()])
    assert verified == [ALICE.verifier()]


def test_distinct_keys_under_one_name_and_hash_are_ambiguous() -> None:
    other = BOB.verifier()
    forged = NoteVerifier.from_public_key(ALICE.name, ALICE.public_key)
    object.__setattr__(forged, "public_key", other.public_key)  # a 32-bit key-ID collision
    with pytest.raises(BadInput, match="ambiguous"):
        open_note(SIGNED, [ALICE.verifier(), forged])


SIG_LINE = parse_note(SIGNED).signatures[0].line()
B64 = SIG_LINE.split(" ")[2].rstrip("\n")
MALFORMED: dict[str, str | bytes] = {
    "empty": "",
    "only newline": "\n",
    "only blank line": "\n\n",
    "missing blank line": TEXT + SIG_LINE,
    "no signatures": TEXT + "\n",
    "blank line after signatures": SIGNED + "\n",
    "no final newline": SIGNED[:-1],
    "trailing junk": SIGNED + "junk",
    "odd line after signatures": SIGNED + "not a signature\n",
    "hyphen instead of em dash": TEXT + "\n- " + SIG_LINE[2:],
    "en dash instead of em dash": TEXT + "\n\u2013 " + SIG_LINE[2:],
    "no space after em dash": TEXT + "\n" + EM + SIG_LINE[2:],
    "no space after name": f"{TEXT}\n{EM} {ALICE.name}\n",
    "empty signature": f"{TEXT}\n{EM} {ALICE.name} \n",
    "two spaces": f"{TEXT}\n{EM} {ALICE.name}  {B64}\n",
    "trailing space": f"{TEXT}\n{EM} {ALICE.name} {B64} \n",
    "bad base64": f"{TEXT}\n{EM} {ALICE.name} {B64[:-4]}!!!!\n",
    "unpadded base64": f"{TEXT}\n{EM} {ALICE.name} {B64.rstrip('=')}\n",
    "url-safe base64": f"{TEXT}\n{EM} {ALICE.name} {'-_' + B64[2:]}\n",
    "only a key hash": f"{TEXT}\n{EM} {ALICE.name} {base64.b64encode(ALICE.key_hash).decode()}\n",
    "plus in name": f"{TEXT}\n{EM} a+b {B64}\n",
    "no-break space in name": f"{TEXT}\n{EM} a\u00a0b {B64}\n",
    "CRLF line endings": SIGNED.replace("\n", "\r\n"),
    "NUL in text": "a\x00" + SIGNED,
    "escape in text": "\x1b[31m" + SIGNED,
    "tab in signature line": SIGNED.replace(" ", "\t", 1),
    "101 signatures": TEXT + "\n" + SIG_LINE * 101,
    "invalid UTF-8": b"\xff" + SIGNED.encode(),
    "truncated UTF-8": SIGNED.encode().replace(EM.encode(), EM.encode()[:2]),
    "overlong UTF-8": SIGNED.encode().replace(b"o", b"\xc1\xaf", 1),
    "UTF-8 surrogate": b"\xed\xa0\x80" + SIGNED.encode(),
    "lone surrogate in str": "\ud800" + SIGNED,
}


@pytest.mark.parametrize("data", MALFORMED.values(), ids=MALFORMED.keys())
def test_malformed_notes_raise_malformed_note(data: str | bytes) -> None:
    with pytest.raises(MalformedNote) as exc:
        parse_note(data)
    assert exc.value.detail  # a reason, not a bare failure
    with pytest.raises(MalformedNote):
        open_note(data, [ALICE.verifier()])
    with pytest.raises(MalformedNote):
        verify_cosignatures(data, [])  # type: ignore[arg-type]


def test_the_last_blank_line_separates_text_from_signatures() -> None:
    # Not malformed: the first "signature" becomes part of the text, which then fails to verify.
    msg = TEXT + "\n" + SIG_LINE + "\n" + SIG_LINE
    note = parse_note(msg)
    assert note.text == TEXT + "\n" + SIG_LINE
    assert len(note.signatures) == 1
    with pytest.raises(VerificationError):
        open_note(msg, [ALICE.verifier()])


def test_hundred_signatures_are_accepted() -> None:
    note = parse_note(TEXT + "\n" + SIG_LINE * 100)
    assert len(note.signatures) == 100


def test_format_note_refuses_what_would_not_parse() -> None:
    sig = parse_note(SIGNED).signatures[0]
    bad_notes = [
        Note(TEXT, ()),
        Note("no newline", (sig,)),
        Note(TEXT, (NoteSignature("bad name", sig.key_hash, sig.signature),)),
        Note(TEXT, (NoteSignature(sig.name, b"\x00", sig.signature),)),
        Note(TEXT, (NoteSignature(sig.name, sig.key_hash, b""),)),
        Note(TEXT, (sig,) * 101),
    ]
    for note in bad_notes:
        with pytest.raises(MalformedNote):
            format_note(note)


def test_signature_line_format() -> None:
    sig = NoteSignature("n", b"\x01\x02\x03\x04", b"\xff" * 3)
    assert sig.line() == f"{EM} n AQIDBP///w==\n"


# --- add_signatures -----------------------------------------------------------------------------


def test_add_signatures_appends_and_replaces() -> None:
    w = witness("witness.example/w1", 5)
    body = Checkpoint("log.example", 3, ROOT).body()
    signed = sign_note(body, [ALICE])
    first = w.cosign(body, 100)
    once = add_signatures(signed, [first])
    assert once == signed + first.line()
    again = add_signatures(once, [w.cosign(body, 200)])
    assert verify_cosignatures(again, [w.verifier()]) == {w.name: 200}
    assert len(parse_note(again).signatures) == 2
    assert add_signatures(signed, []) == signed
    open_note(again, [ALICE.verifier()])


def test_add_signatures_rejects_malformed_input() -> None:
    sig = parse_note(SIGNED).signatures[0]
    with pytest.raises(MalformedNote):
        add_signatures(TEXT, [sig])
    many = [NoteSignature(f"w{i}", b"\x00" * 4, b"\x00" * 72) for i in range(100)]
    with pytest.raises(MalformedNote, match="more than 100"):
        add_signatures(SIGNED, many)
    with pytest.raises(MalformedNote):
        add_signatures(SIGNED, [NoteSignature("bad name", b"\x00" * 4, b"\x00" * 64)])


# --- checkpoints --------------------------------------------------------------------------------


def test_checkpoint_body_and_parse() -> None:
    cp = Checkpoint("log.example/one", 20852163, ROOT, ("ext one", "ext two"))
    body = cp.body()
    root64 = base64.b64encode(ROOT).decode()
    assert body == f"log.example/one\n20852163\n{root64}\next one\next two\n"
    assert Checkpoint.parse(body) == cp
    assert Checkpoint.parse(Checkpoint("l", 0, ROOT).body()).size == 0
    big = Checkpoint("l", 2**64 - 1, ROOT)
    assert Checkpoint.parse(big.body()) == big


ROOT64 = base64.b64encode(ROOT).decode()
BAD_BODIES = {
    "leading zero": f"l\n01\n{ROOT64}\n",
    "negative": f"l\n-1\n{ROOT64}\n",
    "plus sign": f"l\n+1\n{ROOT64}\n",
    "decimal point": f"l\n1.0\n{ROOT64}\n",
    "hex": f"l\n0x10\n{ROOT64}\n",
    "space": f"l\n 1\n{ROOT64}\n",
    "underscore": f"l\n1_000\n{ROOT64}\n",
    "arabic-indic digit": f"l\n\u0661\n{ROOT64}\n",
    "empty size": f"l\n\n{ROOT64}\n",
    "2^64": f"l\n{2**64}\n{ROOT64}\n",
    "bad base64": f"l\n1\n{ROOT64[:-2]}!=\n",
    "unpadded root": f"l\n1\n{ROOT64.rstrip('=')}\n",
    "non-canonical base64": f"l\n1\n{ROOT64[:-2]}B=\n",
    "31-byte root": f"l\n1\n{base64.b64encode(ROOT[:31]).decode()}\n",
    "33-byte root": f"l\n1\n{base64.b64encode(ROOT + b'x').decode()}\n",
    "missing root": "l\n1\n",
    "missing lines": "l\n",
    "empty origin": f"\n1\n{ROOT64}\n",
    "empty extension": f"l\n1\n{ROOT64}\n\n",
    "empty extension in the middle": f"l\n1\n{ROOT64}\na\n\nb\n",
    "no final newline": f"l\n1\n{ROOT64}",
    "control character": f"l\x01\n1\n{ROOT64}\n",
    "empty": "",
}


@pytest.mark.parametrize("body", BAD_BODIES.values(), ids=BAD_BODIES.keys())
def test_malformed_checkpoints(body: str) -> None:
    with pytest.raises(MalformedNote):
        Checkpoint.parse(body)


@pytest.mark.parametrize(
    ("origin", "size", "root", "extensions"),
    [
        ("", 1, ROOT, ()),
        ("a\nb", 1, ROOT, ()),
        ("l", -1, ROOT, ()),
        ("l", 2**64, ROOT, ()),
        ("l", True, ROOT, ()),
        ("l", 1, ROOT[:31], ()),
        ("l", 1, ROOT, ("",)),
        ("l", 1, ROOT, ("a\nb",)),
        ("l\x01", 1, ROOT, ()),
    ],
)
def test_invalid_checkpoints_cannot_be_built(
    origin: str, size: int, root: bytes, extensions: tuple[str, ...]
) -> None:
    with pytest.raises(MalformedNote):
        Checkpoint(origin, size, root, extensions)


def test_signed_checkpoint_round_trip() -> None:
    cp = Checkpoint("log.example/one", 42, ROOT)
    signed = sign_checkpoint(cp, [ALICE])
    got, note = open_checkpoint(signed, [ALICE.verifier()], origin="log.example/one")
    assert got == cp
    assert note.text == cp.body()
    with pytest.raises(VerificationError):
        open_checkpoint(signed, [ALICE.verifier()], origin="log.example/two")
    with pytest.raises(VerificationError):
        open_checkpoint(signed.replace("\n42\n", "\n43\n"), [ALICE.verifier()])


def test_signed_note_that_is_not_a_checkpoint() -> None:
    with pytest.raises(MalformedNote):
        open_checkpoint(SIGNED, [ALICE.verifier()])


# --- cosignatures -------------------------------------------------------------------------------

W1 = witness("witness.example/w1", 11)
W2 = witness("witness.example/w2", 12)
CP = Checkpoint("log.example/one", 1000, ROOT)
BODY = CP.body()


def test_cosignature_key_strings() -> None:
    vkey = W1.vkey()
    name, h, key = vkey.split("+", 2)
    raw = base64.b64decode(key)
    assert (name, raw[0], raw[1:]) == (W1.name, 0x04, W1.public_key)
    assert bytes.fromhex(h) == key_hash(W1.name, W1.public_key, 0x04) == W1.key_hash
    assert CosignatureVerifier.from_vkey(vkey) == W1.verifier()
    assert CosignatureVerifier.from_public_key(W1.name, W1.public_key) == W1.verifier()


def test_cosign_and_verify() -> None:
    sig = W1.cosign(BODY, 1_700_000_000)
    assert (sig.name, sig.key_hash) == (W1.name, W1.key_hash)
    assert len(sig.signature) == 72
    assert sig.signature[:8] == (1_700_000_000).to_bytes(8, "big")
    assert W1.verifier().verify(BODY, sig) == 1_700_000_000
    assert W1.verifier().verify(BODY, W1.cosign(BODY, 0)) == 0


def test_cosignature_with_wrong_timestamp_is_rejected() -> None:
    sig = W1.cosign(BODY, 1_700_000_000)
    shifted = (1_700_000_001).to_bytes(8, "big") + sig.signature[8:]
    assert W1.verifier().verify(BODY, NoteSignature(sig.name, sig.key_hash, shifted)) is None
    huge = (2**63).to_bytes(8, "big") + sig.signature[8:]
    assert W1.verifier().verify(BODY, NoteSignature(sig.name, sig.key_hash, huge)) is None


def test_cosignature_with_wrong_body_is_rejected() -> None:
    sig = W1.cosign(BODY, 5)
    v = W1.verifier()
    assert v.verify(Checkpoint("log.example/one", 1001, ROOT).body(), sig) is None
    assert v.verify(Checkpoint("log.example/two", 1000, ROOT).body(), sig) is None
    assert v.verify(Checkpoint("log.example/one", 1000, ROOT, ("x",)).body(), sig) is None


def test_cosignature_by_another_witness_or_alg_is_rejected() -> None:
    sig = W1.cosign(BODY, 5)
    assert W2.verifier().verify(BODY, sig) is None
    renamed = NoteSignature(W2.name, W2.key_hash, sig.signature)
    assert W2.verifier().verify(BODY, renamed) is None
    # A plain note signature by the same Ed25519 key is not a cosignature.
    plain = NoteSigner(W1.name, Ed25519Signer.from_seed(bytes([11]) * 32))
    assert plain.public_key == W1.public_key
    assert plain.key_hash != W1.key_hash
    note_sig = parse_note(sign_note(BODY, [plain])).signatures[0]
    assert W1.verifier().verify(BODY, note_sig) is None
    forced = NoteSignature(W1.name, W1.key_hash, note_sig.signature)
    assert W1.verifier().verify(BODY, forced) is None
    assert W1.verifier().verify(BODY, NoteSignature(W1.name, W1.key_hash, b"")) is None


def test_cosignature_timestamp_above_2_63_is_rejected_even_if_signed() -> None:
    key = Ed25519Signer.from_seed(bytes([11]) * 32)
    assert key.public_key == W1.public_key
    for ts, expected in ((2**63 - 1, 2**63 - 1), (2**63, None), (2**64 - 1, None)):
        raw = key.sign(f"cosignature/v1\ntime {ts}\n{BODY}".encode())
        sig = NoteSignature(W1.name, W1.key_hash, ts.to_bytes(8, "big") + raw)
        assert W1.verifier().verify(BODY, sig) == expected


@pytest.mark.parametrize("timestamp", [-1, 2**63, True])
def test_cosign_rejects_bad_timestamps(timestamp: int) -> None:
    with pytest.raises(BadInput):
        W1.cosign(BODY, timestamp)


def test_cosign_rejects_a_body_that_is_not_a_checkpoint() -> None:
    with pytest.raises(MalformedNote):
        W1.cosign("just text\n", 5)


def test_verify_cosignatures_on_a_witnessed_checkpoint() -> None:
    signed = sign_checkpoint(CP, [ALICE])
    stranger = witness("witness.example/stranger", 13)
    w2_bad = W2.cosign(Checkpoint("log.example/one", 999, ROOT).body(), 7)  # other body
    witnessed = add_signatures(signed, [W1.cosign(BODY, 10), w2_bad, stranger.cosign(BODY, 8)])
    assert verify_cosignatures(witnessed, [W1.verifier(), W2.verifier()]) == {W1.name: 10}
    # The log's own key still opens it; cosignatures are unknown lines to a note verifier.
    cp, _ = open_checkpoint(witnessed, [ALICE.verifier()])
    assert cp == CP
    # A witness key cannot pass for the log key.
    with pytest.raises(VerificationError, match="no signature by a known key"):
        open_note(
            add_signatures(witnessed, []), [NoteVerifier.from_public_key(W1.name, W1.public_key)]
        )
    assert verify_cosignatures(witnessed, []) == {}


def test_latest_valid_cosignature_wins() -> None:
    line_old = W1.cosign(BODY, 10).line()
    line_new = W1.cosign(BODY, 20).line()
    signed = sign_checkpoint(CP, [ALICE])
    assert verify_cosignatures(signed + line_new + line_old, [W1.verifier()]) == {W1.name: 20}


def test_bad_witness_keys() -> None:
    for bad in [ALICE.vkey(), W1.vkey()[:-4], W1.vkey().replace("+", " ", 1), "w+00000000+BA=="]:
        with pytest.raises(BadInput):
            CosignatureVerifier.from_vkey(bad)
    with pytest.raises(BadInput):
        CosignatureVerifier(W1.name, ALICE.key_hash, W1.public_key)


def test_a_witness_refuses_its_cosignature_under_another_name_or_key_id() -> None:
    """The line's name and key ID must both be this witness's; the signature alone is not enough
    (neither is in the signed message)."""
    sig = W1.cosign(BODY, 5)
    v = W1.verifier()
    assert v.verify(BODY, sig) == 5
    assert v.verify(BODY, NoteSignature(W2.name, W1.key_hash, sig.signature)) is None
    assert v.verify(BODY, NoteSignature(W1.name, W2.key_hash, sig.signature)) is None
    assert v.verify(BODY, None) is None  # type: ignore[arg-type]
    assert v.verify(None, sig) is None  # type: ignore[arg-type]


def test_ambiguous_witness_keys_are_named() -> None:
    forged = CosignatureVerifier.from_public_key(W1.name, W1.public_key)
    object.__setattr__(forged, "public_key", W2.public_key)  # a 32-bit key-ID collision
    signed = sign_checkpoint(CP, [ALICE])
    with pytest.raises(BadInput) as err:
        verify_cosignatures(signed, [W1.verifier(), forged])
    assert err.value.detail == f"ambiguous witness key {W1.name}+{W1.key_hash.hex()}"


class _ShortKeySigner:
    """A Signer whose public key is not 32 bytes."""

    public_key = b"\x01" * 31

    def sign(self, message: bytes) -> bytes:
        return b"\x00" * 64


class _ShortSignatureSigner:
    """A Signer that returns 63-byte signatures."""

    public_key = W1.public_key

    def sign(self, message: bytes) -> bytes:
        return b"\x00" * 63


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


SEED = bytes([1]) * 32
ALICE_HASH = ALICE.key_hash.hex()
REFUSALS: dict[str, tuple[Callable[[], object], type[Exception], str]] = {
    "vkey-not-a-string": (
        lambda: NoteVerifier.from_vkey(None),  # type: ignore[arg-type]
        BadInput,
        "a verifier key is a string",
    ),
    "vkey-bad-name": (
        lambda: NoteVerifier.from_vkey(_vkey("a b", b"\x01" * 32)),
        BadInput,
        "malformed verifier key: invalid key name",
    ),
    "vkey-seven-hex-digits": (
        lambda: NoteVerifier.from_vkey("n+0000000+" + _b64(b"\x01" * 33)),
        BadInput,
        "malformed verifier key: the key hash is not 8 hex digits",
    ),
    "vkey-no-key": (
        lambda: NoteVerifier.from_vkey("n+abcdef12"),
        BadInput,
        "malformed verifier key: the key is not base64",
    ),
    "vkey-wrong-hash": (
        lambda: NoteVerifier.from_vkey("n+00000000+" + _b64(b"\x01" * 33)),
        BadInput,
        "malformed verifier key: the key hash does not match the name and key",
    ),
    "vkey-short-key": (
        lambda: NoteVerifier.from_vkey(_vkey("n", b"\x01" * 31)),
        BadInput,
        "malformed verifier key: an Ed25519 key is 32 bytes",
    ),
    "vkey-other-type": (
        lambda: NoteVerifier.from_vkey(_vkey("n", b"\x01" * 32, alg=2)),
        BadInput,
        "unknown verifier algorithm 0x02",
    ),
    "verifier-bad-name": (
        lambda: NoteVerifier("a b", ALICE.key_hash, ALICE.public_key),
        BadInput,
        "invalid key name: it must be non-empty, without spaces or '+'",
    ),
    "verifier-wrong-hash": (
        lambda: NoteVerifier(ALICE.name, b"\x00" * 4, ALICE.public_key),
        BadInput,
        "the key hash does not match the name and key",
    ),
    "verifier-key-not-bytes": (
        lambda: NoteVerifier(ALICE.name, ALICE.key_hash, "k" * 32),  # type: ignore[arg-type]
        BadInput,
        "an Ed25519 public key is 32 bytes",
    ),
    "key-hash-type-256": (
        lambda: key_hash("n", ALICE.public_key, 256),
        BadInput,
        "signature type must be one byte, not 256",
    ),
    "text-not-a-string": (
        lambda: sign_note(None, [ALICE]),  # type: ignore[arg-type]
        MalformedNote,
        "note text must be a string",
    ),
    "text-without-newline": (
        lambda: sign_note("no newline", [ALICE]),
        MalformedNote,
        "note text must be non-empty and end with a newline",
    ),
    "text-lone-surrogate": (
        lambda: sign_note("\ud800\n", [ALICE]),
        MalformedNote,
        "note text is not valid UTF-8",
    ),
    "text-control-character": (
        lambda: sign_note("a\x01b\n", [ALICE]),
        MalformedNote,
        "note text contains control character U+0001 at 1",
    ),
    "sign-without-signers": (
        lambda: sign_note(TEXT, []),
        BadInput,
        "sign_note needs at least one signer",
    ),
    "signer-short-signature": (
        lambda: NoteSigner("n", _ShortSignatureSigner()).sign(b"m"),
        BadInput,
        "the signer returned 63 bytes, not 64",
    ),
    "note-lone-surrogate": (
        lambda: parse_note(SIGNED.replace("second", "\ud800")),
        MalformedNote,
        "note is not valid UTF-8",
    ),
    "note-not-text": (
        lambda: parse_note(42),  # type: ignore[arg-type]
        MalformedNote,
        "a note is text or bytes",
    ),
    "note-without-blank-line": (
        lambda: parse_note(TEXT + SIG_LINE),
        MalformedNote,
        "no blank line between the text and the signatures",
    ),
    "note-without-signatures": (
        lambda: parse_note(TEXT + "\n"),
        MalformedNote,
        "no signatures after the blank line",
    ),
    "note-without-final-newline": (
        lambda: parse_note(SIGNED[:-1]),
        MalformedNote,
        "the last signature line does not end with a newline",
    ),
    "note-second-line-not-a-signature": (
        lambda: parse_note(SIGNED + "junk\n"),
        MalformedNote,
        "signature line 2 does not start with an em dash and a space",
    ),
    "format-without-signatures": (
        lambda: format_note(Note(TEXT, ())),
        MalformedNote,
        "a signed note needs at least one signature",
    ),
    "format-bad-name": (
        lambda: format_note(Note(TEXT, (NoteSignature("bad name", b"\x00" * 4, b"\x00" * 64),))),
        MalformedNote,
        "invalid key name 'bad name'",
    ),
    "format-short-key-hash": (
        lambda: format_note(Note(TEXT, (NoteSignature("n", b"\x00" * 3, b"\x00" * 64),))),
        MalformedNote,
        "signature by n has a malformed key hash or signature",
    ),
    "open-no-known-key": (
        lambda: open_note(SIGNED, [BOB.verifier()]),
        VerificationError,
        "no signature by a known key",
    ),
    "checkpoint-empty-origin": (
        lambda: Checkpoint("", 1, ROOT),
        MalformedNote,
        "checkpoint origin must be non-empty",
    ),
    "checkpoint-two-line-origin": (
        lambda: Checkpoint("a\nb", 1, ROOT),
        MalformedNote,
        "checkpoint origin must be one line",
    ),
    "checkpoint-negative-size": (
        lambda: Checkpoint("l", -1, ROOT),
        MalformedNote,
        "checkpoint size must be an integer in [0, 2^64)",
    ),
    "checkpoint-short-root": (
        lambda: Checkpoint("l", 1, ROOT[:31]),
        MalformedNote,
        "checkpoint root hash must be 32 bytes",
    ),
    "checkpoint-empty-extension": (
        lambda: Checkpoint("l", 1, ROOT, ("",)),
        MalformedNote,
        "checkpoint extension lines must be non-empty single lines",
    ),
    "witness-vkey-not-a-string": (
        lambda: CosignatureVerifier.from_vkey(None),  # type: ignore[arg-type]
        BadInput,
        "a witness verifier key is a string",
    ),
    "witness-vkey-is-a-note-key": (
        lambda: CosignatureVerifier.from_vkey(ALICE.vkey()),
        BadInput,
        "not a cosignature/v1 key: signature type 0x01",
    ),
    "witness-vkey-long-key": (
        lambda: CosignatureVerifier.from_vkey(_vkey("w", b"\x01" * 33, alg=4)),
        BadInput,
        "malformed witness key: an Ed25519 key is 32 bytes",
    ),
    "skey-not-a-string": (
        lambda: NoteSigner.from_skey(None),  # type: ignore[arg-type]
        BadInput,
        "a signer key is a string",
    ),
    "skey-no-key": (
        lambda: NoteSigner.from_skey(f"PRIVATE+KEY+n+{ALICE_HASH}"),
        BadInput,
        "malformed signer key",
    ),
    "skey-other-type": (
        lambda: NoteSigner.from_skey(f"PRIVATE+KEY+n+{ALICE_HASH}+" + _b64(b"\x04" + SEED)),
        BadInput,
        "unknown signer algorithm 0x04",
    ),
    "skey-short-seed": (
        lambda: NoteSigner.from_skey(f"PRIVATE+KEY+n+{ALICE_HASH}+" + _b64(b"\x01" + SEED[1:])),
        BadInput,
        "malformed signer key: an Ed25519 seed is 32 bytes",
    ),
    "skey-wrong-hash": (
        lambda: NoteSigner.from_skey(ALICE.skey().replace(ALICE_HASH, "00000000")),
        BadInput,
        "malformed signer key: the key hash does not match the name and key",
    ),
    "skey-not-exportable": (
        lambda: NoteSigner("hsm.example/key", HsmSigner()).skey(),
        BadInput,
        "this signer's private key cannot be exported",
    ),
    "signer-bad-name": (
        lambda: NoteSigner("a b", Ed25519Signer.generate()),
        BadInput,
        "invalid key name: it must be non-empty, without spaces or '+'",
    ),
    "signer-short-key": (
        lambda: NoteSigner("n", _ShortKeySigner()),
        BadInput,
        "an Ed25519 public key is 32 bytes",
    ),
    "witness-short-key": (
        lambda: CosignatureSigner("n", _ShortKeySigner()),
        BadInput,
        "an Ed25519 public key is 32 bytes",
    ),
    "witness-short-signature": (
        lambda: CosignatureSigner("n", _ShortSignatureSigner()).cosign(BODY, 5),
        BadInput,
        "the signer returned 63 bytes, not 64",
    ),
    "cosign-negative-time": (
        lambda: W1.cosign(BODY, -1),
        BadInput,
        "a cosignature timestamp is an integer in [0, 2^63)",
    ),
    "signature-line-without-signature": (
        lambda: parse_note(f"{TEXT}\n{EM} {ALICE.name}\n"),
        MalformedNote,
        "signature line 1: the signature is not base64",
    ),
    "checkpoint-of-another-log": (
        lambda: open_checkpoint(
            sign_checkpoint(CP, [ALICE]), [ALICE.verifier()], origin="log.example/two"
        ),
        VerificationError,
        "checkpoint is for 'log.example/one', not 'log.example/two'",
    ),
}


@pytest.mark.parametrize("case", REFUSALS)
def test_refusals_say_what_is_wrong(case: str) -> None:
    """The reason a key, signer, note or checkpoint is refused is what its user reads."""
    make, error, detail = REFUSALS[case]
    with pytest.raises(error) as err:
        make()
    assert isinstance(err.value, OrgBookError)
    assert err.value.detail == detail


def test_ambiguous_verifier_keys_are_named() -> None:
    forged = NoteVerifier.from_public_key(ALICE.name, ALICE.public_key)
    object.__setattr__(forged, "public_key", BOB.public_key)  # a 32-bit key-ID collision
    with pytest.raises(BadInput) as err:
        open_note(SIGNED, [ALICE.verifier(), forged])
    assert err.value.detail == f"ambiguous verifier key {ALICE.name}+{ALICE.key_hash.hex()}"


def test_signature_types_are_one_byte_from_0_to_255() -> None:
    for alg in (0, 0xFF):
        digest = hashlib.sha256(b"n\n" + bytes([alg]) + ALICE.public_key).digest()
        assert key_hash("n", ALICE.public_key, alg) == digest[:4]


def test_a_note_may_have_a_bare_newline_for_text_like_go() -> None:
    # Go's note.Open takes the text up to the last blank line, here just "\n".
    assert parse_note("\n\n" + SIG_LINE).text == "\n"


def test_format_note_takes_up_to_a_hundred_signatures() -> None:
    sigs = tuple(NoteSignature(f"w{i}", b"\x00" * 4, b"\x00" * 64) for i in range(100))
    assert len(parse_note(format_note(Note(TEXT, sigs))).signatures) == 100


CHECKPOINT_REASONS = {
    "missing lines": "a checkpoint has at least three lines: origin, size, root hash",
    "empty origin": "checkpoint origin is empty",
    "leading zero": "checkpoint size is not a decimal without leading zeros",
    "2^64": "checkpoint size does not fit in 64 bits",
    "non-canonical base64": "checkpoint root hash is not canonical base64",
    "31-byte root": "checkpoint root hash is 31 bytes, not 32",
    "empty extension": "checkpoint extension lines must be non-empty",
}


@pytest.mark.parametrize("case", CHECKPOINT_REASONS)
def test_malformed_checkpoints_say_what_is_wrong(case: str) -> None:
    with pytest.raises(MalformedNote) as err:
        Checkpoint.parse(BAD_BODIES[case])
    assert err.value.detail == CHECKPOINT_REASONS[case]


# --- fuzzing ------------------------------------------------------------------------------------

FRAGMENTS = [
    "\n",
    "\n\n",
    EM,
    EM + " ",
    " ",
    ALICE.name,
    B64,
    "=",
    "+",
    "A",
    "\x01",
    "\r",
    "é",
    "\ud800",
    "log",
    "42",
    ROOT64,
    SIG_LINE,
]
note_like = st.lists(st.sampled_from(FRAGMENTS), max_size=30).map("".join)


@settings(max_examples=400, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=400) | note_like.map(lambda s: s.encode("utf-8", "surrogatepass")))
def test_random_bytes_only_raise_note_errors(data: bytes) -> None:
    for call in (parse_note, lambda d: open_note(d, [ALICE.verifier()])):
        with contextlib.suppress(MalformedNote, VerificationError):
            call(data)


@settings(max_examples=400)
@given(note_like | st.text(max_size=200))
def test_random_text_only_raises_note_errors(data: str) -> None:
    for call in (
        parse_note,
        lambda d: open_note(d, [ALICE.verifier(), BOB.verifier()]),
        lambda d: open_checkpoint(d, [ALICE.verifier()]),
        lambda d: verify_cosignatures(d, [W1.verifier()]),
        Checkpoint.parse,
    ):
        with contextlib.suppress(MalformedNote, VerificationError):
            call(data)


@settings(max_examples=300)
@given(st.data())
def test_mutated_signed_note_never_opens_with_other_text(data: st.DataObject) -> None:
    original = sign_note(BODY, [ALICE]).encode()
    buf = bytearray(original)
    for _ in range(data.draw(st.integers(1, 4))):
        i = data.draw(st.integers(0, len(buf) - 1))
        op = data.draw(st.sampled_from(["flip", "insert", "delete"]))
        if op == "flip":
            buf[i] ^= 1 << data.draw(st.integers(0, 7))
        elif op == "insert":
            buf.insert(i, data.draw(st.integers(0, 255)))
        elif len(buf) > 1:
            del buf[i]
    try:
        note, _ = open_note(bytes(buf), [ALICE.verifier()])
    except (MalformedNote, VerificationError):
        return
    assert note.text == BODY  # only harmless edits (e.g. a duplicated line) can still verify


@settings(max_examples=200)
@given(
    origin=st.text(
        st.characters(blacklist_categories=("Cs", "Cc")), min_size=1, max_size=40
    ).filter(lambda s: "\n" not in s),
    size=st.integers(0, 2**64 - 1),
    root=st.binary(min_size=32, max_size=32),
    extensions=st.lists(
        st.text(st.characters(blacklist_categories=("Cs", "Cc")), min_size=1, max_size=20),
        max_size=3,
    ),
    timestamp=st.integers(0, 2**63 - 1),
)
def test_checkpoint_sign_cosign_round_trip(
    origin: str, size: int, root: bytes, extensions: list[str], timestamp: int
) -> None:
    cp = Checkpoint(origin, size, root, tuple(extensions))
    assert Checkpoint.parse(cp.body()) == cp
    signed = add_signatures(sign_checkpoint(cp, [ALICE]), [W1.cosign(cp.body(), timestamp)])
    got, _ = open_checkpoint(signed, [ALICE.verifier()], origin=origin)
    assert got == cp
    assert verify_cosignatures(signed, [W1.verifier()]) == {W1.name: timestamp}
