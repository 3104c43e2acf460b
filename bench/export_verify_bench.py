"""Benchmark of ``orgbook export verify`` by proof source: local database, tiles, a registry.

    python bench/export_verify_bench.py --orgs 2000 [--dir DIR]

Builds (once, cached in ``--dir``) a registry of ``--orgs`` generated organisations the way
``bench/export_bench.py`` does, writes its export and its tiles (``orgbook ledger tiles export``),
serves it with ``orgbook serve`` (rate limit off) on 127.0.0.1, then times
``orgbook export verify`` in a child process with ``--db``, ``--tiles DIR`` and ``--online URL``:
wall seconds and credentials per second. Each child is a fresh process (start-up included).
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from _registry import PASSPHRASE  # noqa: E402
from export_bench import build  # noqa: E402


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ORGBOOK_")}
    env["PYTHONPATH"] = str(ROOT)
    return env


def _orgbook(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "orgbook", *args],
        env=env or _env(),
        capture_output=True,
        text=True,
        check=False,
        timeout=3600,
    )


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orgs", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--dir", type=Path, default=Path(tempfile.gettempdir()) / "orgbook-bench")
    args = parser.parse_args()
    data_dir = build(args.dir, args.orgs, args.seed)
    storage = ["--data-dir", str(data_dir)]
    export = data_dir / "register.jsonl"
    tiles = data_dir / "tiles"
    env = dict(_env(), ORGBOOK_KEY_PASSPHRASE=PASSPHRASE.decode())
    done = _orgbook("export", *storage, "--out", str(export), "--quiet", env=env)
    assert done.returncode == 0, done.stderr
    done = _orgbook("ledger", "tiles", "export", "--out", str(tiles), *storage)
    assert done.returncode == 0, done.stderr
    vkey = (data_dir / "ledger.vkey").read_text(encoding="utf-8").strip()
    credentials = json.loads(export.read_bytes().splitlines()[-1])["credentials"]

    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    server = subprocess.Popen(
        [sys.executable, "-m", "orgbook", "serve", "--port", str(port), *storage],
        env=dict(
            _env(), ORGBOOK_RATE_LIMIT_PER_MINUTE="0", ORGBOOK_PUBLIC_URL="https://registry.example"
        ),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                if httpx.get(f"{url}/healthz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("orgbook serve did not start")
            time.sleep(0.2)
        print(f"{args.orgs:,} organisations, {credentials:,} credentials in the export")
        print("| proof source | exit | wall s | credentials/s |")
        print("|---|---|---|---|")
        for name, flags in (
            ("--db (local database)", storage),
            ("--tiles DIR", ["--tiles", str(tiles)]),
            ("--online URL", ["--online", url]),
        ):
            start = time.perf_counter()
            done = _orgbook("export", "verify", str(export), "--ledger-key", vkey, *flags)
            wall = time.perf_counter() - start
            print(f"| {name} | {done.returncode} | {wall:.2f} | {credentials / wall:,.0f} |")
    finally:
        server.terminate()
        server.wait(timeout=30)


if __name__ == "__main__":
    main()
