"""Load benchmark of the public read path and the verify endpoint, driven by wrk.

    python bench/load_bench.py [--orgs 2000 | --data-dir DIR --port P] [--workers 1,2]
                               [--connections 1,8,64] [--seconds 5] [--classes search,verify…]
                               [--server uvicorn|uvicorn-uvloop|uvicorn-h11|granian]
                               [--variants SERVER[@CHECKOUT],…] [--json out.json]
                               [--db URL] [--grow N]

Builds the demo registry (``orgbook demo --no-serve``, ``--orgs`` organisations, SQLite) unless
``--data-dir`` names one already built (``orgbook demo --data-dir DIR --port P --no-serve``;
it is served on that port, ``--port``, which its public URL and ledger origin name), writes one
request file per endpoint class from its database (distinct organisations, credentials, ledger
indexes; search and autocomplete terms drawn from the names; bundles downloaded once and posted
to ``POST /api/v1/verify``), then for each worker count starts ``orgbook serve --workers N`` on
127.0.0.1 (or, to compare servers, granian, uvicorn with uvloop and httptools, or uvicorn with
h11, on :func:`orgbook.app.app_factory`: ``--server granian|uvicorn-uvloop|uvicorn-h11``), rate
limits off, and runs ``wrk`` (``bench/load_requests.lua``) for ``--seconds`` per class and per
connection count. It prints, per row: requests/s, p50, p99, errors (connect, read, write, timeouts,
non-2xx) and the server's CPU milliseconds per request (all its processes; the stable figure on
a shared machine). Bounded: classes × connection counts × worker counts runs of ``--seconds``
each, plus start-up.

At scale: ``--grow N`` adds ``N`` generated organisations (``bench/search_bench.py``'s
generator, ids ``CA-BC:LD…``) to the registry's *search index* only, once (a second run finds
them there), so the search and autocomplete classes run against an index of ``N`` + the
registry's organisations; their requests are still drawn from the registry's own names.
``--db URL`` serves a registry whose database is elsewhere (PostgreSQL: ``orgbook demo --db
URL --data-dir DIR --port P --no-serve`` builds it); requests are drawn from that database.

Before/after in one run (the machine is shared: figures taken minutes apart are not comparable):
``--variants uvicorn@/path/to/other/checkout,uvicorn`` serves each class from each variant in
turn (a variant is a ``--server`` value, optionally ``@`` a checkout of orgbook put first on
``PYTHONPATH``), so the rows of one class are seconds apart.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
LUA = HERE / "load_requests.lua"
CLASSES = (
    "search",
    "autocomplete",
    "profile",
    "credential",
    "bundle",
    "proof",
    "checkpoint",
    "verify",
)
TICKS = os.sysconf("SC_CLK_TCK")
SERVERS = ("uvicorn", "uvicorn-uvloop", "uvicorn-h11", "granian", "granian-uvloop")


def parse_variants(spec: str) -> list[tuple[str, Path | None]]:
    """``SERVER[@CHECKOUT],…`` → ``[(server, checkout or None), …]``."""
    out: list[tuple[str, Path | None]] = []
    for item in filter(None, spec.split(",")):
        server, _, source = item.partition("@")
        if server not in SERVERS:
            raise SystemExit(f"load_bench: unknown server {server!r} (one of {', '.join(SERVERS)})")
        out.append((server, Path(source).resolve() if source else None))
    return out


def build_demo(data_dir: Path, orgs: int, port: int, db: str | None = None) -> None:
    argv = [sys.executable, "-m", "orgbook", "demo", "--no-serve", "--orgs", str(orgs)]
    argv += ["--port", str(port)] + (["--db", db] if db else [])
    subprocess.run([*argv, "--data-dir", str(data_dir)], check=True, stdout=subprocess.DEVNULL)


def database_url(data_dir: Path, db: str | None) -> str:
    return db or f"sqlite:///{(data_dir / 'orgbook.sqlite3').resolve()}"


def request_files(url: str, base: str, out: Path, n: int = 500, seed: int = 1) -> None:
    """One file of request lines per class (see load_requests.lua), drawn from the database."""
    from sqlalchemy import create_engine, text

    rng = random.Random(seed)
    engine = create_engine(url)
    pick = "SELECT id FROM {} ORDER BY random() LIMIT :n"
    with engine.connect() as db:
        orgs = [r[0] for r in db.execute(text(pick.format("organisations")), {"n": n})]
        names = [r[0] for r in db.execute(text("SELECT name FROM organisations LIMIT 5000"))]
        creds = [r[0] for r in db.execute(text(pick.format("credentials")), {"n": n})]
        size = db.execute(text("SELECT count(*) FROM ledger_entries")).scalar_one()
    engine.dispose()
    words = [w for name in names for w in name.split() if w.isalpha() and len(w) > 3]
    quote = urllib.parse.quote

    def search_term() -> str:
        name = rng.choice(names).split()
        if rng.random() < 0.5:
            return " ".join(name[:2])
        return rng.choice(words)[: rng.randint(3, 6)]

    lines: dict[str, list[str]] = {
        "search": [f"GET /api/v1/organisations?q={quote(search_term())}" for _ in range(n)],
        "autocomplete": [
            f"GET /api/v1/organisations/autocomplete?q={quote(rng.choice(words)[:3])}"
            for _ in range(n)
        ],
        "profile": [f"GET /api/v1/organisations/{quote(o, safe=':')}" for o in orgs],
        "credential": [f"GET /api/v1/credentials/{quote(c, safe=':')}" for c in creds],
        "bundle": [f"GET /api/v1/credentials/{quote(c, safe=':')}/bundle" for c in creds],
        "proof": [
            f"GET /api/v1/ledger/proof/inclusion?index={rng.randrange(size - 1)}" for _ in range(n)
        ],
        "checkpoint": ["GET /api/v1/ledger/checkpoint"],
    }
    bundles = []
    for c in creds[:200]:
        with urllib.request.urlopen(f"{base}/api/v1/credentials/{quote(c, safe=':')}/bundle") as r:
            bundles.append(json.dumps(json.loads(r.read()), separators=(",", ":")))
    lines["verify"] = [f"POST /api/v1/verify {b}" for b in bundles]
    for kind, rows in lines.items():
        (out / f"{kind}.txt").write_text("\n".join(rows) + "\n")


def grow_index(url: str, n: int, seed: int = 7) -> None:
    """Add ``n`` generated organisations to the search index at ``url``, unless there already
    (``bench/search_bench.py``'s generator and indexing, numbered ``LD…``)."""
    from sqlalchemy import func, select

    sys.path.insert(0, str(HERE))
    from search_bench import build

    from orgbook.search import search_org
    from orgbook.storage.engine import make_engine

    engine = make_engine(url)
    grown = search_org.c.org_id.like("CA-BC:LD%")
    with engine.connect() as conn:
        have = conn.execute(select(func.count()).select_from(search_org).where(grown)).scalar_one()
    if have < n:
        print(f"adding {n:,} generated organisations to the search index…", file=sys.stderr)
        build(engine, n, seed, number_prefix="LD")
    engine.dispose()


def cpu_ticks(pid: int) -> int:
    """User + system CPU of ``pid`` and its children (the workers), in clock ticks."""
    total = 0
    pids = [pid]
    children = Path(f"/proc/{pid}/task/{pid}/children")
    if children.exists():
        pids += [int(p) for p in children.read_text().split()]
    for p in pids:
        try:
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
        except FileNotFoundError:
            continue
        total += int(fields[11]) + int(fields[12])
    return total


class Server:
    def __init__(
        self,
        data_dir: Path,
        workers: int,
        server: str,
        port: int,
        log: Path,
        source: Path | None = None,
        db: str | None = None,
    ) -> None:
        self.url = f"http://127.0.0.1:{port}"
        env = dict(os.environ)
        if source is not None:
            env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(source), env.get("PYTHONPATH")]))
        env.update(
            ORGBOOK_DATA_DIR=str(data_dir),
            ORGBOOK_PUBLIC_URL=f"http://127.0.0.1:{port}",
            ORGBOOK_RATE_LIMIT_PER_MINUTE="0",
            ORGBOOK_VERIFY_RATE_LIMIT_PER_MINUTE="0",
            ORGBOOK_ISSUER_RATE_LIMIT_PER_MINUTE="0",
        )
        if db:
            env["ORGBOOK_DATABASE_URL"] = db
        if server.startswith("granian"):
            granian = shutil.which("granian") or str(Path(sys.executable).parent / "granian")
            argv = [
                granian,
                "--interface",
                "asgi",
                "--factory",
                "--loop",
                "uvloop" if server == "granian-uvloop" else "asyncio",
                "--no-ws",
                "--log-level",
                "warning",
                "--workers",
                str(workers),
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "orgbook.app:app_factory",
            ]
        elif server in ("uvicorn-h11", "uvicorn-uvloop"):
            # h11: uvicorn's pure-Python parser on asyncio; uvloop: httptools on uvloop
            http, loop = ("h11", "asyncio") if server == "uvicorn-h11" else ("httptools", "uvloop")
            argv = [sys.executable, "-m", "uvicorn", "--factory", "--http", http]
            argv += ["--loop", loop, "--no-access-log", "--log-level", "warning"]
            argv += ["--host", "127.0.0.1", "--port", str(port), "--workers", str(workers)]
            argv += ["orgbook.app:app_factory"]
        else:
            argv = [sys.executable, "-m", "orgbook", "serve", "--port", str(port)]
            argv += ["--workers", str(workers)]
        self.log = log.open("wb")
        self.process = subprocess.Popen(argv, env=env, stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"the server exited:\n{log.read_text()[-3000:]}")
            try:
                with urllib.request.urlopen(f"{self.url}/readyz", timeout=2):
                    return
            except OSError:
                time.sleep(0.3)
        raise TimeoutError("the server did not start")

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
        self.log.close()


