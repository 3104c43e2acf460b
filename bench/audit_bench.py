"""Benchmark of ``orgbook ledger audit`` with the projection audit: time, entries/s, peak RSS.

    python bench/audit_bench.py --orgs 78000 [--dir DIR] [--ledger-only | --phases] [--build-only]
    python bench/audit_bench.py --orgs 7800 --pg postgresql://postgres@127.0.0.1:55432/postgres

Builds (once, cached in ``--dir``) a registry through the real ingest path, as
``export_bench.py`` does: a generated BC feed (:func:`orgbook.issuer.sample.write_feed`, about
13 ledger entries per organisation: 78,000 organisations are ≈1M entries) issued with
:func:`orgbook.issuer.bulk.ingest_file`, then a key rotation, revocations, suspensions and an
unsuspension through the issuer service, so every kind of entry and projection is there. Then
it runs ``orgbook ledger audit`` in a fresh child process and reports its wall time, CPU time,
entries per second and peak RSS (``ru_maxrss``). ``--phases`` instead times, in this process,
the ledger audit, the derivation into the scratch database and the comparison, each on its own
(wall and CPU: the machine is shared, CPU time is the steadier figure). With ``--pg`` the
registry is built in a new PostgreSQL database (not cached; dropped afterwards).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from contextlib import ExitStack
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from _registry import ISSUER, PASSPHRASE, bc_registry, scratch_database  # noqa: E402

from orgbook.issuer.service import Issuance  # noqa: E402
from orgbook.runtime.registry import open_registry  # noqa: E402


def _status_changes(registry: Any) -> int:
    """A key rotation, 1 in 500 current credentials revoked, 1 in 1000 suspended (a tenth of
    those unsuspended again): what a live registry has beside issuance."""
    from sqlalchemy import select

    from orgbook.issuer.keys import rotate_key
    from orgbook.projections.tables import credentials

    with registry.engine.begin() as conn:
        rotate_key(conn, registry.ledger, ISSUER, passphrase=PASSPHRASE)
        registry.ledger.sign_checkpoint(conn)
    with registry.engine.connect() as conn:
        ids = list(
            conn.execute(
                select(credentials.c.id)
                .where(credentials.c.state == "current")
                .order_by(credentials.c.ledger_index)
            ).scalars()
        )
    issuance = Issuance(registry)
    changes = 0
    at = datetime.now(UTC)
    for n, cid in enumerate(ids):
        if n % 500 == 0:
            issuance.change_status(ISSUER, cid, "revoke", reason="issued in error", now=at)
            changes += 1
        elif n % 1000 == 1:
            issuance.change_status(ISSUER, cid, "suspend", reason="under review", now=at)
            changes += 1
            if n % 10_000 == 1:
                issuance.change_status(ISSUER, cid, "unsuspend", reason="review done", now=at)
                changes += 1
    return changes


def _settings(data_dir: Path) -> Any:
    from orgbook.config import get_settings

    return get_settings(
        data_dir=str(data_dir),
        database_url=f"sqlite:///{data_dir / 'orgbook.sqlite3'}",
        public_url="https://registry.example",
    )


def build(directory: Path, orgs: int, seed: int, url: str | None = None) -> Path:
    """The data directory of a registry with ``orgs`` generated organisations (cached, on
    SQLite; in the database ``url`` when given, built anew)."""
    from orgbook.issuer.bulk import ingest_file
    from orgbook.issuer.sample import write_feed

    data_dir = directory / f"registry-{orgs}-{seed}"
    if url is not None:
        data_dir = Path(tempfile.mkdtemp(prefix=f"registry-pg-{orgs}-{seed}-", dir=directory))
    done = data_dir / "built"
    if done.exists():
        return data_dir
    data_dir.mkdir(parents=True, exist_ok=True)
    feed = directory / f"feed-bc-{orgs}-{seed}.jsonl"
    if not feed.exists():
        write_feed(feed.with_suffix(".partial"), orgs, seed=seed, jurisdictions=("CA-BC",))
        feed.with_suffix(".partial").rename(feed)
    if url is None and (data_dir / "orgbook.sqlite3").exists():  # interrupted: resume the feed
        registry = open_registry(_settings(data_dir), passphrase=PASSPHRASE)
    else:
        registry = bc_registry(data_dir, url)
    start = time.perf_counter()
    issuance: Any = Issuance(registry)
    result = ingest_file(issuance, ISSUER, feed, batch_size=5000, progress=False)
    changes = _status_changes(registry)
    registry.close()
    print(
        f"built {orgs:,} organisations ({result.credentials:,} credentials, {changes:,} status "
        f"changes) in {time.perf_counter() - start:.0f} s: {data_dir}",
        flush=True,
    )
    done.write_text("ok\n")
    return data_dir


def measure(data_dir: Path, ledger_only: bool, url: str | None = None) -> dict[str, Any]:
    """Run ``orgbook ledger audit`` in a child process; wall, CPU, entries/s and peak RSS."""
    env = dict(os.environ, ORGBOOK_KEY_PASSPHRASE=PASSPHRASE.decode())
    command = [sys.executable, "-m", "orgbook", "ledger", "audit", "--data-dir", str(data_dir)]
    if ledger_only:
        command.append("--ledger-only")
    if url is not None:
        command += ["--db", url]
    out = Path(tempfile.mkstemp(prefix="audit-", suffix=".txt")[1])
    start = time.perf_counter()
    with out.open("w") as stdout:
        child = subprocess.Popen(command, env=env, cwd=ROOT, stdout=stdout)
        # wait4 gives this child's own resource usage (ru_maxrss in KiB on Linux).
        _, status, usage = os.wait4(child.pid, 0)
    wall = time.perf_counter() - start
    code = os.waitstatus_to_exitcode(status)
    text = out.read_text()
    out.unlink()
    if code != 0:
        raise SystemExit(f"audit exited {code}: {text}")
    entries = int(text.split("ledger sound: ", 1)[1].split(" entries", 1)[0].replace(",", ""))
    cpu = usage.ru_utime + usage.ru_stime
    return {
        "audit": "ledger" if ledger_only else "ledger+projections",
        "entries": entries,
        "wall_s": round(wall, 1),
        "cpu_s": round(cpu, 1),
        "entries_per_s": round(entries / wall),
        "entries_per_cpu_s": round(entries / cpu),
        "peak_rss_mib": round(usage.ru_maxrss / 1024, 1),
        "report": text.strip().splitlines(),
    }


def phases(data_dir: Path, url: str | None = None) -> dict[str, Any]:
    """The three phases in this process, each timed (wall and CPU) on its own."""
    from orgbook.commands.ledger import _snapshot
    from orgbook.ledger.audit import audit
    from orgbook.ledger.keys import load_ledger_verifier
    from orgbook.ledger.store import Ledger, stored_origin
    from orgbook.projections.audit import compare
    from orgbook.projections.derive import derive, scratch_engine
    from orgbook.storage.engine import make_engine

    engine = make_engine(url or f"sqlite:///{data_dir / 'orgbook.sqlite3'}")
    verifier = load_ledger_verifier(data_dir)
    verifiers = [verifier] if verifier else []
    out: dict[str, Any] = {}

    def timed(name: str, fn: Any) -> Any:
        t0, c0 = time.perf_counter(), time.process_time()
        value = fn()
        out[name] = {
            "wall_s": round(time.perf_counter() - t0, 1),
            "cpu_s": round(time.process_time() - c0, 1),
        }
        return value

    with _snapshot(engine) as conn:
        ledger = Ledger(origin=stored_origin(conn) or "", verifiers=verifiers)
        report = timed("ledger", lambda: audit(conn, ledger, verifiers))
        assert report.ok, report.reason
        out["entries"] = report.size
        with scratch_engine() as scratch_db, scratch_db.connect() as scratch:
            timed("derive", lambda: derive(conn, ledger, scratch))
            scratch_file = Path(str(scratch_db.url.database))
            out["scratch_mib"] = round(
                sum(p.stat().st_size for p in scratch_file.parent.iterdir()) / 2**20
            )
            result = timed("compare", lambda: compare(conn, scratch))
            assert result.ok, result.summary()
            out["rows"] = result.rows
            out["tables"] = dict(result.tables)
    engine.dispose()
    for name in ("ledger", "derive", "compare"):
        out[name]["per_cpu_s"] = round(out["entries"] / max(out[name]["cpu_s"], 1e-9))
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--orgs", type=int, nargs="+", default=[7_800, 78_000])
    parser.add_argument("--dir", default=None, help="where registries are built and cached")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--build-only", action="store_true")
    parser.add_argument("--pg", metavar="URL", help="on PostgreSQL instead (an admin URL)")
    parser.add_argument("--ledger-only", action="store_true", help="time the ledger audit alone")
    parser.add_argument(
        "--phases",
        action="store_true",
        help="time the ledger audit, the derivation and the comparison apart, in this process",
    )
    args = parser.parse_args(argv)
    directory = Path(args.dir or tempfile.mkdtemp(prefix="orgbook-audit-bench-"))
    directory.mkdir(parents=True, exist_ok=True)
    for orgs in sorted(args.orgs):
        with ExitStack() as stack:
            url = None
            if args.pg:
                url = stack.enter_context(scratch_database(args.pg, "orgbook_audit_bench"))
            data_dir = build(directory, orgs, args.seed, url)
            if args.build_only:
                continue
            if args.phases:
                result = phases(data_dir, url)
            else:
                result = measure(data_dir, args.ledger_only, url)
            backend = "postgresql" if url else "sqlite"
            print(json.dumps({"orgs": orgs, "backend": backend, **result}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
