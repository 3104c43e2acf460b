"""What the benchmarks share: a registry with one BC issuer, ready for `ingest_file`."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import create_engine, make_url, text

from orgbook.config import get_settings
from orgbook.issuer.keys import create_issuer
from orgbook.runtime.registry import Registry, open_registry

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


@contextmanager
def scratch_database(admin_url: str, prefix: str, *, keep: bool = False) -> Iterator[str]:
    """A new, empty PostgreSQL database beside ``admin_url``'s, named ``<prefix>_<random>``;
    yields its URL and drops it afterwards (unless ``keep``: then it says which it kept)."""
    url = make_url(admin_url)
    if url.drivername == "postgresql":
        url = url.set(drivername="postgresql+psycopg")
    name = f"{prefix}_{uuid.uuid4().hex[:8]}"
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        try:
            yield url.set(database=name).render_as_string(hide_password=False)
        finally:
            if keep:
                print(f"kept database {name}")
            else:
                with admin.connect() as conn:
                    conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        admin.dispose()
