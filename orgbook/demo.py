"""``orgbook demo``: a local registry with generated organisations, served with the web page.

Creates (or reuses) a registry in the data directory with three issuers — BC Registries
(``CA-BC``), Nova Scotia's Registry of Joint Stock Companies (``CA-NS``) and Corporations Canada
(``CA``) — feeds them a generated registry feed of N organisations, adds a network of
authorities that are not corporate registries (:mod:`orgbook.issuer.demo_network`: business
licences, and Mines Act permits issued on behalf of a federal authority), then serves the
issuer API, the verifier API and the web page on one port and prints the URL and an issuer API
key per registry.

Demo keys are sealed with a random passphrase kept in ``<data-dir>/demo-passphrase`` (unless
``ORGBOOK_KEY_PASSPHRASE`` is set), and the command says so on stderr: fine for a demo, not for
production. ``orgbook demo`` is the only command that falls back to that file; every other
command needs ``ORGBOOK_KEY_PASSPHRASE`` to sign.
"""

from __future__ import annotations

import argparse
import itertools
import os
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from orgbook.config import get_settings
from orgbook.core.keystore import PASSPHRASE_ENV, passphrase_from_env

DEMO_KEY_LABEL = "orgbook demo"
DEMO_ISSUERS = (
    ("bc-registries", "BC Registries and Online Services", "CA-BC"),
    ("ns-rjsc", "Nova Scotia Registry of Joint Stock Companies", "CA-NS"),
    ("corporations-canada", "Corporations Canada", "CA"),
)


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "demo", help="a local registry with generated organisations, served on one port"
    )
    parser.add_argument(
        "--host", default="127.0.0.1", help="address to serve on (default: 127.0.0.1)"
    )
    parser.add_argument(
        "--port",
        type=int,
        default=8000,
        help="port to serve on (default: 8000); it is part of the registry's public URL, so a "
        "data directory is served on the port it was built for",
    )
    parser.add_argument(
        "--data-dir", default=None, help="where the registry lives (default: ./orgbook-data)"
    )
    parser.add_argument(
        "--db", default=None, help="database URL (default: SQLite in the data directory)"
    )
    parser.add_argument(
        "--orgs", type=int, default=2000, help="organisations to generate (default: 2000)"
    )
    parser.add_argument(
        "--seed", type=int, default=1, help="seed of the generated feed (default: 1)"
    )
    parser.add_argument(
        "--no-serve", action="store_true", help="build the registry, print its keys and exit"
    )
    parser.set_defaults(func=run)


def issuer_did(public_url: str, slug: str) -> str:
    """The did:web an issuer served at ``<public_url>/issuers/<slug>/did.json`` has.

    did:web names HTTPS locations; a demo on plain http://127.0.0.1 keeps the same DID shape and
    the registry resolves its own issuers locally.
    """
    from urllib.parse import urlsplit

    parts = urlsplit(public_url)
    host = parts.netloc.replace(":", "%3A")
    path = [p for p in parts.path.split("/") if p] + ["issuers", slug]
    return ":".join(["did:web", host, *path])


def revoke_demo_api_keys(conn: Any, issuer_id: str) -> int:
    """Revoke the API keys earlier ``orgbook demo`` runs minted for ``issuer_id``; how many.

    Each run prints fresh keys; the ones printed before stop working rather than pile up.
    """
    from sqlalchemy import update

    from orgbook.issuer.store import api_keys

    result = conn.execute(
        update(api_keys)
        .where(
            api_keys.c.issuer_id == issuer_id,
            api_keys.c.label == DEMO_KEY_LABEL,
            api_keys.c.revoked_at.is_(None),
        )
        .values(revoked_at=datetime.now(UTC))
    )
    return int(result.rowcount or 0)


def built_for(data_dir: Path, origin: str) -> str | None:
    """The ledger origin a data directory was built for, when it is not ``origin``."""
    from orgbook.ledger.keys import load_ledger_verifier

    existing = load_ledger_verifier(data_dir)
    if existing is None or existing.name == origin:
        return None
    return str(existing.name)


def build_demo(registry: Any, *, orgs: int, seed: int, progress: bool = True) -> dict[str, str]:
    """Create the demo issuers and issue a generated feed; returns issuer id → API key.

    The API keys are new on every run; those earlier runs printed are revoked (and the run says
    so on stderr).
    """
    from orgbook.core.anchor import ANCHOR_SLUG
    from orgbook.issuer.demo_network import build_network
    from orgbook.issuer.keys import create_api_key, create_issuer, list_issuers
    from orgbook.projections.tables import organisations

    settings = registry.settings
    keys: dict[str, str] = {}
    revoked = 0
    with registry.engine.begin() as conn:
        existing = {issuer.id for issuer in list_issuers(conn)}
        for slug, name, jurisdiction in DEMO_ISSUERS:
            if slug not in existing:
                create_issuer(
                    conn,
                    registry.ledger,
                    slug=slug,
                    did=issuer_did(settings.public_url, slug),
                    name=name,
                    jurisdiction=jurisdiction,
                    credential_types=[
                        "registration",
                        "legal-name",
                        "address",
                        "status",
                        "relationship",
                        "business-number",
                        ANCHOR_SLUG,  # businesses bind their DIDs (docs/businesses.md)
                    ],
                    passphrase=registry.passphrase,
                )
            revoked += revoke_demo_api_keys(conn, slug)
            keys[slug] = create_api_key(conn, slug, label=DEMO_KEY_LABEL).key
        registry.ledger.sign_checkpoint(conn)
        if revoked:
            print(
                f"orgbook demo: {revoked} API key(s) printed by earlier runs are revoked; "
                "use the new ones below",
                file=sys.stderr,
            )
        count = conn.execute(select(func.count()).select_from(organisations)).scalar_one()
    if count < orgs:
        ingest_feed(registry, orgs=orgs, seed=seed, progress=progress)
    network = build_network(
        registry, did_for=lambda slug: issuer_did(settings.public_url, slug), seed=seed
    )
    print(f"orgbook demo: {network.summary()}", file=sys.stderr)
    return keys


