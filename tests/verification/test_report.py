"""The report model: checks are read-only values; a report is valid when none failed and a
signature passed."""

from __future__ import annotations

import json

import pytest

from orgbook.verification.report import Check, Report, guarded


def test_report_model() -> None:
    sig = Check("signature", "pass", "ok", {"proofs": [1]})
    report = Report((Check("schema", "pass", "fine"), sig, Check("status", "skip", "none")))
    assert report.valid
    assert report.check("signature") is sig
    assert report.check("nope") is None
    assert report.failures == ()
    worse = report.with_checks(Check("ledger_inclusion", "fail", "not in the log"))
    assert report.valid  # unchanged: reports are values
    assert not worse.valid
    assert [c.name for c in worse.failures] == ["ledger_inclusion"]
    assert json.loads(json.dumps(worse.to_dict())) == {
        "valid": False,
        "checks": [
            {"name": "schema", "outcome": "pass", "reason": "fine"},
            {"name": "signature", "outcome": "pass", "reason": "ok", "details": {"proofs": [1]}},
            {"name": "status", "outcome": "skip", "reason": "none"},
            {"name": "ledger_inclusion", "outcome": "fail", "reason": "not in the log"},
        ],
    }
    # No signature check, or a skipped one, is never valid.
    assert not Report((Check("schema", "pass", "fine"),)).valid
    assert not Report((Check("signature", "skip", "no proof"),)).valid


def test_check_is_hashable_and_read_only() -> None:
    details = {"a": 1}
    check = Check("schema", "pass", "fine", details)
    details["a"] = 2
    assert check.details["a"] == 1
    with pytest.raises(TypeError):
        check.details["b"] = 3  # type: ignore[index]
    assert hash(check) == hash(Check("schema", "pass", "fine", {"x": 1}))
    assert check in {check}
    assert check == Check("schema", "pass", "fine", {"a": 1})
    with pytest.raises(ValueError, match="outcome"):
        Check("schema", "maybe", "?")  # type: ignore[arg-type]


def test_guarded_passes_the_check_through() -> None:
    check = Check("schema", "pass", "fine")
    assert guarded("schema", lambda: check) is check


def test_a_crashing_check_fails_with_the_exception_type_and_no_message() -> None:
    def crash() -> Check:
        raise KeyError("secret internals")

    check = guarded("status", crash)
    assert check == Check("status", "fail", "check could not complete (KeyError)")
    assert check.failed
    assert "secret" not in check.reason


def test_input_nested_too_deeply_is_named_in_the_reason() -> None:
    def deep() -> Check:
        raise RecursionError

    # By default the input is the credential; a caller checking something else names it.
    assert guarded("schema", deep) == Check("schema", "fail", "credential is nested too deeply")
    assert guarded("bundle", deep, what="bundle") == Check(
        "bundle", "fail", "bundle is nested too deeply"
    )


@pytest.mark.parametrize("outcome", ["pass", "fail", "skip"])
def test_each_outcome_is_accepted_and_reads_as_itself(outcome: str) -> None:
    check = Check("schema", outcome, "why")  # type: ignore[arg-type]
    assert check.passed is (outcome == "pass")
    assert check.failed is (outcome == "fail")
    assert check.to_dict() == {"name": "schema", "outcome": outcome, "reason": "why"}


def test_an_unknown_outcome_is_named_in_the_error() -> None:
    with pytest.raises(ValueError) as raised:
        Check("schema", "PASS", "?")  # type: ignore[arg-type]
    assert str(raised.value) == "outcome must be pass, fail or skip, not 'PASS'"


def test_any_failure_invalidates_and_the_first_check_of_a_name_is_found() -> None:
    first = Check("signature", "pass", "ok")
    second = Check("signature", "fail", "second proof")
    report = Report((first, second))
    assert report.check("signature") is first
    assert not report.valid
    assert report.failures == (second,)
    assert not Report((Check("signature", "fail", "bad"),)).valid
    assert report.to_dict()["valid"] is False
