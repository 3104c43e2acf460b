"""Issuer trust: the ``issuer_trusted`` check, decided by a trust policy or by the ledger.

What it owns: the two ways verification decides that the credential's issuer may issue its
type; both answer the check named ``issuer_trusted``, one per verification path:

* :func:`check_trusted_by_policy` (a plain credential) — the caller's trust policy
  ``trusted_issuers(issuer DID, VC type)`` accepts the issuer for the type (no policy: skipped);
* :func:`check_registered_on_ledger` (a bundle) — the bundle's ``issuer.registered`` entry is
  proven on the ledger, names the credential's issuer, lists the credential's type, and comes
  before the credential's entry.

Both read the issuer and the type the same way (:mod:`orgbook.verification.document`).

What it must not do: I/O, or raise on what it is handed (a policy that raises is not trust).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from orgbook.verification.bundle import ProvenEntry
from orgbook.verification.checkpoint import LedgerTrust
from orgbook.verification.document import credential_type, issuer_id, registered_slug
from orgbook.verification.inclusion import Part, why_unproven
from orgbook.verification.report import Check

__all__ = ["check_registered_on_ledger", "check_trusted_by_policy"]


def check_trusted_by_policy(
    credential: Any, *, trusted_issuers: Callable[[str, str], bool] | None
) -> Check:
    """``issuer_trusted`` for a plain credential: the caller's trust policy accepts this issuer
    for this credential type."""
    if trusted_issuers is None:
        return Check("issuer_trusted", "skip", "no trust policy given")
    if not isinstance(credential, Mapping):
        return Check("issuer_trusted", "fail", "credential is not a JSON object")
    issuer = issuer_id(credential)
    _, vc_type = credential_type(credential)
    if issuer is None:
        return Check("issuer_trusted", "fail", "credential has no issuer id")
    try:
        trusted = bool(trusted_issuers(issuer, vc_type))
    except Exception as exc:  # the caller's policy: a failure to decide is not trust
        return Check("issuer_trusted", "fail", f"trust policy failed ({type(exc).__name__})")
    if trusted:
        return Check("issuer_trusted", "pass", f"{issuer} is trusted to issue {vc_type}")
    return Check("issuer_trusted", "fail", f"{issuer} is not trusted to issue {vc_type}")


def check_registered_on_ledger(
    credential: Any, issuer: Part | None, entry_index: int | None, trust: LedgerTrust
) -> Check:
    """``issuer_trusted`` for a bundle: the issuer was registered on the ledger for this
    credential type before issuing it."""
    did = issuer_id(credential)
    if did is None:
        return Check("issuer_trusted", "fail", "credential has no issuer id")
    if issuer is None:
        return Check("issuer_trusted", "fail", "the bundle carries no issuer.registered entry")
    failure = why_unproven(trust, issuer)
    if failure is not None:
        return Check(
            "issuer_trusted", "fail", f"the issuer's registration is not proven: {failure}"
        )
    assert isinstance(issuer, ProvenEntry)
    entry = issuer.entry
    if entry.kind != "issuer.registered":
        return Check(
            "issuer_trusted", "fail", f"entry {entry.index} is {entry.kind}, not issuer.registered"
        )
    body = entry.payload.get("issuer")
    body = body if isinstance(body, Mapping) else {}
    if body.get("did") != did:
        return Check(
            "issuer_trusted",
            "fail",
            f"the registration in entry {entry.index} is for {body.get('did')!r}, not {did}",
        )
    _, vc_type = credential_type(credential)
    slug = registered_slug(credential)
    allowed = body.get("credentialTypes")
    allowed = [t for t in allowed if isinstance(t, str)] if isinstance(allowed, list) else []
    if slug is None or slug not in allowed:
        return Check(
            "issuer_trusted",
            "fail",
            f"{did} is registered for {', '.join(allowed) or 'no types'}, not {vc_type}",
        )
    if entry_index is not None and entry.index >= entry_index:
        return Check(
            "issuer_trusted",
            "fail",
            f"{did} was registered at ledger index {entry.index}, after the credential's "
            f"entry {entry_index}",
        )
    name = body.get("name")
    who = f"{name} ({did})" if isinstance(name, str) else did
    return Check(
        "issuer_trusted",
        "pass",
        f"{who} was registered on the ledger at index {entry.index} to issue {vc_type}",
        {"issuer": body.get("id"), "did": did, "registeredAt": entry.index},
    )
