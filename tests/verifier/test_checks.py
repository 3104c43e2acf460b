"""Ledger checks and verify_bundle on a ledger built in memory (pure: no database, no network).

Each tamper fails exactly the checks it should, with its reason; the others keep passing.
A credential or its proof is part of what the ledger logged, so tampering with either fails
``signature`` *and* ``ledger_inclusion``; a checkpoint root changed without the ledger's key
fails ``checkpoint`` and ``ledger_inclusion`` (the path no longer leads to it).
"""

from __future__ import annotations

import base64
import copy
import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from orgbook.canonical import canonicalize
from orgbook.credentials import CredentialType, build_credential, sign_credential
from orgbook.crypto import Ed25519Signer
from orgbook.ledger import merkle
from orgbook.ledger.entry import GENESIS_PREV, Entry
from orgbook.ledger.note import (
    Checkpoint,
    CosignatureSigner,
    NoteSigner,
    add_signatures,
    sign_checkpoint,
)
from orgbook.multibase import encode_multikey_ed25519
from orgbook.statuslist import StatusList, build_status_list_credential, status_entry
from orgbook.verifier.bundle import (
    build_bundle,
    format_tlog_proof,
    parse_tlog_proof,
    proven_entry_json,
)
from orgbook.verifier.checks import (
    LEDGER_CHECK_NAMES,
    check_witnesses,
    consistency_failure,
    verify_bundle,
)
from orgbook.verify import Report

ORIGIN = "registry.example/ledger"
DID = "did:web:registry.example:issuers:acme"
NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
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


# --- the untouched bundle -----------------------------------------------------------------------


def test_an_untouched_bundle_passes_every_check() -> None:
    _, bundle = standard()
    report = run(bundle)
    outcomes = {c.name: c.outcome for c in report.checks}
    assert outcomes == {
        "schema": "pass",
        "signature": "pass",
        "issuer_key": "pass",
        "issuer_trusted": "pass",
        "key_valid_at_issuance": "pass",
        "validity_period": "pass",
        "status": "pass",
        "status_logged": "skip",  # a bundle without a status member: an old one
        "ledger_inclusion": "pass",
        "checkpoint": "pass",
        "consistency": "skip",
        "witnesses": "skip",
    }
    assert report.valid
    assert [c.name for c in report.checks][-len(LEDGER_CHECK_NAMES) + 3 :] == [
        "ledger_inclusion",
        "checkpoint",
        "consistency",
        "witnesses",
    ]


def test_keys_come_from_the_ledger_not_from_a_resolver() -> None:
    # A key entry that is not proven under a checkpoint the ledger signed changes nothing.
    world, bundle = standard()
    stranger = world.add_key("key-9", STRANGER)
    forged = {"entry": stranger.to_json(), "proof": bundle["issuerKeys"][0]["proof"]}
    assert run(bundle, key_entries=[forged]).valid
    # ... and one about the credential's own key makes its validity unprovable.
    forged["entry"] = world.add_key("key-1", STRANGER).to_json()
    found = failures(run(bundle, key_entries=[forged]))
    assert set(found) == {"key_valid_at_issuance", "status"}  # key-1 also signed the list
    assert "is not proven" in found["key_valid_at_issuance"]


def test_a_status_list_signed_by_a_key_added_after_the_bundle() -> None:
    # The bundle was made before key-2; the registry's current key entries (proven under its
    # latest checkpoint) let the list signed by key-2 verify, as on every path.
    world, bundle = standard()
    world.add_key("key-2", KEY2)
    world.retire_key("key-1")
    later = world.bundle(world.entries[2])
    listing = sign_credential(
        {k: v for k, v in status_list().items() if k != "proof"},
        KEY2,
        verification_method=f"{DID}#key-2",
        created="2026-06-01T00:00:00Z",
    )
    found = failures(run(bundle, status_lists=lambda url: listing))
    assert set(found) == {"status"}
    assert "key-2" in found["status"]
    report = run(bundle, status_lists=lambda url: listing, key_entries=later["issuerKeys"])
    assert report.valid, failures(report)


