"""The production topology as processes on loopback: one PostgreSQL, an issuer, two verifiers.

``topology`` (a fixture, PostgreSQL only) gives what ``docker-compose.yml`` runs, without a
container engine: a fresh PostgreSQL database with the demo issuers registered, an issuer
(``python -m orgbook serve`` with the signing keys), two verifier replicas (``orgbook serve``
without a passphrase: public keys only) and a round-robin reverse proxy in front (a few lines of
ASGI over httpx, in a thread), routing ``/api/v1/issuer/…`` to the issuer and everything else to
the replicas, and naming the backend that answered in ``X-Upstream``.

Extend it (e.g. a witness) with :meth:`Topology.start_process`; every process it starts is
stopped at teardown, and its log is in ``<tmp>/logs``.
"""

from __future__ import annotations

import itertools
import socket
import subprocess
import threading
import time
from collections import defaultdict
from collections.abc import Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from orgbook.issuer.sample import generate_feed
from tests.factories import PASSPHRASE, add_issuers, new_registry
from tests.installed import clean_env, orgbook_argv

STARTUP_SECONDS = 60.0
REPO = Path(__file__).parents[2]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def wait_ready(url: str, process: subprocess.Popen[bytes] | None = None) -> None:
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"{url}: the process exited with {process.returncode}")
        try:
            if httpx.get(f"{url}/readyz", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise TimeoutError(f"{url} not ready after {STARTUP_SECONDS} s")


def _to_issuer(path: str) -> bool:
    """The issuer API, and status lists: only the issuer holds the keys that sign them
    (replicas serve the signed copy it caches in the database). As ``deploy/nginx.conf``."""
    return path.startswith("/api/v1/issuer") or (
        path.startswith("/issuers/") and "/status/" in path
    )


class RoundRobinProxy:
    """An ASGI reverse proxy: issuer paths to the issuer, the rest round-robin to replicas."""

    def __init__(self, issuer: str, replicas: list[str]) -> None:
        self.issuer = issuer
        self.replicas = itertools.cycle(replicas)
        self.client = httpx.AsyncClient(timeout=60)

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                elif message["type"] == "lifespan.shutdown":
                    await self.client.aclose()
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        path = scope["path"]
        upstream = self.issuer if _to_issuer(path) else next(self.replicas)
        url = (
            upstream
            + path
            + ("?" + scope["query_string"].decode() if scope["query_string"] else "")
        )
        headers = [(k, v) for k, v in scope["headers"] if k.lower() not in (b"host",)]
        headers.append((b"x-forwarded-for", scope["client"][0].encode()))
        answer = await self.client.request(scope["method"], url, headers=headers, content=body)
        out = [
            (k.encode(), v.encode())
            for k, v in answer.headers.items()
            if k.lower() not in ("content-length", "transfer-encoding", "connection")
        ]
        out += [
            (b"x-upstream", upstream.encode()),
            (b"content-length", b"%d" % len(answer.content)),
        ]
        await send({"type": "http.response.start", "status": answer.status_code, "headers": out})
        await send({"type": "http.response.body", "body": answer.content})


@dataclass
class Topology:
    db_url: str
    tmp: Path
    issuer_url: str = ""
    replica_urls: list[str] = field(default_factory=list)
    proxy_url: str = ""
    public_url: str = ""
    api_keys: dict[str, str] = field(default_factory=dict)
    vkey: str = ""
    processes: list[subprocess.Popen[bytes]] = field(default_factory=list)
    _servers: list[Any] = field(default_factory=list)

    def env(self, **extra: str) -> dict[str, str]:
        env = clean_env(
            ORGBOOK_DATABASE_URL=self.db_url,
            ORGBOOK_PUBLIC_URL=self.public_url,
            ORGBOOK_RATE_LIMIT_PER_MINUTE="0",
            ORGBOOK_VERIFY_RATE_LIMIT_PER_MINUTE="0",
            ORGBOOK_ISSUER_RATE_LIMIT_PER_MINUTE="0",
            ORGBOOK_TRUSTED_PROXIES="127.0.0.1",
            ORGBOOK_LOG_JSON="true",
            ORGBOOK_DB_POOL_SIZE="4",
            ORGBOOK_DB_MAX_OVERFLOW="4",
        )
        env.update(extra)
        return env

    def start_process(
        self, name: str, argv: list[str], env: Mapping[str, str], url: str | None = None
    ) -> subprocess.Popen[bytes]:
        """Start the installed ``orgbook <argv>``; with ``url``, wait until it is ready."""
        logs = self.tmp / "logs"
        logs.mkdir(exist_ok=True)
        with (logs / f"{name}.log").open("wb") as log:
            process = subprocess.Popen(
                orgbook_argv(*argv),
                env=dict(env),
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=self.tmp,
            )
        self.processes.append(process)
        if url is not None:
            wait_ready(url, process)
        return process

    def serve(self, name: str, data_dir: Path, **env: str) -> str:
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        argv = ["serve", "--host", "127.0.0.1", "--port", str(port), "--data-dir", str(data_dir)]
        self.start_process(name, argv, self.env(**env), url)
        return url

    def stop(self) -> None:
        for server, thread in self._servers:
            server.should_exit = True
            thread.join(timeout=10)
        for process in self.processes:
            if process.poll() is None:
                process.terminate()
        for process in self.processes:
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()

    def logs(self) -> str:
        return "\n".join(
            f"--- {p.name}\n{p.read_text(errors='replace')[-3000:]}"
            for p in sorted((self.tmp / "logs").glob("*.log"))
        )


def build_topology(
    db_url: str, tmp: Path, *, replicas: int = 2, env: Mapping[str, str] | None = None
) -> Topology:
    """Register the demo issuers in ``db_url``, then start issuer, replicas and proxy.

    ``env``: extra environment for the issuer and every replica (e.g. ``ORGBOOK_WITNESSES``).
    """
    extra = dict(env or {})
    topo = Topology(db_url=db_url, tmp=tmp)
    proxy_port = free_port()  # the public URL is the proxy's: DIDs and status lists name it
    topo.public_url = f"http://127.0.0.1:{proxy_port}"
    registry = new_registry(tmp, url=db_url, public_url=topo.public_url)
    try:
        topo.api_keys = add_issuers(registry)
        topo.vkey = registry.ledger.verifiers[0].vkey()
    finally:
        registry.close()
    issuer_dir = tmp / "data"  # new_registry's: holds the sealed ledger key
    topo.issuer_url = topo.serve(
        "issuer", issuer_dir, **extra, ORGBOOK_KEY_PASSPHRASE=PASSPHRASE.decode()
    )
    for n in range(replicas):
        replica_dir = tmp / f"replica{n}"
        replica_dir.mkdir()
        topo.replica_urls.append(
            topo.serve(f"verifier{n}", replica_dir, **extra, ORGBOOK_LEDGER_VKEY=topo.vkey)
        )
    import uvicorn

    proxy = RoundRobinProxy(topo.issuer_url, topo.replica_urls)
    server = uvicorn.Server(
        uvicorn.Config(proxy, host="127.0.0.1", port=proxy_port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    topo._servers.append((server, thread))
    deadline = time.monotonic() + STARTUP_SECONDS
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    topo.proxy_url = topo.public_url
    return topo


@pytest.fixture
def topology(pg_url: str, tmp_path: Path) -> Iterator[Topology]:
    """Issuer + two verifier replicas + proxy over one fresh PostgreSQL database."""
    topo = build_topology(pg_url, tmp_path)
    try:
        yield topo
    finally:
        topo.stop()


def issue_concurrently(
    topo: Topology, *, orgs: int, seed: int, requests: int
) -> list[dict[str, Any]]:
    """Issue a generated BC feed through the proxy in ``requests`` concurrent batch requests.

    Each organisation's records stay in one batch (in order); asserts every request was routed
    to the issuer and nothing was rejected. Returns the records sent.
    """
    records = list(generate_feed(orgs, seed=seed, jurisdictions=("CA-BC",)))
    by_org: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for record in records:
        by_org[record["registration_number"]].append(record)
    chunks: list[list[dict[str, Any]]] = [[] for _ in range(requests)]
    for n, org_records in enumerate(by_org.values()):
        chunks[n % len(chunks)].extend(org_records)
    headers = {"Authorization": f"Bearer {topo.api_keys['bc-registries']}"}

    def post(chunk: list[dict[str, Any]]) -> dict[str, Any]:
        answer = httpx.post(
            f"{topo.proxy_url}/api/v1/issuer/records/batch",
            json={"records": chunk},
            headers=headers,
            timeout=120,
        )
        assert answer.status_code == 200, answer.text + topo.logs()
        assert answer.headers["x-upstream"] == topo.issuer_url
        body: dict[str, Any] = answer.json()
        return body

    with ThreadPoolExecutor(max_workers=len(chunks)) as pool:
        results = list(pool.map(post, chunks))
    assert sum(r["rejected"] for r in results) == 0
    assert sum(r["issued"] + r["history"] for r in results) == len(records)
    return records
