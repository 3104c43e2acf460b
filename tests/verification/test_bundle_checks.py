"""verify_bundle on a ledger built in memory: the checks in order, tampering, hostile input.

Each tamper fails exactly the checks it should, with its reason; the others keep passing.
A credential or its proof is part of what the ledger logged, so tampering with either fails
``signature`` *and* ``ledger_inclusion``; a checkpoint root changed without the ledger's key
fails ``checkpoint`` and ``ledger_inclusion`` (the path no longer leads to it). The checks of
each concern have their own module's tests (test_keys, test_issuers, test_inclusion,
test_checkpoint, test_transparency).
"""

from __future__ import annotations

import copy
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from orgbook.core.credential_types import definition_body
from orgbook.core.credentials import sign_credential
from orgbook.core.crypto import Ed25519Signer
from orgbook.core.dataintegrity import add_proof
from orgbook.core.multibase import encode_multikey_ed25519
from orgbook.ledger.entry import Entry
from orgbook.verification.bundle import TYPE_MEMBER, parse_tlog_proof, proven_entry_json
from orgbook.verification.bundle_checks import LEDGER_CHECK_NAMES
from orgbook.verification.report import Report
from tests.verification.support import (
    DID,
    KEY1,
    STAMP,
    STATUS_URL,
    World,
    failures,
    run,
    standard,
    status_list,
)
from tests.verification.test_authorisation import key_id_of
from tests.verification.test_transparency import _logged, _publish

# --- the untouched bundle -------------------------------------------------------------------------


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


# --- tampering: exactly the matching checks fail --------------------------------------------------


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


def test_a_revoked_credential() -> None:
    _, bundle = standard()
    found = failures(run(bundle, status_lists=lambda url: status_list((7,))))
    assert set(found) == {"status"}
    assert "revoked" in found["status"]


# --- hostile input --------------------------------------------------------------------------------


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


# --- a bundle that carries its authorisation and its registered type ------------------------------

GOVERNANCE = Ed25519Signer.from_seed(b"\x05" * 32)
GOVERNANCE_ID = key_id_of(GOVERNANCE.public_key)
AUTH_ID = "urn:uuid:6f1c2c1e-8a4b-4d38-9b1e-0c7f7b1d2a11"
LEGAL_NAME_SCHEMA = "https://orgbook.example/schemas/credentials/legal-name/1.0.json"
TYPE_SCHEMA = {
    "type": "object",
    "required": ["legalName"],
    "properties": {"legalName": {"type": "string", "minLength": 1}},
}


def _governance_signed(body: dict[str, Any]) -> dict[str, Any]:
    return add_proof(
        body, GOVERNANCE, verification_method=GOVERNANCE_ID, created="2026-01-01T00:00:00Z"
    )


def _governed(*, withdrawn_before: bool = False, type_after: bool = False) -> dict[str, Any]:
    """A credential (entry 5) issued under an authorisation (entry 3) of a type registered on
    the ledger (entry 4), signed by a governance key (entry 2), all in its bundle."""
    world = World()
    world.register()
    world.add_key("key-1", KEY1)
    key = world.append(
        "governance.key.added",
        {
            "keyId": GOVERNANCE_ID,
            "publicKeyMultibase": encode_multikey_ed25519(GOVERNANCE.public_key),
        },
    )
    authorisation = {
        "id": AUTH_ID,
        "type": "IssuerAuthorisation",
        "issuer": DID,
        "credentialType": "LegalNameCredential",
        "jurisdictions": ["CA-BC"],
        "validFrom": "2019-01-01T00:00:00Z",
    }
    granted = world.append(
        "authorisation.granted", {"authorisation": _governance_signed(authorisation)}
    )
    definition = definition_body(
        {
            "vcType": "LegalNameCredential",
            "name": {"en": "Legal name", "fr": "Dénomination légale"},
            "schema": TYPE_SCHEMA,
            "credentialSchema": LEGAL_NAME_SCHEMA,
        },
        "https://registry.example",
    )
    typed_entry = {"credentialType": _governance_signed(definition)}
    typed = None if type_after else world.append("type.registered", typed_entry)
    withdrawals = []
    if withdrawn_before:
        body = {"id": "urn:uuid:1", "type": "AuthorisationWithdrawal", "authorisation": AUTH_ID}
        withdrawals.append(
            world.append("authorisation.withdrawn", {"withdrawal": _governance_signed(body)})
        )
    cred = world.issue(KEY1)
    if typed is None:
        typed = world.append("type.registered", typed_entry)
    bundle = world.bundle(cred)
    note = parse_tlog_proof(bundle["proof"])[2]

    def item(entry: Entry) -> dict[str, Any]:
        return proven_entry_json(entry, world.proof(entry.index), note)

    bundle["authorisation"] = item(granted)
    bundle["governance"] = [item(key)]
    bundle["withdrawals"] = [item(e) for e in withdrawals]
    bundle[TYPE_MEMBER] = item(typed)
    return bundle


