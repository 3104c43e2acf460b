"""Issuer keys: ``issuer_key`` from the issuer's DID document (a plain credential), and
``key_valid_at_issuance`` and the status lists' keys from the ledger's key history (a bundle)."""

from __future__ import annotations

from typing import Any

import pytest

from orgbook.core.credentials import CredentialType, sign_credential
from orgbook.core.did import DID_CONTEXT, MULTIKEY_CONTEXT, LocalResolver, build_did_document
from orgbook.core.errors import NotFound
from orgbook.verification.bundle import ProvenEntry, format_tlog_proof, parse_tlog_proof
from orgbook.verification.checkpoint import LedgerTrust
from orgbook.verification.inclusion import Part, read_item
from orgbook.verification.keys import (
    KeyEvents,
    LedgerResolver,
    RememberingResolver,
    check_issuer_key,
    check_key_valid_at_issuance,
    check_keys_at_issuance,
    key_events,
    key_failure,
    ledger_documents,
    status_list_key_failure,
)
from orgbook.verification.report import Check
from tests.core.test_credentials import (
    ISSUED,
    Issuer,
    make_credential,
    make_issuer,
)
from tests.verification.support import (
    DID,
    KEY1,
    KEY2,
    LEDGER,
    STAMP,
    STATUS_URL,
    STRANGER,
    World,
    failed,
    failures,
    run,
    standard,
    status_list,
    verify,
)

# --- the issuer's DID document --------------------------------------------------------------------


def _issuer_with_keys(keys: list[dict[str, Any]]) -> tuple[Issuer, LocalResolver]:
    issuer = make_issuer()
    doc = build_did_document(issuer.did, [("key-1", issuer.signer.public_key, False)])
    for method in doc["verificationMethod"]:
        method.update(keys[0])
    return issuer, LocalResolver({issuer.did: doc})


def test_retired_key_after_signing_passes_and_is_reported() -> None:
    issuer, resolver = _issuer_with_keys([{"revoked": "2026-01-01T00:00:00Z"}])
    cred = make_credential(CredentialType.STATUS, issuer)
    report = verify(issuer, cred, resolver=resolver, status_lists=None)
    check = report.check("issuer_key")
    assert check is not None
    assert check.outcome == "pass"
    assert f"key {issuer.vm} was retired at 2026-01-01T00:00:00Z, after signing" in check.reason
    assert check.details["keys"][0]["retiredAt"] == "2026-01-01T00:00:00Z"


def test_key_retired_before_signing_fails() -> None:
    issuer, resolver = _issuer_with_keys([{"revoked": "2025-01-01T00:00:00Z"}])
    cred = make_credential(CredentialType.STATUS, issuer)
    reasons = failed(verify(issuer, cred, resolver=resolver, status_lists=None))
    assert reasons == {
        "issuer_key": f"key {issuer.vm} was retired at 2025-01-01T00:00:00Z, "
        f"before the proof was created ({ISSUED})"
    }


def test_key_outside_assertion_method_fails() -> None:
    issuer, resolver = _issuer_with_keys([{}])
    cred = make_credential(CredentialType.STATUS, issuer)
    reasons = failed(verify(issuer, cred, resolver=resolver, status_lists=None))
    assert reasons == {
        "issuer_key": f"key {issuer.vm} is not an assertionMethod key of {issuer.did} "
        "(retired or never authorised)"
    }


def test_unknown_issuer_did(issuer: Issuer, cred: dict[str, Any]) -> None:
    reasons = failed(verify(issuer, cred, resolver=LocalResolver(), status_lists=None))
    assert reasons.keys() == {"signature", "issuer_key"}
    assert reasons["signature"].startswith(f"cannot resolve verification method '{issuer.vm}'")
    assert reasons["issuer_key"].startswith(f"issuer key {issuer.vm} not found")


def test_resolver_that_crashes_is_reported(issuer: Issuer, cred: dict[str, Any]) -> None:
    class Broken:
        def resolve(self, did: str) -> dict[str, Any]:
            raise TimeoutError("slow host")

    reasons = failed(verify(issuer, cred, resolver=Broken(), status_lists=None))
    assert "DID resolution failed (TimeoutError)" in reasons["signature"]
    assert "DID resolution failed (TimeoutError)" in reasons["issuer_key"]


