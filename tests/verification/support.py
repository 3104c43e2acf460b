"""What the verification tests share: a ledger built in memory (pure: no database, no network)
with bundles of it, and ``verify``/``failed`` over :func:`verify_credential` (the credential
and its issuer come from ``tests.core.test_credentials``; fixtures are in ``conftest.py``)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from orgbook.core.credentials import CredentialType, build_credential, sign_credential
from orgbook.core.crypto import Ed25519Signer
from orgbook.core.multibase import encode_multikey_ed25519
from orgbook.core.statuslist import StatusList, build_status_list_credential, status_entry
from orgbook.ledger import merkle
from orgbook.ledger.entry import GENESIS_PREV, Entry
from orgbook.ledger.note import (
    Checkpoint,
    NoteSigner,
    sign_checkpoint,
)
from orgbook.verification.bundle import build_bundle, format_tlog_proof, parse_tlog_proof
from orgbook.verification.bundle_checks import verify_bundle
from orgbook.verification.credential import verify_credential
from orgbook.verification.report import Report
from tests.core.test_credentials import (
    NOW,
    Issuer,
)

# --- a ledger in memory, its bundles --------------------------------------------------------------

ORIGIN = "registry.example/ledger"
DID = "did:web:registry.example:issuers:acme"
STAMP = "2026-01-01T00:00:00.000000Z"
STATUS_URL = "https://registry.example/issuers/acme/status/revocation/0"
LEDGER = NoteSigner(ORIGIN, Ed25519Signer.from_seed(b"\x01" * 32))
KEY1 = Ed25519Signer.from_seed(b"\x02" * 32)
KEY2 = Ed25519Signer.from_seed(b"\x03" * 32)
STRANGER = Ed25519Signer.from_seed(b"\x04" * 32)


@dataclass
class World:
    """A ledger in memory: entries, their leaf hashes, and the signers that made them."""

    entries: list[Entry] = field(default_factory=list)
    types: tuple[str, ...] = ("legal-name",)

    def append(self, kind: str, payload: Mapping[str, Any]) -> Entry:
        prev = self.entries[-1].leaf_hash().hex() if self.entries else GENESIS_PREV
        entry = Entry(len(self.entries), STAMP, kind, dict(payload), prev)
        self.entries.append(entry)
        return entry

    def register(self) -> Entry:
        issuer = {
            "id": "acme",
            "did": DID,
            "name": "Acme Registry",
            "jurisdiction": "CA-BC",
            "credentialTypes": list(self.types),
        }
        return self.append("issuer.registered", {"issuer": issuer})

    def add_key(self, fragment: str, signer: Ed25519Signer) -> Entry:
        return self.append(
            "issuer.key.added",
            {
                "issuer": "acme",
                "did": DID,
                "keyId": f"{DID}#{fragment}",
                "publicKeyMultibase": encode_multikey_ed25519(signer.public_key),
            },
        )

    def retire_key(self, fragment: str) -> Entry:
        return self.append("issuer.key.retired", {"issuer": "acme", "keyId": f"{DID}#{fragment}"})

    def issue(self, signer: Ed25519Signer, fragment: str = "key-1") -> Entry:
        credential = sign_credential(
            build_credential(
                credential_type=CredentialType.LEGAL_NAME,
                issuer=DID,
                subject={"legalName": "Acme Widgets Ltd.", "effectiveDate": "2020-01-01"},
                subject_jurisdiction="CA-BC",
                subject_number="BC0000001",
                credential_id="urn:uuid:00000000-0000-5000-8000-000000000001",
                valid_from="2020-01-01T00:00:00Z",
                status_entries=[status_entry(STATUS_URL, 7, "revocation")],
            ),
            signer,
            verification_method=f"{DID}#{fragment}",
            created="2026-01-01T00:00:00Z",
        )
        return self.append(
            "credential.issued", {"credential": credential, "organisation": "CA-BC:BC0000001"}
        )

    def hashes(self, size: int | None = None) -> list[bytes]:
        return [e.leaf_hash() for e in self.entries[: size or len(self.entries)]]

    def checkpoint(self, size: int | None = None, signer: NoteSigner = LEDGER) -> str:
        size = size or len(self.entries)
        return sign_checkpoint(
            Checkpoint(ORIGIN, size, merkle.root_hash(self.hashes(size))), [signer]
        )

    def proof(self, index: int, size: int | None = None) -> list[bytes]:
        return merkle.inclusion_proof(index, self.hashes(size))

    def bundle(self, credential_entry: Entry, *, size: int | None = None) -> dict[str, Any]:
        size = size or len(self.entries)
        note = self.checkpoint(size)
        issuer = next(e for e in self.entries if e.kind == "issuer.registered")
        keys = [e for e in self.entries[:size] if e.kind.startswith("issuer.key.")]
        return build_bundle(
            credential=credential_entry.payload["credential"],
            entry=credential_entry,
            proof=self.proof(credential_entry.index, size),
            checkpoint_note=note,
            issuer=(issuer, self.proof(issuer.index, size)),
            issuer_keys=[(k, self.proof(k.index, size)) for k in keys],
        )


def status_list(bits: tuple[int, ...] = (), signer: Ed25519Signer = KEY1) -> dict[str, Any]:
    listing = StatusList()
    for bit in bits:
        listing.set(bit, 1)
    unsigned = build_status_list_credential(
        list_id=STATUS_URL,
        issuer=DID,
        purpose="revocation",
        status_list=listing,
        valid_from="2026-01-01T00:00:00Z",
    )
    return sign_credential(
        unsigned, signer, verification_method=f"{DID}#key-1", created="2026-01-01T00:00:00Z"
    )


def standard() -> tuple[World, dict[str, Any]]:
    world = World()
    world.register()
    world.add_key("key-1", KEY1)
    cred = world.issue(KEY1)
    world.append("credential.issued", {"credential": {"filler": 1}})
    return world, world.bundle(cred)


def run(bundle: Any, **kwargs: Any) -> Report:
    kwargs.setdefault("ledger_keys", [LEDGER.verifier()])
    kwargs.setdefault("now", NOW)
    kwargs.setdefault("status_lists", lambda url: status_list())
    return verify_bundle(bundle, **kwargs)


def failures(report: Report) -> dict[str, str]:
    return {c.name: c.reason for c in report.failures}


def retarget_proof(text: str, note: str) -> str:
    index, proof, _ = parse_tlog_proof(text)
    return format_tlog_proof(index, proof, note)


# --- plain credentials ----------------------------------------------------------------------------

VECTORS = Path(__file__).resolve().parent.parent / "vectors"
ALL_PASS = {
    "schema": "pass",
    "signature": "pass",
    "issuer_key": "pass",
    "issuer_trusted": "skip",
    "validity_period": "pass",
    "status": "pass",
}


def verify(issuer: Issuer, cred: Any, **kwargs: Any) -> Report:
    kwargs.setdefault("resolver", issuer.resolver)
    kwargs.setdefault("status_lists", issuer.fetch)
    kwargs.setdefault("now", NOW)
    return verify_credential(cred, **kwargs)


def failed(report: Report) -> dict[str, str]:
    return {c.name: c.reason for c in report.checks if c.outcome == "fail"}
