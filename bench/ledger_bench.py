"""Benchmark of the persistent ledger: batched appends, proofs, roots, checkpoints, audit.

    python bench/ledger_bench.py --entries 1000000 [--batch 10000] [--pg URL] [--no-audit]

Appends go through ``Ledger.append_many`` in batches, one transaction (one durable commit) per
batch, into a fresh SQLite file (WAL) and, with ``--pg``, a fresh PostgreSQL database. Proof
figures are over 1000 random proofs against the full tree, each timed on its own; the database
statements they issue are counted with a SQLAlchemy cursor event. Every proof is verified with
``orgbook.ledger.merkle`` (outside the timing).
"""

from __future__ import annotations

import argparse
import random
import sqlite3
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from _registry import scratch_database
from sqlalchemy import Engine, event, make_url, text

from orgbook.ledger import merkle
from orgbook.ledger.audit import audit
from orgbook.ledger.entry import GENESIS_PREV, Entry
from orgbook.ledger.note import NoteSigner
from orgbook.ledger.store import Ledger
from orgbook.storage.engine import make_engine
from orgbook.storage.migrations import upgrade

ORIGIN = "bench.orgbook.example/ledger"


def credential_payload(i: int) -> dict[str, Any]:
    """About 1 KB, shaped like an issued credential (the ledger stores credentials whole)."""
    return {
        "credential": {
            "@context": ["https://www.w3.org/ns/credentials/v2"],
            "id": f"urn:uuid:{uuid.UUID(int=i)}",
            "type": ["VerifiableCredential", "RegistrationCredential"],
            "issuer": "did:web:registry.orgbook.example:bc",
            "validFrom": "2026-11-23T12:00:00Z",
            "credentialSchema": {
                "id": "https://orgbook.example/schemas/registration/1.0.json",
                "type": "JsonSchema",
            },
            "credentialStatus": {
                "id": f"https://orgbook.example/status/1#{i}",
                "type": "BitstringStatusListEntry",
                "statusPurpose": "revocation",
                "statusListIndex": str(i),
                "statusListCredential": "https://orgbook.example/status/1",
            },
            "credentialSubject": {
                "id": f"https://orgbook.example/organisations/CA-BC/BC{i:07d}",
                "registeredName": f"Société de Démonstration Numéro {i} Ltée",
                "registeredId": f"BC{i:07d}",
                "registeredDate": "2019-04-01",
                "schemeId": "CA-BC",
                "registerType": "Business",
                "entityType": "BC Company",
            },
            "proof": {
                "type": "DataIntegrityProof",
                "cryptosuite": "eddsa-jcs-2022",
                "created": "2026-11-23T12:00:00Z",
                "verificationMethod": "did:web:registry.orgbook.example:bc#key-1",
                "proofPurpose": "assertionMethod",
                "proofValue": "z" + "5" * 87,
            },
        },
        "record": {"registry": "bc", "event": f"evt-{i}"},
    }


def small_payload(i: int) -> dict[str, Any]:
    """About 100 bytes: a revocation or key event rather than a whole credential."""
    return {"credential": f"urn:uuid:{uuid.UUID(int=i)}", "reason": "superseded"}


PAYLOADS = {"credential": credential_payload, "small": small_payload}


class StatementCounter:
    def __init__(self, engine: Engine) -> None:
        self.count = 0
        event.listen(engine, "before_cursor_execute", self._count)

    def _count(self, *_: Any) -> None:
        self.count += 1


def summarise(name: str, samples: list[float], reads: list[int]) -> None:
    samples_ms = sorted(s * 1000 for s in samples)
    p99 = samples_ms[min(len(samples_ms) - 1, int(len(samples_ms) * 0.99))]
    print(
        f"  {name}: mean {statistics.fmean(samples_ms):.3f} ms, p99 {p99:.3f} ms, "
        f"DB statements per proof {statistics.fmean(reads):.2f} (max {max(reads)})"
    )


def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    t0 = time.perf_counter()
    value = fn()
    return time.perf_counter() - t0, value


