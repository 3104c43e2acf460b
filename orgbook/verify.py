"""Verifying a credential: a :class:`Report` of small, named checks.

What it owns: the verification result model (:class:`Check`, :class:`Report`, both frozen) and
:func:`verify_credential`, which runs one function per check, in the order the specifications
describe (VC Data Model 2.0 §7.1 verification, then §7.2 validation):

1. ``schema`` — the document is a conforming VC 2.0 credential (§4: contexts, types, ids,
   issuer, subject, dateTimeStamps, typed status/schema/evidence/… objects) and, when its
   ``credentialSchema`` names a schema orgbook holds, it validates against that JSON Schema;
2. ``signature`` — every Data Integrity proof verifies (Data Integrity §4.4, ``eddsa-jcs-2022``
   §3.3.2), keys resolved through the caller's :class:`~orgbook.did.DidResolver`;
3. ``issuer_key`` — each proof's verification method belongs to the credential's issuer and
   is listed in the issuer's DID document as an ``assertionMethod`` key (retired keys reported);
4. ``issuer_trusted`` — the caller's trust policy accepts this issuer for this credential type;
5. ``validity_period`` — ``validFrom ≤ now < validUntil`` (§4.9);
6. ``status`` — revocation and suspension through Bitstring Status Lists (§4.10).

Ledger checks (inclusion, checkpoint, consistency) are appended by their own modules with
:meth:`Report.with_checks`.

What it must not do: raise on malformed input — anything a caller hands over, however broken,
comes back as a report with failing checks — fetch anything itself (the resolver and the status
list fetcher are parameters), or read the clock (``now``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from types import MappingProxyType
from typing import Any, Literal

from orgbook.credentials import CredentialType
from orgbook.dataintegrity import ProofResult, verify_proofs
from orgbook.did import DidResolver, VerificationMethod, resolve_verification_method
from orgbook.errors import BadInput, OrgBookError, UpstreamError
from orgbook.schemas import (
    DEFAULT_SCHEMA_BASE,
    SchemaProblem,
    known_schema_ids,
    parse_date_time,
    stable_schema_id,
    validate_against,
    validate_data_model,
)
from orgbook.statuslist import check_status as check_status_entries

__all__ = [
    "CHECK_NAMES",
    "Check",
    "Outcome",
    "Report",
    "check_issuer_key",
    "check_issuer_trusted",
    "check_schema",
    "check_signature",
    "check_status",
    "check_validity_period",
    "key_resolver",
    "verify_credential",
]

Outcome = Literal["pass", "fail", "skip"]
CHECK_NAMES = (
    "schema",
    "signature",
    "issuer_key",
    "issuer_trusted",
    "validity_period",
    "status",
)


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


# --- helpers ------------------------------------------------------------------------------------


def _issuer_id(credential: Mapping[str, Any]) -> str | None:
    issuer = credential.get("issuer")
    if isinstance(issuer, Mapping):
        issuer = issuer.get("id")
    return issuer if isinstance(issuer, str) else None


class _RememberingResolver:
    """``resolver`` with each DID resolved once: one verification asks for the issuer's
    document for its signature, its issuer key and every status list it names.

    Lives for one :func:`verify_credential` call, so a document that changes is seen by the next
    verification. Callers only read the documents (``resolve_verification_method`` does), so the
    one copy is shared; failures are not remembered.
    """

    __slots__ = ("_documents", "_resolver")

    def __init__(self, resolver: DidResolver) -> None:
        self._resolver = resolver
        self._documents: dict[str, dict[str, Any]] = {}

    def resolve(self, did: str) -> dict[str, Any]:
        found = self._documents.get(did)
        if found is None:
            found = self._documents[did] = self._resolver.resolve(did)
        return found


def key_resolver(resolver: DidResolver) -> Callable[[str], bytes]:
    """``resolve_key`` for Data Integrity: the Ed25519 key a DID URL names, via ``resolver``."""

    def resolve_key(verification_method: str) -> bytes:
        return _resolve_method(resolver, verification_method).public_key

    return resolve_key


def _resolve_method(resolver: DidResolver, vm_id: str) -> VerificationMethod:
    try:
        return resolve_verification_method(resolver, vm_id)
    except OrgBookError:
        raise
    except Exception as exc:  # a caller's resolver: whatever it raises is its failure
        raise UpstreamError(f"DID resolution failed ({type(exc).__name__})") from exc


def _problems_reason(problems: list[SchemaProblem]) -> str:
    first = str(problems[0])
    return first if len(problems) == 1 else f"{first} (and {len(problems) - 1} more)"


def _proof_summary(result: ProofResult) -> dict[str, Any]:
    return {
        "ok": result.ok,
        "reason": result.reason,
        "verificationMethod": result.verification_method,
        "created": result.created,
        "proofPurpose": result.purpose,
    }


def _verification_methods(credential: Mapping[str, Any]) -> list[tuple[str, str | None]]:
    """(verificationMethod, created) of every proof that names one."""
    raw = credential.get("proof")
    proofs = raw if isinstance(raw, list) else [raw]
    found: list[tuple[str, str | None]] = []
    for proof in proofs:
        if isinstance(proof, Mapping) and isinstance(proof.get("verificationMethod"), str):
            created = proof.get("created")
            found.append(
                (proof["verificationMethod"], created if isinstance(created, str) else None)
            )
    return found


# --- the checks ---------------------------------------------------------------------------------


def check_schema(credential: Any, *, schema_base: str = DEFAULT_SCHEMA_BASE) -> Check:
    """1. VC 2.0 data-model conformance, then the JSON Schema of a known ``credentialSchema``."""
    problems = validate_data_model(credential)
    if problems:
        return Check(
            "schema",
            "fail",
            f"not a conforming VC 2.0 credential: {_problems_reason(problems)}",
            {"problems": [{"path": p.path, "message": p.message} for p in problems]},
        )
    schema_ids = [
        entry["id"]
        for entry in _as_list(credential.get("credentialSchema"))
        if isinstance(entry, Mapping) and isinstance(entry.get("id"), str)
    ]
    known = [
        stable_schema_id(sid, schema_base)
        for sid in schema_ids
        if stable_schema_id(sid, schema_base) in known_schema_ids()
    ]
    if not known:
        if schema_ids:
            return Check(
                "schema",
                "pass",
                f"conforms to the VC 2.0 data model; schema {schema_ids[0]} is not one orgbook "
                "holds, so it was not applied",
            )
        return Check("schema", "pass", "conforms to the VC 2.0 data model (no credentialSchema)")
    for schema_id in known:
        problems = validate_against(schema_id, credential)
        if problems:
            return Check(
                "schema",
                "fail",
                f"does not match schema {schema_id}: {_problems_reason(problems)}",
                {"problems": [{"path": p.path, "message": p.message} for p in problems]},
            )
    return Check("schema", "pass", f"conforms to the VC 2.0 data model and {', '.join(known)}")


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def check_signature(credential: Any, *, resolver: DidResolver, now: datetime) -> Check:
    """2. Every proof verifies (Data Integrity §4.4 with ``eddsa-jcs-2022``)."""
    results = verify_proofs(
        credential,
        resolve_key=key_resolver(resolver),
        now=now,
        expected_purpose="assertionMethod",
    )
    details = {"proofs": [_proof_summary(r) for r in results]}
    failed = [(i, r) for i, r in enumerate(results) if not r.ok]
    if failed:
        index, result = failed[0]
        where = f"proof {index}: " if len(results) > 1 else ""
        return Check("signature", "fail", f"{where}{result.reason}", details)
    methods = ", ".join(sorted({r.verification_method or "?" for r in results}))
    count = f"{len(results)} proofs verify" if len(results) > 1 else "proof verifies"
    return Check("signature", "pass", f"{count} (eddsa-jcs-2022, {methods})", details)


def check_issuer_key(credential: Any, *, resolver: DidResolver) -> Check:
    """3. Each proof's key is the issuer's own ``assertionMethod`` key in its DID document."""
    if not isinstance(credential, Mapping):
        return Check("issuer_key", "fail", "credential is not a JSON object")
    issuer = _issuer_id(credential)
    if issuer is None:
        return Check("issuer_key", "fail", "credential has no issuer id")
    methods = _verification_methods(credential)
    if not methods:
        return Check("issuer_key", "fail", "no proof names a verification method")
    notes: list[str] = []
    keys: list[dict[str, Any]] = []
    for vm_id, created in methods:
        controller = vm_id.partition("#")[0]
        if controller != issuer:
            return Check(
                "issuer_key",
                "fail",
                f"verification method {vm_id} belongs to {controller}, not to the issuer {issuer}",
            )
        try:
            method = _resolve_method(resolver, vm_id)
        except OrgBookError as exc:
            return Check("issuer_key", "fail", f"issuer key {vm_id} not found: {exc.detail}")
        key = {"id": vm_id, "retiredAt": method.retired_at, "purposes": sorted(method.purposes)}
        keys.append(key)
        if method.retired_at is not None:
            retired = parse_date_time(method.retired_at)
            signed = parse_date_time(created) if created else None
            if retired is None or signed is None or signed >= retired:
                return Check(
                    "issuer_key",
                    "fail",
                    f"key {vm_id} was retired at {method.retired_at}, "
                    f"before the proof was created ({created})",
                    {"keys": keys},
                )
            notes.append(f"key {vm_id} was retired at {method.retired_at}, after signing")
        elif "assertionMethod" not in method.purposes:
            return Check(
                "issuer_key",
                "fail",
                f"key {vm_id} is not an assertionMethod key of {issuer} (retired or never "
                "authorised)",
                {"keys": keys},
            )
    reason = f"signed with a key of the issuer {issuer}"
    return Check("issuer_key", "pass", "; ".join([reason, *notes]), {"keys": keys})


def check_issuer_trusted(
    credential: Any, *, trusted_issuers: Callable[[str, str], bool] | None
) -> Check:
    """4. The caller's trust policy accepts this issuer for this credential type."""
    if trusted_issuers is None:
        return Check("issuer_trusted", "skip", "no trust policy given")
    if not isinstance(credential, Mapping):
        return Check("issuer_trusted", "fail", "credential is not a JSON object")
    issuer = _issuer_id(credential)
    types = [t for t in _as_list(credential.get("type")) if isinstance(t, str)]
    ours = CredentialType.from_vc_type(types)
    vc_type = (
        ours.vc_type
        if ours
        else next(
            (t for t in reversed(types) if t != "VerifiableCredential"), "VerifiableCredential"
        )
    )
    if issuer is None:
        return Check("issuer_trusted", "fail", "credential has no issuer id")
    try:
        trusted = bool(trusted_issuers(issuer, vc_type))
    except Exception as exc:  # the caller's policy: a failure to decide is not trust
        return Check("issuer_trusted", "fail", f"trust policy failed ({type(exc).__name__})")
    if trusted:
        return Check("issuer_trusted", "pass", f"{issuer} is trusted to issue {vc_type}")
    return Check("issuer_trusted", "fail", f"{issuer} is not trusted to issue {vc_type}")


