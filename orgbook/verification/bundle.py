"""Bundles: a credential with everything needed to verify it offline, and C2SP tlog-proofs.

What it owns: the bundle format (``OrgBookBundle`` version 1) and the ``c2sp.org/tlog-proof@v1``
text format, building and parsing both. A bundle is what a business downloads and hands to
anyone; it verifies with nothing but the ledger's public key (a C2SP verifier key)::

    {
      "type": "OrgBookBundle", "version": 1,
      "credential": {...},                      # the signed VC 2.0 credential
      "entry": {index, timestamp, kind, payload, prev},   # its ledger entry; JCS = the leaf
      "proof": "c2sp.org/tlog-proof@v1\\nindex N\\n<hashes>\\n\\n<signed checkpoint>",
      "issuer": {"entry": {...issuer.registered...}, "proof": "..."},
      "issuerKeys": [{"entry": {...issuer.key.added|retired...}, "proof": "..."}, ...],
      "status": {                               # optional (bundles from before it verify too)
        "lists": [{"entry": {...statuslist.published...}, "proof": "..."}, ...],
        "events": [{"entry": {...credential.revoked|suspended|unsuspended|superseded...},
                    "proof": "..."}, ...]
      },
      "authorisation": {"entry": {...authorisation.granted...}, "proof": "..."},  # optional
      "governance": [{"entry": {...governance.key.added|retired...}, "proof": "..."}, ...],
      "withdrawals": [{"entry": {...authorisation.withdrawn...}, "proof": "..."}, ...],
      "credentialType": {"entry": {...type.registered...}, "proof": "..."}  # optional
    }

The issuer's registration and keys come from the ledger itself (each entry with its own
inclusion proof, under the same checkpoint), so an offline verifier learns which keys the issuer
had, and when, without asking the network. ``status`` carries revocation transparency as of the
checkpoint: the latest logged version of each status list the credential names, and the
credential's own revocation, suspension and supersession entries. ``authorisation``,
``governance`` and ``withdrawals`` (optional, together) carry a credential whose issuer is
trusted through an authorisation entry signed by the registry's governance key
(:mod:`orgbook.verification.authorisation`) rather than its ``issuer.registered`` types;
``governance`` may also be one ``{entry, proof}`` object. ``credentialType`` (optional) carries
the ``type.registered`` entry of a registered type's credential, so its subject is checked
against the registered schema offline (:mod:`orgbook.verification.registered_types`).

What it must not do: I/O, or decide whether anything verifies (that is
:mod:`orgbook.verification.bundle_checks`). Parsing is strict about structure —
:class:`BadInput` with the JSON pointer of the field at fault — and says nothing about hashes or
signatures.
"""

from __future__ import annotations

import base64
import binascii
import copy
import functools
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from orgbook.core.errors import BadInput
from orgbook.ledger.entry import FIELDS, Entry

__all__ = [
    "AUTHORISATION_MEMBERS",
    "BUNDLE_TYPE",
    "BUNDLE_VERSION",
    "TLOG_PROOF_HEADER",
    "TYPE_MEMBER",
    "Bundle",
    "ProvenEntry",
    "build_bundle",
    "check_envelope",
    "format_tlog_proof",
    "is_bundle",
    "logged_status_entries",
    "parse_bundle",
    "parse_proven_entry",
    "parse_tlog_proof",
    "proven_entry_json",
]

BUNDLE_TYPE = "OrgBookBundle"
BUNDLE_VERSION = 1
TLOG_PROOF_HEADER = "c2sp.org/tlog-proof@v1"
MAX_PROOF_HASHES = 64  # a tree of 2^64 leaves has at most 64 levels
MAX_ISSUER_KEYS = 256
_DECIMAL = re.compile(r"0|[1-9][0-9]{0,19}")
AUTHORISATION_MEMBERS = frozenset({"authorisation", "governance", "withdrawals"})
TYPE_MEMBER = "credentialType"
_BASE64 = re.compile(r"[A-Za-z0-9+/]{43}=")  # exactly 32 bytes, padded


