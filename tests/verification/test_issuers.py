"""``issuer_trusted``: by the caller's trust policy (a plain credential), by the issuer's
registration on the ledger (a bundle)."""

from __future__ import annotations

from typing import Any

from orgbook.ledger.entry import Entry
from orgbook.verification.bundle import proven_entry_json
from orgbook.verification.checkpoint import LedgerTrust
from orgbook.verification.inclusion import Part, read_item
from orgbook.verification.issuers import check_registered_on_ledger, check_trusted_by_policy
from orgbook.verification.report import Check
from tests.core.test_credentials import (
    Issuer,
)
from tests.verification.support import (
    DID,
    KEY1,
    LEDGER,
    World,
    failed,
    failures,
    run,
    standard,
    verify,
)

# --- a trust policy -------------------------------------------------------------------------------


def test_trust_policy(issuer: Issuer, cred: dict[str, Any]) -> None:
    seen: list[tuple[str, str]] = []

    def only_registry(did: str, vc_type: str) -> bool:
        seen.append((did, vc_type))
        return did == issuer.did

    assert verify(issuer, cred, trusted_issuers=only_registry).check("issuer_trusted") == Check(
        "issuer_trusted", "pass", f"{issuer.did} is trusted to issue LegalNameCredential"
    )
    assert seen == [(issuer.did, "LegalNameCredential")]
    report = verify(issuer, cred, trusted_issuers=lambda d, t: False)
    assert failed(report) == {
        "issuer_trusted": f"{issuer.did} is not trusted to issue LegalNameCredential"
    }

    def crash(did: str, vc_type: str) -> bool:
        raise KeyError(did)

    assert failed(verify(issuer, cred, trusted_issuers=crash)) == {
        "issuer_trusted": "trust policy failed (KeyError)"
    }


# --- a registration on the ledger -----------------------------------------------------------------


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


# --- the checks read directly: every reason and detail --------------------------------------------

TRUST = LedgerTrust([LEDGER.verifier()])


def _registration(world: World, entry: Entry) -> Part:
    item = proven_entry_json(entry, world.proof(entry.index), world.checkpoint())
    return read_item(item, "/issuer")


def _said(check: Check) -> tuple[str, str, str]:
    return (check.name, check.outcome, check.reason)


def test_a_registration_before_the_credential_passes_with_who_and_where() -> None:
    world, bundle = standard()
    check = check_registered_on_ledger(
        bundle["credential"], _registration(world, world.entries[0]), 2, TRUST
    )
    assert _said(check) == (
        "issuer_trusted",
        "pass",
        f"Acme Registry ({DID}) was registered on the ledger at index 0 to issue "
        "LegalNameCredential",
    )
    assert check.details == {"issuer": "acme", "did": DID, "registeredAt": 0}
    # Without an entry index (none to compare with), the registration alone decides.
    assert check_registered_on_ledger(
        bundle["credential"], _registration(world, world.entries[0]), None, TRUST
    ).passed


def test_a_registration_at_or_after_the_credentials_entry_fails() -> None:
    world, bundle = standard()
    part = _registration(world, world.entries[0])
    assert _said(check_registered_on_ledger(bundle["credential"], part, 0, TRUST)) == (
        "issuer_trusted",
        "fail",
        f"{DID} was registered at ledger index 0, after the credential's entry 0",
    )
    assert check_registered_on_ledger(bundle["credential"], part, 1, TRUST).passed


def test_a_registration_without_a_name_names_the_did() -> None:
    world = World()
    world.append(
        "issuer.registered",
        {"issuer": {"id": "acme", "did": DID, "credentialTypes": ["legal-name", 7]}},
    )
    world.add_key("key-1", KEY1)
    cred = world.issue(KEY1)
    check = check_registered_on_ledger(
        cred.payload["credential"], _registration(world, world.entries[0]), 2, TRUST
    )
    assert check.reason == (
        f"{DID} was registered on the ledger at index 0 to issue LegalNameCredential"
    )


def test_registration_refusals_say_what_is_wrong() -> None:
    world, bundle = standard()
    credential = bundle["credential"]
    registration = _registration(world, world.entries[0])
    assert _said(check_registered_on_ledger({"type": []}, registration, 2, TRUST)) == (
        "issuer_trusted",
        "fail",
        "credential has no issuer id",
    )
    assert _said(check_registered_on_ledger(credential, None, 2, TRUST)) == (
        "issuer_trusted",
        "fail",
        "the bundle carries no issuer.registered entry",
    )
    key_entry = _registration(world, world.entries[1])
    assert _said(check_registered_on_ledger(credential, key_entry, 2, TRUST)) == (
        "issuer_trusted",
        "fail",
        "entry 1 is issuer.key.added, not issuer.registered",
    )
    unreadable = read_item("junk", "/issuer")
    assert _said(check_registered_on_ledger(credential, unreadable, 2, TRUST)) == (
        "issuer_trusted",
        "fail",
        "the issuer's registration is not proven: expected {entry, proof} (at /issuer)",
    )
    other = {**credential, "issuer": "did:web:other.example"}
    assert _said(check_registered_on_ledger(other, registration, 2, TRUST)) == (
        "issuer_trusted",
        "fail",
        f"the registration in entry 0 is for {DID!r}, not did:web:other.example",
    )


def test_a_registration_with_no_types_or_no_issuer_body() -> None:
    for payload in ({"issuer": {"did": DID}}, {"issuer": "acme"}):
        world = World()
        world.append("issuer.registered", payload)
        world.add_key("key-1", KEY1)
        cred = world.issue(KEY1)
        check = check_registered_on_ledger(
            cred.payload["credential"], _registration(world, world.entries[0]), 2, TRUST
        )
        assert check.failed
        assert check.reason in (
            f"{DID} is registered for no types, not LegalNameCredential",
            f"the registration in entry 0 is for None, not {DID}",
        ), payload


def test_the_trust_policy_check_read_directly() -> None:
    credential = {"issuer": DID, "type": ["VerifiableCredential", "LegalNameCredential"]}
    assert _said(check_trusted_by_policy(credential, trusted_issuers=None)) == (
        "issuer_trusted",
        "skip",
        "no trust policy given",
    )
    assert _said(check_trusted_by_policy(["x"], trusted_issuers=lambda d, t: True)) == (
        "issuer_trusted",
        "fail",
        "credential is not a JSON object",
    )
    assert _said(check_trusted_by_policy({"type": []}, trusted_issuers=lambda d, t: True)) == (
        "issuer_trusted",
        "fail",
        "credential has no issuer id",
    )
    # Whatever the policy returns is read as true or false.
    assert check_trusted_by_policy(credential, trusted_issuers=lambda d, t: 1).passed  # type: ignore[arg-type,return-value]
    assert check_trusted_by_policy(credential, trusted_issuers=lambda d, t: []).failed  # type: ignore[arg-type,return-value]


def test_a_type_orgbook_does_not_issue_is_never_registered() -> None:
    world = World(types=("address", "legal-name"))
    world.register()
    world.add_key("key-1", KEY1)
    cred = world.issue(KEY1)
    diploma = {**cred.payload["credential"], "type": ["VerifiableCredential", "DiplomaCredential"]}
    check = check_registered_on_ledger(diploma, _registration(world, world.entries[0]), 2, TRUST)
    assert _said(check) == (
        "issuer_trusted",
        "fail",
        f"{DID} is registered for address, legal-name, not DiplomaCredential",
    )