def check_validity_period(credential: Any, *, now: datetime) -> Check:
    """5. ``validFrom ≤ now < validUntil`` (VC 2.0 §4.9), dates in the reason."""
    if not isinstance(credential, Mapping):
        return Check("validity_period", "fail", "credential is not a JSON object")
    stamp = now.astimezone(UTC).isoformat().replace("+00:00", "Z")
    bounds: dict[str, datetime] = {}
    for name in ("validFrom", "validUntil"):
        if name in credential:
            value = credential[name]
            parsed = parse_date_time(value) if isinstance(value, str) else None
            if parsed is None:
                return Check("validity_period", "fail", f"{name} {value!r} is not a date-time")
            bounds[name] = parsed
    details = {"validFrom": credential.get("validFrom"), "validUntil": credential.get("validUntil")}
    details["now"] = stamp
    if "validFrom" in bounds and now < bounds["validFrom"]:
        return Check(
            "validity_period",
            "fail",
            f"not valid before {credential['validFrom']} (now {stamp})",
            details,
        )
    if "validUntil" in bounds and now >= bounds["validUntil"]:
        return Check(
            "validity_period",
            "fail",
            f"expired at {credential['validUntil']} (now {stamp})",
            details,
        )
    if not bounds:
        return Check("validity_period", "pass", "no validity period stated", details)
    start = f"valid from {credential['validFrom']}" if "validFrom" in bounds else "valid"
    end = f" until {credential['validUntil']}" if "validUntil" in bounds else ""
    return Check("validity_period", "pass", f"{start}{end} (now {stamp})", details)