def test_a_bundle_with_its_authorisation_and_registered_type_passes() -> None:
    report = run(_governed())
    assert report.valid, failures(report)
    trusted = report.check("issuer_trusted")
    assert trusted is not None
    assert trusted.reason == f"{DID} was authorised to issue LegalNameCredential by ledger entry 3"
    schema = report.check("schema")
    assert schema is not None
    assert schema.reason == (
        "conforms to the VC 2.0 data model and the schema of "
        "https://registry.example/types/legal-name/1.0, registered at ledger entry 4"
    )


def test_the_governance_key_entries_are_read_from_the_bundle() -> None:
    bundle = _governed()
    single = copy.deepcopy(bundle)
    single["governance"] = bundle["governance"][0]  # one object counts as a list of one
    assert run(single).valid
    del bundle["governance"]
    assert failures(run(bundle)) == {
        "issuer_trusted": "the bundle carries no proven governance.key.added entry",
        "schema": "the bundle carries no proven governance.key.added entry for the type",
    }


def test_a_withdrawal_in_the_bundle_before_the_credential_fails_issuer_trusted() -> None:
    assert failures(run(_governed(withdrawn_before=True))) == {
        "issuer_trusted": f"authorisation {AUTH_ID} was withdrawn at ledger entry 5, before the "
        "credential's entry 6"
    }


def test_an_unusable_authorisation_or_type_entry_is_named_by_its_pointer() -> None:
    bundle = _governed()
    bundle["authorisation"] = {"entry": 5}
    bundle[TYPE_MEMBER] = {"entry": 5, "proof": ""}
    found = failures(run(bundle))
    assert found.keys() == {"issuer_trusted", "schema"}
    assert found["issuer_trusted"] == (
        "the authorisation entry is not proven on the ledger: a ledger entry is a JSON object "
        "(at /authorisation/entry)"
    )
    assert found["schema"] == (
        "the credential type entry is not proven on the ledger: a ledger entry is a JSON object "
        f"(at /{TYPE_MEMBER}/entry)"
    )


def test_the_type_entry_decides_the_schema_only_for_a_conforming_credential() -> None:
    bundle = _governed()
    bundle[TYPE_MEMBER] = bundle["authorisation"]
    assert failures(run(bundle)) == {
        "schema": "entry 3 is authorisation.granted, not type.registered"
    }
    # A credential that is not VC 2.0 fails its own schema check, whatever its type entry says.
    bundle = _governed()
    bundle["credential"]["@context"] = [*bundle["credential"]["@context"], "https://x.example"]
    found = failures(run(bundle))
    assert found["schema"].endswith(
        "/@context: ['https://www.w3.org/ns/credentials/v2'] was expected"
    )