def test_a_status_list_signed_by_a_retired_key() -> None:
    # key-1 was retired (its entry stamped 2026-01-01); a list it signed after that is refused.
    world, bundle = standard()
    world.add_key("key-2", KEY2)
    world.retire_key("key-1")
    later = world.bundle(world.entries[2])
    listing = sign_credential(
        {k: v for k, v in status_list().items() if k != "proof"},
        KEY1,
        verification_method=f"{DID}#key-1",
        created="2026-06-01T00:00:00Z",
    )
    found = failures(run(bundle, status_lists=lambda url: listing, key_entries=later["issuerKeys"]))
    assert found == {
        "status": f"status list {STATUS_URL}: key {DID}#key-1 was retired at {STAMP}, before "
        "the status list was signed (2026-06-01T00:00:00Z)"
    }


# --- tampering: exactly the matching checks fail ------------------------------------------------


def test_a_credential_field_changed() -> None:
    _, bundle = standard()
    bundle["credential"]["credentialSubject"]["legalName"] = "Acme Gadgets Ltd."
    found = failures(run(bundle))
    assert set(found) == {"signature", "ledger_inclusion"}
    assert "differs from the one logged in entry 2" in found["ledger_inclusion"]


def test_the_proof_value_changed() -> None:
    _, bundle = standard()
    value = bundle["credential"]["proof"]["proofValue"]
    bundle["credential"]["proof"]["proofValue"] = (
        value[:-2] + ("1" if value[-2] != "1" else "2") + value[-1]
    )
    found = failures(run(bundle))
    assert set(found) == {"signature", "ledger_inclusion"}


def test_the_entry_changed() -> None:
    _, bundle = standard()
    bundle["entry"]["timestamp"] = "2026-01-02T00:00:00.000000Z"
    found = failures(run(bundle))
    assert set(found) == {"ledger_inclusion"}
    assert "is not included under the checkpoint root" in found["ledger_inclusion"]


def test_the_entry_and_its_credential_changed_together() -> None:
    _, bundle = standard()
    bundle["entry"]["payload"]["organisation"] = "CA-BC:BC9999999"
    assert set(failures(run(bundle))) == {"ledger_inclusion"}


def test_an_entry_that_is_not_an_issuance() -> None:
    world, _ = standard()
    bundle = world.bundle(world.entries[2])
    bundle["entry"]["kind"] = "credential.revoked"
    found = failures(run(bundle))
    assert set(found) == {"ledger_inclusion"}
    assert "not credential.issued" in found["ledger_inclusion"]


def test_the_inclusion_path_changed() -> None:
    _, bundle = standard()
    index, proof, note = parse_tlog_proof(bundle["proof"])
    bundle["proof"] = format_tlog_proof(index, [b"\x00" * 32, *proof[1:]], note)
    found = failures(run(bundle))
    assert set(found) == {"ledger_inclusion"}


def test_the_proof_index_differs_from_the_entry() -> None:
    _, bundle = standard()
    _, proof, note = parse_tlog_proof(bundle["proof"])
    bundle["proof"] = format_tlog_proof(3, proof, note)
    found = failures(run(bundle))
    assert found == {
        "ledger_inclusion": "the tlog-proof is for index 3 but the entry says 2",
    }


def test_the_checkpoint_signature_changed() -> None:
    _, bundle = standard()
    text, sig = bundle["proof"].rsplit(" ", 1)
    raw = bytearray(base64.b64decode(sig))
    raw[-1] ^= 1
    bundle["proof"] = f"{text} {base64.b64encode(bytes(raw)).decode()}\n"
    found = failures(run(bundle))
    assert set(found) == {"checkpoint"}
    assert "invalid signature" in found["checkpoint"]


def test_a_checkpoint_signed_by_another_key() -> None:
    world, bundle = standard()
    other = NoteSigner(ORIGIN, STRANGER)
    bundle["proof"] = retarget_proof(bundle["proof"], world.checkpoint(signer=other))
    found = failures(run(bundle))
    assert set(found) == {"checkpoint"}
    assert "no signature by a known key" in found["checkpoint"]