def check_status(
    credential: Any,
    *,
    status_lists: Callable[[str], Mapping[str, Any]] | None,
    resolver: DidResolver,
    now: datetime,
) -> Check:
    """6. Not revoked, not suspended (Bitstring Status List v1.0 §3.2)."""
    if not isinstance(credential, Mapping) or "credentialStatus" not in credential:
        return Check("status", "skip", "credential has no credentialStatus")
    if status_lists is None:
        return Check("status", "skip", "no status list source given; status not checked")
    results = check_status_entries(
        credential, fetch_list=status_lists, resolve_key=key_resolver(resolver), now=now
    )
    details = {
        "entries": [
            {
                "statusPurpose": r.purpose,
                "statusListIndex": r.index,
                "statusListCredential": r.list_credential,
                "set": r.set,
                "ok": r.ok,
                "reason": r.reason,
            }
            for r in results
        ]
    }
    if not results:
        return Check("status", "fail", "credentialStatus is empty", details)
    for result in results:
        if not result.ok:
            return Check(
                "status", "fail", f"{result.purpose or 'status'}: {result.reason}", details
            )
    for result in results:
        if result.set:
            return Check("status", "fail", result.reason, details)
    summary = "; ".join(r.reason for r in results)
    return Check("status", "pass", summary, details)


