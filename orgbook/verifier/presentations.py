"""Verifying a business's presentation here and offline: the adapters around the pure checks.

What it owns:

* :func:`verify_presentation_here` — ``POST /api/v1/verify`` (and the web page) given a W3C
  Verifiable Presentation: each enclosed credential or bundle verified exactly as the endpoint
  verifies one (:class:`~orgbook.verifier.service.VerificationService`), the holder's proof,
  challenge and domain and the Digital Identity Anchor checked by
  :func:`orgbook.verification.presentation.verify_presentation`, answered as a
  :class:`~orgbook.verifier.models.VerifyReportOut` of kind ``presentation`` with one nested
  report per item. The holder's DID resolves here only as ``did:key`` (the server fetches
  nothing); ``did:web`` holders are verified with ``orgbook verify``;
* :func:`verify_presentation_offline` — ``orgbook verify`` given one: each item through
  :func:`orgbook.verifier.offline.verify_document`, the holder through the caller's resolver;
* :func:`split_request` — the request shapes: a presentation itself (challenge and domain as
  query parameters), or ``{"verifiablePresentation": …, "options": {"challenge", "domain"}}``
  (the W3C VC-API shape).

What it must not do: decide anything (the checks are :mod:`orgbook.verification`).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, Literal

from sqlalchemy import Engine

from orgbook.config import Settings
from orgbook.core.did import DidResolver, LocalResolver
from orgbook.core.errors import BadInput, OrgBookError
from orgbook.core.presentation import is_presentation
from orgbook.runtime.registry import Registry
from orgbook.verification.bundle import is_bundle
from orgbook.verification.presentation import (
    PresentationReport,
    PresentedItem,
    item_organisation,
    verify_presentation,
)
from orgbook.verification.report import Check, Report
from orgbook.verifier.models import CheckOut, VerifyReportOut
from orgbook.verifier.service import VerificationService, verify_value

__all__ = [
    "format_presentation",
    "presentation_out",
    "split_request",
    "verify_presentation_here",
    "verify_presentation_offline",
]


def split_request(
    value: Any, challenge: str | None, domain: str | None
) -> tuple[Any, str | None, str | None] | None:
    """``(presentation, challenge, domain)`` when ``value`` asks to verify a presentation."""
    if isinstance(value, Mapping) and "verifiablePresentation" in value:
        options = value.get("options")
        options = options if isinstance(options, Mapping) else {}
        asked = options.get("challenge", challenge)
        target = options.get("domain", domain)
        return (
            value["verifiablePresentation"],
            asked if isinstance(asked, str) else None,
            target if isinstance(target, str) else None,
        )
    if is_presentation(value):
        return value, challenge, domain
    return None


def _kind(value: Any) -> Literal["credential", "bundle"]:
    return "bundle" if is_bundle(value) else "credential"


def _credential(value: Any) -> Mapping[str, Any] | None:
    found = value.get("credential") if is_bundle(value) else value
    return found if isinstance(found, Mapping) else None


def _refused(value: Any, exc: OrgBookError) -> PresentedItem:
    report = Report((Check("schema", "fail", f"not a credential or bundle: {exc.detail}"),))
    return PresentedItem(_kind(value), None, None, report)


def verify_presentation_here(
    service: VerificationService,
    engine: Engine,
    registry: Registry | None,
    settings: Settings,
    presentation: Any,
    *,
    challenge: str | None,
    domain: str | None,
    now: datetime | None = None,
) -> VerifyReportOut:
    """The report for a presentation, with what this registry's database knows."""
    at = now or datetime.now(UTC)
    ledger_keys = registry.ledger.verifiers if registry is not None else ()

    def item(value: Any) -> PresentedItem:
        if not isinstance(value, dict):
            return _refused(value, BadInput("each presented item is a JSON object"))
        try:
            ctx = service.gather(engine, registry, settings, value)
            out = verify_value(value, ctx, ledger_keys=ledger_keys, now=at)
        except OrgBookError as exc:
            return _refused(value, exc)
        report = Report(
            tuple(Check(c.name, c.outcome, c.reason, c.details or {}) for c in out.checks)
        )
        credential = _credential(value)
        organisation = item_organisation(ctx.bundle or value, credential)
        return PresentedItem(_kind(value), credential, organisation, report)

    result = verify_presentation(
        presentation,
        challenge=challenge,
        domain=domain,
        resolver=LocalResolver(),
        now=at,
        verify_item=item,
    )
    return presentation_out(result)


def verify_presentation_offline(
    presentation: Any,
    *,
    challenge: str | None,
    domain: str | None,
    resolver: DidResolver,
    verify_item: Any,
    now: datetime | None = None,
) -> PresentationReport:
    """``orgbook verify`` on a presentation: ``verify_item(value)`` is the command's own
    :func:`orgbook.verifier.offline.verify_document` with its keys and options."""
    at = now or datetime.now(UTC)

    def item(value: Any) -> PresentedItem:
        try:
            verification = verify_item(value)
        except OrgBookError as exc:
            return _refused(value, exc)
        credential = _credential(value)
        return PresentedItem(
            _kind(value),
            credential,
            item_organisation(value, credential),
            verification.report,
        )

    return verify_presentation(
        presentation,
        challenge=challenge,
        domain=domain,
        resolver=resolver,
        now=at,
        verify_item=item,
    )


def _checks(checks: tuple[Check, ...]) -> list[CheckOut]:
    return [
        CheckOut(
            name=c.name,
            outcome=c.outcome,
            reason=c.reason,
            details=dict(c.details) if c.details else None,
        )
        for c in checks
    ]


def presentation_out(result: PresentationReport) -> VerifyReportOut:
    """The API's answer for a presentation: its checks, then one report per item."""
    items = [
        VerifyReportOut(
            valid=item.report.valid,
            kind="bundle" if item.kind == "bundle" else "credential",
            credential_id=_id(item.credential),
            checks=_checks(item.report.checks),
        )
        for item in result.items
    ]
    return VerifyReportOut(
        valid=result.valid,
        kind="presentation",
        credential_id=None,
        checks=_checks(result.checks),
        holder=result.holder,
        organisation=result.organisation,
        items=items,
    )


def _id(credential: Mapping[str, Any] | None) -> str | None:
    cid = credential.get("id") if credential is not None else None
    return cid if isinstance(cid, str) else None


MARKS = {"pass": "✓", "fail": "✗", "skip": "–"}


def format_presentation(result: PresentationReport) -> str:
    """One line per check of the presentation, then each item's, then the verdict."""
    lines = [f"{MARKS.get(c.outcome, '?')} {c.name}: {c.reason}" for c in result.checks]
    for number, item in enumerate(result.items, 1):
        verdict = "valid" if item.report.valid else "INVALID"
        lines.append(f"item {number}: {item.kind} {_id(item.credential) or '?'} ({verdict})")
        lines += [f"  {MARKS.get(c.outcome, '?')} {c.name}: {c.reason}" for c in item.report.checks]
    lines.append(f"{'VALID' if result.valid else 'INVALID'} presentation")
    return "\n".join(lines)
