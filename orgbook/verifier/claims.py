"""What a credential states, in people's words and the reader's language.

What it owns: :func:`statement` — one line saying what a credential of a known type claims
("Prairie Realty Inc.", "Registered office: 12 Main St, Victoria, BC V8W 1A1, Canada",
"Dissolved — voluntary", "Parent of Harbour Café Ltd."), :func:`claims` — the claims a reader
checks (name, number, status, dates) as labelled rows, :func:`credential_type` — the
registry's type slug of a credential document, and :func:`differing_fields` — where a presented
credential differs from the one its ledger entry logged (``credentialSubject.legalName``).
The organisation page's timeline and the verification report both say what a credential
states through here.

What it must not do: query, verify, or render HTML (templates do; values here are plain text).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from orgbook.core.credentials import CredentialType
from orgbook.verifier.i18n import Translator

__all__ = [
    "claims",
    "credential_type",
    "differing_fields",
    "logged_credential",
    "related_of",
    "statement",
    "subject_of",
]

_DATES = ("registeredDate", "effectiveDate", "endDate")


def subject_of(document: Mapping[str, Any]) -> Mapping[str, Any]:
    subject = document.get("credentialSubject")
    return subject if isinstance(subject, Mapping) else {}


def credential_type(document: Mapping[str, Any]) -> str | None:
    """The type slug (``legal-name``…) of a credential document, if it is one orgbook issues."""
    types = document.get("type")
    if not isinstance(types, list):
        return None
    for kind in CredentialType:
        if kind.vc_type in types:
            return kind.slug
    if "DigitalIdentityAnchor" in types:
        return "identity-anchor"
    return None


def _text(value: object) -> str:
    return value if isinstance(value, str) else ""


def _address(subject: Mapping[str, Any], t: Translator) -> str:
    place = [_text(subject.get(k)) for k in ("streetAddress", "addressLocality")]
    region = " ".join(p for p in (_text(subject.get("addressRegion")),) if p)
    postal = _text(subject.get("postalCode"))
    country = _text(subject.get("addressCountry"))
    parts = [p for p in (*place, " ".join(x for x in (region, postal) if x)) if p]
    if country:
        parts.append(t.label("country", country))
    where = ", ".join(parts)
    kind = _text(subject.get("addressType"))
    return f"{t.label('address_type', kind)}: {where}" if kind else where


def related_of(subject: Mapping[str, Any]) -> tuple[str, str] | None:
    """``(organisation id, name or number)`` of a relationship's other organisation."""
    other = subject.get("relatedOrganisation")
    if not isinstance(other, Mapping):
        return None
    org_id = f"{_text(other.get('jurisdiction'))}:{_text(other.get('registeredId'))}"
    return org_id, _text(other.get("name")) or _text(other.get("registeredId"))


def statement(kind: str | None, subject: Mapping[str, Any], t: Translator) -> str:
    """What a credential of type ``kind`` with this subject claims, in one line."""
    if kind == "legal-name":
        return _text(subject.get("legalName"))
    if kind == "registration":
        name, number = _text(subject.get("registeredName")), _text(subject.get("registeredId"))
        return f"{name} ({number})" if name and number else name or number
    if kind == "address":
        return _address(subject, t)
    if kind == "status":
        status = t.label("status", _text(subject.get("status")))
        reason = _text(subject.get("statusReason"))
        return f"{status} — {t.label('reason', reason)}" if reason else status
    if kind == "business-number":
        return " ".join(
            p
            for p in (_text(subject.get("businessNumber")), _text(subject.get("programAccount")))
            if p
        )
    if kind == "relationship":
        related = related_of(subject)
        label = t.label("rel_outgoing", _text(subject.get("relationshipType")))
        return f"{label} {related[1]}" if related else label
    return ""


def claims(document: Mapping[str, Any], t: Translator) -> list[tuple[str, str]]:
    """The claims a reader checks, as ``(label, text)``: what the credential states, the
    organisation's number, and its dates in the reader's format."""
    subject = subject_of(document)
    kind = credential_type(document)
    rows: list[tuple[str, str]] = []
    if kind is not None:
        rows.append((t("claims.type"), t.label("credential_type", kind)))
        said = statement(kind, subject, t)
        if said:
            rows.append((t.label("credential_type", kind), said))
    subject_id = _text(subject.get("id"))
    number = _text(subject.get("registeredId")) or subject_id.rsplit(":", 1)[-1]
    if number:
        rows.append((t("org.registration_number"), number))
    for name in _DATES:
        if isinstance(subject.get(name), str):
            rows.append((t(f"claims.{name}"), t.date(subject[name])))
    for name in ("validFrom", "validUntil"):
        if isinstance(document.get(name), str):
            rows.append((t(f"claims.{name}"), t.date(document[name])))
    return rows


def logged_credential(bundle: Mapping[str, Any] | None) -> Mapping[str, Any] | None:
    """The credential a bundle's ledger entry logged, if it has one."""
    entry = bundle.get("entry") if isinstance(bundle, Mapping) else None
    payload = entry.get("payload") if isinstance(entry, Mapping) else None
    logged = payload.get("credential") if isinstance(payload, Mapping) else None
    return logged if isinstance(logged, Mapping) else None


def differing_fields(presented: Any, logged: Any, path: str = "", limit: int = 20) -> list[str]:
    """The dotted paths (``credentialSubject.legalName``, ``proof.proofValue``, ``type[1]``)
    where ``presented`` differs from ``logged``, at most ``limit``, in document order."""
    if isinstance(presented, Mapping) and isinstance(logged, Mapping):
        out: list[str] = []
        for key in [*presented, *(k for k in logged if k not in presented)]:
            here = f"{path}.{key}" if path else str(key)
            if key not in presented or key not in logged:
                out.append(here)
            else:
                out += differing_fields(presented[key], logged[key], here, limit)
            if len(out) >= limit:
                return out[:limit]
        return out
    if isinstance(presented, list) and isinstance(logged, list) and len(presented) == len(logged):
        found: list[str] = []
        for i, (a, b) in enumerate(zip(presented, logged, strict=True)):
            found += differing_fields(a, b, f"{path}[{i}]", limit)
        return found[:limit]
    same = type(presented) is type(logged) and presented == logged
    return [] if same else [path or "(document)"]
