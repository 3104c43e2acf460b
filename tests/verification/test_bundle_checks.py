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

from orgbook.verification.bundle_checks import LEDGER_CHECK_NAMES
from orgbook.verification.report import Report
from tests.verification.support import failures, run, standard, status_list

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