def test_a_root_the_ledger_signed_that_does_not_include_the_entry() -> None:
    # The log itself lies: a validly signed checkpoint over another root.
    world, bundle = standard()
    forged = sign_checkpoint(Checkpoint(ORIGIN, len(world.entries), b"\x07" * 32), [LEDGER])
    bundle["proof"] = retarget_proof(bundle["proof"], forged)
    assert set(failures(run(bundle))) == {"ledger_inclusion"}


def test_a_root_changed_without_the_ledger_key() -> None:
    world, bundle = standard()
    note = world.checkpoint()
    lines = note.split("\n")
    lines[2] = base64.b64encode(b"\x07" * 32).decode()
    bundle["proof"] = retarget_proof(bundle["proof"], "\n".join(lines))
    assert set(failures(run(bundle))) == {"checkpoint", "ledger_inclusion"}


def test_a_revoked_credential() -> None:
    _, bundle = standard()
    found = failures(run(bundle, status_lists=lambda url: status_list((7,))))
    assert set(found) == {"status"}
    assert "revoked" in found["status"]


def test_a_key_retired_before_issuance() -> None:
    world = World()
    world.register()
    world.add_key("key-1", KEY1)
    world.add_key("key-2", KEY2)
    world.retire_key("key-1")
    cred = world.issue(KEY1)
    found = failures(run(world.bundle(cred)))
    assert found == {
        "key_valid_at_issuance": f"key {DID}#key-1 was retired at ledger index 3, before the "
        "credential's entry 4"
    }


def test_a_key_retired_after_issuance_still_vouches_for_what_it_signed() -> None:
    world = World()
    world.register()
    world.add_key("key-1", KEY1)
    cred = world.issue(KEY1)
    world.add_key("key-2", KEY2)
    world.retire_key("key-1")
    report = run(world.bundle(cred))
    assert report.valid, failures(report)
    key_check = report.check("key_valid_at_issuance")
    assert key_check is not None
    assert "retired later at 4" in key_check.reason


def test_a_key_added_after_issuance() -> None:
    world = World()
    world.register()
    cred = world.issue(KEY1)
    world.add_key("key-1", KEY1)
    found = failures(run(world.bundle(cred)))
    assert found == {
        "key_valid_at_issuance": f"key {DID}#key-1 was added at ledger index 2, after the "
        "credential's entry 1"
    }


def test_an_unknown_key_that_a_did_document_vouches_for() -> None:
    # No DID document stands in for the ledger: a key only a document names does not resolve.
    world = World()
    world.register()
    world.add_key("key-1", KEY1)
    cred = world.issue(STRANGER, "key-9")
    found = failures(run(world.bundle(cred)))
    assert (
        found["key_valid_at_issuance"] == f"key {DID}#key-9 was never added on the ledger for {DID}"
    )
    assert "signature" in found


def test_an_unknown_key_offline_cannot_even_be_checked() -> None:
    world = World()
    world.register()
    world.add_key("key-1", KEY1)
    cred = world.issue(STRANGER, "key-9")
    found = failures(run(world.bundle(cred)))
    assert set(found) == {"signature", "issuer_key", "key_valid_at_issuance"}


def test_a_key_entry_whose_proof_was_altered() -> None:
    _, bundle = standard()
    item = bundle["issuerKeys"][0]
    index, proof, note = parse_tlog_proof(item["proof"])
    item["proof"] = format_tlog_proof(index, [b"\x01" * 32, *proof[1:]], note)
    found = failures(run(bundle))
    assert "key_valid_at_issuance" in found
    assert "is not proven" in found["key_valid_at_issuance"]


def test_an_issuer_not_registered_for_the_type() -> None:
    world = World(types=("address",))
    world.register()
    world.add_key("key-1", KEY1)
    cred = world.issue(KEY1)
    found = failures(run(world.bundle(cred)))
    assert found == {"issuer_trusted": f"{DID} is registered for address, not LegalNameCredential"}


def test_no_issuer_entry() -> None:
    _, bundle = standard()
    del bundle["issuer"]
    assert failures(run(bundle)) == {
        "issuer_trusted": "the bundle carries no issuer.registered entry"
    }


