"""C2SP signed notes, tlog checkpoints and tlog cosignatures.

Owns three wire formats and nothing else:

* ``c2sp.org/signed-note``: text + blank line + ``— <name> base64(key ID || signature)`` lines;
  verifier keys ``name+hexID+base64(type || public key)`` and Go's signer keys
  ``PRIVATE+KEY+name+hexID+base64(type || seed)`` (Ed25519, type ``0x01``).
* ``c2sp.org/tlog-checkpoint``: the note body ``origin\\nsize\\nbase64(root)\\n`` + extension lines.
* ``c2sp.org/tlog-cosignature`` v1 (Ed25519, type ``0x04``): a witness signs
  ``"cosignature/v1\\ntime <t>\\n" + checkpoint body`` and its signature is
  ``u64be(t) || Ed25519 signature``.

Parsing follows golang.org/x/mod/sumdb/note (``Open``) rule for rule: valid UTF-8, no control
characters but newline, the *last* blank line separates text from signatures, at most 100
signatures, names non-empty without Unicode spaces or ``+``. Verification is stricter than Go in
one way the spec recommends: every signature by a known key must verify, not just the first.

Pure: no I/O, no clock (timestamps are parameters). Ed25519 goes through :mod:`orgbook.core.crypto`.
Errors: :class:`MalformedNote` for text that does not parse, :class:`VerificationError` for
signatures that do not verify, :class:`BadInput` for bad keys or arguments.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import ClassVar, Self

from orgbook.core.crypto import Ed25519Signer, Signer, verify_ed25519
from orgbook.core.errors import BadInput, MalformedNote, VerificationError

__all__ = [
    "ALG_COSIGNATURE_V1",
    "ALG_ED25519",
    "MAX_SIGNATURES",
    "Checkpoint",
    "CosignatureSigner",
    "CosignatureVerifier",
    "Note",
    "NoteSignature",
    "NoteSigner",
    "NoteVerifier",
    "add_signatures",
    "format_note",
    "key_hash",
    "open_checkpoint",
    "open_note",
    "parse_note",
    "sign_checkpoint",
    "sign_note",
    "verify_cosignatures",
]

ALG_ED25519 = 0x01
ALG_COSIGNATURE_V1 = 0x04
MAX_SIGNATURES = 100  # Go's limit; the spec asks for at least 16
KEY_HASH_SIZE = 4
PUBLIC_KEY_SIZE = 32
SIGNATURE_SIZE = 64
TIMESTAMP_SIZE = 8
MAX_TIMESTAMP = 2**63 - 1  # tlog-cosignature: "MUST NOT exceed 2^63 - 1"
MAX_TREE_SIZE = 2**64 - 1
SIG_PREFIX = "\u2014 "  # em dash, space
COSIGNATURE_HEADER = "cosignature/v1\n"

# Go's unicode.IsSpace (Latin-1 spaces plus the White_Space property), lone surrogates (not
# UTF-8), "+", and the other ASCII control characters a note could never carry anyway.
_BAD_NAME = re.compile(
    "[\x00-\x20+\x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000\ud800-\udfff]"
)
_CONTROL = re.compile("[\x00-\x09\x0b-\x1f]")
_SURROGATE = re.compile("[\ud800-\udfff]")
_HEX8 = re.compile("[0-9a-fA-F]{8}")
_BASE64 = re.compile("[A-Za-z0-9+/]*={0,2}")
_DECIMAL = re.compile("0|[1-9][0-9]*")


# --- helpers ------------------------------------------------------------------------------------


def key_hash(name: str, public_key: bytes, alg: int = ALG_ED25519) -> bytes:
    """The 4-byte key ID: ``SHA-256(name || "\\n" || alg || public key)[:4]``."""
    if not 0 <= alg <= 0xFF:
        raise BadInput(f"signature type must be one byte, not {alg}")
    digest = hashlib.sha256(name.encode("utf-8") + b"\n" + bytes([alg]) + bytes(public_key))
    return digest.digest()[:KEY_HASH_SIZE]


def _valid_name(name: object) -> bool:
    return isinstance(name, str) and name != "" and _BAD_NAME.search(name) is None


def _b64decode(text: str) -> bytes | None:
    """Standard padded base64 (RFC 4648 §4), or None. Rejects whitespace and stray padding."""
    if len(text) % 4 or _BASE64.fullmatch(text) is None:
        return None
    try:
        return binascii.a2b_base64(text, strict_mode=True)
    except (binascii.Error, ValueError):
        return None


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _chop(text: str, sep: str) -> tuple[str, str]:
    """Go's chop: split at the first ``sep``; without one, everything is the head."""
    head, found, tail = text.partition(sep)
    return (head, tail) if found else (text, "")