# --- the ledger's key history ---------------------------------------------------------------------


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


# --- the key history read directly: what each answer says -----------------------------------------

TRUST = LedgerTrust([LEDGER.verifier()])
VM1 = f"{DID}#key-1"


def _key_parts(world: World, size: int | None = None) -> list[Part]:
    bundle = world.bundle(world.entries[2], size=size)
    return [read_item(item, f"/issuerKeys/{i}") for i, item in enumerate(bundle["issuerKeys"])]


def test_the_key_check_of_a_bundle_from_its_key_entries() -> None:
    world, bundle = standard()
    check = check_key_valid_at_issuance(bundle["credential"], _key_parts(world), 2, TRUST)
    assert (check.name, check.outcome, check.reason) == (
        "key_valid_at_issuance",
        "pass",
        f"valid at the credential's entry 2: key {VM1} added at ledger index 1",
    )
    unusable = check_key_valid_at_issuance(bundle["credential"], _key_parts(world), None, TRUST)
    assert (unusable.outcome, unusable.reason) == (
        "fail",
        "the credential's ledger entry is unusable: no issuance index",
    )
    no_proof = check_key_valid_at_issuance({"issuer": DID}, _key_parts(world), 2, TRUST)
    assert (no_proof.outcome, no_proof.reason) == (
        "fail",
        "no proof names a verification method",
    )


def test_an_unreadable_key_entry_leaves_every_unknown_key_unproven() -> None:
    # Which key an unreadable entry was about is unknown: it may be the one asked about.
    world, _ = standard()
    unreadable = read_item("junk", "/issuerKeys/5")
    events = key_events([unreadable, *_key_parts(world)], TRUST)
    assert events.unproven == {"": "expected {entry, proof} (at /issuerKeys/5)"}
    assert VM1 in events.added  # an unreadable part first does not stop the reading
    assert key_failure(events, f"{DID}#key-9", DID, index=2) == (
        f"the ledger entry adding key {DID}#key-9 is not proven: "
        "expected {entry, proof} (at /issuerKeys/5)"
    )
    # Without it, an unknown key is simply one the ledger never added.
    clean = key_events(_key_parts(world), TRUST)
    assert clean.unproven == {}
    assert key_failure(clean, f"{DID}#key-9", DID, index=2) == (
        f"key {DID}#key-9 was never added on the ledger for {DID}"
    )


def test_a_key_entry_with_no_key_id_did_or_key_adds_nothing() -> None:
    for missing in ("keyId", "did", "publicKeyMultibase"):
        world = World()
        world.register()
        payload = {
            "issuer": "acme",
            "did": DID,
            "keyId": VM1,
            "publicKeyMultibase": "z6Mk-not-checked-here",
        }
        del payload[missing]
        world.append("issuer.key.added", payload)
        world.issue(KEY1)
        assert key_events(_key_parts(world), TRUST).added == {}, missing
    # A keyId that is not a string is no key id: an unproven entry with one is about any key.
    world, bundle = standard()
    odd = world.append("issuer.key.added", {"keyId": 7, "did": DID, "publicKeyMultibase": "z"})
    another_proof = bundle["issuerKeys"][0]["proof"]
    forged = read_item({"entry": odd.to_json(), "proof": another_proof}, "/issuerKeys/1")
    assert isinstance(forged, ProvenEntry)
    assert set(key_events([forged], TRUST).unproven) == {""}


def test_a_status_list_signed_before_its_key_was_added() -> None:
    world, _ = standard()
    events = key_events(_key_parts(world), TRUST)
    early = {"issuer": DID, "proof": {"verificationMethod": VM1, "created": "2025-06-01T00:00:00Z"}}
    assert status_list_key_failure(STATUS_URL, early, events, None) == (
        f"status list {STATUS_URL}: key {VM1} was added at {STAMP}, after the status list was "
        "signed (2025-06-01T00:00:00Z)"
    )
    # When the ledger logged the list, ledger order decides and the time is not read.
    assert status_list_key_failure(STATUS_URL, early, events, 3) is None
    assert status_list_key_failure(STATUS_URL, early, events, 1) == (
        f"status list {STATUS_URL}: key {VM1} was added at ledger index 1, after the status "
        "list's entry 1"
    )