@dataclass(frozen=True, slots=True)
class ProvenEntry:
    """A ledger entry with its inclusion proof and the signed checkpoint it is proven under.

    Nothing here is verified: ``entry`` parsed, ``proof`` decoded, ``note`` kept verbatim.
    ``index`` is the index the tlog-proof states (which must equal ``entry.index`` to verify).
    """

    entry: Entry
    index: int
    proof: tuple[bytes, ...]
    note: str


@dataclass(frozen=True, slots=True)
class Bundle:
    """A parsed bundle; see the module docstring for the JSON."""

    credential: Mapping[str, Any]
    entry: ProvenEntry
    issuer: ProvenEntry | None
    issuer_keys: tuple[ProvenEntry, ...]


# --- tlog-proof ---------------------------------------------------------------------------------


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def format_tlog_proof(index: int, proof: Sequence[bytes], checkpoint_note: str) -> str:
    """The ``c2sp.org/tlog-proof@v1`` text: header, index, one base64 hash a line, blank line,
    then the signed checkpoint note verbatim (with any witness cosignatures)."""
    if type(index) is not int or index < 0:
        raise BadInput("a tlog-proof index is a non-negative integer", field="index")
    if not isinstance(checkpoint_note, str) or not checkpoint_note.endswith("\n"):
        raise BadInput("the checkpoint is a signed note ending with a newline", field="note")
    lines = [TLOG_PROOF_HEADER, f"index {index}"]
    for item in proof:
        if not isinstance(item, bytes) or len(item) != 32:
            raise BadInput("every inclusion proof hash is 32 bytes", field="proof")
        lines.append(_b64(item))
    return "\n".join(lines) + "\n\n" + checkpoint_note


def parse_tlog_proof(text: object) -> tuple[int, tuple[bytes, ...], str]:
    """``(index, inclusion proof, checkpoint note)`` from tlog-proof text.

    The optional ``extra`` line is accepted and dropped: the spec says not to trust it, and
    orgbook does not use it. :class:`BadInput` says what is malformed. Parses are remembered
    per text (the issuer's entries carry the same proofs in every bundle under a checkpoint).
    """
    if not isinstance(text, str):
        raise BadInput("a tlog-proof is a string")
    return _parse_tlog_proof(text)


@functools.lru_cache(maxsize=4096)
def _parse_tlog_proof(text: str) -> tuple[int, tuple[bytes, ...], str]:
    head, sep, note = text.partition("\n\n")
    if not sep:
        raise BadInput("tlog-proof has no blank line before the checkpoint")
    if not note:
        raise BadInput("tlog-proof has no checkpoint after the blank line")
    lines = head.split("\n")
    if lines[0] != TLOG_PROOF_HEADER:
        raise BadInput(f"tlog-proof does not start with {TLOG_PROOF_HEADER}")
    position = 1
    if position < len(lines) and lines[position].startswith("extra "):
        position += 1
    if position >= len(lines) or not lines[position].startswith("index "):
        raise BadInput("tlog-proof has no 'index N' line")
    number = lines[position][len("index ") :]
    if _DECIMAL.fullmatch(number) is None or int(number) >= 2**64:
        raise BadInput("tlog-proof index is not a decimal without leading zeros")
    hashes: list[bytes] = []
    for line in lines[position + 1 :]:
        if _BASE64.fullmatch(line) is None:
            raise BadInput(f"tlog-proof hash line {len(hashes) + 1} is not base64 of 32 bytes")
        try:
            hashes.append(binascii.a2b_base64(line, strict_mode=True))
        except (binascii.Error, ValueError):
            raise BadInput(f"tlog-proof hash line {len(hashes) + 1} is not base64") from None
    if len(hashes) > MAX_PROOF_HASHES:
        raise BadInput(f"tlog-proof has more than {MAX_PROOF_HASHES} hashes")
    return int(number), tuple(hashes), note


# --- bundles ------------------------------------------------------------------------------------


