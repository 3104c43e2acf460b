"""The verification result model: :class:`Check` and :class:`Report`, and :func:`guarded`.

What it owns: what every verification path answers — a report of small, named checks, each
``pass``, ``fail`` or ``skip`` with one precise reason and JSON-ready details — and the rule that
a check which crashes becomes a failing check. Its JSON (:meth:`Report.to_dict`) is what
``orgbook verify --json``, ``POST /api/v1/verify`` and the web page show.

What it must not do: decide anything about a credential or a ledger (the check modules do), or
raise on anything a check hands it other than an unknown outcome.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Literal

__all__ = ["Check", "Outcome", "Report", "guarded"]

Outcome = Literal["pass", "fail", "skip"]


@dataclass(frozen=True, slots=True)
class Check:
    """One verification step: its name, outcome and the one reason for it.

    ``details`` carries JSON-ready specifics (problems, proofs, status entries). It is read-only
    and left out of the hash, so a check can sit in a set.
    """

    name: str
    outcome: Outcome
    reason: str
    details: Mapping[str, Any] = field(default_factory=dict, hash=False)

    def __post_init__(self) -> None:
        if self.outcome not in ("pass", "fail", "skip"):
            raise ValueError(f"outcome must be pass, fail or skip, not {self.outcome!r}")
        if not isinstance(self.details, MappingProxyType):
            object.__setattr__(self, "details", MappingProxyType(dict(self.details)))

    @property
    def passed(self) -> bool:
        return self.outcome == "pass"

    @property
    def failed(self) -> bool:
        return self.outcome == "fail"

    def to_dict(self) -> dict[str, Any]:
        body: dict[str, Any] = {"name": self.name, "outcome": self.outcome, "reason": self.reason}
        if self.details:
            body["details"] = dict(self.details)
        return body


@dataclass(frozen=True, slots=True)
class Report:
    """The checks of one verification, in order. Valid when none failed and a signature passed."""

    checks: tuple[Check, ...]

    @property
    def valid(self) -> bool:
        signature = self.check("signature")
        return (
            signature is not None
            and signature.passed
            and not any(check.failed for check in self.checks)
        )

    @property
    def failures(self) -> tuple[Check, ...]:
        return tuple(check for check in self.checks if check.failed)

    def check(self, name: str) -> Check | None:
        """The first check called ``name``, or None."""
        return next((check for check in self.checks if check.name == name), None)

    def with_checks(self, *more: Check) -> Report:
        """A new report with ``more`` appended (ledger checks and the like)."""
        return Report((*self.checks, *more))

    def to_dict(self) -> dict[str, Any]:
        return {"valid": self.valid, "checks": [check.to_dict() for check in self.checks]}


def guarded(name: str, run: Callable[[], Check], *, what: str = "credential") -> Check:
    """Run one check; a bug in it becomes a failing check rather than a crash of the verifier.

    ``what`` names the input in the reason when it is nested too deeply to walk.
    """
    try:
        return run()
    except RecursionError:
        return Check(name, "fail", f"{what} is nested too deeply")
    except Exception as exc:
        return Check(name, "fail", f"check could not complete ({type(exc).__name__})")
