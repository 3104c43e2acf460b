"""Authorisations: "issuer X may issue type T about organisations of jurisdiction J", decided
from ledger entries signed by the registry's governance key.

What it owns: the rules every verifier of an authorised credential applies, the same in the
offline ``orgbook verify``, ``POST /api/v1/verify``, the web page (through
:mod:`~orgbook.verification.bundle_checks`) and the registry itself (its issuance path and
``orgbook ledger audit`` call :func:`decide` on the entries they read):

* the entry kinds and their payloads: ``governance.key.added`` ``{keyId, publicKeyMultibase}``
  and ``governance.key.retired`` ``{keyId}`` (the governance key's ``keyId`` is its ``did:key``
  verification method, ``did:key:z6Mk…#z6Mk…``); ``authorisation.granted``
  ``{authorisation: {...}}`` and ``authorisation.withdrawn`` ``{withdrawal: {...}}``, each
  object secured with an ``eddsa-jcs-2022`` Data Integrity proof by a governance key;
* :class:`Authorisation` (parsed, and :meth:`Authorisation.refuses`: why it does not cover an
  issuance) and :class:`GovernanceKeys` (which key was valid at which ledger index);
* :func:`decide`: the ``issuer_trusted`` check for a credential from an authorisation entry,
  the governance key history and the withdrawals (trusted entries), and
  :func:`check_authorised_on_ledger`: the same from a bundle's parts, each proven first.

A credential issued on behalf of another authority says so with a top-level ``onBehalfOf``
member naming that authority's DID (a string, or an object with ``id`` and optionally
``name``); it must match the authorisation's ``onBehalfOf`` exactly, and a credential claiming
a delegation its authorisation does not grant fails.

What it must not do: I/O, read the clock (times are parameters), or raise on what it is
handed: every problem becomes a failing check or a reason string.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from orgbook.core.dataintegrity import verify_proofs
from orgbook.core.did import public_key_from_did_key
from orgbook.core.errors import BadInput
from orgbook.core.multibase import decode_multikey_ed25519
from orgbook.core.time import parse_time
from orgbook.ledger.entry import Entry
from orgbook.verification.bundle import ProvenEntry
from orgbook.verification.checkpoint import LedgerTrust
from orgbook.verification.document import as_list, issuer_id
from orgbook.verification.inclusion import Part, why_unproven
from orgbook.verification.report import Check

__all__ = [
    "AUTHORISATION_TYPE",
    "GOVERNANCE_ADDED",
    "GOVERNANCE_KINDS",
    "GOVERNANCE_RETIRED",
    "GRANTED",
    "WITHDRAWAL_TYPE",
    "WITHDRAWN",
    "Authorisation",
    "GovernanceKeys",
    "check_authorised_on_ledger",
    "credential_on_behalf_of",
    "decide",
    "entry_time",
    "governance_failure",
    "subject_jurisdiction",
    "withdrawal_target",
]

GOVERNANCE_ADDED = "governance.key.added"
GOVERNANCE_RETIRED = "governance.key.retired"
GOVERNANCE_KINDS = (GOVERNANCE_ADDED, GOVERNANCE_RETIRED)
GRANTED = "authorisation.granted"
WITHDRAWN = "authorisation.withdrawn"
AUTHORISATION_TYPE = "IssuerAuthorisation"
WITHDRAWAL_TYPE = "AuthorisationWithdrawal"

_UUID_URN = re.compile(r"urn:uuid:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
_DID = re.compile(r"did:[a-z0-9]+:[A-Za-z0-9._:%~-]+")
_JURISDICTION = re.compile(r"[A-Z]{2}(?:-[A-Z0-9]{1,3})?")
_VC_TYPE = re.compile(r"[A-Za-z][A-Za-z0-9_.-]{0,199}")
_SUBJECT = re.compile(r"urn:orgbook:org:([^:]+):.+")


def entry_time(entry: Entry) -> datetime:
    """The entry's timestamp as an aware UTC datetime."""
    return datetime.fromisoformat(entry.timestamp.replace("Z", "+00:00")).astimezone(UTC)


def subject_jurisdiction(credential: Any) -> str | None:
    """The jurisdiction of the organisation a credential is about: ``CA-BC`` from
    ``credentialSubject.id`` ``urn:orgbook:org:CA-BC:<number>``; None when it names none."""
    if not isinstance(credential, Mapping):
        return None
    subjects = as_list(credential.get("credentialSubject"))
    found = {
        m.group(1)
        for s in subjects
        if isinstance(s, Mapping)
        and isinstance(s.get("id"), str)
        and (m := _SUBJECT.fullmatch(s["id"])) is not None
    }
    return found.pop() if len(found) == 1 else None


