"""Revocation transparency: ``status_logged`` and ``status`` as the ledger's status entries say."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any

from orgbook.core.canonical import canonicalize
from orgbook.ledger.entry import Entry
from orgbook.verification.bundle import ProvenEntry, proven_entry_json
from orgbook.verification.checkpoint import LedgerTrust
from orgbook.verification.inclusion import Part, read_item
from orgbook.verification.report import Check
from orgbook.verification.transparency import (
    StatusLedger,
    check_status_logged,
    list_digest,
    status_ledger,
    status_per_ledger,
)
from tests.verification.support import (
    DID,
    KEY1,
    LEDGER,
    STATUS_URL,
    World,
    failures,
    run,
    standard,
    status_list,
)

CID = "urn:uuid:00000000-0000-5000-8000-000000000001"


def _logged(world: World, *items: Entry) -> list[dict[str, Any]]:
    note = world.checkpoint()
    return [proven_entry_json(e, world.proof(e.index), note) for e in items]


def _publish(world: World, listing: Mapping[str, Any]) -> Entry:
    return world.append(
        "statuslist.published",
        {
            "issuer": "acme",
            "did": DID,
            "list": STATUS_URL,
            "purpose": "revocation",
            "number": 0,
            "keyId": f"{DID}#key-1",
            "digest": hashlib.sha256(canonicalize(listing)).hexdigest(),
        },
    )


def test_a_logged_status_list_that_agrees_with_the_ledger() -> None:
    world, bundle = standard()
    listing = status_list()
    published = _publish(world, listing)
    report = run(bundle, status_lists=lambda url: listing, status_entries=_logged(world, published))
    logged = report.check("status_logged")
    assert logged is not None
    assert logged.outcome == "pass", logged
    assert f"logged at entry {published.index}" in logged.reason


def test_a_status_list_the_ledger_never_recorded_fails() -> None:
    world, bundle = standard()
    published = _publish(world, status_list())
    served = status_list(signer=KEY1, bits=(9,))  # another version: never logged
    digest = hashlib.sha256(canonicalize(served)).hexdigest()
    found = failures(
        run(bundle, status_lists=lambda url: served, status_entries=_logged(world, published))
    )
    assert found == {
        "status_logged": f"status list {STATUS_URL} (sha256 {digest[:16]}…) not recorded on the "
        f"ledger; the ledger's latest version of it is entry {published.index}"
    }


def test_a_logged_list_whose_bit_was_cleared_after_a_revocation() -> None:
    world, bundle = standard()
    revoked = world.append("credential.revoked", {"credential": CID, "reason": "struck off"})
    listing = status_list()  # bit 7 clear, re-signed and logged after the revocation
    published = _publish(world, listing)
    found = failures(
        run(
            bundle,
            status_lists=lambda url: listing,
            status_entries=_logged(world, revoked, published),
        )
    )
    assert found["status"] == (
        f"revoked (ledger entry {revoked.index}, credential.revoked), whatever its status list says"
    )
    assert "disagrees with the ledger" in found["status_logged"]
    assert set(found) == {"status", "status_logged"}


def test_offline_a_bundle_that_records_its_revocation() -> None:
    world, _ = standard()
    revoked = world.append("credential.revoked", {"credential": CID, "reason": "struck off"})
    bundle = world.bundle(world.entries[2])
    bundle["status"] = {"lists": [], "events": _logged(world, revoked)}
    found = failures(run(bundle, status_lists=None))
    assert found == {
        "status_logged": f"revoked: the ledger records credential.revoked at entry "
        f"{revoked.index} (as of the bundle's checkpoint)"
    }


# --- the ledger's status entries read directly ---------------------------------------------------

TRUST = LedgerTrust([LEDGER.verifier()])


def _parts(world: World, *items: Entry) -> list[Part]:
    return [read_item(item, f"/status/events/{i}") for i, item in enumerate(_logged(world, *items))]


def test_an_unproven_status_entry_counts_for_nothing_and_is_reported() -> None:
    # A forged credential.unsuspended (proven under no signed checkpoint) must not lift anything.
    world, _ = standard()
    suspended = world.append("credential.suspended", {"credential": CID})
    lifted = world.append("credential.unsuspended", {"credential": CID})
    parts = _parts(world, suspended, lifted)
    forged = parts[1]
    assert isinstance(forged, ProvenEntry)
    parts[1] = ProvenEntry(
        forged.entry, forged.index, (b"\x00" * 32, *forged.proof[1:]), forged.note
    )
    unreadable = read_item("junk", "/status/events/2")
    ledger = status_ledger([*parts, unreadable], TRUST, CID, known=True)
    assert ledger.events == ((suspended.index, "credential.suspended"),)
    assert len(ledger.unproven) == 2
    assert ledger.unproven[1] == "expected {entry, proof} (at /status/events/2)"
    assert ledger.suspended_before(None) == suspended.index
    check = check_status_logged({}, ledger, {}, None)
    assert (check.name, check.outcome) == ("status_logged", "fail")
    assert check.reason == f"a status entry is not proven: {ledger.unproven[0]}"
    assert ledger.unproven[0].startswith(f"entry {lifted.index} (leaf hash ")


def test_only_this_credentials_entries_and_well_formed_publications_count() -> None:
    world, _ = standard()
    other = world.append("credential.revoked", {"credential": "urn:uuid:someone-else"})
    no_digest = world.append("statuslist.published", {"list": STATUS_URL, "digest": 7})
    no_list = world.append("statuslist.published", {"list": None, "digest": "ab"})
    first = world.append("statuslist.published", {"list": STATUS_URL, "digest": "aa"})
    second = world.append("statuslist.published", {"list": STATUS_URL, "digest": "bb"})
    issued = world.entries[2]  # credential.issued: not a status entry
    ledger = status_ledger(
        _parts(world, other, no_digest, no_list, second, first, issued), TRUST, CID, known=True
    )
    assert ledger.events == ()
    assert ledger.unproven == ()
    assert dict(ledger.published) == {
        (STATUS_URL, "aa"): first.index,
        (STATUS_URL, "bb"): second.index,
    }
    assert dict(ledger.latest) == {STATUS_URL: second.index}


def test_revoked_and_suspended_before_an_entry_exclude_that_entry() -> None:
    ledger = StatusLedger(
        published={},
        latest={},
        events=(
            (5, "credential.suspended"),
            (7, "credential.revoked"),
            (9, "credential.unsuspended"),
        ),
        unproven=(),
        known=True,
    )
    assert ledger.revoked_before(7) is None
    assert ledger.revoked_before(8) == (7, "credential.revoked")
    assert ledger.revoked_before(None) == (7, "credential.revoked")
    assert ledger.suspended_before(5) is None
    assert ledger.suspended_before(6) == 5
    assert ledger.suspended_before(9) == 5
    assert ledger.suspended_before(None) is None  # lifted at 9
    superseded = StatusLedger({}, {}, ((4, "credential.superseded"),), (), True)
    assert superseded.revoked_before(None) == (4, "credential.superseded")
    suspended_only = StatusLedger({}, {}, ((4, "credential.suspended"),), (), True)
    assert suspended_only.revoked_before(None) is None


def test_status_logged_without_any_list_says_what_the_ledger_records() -> None:
    empty = StatusLedger({}, {}, (), (), known=False)
    skipped = check_status_logged({}, empty, {}, None)
    assert (skipped.name, skipped.outcome, skipped.reason) == (
        "status_logged",
        "skip",
        "no status-list entries to check against (a bundle from before revocation "
        "transparency): whether the status lists were logged was not checked",
    )
    suspended = StatusLedger({}, {STATUS_URL: 3}, ((4, "credential.suspended"),), (), True)
    offline = check_status_logged({}, suspended, {}, None)
    assert (offline.name, offline.outcome, offline.reason) == (
        "status_logged",
        "fail",
        "suspended: the ledger records credential.suspended at entry 4 (as of the bundle's "
        "checkpoint)",
    )
    online = Check("status", "pass", "not revoked")
    assert check_status_logged({}, suspended, {}, online).reason == (
        "suspended: the ledger records credential.suspended at entry 4 (as of now)"
    )
    clear = StatusLedger({}, {STATUS_URL: 3, "https://x.example/s/1": 2}, (), (), True)
    unread = check_status_logged({}, clear, {}, online)
    assert (unread.name, unread.outcome, unread.reason) == (
        "status_logged",
        "skip",
        "no status list could be read to compare with the ledger's entries",
    )
    passed = check_status_logged({}, clear, {}, Check("status", "skip", "offline"))
    assert passed.outcome == "pass"
    assert passed.reason == (
        "the ledger entries carried record no revocation or suspension of this credential; "
        "its status lists were logged at entries 2, 3 (the lists themselves were not checked "
        "offline)"
    )


def test_a_list_with_no_canonical_form_has_no_digest() -> None:
    assert list_digest({"n": float("nan")}) == "?"


REVOCATION_URL = STATUS_URL  # .../status/revocation/0
SUSPENSION_URL = "https://registry.example/issuers/acme/status/suspension/0"
MESSAGE_URL = "https://registry.example/issuers/acme/status/message/0"


def _status(*entries: tuple[str, str, bool | None]) -> Check:
    return Check(
        "status",
        "pass",
        "not revoked",
        {
            "entries": [
                {"statusListCredential": url, "statusPurpose": purpose, "set": bit}
                for url, purpose, bit in entries
            ]
        },
    )


def _listing(url: str) -> dict[str, Any]:
    return {"id": url, "type": ["VerifiableCredential", "BitstringStatusListCredential"]}


def test_served_lists_compared_with_the_ledger_bit_by_bit() -> None:
    lists = {url: _listing(url) for url in (REVOCATION_URL, SUSPENSION_URL, MESSAGE_URL)}
    digests = {url: list_digest(listing) for url, listing in lists.items()}
    published = {(url, digests[url]): i for i, url in enumerate(lists, start=10)}
    # Revoked and suspended after the lists were logged: as of their entries, neither.
    ledger = StatusLedger(
        published, {}, ((20, "credential.revoked"), (21, "credential.suspended")), (), True
    )
    status = _status(
        (REVOCATION_URL, "revocation", False),
        (SUSPENSION_URL, "suspension", False),
        (MESSAGE_URL, "message", True),  # a purpose the ledger says nothing about
    )
    check = check_status_logged({}, ledger, lists, status)
    assert (check.name, check.outcome, check.reason) == (
        "status_logged",
        "pass",
        "revocation list logged at entry 10; suspension list logged at entry 11; message list "
        "logged at entry 12; the bits agree with the ledger's status entries",
    )
    # A served list the status check has no entry for is only checked for being logged.
    assert check_status_logged({}, ledger, lists, _status()).outcome == "pass"


def test_a_bit_that_disagrees_with_the_ledger_says_which_way() -> None:
    lists = {SUSPENSION_URL: _listing(SUSPENSION_URL)}
    digest = list_digest(lists[SUSPENSION_URL])
    suspended = StatusLedger(
        {(SUSPENSION_URL, digest): 8}, {}, ((5, "credential.suspended"),), (), True
    )
    check = check_status_logged(
        {}, suspended, lists, _status((SUSPENSION_URL, "suspension", False))
    )
    assert (check.outcome, check.reason) == (
        "fail",
        f"status list {SUSPENSION_URL} (logged at entry 8) disagrees with the ledger: the "
        "credential's suspension bit is clear, but the ledger's entries before it say it is "
        "suspended",
    )
    assert check.details == {"list": SUSPENSION_URL, "digest": digest, "loggedAt": 8}
    clear = StatusLedger({(SUSPENSION_URL, digest): 8}, {}, (), (), True)
    check = check_status_logged({}, clear, lists, _status((SUSPENSION_URL, "suspension", True)))
    assert check.reason == (
        f"status list {SUSPENSION_URL} (logged at entry 8) disagrees with the ledger: the "
        "credential's suspension bit is set, but the ledger's entries before it say it is not "
        "suspended"
    )


def test_a_list_never_logged_names_its_digest() -> None:
    listing = _listing(REVOCATION_URL)
    digest = list_digest(listing)
    ledger = StatusLedger({}, {}, (), (), True)
    check = check_status_logged({}, ledger, {REVOCATION_URL: listing}, _status())
    assert (check.outcome, check.reason) == (
        "fail",
        f"status list {REVOCATION_URL} (sha256 {digest[:16]}…) not recorded on the ledger",
    )
    assert check.details == {"list": REVOCATION_URL, "digest": digest}


def test_without_the_status_checks_bits_a_logged_list_is_only_checked_for_being_logged() -> None:
    listing = _listing(REVOCATION_URL)
    ledger = StatusLedger(
        {(REVOCATION_URL, list_digest(listing)): 10}, {}, ((4, "credential.revoked"),), (), True
    )
    served = {REVOCATION_URL: listing}
    for status in (
        None,
        Check("status", "fail", "no details"),
        _status((REVOCATION_URL, "revocation", None)),
    ):
        check = check_status_logged({}, ledger, served, status)
        assert check.outcome == "pass", status


def test_the_ledger_overrides_the_status_check_only_when_it_can_be_trusted() -> None:
    revoked = StatusLedger({}, {}, ((4, "credential.revoked"),), (), True)
    listed = Check("status", "pass", "not revoked", {"entries": [1]})
    overridden = status_per_ledger(listed, revoked)
    assert (overridden.name, overridden.outcome, overridden.reason) == (
        "status",
        "fail",
        "revoked (ledger entry 4, credential.revoked), whatever its status list says",
    )
    assert overridden.details == {"entries": [1]}
    # The list already says revoked: its own reason stands.
    said = Check("status", "fail", "revoked: bit 7 of the list is set")
    assert status_per_ledger(said, revoked) is said
    # Entries not handed over, or not all proven, decide nothing; nor when status was skipped.
    unknown = StatusLedger({}, {}, ((4, "credential.revoked"),), (), False)
    assert status_per_ledger(listed, unknown) is listed
    unproven = StatusLedger({}, {}, ((4, "credential.revoked"),), ("forged",), True)
    assert status_per_ledger(listed, unproven) is listed
    skipped = Check("status", "skip", "no status entry")
    assert status_per_ledger(skipped, revoked) is skipped
    suspended = StatusLedger({}, {}, ((4, "credential.suspended"),), (), True)
    override = status_per_ledger(listed, suspended)
    assert (override.name, override.outcome, override.reason) == (
        "status",
        "fail",
        "suspended (ledger entry 4, credential.suspended), whatever its status list says",
    )
    assert override.details == {"entries": [1]}
    already = Check("status", "fail", "suspended: bit 3 is set")
    assert status_per_ledger(already, suspended) is already
    # A status check that failed for another reason is overridden by what the ledger says.
    unreachable = Check("status", "fail", "status list could not be fetched")
    assert status_per_ledger(unreachable, revoked).reason.startswith("revoked (ledger entry 4")
    assert status_per_ledger(unreachable, suspended).reason.startswith("suspended (ledger entry 4")


def test_offline_with_no_list_logged_says_none() -> None:
    check = check_status_logged({}, StatusLedger({}, {}, (), (), True), {}, None)
    assert (check.name, check.outcome, check.reason) == (
        "status_logged",
        "pass",
        "the ledger entries carried record no revocation or suspension of this credential; "
        "its status lists were logged at entries none (the lists themselves were not checked "
        "offline)",
    )