def _entry_from_json(value: object, field: str) -> Entry:
    if not isinstance(value, Mapping):
        raise BadInput("a ledger entry is a JSON object", field=field)
    if set(value) != FIELDS:
        missing = sorted(FIELDS - set(value))
        extra = sorted(set(value) - FIELDS)
        raise BadInput(
            f"a ledger entry has exactly index, timestamp, kind, payload, prev "
            f"(missing {missing}, unexpected {extra})",
            field=field,
        )
    try:
        return Entry(
            index=value["index"],
            timestamp=value["timestamp"],
            kind=value["kind"],
            payload=value["payload"],
            prev=value["prev"],
        )
    except BadInput as exc:
        raise BadInput(exc.detail, field=f"{field}/{exc.field}" if exc.field else field) from None


def parse_proven_entry(
    entry: object, proof: object, *, entry_field: str, proof_field: str
) -> ProvenEntry:
    """An entry object and its tlog-proof text; :class:`BadInput` naming the field at fault."""
    parsed = _entry_from_json(entry, entry_field)
    try:
        index, hashes, note = parse_tlog_proof(proof)
    except BadInput as exc:
        raise BadInput(exc.detail, field=proof_field) from None
    return ProvenEntry(parsed, index, hashes, note)


def _proven_item(value: object, field: str) -> ProvenEntry:
    if not isinstance(value, Mapping):
        raise BadInput("expected {entry, proof}", field=field)
    unexpected = sorted(set(value) - {"entry", "proof"})
    if unexpected:
        raise BadInput(f"unexpected members {unexpected}", field=field)
    return parse_proven_entry(
        value.get("entry"),
        value.get("proof"),
        entry_field=f"{field}/entry",
        proof_field=f"{field}/proof",
    )


def is_bundle(value: object) -> bool:
    """Whether ``value`` claims to be a bundle (its ``type`` is ``OrgBookBundle``)."""
    return isinstance(value, Mapping) and value.get("type") == BUNDLE_TYPE


def check_envelope(value: object) -> Mapping[str, Any]:
    """The bundle's type, version and credential; :class:`BadInput` otherwise."""
    if not isinstance(value, Mapping):
        raise BadInput("a bundle is a JSON object", field="")
    if value.get("type") != BUNDLE_TYPE:
        raise BadInput(f"a bundle has type {BUNDLE_TYPE!r}", field="/type")
    version = value.get("version")
    if type(version) is not int or version != BUNDLE_VERSION:
        raise BadInput(
            f"unsupported bundle version (this verifier reads {BUNDLE_VERSION})", field="/version"
        )
    credential = value.get("credential")
    if not isinstance(credential, Mapping):
        raise BadInput("the bundle's credential is a JSON object", field="/credential")
    known = {"type", "version", "credential", "entry", "proof", "issuer", "issuerKeys", "status"}
    known |= AUTHORISATION_MEMBERS | {TYPE_MEMBER}
    unexpected = sorted(set(value) - known)
    if unexpected:
        raise BadInput(f"unexpected bundle members {unexpected}", field="/" + unexpected[0])
    keys = value.get("issuerKeys", [])
    if not isinstance(keys, list):
        raise BadInput("issuerKeys is a list", field="/issuerKeys")
    if len(keys) > MAX_ISSUER_KEYS:
        raise BadInput(f"more than {MAX_ISSUER_KEYS} issuer keys", field="/issuerKeys")
    for name in ("governance", "withdrawals"):
        items = value.get(name, [])
        if not isinstance(items, list | Mapping) or len(items) > MAX_ISSUER_KEYS:
            raise BadInput(
                f"{name} is a list of at most {MAX_ISSUER_KEYS} entries", field=f"/{name}"
            )
    status = value.get("status")
    if status is not None:
        if not isinstance(status, Mapping) or set(status) - {"lists", "events"}:
            raise BadInput("status is an object of lists and events", field="/status")
        for name in ("lists", "events"):
            items = status.get(name, [])
            if not isinstance(items, list) or len(items) > MAX_ISSUER_KEYS:
                raise BadInput(
                    f"{name} is a list of at most {MAX_ISSUER_KEYS} entries",
                    field=f"/status/{name}",
                )
    return credential


