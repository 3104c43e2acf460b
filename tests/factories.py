"""Registries built for tests: a real ledger, real issuers and keys, a generated feed issued.

``build_registry(tmp_path, n_orgs)`` gives a registry on SQLite (or ``url=``, e.g. PostgreSQL)
with the three demo issuers and ``n_orgs`` generated organisations issued through the same
path as ``orgbook ingest``. Deterministic for a seed; keys are new each time.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from orgbook.config import get_settings
from orgbook.demo import DEMO_ISSUERS, issuer_did
from orgbook.issuer.keys import create_api_key, create_issuer
from orgbook.issuer.service import Issuance
from orgbook.runtime.registry import Registry, open_registry

PASSPHRASE = b"test passphrase, not secret"
PUBLIC_URL = "http://registry.test"
ALL_TYPES = ("registration", "legal-name", "address", "status", "relationship", "business-number")
# The demo issuers may also bind businesses' DIDs (issue 19): UNTP Digital Identity Anchors.
ISSUER_TYPES = (*ALL_TYPES, "identity-anchor")


def new_registry(
    tmp_path: Path, *, url: str | None = None, public_url: str = PUBLIC_URL
) -> Registry:
    data_dir = tmp_path / "data"
    settings = get_settings(
        data_dir=str(data_dir),
        database_url=url or f"sqlite:///{data_dir / 'orgbook.sqlite3'}",
        public_url=public_url,
    )
    return open_registry(settings, passphrase=PASSPHRASE)


def add_issuers(registry: Registry, *, now: datetime | None = None) -> dict[str, str]:
    """The demo issuers; returns issuer id → API key."""
    keys = {}
    with registry.engine.begin() as conn:
        for slug, name, jurisdiction in DEMO_ISSUERS:
            create_issuer(
                conn,
                registry.ledger,
                slug=slug,
                did=issuer_did(registry.settings.public_url, slug),
                name=name,
                jurisdiction=jurisdiction,
                credential_types=ISSUER_TYPES,
                passphrase=PASSPHRASE,
                now=now,
            )
            keys[slug] = create_api_key(conn, slug).key
        registry.ledger.sign_checkpoint(conn)
    return keys


ISSUER_FOR = {jurisdiction: slug for slug, _, jurisdiction in DEMO_ISSUERS}


def issue(
    registry: Registry, records: list[dict[str, Any]], *, now: datetime | None = None
) -> list[Any]:
    """Issue ``records`` through each one's issuer (by jurisdiction); returns the outcomes."""
    issuance: Any = Issuance(registry)
    outcomes: list[Any] = []
    by_issuer: dict[str, list[dict[str, Any]]] = {}
    for record in records:
        by_issuer.setdefault(
            ISSUER_FOR.get(record.get("jurisdiction", ""), "bc-registries"), []
        ).append(record)
    for slug, batch in by_issuer.items():
        outcomes.extend(issuance.submit(slug, batch, now=now))
    return outcomes


def build_registry(
    tmp_path: Path, n_orgs: int, *, url: str | None = None, seed: int = 7, batch: int = 2000
) -> Registry:
    """A registry with the demo issuers and ``n_orgs`` generated organisations issued."""
    from orgbook.issuer.sample import generate_feed

    registry = new_registry(tmp_path, url=url)
    add_issuers(registry, now=datetime(2000, 1, 1, tzinfo=UTC))
    pending: list[dict[str, Any]] = []
    for record in generate_feed(n_orgs, seed=seed, jurisdictions=tuple(ISSUER_FOR)):
        pending.append(record)
        if len(pending) >= batch:
            issue(registry, pending)
            pending = []
    if pending:
        issue(registry, pending)
    return registry