def ingest_feed(registry: Any, *, orgs: int, seed: int, progress: bool) -> None:
    """Generate a feed of ``orgs`` organisations and ingest it, one file per demo registry."""
    from orgbook.issuer.bulk import ingest_file
    from orgbook.issuer.sample import generate_feed
    from orgbook.issuer.service import Issuance

    settings = registry.settings
    # One feed file per issuer, ingested through the same resumable path as `orgbook ingest`.
    by_jurisdiction = {jurisdiction: slug for slug, _, jurisdiction in DEMO_ISSUERS}
    directory = Path(tempfile.mkdtemp(prefix="orgbook-demo-", dir=settings.data_dir))
    files: dict[str, Any] = {}
    try:
        import json

        for record in generate_feed(orgs, seed=seed, jurisdictions=tuple(by_jurisdiction)):
            slug = by_jurisdiction[record["jurisdiction"]]
            if slug not in files:
                files[slug] = (directory / f"{slug}.jsonl").open("w", encoding="utf-8")
            files[slug].write(json.dumps(record, ensure_ascii=False) + "\n")
        for handle in files.values():
            handle.close()
        issuance = Issuance(registry)
        for slug in files:
            ingest_file(issuance, slug, directory / f"{slug}.jsonl", progress=progress)
    finally:
        for path in itertools.chain(directory.glob("*.jsonl*")):
            path.unlink()
        directory.rmdir()


def run(args: argparse.Namespace) -> int:
    import uvicorn

    from orgbook.app import create_app, freeze_startup_heap
    from orgbook.http.serving import HTTP, LOOP
    from orgbook.runtime.registry import DEMO_PASSPHRASE_FILE, demo_passphrase, open_registry

    public_url = f"http://{args.host}:{args.port}"
    settings = get_settings(data_dir=args.data_dir, database_url=args.db, public_url=public_url)
    Path(settings.data_dir).mkdir(parents=True, exist_ok=True)
    other = built_for(Path(settings.data_dir), settings.ledger_origin)
    if other is not None:
        print(
            f"orgbook demo: {settings.data_dir} holds a registry built for {other!r}, not "
            f"{settings.ledger_origin!r}: its ledger origin and its issuers' did:web DIDs name "
            f"that address. Serve it there (the same --host and --port as when it was built), or "
            f"build another registry with --data-dir for this port.",
            file=sys.stderr,
        )
        return 2
    if os.environ.get(PASSPHRASE_ENV):
        passphrase = passphrase_from_env()
    else:
        passphrase = demo_passphrase(Path(settings.data_dir))
        print(
            f"orgbook demo: {PASSPHRASE_ENV} is not set: keys are sealed with the demo passphrase "
            f"in {Path(settings.data_dir) / DEMO_PASSPHRASE_FILE} (a demo only; other commands "
            f"on this data directory need {PASSPHRASE_ENV} set to it)",
            file=sys.stderr,
        )
    registry = open_registry(settings, passphrase=passphrase)
    print(
        f"orgbook demo: building a registry of {args.orgs:,} organisations in {settings.data_dir}",
        file=sys.stderr,
    )
    keys = build_demo(registry, orgs=args.orgs, seed=args.seed)
    with registry.engine.connect() as conn:
        size = registry.ledger.size(conn)
    if args.no_serve:
        print(f"\n  orgbook demo registry built in {settings.data_dir}", flush=True)
    else:
        print(f"\n  orgbook demo registry: {public_url}/", flush=True)
        print(f"  API docs:              {public_url}/docs")
    print(f"  ledger:                {size:,} entries, key {registry.ledger.verifiers[0].vkey()}")
    for slug, key in keys.items():
        print(f"  issuer API key ({slug}): {key}")
    print()
    if args.no_serve:
        print(
            f"  serve it with: orgbook demo --data-dir {settings.data_dir} --host {args.host} "
            f"--port {args.port}\n",
            flush=True,
        )
        return 0
    app = create_app(settings, engine=registry.engine, registry=registry)
    freeze_startup_heap()
    uvicorn.run(
        app,
        host=args.host,
        port=args.port,
        loop=LOOP,
        http=HTTP,
        log_level="warning",
        access_log=False,
    )
    return 0