def run(
    engine: Engine,
    label: str,
    entries: int,
    batch: int,
    proofs: int,
    do_audit: bool,
    make_payload: Callable[[int], dict[str, Any]],
) -> None:
    upgrade(engine)
    counter = StatementCounter(engine)
    signer = NoteSigner.generate(ORIGIN)
    ledger = Ledger(origin=ORIGIN, signer=signer)
    rng = random.Random(9162)
    sample = len(Entry(0, "2026-01-01T00:00:00.000000Z", "credential.issued", make_payload(0),
                       GENESIS_PREV).leaf_bytes())  # fmt: skip
    print(
        f"== {label}: {entries:,} entries of ~{sample:,} bytes, "
        f"batches of {batch:,} (one commit each)"
    )

    # 1. Appends. Payloads are built outside the timing; canonical form, hashing, chaining,
    #    subtree hashes and the inserts are inside.
    elapsed = cpu = 0.0
    done = 0
    while done < entries:
        n = min(batch, entries - done)
        items = [("credential.issued", make_payload(done + k)) for k in range(n)]
        t0, c0 = time.perf_counter(), time.process_time()
        with engine.begin() as conn:
            ledger.append_many(conn, items)
        elapsed += time.perf_counter() - t0
        cpu += time.process_time() - c0
        done += n
        if done % (batch * 20) == 0:
            print(f"  … {done:,} appended ({done / elapsed:,.0f}/s)", flush=True)
    # CPU time too: on a shared machine the wall-clock rate says more about the neighbours.
    print(
        f"  appends: {entries / elapsed:,.0f} entries/s wall ({elapsed:.1f} s), "
        f"{entries / cpu:,.0f} entries per CPU-second ({cpu:.1f} s)"
    )

    with engine.connect() as conn:
        size = ledger.size(conn)
        # 2. Root.
        root_times = []
        for _ in range(100):
            t, root = timed(lambda: ledger.root(conn))
            root_times.append(t)
        before = counter.count
        ledger.root(conn)
        print(
            f"  root: mean {statistics.fmean(root_times) * 1000:.3f} ms "
            f"({counter.count - before - 1} node read(s) + 1 size read)"
        )

        # 3. Inclusion proofs against the full tree.
        times, reads = [], []
        for _ in range(proofs):
            index = rng.randrange(size)
            before = counter.count
            t, proof = timed(lambda: ledger.inclusion_proof(conn, index, size))  # noqa: B023
            times.append(t)
            reads.append(counter.count - before)
            leaf = ledger.entry(conn, index).leaf_hash
            assert merkle.verify_inclusion(leaf, index, size, proof, root)
        summarise(f"inclusion proof ({len(proof)} hashes)", times, reads)

        # 4. Consistency proofs from a random older size.
        times, reads = [], []
        for _ in range(proofs):
            old = rng.randrange(1, size)
            old_root = ledger.root(conn, old)
            before = counter.count
            t, proof = timed(lambda: ledger.consistency_proof(conn, old, size))  # noqa: B023
            times.append(t)
            reads.append(counter.count - before)
            assert merkle.verify_consistency(old, size, old_root, root, proof)
        summarise("consistency proof", times, reads)

    # 5. A checkpoint, and 6. the full audit.
    with engine.begin() as conn:
        t, _ = timed(lambda: ledger.sign_checkpoint(conn))
    print(f"  sign checkpoint: {t * 1000:.1f} ms")
    if do_audit:
        c0 = time.process_time()
        with engine.connect() as conn:
            t, report = timed(lambda: audit(conn, ledger))
        c = time.process_time() - c0
        print(
            f"  audit: {'sound' if report.ok else 'UNSOUND'}, {t:.1f} s wall ({size / t:,.0f}/s), "
            f"{c:.1f} CPU-s ({size / c:,.0f}/CPU-s)"
        )


def sqlite_size(path: Path) -> int:
    return sum(p.stat().st_size for p in path.parent.glob(path.name + "*"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--entries", type=int, default=100_000)
    parser.add_argument("--batch", type=int, default=10_000)
    parser.add_argument("--proofs", type=int, default=1000)
    parser.add_argument("--dir", help="where the SQLite file goes (default: a temp dir)")
    parser.add_argument("--pg", metavar="URL", help="also run on PostgreSQL (admin URL)")
    parser.add_argument("--no-sqlite", action="store_true")
    parser.add_argument("--no-audit", action="store_true")
    parser.add_argument(
        "--payload",
        choices=sorted(PAYLOADS),
        default="credential",
        help="entry payload: a whole ~1 KB credential (default) or a ~100-byte event",
    )
    args = parser.parse_args()

    if not args.no_sqlite:
        directory = Path(args.dir or tempfile.mkdtemp(prefix="ledger-bench-"))
        path = directory / "ledger-bench.sqlite3"
        for old in directory.glob(path.name + "*"):
            old.unlink()
        engine = make_engine(f"sqlite:///{path}")
        run(
            engine,
            f"SQLite {path}",
            args.entries,
            args.batch,
            args.proofs,
            not args.no_audit,
            PAYLOADS[args.payload],
        )
        engine.dispose()
        raw = sqlite3.connect(path)  # fold the WAL back in before measuring the file
        raw.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        raw.close()
        print(f"  database size: {sqlite_size(path) / 2**20:,.0f} MiB")

    if args.pg:
        with scratch_database(args.pg, "orgbook_bench") as url:
            engine = make_engine(url)
            run(
                engine,
                f"PostgreSQL {make_url(url).database}",
                args.entries,
                args.batch,
                args.proofs,
                not args.no_audit,
                PAYLOADS[args.payload],
            )
            with engine.connect() as conn:
                db_bytes = conn.execute(text("SELECT pg_database_size(current_database())"))
                print(f"  database size: {db_bytes.scalar_one() / 2**20:,.0f} MiB")
            engine.dispose()


if __name__ == "__main__":
    main()
