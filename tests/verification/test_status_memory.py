"""The verifier process's memory of verified status lists (orgbook.verification.status._VERIFIED):
a list is verified once until it changes, and a remembered answer is always the one a new
verification would give (changed lists, other keys, other times and other issuers are verified
again)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest

from orgbook.core import dataintegrity
from orgbook.core.credentials import CredentialType
from orgbook.core.dataintegrity import add_proof, unsecured
from orgbook.core.did import LocalResolver, build_did_document
from orgbook.core.statuslist import StatusList
from orgbook.verification import status
from orgbook.verification.keys import key_resolver
from orgbook.verification.status import check_status_entries
from tests.core.test_credentials import NOW, Issuer, fixed_signer, make_credential, make_issuer


@pytest.fixture(autouse=True)
def counted(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[int]]:
    """How many times a status list signature was verified (the memory starts empty)."""
    calls: list[int] = []
    real = dataintegrity.verify_proofs

    def counting(*args: Any, **kwargs: Any) -> Any:
        calls.append(1)
        return real(*args, **kwargs)

    status._VERIFIED.clear()
    monkeypatch.setattr(status, "verify_proofs", counting)
    yield calls
    status._VERIFIED.clear()


def _check(issuer: Issuer, cred: Any, **kwargs: Any) -> list[Any]:
    return check_status_entries(
        cred,
        fetch_list=issuer.fetch,
        resolve_key=key_resolver(kwargs.get("resolver", issuer.resolver)),
        now=kwargs.get("now", NOW),
    )


def test_a_list_is_verified_once_until_it_changes(counted: list[int]) -> None:
    issuer = make_issuer()
    first = make_credential(CredentialType.STATUS, issuer, index=7)
    second = make_credential(CredentialType.STATUS, issuer, index=8)
    assert all(r.ok and r.set is False for r in _check(issuer, first))
    assert len(counted) == 2  # the revocation and the suspension list
    assert all(r.ok and r.set is False for r in _check(issuer, second))
    assert len(counted) == 2
    issuer.bits["revocation"].set(8, 1)
    issuer.publish("revocation")
    by_purpose = {r.purpose: r for r in _check(issuer, second)}
    assert by_purpose["revocation"].set is True
    assert by_purpose["suspension"].set is False
    assert len(counted) == 3  # only the changed list was verified again


def test_a_list_tampered_after_it_was_remembered_fails(counted: list[int]) -> None:
    issuer = make_issuer()
    cred = make_credential(CredentialType.STATUS, issuer, index=7)
    assert _check(issuer, cred)[0].ok
    flipped = StatusList()
    flipped.set(7, 1)
    issuer.lists[issuer.list_url("revocation")]["credentialSubject"]["encodedList"] = (
        flipped.encode()
    )
    result = _check(issuer, cred)[0]
    assert not result.ok
    assert result.reason == "status list signature does not verify: signature does not verify"


def test_another_key_for_the_same_method_is_verified_again() -> None:
    issuer = make_issuer()
    cred = make_credential(CredentialType.STATUS, issuer, index=7)
    assert _check(issuer, cred)[0].ok
    other = LocalResolver(
        {
            issuer.did: build_did_document(
                issuer.did, [("key-1", fixed_signer("other").public_key, True)]
            )
        }
    )
    result = _check(issuer, cred, resolver=other)[0]
    assert not result.ok
    assert "signature does not verify" in result.reason


def test_remembered_lists_still_expire_and_are_not_valid_before_they_were_signed() -> None:
    issuer = make_issuer()
    url = issuer.list_url("revocation")
    issuer.lists[url] = add_proof(
        unsecured(issuer.lists[url]) | {"validUntil": "2026-12-01T00:00:00Z"},
        issuer.signer,
        verification_method=issuer.vm,
        created="2026-11-01T00:00:00Z",
    )
    cred = make_credential(CredentialType.STATUS, issuer, index=7)
    assert _check(issuer, cred)[0].ok
    late = _check(issuer, cred, now=NOW + timedelta(days=30))[0]
    assert late.reason == "status list expired at 2026-12-01T00:00:00Z"
    early = _check(issuer, cred, now=NOW - timedelta(days=30))[0]
    assert early.reason.startswith("status list signature does not verify: created is in the")
    assert _check(issuer, cred)[0].ok