def _parse_key(vkey: object, what: str) -> tuple[str, bytes, int, bytes]:
    """Split ``name+hexhash+base64(alg || key)``: (name, hash, alg, key), hash checked."""
    if not isinstance(vkey, str):
        raise BadInput(f"a {what} is a string")
    name, rest = _chop(vkey, "+")
    hash16, key64 = _chop(rest, "+")
    raw = _b64decode(key64)
    if not _valid_name(name):
        raise BadInput(f"malformed {what}: invalid key name")
    if _HEX8.fullmatch(hash16) is None:
        raise BadInput(f"malformed {what}: the key hash is not 8 hex digits")
    if raw is None or len(raw) == 0:
        raise BadInput(f"malformed {what}: the key is not base64")
    alg, key = raw[0], raw[1:]
    if bytes.fromhex(hash16) != key_hash(name, key, alg):
        raise BadInput(f"malformed {what}: the key hash does not match the name and key")
    return name, bytes.fromhex(hash16), alg, key


def _check_text(text: str) -> None:
    """The note-text rules: non-empty, newline-terminated, UTF-8, no control characters."""
    if not isinstance(text, str):
        raise MalformedNote("note text must be a string")
    if not text.endswith("\n"):
        raise MalformedNote("note text must be non-empty and end with a newline")
    if _SURROGATE.search(text):
        raise MalformedNote("note text is not valid UTF-8")
    bad = _CONTROL.search(text)
    if bad is not None:
        raise MalformedNote(
            f"note text contains control character U+{ord(bad.group()):04X} at {bad.start()}"
        )


def _signer_name(name: object) -> str:
    if not _valid_name(name):
        raise BadInput("invalid key name: it must be non-empty, without spaces or '+'")
    assert isinstance(name, str)
    return name


def _verifier_index(
    verifiers: Iterable[NoteVerifier | CosignatureVerifier], what: str
) -> dict[tuple[str, bytes], bytes]:
    """(name, key hash) -> public key; two different keys under one (name, hash) are refused."""
    index: dict[tuple[str, bytes], bytes] = {}
    for v in verifiers:
        ident = (v.name, v.key_hash)
        if index.setdefault(ident, v.public_key) != v.public_key:
            raise BadInput(f"ambiguous {what} {v.name}+{v.key_hash.hex()}")
    return index


# --- keys ---------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _VerifierKey:
    """A named Ed25519 verifier key ``name+hexhash+base64(alg || public key)`` of one type."""

    name: str
    key_hash: bytes
    public_key: bytes

    ALG: ClassVar[int]
    WHAT: ClassVar[str]  # how parse errors name this kind of key
    SHORT: ClassVar[str]  # … and length errors
    WRONG_ALG: ClassVar[str]  # the message for a key of another signature type

    def __post_init__(self) -> None:
        if not _valid_name(self.name):
            raise BadInput("invalid key name: it must be non-empty, without spaces or '+'")
        if not isinstance(self.public_key, bytes) or len(self.public_key) != PUBLIC_KEY_SIZE:
            raise BadInput(f"an Ed25519 public key is {PUBLIC_KEY_SIZE} bytes")
        if self.key_hash != key_hash(self.name, self.public_key, self.ALG):
            raise BadInput("the key hash does not match the name and key")

    @classmethod
    def from_public_key(cls, name: str, public_key: bytes) -> Self:
        return cls(name, key_hash(_signer_name(name), public_key, cls.ALG), public_key)

    @classmethod
    def from_vkey(cls, vkey: str) -> Self:
        """Parse the key string; :class:`BadInput` if malformed or of another type."""
        name, khash, alg, key = _parse_key(vkey, cls.WHAT)
        if alg != cls.ALG:
            raise BadInput(cls.WRONG_ALG.format(alg=alg))
        if len(key) != PUBLIC_KEY_SIZE:
            raise BadInput(f"malformed {cls.SHORT}: an Ed25519 key is {PUBLIC_KEY_SIZE} bytes")
        return cls(name, khash, key)

    def vkey(self) -> str:
        return f"{self.name}+{self.key_hash.hex()}+{_b64(bytes([self.ALG]) + self.public_key)}"


