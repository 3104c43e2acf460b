"""``checkpoint``, ``consistency`` and ``witnesses``: signed by the ledger key, one append-only
history with a newer checkpoint, cosigned by enough known witnesses."""

from __future__ import annotations

import base64

import pytest

from orgbook.core.crypto import Ed25519Signer
from orgbook.core.errors import VerificationError
from orgbook.ledger import merkle
from orgbook.ledger.note import (
    Checkpoint,
    CosignatureSigner,
    NoteSigner,
    add_signatures,
    sign_checkpoint,
)
from orgbook.verification.checkpoint import (
    LedgerTrust,
    bundle_checkpoint,
    check_checkpoint,
    check_consistency,
    check_witnesses,
    consistency_failure,
    open_ledger_checkpoint,
)
from orgbook.verification.report import Check
from tests.verification.support import (
    LEDGER,
    ORIGIN,
    STRANGER,
    World,
    failures,
    retarget_proof,
    run,
    standard,
)

LEDGER_SEED = Ed25519Signer.from_seed(b"\x01" * 32)

# --- the signed checkpoint ------------------------------------------------------------------------


def test_the_checkpoint_signature_changed() -> None:
    _, bundle = standard()
    text, sig = bundle["proof"].rsplit(" ", 1)
    raw = bytearray(base64.b64decode(sig))
    raw[-1] ^= 1
    bundle["proof"] = f"{text} {base64.b64encode(bytes(raw)).decode()}\n"
    found = failures(run(bundle))
    assert set(found) == {"checkpoint"}
    assert "invalid signature" in found["checkpoint"]


def test_a_checkpoint_signed_by_another_key() -> None:
    world, bundle = standard()
    other = NoteSigner(ORIGIN, STRANGER)
    bundle["proof"] = retarget_proof(bundle["proof"], world.checkpoint(signer=other))
    found = failures(run(bundle))
    assert set(found) == {"checkpoint"}
    assert "no signature by a known key" in found["checkpoint"]


def test_a_root_changed_without_the_ledger_key() -> None:
    world, bundle = standard()
    note = world.checkpoint()
    lines = note.split("\n")
    lines[2] = base64.b64encode(b"\x07" * 32).decode()
    bundle["proof"] = retarget_proof(bundle["proof"], "\n".join(lines))
    assert set(failures(run(bundle))) == {"checkpoint", "ledger_inclusion"}


def test_without_a_ledger_key_nothing_ledger_backed_passes() -> None:
    _, bundle = standard()
    report = run(bundle, ledger_keys=[])
    assert not report.valid
    assert "no ledger key given" in failures(report)["checkpoint"]


# --- consistency and witnesses --------------------------------------------------------------------


def test_consistency_with_a_newer_checkpoint() -> None:
    world, bundle = standard()
    old_size = len(world.entries)
    for n in range(5):
        world.append("credential.issued", {"credential": {"n": n}})
    newer = world.checkpoint()
    proof = merkle.consistency_proof(old_size, world.hashes())
    report = run(bundle, newer_checkpoint=newer, consistency_proof=proof)
    assert report.valid
    check = report.check("consistency")
    assert check is not None
    assert check.passed
    assert f"{old_size} is consistent" in check.reason
    bad = run(bundle, newer_checkpoint=newer, consistency_proof=[b"\x00" * 32, *proof[1:]])
    assert set(failures(bad)) == {"consistency"}
    assert "history was rewritten" in failures(bad)["consistency"]
    assert "no consistency proof" in failures(run(bundle, newer_checkpoint=newer))["consistency"]


def test_a_fork_at_the_same_size() -> None:
    world, bundle = standard()
    forked = sign_checkpoint(Checkpoint(ORIGIN, len(world.entries), b"\x09" * 32), [LEDGER])
    found = failures(run(bundle, newer_checkpoint=forked))
    assert found == {
        "consistency": f"two different roots for tree size {len(world.entries)}: the ledger forked"
    }


def test_a_newer_checkpoint_that_does_not_verify() -> None:
    world, bundle = standard()
    other = world.checkpoint(signer=NoteSigner(ORIGIN, STRANGER))
    assert "does not verify" in failures(run(bundle, newer_checkpoint=other))["consistency"]


def test_consistency_failure_across_origins() -> None:
    a = Checkpoint("a.example/log", 1, b"\x01" * 32)
    b = Checkpoint("b.example/log", 1, b"\x01" * 32)
    assert consistency_failure(a, b, []) is not None
    assert consistency_failure(a, a, None) is None