def run_wrk(url: str, requests: Path, connections: int, seconds: int) -> dict[str, Any]:
    threads = min(2, connections)
    argv = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "--timeout", "5s"]
    argv += ["-s", str(LUA), url, "--", str(requests)]
    done = subprocess.run(argv, capture_output=True, text=True, check=True, timeout=seconds + 60)
    line = next(ln for ln in done.stdout.splitlines() if ln.startswith("LOAD "))
    result: dict[str, Any] = json.loads(line[5:])
    return result


def measure(
    server: Server, requests: Path, connections: list[int], args: argparse.Namespace
) -> list[dict[str, Any]]:
    """One row per connection count: ``wrk`` on ``requests`` against ``server``."""
    rows = []
    run_wrk(server.url, requests, 8, 1)  # warm caches and connections
    for conns in connections:
        before = cpu_ticks(server.process.pid)
        result = run_wrk(server.url, requests, conns, args.seconds)
        ticks = cpu_ticks(server.process.pid) - before
        errors = sum(result[k] for k in ("connect", "read", "write", "status", "timeout"))
        rows.append(
            {
                "connections": conns,
                "rps": result["requests"] / result["seconds"],
                "p50_ms": result["p50_us"] / 1000,
                "p99_ms": result["p99_us"] / 1000,
                "errors": errors,
                "cpu_ms_per_request": ticks / TICKS * 1000 / max(1, result["requests"]),
                "load": os.getloadavg()[0],
                **result,
            }
        )
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--orgs", type=int, default=2000)
    parser.add_argument("--data-dir", type=Path, help="a registry built by orgbook demo")
    parser.add_argument("--workers", default=f"1,{os.cpu_count() or 1}")
    parser.add_argument("--connections", default="1,8,64")
    parser.add_argument("--seconds", type=int, default=5)
    parser.add_argument("--server", choices=SERVERS, default="uvicorn")
    parser.add_argument(
        "--variants",
        help="SERVER[@CHECKOUT],… served in turn for each class (default: --server alone)",
    )
    parser.add_argument("--classes", default=",".join(CLASSES))
    parser.add_argument(
        "--port",
        type=int,
        default=8731,
        help="the port the registry was built for (its public URL, ledger origin); default 8731",
    )
    parser.add_argument("--json", type=Path, help="also write the rows as JSON")
    parser.add_argument("--db", help="the registry's database URL (default: its SQLite file)")
    parser.add_argument(
        "--grow",
        type=int,
        default=0,
        help="add N generated organisations to the search index first (once)",
    )
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        print("load_bench: wrk is not installed (apt-get install wrk)", file=sys.stderr)
        return 2
    classes = [c for c in args.classes.split(",") if c]
    workers = sorted({int(w) for w in args.workers.split(",")})
    connections = [int(c) for c in args.connections.split(",")]

    with tempfile.TemporaryDirectory(prefix="orgbook-load-") as tmp:
        work = Path(tmp)
        data_dir = args.data_dir
        if data_dir is None:
            data_dir = work / "registry"
            print(f"building the demo registry ({args.orgs:,} organisations)…", file=sys.stderr)
            build_demo(data_dir, args.orgs, args.port, args.db)
        url = database_url(data_dir, args.db)
        if args.grow:
            grow_index(url, args.grow)
        rows: list[dict[str, Any]] = []
        variants = parse_variants(args.variants or args.server)
        named = {v: v[0] + (f"@{v[1].name}" if v[1] else "") for v in variants}
        load = os.getloadavg()[0]
        print(f"load average at start: {load:.2f}; {os.cpu_count()} cores")
        width = max(7, *(len(n) for n in named.values()))
        header = (
            f"{'variant':<{width}} {'workers':>7} {'class':<12} {'conns':>5} {'req/s':>8} "
            f"{'p50 ms':>8} {'p99 ms':>8} {'errors':>6} {'cpu ms/req':>10} {'load':>5}"
        )
        print(header)
        for count in workers:
            for kind in classes:
                for variant in variants:
                    server, source = variant
                    log = work / f"server-{count}.log"
                    running = Server(data_dir, count, server, args.port, log, source, args.db)
                    try:
                        if not (work / "verify.txt").exists():
                            request_files(url, running.url, work)
                        for row in measure(running, work / f"{kind}.txt", connections, args):
                            row.update(variant=named[variant], server=server, workers=count)
                            row["class"] = kind
                            rows.append(row)
                            print(
                                f"{row['variant']:<{width}} {count:>7} {kind:<12} "
                                f"{row['connections']:>5} {row['rps']:>8.0f} "
                                f"{row['p50_ms']:>8.1f} {row['p99_ms']:>8.1f} "
                                f"{row['errors']:>6} {row['cpu_ms_per_request']:>10.2f} "
                                f"{row['load']:>5.1f}",
                                flush=True,
                            )
                    finally:
                        running.stop()
        if args.json:
            args.json.write_text(json.dumps(rows, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
