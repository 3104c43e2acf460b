"""What the benchmarks share: a registry with one BC issuer, ready for `ingest_file`."""

from __future__ import annotations

from pathlib import Path

from orgbook.config import get_settings
from orgbook.issuer.keys import create_issuer
from orgbook.registry import Registry, open_registry

PASSPHRASE = b"bench passphrase, not secret"
ISSUER = "bc-registries"
TYPES = ("registration", "legal-name", "address", "status", "relationship", "business-number")


def bc_registry(data_dir: Path, url: str | None = None) -> Registry:
    """A new registry in ``data_dir`` (SQLite there unless ``url``) with the BC issuer."""
    settings = get_settings(
        data_dir=str(data_dir),
        database_url=url or f"sqlite:///{data_dir / 'orgbook.sqlite3'}",
        public_url="https://registry.example",
    )
    registry = open_registry(settings, passphrase=PASSPHRASE)
    with registry.engine.begin() as conn:
        create_issuer(
            conn,
            registry.ledger,
            slug=ISSUER,
            did="did:web:registry.example:issuers:bc-registries",
            name="BC Registries",
            jurisdiction="CA-BC",
            credential_types=TYPES,
            passphrase=PASSPHRASE,
        )
        registry.ledger.sign_checkpoint(conn)
    return registry
