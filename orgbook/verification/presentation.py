"""Verifying a business's presentation: who holds it, for whom, and everything it holds.

What it owns: :func:`verify_presentation`, the checks of a W3C Verifiable Presentation 2.0 that
a business made (:mod:`orgbook.core.presentation`), in order, each a :class:`Check`:

1. ``presentation`` — a VP 2.0 (``@context``, type ``VerifiablePresentation``), a DID ``holder``
   and at least one credential or bundle;
2. ``holder_signature`` — every Data Integrity proof verifies (``eddsa-jcs-2022``), has purpose
   ``authentication`` and a key the holder's DID document lists for authentication (a
   presentation re-signed by another key fails here);
3. ``challenge`` — the proof carries the verifier's challenge (a replayed presentation fails);
4. ``domain`` — the proof carries the verifier's domain (a re-targeted presentation fails);
5. ``holder_anchor`` — among the items, a Digital Identity Anchor whose ``credentialSubject.id``
   is the holder verifies in full (so it is current: a revoked or superseded anchor fails its
   ``status`` check) and is about an organisation the ledger names;
6. ``same_organisation`` — every other credential is about that organisation;

then every item's own report (the credential and bundle checks, by the caller's
``verify_item``). Valid when no check failed, the holder's signature passed and every item is
valid.

What it must not do: I/O (the resolver and ``verify_item`` are parameters), read the clock
(``now``), or raise on what it is handed.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal
from urllib.parse import unquote

from orgbook.core.anchor import anchor_subject, is_anchor
from orgbook.core.credentials import SUBJECT_PREFIX
from orgbook.core.dataintegrity import verify_proofs
from orgbook.core.did import DidResolver, resolve_verification_method
from orgbook.core.errors import OrgBookError
from orgbook.core.presentation import PROOF_PURPOSE, holder_of, is_presentation, presented_items
from orgbook.core.schemas import CREDENTIALS_V2_CONTEXT
from orgbook.verification.keys import key_resolver
from orgbook.verification.report import Check, Report, guarded

__all__ = [
    "PRESENTATION_CHECKS",
    "PresentationReport",
    "PresentedItem",
    "item_organisation",
    "verify_presentation",
]

PRESENTATION_CHECKS = (
    "presentation",
    "holder_signature",
    "challenge",
    "domain",
    "holder_anchor",
    "same_organisation",
)


@dataclass(frozen=True, slots=True)
class PresentedItem:
    """One credential or bundle of a presentation, as the caller verified it."""

    kind: Literal["credential", "bundle"]
    credential: Mapping[str, Any] | None
    organisation: str | None  # the organisation it is about, as the ledger names it if it can
    report: Report


ItemVerifier = Callable[[Any], PresentedItem]


@dataclass(frozen=True, slots=True)
class PresentationReport:
    """The presentation's own checks, then each item's report."""

    checks: tuple[Check, ...]
    items: tuple[PresentedItem, ...]
    holder: str | None
    organisation: str | None

    @property
    def valid(self) -> bool:
        signature = self.check("holder_signature")
        return (
            signature is not None
            and signature.passed
            and not any(check.failed for check in self.checks)
            and bool(self.items)
            and all(item.report.valid for item in self.items)
        )

    def check(self, name: str) -> Check | None:
        return next((check for check in self.checks if check.name == name), None)

    def to_dict(self) -> dict[str, Any]:
        return {
            "valid": self.valid,
            "holder": self.holder,
            "organisation": self.organisation,
            "checks": [check.to_dict() for check in self.checks],
            "items": [
                {"kind": item.kind, **item.report.to_dict()} | _item_id(item) for item in self.items
            ],
        }


def _item_id(item: PresentedItem) -> dict[str, Any]:
    cid = item.credential.get("id") if item.credential is not None else None
    return {"credentialId": cid if isinstance(cid, str) else None}


def item_organisation(value: Any, credential: Any) -> str | None:
    """The organisation an item is about: its bundle's ledger entry says so (``organisation``);
    a credential without one, by its ``urn:orgbook:org:`` subject id. None for neither."""
    if isinstance(value, Mapping):
        entry = value.get("entry")
        payload = entry.get("payload") if isinstance(entry, Mapping) else None
        org = payload.get("organisation") if isinstance(payload, Mapping) else None
        if isinstance(org, str):
            return org
    if is_anchor(credential) or not isinstance(credential, Mapping):
        return None
    subject = credential.get("credentialSubject")
    sid = subject.get("id") if isinstance(subject, Mapping) else None
    if isinstance(sid, str) and sid.startswith(SUBJECT_PREFIX):
        return unquote(sid[len(SUBJECT_PREFIX) :])
    return None


# --- the presentation's own checks ----------------------------------------------------------------


def _proofs(presentation: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    raw = presentation.get("proof")
    found = raw if isinstance(raw, list) else [raw]
    return [p for p in found if isinstance(p, Mapping)]


def check_structure(presentation: Any) -> Check:
    if not is_presentation(presentation):
        return Check("presentation", "fail", "not a VerifiablePresentation")
    assert isinstance(presentation, Mapping)
    contexts = presentation.get("@context")
    first = contexts[0] if isinstance(contexts, list) and contexts else contexts
    if first != CREDENTIALS_V2_CONTEXT:
        return Check("presentation", "fail", f"@context must start with {CREDENTIALS_V2_CONTEXT}")
    holder = holder_of(presentation)
    if holder is None:
        return Check("presentation", "fail", "the presentation names no holder")
    if not holder.startswith("did:"):
        return Check("presentation", "fail", f"the holder {holder!r} is not a DID")
    items = presented_items(presentation)
    if not items:
        return Check("presentation", "fail", "the presentation holds no credential or bundle")
    if not all(isinstance(item, Mapping) for item in items):
        return Check("presentation", "fail", "each presented credential is a JSON object")
    return Check("presentation", "pass", f"a VP 2.0 of {holder} holding {len(items)} item(s)")


def check_holder_signature(
    presentation: Mapping[str, Any], *, resolver: DidResolver, now: datetime
) -> Check:
    holder = holder_of(presentation)
    results = verify_proofs(
        presentation,
        resolve_key=key_resolver(resolver),
        now=now,
        expected_purpose=PROOF_PURPOSE,
    )
    failed = next((r for r in results if not r.ok), None)
    if failed is not None:
        return Check("holder_signature", "fail", f"the holder's proof: {failed.reason}")
    for result in results:
        method = result.verification_method or ""
        if method.partition("#")[0] != holder:
            return Check(
                "holder_signature",
                "fail",
                f"signed by {method}, a key of another DID than the holder {holder}",
            )
        try:
            listed = resolve_verification_method(resolver, method)
        except OrgBookError as exc:
            return Check("holder_signature", "fail", f"{method}: {exc.detail}")
        if PROOF_PURPOSE not in listed.purposes:
            return Check(
                "holder_signature",
                "fail",
                f"{method} is not an authentication key of {holder}",
            )
    methods = ", ".join(sorted({r.verification_method or "?" for r in results}))
    return Check(
        "holder_signature", "pass", f"signed by the holder {holder} (eddsa-jcs-2022, {methods})"
    )


def _check_bound(
    name: Literal["challenge", "domain"], presentation: Mapping[str, Any], expected: str | None
) -> Check:
    if expected is None or not expected:
        return Check(
            name,
            "fail",
            f"no {name} was given by the verifier: without one a presentation can be "
            f"{'replayed' if name == 'challenge' else 're-targeted'}",
        )
    for proof in _proofs(presentation):
        value = proof.get(name)
        values = value if isinstance(value, list) else [value]
        if value is None:
            return Check(name, "fail", f"the holder's proof carries no {name}")
        if expected not in values or (name == "challenge" and not isinstance(value, str)):
            what = (
                "replayed from another request"
                if name == "challenge"
                else "made for another verifier"
            )
            return Check(
                name,
                "fail",
                f"the proof's {name} {value!r} is not {expected!r}: a presentation {what}",
            )
    return Check(name, "pass", f"the proof carries the verifier's {name} {expected!r}")


def _failure(report: Report) -> str:
    failed = report.failures
    if failed:
        return f"{failed[0].name}: {failed[0].reason}"
    return "its signature did not pass"


def check_holder_anchor(holder: str | None, items: tuple[PresentedItem, ...]) -> Check:
    anchors = [item for item in items if is_anchor(item.credential)]
    mine = [
        item
        for item in anchors
        if (anchor_subject(item.credential) or {}).get("id") == holder and holder is not None
    ]
    if not mine:
        if anchors:
            subject = (anchor_subject(anchors[0].credential) or {}).get("id")
            return Check(
                "holder_anchor",
                "fail",
                f"the holder {holder} is not the subject of the Digital Identity Anchor "
                f"(its subject is {subject!r})",
            )
        return Check(
            "holder_anchor",
            "fail",
            "the presentation holds no Digital Identity Anchor binding the holder to an "
            "organisation",
        )
    reasons = []
    for item in mine:
        assert item.credential is not None
        aid = item.credential.get("id")
        if not item.report.valid:
            reasons.append(
                f"the Digital Identity Anchor {aid} is not valid ({_failure(item.report)})"
            )
            continue
        if item.organisation is None:
            reasons.append(
                f"the Digital Identity Anchor {aid} names no organisation the ledger proves "
                "(present its bundle)"
            )
            continue
        number = (anchor_subject(item.credential) or {}).get("registeredId")
        if number != item.organisation.partition(":")[2]:
            reasons.append(
                f"the Digital Identity Anchor {aid} says registeredId {number!r}, its ledger "
                f"entry {item.organisation}"
            )
            continue
        return Check(
            "holder_anchor",
            "pass",
            f"{holder} is bound to {item.organisation} by the current Digital Identity Anchor "
            f"{aid}",
            {"organisation": item.organisation, "anchor": aid},
        )
    return Check("holder_anchor", "fail", "; ".join(reasons))


def check_same_organisation(organisation: str | None, items: tuple[PresentedItem, ...]) -> Check:
    if organisation is None:
        return Check("same_organisation", "skip", "no organisation is bound to the holder")
    for item in items:
        if is_anchor(item.credential):
            continue
        cid = item.credential.get("id") if item.credential is not None else None
        if item.organisation is None:
            return Check(
                "same_organisation",
                "fail",
                f"credential {cid} is not about an organisation this registry names",
            )
        if item.organisation != organisation:
            return Check(
                "same_organisation",
                "fail",
                f"credential {cid} is about {item.organisation}, not the holder's "
                f"organisation {organisation}",
            )
    return Check("same_organisation", "pass", f"every credential presented is about {organisation}")


# --- the whole verification ---------------------------------------------------------------


def verify_presentation(
    presentation: Any,
    *,
    challenge: str | None,
    domain: str | None,
    resolver: DidResolver,
    now: datetime,
    verify_item: ItemVerifier,
) -> PresentationReport:
    """Verify ``presentation`` for a verifier who asked with ``challenge`` and ``domain``.

    ``resolver`` resolves the holder's DID (did:key needs nothing; did:web is the caller's);
    ``verify_item(value)`` verifies one enclosed credential or bundle. Never raises on what it
    is handed.
    """
    structure = guarded("presentation", lambda: check_structure(presentation), what="presentation")
    if structure.failed:
        return PresentationReport((structure,), (), None, None)
    assert isinstance(presentation, Mapping)
    holder = holder_of(presentation)
    items = tuple(verify_item(value) for value in presented_items(presentation))
    signature = guarded(
        "holder_signature",
        lambda: check_holder_signature(presentation, resolver=resolver, now=now),
        what="presentation",
    )
    anchor = guarded("holder_anchor", lambda: check_holder_anchor(holder, items))
    organisation = anchor.details.get("organisation") if anchor.passed and anchor.details else None
    checks = (
        structure,
        signature,
        _check_bound("challenge", presentation, challenge),
        _check_bound("domain", presentation, domain),
        anchor,
        guarded("same_organisation", lambda: check_same_organisation(organisation, items)),
    )
    return PresentationReport(checks, items, holder, organisation)