def test_a_status_list_proof_without_a_usable_time_is_not_judged_by_time() -> None:
    world, _ = standard()
    events = key_events(_key_parts(world), TRUST)
    stranger = f"{DID}#key-9"
    for created in (None, "2026-02-01T00:00:00"):  # no time, or one without a timezone
        proof: dict[str, Any] = {"verificationMethod": stranger}
        if created is not None:
            proof["created"] = created
        untimed = {"issuer": DID, "proof": [proof]}
        assert status_list_key_failure(STATUS_URL, untimed, events, None) is None, created
        # ... but ledger order still applies when the ledger logged the list.
        assert status_list_key_failure(STATUS_URL, untimed, events, 3) == (
            f"status list {STATUS_URL}: key {stranger} was never added on the ledger for {DID}"
        )
    # A proof skipped for want of a time does not hide the next one.
    both = {
        "issuer": DID,
        "proof": [
            {"verificationMethod": VM1},
            {"verificationMethod": stranger, "created": "2026-02-01T00:00:00Z"},
        ],
    }
    assert status_list_key_failure(STATUS_URL, both, events, None) == (
        f"status list {STATUS_URL}: key {stranger} was never added on the ledger for {DID}"
    )


def test_the_ledger_resolver_serves_only_ledger_proven_keys() -> None:
    world, _ = standard()
    documents = ledger_documents(key_events(_key_parts(world), TRUST))
    resolver = LedgerResolver(documents)
    document = resolver.resolve(DID)
    assert [m["id"] for m in document["verificationMethod"]] == [VM1]
    document["verificationMethod"].clear()
    document["assertionMethod"].clear()
    # Callers get a copy: what one changes, the next does not see.
    assert resolver.resolve(DID)["assertionMethod"] == [VM1]
    with pytest.raises(NotFound) as raised:
        resolver.resolve("did:web:other.example")
    assert raised.value.detail == "no ledger-proven keys for 'did:web:other.example'"
    with pytest.raises(NotFound):
        resolver.resolve(7)  # type: ignore[arg-type]
    # A did:key document is its own key: it needs no ledger.
    did_key = "did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK"
    assert resolver.resolve(did_key)["id"] == did_key


def test_the_earliest_entry_about_a_key_wins() -> None:
    world = World()
    world.register()
    world.add_key("key-1", KEY1)  # 1
    world.issue(KEY1)  # 2
    world.retire_key("key-1")  # 3
    world.add_key("key-1", KEY2)  # 4: added again, with another key: the first entry stands
    world.retire_key("key-1")  # 5
    # Another kind of entry that names the key neither adds nor retires it.
    world.append("issuer.key.rotated", {"issuer": "acme", "keyId": f"{DID}#key-2"})  # 6
    events = key_events(_key_parts(world), TRUST)
    assert {vm: found[0] for vm, found in events.added.items()} == {VM1: 1}
    assert dict(events.retired) == {VM1: (3, STAMP)}


def test_every_proofs_key_is_named_in_the_passing_reason() -> None:
    world, _ = standard()
    events = key_events(_key_parts(world), TRUST)
    two = {"issuer": DID, "proof": [{"verificationMethod": VM1}, {"verificationMethod": VM1}]}
    check = check_keys_at_issuance(two, events, 2)
    assert (check.name, check.outcome, check.reason) == (
        "key_valid_at_issuance",
        "pass",
        f"valid at the credential's entry 2: key {VM1} added at ledger index 1; "
        f"key {VM1} added at ledger index 1",
    )
    for credential, index in (({"issuer": DID}, 2), (two, None)):
        assert check_keys_at_issuance(credential, events, index).name == "key_valid_at_issuance"


def test_the_ledger_document_is_a_did_document_of_the_keys_under_its_did() -> None:
    events = KeyEvents(
        added={
            "did:web:elsewhere.example#key-1": (1, DID, "z6Mk-elsewhere", STAMP),
            VM1: (2, DID, "z6Mk-one", STAMP),
        },
        retired={},
        unproven={},
    )
    # A key id that is not under the DID it was added for is left out; the rest are listed.
    document = ledger_documents(events)[DID]
    assert document["@context"] == [DID_CONTEXT, MULTIKEY_CONTEXT]
    assert document["verificationMethod"] == [
        {"id": VM1, "type": "Multikey", "controller": DID, "publicKeyMultibase": "z6Mk-one"}
    ]
    assert document["assertionMethod"] == [VM1]


