"""Benchmark of verification: offline bundles per second, and ``POST /api/v1/verify`` requests/s.

    python bench/verify_bench.py [--orgs 200] [--seconds 5] [--clients 2] [--concurrency 8]
                                 [--max-requests 200000] [--no-offline] [--no-http]

Builds a registry of ``--orgs`` generated organisations (``tests.factories.build_registry``, in
a temporary directory), downloads the bundle of every current credential, then:

1. **offline**: :func:`orgbook.verification.bundle_checks.verify_bundle` over those distinct
   bundles on one core, with only the ledger key (every check: schema, signature, issuer and
   keys from the ledger, inclusion, checkpoint), per CPU second and wall second; then the JSON
   Schema check timed alone, to show where the time goes;
2. **HTTP**: ``orgbook serve`` in a subprocess (uvicorn, one worker, no access log) and a load
   generator on loopback in ``--clients`` other processes (asyncio httpx, ``--concurrency``
   requests in flight each, bounded by ``--seconds`` and ``--max-requests``) posting bundles and
   plain credentials to ``/api/v1/verify``: requests per wall second, and per CPU second of the
   server process (the stable figure on a shared machine: the load generator needs CPU too).

Targets (docs/verifying.md): > 1,000 bundles/s offline on one core; the verify endpoint within
reach of ≈4.4k requests/s (DESIGN.md, one verification per request), at least ~1k per core.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))


def build(orgs: int, directory: Path) -> tuple[Any, list[dict[str, Any]]]:
    from sqlalchemy import select

    from orgbook.projections.tables import credentials
    from orgbook.storage.engine import reading
    from orgbook.verifier.bundles import bundle_for
    from tests.factories import build_registry

    registry = build_registry(directory, orgs)
    with reading(registry.engine) as conn:
        ids = list(
            conn.execute(select(credentials.c.id).where(credentials.c.state == "current")).scalars()
        )
        bundles = [bundle_for(conn, registry.ledger, cid) for cid in ids]
    return registry, bundles


def existing(
    data_dir: Path, url: str | None, public_url: str, passphrase: bytes, sample: int, seed: int
) -> tuple[Any, list[dict[str, Any]]]:
    """A registry made elsewhere (e.g. ``issuance_bench.py --keep``): bundles of a random sample
    of its current credentials, spread over the whole ledger."""
    import random

    from sqlalchemy import select

    from orgbook.config import get_settings
    from orgbook.projections.tables import credentials
    from orgbook.runtime.registry import open_registry
    from orgbook.storage.engine import reading
    from orgbook.verifier.bundles import bundle_for

    settings = get_settings(
        data_dir=str(data_dir),
        database_url=url or f"sqlite:///{data_dir / 'orgbook.sqlite3'}",
        public_url=public_url,
    )
    registry = open_registry(settings, passphrase=passphrase)
    with reading(registry.engine) as conn:
        rng = random.Random(seed)
        ids: list[str] = []
        total = 0
        query = select(credentials.c.id).where(credentials.c.state == "current")
        for cid in conn.execute(query).scalars():  # reservoir sample: memory stays small
            total += 1
            if len(ids) < sample:
                ids.append(cid)
            elif (slot := rng.randrange(total)) < sample:
                ids[slot] = cid
        bundles = [bundle_for(conn, registry.ledger, cid) for cid in ids]
        size = registry.ledger.size(conn)
    print(f"registry: {data_dir} ({size:,} ledger entries, {total:,} current credentials)")
    return registry, bundles


def offline(registry: Any, bundles: list[dict[str, Any]], seconds: float) -> None:
    from orgbook.verification.bundle_checks import verify_bundle
    from orgbook.verification.credential import check_schema

    keys = registry.ledger.verifiers
    now = datetime.now(UTC)
    assert verify_bundle(bundles[0], ledger_keys=keys, now=now).valid
    count = 0
    cpu, wall = time.process_time(), time.perf_counter()
    for bundle in itertools.cycle(bundles):
        verify_bundle(bundle, ledger_keys=keys, now=now)
        count += 1
        if count % 100 == 0 and time.perf_counter() - wall > seconds:
            break
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    print(
        f"offline bundles: {count / cpu:,.0f}/s per CPU second ({count / wall:,.0f}/s wall), "
        f"{len(bundles)} distinct bundles, {1e3 * cpu / count:.3f} ms each"
    )
    schema_cpu = time.process_time()
    for bundle in bundles:
        check_schema(bundle["credential"])
    schema_cpu = (time.process_time() - schema_cpu) / len(bundles)
    print(
        f"  of which the JSON Schema check: {1e3 * schema_cpu:.3f} ms; "
        f"everything else: {1e3 * (cpu / count - schema_cpu):.3f} ms "
        f"(≈{1 / max(cpu / count - schema_cpu, 1e-9):,.0f}/s without it)"
    )


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


async def _load(url: str, bodies: list[bytes], seconds: float, concurrency: int, limit: int) -> int:
    import httpx

    done = 0
    stop = time.perf_counter() + seconds
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(timeout=30, limits=limits) as client:

        async def worker(offset: int) -> None:
            nonlocal done
            i = offset
            while time.perf_counter() < stop and done < limit:
                response = await client.post(
                    url,
                    content=bodies[i % len(bodies)],
                    headers={"Content-Type": "application/json"},
                )
                if response.status_code != 200 or not response.json()["valid"]:
                    raise RuntimeError(f"verify answered {response.status_code}: {response.text}")
                done += 1
                i += concurrency

        await asyncio.gather(*(worker(n) for n in range(concurrency)))
    return done


def _client(args: tuple[str, list[bytes], float, int, int, int]) -> int:
    """One load-generating process: its share of the bodies, requests done."""
    url, bodies, seconds, concurrency, limit, offset = args
    return asyncio.run(_load(url, bodies[offset:] + bodies[:offset], seconds, concurrency, limit))


def _run_clients(
    url: str, bodies: list[bytes], seconds: float, clients: int, concurrency: int, limit: int
) -> int:
    import multiprocessing

    share = max(1, limit // clients)
    step = max(1, len(bodies) // clients)
    jobs = [(url, bodies, seconds, concurrency, share, n * step) for n in range(clients)]
    with multiprocessing.get_context("spawn").Pool(clients) as pool:
        return sum(pool.map(_client, jobs))


def _cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process (Linux /proc): the machine may be shared."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def http(
    registry: Any,
    bundles: list[dict[str, Any]],
    seconds: float,
    clients: int,
    concurrency: int,
    limit: int,
    passphrase: bytes,
) -> None:
    import httpx

    port = _free_port()
    settings = registry.settings
    env = {
        **os.environ,
        "ORGBOOK_KEY_PASSPHRASE": passphrase.decode(),
        "ORGBOOK_PUBLIC_URL": settings.public_url,
        "ORGBOOK_RATE_LIMIT_PER_MINUTE": "0",
        "ORGBOOK_VERIFY_RATE_LIMIT_PER_MINUTE": "0",
    }
    command = [
        sys.executable,
        "-m",
        "orgbook",
        "serve",
        "--port",
        str(port),
        "--db",
        settings.database_url,
        "--data-dir",
        str(settings.data_dir),
        "--workers",
        "1",  # the server CPU measured below is this one process's
    ]
    server = subprocess.Popen(command, env=env, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                if httpx.get(base + "/healthz").status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("orgbook serve did not start")
            time.sleep(0.1)
        url = base + "/api/v1/verify"
        for name, bodies in (
            ("bundles", [json.dumps(b).encode() for b in bundles]),
            (
                "plain credentials (ledger and status looked up)",
                [json.dumps(b["credential"]).encode() for b in bundles],
            ),
        ):
            # Warm up: every body once (the server remembers immutable bundles and proofs).
            asyncio.run(_load(url, bodies, 60.0, concurrency, len(bodies)))
            cpu, wall = _cpu_seconds(server.pid), time.perf_counter()
            count = _run_clients(url, bodies, seconds, clients, concurrency, limit)
            cpu, wall = _cpu_seconds(server.pid) - cpu, time.perf_counter() - wall
            print(
                f"POST /api/v1/verify, {name}: {count / wall:,.0f} requests/s wall, "
                f"{count / max(cpu, 1e-9):,.0f} per server CPU second "
                f"({1e3 * cpu / max(count, 1):.3f} ms each; {count:,} requests, one uvicorn "
                f"worker, {clients} client processes x {concurrency} in flight)"
            )
    finally:
        server.terminate()
        server.wait(timeout=10)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orgs", type=int, default=200)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--clients", type=int, default=2)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--max-requests", type=int, default=200_000)
    parser.add_argument("--no-offline", action="store_true")
    parser.add_argument("--no-http", action="store_true")
    parser.add_argument(
        "--registry",
        type=Path,
        help="use this existing registry's data directory (e.g. from issuance_bench.py --keep) "
        "instead of generating one",
    )
    parser.add_argument("--db", help="with --registry: its database URL (default: SQLite there)")
    parser.add_argument("--public-url", default="https://registry.example")
    parser.add_argument("--sample", type=int, default=2000, help="with --registry: bundles")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="orgbook-verify-bench-") as tmp:
        if args.registry:
            from _registry import PASSPHRASE as passphrase

            registry, bundles = existing(
                args.registry, args.db, args.public_url, passphrase, args.sample, seed=1
            )
        else:
            from tests.factories import PASSPHRASE as passphrase

            registry, bundles = build(args.orgs, Path(tmp))
            print(f"registry: {args.orgs} organisations, {len(bundles)} current credentials")
        if not args.no_offline:
            offline(registry, bundles, args.seconds)
        if not args.no_http:
            http(
                registry,
                bundles,
                args.seconds,
                args.clients,
                args.concurrency,
                args.max_requests,
                passphrase,
            )
        registry.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