def credential_on_behalf_of(credential: Any) -> str | None:
    """The authority a credential says it is issued on behalf of (its ``onBehalfOf``)."""
    value = credential.get("onBehalfOf") if isinstance(credential, Mapping) else None
    if isinstance(value, Mapping):
        value = value.get("id")
    return value if isinstance(value, str) else None


def _vc_types(credential: Any) -> list[str]:
    types = credential.get("type") if isinstance(credential, Mapping) else None
    return [t for t in as_list(types) if isinstance(t, str)]


def _time(obj: Mapping[str, Any], name: str, *, required: bool) -> datetime | None:
    value = obj.get(name)
    if value is None and not required:
        return None
    if not isinstance(value, str):
        raise BadInput(f"{name} is an RFC 3339 date-time", field=name)
    return parse_time(value)


@dataclass(frozen=True, slots=True)
class Authorisation:
    """An authorisation object, parsed (its proof is checked elsewhere: :func:`decide`)."""

    id: str
    issuer: str
    credential_type: str
    credential_type_id: str | None
    jurisdictions: tuple[str, ...]
    valid_from: datetime
    valid_until: datetime | None
    on_behalf_of: str | None
    document: Mapping[str, Any] = field(compare=False, repr=False)

    @classmethod
    def parse(cls, obj: object) -> Authorisation:
        """:class:`BadInput` naming the member at fault."""
        if not isinstance(obj, Mapping):
            raise BadInput("an authorisation is a JSON object", field="authorisation")
        if obj.get("type") != AUTHORISATION_TYPE:
            raise BadInput(f"an authorisation has type {AUTHORISATION_TYPE!r}", field="type")
        ident = obj.get("id")
        if not isinstance(ident, str) or _UUID_URN.fullmatch(ident) is None:
            raise BadInput("an authorisation id is a urn:uuid", field="id")
        issuer = obj.get("issuer")
        if not isinstance(issuer, str) or _DID.fullmatch(issuer) is None:
            raise BadInput("the authorised issuer is a DID", field="issuer")
        vc_type = obj.get("credentialType")
        if not isinstance(vc_type, str) or _VC_TYPE.fullmatch(vc_type) is None:
            raise BadInput("credentialType is a VC type name", field="credentialType")
        type_id = obj.get("credentialTypeId")
        if type_id is not None and (not isinstance(type_id, str) or ":" not in type_id):
            raise BadInput("credentialTypeId is a URL", field="credentialTypeId")
        places = obj.get("jurisdictions")
        if (
            not isinstance(places, list)
            or not places
            or not all(isinstance(p, str) and _JURISDICTION.fullmatch(p) for p in places)
        ):
            raise BadInput(
                "jurisdictions is a non-empty list of ISO 3166 codes such as CA-BC",
                field="jurisdictions",
            )
        behalf = obj.get("onBehalfOf")
        if behalf is not None and (not isinstance(behalf, str) or _DID.fullmatch(behalf) is None):
            raise BadInput("onBehalfOf is the authority's DID", field="onBehalfOf")
        valid_from = _time(obj, "validFrom", required=True)
        valid_until = _time(obj, "validUntil", required=False)
        assert valid_from is not None
        if valid_until is not None and valid_until <= valid_from:
            raise BadInput("validUntil is after validFrom", field="validUntil")
        return cls(
            ident,
            issuer,
            vc_type,
            type_id,
            tuple(places),
            valid_from,
            valid_until,
            behalf,
            obj,
        )

    def in_force(self, at: datetime) -> bool:
        """Whether ``at`` is within ``[validFrom, validUntil)``."""
        return self.valid_from <= at and (self.valid_until is None or at < self.valid_until)

    def refuses(
        self, *, issuer: str, vc_types: Sequence[str], jurisdiction: str | None, at: datetime
    ) -> str | None:
        """Why this authorisation does not cover issuing ``vc_types`` as ``issuer`` about an
        organisation of ``jurisdiction`` at ``at``; None when it does."""
        if issuer != self.issuer:
            return f"authorisation {self.id} is for {self.issuer}, not {issuer}"
        if self.credential_type not in vc_types:
            return f"authorisation {self.id} is for {self.credential_type}, not {_name(vc_types)}"
        if jurisdiction not in self.jurisdictions:
            return (
                f"authorisation {self.id} covers {', '.join(self.jurisdictions)}, "
                f"not {jurisdiction or 'an organisation without a jurisdiction'}"
            )
        if not self.in_force(at):
            until = f" until {_show(self.valid_until)}" if self.valid_until else ""
            return (
                f"authorisation {self.id} is in force from {_show(self.valid_from)}{until}, "
                f"not at {_show(at)}"
            )
        return None


