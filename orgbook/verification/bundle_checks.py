"""Verifying a bundle: :func:`verify_bundle`, the credential checks and the ledger checks.

What it owns: the order of a bundle's checks and what each is handed. It runs
:func:`orgbook.verification.credential.verify_credential` (schema, signature, issuer_key,
validity_period, status) with keys learnt from the ledger (never from a DID document someone
serves), then the ledger checks, each in its own module, in this order. When the bundle carries
its registered type's ``type.registered`` entry (``credentialType``), ``schema`` is decided by
:mod:`~orgbook.verification.registered_types` from that proven entry (the subject against the
type's registered schema, JSON pointers under ``/credentialSubject``).

1. ``issuer_trusted`` (:mod:`~orgbook.verification.issuers`) — the bundle's
   ``issuer.registered`` entry is proven on the ledger, names the credential's issuer and lists
   the credential's type, before the credential's entry; or, when the bundle carries an
   ``authorisation`` (:mod:`~orgbook.verification.authorisation`), that proven entry, signed by
   a governance key the ledger published, authorised the issuer for the credential's type and
   its subject's jurisdiction as of the credential's entry, and no proven withdrawal precedes
   it;
2. ``key_valid_at_issuance`` (:mod:`~orgbook.verification.keys`) — every proof's verification
   method was added for that issuer (``issuer.key.added``) before the credential's entry and not
   retired (``issuer.key.retired``) before it: ledger order, never clocks;
2b. ``status_logged`` (:mod:`~orgbook.verification.transparency`) — revocation transparency:
   each status list served was logged on the ledger (``statuslist.published``, its SHA-256),
   its bit for the credential agrees with the credential's revocation, suspension and
   supersession entries as of that entry, and ``status`` fails when those entries say revoked
   or suspended, whatever a list says;
3. ``ledger_inclusion`` (:mod:`~orgbook.verification.inclusion`) — the entry is
   ``credential.issued``, its payload credential is the presented one byte for byte (JCS), and
   its leaf hash ``SHA-256(0x00 ‖ JCS(entry))`` is included at its index under the checkpoint's
   root (RFC 9162 §2.1.3.2);
4. ``checkpoint`` (:mod:`~orgbook.verification.checkpoint`, as are 5 and 6) — the checkpoint is
   a C2SP signed note by the ledger key, for its origin;
5. ``consistency`` — the checkpoint is consistent with a newer one (RFC 9162 §2.1.4.2), or equal;
6. ``witnesses`` — at least k of the known witnesses cosigned the checkpoint.

The inclusion check uses the root the checkpoint *states*; the checkpoint check says whether
the ledger signed it. So a forged signature fails only ``checkpoint``, and a ledger that signed a
root that does not include the entry fails only ``ledger_inclusion``. Entries that vouch for the
issuer and its keys count only when proven under a checkpoint the ledger key signed.

What it must not do: I/O, read the clock, or raise on what it is handed: every problem becomes
a failing check.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any

from orgbook.core.errors import BadInput
from orgbook.ledger.note import CosignatureVerifier, NoteVerifier
from orgbook.verification.authorisation import check_authorised_on_ledger
from orgbook.verification.bundle import (
    TYPE_MEMBER,
    ProvenEntry,
    check_envelope,
    parse_tlog_proof,
)
from orgbook.verification.checkpoint import (
    LedgerTrust,
    check_checkpoint,
    check_consistency,
    check_witnesses,
)
from orgbook.verification.credential import verify_credential
from orgbook.verification.inclusion import (
    Part,
    check_ledger_inclusion,
    part_problem,
    read_item,
    read_part,
)
from orgbook.verification.issuers import check_registered_on_ledger
from orgbook.verification.keys import (
    LedgerResolver,
    check_keys_at_issuance,
    key_events,
    ledger_documents,
    status_list_key_failure,
)
from orgbook.verification.registered_types import check_registered_type
from orgbook.verification.report import Check, Report, guarded
from orgbook.verification.transparency import (
    check_status_logged,
    list_digest,
    status_ledger,
    status_per_ledger,
)

__all__ = ["LEDGER_CHECK_NAMES", "verify_bundle"]

LEDGER_CHECK_NAMES = (
    "issuer_trusted",
    "key_valid_at_issuance",
    "status_logged",
    "ledger_inclusion",
    "checkpoint",
    "consistency",
    "witnesses",
)


def _note_of(proof: object) -> str | None:
    try:
        return parse_tlog_proof(proof)[2]
    except BadInput:
        return None


def _guard(name: str, run: Callable[[], Check]) -> Check:
    return guarded(name, run, what="input")


def _items(bundle: Mapping[str, Any], name: str) -> list[Part]:
    """A list-of-``{entry, proof}`` member (one object counts as a list of one)."""
    value = bundle.get(name) or []
    if isinstance(value, Mapping):
        return [read_item(value, f"/{name}")]
    return [read_item(v, f"/{name}/{i}") for i, v in enumerate(value)]


def _recording(
    fetch: Callable[[str], Mapping[str, Any]] | None, seen: dict[str, Mapping[str, Any]]
) -> Callable[[str], Mapping[str, Any]] | None:
    """``fetch``, keeping each status list it returns in ``seen`` (URL -> list)."""
    if fetch is None:
        return None

    def fetch_and_keep(url: str) -> Mapping[str, Any]:
        listing = fetch(url)
        if isinstance(listing, Mapping):
            seen[url] = listing
        return listing

    return fetch_and_keep


def verify_bundle(
    bundle_obj: Any,
    *,
    ledger_keys: Sequence[NoteVerifier],
    now: datetime,
    witnesses: Sequence[CosignatureVerifier] = (),
    min_witnesses: int = 0,
    newer_checkpoint: str | None = None,
    consistency_proof: Sequence[bytes] | None = None,
    status_lists: Callable[[str], Mapping[str, Any]] | None = None,
    key_entries: Sequence[Any] = (),
    status_entries: Sequence[Any] | None = None,
) -> Report:
    """Verify a bundle (any parsed JSON value) against the ledger key; never raises on input.

    Keys come from the ledger's key history only: the bundle's ledger-proven ``issuer.key.*``
    entries plus ``key_entries`` (more ``{entry, proof}`` items, e.g. the registry's current
    ones under its latest checkpoint, so a status list signed by a key added after the bundle
    was made can be checked). A key must be valid when the credential (its entry) or the status
    list (its ``created``) was signed:
    :func:`~orgbook.verification.keys.key_failure`. ``status_lists(url)`` returns a
    status list credential (None: status skipped). ``newer_checkpoint`` with
    ``consistency_proof`` (from the smaller tree to the larger) enables the consistency check.
    """
    try:
        credential = check_envelope(bundle_obj)
    except BadInput as exc:
        return Report((Check("bundle", "fail", f"not a usable bundle: {part_problem(exc)}"),))
    assert isinstance(bundle_obj, Mapping)
    main = read_part(bundle_obj.get("entry"), bundle_obj.get("proof"), "/entry", "/proof")
    raw_issuer = bundle_obj.get("issuer")
    issuer = read_item(raw_issuer, "/issuer") if raw_issuer is not None else None
    keys = [
        read_item(v, f"/issuerKeys/{i}") for i, v in enumerate(bundle_obj.get("issuerKeys", []))
    ]
    keys += [read_item(v, f"(ledger key entry {i})") for i, v in enumerate(key_entries)]
    trust = LedgerTrust(ledger_keys)
    entry_index = main.entry.index if isinstance(main, ProvenEntry) else None
    note = _note_of(bundle_obj.get("proof"))

    raw_status = bundle_obj.get("status")
    raw_status = raw_status if isinstance(raw_status, Mapping) else {}
    status_parts = [
        read_item(v, f"/status/{name}/{i}")
        for name in ("lists", "events")
        for i, v in enumerate(raw_status.get(name) or [])
    ]
    status_parts += [
        read_item(v, f"(ledger status entry {i})") for i, v in enumerate(status_entries or ())
    ]
    ledger_status = status_ledger(
        status_parts,
        trust,
        credential.get("id"),
        known="status" in bundle_obj or status_entries is not None,
    )

    events = key_events(keys, trust)
    ledger_resolver = LedgerResolver(ledger_documents(events))
    fetched: dict[str, Mapping[str, Any]] = {}
    base = verify_credential(
        credential,
        resolver=ledger_resolver,
        status_lists=_recording(status_lists, fetched),
        now=now,
    )
    if bundle_obj.get("authorisation") is not None:
        trusted = _guard(
            "issuer_trusted",
            lambda: check_authorised_on_ledger(
                credential,
                main,
                read_item(bundle_obj["authorisation"], "/authorisation"),
                _items(bundle_obj, "governance"),
                _items(bundle_obj, "withdrawals"),
                trust,
            ),
        )
    else:
        trusted = _guard(
            "issuer_trusted",
            lambda: check_registered_on_ledger(credential, issuer, entry_index, trust),
        )
    key_valid = _guard(
        "key_valid_at_issuance", lambda: check_keys_at_issuance(credential, events, entry_index)
    )
    status = base.check("status")
    logged = _guard(
        "status_logged",
        lambda: check_status_logged(credential, ledger_status, fetched, status),
    )
    if status is not None:
        status = status_per_ledger(status, ledger_status)
        for url, listing in fetched.items():
            index = ledger_status.published.get((url, list_digest(listing)))
            failure = status_list_key_failure(url, listing, events, index)
            if failure is not None:
                status = Check("status", "fail", failure, status.details)
                break
    schema = base.check("schema")
    if bundle_obj.get(TYPE_MEMBER) is not None:
        schema = _guard(
            "schema",
            lambda: check_registered_type(
                credential,
                base.check("schema"),
                main,
                read_item(bundle_obj[TYPE_MEMBER], "/" + TYPE_MEMBER),
                _items(bundle_obj, "governance"),
                trust,
            ),
        )
    checks: list[Check] = []
    for check in base.checks:
        if check.name == "schema" and schema is not None:
            checks.append(schema)
        elif check.name == "issuer_trusted":
            checks += [trusted, key_valid]
        elif check.name == "status" and status is not None:
            checks += [status, logged]
        else:
            checks.append(check)
    checks += [
        _guard("ledger_inclusion", lambda: check_ledger_inclusion(credential, main)),
        _guard("checkpoint", lambda: check_checkpoint(note, trust.keys, trust=trust)),
        _guard(
            "consistency",
            lambda: check_consistency(
                note, newer_checkpoint, consistency_proof, trust.keys, trust=trust
            ),
        ),
        _guard("witnesses", lambda: check_witnesses(note, witnesses, min_witnesses)),
    ]
    return Report(tuple(checks))