def test_the_issuer_registration_altered() -> None:
    _, bundle = standard()
    bundle["issuer"]["entry"]["payload"]["issuer"]["credentialTypes"].append("address")
    found = failures(run(bundle))
    assert set(found) == {"issuer_trusted"}
    assert "not proven" in found["issuer_trusted"]


def test_without_a_ledger_key_nothing_ledger_backed_passes() -> None:
    _, bundle = standard()
    report = run(bundle, ledger_keys=[])
    assert not report.valid
    assert "no ledger key given" in failures(report)["checkpoint"]


# --- consistency and witnesses ------------------------------------------------------------------


def test_consistency_with_a_newer_checkpoint() -> None:
    world, bundle = standard()
    old_size = len(world.entries)
    for n in range(5):
        world.append("credential.issued", {"credential": {"n": n}})
    newer = world.checkpoint()
    proof = merkle.consistency_proof(old_size, world.hashes())
    report = run(bundle, newer_checkpoint=newer, consistency_proof=proof)
    assert report.valid
    check = report.check("consistency")
    assert check is not None
    assert check.passed
    assert f"{old_size} is consistent" in check.reason
    bad = run(bundle, newer_checkpoint=newer, consistency_proof=[b"\x00" * 32, *proof[1:]])
    assert set(failures(bad)) == {"consistency"}
    assert "history was rewritten" in failures(bad)["consistency"]
    assert "no consistency proof" in failures(run(bundle, newer_checkpoint=newer))["consistency"]


def test_a_fork_at_the_same_size() -> None:
    world, bundle = standard()
    forked = sign_checkpoint(Checkpoint(ORIGIN, len(world.entries), b"\x09" * 32), [LEDGER])
    found = failures(run(bundle, newer_checkpoint=forked))
    assert found == {
        "consistency": f"two different roots for tree size {len(world.entries)}: the ledger forked"
    }


def test_a_newer_checkpoint_that_does_not_verify() -> None:
    world, bundle = standard()
    other = world.checkpoint(signer=NoteSigner(ORIGIN, STRANGER))
    assert "does not verify" in failures(run(bundle, newer_checkpoint=other))["consistency"]


def test_consistency_failure_across_origins() -> None:
    a = Checkpoint("a.example/log", 1, b"\x01" * 32)
    b = Checkpoint("b.example/log", 1, b"\x01" * 32)
    assert consistency_failure(a, b, []) is not None
    assert consistency_failure(a, a, None) is None


def test_witness_cosignatures() -> None:
    world, bundle = standard()
    w1 = CosignatureSigner("witness1.example", Ed25519Signer.from_seed(b"\x05" * 32))
    w2 = CosignatureSigner("witness2.example", Ed25519Signer.from_seed(b"\x06" * 32))
    note = world.checkpoint()
    body = Checkpoint.parse(note.split("\n\n")[0] + "\n").body()
    cosigned = add_signatures(note, [w1.cosign(body, 1_700_000_000)])
    bundle["proof"] = retarget_proof(bundle["proof"], cosigned)
    verifiers = [w1.verifier(), w2.verifier()]
    assert run(bundle, witnesses=verifiers, min_witnesses=1).valid
    found = failures(run(bundle, witnesses=verifiers, min_witnesses=2))
    assert found == {"witnesses": "1 of 2 known witnesses cosigned (witness1.example); 2 required"}
    assert check_witnesses(cosigned, [], 1).failed
    assert check_witnesses(cosigned, [], 0).outcome == "skip"


# --- hostile input ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value",
    [
        None,
        [],
        "bundle",
        {},
        {"type": "OrgBookBundle"},
        {"type": "OrgBookBundle", "version": 1, "credential": {}},
        {"type": "OrgBookBundle", "version": 1, "credential": {}, "entry": [], "proof": 5},
        {"type": "OrgBookBundle", "version": True, "credential": {}},
        {"type": "OrgBookBundle", "version": 1, "credential": {}, "issuerKeys": "x"},
    ],
)
def test_malformed_bundles_are_reports_not_exceptions(value: Any) -> None:
    report = run(value)
    assert not report.valid
    assert report.failures