def _name(vc_types: Sequence[str]) -> str:
    return next((t for t in reversed(vc_types) if t != "VerifiableCredential"), "no type")


def _show(when: datetime | None) -> str:
    return "-" if when is None else when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(frozen=True, slots=True)
class GovernanceKeys:
    """The governance key history: key id → (public key, added at index, retired at index)."""

    keys: Mapping[str, tuple[bytes, int, int | None]]

    @classmethod
    def from_entries(cls, entries: Iterable[Entry]) -> GovernanceKeys:
        """From ``governance.key.*`` entries (others ignored; malformed ones skipped)."""
        found: dict[str, tuple[bytes, int, int | None]] = {}
        for entry in sorted(entries, key=lambda e: e.index):
            key_id = entry.payload.get("keyId")
            if not isinstance(key_id, str):
                continue
            if entry.kind == GOVERNANCE_ADDED and key_id not in found:
                try:
                    public = decode_multikey_ed25519(str(entry.payload.get("publicKeyMultibase")))
                    if public_key_from_did_key(key_id) != public:
                        continue  # the key id must be the did:key of the key it publishes
                except BadInput:
                    continue
                found[key_id] = (public, entry.index, None)
            elif entry.kind == GOVERNANCE_RETIRED and key_id in found:
                public, added, retired = found[key_id]
                if retired is None and entry.index > added:
                    found[key_id] = (public, added, entry.index)
        return cls(found)

    def key_at(self, key_id: str, index: int) -> bytes:
        """The public key of ``key_id`` if it was valid at ledger index ``index``; else
        :class:`BadInput` saying why (the reason :func:`verify_proofs` reports)."""
        known = self.keys.get(key_id)
        if known is None:
            raise BadInput(f"{key_id} is not a governance key published on the ledger")
        public, added, retired = known
        if added >= index:
            raise BadInput(f"governance key {key_id} was published at entry {added}, after {index}")
        if retired is not None and retired < index:
            raise BadInput(f"governance key {key_id} was retired at entry {retired}")
        return public


def governance_failure(document: Any, keys: GovernanceKeys, index: int) -> str | None:
    """Why ``document`` (an authorisation or a withdrawal logged at ``index``) is not signed by
    a governance key valid at that index; None when every proof verifies."""
    results = verify_proofs(
        document,
        resolve_key=lambda vm: keys.key_at(vm, index),
        expected_purpose="assertionMethod",
    )
    bad = next((r for r in results if not r.ok), None)
    return None if bad is None else f"not signed by the registry's governance key: {bad.reason}"


def withdrawal_target(entry: Entry) -> str | None:
    """The authorisation id an ``authorisation.withdrawn`` entry withdraws, or None."""
    body = entry.payload.get("withdrawal")
    target = body.get("authorisation") if isinstance(body, Mapping) else None
    return target if entry.kind == WITHDRAWN and isinstance(target, str) else None


def _fail(reason: str, details: Mapping[str, Any] | None = None) -> Check:
    return Check("issuer_trusted", "fail", reason, details or {})