def test_witness_cosignatures() -> None:
    world, bundle = standard()
    w1 = CosignatureSigner("witness1.example", Ed25519Signer.from_seed(b"\x05" * 32))
    w2 = CosignatureSigner("witness2.example", Ed25519Signer.from_seed(b"\x06" * 32))
    note = world.checkpoint()
    body = Checkpoint.parse(note.split("\n\n")[0] + "\n").body()
    cosigned = add_signatures(note, [w1.cosign(body, 1_700_000_000)])
    bundle["proof"] = retarget_proof(bundle["proof"], cosigned)
    verifiers = [w1.verifier(), w2.verifier()]
    assert run(bundle, witnesses=verifiers, min_witnesses=1).valid
    found = failures(run(bundle, witnesses=verifiers, min_witnesses=2))
    assert found == {"witnesses": "1 of 2 known witnesses cosigned (witness1.example); 2 required"}
    assert check_witnesses(cosigned, [], 1).failed
    assert check_witnesses(cosigned, [], 0).outcome == "skip"


# --- each check's answer, as an API caller reads it ----------------------------------------------


def said(check: Check) -> tuple[str, str, str]:
    return (check.name, check.outcome, check.reason)


def _root_hex(world: World, size: int | None = None) -> str:
    return merkle.root_hash(world.hashes(size)).hex()


def test_a_signed_checkpoint_passes_with_its_origin_size_and_root() -> None:
    world, _ = standard()
    size = len(world.entries)
    check = check_checkpoint(world.checkpoint(), [LEDGER.verifier()])
    assert said(check) == (
        "checkpoint",
        "pass",
        f"signed by {ORIGIN} at tree size {size}",
    )
    assert check.details == {"origin": ORIGIN, "size": size, "root": _root_hex(world)}
    trusted = check_checkpoint(
        world.checkpoint(), [LEDGER.verifier()], trust=LedgerTrust([LEDGER.verifier()])
    )
    assert trusted.passed


def test_the_checkpoint_check_says_why_it_failed() -> None:
    world, _ = standard()
    assert said(check_checkpoint(None, [LEDGER.verifier()])) == (
        "checkpoint",
        "fail",
        "no checkpoint: the tlog-proof does not parse",
    )
    assert said(check_checkpoint(world.checkpoint(), [])) == (
        "checkpoint",
        "fail",
        "no ledger key given: the checkpoint cannot be checked (pass the ledger's verifier key, "
        "e.g. --ledger-key)",
    )
    other = world.checkpoint(signer=NoteSigner(ORIGIN, STRANGER))
    assert said(check_checkpoint(other, [LEDGER.verifier()])) == (
        "checkpoint",
        "fail",
        "checkpoint not signed by the ledger key: no signature by a known key",
    )


def test_a_checkpoint_for_another_origin_names_both() -> None:
    world, _ = standard()
    elsewhere = NoteSigner("elsewhere.example/log", LEDGER_SEED)
    note = sign_checkpoint(
        Checkpoint(ORIGIN, len(world.entries), merkle.root_hash(world.hashes())), [elsewhere]
    )
    with pytest.raises(VerificationError) as raised:
        open_ledger_checkpoint(note, [elsewhere.verifier()])
    assert raised.value.detail == (
        f"checkpoint origin {ORIGIN!r} is not the ledger's (elsewhere.example/log)"
    )
    # Every ledger key that signed is named, so an operator sees which origins were expected.
    mirror = NoteSigner("mirror.example/log", STRANGER)
    both = sign_checkpoint(
        Checkpoint(ORIGIN, len(world.entries), merkle.root_hash(world.hashes())),
        [mirror, elsewhere],
    )
    with pytest.raises(VerificationError) as two:
        open_ledger_checkpoint(both, [elsewhere.verifier(), mirror.verifier()])
    assert two.value.detail == (
        f"checkpoint origin {ORIGIN!r} is not the ledger's "
        "(elsewhere.example/log, mirror.example/log)"
    )
    with pytest.raises(VerificationError) as none:
        open_ledger_checkpoint(note, [])
    assert none.value.detail == "no ledger key given to check it against"
    opened = open_ledger_checkpoint(world.checkpoint(), [LEDGER.verifier()])
    assert (opened.origin, opened.size) == (ORIGIN, len(world.entries))


def test_the_checkpoint_a_bundle_states() -> None:
    world, bundle = standard()
    stated = bundle_checkpoint(bundle)
    assert stated is not None
    assert (stated.origin, stated.size, stated.root.hex()) == (
        ORIGIN,
        len(world.entries),
        _root_hex(world),
    )
    assert bundle_checkpoint({**bundle, "proof": "not a tlog-proof"}) is None
    assert bundle_checkpoint({}) is None