@dataclass(frozen=True, slots=True)
class NoteVerifier(_VerifierKey):
    """An Ed25519 signed-note verifier key (signature type ``0x01``)."""

    ALG: ClassVar[int] = ALG_ED25519
    WHAT: ClassVar[str] = "verifier key"
    SHORT: ClassVar[str] = "verifier key"
    WRONG_ALG: ClassVar[str] = "unknown verifier algorithm 0x{alg:02x}"

    def verify(self, message: bytes, signature: bytes) -> bool:
        """Whether ``signature`` (64 bytes, no key-hash prefix) signs ``message``; never raises."""
        return verify_ed25519(self.public_key, signature, message)


class NoteSigner:
    """Signs notes with an Ed25519 :class:`~orgbook.core.crypto.Signer` under a key name."""

    __slots__ = ("_signer", "key_hash", "name", "public_key")

    def __init__(self, name: str, signer: Signer) -> None:
        self.name = _signer_name(name)
        self._signer = signer
        self.public_key = bytes(signer.public_key)
        if len(self.public_key) != PUBLIC_KEY_SIZE:
            raise BadInput(f"an Ed25519 public key is {PUBLIC_KEY_SIZE} bytes")
        self.key_hash = key_hash(self.name, self.public_key, ALG_ED25519)

    @classmethod
    def generate(cls, name: str) -> NoteSigner:
        return cls(name, Ed25519Signer.generate())

    @classmethod
    def from_skey(cls, skey: str) -> NoteSigner:
        """Parse Go's ``PRIVATE+KEY+name+hexhash+base64(0x01 || seed)``."""
        if not isinstance(skey, str):
            raise BadInput("a signer key is a string")
        priv, rest = _chop(skey, "+")
        key, rest = _chop(rest, "+")
        name, rest = _chop(rest, "+")
        hash16, key64 = _chop(rest, "+")
        raw = _b64decode(key64)
        if (
            priv != "PRIVATE"
            or key != "KEY"
            or not _valid_name(name)
            or _HEX8.fullmatch(hash16) is None
            or not raw
        ):
            raise BadInput("malformed signer key")
        if raw[0] != ALG_ED25519:
            raise BadInput(f"unknown signer algorithm 0x{raw[0]:02x}")
        if len(raw) != 1 + PUBLIC_KEY_SIZE:
            raise BadInput("malformed signer key: an Ed25519 seed is 32 bytes")
        signer = cls(name, Ed25519Signer.from_seed(raw[1:]))
        # The hash is over the public key, so it can only be checked after deriving it.
        if signer.key_hash != bytes.fromhex(hash16):
            raise BadInput("malformed signer key: the key hash does not match the name and key")
        return signer

    @property
    def signer(self) -> Signer:
        return self._signer

    def skey(self) -> str:
        """Go's signer key string. Secret: only for keys held in memory."""
        if not isinstance(self._signer, Ed25519Signer):
            raise BadInput("this signer's private key cannot be exported")
        seed = bytes([ALG_ED25519]) + self._signer.seed
        return f"PRIVATE+KEY+{self.name}+{self.key_hash.hex()}+{_b64(seed)}"

    def vkey(self) -> str:
        return self.verifier().vkey()

    def verifier(self) -> NoteVerifier:
        return NoteVerifier(self.name, self.key_hash, self.public_key)

    def sign(self, message: bytes) -> bytes:
        """The raw 64-byte Ed25519 signature of ``message``."""
        signature = bytes(self._signer.sign(message))
        if len(signature) != SIGNATURE_SIZE:
            raise BadInput(f"the signer returned {len(signature)} bytes, not {SIGNATURE_SIZE}")
        return signature

    def __repr__(self) -> str:  # never the seed
        return f"NoteSigner({self.vkey()!r})"


# --- notes --------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class NoteSignature:
    """One signature line: the key name, its 4-byte key ID and the signature after that ID."""

    name: str
    key_hash: bytes
    signature: bytes

    def line(self) -> str:
        """``— name base64(key hash || signature)\\n``."""
        return f"{SIG_PREFIX}{self.name} {_b64(self.key_hash + self.signature)}\n"