def decide(
    credential: Any,
    credential_index: int | None,
    credential_time: datetime | None,
    granted: Entry,
    keys: GovernanceKeys,
    withdrawals: Iterable[Entry] = (),
) -> Check:
    """``issuer_trusted`` for ``credential`` (logged at ``credential_index``, ``credential_time``)
    from the ``authorisation.granted`` entry ``granted``: signed by a governance key valid then,
    for this issuer, VC type and the subject's jurisdiction, in force at the credential's
    ``validFrom`` and at its entry's time, logged before the credential, not withdrawn by any of
    ``withdrawals`` logged before the credential, and ``onBehalfOf`` as the credential says.
    The entries are taken as proven; the caller proves them."""
    if granted.kind != GRANTED:
        return _fail(f"entry {granted.index} is {granted.kind}, not {GRANTED}")
    raw = granted.payload.get("authorisation")
    try:
        auth = Authorisation.parse(raw)
    except BadInput as exc:
        return _fail(f"entry {granted.index} holds no usable authorisation: {exc.detail}")
    failure = governance_failure(raw, keys, granted.index)
    if failure is not None:
        return _fail(f"authorisation {auth.id} in entry {granted.index} is {failure}")
    did = issuer_id(credential)
    if did is None:
        return _fail("credential has no issuer id")
    valid_from = credential.get("validFrom") if isinstance(credential, Mapping) else None
    try:
        issued = parse_time(valid_from) if isinstance(valid_from, str) else None
    except BadInput:
        issued = None
    if issued is None:
        return _fail("credential has no usable validFrom")
    kwargs: dict[str, Any] = {
        "issuer": did,
        "vc_types": _vc_types(credential),
        "jurisdiction": subject_jurisdiction(credential),
    }
    refused = auth.refuses(at=issued, **kwargs)
    if refused is None and credential_time is not None and not auth.in_force(credential_time):
        refused = auth.refuses(at=credential_time, **kwargs)
        refused = f"when the credential was logged: {refused}"
    if refused is not None:
        return _fail(refused)
    if credential_index is not None and granted.index >= credential_index:
        return _fail(
            f"authorisation {auth.id} was logged at entry {granted.index}, after the "
            f"credential's entry {credential_index}"
        )
    behalf = credential_on_behalf_of(credential)
    if behalf != auth.on_behalf_of:
        said = f"says it is issued on behalf of {behalf}" if behalf else "names no onBehalfOf"
        wanted = auth.on_behalf_of or "no other authority"
        return _fail(f"the credential {said}; authorisation {auth.id} is on behalf of {wanted}")
    later: list[int] = []
    for entry in withdrawals:
        if withdrawal_target(entry) != auth.id:
            continue
        if governance_failure(entry.payload.get("withdrawal"), keys, entry.index) is not None:
            continue  # a withdrawal the governance key did not sign withdraws nothing
        if credential_index is None or entry.index < credential_index:
            return _fail(
                f"authorisation {auth.id} was withdrawn at ledger entry {entry.index}, before "
                f"the credential's entry {credential_index}"
            )
        later.append(entry.index)
    chain = f"{did}"
    if auth.on_behalf_of:
        chain += f" on behalf of {auth.on_behalf_of}"
    reason = (
        f"{chain} was authorised to issue {auth.credential_type} by ledger entry {granted.index}"
    )
    if later:
        reason += f" (withdrawn later, at entry {later[0]}: the credential predates it)"
    details: dict[str, Any] = {
        "issuer": did,
        "onBehalfOf": auth.on_behalf_of,
        "authorisation": auth.id,
        "authorisedBy": granted.index,
        "credentialType": auth.credential_type,
        "jurisdictions": list(auth.jurisdictions),
    }
    if later:
        details["withdrawnAt"] = later[0]
    return Check("issuer_trusted", "pass", reason, details)


def _proven(part: Part, trust: LedgerTrust, what: str) -> Entry | str:
    failure = why_unproven(trust, part)
    if failure is not None:
        return f"the {what} is not proven on the ledger: {failure}"
    assert isinstance(part, ProvenEntry)
    return part.entry


def check_authorised_on_ledger(
    credential: Any,
    entry: Part,
    authorisation: Part,
    governance: Sequence[Part],
    withdrawals: Sequence[Part],
    trust: LedgerTrust,
) -> Check:
    """``issuer_trusted`` for a bundle carrying an authorisation: every part proven under a
    checkpoint the ledger key signed, then :func:`decide`. Governance key and withdrawal
    entries that are not proven are left out (so they cannot help or hurt)."""
    granted = _proven(authorisation, trust, "authorisation entry")
    if isinstance(granted, str):
        return _fail(granted)
    key_entries = [e for p in governance if isinstance(e := _proven(p, trust, "key"), Entry)]
    if not any(e.kind == GOVERNANCE_ADDED for e in key_entries):
        return _fail("the bundle carries no proven governance.key.added entry")
    withdrawn = [e for p in withdrawals if isinstance(e := _proven(p, trust, "w"), Entry)]
    index: int | None = None
    when: datetime | None = None
    if isinstance(entry, ProvenEntry):
        index, when = entry.entry.index, entry_time(entry.entry)
    return decide(
        credential, index, when, granted, GovernanceKeys.from_entries(key_entries), withdrawn
    )
