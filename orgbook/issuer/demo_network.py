"""The demo's network of authorities that are not corporate registries.

What it owns: :func:`build_network`, which ``orgbook demo`` runs after the registries' feed is
ingested. It registers three authorities (did:web DIDs under the registry's public URL, named
by the caller's ``did_for``): the City of Victoria's business licensing office, BC's Mines
Permitting Branch and Natural Resources Canada; defines their credential types
(``BusinessLicenceCredential``, expiring after a year, and ``MinesActPermitCredential``), has
the governance key authorise them for CA-BC organisations (the Mines Permitting Branch on
behalf of Natural Resources Canada), and issues a few hundred credentials about CA-BC
organisations of the register, chosen and filled in deterministically from the seed, each
under a stable event id. Every step checks what exists first, so a second run logs nothing.

What it must not do: issue by any other path than :func:`orgbook.issuer.authorised.issue_authorised`
(the same checks as the issuer API), or sign anything with keys other than the registry's.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import select

from orgbook.issuer.authorisations import authorisations_of, grant
from orgbook.issuer.authorised import issue_authorised
from orgbook.issuer.credential_types import define_type
from orgbook.issuer.keys import create_issuer, list_issuers
from orgbook.projections.credential_types import latest_type
from orgbook.projections.tables import credentials, issuers, organisations

__all__ = ["AUTHORITIES", "LICENCE", "PERMIT", "Network", "build_network"]

LICENCE = "BusinessLicenceCredential"
PERMIT = "MinesActPermitCredential"
LICENSING = "victoria-licensing"
MINES = "bc-mines-permitting"
FEDERAL = "nrcan"
AUTHORITIES = (
    (LICENSING, "City of Victoria Business Licensing", "CA-BC"),
    (MINES, "BC Mines Permitting Branch", "CA-BC"),
    (FEDERAL, "Natural Resources Canada", "CA"),
)
JURISDICTION = "CA-BC"
MAX_LICENCES = 200
MAX_PERMITS = 100
_SUBJECT_ID = {
    "$ref": "https://orgbook.example/schemas/credentials/common/1.0.json#/$defs/subjectId"
}
_TEXT = {"type": "string", "minLength": 1}

LICENCE_CATEGORIES = (
    "Retail",
    "Restaurant",
    "Professional services",
    "Home-based business",
    "Contractor",
    "Personal services",
    "Liquor primary",
)
PERMIT_KINDS = ("Exploration", "Placer", "Quarry", "Sand and gravel", "Mine reclamation")
STREETS = (
    "Government Street",
    "Douglas Street",
    "Fort Street",
    "Yates Street",
    "Johnson Street",
    "Wharf Street",
    "Cook Street",
    "Oak Bay Avenue",
)
REGIONS = ("Cariboo", "Kootenay", "Northeast", "Northwest", "Okanagan", "South Coast")

TYPES: tuple[dict[str, Any], ...] = (
    {
        "vcType": LICENCE,
        "version": "1.0",
        "name": {"en": "Business licence", "fr": "Permis d'exploitation commerciale"},
        "fields": {
            "licenceNumber": {"en": "Licence number", "fr": "Numéro de permis"},
            "licenceCategory": {"en": "Category", "fr": "Catégorie"},
            "premisesAddress": {"en": "Premises", "fr": "Adresse de l'établissement"},
        },
        "schema": {
            "type": "object",
            "required": ["id", "licenceNumber", "licenceCategory", "premisesAddress"],
            "additionalProperties": False,
            "properties": {
                "id": _SUBJECT_ID,
                "licenceNumber": _TEXT,
                "licenceCategory": {"enum": list(LICENCE_CATEGORIES)},
                "premisesAddress": _TEXT,
            },
        },
        "supersessionKey": ["licenceNumber"],
        "expires": "P1Y",
        "display": {
            "profile": ["licenceNumber", "licenceCategory", "premisesAddress"],
            "search": ["licenceCategory"],
            "web": ["licenceNumber", "licenceCategory"],
        },
    },
    {
        "vcType": PERMIT,
        "version": "1.0",
        "name": {"en": "Mines Act permit", "fr": "Permis en vertu de la Mines Act"},
        "fields": {
            "permitNumber": {"en": "Permit number", "fr": "Numéro de permis"},
            "permitType": {"en": "Permit type", "fr": "Type de permis"},
            "mineRegion": {"en": "Region", "fr": "Région"},
        },
        "schema": {
            "type": "object",
            "required": ["id", "permitNumber", "permitType", "mineRegion"],
            "additionalProperties": False,
            "properties": {
                "id": _SUBJECT_ID,
                "permitNumber": _TEXT,
                "permitType": {"enum": list(PERMIT_KINDS)},
                "mineRegion": {"enum": list(REGIONS)},
            },
        },
        "supersessionKey": ["permitNumber"],
        "expires": None,
        "display": {
            "profile": ["permitNumber", "permitType", "mineRegion"],
            "search": ["permitType"],
            "web": ["permitNumber", "permitType"],
        },
    },
)


@dataclass
class Network:
    """What :func:`build_network` found and did: credentials of the two types held, and how
    many entries of each kind it logged now (all zero on a second run)."""

    licences: int = 0
    permits: int = 0
    authorities_registered: int = 0
    types_defined: int = 0
    authorisations_granted: int = 0
    issued: int = 0

    def logged(self) -> int:
        return (
            self.authorities_registered
            + self.types_defined
            + self.authorisations_granted
            + self.issued
        )

    def summary(self) -> str:
        """One line for stderr."""
        return (
            f"{len(AUTHORITIES)} authorities beyond the registries: "
            f"{self.licences:,} {LICENCE} by City of Victoria Business Licensing, "
            f"{self.permits:,} {PERMIT} by BC Mines Permitting Branch on behalf of Natural "
            f"Resources Canada ({self.issued:,} issued now)"
        )


def _claims(rng: random.Random, vc_type: str, number: str) -> dict[str, str]:
    if vc_type == LICENCE:
        return {
            "licenceNumber": f"BL-{number}",
            "licenceCategory": rng.choice(LICENCE_CATEGORIES),
            "premisesAddress": f"{rng.randint(100, 2999)} {rng.choice(STREETS)}, Victoria BC",
        }
    return {
        "permitNumber": f"MX-{rng.randint(1, 15)}-{number}",
        "permitType": rng.choice(PERMIT_KINDS),
        "mineRegion": rng.choice(REGIONS),
    }


def _plan(bc_orgs: list[str], seed: int) -> list[tuple[str, str, str, dict[str, str]]]:
    """(vc type, organisation, event id, claims) for every credential the demo holds: a
    function of the organisations and the seed only."""
    rng = random.Random(f"orgbook demo network {seed}")
    licensed = rng.sample(bc_orgs, min(MAX_LICENCES, (len(bc_orgs) * 2 + 2) // 3))
    permitted = rng.sample(bc_orgs, min(MAX_PERMITS, (len(bc_orgs) + 2) // 3))
    plan = []
    for vc_type, chosen in ((LICENCE, sorted(licensed)), (PERMIT, sorted(permitted))):
        for org in chosen:
            number = org.partition(":")[2]
            prefix = "licence" if vc_type == LICENCE else "permit"
            plan.append((vc_type, org, f"demo-{prefix}-{org}", _claims(rng, vc_type, number)))
    return plan


def build_network(registry: Any, *, did_for: Callable[[str], str], seed: int) -> Network:
    """Register, define, authorise and issue what is missing (see the module docstring)."""
    settings = registry.settings
    data_dir = Path(settings.data_dir)
    signing: Mapping[str, Any] = {
        "data_dir": data_dir,
        "passphrase": registry.passphrase,
    }
    dids = {slug: did_for(slug) for slug, _, _ in AUTHORITIES}
    network = Network()
    with registry.engine.begin() as conn:
        existing = {issuer.id for issuer in list_issuers(conn)}
        for slug, name, jurisdiction in AUTHORITIES:
            if slug not in existing:
                create_issuer(
                    conn,
                    registry.ledger,
                    slug=slug,
                    did=dids[slug],
                    name=name,
                    jurisdiction=jurisdiction,
                    credential_types=(),
                    passphrase=registry.passphrase,
                )
                network.authorities_registered += 1
        for body in TYPES:
            if latest_type(conn, body["vcType"]) is None:
                define_type(conn, registry.ledger, body, public_url=settings.public_url, **signing)
                network.types_defined += 1
        for slug, vc_type, behalf in ((LICENSING, LICENCE, None), (MINES, PERMIT, FEDERAL)):
            on_behalf_of = dids[behalf] if behalf else None
            held = [
                r
                for r in authorisations_of(conn, dids[slug], vc_type)
                if r.withdrawn_index is None and r.authorisation.on_behalf_of == on_behalf_of
            ]
            if not held:
                grant(
                    conn,
                    registry.ledger,
                    issuer_did=dids[slug],
                    credential_type=vc_type,
                    jurisdictions=[JURISDICTION],
                    on_behalf_of=on_behalf_of,
                    **signing,
                )
                network.authorisations_granted += 1
        bc_orgs = list(
            conn.execute(
                select(organisations.c.id)
                .where(organisations.c.jurisdiction == JURISDICTION)
                .order_by(organisations.c.id)
            ).scalars()
        )
        done = set(
            conn.execute(
                select(credentials.c.event_id)
                .select_from(credentials.join(issuers, credentials.c.issuer_id == issuers.c.id))
                .where(issuers.c.id.in_([LICENSING, MINES]))
            ).scalars()
        )
    plan = _plan(bc_orgs, seed)
    todo = [item for item in plan if item[2] not in done]
    for start in range(0, len(todo), 100):  # one transaction per hundred
        with registry.engine.begin() as conn:
            for vc_type, org, event_id, claims in todo[start : start + 100]:
                delegated = vc_type == PERMIT
                issue_authorised(
                    conn,
                    registry.ledger,
                    issuer_did=dids[MINES if delegated else LICENSING],
                    vc_type=vc_type,
                    organisation=org,
                    claims=claims,
                    event_id=event_id,
                    passphrase=registry.passphrase,
                    public_url=settings.public_url,
                    on_behalf_of=dids[FEDERAL] if delegated else None,
                )
                network.issued += 1
    network.licences = sum(1 for item in plan if item[0] == LICENCE)
    network.permits = len(plan) - network.licences
    return network