def test_one_verification_resolves_each_did_once() -> None:
    asked: list[str] = []

    class Counting:
        def resolve(self, did: str) -> dict[str, Any]:
            asked.append(did)
            return {"id": did}

    remembering = RememberingResolver(Counting())
    assert remembering.resolve(DID) == {"id": DID}
    assert remembering.resolve(DID) == {"id": DID}
    assert remembering.resolve("did:web:other.example") == {"id": "did:web:other.example"}
    assert asked == [DID, "did:web:other.example"]


def test_a_credential_that_is_not_an_object_has_no_issuer_key() -> None:
    check = check_issuer_key(["not", "an", "object"], resolver=LocalResolver())
    assert (check.name, check.outcome, check.reason) == (
        "issuer_key",
        "fail",
        "credential is not a JSON object",
    )


def _issuer_key(revoked: str | None, purposes_kept: bool = True) -> tuple[Issuer, Check]:
    issuer, resolver = _issuer_with_keys([{"revoked": revoked}] if revoked else [{}])
    if not purposes_kept:
        resolver = LocalResolver(
            {
                issuer.did: build_did_document(
                    issuer.did, [("key-1", issuer.signer.public_key, True)]
                )
            }
        )
    cred = make_credential(CredentialType.STATUS, issuer)
    return issuer, check_issuer_key(cred, resolver=resolver)


def test_a_key_retired_at_the_very_moment_of_signing_fails() -> None:
    # validFrom <= now < validUntil: a key retired at ISSUED no longer signs at ISSUED.
    issuer, check = _issuer_key(ISSUED)
    assert (check.outcome, check.reason) == (
        "fail",
        f"key {issuer.vm} was retired at {ISSUED}, before the proof was created ({ISSUED})",
    )
    assert [dict(k) for k in check.details["keys"]] == [
        {"id": issuer.vm, "retiredAt": ISSUED, "purposes": []}
    ]


def test_a_retirement_time_that_does_not_parse_fails_closed() -> None:
    issuer, check = _issuer_key("last Tuesday")
    assert (check.outcome, check.reason) == (
        "fail",
        f"key {issuer.vm} was retired at last Tuesday, before the proof was created ({ISSUED})",
    )


def test_the_passing_reason_and_details_name_each_key() -> None:
    issuer, check = _issuer_key("2026-01-01T00:00:00Z")
    assert (check.outcome, check.reason) == (
        "pass",
        f"signed with a key of the issuer {issuer.did}; key {issuer.vm} was retired at "
        "2026-01-01T00:00:00Z, after signing",
    )
    assert check.details["keys"] == [
        {"id": issuer.vm, "retiredAt": "2026-01-01T00:00:00Z", "purposes": []}
    ]


def test_a_key_that_is_not_an_assertion_key_is_reported_with_its_purposes() -> None:
    issuer, check = _issuer_key(None)
    assert check.outcome == "fail"
    assert check.details["keys"] == [{"id": issuer.vm, "retiredAt": None, "purposes": []}]


def test_issuer_key_refusals_name_what_is_missing() -> None:
    no_issuer = check_issuer_key({"proof": {"verificationMethod": VM1}}, resolver=LocalResolver())
    assert (no_issuer.name, no_issuer.outcome, no_issuer.reason) == (
        "issuer_key",
        "fail",
        "credential has no issuer id",
    )
    # A DID URL's fragment starts at its first '#': the controller is what comes before it.
    odd = f"{DID}#key-1#more"
    check = check_issuer_key(
        {"issuer": DID, "proof": {"verificationMethod": odd}}, resolver=LocalResolver()
    )
    assert check.reason.startswith(f"issuer key {odd} not found: ")


def test_a_did_that_is_not_a_string_is_not_found() -> None:
    with pytest.raises(NotFound):
        LedgerResolver({DID: {"id": DID}}).resolve([DID])  # type: ignore[arg-type]
