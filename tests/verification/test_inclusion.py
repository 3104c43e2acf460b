"""``ledger_inclusion``: the credential's entry, byte for byte, included under the root the
checkpoint states."""

from __future__ import annotations

from orgbook.core.errors import BadInput
from orgbook.ledger import merkle
from orgbook.ledger.entry import Entry
from orgbook.ledger.note import (
    Checkpoint,
    sign_checkpoint,
)
from orgbook.verification.bundle import ProvenEntry, format_tlog_proof, parse_tlog_proof
from orgbook.verification.checkpoint import LedgerTrust
from orgbook.verification.inclusion import (
    check_ledger_inclusion,
    included_leaf,
    part_problem,
    read_item,
    read_part,
    why_unproven,
)
from tests.verification.support import (
    LEDGER,
    ORIGIN,
    World,
    failures,
    retarget_proof,
    run,
    standard,
)


def test_the_entry_changed() -> None:
    _, bundle = standard()
    bundle["entry"]["timestamp"] = "2026-01-02T00:00:00.000000Z"
    found = failures(run(bundle))
    assert set(found) == {"ledger_inclusion"}
    assert "is not included under the checkpoint root" in found["ledger_inclusion"]


def test_the_entry_and_its_credential_changed_together() -> None:
    _, bundle = standard()
    bundle["entry"]["payload"]["organisation"] = "CA-BC:BC9999999"
    assert set(failures(run(bundle))) == {"ledger_inclusion"}


def test_an_entry_that_is_not_an_issuance() -> None:
    world, _ = standard()
    bundle = world.bundle(world.entries[2])
    bundle["entry"]["kind"] = "credential.revoked"
    found = failures(run(bundle))
    assert set(found) == {"ledger_inclusion"}
    assert "not credential.issued" in found["ledger_inclusion"]


def test_the_inclusion_path_changed() -> None:
    _, bundle = standard()
    index, proof, note = parse_tlog_proof(bundle["proof"])
    bundle["proof"] = format_tlog_proof(index, [b"\x00" * 32, *proof[1:]], note)
    found = failures(run(bundle))
    assert set(found) == {"ledger_inclusion"}


def test_the_proof_index_differs_from_the_entry() -> None:
    _, bundle = standard()
    _, proof, note = parse_tlog_proof(bundle["proof"])
    bundle["proof"] = format_tlog_proof(3, proof, note)
    found = failures(run(bundle))
    assert found == {
        "ledger_inclusion": "the tlog-proof is for index 3 but the entry says 2",
    }


def test_a_root_the_ledger_signed_that_does_not_include_the_entry() -> None:
    # The log itself lies: a validly signed checkpoint over another root.
    world, bundle = standard()
    forged = sign_checkpoint(Checkpoint(ORIGIN, len(world.entries), b"\x07" * 32), [LEDGER])
    bundle["proof"] = retarget_proof(bundle["proof"], forged)
    assert set(failures(run(bundle))) == {"ledger_inclusion"}


# --- the reasons and fields an API caller reads ---------------------------------------------------


def _part(world: World, entry: Entry, size: int | None = None) -> ProvenEntry:
    bundle = world.bundle(entry, size=size)
    part = read_part(bundle["entry"], bundle["proof"], "/entry", "/proof")
    assert isinstance(part, ProvenEntry)
    return part


def test_an_included_entry_passes_with_its_index_leaf_and_size() -> None:
    world, bundle = standard()
    cred = world.entries[2]
    check = check_ledger_inclusion(bundle["credential"], _part(world, cred))
    size = len(world.entries)
    proof_length = len(world.proof(2))
    assert (check.outcome, check.reason) == (
        "pass",
        f"entry 2 is included in the ledger at tree size {size} "
        f"({proof_length}-hash RFC 9162 proof)",
    )
    assert check.details == {"index": 2, "leafHash": cred.leaf_hash().hex(), "treeSize": size}


def test_a_presented_credential_with_no_canonical_form_differs_from_the_logged_one() -> None:
    # A value JCS cannot represent (NaN) never equals the logged credential, even beside it.
    world, bundle = standard()
    presented = {**bundle["credential"], "extra": float("nan")}
    check = check_ledger_inclusion(presented, _part(world, world.entries[2]))
    assert (check.name, check.outcome, check.reason) == (
        "ledger_inclusion",
        "fail",
        "the presented credential differs from the one logged in entry 2",
    )


def test_a_checkpoint_that_does_not_parse_is_the_reason() -> None:
    world, bundle = standard()
    part = _part(world, world.entries[2])
    broken = ProvenEntry(part.entry, part.index, part.proof, "not a checkpoint\n\n— x y\n")
    check = check_ledger_inclusion(bundle["credential"], broken)
    assert (check.name, check.outcome) == ("ledger_inclusion", "fail")
    assert check.reason.startswith("no checkpoint root to check against: ")


def test_an_entry_at_the_checkpoint_size_is_beyond_it() -> None:
    world, _ = standard()
    part = _part(world, world.entries[2])
    checkpoint = Checkpoint(ORIGIN, 2, merkle.root_hash(world.hashes(2)))
    assert included_leaf(part, checkpoint) == (
        None,
        "entry 2 is beyond the checkpoint's tree size 2",
    )
    # One larger and the entry is inside the tree, so the proof decides.
    inside = Checkpoint(ORIGIN, 3, merkle.root_hash(world.hashes(3)))
    leaf, why = included_leaf(part, inside)
    assert leaf == world.entries[2].leaf_hash()
    assert why == (
        f"entry 2 (leaf hash {leaf.hex()[:16]}…) is not included under the checkpoint root at "
        "tree size 3: the entry or the inclusion path was altered"
    )


def test_a_bundle_item_that_is_not_an_entry_and_proof_names_its_field() -> None:
    problem = read_item(["entry"], "/issuer")
    assert isinstance(problem, BadInput)
    assert (problem.detail, problem.field) == ("expected {entry, proof}", "/issuer")
    assert part_problem(problem) == "expected {entry, proof} (at /issuer)"
    assert part_problem(BadInput("no field here")) == "no field here"


def test_an_unreadable_part_names_the_entry_or_the_proof_field() -> None:
    _, bundle = standard()
    entry_at_fault = read_item({"entry": 7, "proof": bundle["proof"]}, "/issuerKeys/0")
    assert isinstance(entry_at_fault, BadInput)
    assert entry_at_fault.field is not None
    assert entry_at_fault.field.startswith("/issuerKeys/0/entry")
    proof_at_fault = read_item({"entry": bundle["entry"], "proof": "no"}, "/issuerKeys/0")
    assert isinstance(proof_at_fault, BadInput)
    assert proof_at_fault.field == "/issuerKeys/0/proof"
    direct = read_part(bundle["entry"], 7, "/entry", "/proof")
    assert isinstance(direct, BadInput)
    assert (direct.detail, direct.field) == ("a tlog-proof is a string", "/proof")
    assert why_unproven(LedgerTrust([LEDGER.verifier()]), direct) == (
        "a tlog-proof is a string (at /proof)"
    )
    assert check_ledger_inclusion(bundle["credential"], direct).reason == (
        "ledger entry unusable: a tlog-proof is a string (at /proof)"
    )