@dataclass(frozen=True, slots=True)
class Note:
    """A note's text (with its final newline) and its signatures, verified or not."""

    text: str
    signatures: tuple[NoteSignature, ...]


def _decode(data: str | bytes) -> str:
    if isinstance(data, str):
        if _SURROGATE.search(data):
            raise MalformedNote("note is not valid UTF-8")
        return data
    if isinstance(data, bytes | bytearray | memoryview):
        try:
            return bytes(data).decode("utf-8")
        except UnicodeDecodeError as exc:
            raise MalformedNote(f"note is not valid UTF-8 (byte {exc.start})") from None
    raise MalformedNote("a note is text or bytes")


def _parse_signature_line(line: str, number: int) -> NoteSignature:
    if not line.startswith(SIG_PREFIX):
        raise MalformedNote(f"signature line {number} does not start with an em dash and a space")
    name, b64 = _chop(line[len(SIG_PREFIX) :], " ")
    if not _valid_name(name):
        raise MalformedNote(f"signature line {number}: invalid key name")
    raw = _b64decode(b64) if b64 else None
    if raw is None:
        raise MalformedNote(f"signature line {number}: the signature is not base64")
    if len(raw) <= KEY_HASH_SIZE:
        raise MalformedNote(f"signature line {number}: the signature is too short")
    return NoteSignature(name, raw[:KEY_HASH_SIZE], raw[KEY_HASH_SIZE:])


def parse_note(data: str | bytes) -> Note:
    """Parse a signed note without verifying anything. :class:`MalformedNote` says why not."""
    msg = _decode(data)
    bad = _CONTROL.search(msg)
    if bad is not None:
        raise MalformedNote(
            f"note contains control character U+{ord(bad.group()):04X} at {bad.start()}"
        )
    split = msg.rfind("\n\n")
    if split < 0:
        raise MalformedNote("no blank line between the text and the signatures")
    text, block = msg[: split + 1], msg[split + 2 :]
    if not block:
        raise MalformedNote("no signatures after the blank line")
    if not block.endswith("\n"):
        raise MalformedNote("the last signature line does not end with a newline")
    lines = block[:-1].split("\n")
    if len(lines) > MAX_SIGNATURES:
        raise MalformedNote(f"more than {MAX_SIGNATURES} signatures")
    return Note(text, tuple(_parse_signature_line(line, i) for i, line in enumerate(lines, 1)))


def format_note(note: Note) -> str:
    """The wire form of ``note``; refuses (:class:`MalformedNote`) what would not parse back."""
    _check_text(note.text)
    if not note.signatures:
        raise MalformedNote("a signed note needs at least one signature")
    if len(note.signatures) > MAX_SIGNATURES:
        raise MalformedNote(f"more than {MAX_SIGNATURES} signatures")
    for sig in note.signatures:
        if not _valid_name(sig.name):
            raise MalformedNote(f"invalid key name {sig.name!r}")
        if len(sig.key_hash) != KEY_HASH_SIZE or not sig.signature:
            raise MalformedNote(f"signature by {sig.name} has a malformed key hash or signature")
    return note.text + "\n" + "".join(sig.line() for sig in note.signatures)


def sign_note(text: str, signers: Sequence[NoteSigner]) -> str:
    """Sign ``text`` (non-empty, newline-terminated) with each signer, in order."""
    _check_text(text)
    if not signers:
        raise BadInput("sign_note needs at least one signer")
    message = text.encode("utf-8")
    signatures: list[NoteSignature] = []
    seen: set[tuple[str, bytes]] = set()
    for signer in signers:
        if (signer.name, signer.key_hash) in seen:
            continue
        seen.add((signer.name, signer.key_hash))
        signatures.append(NoteSignature(signer.name, signer.key_hash, signer.sign(message)))
    return format_note(Note(text, tuple(signatures)))