def test_every_part_broken_at_once() -> None:
    _, bundle = standard()
    broken = copy.deepcopy(bundle)
    broken["entry"] = {"index": -1}
    broken["proof"] = "not a proof"
    broken["issuer"] = {"entry": 5}
    broken["issuerKeys"] = [None, {"entry": {}, "proof": ""}]
    report = run(broken)
    found = failures(report)
    assert {"ledger_inclusion", "checkpoint", "issuer_trusted", "key_valid_at_issuance"} <= set(
        found
    )
    assert "(at /entry" in found["ledger_inclusion"]


def _json_containers(inner: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    # A named function, not a lambda: Hypothesis reads ``extend``'s source to check that it
    # uses its argument, and a lambda inside a multi-line call is not always found whole.
    return st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**53) + 1, 2**53 - 1) | st.text(max_size=8),
    _json_containers,
    max_leaves=20,
)


@settings(max_examples=150, deadline=None)
@given(
    st.sampled_from(["credential", "entry", "proof", "issuer", "issuerKeys", "version"]),
    json_values,
)
def test_any_part_replaced_by_anything_never_raises(part: str, value: Any) -> None:
    _, bundle = standard()
    bundle[part] = value
    report = run(bundle)
    assert isinstance(report, Report)


# --- revocation transparency (status_logged) ----------------------------------------------------

CID = "urn:uuid:00000000-0000-5000-8000-000000000001"


def _logged(world: World, *items: Entry) -> list[dict[str, Any]]:
    note = world.checkpoint()
    return [proven_entry_json(e, world.proof(e.index), note) for e in items]


def _publish(world: World, listing: Mapping[str, Any]) -> Entry:
    return world.append(
        "statuslist.published",
        {
            "issuer": "acme",
            "did": DID,
            "list": STATUS_URL,
            "purpose": "revocation",
            "number": 0,
            "keyId": f"{DID}#key-1",
            "digest": hashlib.sha256(canonicalize(listing)).hexdigest(),
        },
    )


def test_a_logged_status_list_that_agrees_with_the_ledger() -> None:
    world, bundle = standard()
    listing = status_list()
    published = _publish(world, listing)
    report = run(bundle, status_lists=lambda url: listing, status_entries=_logged(world, published))
    logged = report.check("status_logged")
    assert logged is not None
    assert logged.outcome == "pass", logged
    assert f"logged at entry {published.index}" in logged.reason


def test_a_status_list_the_ledger_never_recorded_fails() -> None:
    world, bundle = standard()
    published = _publish(world, status_list())
    served = status_list(signer=KEY1, bits=(9,))  # another version: never logged
    digest = hashlib.sha256(canonicalize(served)).hexdigest()
    found = failures(
        run(bundle, status_lists=lambda url: served, status_entries=_logged(world, published))
    )
    assert found == {
        "status_logged": f"status list {STATUS_URL} (sha256 {digest[:16]}…) not recorded on the "
        f"ledger; the ledger's latest version of it is entry {published.index}"
    }


def test_a_logged_list_whose_bit_was_cleared_after_a_revocation() -> None:
    world, bundle = standard()
    revoked = world.append("credential.revoked", {"credential": CID, "reason": "struck off"})
    listing = status_list()  # bit 7 clear, re-signed and logged after the revocation
    published = _publish(world, listing)
    found = failures(
        run(
            bundle,
            status_lists=lambda url: listing,
            status_entries=_logged(world, revoked, published),
        )
    )
    assert found["status"] == (
        f"revoked (ledger entry {revoked.index}, credential.revoked), whatever its status list says"
    )
    assert "disagrees with the ledger" in found["status_logged"]
    assert set(found) == {"status", "status_logged"}


def test_offline_a_bundle_that_records_its_revocation() -> None:
    world, _ = standard()
    revoked = world.append("credential.revoked", {"credential": CID, "reason": "struck off"})
    bundle = world.bundle(world.entries[2])
    bundle["status"] = {"lists": [], "events": _logged(world, revoked)}
    found = failures(run(bundle, status_lists=None))
    assert found == {
        "status_logged": f"revoked: the ledger records credential.revoked at entry "
        f"{revoked.index} (as of the bundle's checkpoint)"
    }