def test_without_authorisation_or_type_the_registration_and_the_credentials_schema_decide() -> None:
    bundle = _governed()
    bundle["authorisation"] = None
    bundle[TYPE_MEMBER] = None
    report = run(bundle)
    assert report.valid, failures(report)
    assert report.check("issuer_trusted").reason == (  # type: ignore[union-attr]
        f"Acme Registry ({DID}) was registered on the ledger at index 0 to issue "
        "LegalNameCredential"
    )
    assert report.check("schema").reason == (  # type: ignore[union-attr]
        f"conforms to the VC 2.0 data model and {LEGAL_NAME_SCHEMA}"
    )


# --- what a reader of the report is told about broken input ---------------------------------------


def test_an_unusable_bundle_is_one_failing_bundle_check() -> None:
    report = run(None)
    assert [(c.name, c.outcome, c.reason) for c in report.checks] == [
        ("bundle", "fail", "not a usable bundle: a bundle is a JSON object")
    ]


def test_unusable_parts_are_named_by_their_pointers() -> None:
    _, bundle = standard()
    broken = copy.deepcopy(bundle)
    broken["proof"] = "not a proof"
    assert failures(run(broken))["ledger_inclusion"] == (
        "ledger entry unusable: tlog-proof has no blank line before the checkpoint (at /proof)"
    )
    broken = copy.deepcopy(bundle)
    broken["issuer"] = {"entry": 5}
    assert failures(run(broken)) == {
        "issuer_trusted": "the issuer's registration is not proven: a ledger entry is a JSON "
        "object (at /issuer/entry)"
    }


def test_a_credential_nested_too_deeply_is_not_the_one_logged() -> None:
    _, bundle = standard()
    deep: Any = "x"
    for _ in range(100_000):
        deep = [deep]
    bundle["credential"]["credentialSubject"]["deep"] = deep
    assert failures(run(bundle))["ledger_inclusion"] == (
        "the presented credential differs from the one logged in entry 2"
    )


def test_each_status_list_is_fetched_by_its_own_url() -> None:
    _, bundle = standard()
    lists = {STATUS_URL: status_list((7,))}
    assert failures(run(bundle, status_lists=lists.__getitem__)) == {
        "status": f"revoked (index 7 of {STATUS_URL})"
    }


def test_unproven_key_and_status_entries_are_named_by_where_they_came_from() -> None:
    _, bundle = standard()
    broken = copy.deepcopy(bundle)
    broken["issuerKeys"] = [{"entry": 5}]
    assert failures(run(broken))["key_valid_at_issuance"] == (
        f"the ledger entry adding key {DID}#key-1 is not proven: a ledger entry is a JSON object "
        "(at /issuerKeys/0/entry)"
    )
    broken["issuerKeys"] = []
    assert failures(run(broken, key_entries=[{"entry": 5}]))["key_valid_at_issuance"] == (
        f"the ledger entry adding key {DID}#key-1 is not proven: a ledger entry is a JSON object "
        "(at (ledger key entry 0)/entry)"
    )
    assert failures(run(bundle, status_entries=[{"entry": 5}])) == {
        "status_logged": "a status entry is not proven: a ledger entry is a JSON object "
        "(at (ledger status entry 0)/entry)"
    }
    broken = copy.deepcopy(bundle)
    broken["status"] = {"lists": [{"entry": 5}], "events": []}
    assert failures(run(broken)) == {
        "status_logged": "a status entry is not proven: a ledger entry is a JSON object "
        "(at /status/lists/0/entry)"
    }


def test_a_status_list_publication_in_the_bundle_is_read() -> None:
    world, _ = standard()
    listing = status_list()
    published = _publish(world, listing)
    bundle = world.bundle(world.entries[2])
    bundle["status"] = {"lists": _logged(world, published), "events": []}
    report = run(bundle, status_lists=lambda url: listing)
    assert report.valid, failures(report)
    assert report.check("status_logged").reason == (  # type: ignore[union-attr]
        f"revocation list logged at entry {published.index}; the bits agree with the ledger's "
        "status entries"
    )