def logged_status_entries(bundle: Mapping[str, Any]) -> tuple[Any, ...] | None:
    """A bundle's ``status`` entries, unparsed (the logged list versions, then the credential's
    status entries), or None when it has no ``status`` member."""
    status = bundle.get("status")
    if not isinstance(status, Mapping):
        return None
    return tuple(status.get("lists") or ()) + tuple(status.get("events") or ())


def parse_bundle(obj: object) -> Bundle:
    """Parse a bundle strictly; :class:`BadInput` with ``field`` the JSON pointer at fault."""
    credential = check_envelope(obj)
    assert isinstance(obj, Mapping)
    entry = parse_proven_entry(
        obj.get("entry"), obj.get("proof"), entry_field="/entry", proof_field="/proof"
    )
    issuer = _proven_item(obj["issuer"], "/issuer") if obj.get("issuer") is not None else None
    keys = tuple(
        _proven_item(item, f"/issuerKeys/{i}") for i, item in enumerate(obj.get("issuerKeys", []))
    )
    status = obj.get("status") or {}
    for name in ("lists", "events"):
        for i, item in enumerate(status.get(name, [])):
            _proven_item(item, f"/status/{name}/{i}")
    return Bundle(credential, entry, issuer, keys)


def proven_entry_json(entry: Entry, proof: Sequence[bytes], checkpoint_note: str) -> dict[str, Any]:
    """``{entry, proof}`` for the ``issuer`` and ``issuerKeys`` members."""
    return {
        "entry": copy.deepcopy(entry.to_json()),
        "proof": format_tlog_proof(entry.index, proof, checkpoint_note),
    }


def build_bundle(
    *,
    credential: Mapping[str, Any],
    entry: Entry,
    proof: Sequence[bytes],
    checkpoint_note: str,
    issuer: tuple[Entry, Sequence[bytes]] | None = None,
    issuer_keys: Sequence[tuple[Entry, Sequence[bytes]]] = (),
    status_lists: Sequence[tuple[Entry, Sequence[bytes]]] | None = None,
    status_events: Sequence[tuple[Entry, Sequence[bytes]]] = (),
    authorisation: tuple[Entry, Sequence[bytes]] | None = None,
    governance: Sequence[tuple[Entry, Sequence[bytes]]] = (),
    withdrawals: Sequence[tuple[Entry, Sequence[bytes]]] = (),
    credential_type: tuple[Entry, Sequence[bytes]] | None = None,
) -> dict[str, Any]:
    """The bundle JSON: every proof is under the one signed checkpoint ``checkpoint_note``."""
    # Deep copies: the bundle shares no mutable state with the entries it was built from.
    body: dict[str, Any] = {
        "type": BUNDLE_TYPE,
        "version": BUNDLE_VERSION,
        "credential": copy.deepcopy(dict(credential)),
        "entry": copy.deepcopy(entry.to_json()),
        "proof": format_tlog_proof(entry.index, proof, checkpoint_note),
    }
    if issuer is not None:
        body["issuer"] = proven_entry_json(issuer[0], issuer[1], checkpoint_note)
    body["issuerKeys"] = [proven_entry_json(e, p, checkpoint_note) for e, p in issuer_keys]
    if status_lists is not None:
        body["status"] = {
            "lists": [proven_entry_json(e, p, checkpoint_note) for e, p in status_lists],
            "events": [proven_entry_json(e, p, checkpoint_note) for e, p in status_events],
        }
    if authorisation is not None:
        body["authorisation"] = proven_entry_json(*authorisation, checkpoint_note)
        body["governance"] = [proven_entry_json(e, p, checkpoint_note) for e, p in governance]
        body["withdrawals"] = [proven_entry_json(e, p, checkpoint_note) for e, p in withdrawals]
    if credential_type is not None:
        body[TYPE_MEMBER] = proven_entry_json(*credential_type, checkpoint_note)
    return body