def open_note(
    data: str | bytes, verifiers: Sequence[NoteVerifier]
) -> tuple[Note, list[NoteVerifier]]:
    """Parse ``data`` and verify it against ``verifiers``.

    1. Signatures whose (name, key hash) matches no verifier are ignored, as the spec requires.
    2. Every signature by a known key must verify, or :class:`VerificationError`.
    3. At least one known key must have signed, or :class:`VerificationError`.

    Returns the note (with every signature, known or not) and the verifiers that verified it,
    in signature order.
    """
    note = parse_note(data)
    known = {(v.name, v.key_hash): v for v in verifiers}
    _verifier_index(verifiers, "verifier key")
    message = note.text.encode("utf-8")
    verified: list[NoteVerifier] = []
    checked: set[NoteSignature] = set()
    for sig in note.signatures:
        verifier = known.get((sig.name, sig.key_hash))
        if verifier is None or sig in checked:
            continue
        checked.add(sig)
        if not verifier.verify(message, sig.signature):
            raise VerificationError(f"invalid signature for key {sig.name}+{sig.key_hash.hex()}")
        if verifier not in verified:
            verified.append(verifier)
    if not verified:
        raise VerificationError("no signature by a known key")
    return note, verified


def add_signatures(note_text: str, signatures: Sequence[NoteSignature]) -> str:
    """Append signature lines (e.g. cosignatures) to the signed note ``note_text``.

    A new signature replaces an existing one by the same key (name and key hash), as Go's
    ``note.Sign`` does; nothing is verified here.
    """
    note = parse_note(note_text)
    new: dict[tuple[str, bytes], NoteSignature] = {}
    for sig in signatures:
        new.setdefault((sig.name, sig.key_hash), sig)
    kept = tuple(s for s in note.signatures if (s.name, s.key_hash) not in new)
    return format_note(Note(note.text, kept + tuple(new.values())))


# --- checkpoints --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Checkpoint:
    """A tlog-checkpoint body: origin, tree size, root hash and optional extension lines."""

    origin: str
    size: int
    root: bytes
    extensions: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not isinstance(self.origin, str) or not self.origin:
            raise MalformedNote("checkpoint origin must be non-empty")
        if "\n" in self.origin:
            raise MalformedNote("checkpoint origin must be one line")
        if (
            not isinstance(self.size, int)
            or isinstance(self.size, bool)
            or not 0 <= self.size <= MAX_TREE_SIZE
        ):
            raise MalformedNote("checkpoint size must be an integer in [0, 2^64)")
        if not isinstance(self.root, bytes) or len(self.root) != 32:
            raise MalformedNote("checkpoint root hash must be 32 bytes")
        for ext in self.extensions:
            if not isinstance(ext, str) or not ext or "\n" in ext:
                raise MalformedNote("checkpoint extension lines must be non-empty single lines")
        _check_text(self.body())

    def body(self) -> str:
        lines = [self.origin, str(self.size), _b64(self.root), *self.extensions]
        return "".join(line + "\n" for line in lines)

    @classmethod
    def parse(cls, body: str) -> Checkpoint:
        """Parse a checkpoint note text; :class:`MalformedNote` says what is wrong."""
        _check_text(body)
        lines = body[:-1].split("\n")
        if len(lines) < 3:
            raise MalformedNote("a checkpoint has at least three lines: origin, size, root hash")
        origin, size, root64, *extensions = lines
        if not origin:
            raise MalformedNote("checkpoint origin is empty")
        if _DECIMAL.fullmatch(size) is None:
            raise MalformedNote("checkpoint size is not a decimal without leading zeros")
        if int(size) > MAX_TREE_SIZE:
            raise MalformedNote("checkpoint size does not fit in 64 bits")
        root = _b64decode(root64)
        if root is None or _b64(root) != root64:
            raise MalformedNote("checkpoint root hash is not canonical base64")
        if len(root) != 32:
            raise MalformedNote(f"checkpoint root hash is {len(root)} bytes, not 32")
        if any(not ext for ext in extensions):
            raise MalformedNote("checkpoint extension lines must be non-empty")
        return cls(origin, int(size), root, tuple(extensions))


def sign_checkpoint(checkpoint: Checkpoint, signers: Sequence[NoteSigner]) -> str:
    return sign_note(checkpoint.body(), signers)


def open_checkpoint(
    data: str | bytes, verifiers: Sequence[NoteVerifier], *, origin: str | None = None
) -> tuple[Checkpoint, Note]:
    """Verify a signed checkpoint (see :func:`open_note`) and parse its body.

    With ``origin``, a checkpoint of another log is a :class:`VerificationError`.
    """
    note, _ = open_note(data, verifiers)
    checkpoint = Checkpoint.parse(note.text)
    if origin is not None and checkpoint.origin != origin:
        raise VerificationError(f"checkpoint is for {checkpoint.origin!r}, not {origin!r}")
    return checkpoint, note


