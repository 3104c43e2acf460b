"""Benchmark of the bulk export: time, rows/s, output size and peak RSS (flat memory).

    python bench/export_bench.py --orgs 10000 100000 [--dir DIR] [--format jsonl csv]

For each ``--orgs`` size it builds (once, cached in ``--dir``) a registry through the real ingest
path — a generated BC feed (:func:`orgbook.issuer.sample.write_feed`) issued with
:func:`orgbook.issuer.bulk.ingest_file`, a checkpoint per batch — then runs
``orgbook export`` in a fresh child process per format and reports wall time, organisations and
credentials per second, the output size and the child's peak RSS (``ru_maxrss``). Memory is flat
when the peak RSS at 100k organisations is about the one at 10k.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from _registry import ISSUER, PASSPHRASE, bc_registry  # noqa: E402


def build(directory: Path, orgs: int, seed: int) -> Path:
    """The data directory of a registry with ``orgs`` generated organisations (cached)."""
    from orgbook.issuer.bulk import ingest_file
    from orgbook.issuer.sample import write_feed
    from orgbook.issuer.service import Issuance

    data_dir = directory / f"registry-{orgs}-{seed}"
    done = data_dir / "built"
    if done.exists():
        return data_dir
    data_dir.mkdir(parents=True, exist_ok=True)
    feed = directory / f"feed-bc-{orgs}-{seed}.jsonl"
    if not feed.exists():
        write_feed(feed.with_suffix(".partial"), orgs, seed=seed, jurisdictions=("CA-BC",))
        feed.with_suffix(".partial").rename(feed)
    registry = bc_registry(data_dir)
    start = time.perf_counter()
    issuance: Any = Issuance(registry)
    result = ingest_file(issuance, ISSUER, feed, batch_size=5000, progress=False)
    registry.close()
    print(
        f"built {orgs:,} organisations ({result.credentials:,} credentials) in "
        f"{time.perf_counter() - start:.0f} s: {data_dir}",
        flush=True,
    )
    done.write_text("ok\n")
    return data_dir


def measure(data_dir: Path, fmt: str) -> dict[str, Any]:
    """Run ``orgbook export`` in a child process; wall time, size, counts and its peak RSS."""
    out = Path(tempfile.mkstemp(prefix="export-", suffix=f".{fmt}")[1])
    env = dict(os.environ, ORGBOOK_KEY_PASSPHRASE=PASSPHRASE.decode())
    command = [
        sys.executable,
        "-m",
        "orgbook",
        "export",
        "--data-dir",
        str(data_dir),
        "--format",
        fmt,
        "--out",
        str(out),
        "--quiet",
    ]
    start = time.perf_counter()
    child = subprocess.Popen(command, env=env, cwd=ROOT)
    # wait4 gives this child's own resource usage (ru_maxrss in KiB on Linux).
    _, status, usage = os.wait4(child.pid, 0)
    wall = time.perf_counter() - start
    child.returncode = os.waitstatus_to_exitcode(status)
    if child.returncode != 0:
        raise SystemExit(f"export failed with exit code {child.returncode}")
    peak_kib = usage.ru_maxrss
    size = out.stat().st_size
    # Only the tail: reading the whole file here would inflate the next child's ru_maxrss (a
    # forked child starts with its parent's high-water mark).
    with out.open("rb") as handle:
        handle.seek(max(0, size - 400))
        trailer = handle.read().decode("utf-8", "replace").strip().splitlines()[-1]
    out.unlink()
    counts = _counts(trailer)
    return {
        "format": fmt,
        "wall_s": round(wall, 2),
        "organisations": counts[0],
        "credentials": counts[1],
        "orgs_per_s": round(counts[0] / wall),
        "credentials_per_s": round(counts[1] / wall),
        "bytes": size,
        "peak_rss_mib": round(peak_kib / 1024, 1),
    }


def _counts(trailer: str) -> tuple[int, int]:
    if trailer.startswith("{"):
        value = json.loads(trailer)
        return int(value["organisations"]), int(value["credentials"])
    fields = dict(part.split("=", 1) for part in trailer.lstrip("# ").split()[1:])
    return int(fields["organisations"]), int(fields["credentials"])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--orgs", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--format", nargs="+", default=["jsonl", "csv"])
    parser.add_argument("--dir", default=None, help="where registries are built and cached")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--build-only", action="store_true")
    args = parser.parse_args(argv)
    directory = Path(args.dir or tempfile.mkdtemp(prefix="orgbook-export-bench-"))
    directory.mkdir(parents=True, exist_ok=True)
    for orgs in sorted(args.orgs):
        data_dir = build(directory, orgs, args.seed)
        if args.build_only:
            continue
        for fmt in args.format:
            result = measure(data_dir, fmt)
            print(json.dumps({"orgs": orgs, **result}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
