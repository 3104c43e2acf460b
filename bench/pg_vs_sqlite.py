"""PostgreSQL next to SQLite: bulk issuance and search over the same generated data.

    python bench/pg_vs_sqlite.py [--orgs 20000] [--pg URL] [--queries 500] [--batch 1000]

For each backend: a fresh database, one issuer, a generated BC feed of ``--orgs`` organisations
(``orgbook.issuer.sample.write_feed``) issued through ``orgbook.issuer.bulk.ingest_file`` (the
path ``orgbook ingest`` takes), then ``--queries`` searches (``orgbook.search.search``:
names, name prefixes, registration numbers and typos, drawn from the feed) timed one by one.
Prints credentials/s and search p50/p99 per backend.

PostgreSQL: ``--pg`` or ``ORGBOOK_TEST_PG_URL`` (an admin URL; a scratch database is created and
dropped). The test server of ``.ci/pg-start`` runs with ``fsync=off``, ``synchronous_commit=off``
and ``full_page_writes=off``: its write figures are an upper bound of a durable server's.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from _registry import ISSUER, bc_registry, scratch_database  # noqa: E402


def queries_from(feed: Path, count: int, seed: int) -> list[str]:
    names: list[str] = []
    numbers: list[str] = []
    with feed.open(encoding="utf-8") as handle:
        for line in handle:
            record = json.loads(line)
            if record.get("name"):
                names.append(record["name"])
            numbers.append(record["registration_number"])
    pick = random.Random(seed)
    out: list[str] = []
    for n in range(count):
        name = pick.choice(names)
        kind = n % 4
        if kind == 0:
            out.append(name)
        elif kind == 1:
            out.append(name[: max(3, len(name) // 3)])
        elif kind == 2:
            out.append(pick.choice(numbers))
        else:
            word = max(name.split(), key=len)
            i = pick.randrange(len(word))
            out.append(name.replace(word, word[:i] + word[i + 1 :], 1))  # a typo: a letter lost
    return out


def run_backend(label: str, url: str, feed: Path, data_dir: Path, args: argparse.Namespace) -> Any:
    from orgbook.issuer.bulk import ingest_file
    from orgbook.issuer.service import Issuance
    from orgbook.search import SearchQuery, search
    from orgbook.storage.engine import reading

    registry = bc_registry(data_dir, url)
    try:
        issuance: Any = Issuance(registry)
        wall0, cpu0 = time.perf_counter(), time.process_time()
        result = ingest_file(issuance, ISSUER, feed, batch_size=args.batch, progress=False)
        wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0

        texts = queries_from(feed, args.queries, args.seed)

        def timed() -> tuple[float, float]:
            latencies: list[float] = []
            with reading(registry.engine) as conn:
                for text in texts[:20]:  # warm caches and the typo vocabulary
                    search(conn, SearchQuery(text=text))
                for text in texts:
                    started = time.perf_counter()
                    search(conn, SearchQuery(text=text))
                    latencies.append(time.perf_counter() - started)
            latencies.sort()
            p99 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))]
            return statistics.median(latencies) * 1000, p99 * 1000

        p50, p99 = timed()
        stale = None
        if registry.engine.dialect.name == "postgresql":
            # Right after a bulk load the planner has no statistics yet (autovacuum's ANALYZE
            # comes later): measure both, since operators should ANALYZE after a bulk load.
            stale = (p50, p99)
            with registry.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as c:
                c.exec_driver_sql("ANALYZE")
            p50, p99 = timed()
    finally:
        registry.close()
    return {
        "backend": label,
        "credentials": result.credentials,
        "wall": wall,
        "cpu": cpu,
        "rate": result.credentials / wall,
        "p50": p50,
        "p99": p99,
        "stale": stale,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--orgs", type=int, default=20_000)
    parser.add_argument("--queries", type=int, default=500)
    parser.add_argument("--batch", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--pg", default=os.environ.get("ORGBOOK_TEST_PG_URL"))
    parser.add_argument("--dir", help="working directory (default: a temporary one)")
    args = parser.parse_args(argv)

    from orgbook.issuer.sample import write_feed

    work = Path(args.dir or tempfile.mkdtemp(prefix="orgbook-pg-vs-sqlite-"))
    work.mkdir(parents=True, exist_ok=True)
    feed = work / f"feed-{args.orgs}-{args.seed}.jsonl"
    if not feed.exists():
        records = write_feed(feed, args.orgs, seed=args.seed, jurisdictions=("CA-BC",))
        print(f"generated {records:,} records for {args.orgs:,} organisations: {feed}")

    results = []
    sqlite_dir = work / f"sqlite-{uuid.uuid4().hex[:6]}"
    results.append(
        run_backend("SQLite", f"sqlite:///{sqlite_dir / 'orgbook.sqlite3'}", feed, sqlite_dir, args)
    )
    if args.pg:
        with scratch_database(args.pg, "orgbook_bench") as url:
            pg_work = work / f"pg-{uuid.uuid4().hex[:8]}"
            results.append(run_backend("PostgreSQL", url, feed, pg_work, args))
    else:
        print("PostgreSQL skipped: pass --pg URL or set ORGBOOK_TEST_PG_URL")

    print()
    print(f"{args.orgs:,} organisations, {args.queries} searches, batch {args.batch}")
    print(f"{'backend':<11} {'credentials':>11} {'cred/s wall':>12} {'cred/s CPU':>11} "
          f"{'search p50':>11} {'search p99':>11}")  # fmt: skip
    for r in results:
        print(
            f"{r['backend']:<11} {r['credentials']:>11,} {r['rate']:>12,.0f} "
            f"{r['credentials'] / r['cpu']:>11,.0f} {r['p50']:>9.2f}ms {r['p99']:>9.2f}ms"
        )
        if r["stale"]:
            print(
                f"{'':<11} {'':>11} {'':>12} {'before ANALYZE:':>11} "
                f"{r['stale'][0]:>9.2f}ms {r['stale'][1]:>9.2f}ms"
            )
    print(
        "note: the PostgreSQL test server (.ci/pg-start) runs with fsync=off, "
        "synchronous_commit=off, full_page_writes=off: an upper bound for durable writes. "
        "CPU figures are this client process only (PostgreSQL works in its own processes)."
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