def test_an_issuer_registered_after_the_credential_is_not_trusted_for_it() -> None:
    world = World()
    world.add_key("key-1", KEY1)
    credential = world.issue(KEY1)
    world.register()
    assert failures(run(world.bundle(credential))) == {
        "issuer_trusted": f"{DID} was registered at ledger index 2, after the credential's entry 1"
    }


def test_the_key_of_a_logged_status_list_is_judged_in_ledger_order() -> None:
    # key-1 was retired (entry 4) before the list was logged (entry 5): the list's own
    # ``created``, before the retirement's time stamp, does not save it. The status check's
    # details (the entries it read) are kept.
    world, bundle = standard()
    world.retire_key("key-1")
    unsigned = {k: v for k, v in status_list().items() if k != "proof"}
    listing = sign_credential(
        unsigned, KEY1, verification_method=f"{DID}#key-1", created="2025-12-01T00:00:00Z"
    )
    published = _publish(world, listing)
    later = world.bundle(world.entries[2])
    report = run(
        bundle,
        status_lists=lambda url: listing,
        key_entries=later["issuerKeys"],
        status_entries=_logged(world, published),
    )
    status = report.check("status")
    assert status is not None
    assert failures(report) == {
        "status": f"status list {STATUS_URL}: key {DID}#key-1 was retired at ledger index 4, "
        "before the status list's entry 5"
    }
    assert [e["reason"] for e in status.details["entries"]] == [
        f"not revoked (index 7 of {STATUS_URL})"
    ]
    # Not logged, its ``created`` is all there is to go by.
    assert failures(run(bundle, status_lists=lambda url: listing, key_entries=later["issuerKeys"]))[
        "status"
    ] == (
        f"status list {STATUS_URL}: key {DID}#key-1 was added at {STAMP}, after the status list "
        "was signed (2025-12-01T00:00:00Z)"
    )


def test_an_authorisation_or_type_entry_nested_too_deeply_is_unproven() -> None:
    bundle = _governed()
    deep: Any = "x"
    for _ in range(100_000):
        deep = [deep]
    bundle["authorisation"]["entry"]["payload"]["deep"] = deep
    bundle[TYPE_MEMBER]["entry"]["payload"]["deep"] = deep
    too_deep = (
        "is not proven on the ledger: the entry has no canonical form: JSON nested too deeply"
    )
    assert failures(run(bundle)) == {
        "issuer_trusted": f"the authorisation entry {too_deep}",
        "schema": f"the credential type entry {too_deep}",
    }


def test_key_or_status_entries_nested_too_deeply_are_unproven_not_an_exception() -> None:
    # They are read before any check runs (the key history, the ledger's status entries):
    # canonicalize once raised RecursionError for them, and verify_bundle with it.
    deep: Any = "x"
    for _ in range(100_000):
        deep = [deep]
    world, bundle = standard()
    bundle["issuerKeys"][0]["entry"]["payload"]["deep"] = deep
    unproven = "is not proven: the entry has no canonical form: JSON nested too deeply"
    assert failures(run(bundle))["key_valid_at_issuance"] == (
        f"the ledger entry adding key {DID}#key-1 {unproven}"
    )
    listing = status_list()
    published = _publish(world, listing)
    status = world.bundle(world.entries[2])
    status["status"] = {"lists": _logged(world, published), "events": []}
    status["status"]["lists"][0]["entry"]["payload"]["deep"] = deep
    assert failures(run(status, status_lists=lambda url: listing)) == {
        "status_logged": "a status entry is not proven: the entry has no canonical form: JSON "
        "nested too deeply"
    }


def test_a_type_registered_after_the_credential_does_not_decide_its_schema() -> None:
    assert failures(run(_governed(type_after=True))) == {
        "schema": "the type was registered at entry 5, after the credential's (4)"
    }
