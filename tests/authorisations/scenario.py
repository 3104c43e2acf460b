"""A registry with two authorities that are not corporate registries, an authorisation, a
delegated authorisation, credentials issued under them, and a withdrawal: what the
authorisation tests share.

Timeline (ledger times are passed as ``now=``):

* 2000-01-01: the demo corporate registries and their organisations;
* T_GRANT: ``bc-licensing`` is authorised for ``BusinessLicenceCredential`` in CA-BC, and
  ``service-agency`` for ``VendorCredential`` in CA-BC on behalf of ``federal-dept``;
* T_EARLY: a licence and a vendor credential are issued;
* T_WITHDRAW: the licensing authorisation is withdrawn;
* afterwards the registry refuses to issue a licence.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select

from orgbook.app import create_app
from orgbook.demo import issuer_did
from orgbook.issuer.authorisations import AuthorisationRecord, grant, withdraw
from orgbook.issuer.authorised import Issued, issue_authorised
from orgbook.issuer.credential_types import define_type
from orgbook.issuer.keys import create_issuer
from orgbook.projections.tables import organisations
from orgbook.runtime.registry import Registry
from orgbook.storage.engine import reading
from orgbook.verification.bundle_checks import verify_bundle
from orgbook.verification.report import Report
from orgbook.verifier.bundles import bundle_for
from tests.factories import PASSPHRASE, PUBLIC_URL, build_registry

T_GRANT = datetime(2026, 1, 1, tzinfo=UTC)
T_EARLY = datetime(2026, 2, 1, tzinfo=UTC)
T_WITHDRAW = datetime(2026, 3, 1, tzinfo=UTC)
T_LATE = datetime(2026, 4, 1, tzinfo=UTC)
NOW = datetime(2026, 6, 1, tzinfo=UTC)

LICENSING = issuer_did(PUBLIC_URL, "bc-licensing")
AGENCY = issuer_did(PUBLIC_URL, "service-agency")
FEDERAL = issuer_did(PUBLIC_URL, "federal-dept")
LICENCE = "BusinessLicenceCredential"
VENDOR = "VendorCredential"
SUBJECT_ID = {
    "$ref": "https://orgbook.example/schemas/credentials/common/1.0.json#/$defs/subjectId"
}


def definition(vc_type: str, number: str, **extra: Any) -> dict[str, Any]:
    """A small type: ``number`` (a string) required, nothing else but the subject id."""
    body: dict[str, Any] = {
        "vcType": vc_type,
        "version": "1.0",
        "name": {"en": vc_type, "fr": vc_type + " (fr)"},
        "fields": {number: {"en": "Number", "fr": "Numéro"}},
        "supersessionKey": [number],
        "schema": {
            "type": "object",
            "required": ["id", number],
            "additionalProperties": False,
            "properties": {
                "id": SUBJECT_ID,
                number: {"type": "string", "minLength": 1},
                "category": {"type": "string"},
            },
        },
    }
    body.update(extra)
    return body


@dataclass
class Scenario:
    registry: Registry
    bc_org: str
    other_org: str  # an organisation outside CA-BC
    licence_auth: AuthorisationRecord
    vendor_auth: AuthorisationRecord
    licence: Issued
    vendor: Issued
    withdrawn_index: int

    def issue(self, **kwargs: Any) -> Issued:
        args: dict[str, Any] = {
            "issuer_did": LICENSING,
            "vc_type": LICENCE,
            "organisation": self.bc_org,
            "claims": {"licenceNumber": "BL-1"},
            "event_id": "licence-1",
            "now": T_EARLY,
        }
        args.update(kwargs)
        with self.registry.engine.begin() as conn:
            return issue_authorised(
                conn,
                self.registry.ledger,
                passphrase=PASSPHRASE,
                public_url=PUBLIC_URL,
                **args,
            )

    def bundle(self, credential_id: str) -> dict[str, Any]:
        with reading(self.registry.engine) as conn:
            return bundle_for(conn, self.registry.ledger, credential_id)

    def verify(self, bundle: Any) -> Report:
        return verify_bundle(bundle, ledger_keys=self.registry.ledger.verifiers, now=NOW)


def register_authority(registry: Registry, slug: str, name: str) -> None:
    with registry.engine.begin() as conn:
        create_issuer(
            conn,
            registry.ledger,
            slug=slug,
            did=issuer_did(PUBLIC_URL, slug),
            name=name,
            jurisdiction="CA-BC",
            credential_types=(),
            passphrase=PASSPHRASE,
            now=T_GRANT,
        )


def build(tmp_path: Path, url: str | None = None) -> Scenario:
    registry = build_registry(tmp_path, 6, url=url)
    with reading(registry.engine) as conn:
        bc_org = conn.execute(
            select(organisations.c.id)
            .where(organisations.c.jurisdiction == "CA-BC")
            .order_by(organisations.c.id)
        ).scalar()
        other_org = conn.execute(
            select(organisations.c.id)
            .where(organisations.c.jurisdiction != "CA-BC")
            .order_by(organisations.c.id)
        ).scalar()
    assert bc_org
    assert other_org
    for slug, name in (
        ("bc-licensing", "BC Business Licensing"),
        ("service-agency", "Service Agency"),
        ("federal-dept", "Federal Department"),
    ):
        register_authority(registry, slug, name)
    data_dir = Path(registry.settings.data_dir)
    with registry.engine.begin() as conn:
        for body in (definition(LICENCE, "licenceNumber"), definition(VENDOR, "vendorNumber")):
            define_type(
                conn,
                registry.ledger,
                body,
                data_dir=data_dir,
                passphrase=PASSPHRASE,
                public_url=PUBLIC_URL,
                now=T_GRANT,
            )
        licence_auth = grant(
            conn,
            registry.ledger,
            data_dir=data_dir,
            passphrase=PASSPHRASE,
            issuer_did=LICENSING,
            credential_type=LICENCE,
            jurisdictions=["CA-BC"],
            valid_from=T_GRANT,
            now=T_GRANT,
        )
        vendor_auth = grant(
            conn,
            registry.ledger,
            data_dir=data_dir,
            passphrase=PASSPHRASE,
            issuer_did=AGENCY,
            credential_type=VENDOR,
            jurisdictions=["CA-BC", "CA-AB"],
            valid_from=T_GRANT,
            valid_until=datetime(2027, 1, 1, tzinfo=UTC),
            on_behalf_of=FEDERAL,
            now=T_GRANT,
        )
    scenario = Scenario(registry, bc_org, other_org, licence_auth, vendor_auth, None, None, 0)  # type: ignore[arg-type]
    scenario.licence = scenario.issue()
    scenario.vendor = scenario.issue(
        issuer_did=AGENCY,
        vc_type=VENDOR,
        claims={"vendorNumber": "V-9"},
        event_id="vendor-1",
        on_behalf_of=FEDERAL,
    )
    with registry.engine.begin() as conn:
        scenario.withdrawn_index = withdraw(
            conn,
            registry.ledger,
            licence_auth.authorisation.id,
            data_dir=data_dir,
            passphrase=PASSPHRASE,
            reason="licensing moved to another branch",
            now=T_WITHDRAW,
        )
    return scenario


@contextmanager
def client(scenario: Scenario) -> Iterator[TestClient]:
    """An HTTP client to the scenario's registry at its public URL, rate limits off."""
    settings = dataclasses.replace(
        scenario.registry.settings, rate_limit_per_minute=0, verify_rate_limit_per_minute=0
    )
    app = create_app(settings, registry=scenario.registry)
    with TestClient(app, base_url=PUBLIC_URL) as http:
        yield http