# --- the whole verification ---------------------------------------------------------------------


def _guarded(name: str, run: Callable[[], Check]) -> Check:
    """Run one check; a bug in it becomes a failing check rather than a crash of the verifier."""
    try:
        return run()
    except RecursionError:
        return Check(name, "fail", "credential is nested too deeply")
    except Exception as exc:
        return Check(name, "fail", f"check could not complete ({type(exc).__name__})")


def verify_credential(
    credential: Any,
    *,
    resolver: DidResolver,
    status_lists: Callable[[str], Mapping[str, Any]] | None = None,
    now: datetime,
    trusted_issuers: Callable[[str, str], bool] | None = None,
    schema_base: str = DEFAULT_SCHEMA_BASE,
) -> Report:
    """Verify ``credential`` (any parsed JSON value); never raises on what it is handed.

    ``resolver`` resolves the issuer's DID (did:web, did:key); ``status_lists(url)`` returns a
    status list credential (None: status is skipped); ``trusted_issuers(issuer, vc_type)``
    decides trust (None: skipped); ``now`` is an aware datetime.
    """
    if not isinstance(now, datetime) or now.tzinfo is None or now.utcoffset() is None:
        raise BadInput("now must be a timezone-aware datetime")
    resolver = _RememberingResolver(resolver)
    checks = (
        _guarded("schema", lambda: check_schema(credential, schema_base=schema_base)),
        _guarded("signature", lambda: check_signature(credential, resolver=resolver, now=now)),
        _guarded("issuer_key", lambda: check_issuer_key(credential, resolver=resolver)),
        _guarded(
            "issuer_trusted",
            lambda: check_issuer_trusted(credential, trusted_issuers=trusted_issuers),
        ),
        _guarded("validity_period", lambda: check_validity_period(credential, now=now)),
        _guarded(
            "status",
            lambda: check_status(credential, status_lists=status_lists, resolver=resolver, now=now),
        ),
    )
    return Report(checks)
