"""Verifying a credential: a :class:`Report` of small, named checks.

What it owns: :func:`verify_credential`, which runs one function per check, in the order the
specifications describe (VC Data Model 2.0 §7.1 verification, then §7.2 validation), and the
checks of the credential itself (schema, signature, validity period); the others live with
their concern (:mod:`~orgbook.verification.keys`, :mod:`~orgbook.verification.issuers`,
:mod:`~orgbook.verification.status`), the result model in :mod:`~orgbook.verification.report`:

1. ``schema`` — the document is a conforming VC 2.0 credential (§4: contexts, types, ids,
   issuer, subject, dateTimeStamps, typed status/schema/evidence/… objects) and, when its
   ``credentialSchema`` names a schema orgbook holds, it validates against that JSON Schema;
2. ``signature`` — every Data Integrity proof verifies (Data Integrity §4.4, ``eddsa-jcs-2022``
   §3.3.2), keys resolved through the caller's :class:`~orgbook.core.did.DidResolver`;
3. ``issuer_key`` — each proof's verification method belongs to the credential's issuer and
   is listed in the issuer's DID document as an ``assertionMethod`` key (retired keys reported);
4. ``issuer_trusted`` — the caller's trust policy accepts this issuer for this credential type;
5. ``validity_period`` — ``validFrom ≤ now < validUntil`` (§4.9);
6. ``status`` — revocation and suspension through Bitstring Status Lists (§4.10).

A bundle adds the ledger checks (:func:`orgbook.verification.bundle_checks.verify_bundle`).

What it must not do: raise on malformed input — anything a caller hands over, however broken,
comes back as a report with failing checks — fetch anything itself (the resolver and the status
list fetcher are parameters), or read the clock (``now``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from orgbook.core.dataintegrity import ProofResult, verify_proofs
from orgbook.core.did import DidResolver, did_web_to_url
from orgbook.core.errors import BadInput
from orgbook.core.schemas import (
    DEFAULT_SCHEMA_BASE,
    SchemaProblem,
    known_schema_ids,
    stable_schema_id,
    validate_against,
    validate_data_model,
)
from orgbook.core.time import format_time, parse_time_or_none
from orgbook.verification.document import as_list
from orgbook.verification.issuers import check_trusted_by_policy
from orgbook.verification.keys import RememberingResolver, check_issuer_key, key_resolver
from orgbook.verification.report import Check, Report, guarded
from orgbook.verification.status import check_status

__all__ = [
    "CHECK_NAMES",
    "check_schema",
    "check_signature",
    "check_validity_period",
    "verify_credential",
]

CHECK_NAMES = (
    "schema",
    "signature",
    "issuer_key",
    "issuer_trusted",
    "validity_period",
    "status",
)


# --- the credential's own checks ----------------------------------------------------------------


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


def registry_schema_bases(issuer: Any) -> tuple[str, ...]:
    """Where the registry hosting a registry issuer serves its credential schemas.

    A registry issuer's DID is ``did:web:<host>[:<path>]:issuers:<slug>`` (the registry's
    public URL is ``https://<host>[/<path>]``) and a registry without ``ORGBOOK_SCHEMA_BASE``
    names its schemas at ``<public URL>/schemas``: the offline check finds them there with no
    configuration. ``http`` too, for a registry on a loopback address (the demo). Any other
    issuer: none.
    """
    issuer_id = issuer.get("id") if isinstance(issuer, Mapping) else issuer
    if not isinstance(issuer_id, str):
        return ()
    try:
        url = did_web_to_url(issuer_id)  # https://<host>[/<path>]/issuers/<slug>/did.json
    except BadInput:
        return ()
    head, sep, _ = url.removesuffix("/did.json").rpartition("/issuers/")
    if not sep:
        return ()
    public = head.removeprefix("https://")
    return (f"https://{public}/schemas", f"http://{public}/schemas")


def _known_schema(schema_id: str, bases: tuple[str, ...]) -> str | None:
    """The stable ``$id`` of a schema orgbook holds that ``schema_id`` names under one of
    ``bases``, if any."""
    for base in bases:
        stable = stable_schema_id(schema_id, base)
        if stable in known_schema_ids():
            return stable
    return None


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
        for entry in as_list(credential.get("credentialSchema"))
        if isinstance(entry, Mapping) and isinstance(entry.get("id"), str)
    ]
    bases = (schema_base, *registry_schema_bases(credential.get("issuer")))
    known = [stable for sid in schema_ids if (stable := _known_schema(sid, bases)) is not None]
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


def check_validity_period(credential: Any, *, now: datetime) -> Check:
    """5. ``validFrom ≤ now < validUntil`` (VC 2.0 §4.9), dates in the reason."""
    if not isinstance(credential, Mapping):
        return Check("validity_period", "fail", "credential is not a JSON object")
    stamp = format_time(now, "iso")
    bounds: dict[str, datetime] = {}
    for name in ("validFrom", "validUntil"):
        if name in credential:
            value = credential[name]
            parsed = parse_time_or_none(value) if isinstance(value, str) else None
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


# --- the whole verification ---------------------------------------------------------------------


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
    resolver = RememberingResolver(resolver)
    checks = (
        guarded("schema", lambda: check_schema(credential, schema_base=schema_base)),
        guarded("signature", lambda: check_signature(credential, resolver=resolver, now=now)),
        guarded("issuer_key", lambda: check_issuer_key(credential, resolver=resolver)),
        guarded(
            "issuer_trusted",
            lambda: check_trusted_by_policy(credential, trusted_issuers=trusted_issuers),
        ),
        guarded("validity_period", lambda: check_validity_period(credential, now=now)),
        guarded(
            "status",
            lambda: check_status(credential, status_lists=status_lists, resolver=resolver, now=now),
        ),
    )
    return Report(checks)