# --- cosignatures -------------------------------------------------------------------------------


def _cosigned_message(checkpoint_body: str, timestamp: int) -> bytes:
    return f"{COSIGNATURE_HEADER}time {timestamp}\n{checkpoint_body}".encode()


class CosignatureSigner:
    """A witness key making tlog-cosignature/v1 Ed25519 cosignatures (type ``0x04``)."""

    __slots__ = ("_signer", "key_hash", "name", "public_key")

    def __init__(self, name: str, signer: Signer) -> None:
        self.name = _signer_name(name)
        self._signer = signer
        self.public_key = bytes(signer.public_key)
        if len(self.public_key) != PUBLIC_KEY_SIZE:
            raise BadInput(f"an Ed25519 public key is {PUBLIC_KEY_SIZE} bytes")
        self.key_hash = key_hash(self.name, self.public_key, ALG_COSIGNATURE_V1)

    def vkey(self) -> str:
        return self.verifier().vkey()

    def verifier(self) -> CosignatureVerifier:
        return CosignatureVerifier(self.name, self.key_hash, self.public_key)

    def cosign(self, checkpoint_body: str, timestamp: int) -> NoteSignature:
        """Cosign a checkpoint body at ``timestamp`` (POSIX seconds, a parameter, not a clock)."""
        Checkpoint.parse(checkpoint_body)
        if (
            not isinstance(timestamp, int)
            or isinstance(timestamp, bool)
            or not 0 <= timestamp <= MAX_TIMESTAMP
        ):
            raise BadInput("a cosignature timestamp is an integer in [0, 2^63)")
        signature = bytes(self._signer.sign(_cosigned_message(checkpoint_body, timestamp)))
        if len(signature) != SIGNATURE_SIZE:
            raise BadInput(f"the signer returned {len(signature)} bytes, not {SIGNATURE_SIZE}")
        return NoteSignature(
            self.name, self.key_hash, timestamp.to_bytes(TIMESTAMP_SIZE, "big") + signature
        )

    def __repr__(self) -> str:
        return f"CosignatureSigner({self.vkey()!r})"


@dataclass(frozen=True, slots=True)
class CosignatureVerifier(_VerifierKey):
    """A witness's cosignature/v1 verifier key: ``name+hexhash+base64(0x04 || public key)``."""

    ALG: ClassVar[int] = ALG_COSIGNATURE_V1
    WHAT: ClassVar[str] = "witness verifier key"
    SHORT: ClassVar[str] = "witness key"
    WRONG_ALG: ClassVar[str] = "not a cosignature/v1 key: signature type 0x{alg:02x}"

    def verify(self, checkpoint_body: str, signature: NoteSignature) -> int | None:
        """The cosignature's timestamp when it is this witness's valid cosignature, else None."""
        if (
            not isinstance(signature, NoteSignature)
            or not isinstance(checkpoint_body, str)
            or signature.name != self.name
            or signature.key_hash != self.key_hash
            or len(signature.signature) != TIMESTAMP_SIZE + SIGNATURE_SIZE
        ):
            return None
        timestamp = int.from_bytes(signature.signature[:TIMESTAMP_SIZE], "big")
        if timestamp > MAX_TIMESTAMP:
            return None
        try:
            message = _cosigned_message(checkpoint_body, timestamp)
        except UnicodeEncodeError:
            return None
        if not verify_ed25519(self.public_key, signature.signature[TIMESTAMP_SIZE:], message):
            return None
        return timestamp


def verify_cosignatures(note_text: str, witnesses: Sequence[CosignatureVerifier]) -> dict[str, int]:
    """Witness name -> timestamp of its valid cosignature on the signed checkpoint ``note_text``.

    Lines by other keys and cosignatures that do not verify are not counted; when a witness
    cosigned more than once, the latest valid timestamp wins. :class:`MalformedNote` if the
    note does not parse.
    """
    note = parse_note(note_text)
    _verifier_index(witnesses, "witness key")
    by_id = {(w.name, w.key_hash): w for w in witnesses}
    result: dict[str, int] = {}
    for sig in note.signatures:
        witness = by_id.get((sig.name, sig.key_hash))
        if witness is None:
            continue
        timestamp = witness.verify(note.text, sig)
        if timestamp is not None and timestamp >= result.get(witness.name, -1):
            result[witness.name] = timestamp
    return result
