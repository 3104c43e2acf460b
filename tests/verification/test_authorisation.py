"""The pure authorisation rules (``orgbook.verification.authorisation.decide``) on hand-made
entries: order, delegation claims, the governance key's lifetime, malformed input."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from orgbook.core.crypto import Ed25519Signer
from orgbook.core.dataintegrity import add_proof
from orgbook.core.did import did_key_from_public_key
from orgbook.core.multibase import encode_multikey_ed25519
from orgbook.ledger.entry import GENESIS_PREV, Entry
from orgbook.verification.authorisation import GovernanceKeys, decide

ISSUER = "did:web:registry.example:issuers:licensing"
OTHER = "did:web:registry.example:issuers:federal"
AT = datetime(2026, 2, 1, tzinfo=UTC)


def key_id_of(public_key: bytes) -> str:
    """A governance key's verification method: its did:key, the key again as fragment."""
    did = did_key_from_public_key(public_key)
    return f"{did}#{did.removeprefix('did:key:')}"


KEY = Ed25519Signer.from_seed(bytes(range(32)))
KEY_ID = key_id_of(KEY.public_key)


def entry(index: int, kind: str, payload: dict[str, Any]) -> Entry:
    prev = GENESIS_PREV if index == 0 else "a" * 64
    return Entry(index, "2026-01-15T00:00:00.000000Z", kind, payload, prev)


def keys(*, retired_at: int | None = None) -> GovernanceKeys:
    added = entry(
        1,
        "governance.key.added",
        {"keyId": KEY_ID, "publicKeyMultibase": encode_multikey_ed25519(KEY.public_key)},
    )
    items = [added]
    if retired_at is not None:
        items.append(entry(retired_at, "governance.key.retired", {"keyId": KEY_ID}))
    return GovernanceKeys.from_entries(items)


def granted(index: int = 5, signer: Ed25519Signer = KEY, **extra: Any) -> Entry:
    body = {
        "id": "urn:uuid:6f1c2c1e-8a4b-4d38-9b1e-0c7f7b1d2a11",
        "type": "IssuerAuthorisation",
        "issuer": ISSUER,
        "credentialType": "PermitCredential",
        "jurisdictions": ["CA-BC"],
        "validFrom": "2026-01-01T00:00:00Z",
        **extra,
    }
    signed = add_proof(body, signer, verification_method=key_id_of(signer.public_key), created=AT)
    return entry(index, "authorisation.granted", {"authorisation": signed})


def credential(**extra: Any) -> dict[str, Any]:
    return {
        "type": ["VerifiableCredential", "PermitCredential"],
        "issuer": {"id": ISSUER},
        "validFrom": "2026-02-01T00:00:00Z",
        "credentialSubject": {"id": "urn:orgbook:org:CA-BC:BC0000001"},
        **extra,
    }


def test_covered() -> None:
    check = decide(credential(), 9, AT, granted(), keys())
    assert check.passed, check.reason
    assert check.details["authorisedBy"] == 5


def test_the_authorisation_must_precede_the_credential() -> None:
    check = decide(credential(), 4, AT, granted(5), keys())
    assert check.failed
    assert "after the credential's entry 4" in check.reason


def test_a_delegation_must_be_claimed_and_granted() -> None:
    claimed = credential(onBehalfOf=OTHER)
    check = decide(claimed, 9, AT, granted(), keys())
    assert check.failed
    assert "on behalf of no other authority" in check.reason
    check = decide(credential(), 9, AT, granted(onBehalfOf=OTHER), keys())
    assert check.failed
    assert "names no onBehalfOf" in check.reason
    check = decide(
        {**claimed, "onBehalfOf": {"id": OTHER}}, 9, AT, granted(onBehalfOf=OTHER), keys()
    )
    assert check.passed
    assert check.reason.startswith(f"{ISSUER} on behalf of {OTHER} was authorised")


def test_the_governance_key_must_be_in_force_at_the_authorisation() -> None:
    assert decide(credential(), 9, AT, granted(5), keys(retired_at=7)).passed
    check = decide(credential(), 9, AT, granted(8), keys(retired_at=7))
    assert check.failed
    assert "retired at entry 7" in check.reason
    rogue = Ed25519Signer.from_seed(bytes(32))
    check = decide(credential(), 9, AT, granted(signer=rogue), keys())
    assert "not a governance key published on the ledger" in check.reason


def test_withdrawals_count_only_before_the_credential_and_when_signed() -> None:
    auth_id = granted().payload["authorisation"]["id"]
    body = {"id": "urn:uuid:1", "type": "AuthorisationWithdrawal", "authorisation": auth_id}
    signed = add_proof(body, KEY, verification_method=KEY_ID, created=AT)
    withdrawn = entry(8, "authorisation.withdrawn", {"withdrawal": signed})
    assert decide(credential(), 9, AT, granted(), keys(), [withdrawn]).failed
    assert decide(credential(), 7, AT, granted(), keys(), [withdrawn]).passed
    forged = add_proof(
        body, Ed25519Signer.from_seed(bytes(32)), verification_method=KEY_ID, created=AT
    )
    unsigned = entry(8, "authorisation.withdrawn", {"withdrawal": forged})
    assert decide(credential(), 9, AT, granted(), keys(), [unsigned]).passed


def test_malformed_input_is_a_failing_check() -> None:
    for value in (None, [], "x", {"issuer": 3}):
        assert decide(value, 9, AT, granted(), keys()).failed
    broken = entry(5, "authorisation.granted", {"authorisation": {"type": "IssuerAuthorisation"}})
    assert "no usable authorisation" in decide(credential(), 9, AT, broken, keys()).reason
    late = credential(validFrom="2025-12-01T00:00:00Z")
    assert "in force from 2026-01-01T00:00:00Z" in decide(late, 9, AT, granted(), keys()).reason