def test_consistency_answers_in_full() -> None:
    world, _ = standard()
    note = world.checkpoint()
    old_size = len(world.entries)
    keys = [LEDGER.verifier()]
    assert said(check_consistency(note, None, None, keys)) == (
        "consistency",
        "skip",
        "no newer checkpoint given to compare with",
    )
    assert said(check_consistency(None, note, None, keys)) == (
        "consistency",
        "fail",
        "the bundle has no readable checkpoint",
    )
    latest = check_consistency(note, note, None, keys)
    assert said(latest) == (
        "consistency",
        "pass",
        f"the checkpoint is the latest one (tree size {old_size})",
    )
    assert latest.details == {"size": old_size, "newerSize": old_size}
    for n in range(3):
        world.append("credential.issued", {"credential": {"n": n}})
    newer = world.checkpoint()
    proof = merkle.consistency_proof(old_size, world.hashes())
    grown = check_consistency(note, newer, proof, keys, trust=LedgerTrust(keys))
    assert said(grown) == (
        "consistency",
        "pass",
        f"tree size {old_size} is consistent with the newer checkpoint at {old_size + 3}",
    )
    assert grown.details == {"size": old_size, "newerSize": old_size + 3}
    strange = world.checkpoint(signer=NoteSigner(ORIGIN, STRANGER))
    assert said(check_consistency(note, strange, proof, keys)) == (
        "consistency",
        "fail",
        "the newer checkpoint does not verify: no signature by a known key",
    )
    unreadable = check_consistency("not a note", newer, proof, keys)
    assert (unreadable.name, unreadable.outcome) == ("consistency", "fail")
    assert unreadable.reason.startswith("the bundle's checkpoint does not parse: ")
    assert said(check_consistency(note, newer, [], keys)) == (
        "consistency",
        "fail",
        f"the tree at size {old_size + 3} is not an append-only extension of the tree at size "
        f"{old_size}: history was rewritten",
    )


def test_consistency_failure_in_either_order() -> None:
    world, _ = standard()
    small = Checkpoint(ORIGIN, 2, merkle.root_hash(world.hashes(2)))
    large = Checkpoint(ORIGIN, 4, merkle.root_hash(world.hashes(4)))
    proof = merkle.consistency_proof(2, world.hashes(4))
    assert consistency_failure(small, large, proof) is None
    assert consistency_failure(large, small, proof) is None
    assert consistency_failure(large, small, None) == "no consistency proof from tree size 2 to 4"
    assert consistency_failure(small, large, proof[:-1]) == (
        "the tree at size 4 is not an append-only extension of the tree at size 2: "
        "history was rewritten"
    )
    fork = Checkpoint(ORIGIN, 2, b"\x09" * 32)
    assert consistency_failure(small, fork, None) == (
        "two different roots for tree size 2: the ledger forked"
    )
    a = Checkpoint("a.example/log", 1, b"\x01" * 32)
    b = Checkpoint("b.example/log", 1, b"\x01" * 32)
    assert consistency_failure(a, b, []) == (
        "checkpoints of different ledgers ('a.example/log', 'b.example/log')"
    )


def test_witness_policy_answers_in_full() -> None:
    world, _ = standard()
    w1 = CosignatureSigner("witness1.example", Ed25519Signer.from_seed(b"\x05" * 32))
    w2 = CosignatureSigner("witness2.example", Ed25519Signer.from_seed(b"\x06" * 32))
    note = world.checkpoint()
    body = Checkpoint.parse(note.split("\n\n")[0] + "\n").body()
    cosigned = add_signatures(note, [w1.cosign(body, 1_700_000_000), w2.cosign(body, 7)])
    verifiers = [w2.verifier(), w1.verifier()]
    assert said(check_witnesses(note, [], 0)) == ("witnesses", "skip", "no witness policy given")
    assert check_witnesses(note, [], -1).outcome == "skip"
    assert said(check_witnesses(note, verifiers, 3)) == (
        "witnesses",
        "fail",
        "3 cosignatures required but only 2 witness keys known",
    )
    assert said(check_witnesses(None, verifiers, 1)) == (
        "witnesses",
        "fail",
        "no checkpoint to look for cosignatures on",
    )
    exact = check_witnesses(cosigned, verifiers, 2)
    assert said(exact) == (
        "witnesses",
        "pass",
        "2 of 2 known witnesses cosigned (witness1.example, witness2.example); 2 required",
    )
    assert exact.details == {
        "cosigned": {"witness1.example": 1_700_000_000, "witness2.example": 7},
        "required": 2,
    }
    # Known witnesses but none required: the cosignatures are still reported, and pass.
    zero = check_witnesses(note, verifiers, 0)
    assert said(zero) == ("witnesses", "pass", "0 of 2 known witnesses cosigned (none); 0 required")
    assert zero.details == {"cosigned": {}, "required": 0}
    short = check_witnesses(note, verifiers, 1)
    assert short.failed
    assert short.reason == "0 of 2 known witnesses cosigned (none); 1 required"
    assert short.details == {"cosigned": {}, "required": 1}
    unreadable = check_witnesses("no note here", verifiers, 1)
    assert (unreadable.name, unreadable.outcome) == ("witnesses", "fail")
    assert unreadable.reason.startswith("cosignatures unreadable: ")
