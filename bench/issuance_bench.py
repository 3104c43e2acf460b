"""Benchmark of bulk issuance: a generated feed through ``orgbook ingest``'s real path.

    python bench/issuance_bench.py --orgs 100000 [--batch 5000] [--dir DIR] [--no-breakdown]

Generates a BC feed of ``--orgs`` organisations (about six records each; cached in ``--dir``),
registers one issuer in a fresh SQLite file (WAL) and ingests the feed with
:func:`orgbook.issuer.bulk.ingest_file` in one process: parsing, validation, mapping, signing,
ledger appends, projections, search index and a checkpoint per batch, exactly as the CLI does.

It prints credentials per second (wall clock and per CPU second: the machine is shared, CPU time
is the steadier figure) and where the time goes. The breakdown uses explicit timers wrapped
around each function family, each counting *exclusive* time (a family's time excludes the
families it calls), so the shares add up. The timers read the process's CPU time by default
(the machine is shared; ``--wall-timers`` for wall clock, which also counts I/O waits):

* signing: Ed25519 ``sign`` (PyNaCl);
* canonicalisation: ``orgbook.core.canonical.canonicalize`` and ``canonicalize_trusted`` (RFC 8785);
* hashing: SHA-256 of proof inputs, ledger leaves and Merkle nodes;
* storage: SQLAlchemy statement execution (building, binding, the driver, SQLite) and commits;
* validation + mapping: ``parse_record`` and ``map_record``;
* feed parsing: JSON Lines decoding;
* search index: ``orgbook.search.upsert_orgs`` (its SQL is counted under storage; its
  inclusive time is printed on its own line);
* rest: everything else (building credentials, planning, the proof's other steps, Python glue).

For comparison it also measures Ed25519 signing alone on this machine: the ceiling.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from _registry import ISSUER, bc_registry  # noqa: E402


class Timers:
    """Exclusive time per family: a stack of (family, start, time spent in callees)."""

    def __init__(self, clock: Callable[[], float] = time.process_time) -> None:
        self.clock = clock
        self.exclusive: dict[str, float] = defaultdict(float)
        self.inclusive: dict[str, float] = defaultdict(float)
        self.calls: dict[str, int] = defaultdict(int)
        self.stack: list[list[Any]] = []

    def wrap(self, family: str, func: Callable[..., Any], *, inclusive: bool = False) -> Any:
        clock = self.clock
        stack = self.stack
        exclusive, inclusive_t, calls = self.exclusive, self.inclusive, self.calls

        def timed(*args: Any, **kwargs: Any) -> Any:
            frame: list[Any] = [family, clock(), 0.0]
            stack.append(frame)
            try:
                return func(*args, **kwargs)
            finally:
                stack.pop()
                spent = clock() - frame[1]
                exclusive[family] += spent - frame[2]
                calls[family] += 1
                if inclusive:
                    inclusive_t[family] += spent
                if stack:
                    stack[-1][2] += spent

        timed.__wrapped__ = func  # type: ignore[attr-defined]
        return timed


@contextmanager
def instrumented(timers: Timers) -> Iterator[None]:
    """Wrap each function family where its callers look it up; undo on exit."""
    import sqlalchemy.engine.base as sa_base

    import orgbook.core.crypto
    import orgbook.core.dataintegrity
    import orgbook.issuer.bulk
    import orgbook.issuer.service
    import orgbook.ledger.entry
    import orgbook.ledger.store
    import orgbook.projections.searchdocs
    from orgbook.core import canonical

    patches: list[tuple[Any, str, Any]] = []

    def patch(owner: Any, name: str, family: str, *, inclusive: bool = False) -> None:
        original = getattr(owner, name)
        patches.append((owner, name, original))
        setattr(owner, name, timers.wrap(family, original, inclusive=inclusive))

    original_canonicalize = canonical.canonicalize
    for module in list(sys.modules.values()):
        name = getattr(module, "__name__", "")
        if name.startswith("orgbook") and getattr(module, "canonicalize", None) is (
            original_canonicalize
        ):
            patch(module, "canonicalize", "canonicalisation")
    for module in (canonical, orgbook.core.dataintegrity):  # the trusted path (no guard walk)
        if hasattr(module, "canonicalize_trusted"):
            patch(module, "canonicalize_trusted", "canonicalisation")
    patch(orgbook.core.crypto.Ed25519Signer, "sign", "signing")
    patch(hashlib, "sha256", "hashing")  # dataintegrity's hash_data, the service's record hash
    for module in (orgbook.ledger.store, orgbook.ledger.entry):
        for fn in ("leaf_hash", "node_hash", "_leaf_hash"):
            if hasattr(module, fn):
                patch(module, fn, "hashing")
    patch(sa_base.Connection, "execute", "storage")
    patch(sa_base.Connection, "exec_driver_sql", "storage")
    patch(sa_base.Connection, "_commit_impl", "storage")
    for fn in ("parse_record", "parse_record_fast", "map_record"):
        if hasattr(orgbook.issuer.service, fn):
            patch(orgbook.issuer.service, fn, "validation + mapping")
    if hasattr(orgbook.issuer.bulk, "loads_strict"):
        patch(orgbook.issuer.bulk, "loads_strict", "feed parsing")
    if hasattr(orgbook.issuer.bulk, "_loads"):
        patch(orgbook.issuer.bulk, "_loads", "feed parsing")
    patch(orgbook.projections.searchdocs, "upsert_orgs", "search index", inclusive=True)
    try:
        yield
    finally:
        for owner, name, original in reversed(patches):
            setattr(owner, name, original)


def signing_alone(n: int = 20000) -> float:
    """Ed25519 signatures per second over 64-byte messages (what eddsa-jcs-2022 signs)."""
    from orgbook.core.crypto import Ed25519Signer

    signer = Ed25519Signer.generate()
    message = os.urandom(64)
    best = 0.0
    for _ in range(3):
        start = time.process_time()
        for _ in range(n):
            signer.sign(message)
        best = max(best, n / (time.process_time() - start))
    return best


def bare_pipeline(source: Any, directory: Path, n: int = 20_000, batch: int = 1000) -> float:
    """Credentials per CPU second through only canonicalise + sign + ledger append + commit.

    The run's own credentials (proof removed) are signed again and appended to a fresh SQLite
    ledger, ``batch`` per transaction: DESIGN.md's minimal pipeline, with none of issuance's
    other work (records, mapping, supersession, projections, status lists, search). It bounds
    what the whole pipeline can reach in one process.
    """
    import orjson
    from sqlalchemy import select

    from orgbook.core.canonical import Canonical
    from orgbook.core.credentials import sign_credential_canonical
    from orgbook.core.crypto import Ed25519Signer
    from orgbook.projections.tables import credential_document, credentials_with_entry

    with source.engine.connect() as conn:
        query = select(credential_document).select_from(credentials_with_entry).limit(n)
        rows = conn.execute(query).scalars().all()
    unsigned = []
    for document in rows:
        credential = orjson.loads(document)
        credential.pop("proof")
        unsigned.append(credential)
    target = bc_registry(Path(tempfile.mkdtemp(prefix="bare-", dir=directory)))
    signer = Ed25519Signer.generate()
    method = "did:web:registry.example:issuers:bench#key-1"
    start = time.process_time()
    for first in range(0, len(unsigned), batch):
        with target.engine.begin() as conn:
            items = []
            for credential in unsigned[first : first + batch]:
                signed, document = sign_credential_canonical(
                    credential, signer, verification_method=method, created="2026-01-01T00:00:00Z"
                )
                items.append(("credential.issued", {"credential": Canonical(signed, document)}))
            target.ledger.append_many(conn, items)
    spent = time.process_time() - start
    target.close()
    return len(unsigned) / spent


def feed_file(directory: Path, orgs: int, seed: int) -> Path:
    from orgbook.issuer.sample import write_feed

    path = directory / f"feed-bc-{orgs}-{seed}.jsonl"
    if not path.exists():
        start = time.perf_counter()
        partial = path.with_suffix(".partial")
        count = write_feed(partial, orgs, seed=seed, jurisdictions=("CA-BC",))
        partial.rename(path)
        print(f"generated {count:,} records in {time.perf_counter() - start:.1f} s: {path}")
    return path


def run(args: argparse.Namespace) -> int:
    from orgbook.issuer.bulk import ingest_file
    from orgbook.issuer.service import Issuance

    directory = Path(args.dir or tempfile.mkdtemp(prefix="orgbook-issuance-bench-"))
    directory.mkdir(parents=True, exist_ok=True)
    feed = feed_file(directory, args.orgs, args.seed)
    data_dir = Path(tempfile.mkdtemp(prefix="run-", dir=directory))
    registry = bc_registry(data_dir)
    issuance: Any = Issuance(registry)

    timers = Timers(time.perf_counter if args.wall_timers else time.process_time)
    wall0, cpu0 = time.perf_counter(), time.process_time()
    if args.no_breakdown:
        result = ingest_file(issuance, ISSUER, feed, batch_size=args.batch, progress=args.progress)
    else:
        with instrumented(timers):
            result = ingest_file(
                issuance, ISSUER, feed, batch_size=args.batch, progress=args.progress
            )
    wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
    creds = result.credentials

    print(f"feed: {feed.name}, {result.records:,} records, batch {args.batch}")
    print(
        f"issued {creds:,} credentials ({result.issued:,} records issued, "
        f"{result.history:,} history, {result.rejected:,} rejected)"
    )
    print(f"wall {wall:.1f} s, CPU {cpu:.1f} s")
    print(f"credentials/s: {creds / wall:,.0f} (wall), {creds / cpu:,.0f} (per CPU second)")
    print(f"records/s:     {result.records / wall:,.0f} (wall), {result.records / cpu:,.0f} (CPU)")
    if not args.no_breakdown:
        total = wall if args.wall_timers else cpu
        clock = "wall" if args.wall_timers else "CPU"
        print(f"\nwhere the time goes (exclusive {clock} time, share of the run's {clock} time):")
        accounted = 0.0
        order = [
            "signing",
            "canonicalisation",
            "hashing",
            "storage",
            "validation + mapping",
            "feed parsing",
            "search index",
        ]
        for family in order:
            spent = timers.exclusive.get(family, 0.0)
            accounted += spent
            per = spent / creds * 1e6 if creds else 0.0
            print(
                f"  {family:<22} {spent:7.1f} s {spent / total:6.1%}  {per:6.1f} µs/credential "
                f"({timers.calls.get(family, 0):,} calls)"
            )
        rest = total - accounted
        print(f"  {'rest':<22} {rest:7.1f} s {rest / total:6.1%}  {rest / creds * 1e6:6.1f} µs")
        if "search index" in timers.inclusive:
            spent = timers.inclusive["search index"]
            print(f"  (search index inclusive of its SQL: {spent:.1f} s, {spent / total:.1%})")
    sign_rate = signing_alone()
    print(f"\nEd25519 signing alone on this machine: {sign_rate:,.0f}/s (per CPU second)")
    print(f"issuance / signing alone: {creds / cpu / sign_rate:.0%} (CPU)")
    bare = bare_pipeline(registry, data_dir) if not args.no_bare else 0.0
    if bare:
        print(
            f"bare pipeline (canonicalise + sign + ledger append, 1,000 per commit): "
            f"{bare:,.0f}/s per CPU second ({bare / sign_rate:.0%} of signing alone); "
            f"issuance / bare pipeline: {creds / cpu / bare:.0%}"
        )
    print(f"vs OrgBook BC's 2,600 credentials/minute: ×{creds / wall * 60 / 2600:,.0f} (wall)")
    if args.audit:
        from orgbook.ledger.audit import audit

        start = time.perf_counter()
        with registry.engine.connect() as conn:
            report = audit(conn, registry.ledger)
        print(f"audit: {report} in {time.perf_counter() - start:.1f} s")
    registry.close()
    if not args.keep:
        shutil.rmtree(data_dir, ignore_errors=True)
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--orgs", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--batch", type=int, default=5000, help="records per transaction")
    parser.add_argument("--dir", help="where the feed (cached) and the database go")
    parser.add_argument("--no-breakdown", action="store_true", help="no timers (raw speed)")
    parser.add_argument(
        "--wall-timers", action="store_true", help="time families by wall clock, not CPU time"
    )
    parser.add_argument("--progress", action="store_true", help="show the progress bar")
    parser.add_argument("--audit", action="store_true", help="audit the ledger afterwards")
    parser.add_argument("--keep", action="store_true", help="keep the database")
    parser.add_argument(
        "--no-bare", action="store_true", help="skip the bare-pipeline (ceiling) measurement"
    )
    return run(parser.parse_args(argv))


if __name__ == "__main__":
    raise SystemExit(main())
