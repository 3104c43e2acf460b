"""Bulk issuance canonicalises each credential once: the bytes it reuses are the JCS bytes.

The issuer signs each credential, stores it in its ledger entry and in the ``credentials``
projection from one canonicalisation (``orgbook.core.dataintegrity.secure_canonical`` and
``orgbook.core.canonical.Canonical`` fragments). On a generated feed, every stored leaf and document
must equal the reference RFC 8785 implementation's bytes of the parsed values, every proof must be
the one :func:`orgbook.core.dataintegrity.add_proof` makes, and the ledger must audit clean.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from orgbook.core.canonical import canonicalize_reference, loads_strict
from orgbook.core.dataintegrity import add_proof, unsecured
from orgbook.issuer.keys import IssuerKeys
from orgbook.issuer.sample import generate_feed
from orgbook.issuer.service import Issuance
from orgbook.ledger.audit import audit
from orgbook.ledger.entry import Entry
from orgbook.projections.tables import credential_document, credentials, credentials_with_entry
from orgbook.runtime.registry import Registry
from tests.factories import PASSPHRASE, add_issuers, new_registry
from tests.issuer.test_service import T0

BC = "bc-registries"


@pytest.fixture
def registry(tmp_path: Path, db_url: str) -> Iterator[Registry]:
    reg = new_registry(tmp_path, url=db_url)
    add_issuers(reg, now=T0 - timedelta(days=1))
    yield reg
    reg.close()


def test_issued_bytes_equal_the_reference_jcs(registry: Registry) -> None:
    records = list(generate_feed(40, seed=7, jurisdictions=("CA-BC",)))
    service: Any = Issuance(registry)
    for start in range(0, len(records), 60):
        service.submit(BC, records[start : start + 60], now=T0)
    with registry.engine.connect() as conn:
        size = registry.ledger.size(conn)
        stored = registry.ledger.entries(conn, 0, size)
        documents = {
            row.id: bytes(row.document)
            for row in conn.execute(
                select(credentials.c.id, credential_document).select_from(credentials_with_entry)
            )
        }
        key_id, signer = IssuerKeys.active(conn, BC, PASSPHRASE)
        assert audit(conn, registry.ledger).ok
    issued = 0
    for item in stored:
        # leaf bytes: exactly the reference canonical form of the entry they parse to
        assert item.data == canonicalize_reference(item.entry.to_json())
        assert Entry.from_leaf_bytes(item.data) == item.entry
        if item.entry.kind != "credential.issued":
            continue
        credential = item.entry.payload["credential"]
        assert documents[credential["id"]] == canonicalize_reference(credential)
        assert loads_strict(documents[credential["id"]]) == credential
        if credential["proof"]["verificationMethod"] == key_id:
            again = add_proof(
                unsecured(credential),
                signer,
                verification_method=key_id,
                created=credential["proof"]["created"],
            )
            assert again == credential
            issued += 1
    assert issued > 200
